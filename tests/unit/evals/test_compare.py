"""``tierzero eval compare``: metric deltas, case changes, thresholds and their loading."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, NOW
from tierzero.config import ConfigError, default_config_dir
from tierzero.evals.compare import DEFAULT, METRICS, Threshold, Thresholds, compare
from tierzero.evals.dataset import Dataset, Environment, Scenario
from tierzero.evals.report import build_report
from tierzero.evals.runner import run_dataset
from tierzero.settings import Settings


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    """A real report of a one-scenario offline run (the Okta MFA-fatigue example)."""
    records = [json.loads(line) for line in (EXAMPLES / "okta_system_log.jsonl").open()]
    refs = [f"a{i}" for i in range(len(records))]
    scenario = Scenario.model_validate(
        {
            "id": "okta-push",
            "title": "MFA fatigue",
            "category": "credential_abuse",
            "now": NOW.isoformat(),
            "alerts": [{"ref": r, "record": rec} for r, rec in zip(refs, records, strict=True)],
            "truth": {
                "cases": [
                    {
                        "id": "c1",
                        "alerts": refs,
                        "verdict": "true_positive",
                        "techniques": ["T1621"],
                    }
                ],
                "forbidden_actions": [{"action": "disable_user"}],
            },
        }
    )
    settings = Settings.load()
    dataset = Dataset(
        name="tiny",
        version="1.0.0",
        scenarios=(scenario,),
        environment=Environment(
            assets=settings.inventory.assets, identities=settings.inventory.identities
        ),
    )
    return build_report(run_dataset(dataset, settings))


def _copy(report: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(report)


def _set(report: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node = report["metrics"]
    for key in parents:
        node = node[key]
    node[last] = value


def test_identical_reports_have_no_regressions(report: dict[str, Any]) -> None:
    result = compare(report, _copy(report), Thresholds.default())
    assert result.exit_code == 0
    assert result.regressions == [] and result.warnings == [] and result.cases == []
    assert [m.metric for m in result.metrics] == list(METRICS)
    assert "PASS: no regressions" in result.to_markdown()


def test_an_attack_newly_auto_closed_is_a_regression(report: dict[str, Any]) -> None:
    after = _copy(report)
    row = next(r for r in after["cases"] if r["expected"] == "true_positive")
    row.update(status="auto_closed", closed_any=True, verdict="false_positive")
    closed = after["metrics"]["attacks_auto_closed"]
    closed.update(count=closed["count"] + 1, cases=[*closed["cases"], row["key"]])
    result = compare(report, after, Thresholds.default())
    assert result.exit_code == 1
    assert len(result.regressions) == 1
    sentence = result.regressions[0]
    assert "attacks_auto_closed.count" in sentence and row["key"] in sentence
    change = result.cases[0]
    assert change.key == row["key"] and change.attack_newly_closed
    assert change.changes["closed_any"] == (False, True)
    assert change.changes["status"][1] == "auto_closed"
    assert "**FAIL: 1 regression(s).**" in result.to_markdown()


def test_macro_f1_drop_beyond_threshold(report: dict[str, Any]) -> None:
    before, after = _copy(report), _copy(report)
    _set(before, "verdict.macro_f1", 0.8)
    _set(after, "verdict.macro_f1", 0.7)
    result = compare(before, after, Thresholds.default())
    assert result.exit_code == 1
    assert any(
        "verdict.macro_f1" in s and "0.800" in s and "0.700" in s for s in result.regressions
    )
    _set(after, "verdict.macro_f1", 0.79)  # within the default 0.02
    small = compare(before, after, Thresholds.default())
    assert small.exit_code == 0
    assert next(m for m in small.metrics if m.metric == "verdict.macro_f1").status == "worse"
    _set(after, "verdict.macro_f1", 0.9)
    better = compare(before, after, Thresholds.default())
    assert next(m for m in better.metrics if m.metric == "verdict.macro_f1").status == "better"


def test_forbidden_action_in_b_fails_whatever_a_was(report: dict[str, Any]) -> None:
    before, after = _copy(report), _copy(report)
    for side in (before, after):
        _set(side, "forbidden_actions.executed", 1)
        _set(side, "forbidden_actions.executed_list", ["okta-push: disable_user alice.martin"])
    result = compare(before, after, Thresholds.default())  # unchanged, still a regression
    assert result.exit_code == 1
    assert "forbidden_actions.executed" in result.regressions[0]
    assert "disable_user alice.martin" in result.regressions[0]
    assert compare(after, report, Thresholds.default()).exit_code == 0  # fixed in B


def test_none_metrics_are_reported_not_regressions(report: dict[str, Any]) -> None:
    before, after = _copy(report), _copy(report)
    _set(before, "verdict.macro_f1", 0.9)
    _set(after, "verdict.macro_f1", None)
    _set(after, "grouping.precision", None)
    del after["metrics"]["evidence"]
    result = compare(before, after, Thresholds.default())
    assert result.exit_code == 0
    statuses = {m.metric: m.status for m in result.metrics}
    assert statuses["verdict.macro_f1"] == "n/a"
    assert statuses["evidence.share"] == "n/a"
    assert "n/a" in result.to_markdown()
    empty = compare({"metrics": {}}, {}, Thresholds.default())  # nothing at all: no crash
    assert empty.exit_code == 0


def test_dataset_mismatch_is_flagged(report: dict[str, Any]) -> None:
    after = _copy(report)
    after["dataset"]["version"] = "2.0.0"
    after["dataset"]["sha256"] = "0" * 64
    result = compare(report, after, Thresholds.default())
    assert result.exit_code == 0  # allowed, only flagged
    assert any("version" in w for w in result.warnings)
    assert any("sha256" in w for w in result.warnings)
    after["metrics"]["errors"] = ["okta-push: RuntimeError: boom"]
    assert "1 scenario(s) failed to run in B" in compare(report, after).warnings


def test_cases_only_in_one_run(report: dict[str, Any]) -> None:
    after = _copy(report)
    extra = {**after["cases"][0], "key": "new-scenario/c1"}
    after["cases"].append(extra)
    result = compare(report, after, Thresholds.default())
    assert [(c.key, c.presence) for c in result.cases] == [("new-scenario/c1", "only_b")]
    reverse = compare(after, report, Thresholds.default())
    assert reverse.cases[0].presence == "only_a"


def test_relative_thresholds_tokens_and_latency(report: dict[str, Any]) -> None:
    before, after = _copy(report), _copy(report)
    _set(before, "model.tokens_per_case", 1000.0)
    _set(after, "model.tokens_per_case", 1200.0)
    assert compare(before, after, Thresholds.default()).exit_code == 0  # +20% <= 25%
    _set(after, "model.tokens_per_case", 1300.0)
    assert "model.tokens_per_case" in compare(before, after).regressions[0]
    # From 0 (offline baseline) there is no relative change: warned, not judged.
    _set(before, "model.tokens_per_case", 0.0)
    zero = compare(before, after, Thresholds.default())
    assert zero.exit_code == 0 and any("from 0" in w for w in zero.warnings)

    before, after = _copy(report), _copy(report)
    _set(before, "latency.alert_to_enriched_s.p95", 0.2)
    _set(after, "latency.alert_to_enriched_s.p95", 0.9)  # +350%, but under the 1 s floor
    assert compare(before, after).exit_code == 0
    _set(before, "latency.alert_to_enriched_s.p95", 2.0)
    _set(after, "latency.alert_to_enriched_s.p95", 5.0)
    result = compare(before, after)
    assert result.exit_code == 1 and "latency.alert_to_enriched_s.p95" in result.regressions[0]


def test_output_forms_are_json_ready_and_escaped(report: dict[str, Any]) -> None:
    after = _copy(report)
    after["cases"][0]["key"] = "evil|x](http://evil)<script>/c1"
    result = compare(report, after)
    json.dumps(result.to_dict())
    text = result.to_markdown()
    assert "<script>" not in text and "http://" not in text
    assert not re.search(r"(?<!\\)\]\(", text)  # no link syntax
    assert result.metric_rows()[0][0] == METRICS["attacks_auto_closed.count"].label
    assert {key for key, _, _ in result.case_rows()} == {
        report["cases"][0]["key"],
        "evil|x](http://evil)<script>/c1",
    }


# -- thresholds -------------------------------------------------------------------------------


def test_shipped_eval_yaml_states_the_defaults() -> None:
    loaded = Thresholds.from_file(default_config_dir() / "eval.yaml")
    assert loaded == Thresholds.default()
    assert Thresholds.load() == Thresholds.default()
    assert set(DEFAULT) <= set(METRICS)


def test_yaml_overrides_and_disables(tmp_path: Path) -> None:
    (tmp_path / "eval.yaml").write_text(
        "thresholds:\n"
        "  verdict.macro_f1: {max_drop: 0.1}\n"
        "  techniques.f1: null\n"
        "  verdict.accuracy: {max_drop: 0.05}\n"
    )
    loaded = Thresholds.load(tmp_path)
    assert loaded.thresholds["verdict.macro_f1"].max_drop == 0.1
    assert loaded.thresholds["verdict.macro_f1"].direction == "higher_is_better"  # filled in
    assert "techniques.f1" not in loaded.thresholds
    assert loaded.thresholds["verdict.accuracy"].max_drop == 0.05
    # Entries not named keep their defaults: the safety checks cannot be lost by omission.
    assert loaded.thresholds["forbidden_actions.executed"] == DEFAULT["forbidden_actions.executed"]


def test_folder_without_eval_yaml_uses_defaults(tmp_path: Path) -> None:
    assert Thresholds.load(tmp_path) == Thresholds.default()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "thresholds:\n  verdict.macro_f1: {max_drop: 0.1}\n  verdict.macro_f2: {max_drop: 1}\n",
            r"eval.yaml:3: .*unknown metric 'verdict.macro_f2'",
        ),
        ("thresholds:\n  verdict.macro_f1: {max_drop: 0.1, slack: 2}\n", r"eval.yaml:2: .*slack"),
        ("thresholds:\n  verdict.macro_f1: {max_drop: -0.1}\n", r"eval.yaml:2: .*max_drop"),
        ("thresholds:\n  verdict.macro_f1: {relative: true}\n", r"needs max_drop, limit"),
        (
            "thresholds:\n  verdict.macro_f1: {direction: lower_is_better, max_drop: 0.1}\n",
            r"verdict.macro_f1 is higher_is_better",
        ),
        ("threshold:\n  verdict.macro_f1: {max_drop: 0.1}\n", r"eval.yaml:1: 'threshold'"),
    ],
)
def test_bad_yaml_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "eval.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        Thresholds.load(tmp_path)


def test_cli_overrides() -> None:
    base = Thresholds.default()
    changed = base.with_overrides(
        ["verdict.macro_f1=0.01", "model.tokens_per_case=50%", "grouping.recall=off"]
    )
    assert changed.thresholds["verdict.macro_f1"] == Threshold(
        direction="higher_is_better", max_drop=0.01
    )
    tokens = changed.thresholds["model.tokens_per_case"]
    assert tokens.relative and tokens.max_drop == pytest.approx(0.5)
    assert "grouping.recall" not in changed.thresholds
    # A metric without a default threshold gets one, in its own direction.
    added = base.with_overrides(["verdict.needs_review=0.1"]).thresholds["verdict.needs_review"]
    assert added.direction == "lower_is_better" and added.max_drop == 0.1
    # Overriding max_drop keeps a limit: B must still have no forbidden action.
    kept = base.with_overrides(["forbidden_actions.executed=3"])
    assert kept.thresholds["forbidden_actions.executed"].limit == 0
    assert base.thresholds["verdict.macro_f1"].max_drop == 0.02  # the original is unchanged


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("verdict.macro_f2=0.1", "unknown metric 'verdict.macro_f2'"),
        ("verdict.macro_f1", "expected METRIC=VALUE"),
        ("verdict.macro_f1=", "expected METRIC=VALUE"),
        ("verdict.macro_f1=-0.1", "VALUE must be"),
        ("verdict.macro_f1=lots", "VALUE must be"),
        ("verdict.macro_f1=inf", "VALUE must be"),
    ],
)
def test_bad_cli_override_is_a_clear_error(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Thresholds.load(overrides=[spec])
