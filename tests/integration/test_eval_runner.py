"""The evaluation runner and CLI on small datasets built from the bundled examples."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from tests.fakes import ScriptedModel, opinion, text
from tierzero.cli import app
from tierzero.evals import runner as runner_module
from tierzero.evals.dataset import Dataset, Environment, LabState, Scenario, load_dataset
from tierzero.evals.metrics import score
from tierzero.evals.runner import run_dataset, scenario_settings
from tierzero.settings import Settings

cli = CliRunner()
_TIMINGS = ("seconds", "enriched_s", "contained_s")


def _records(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EXAMPLES / name).read_text().splitlines() if line]


def _scenario(sid: str, file: str, verdict: str, **extra: Any) -> dict[str, Any]:
    refs = [f"{sid}-{i}" for i, _ in enumerate(_records(file))]
    return {
        "id": sid,
        "title": f"{file} as one story",
        "category": "credential_abuse",
        "now": "2026-11-17T09:00:00Z",
        "alerts": [{"ref": r, "record": rec} for r, rec in zip(refs, _records(file), strict=True)],
        "truth": {
            "cases": [{"id": "story", "alerts": refs, "verdict": verdict, "techniques": ["T1621"]}],
            "forbidden_actions": [{"action": "disable_user", "target": "breakglass-admin"}],
        },
        **extra,
    }


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings.load()


@pytest.fixture(scope="module")
def dataset(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dataset file: the Okta MFA-fatigue story and the CrowdStrike detections."""
    inventory = settings.inventory
    document = {
        "schema_version": 1,
        "name": "examples",
        "version": "1.0.0",
        "environment": Environment(
            assets=inventory.assets,
            identities=inventory.identities,
            windows=inventory.windows,
            scanners=inventory.scanners,
        ).model_dump(mode="json"),
        "scenarios": [
            _scenario("okta", "okta_system_log.jsonl", "true_positive"),
            _scenario(
                "falcon",
                "crowdstrike_detections.jsonl",
                "true_positive",
                environment={"lab": {"isolated_hosts": ["TEST-LT-099"]}},
            ),
        ],
    }
    path = tmp_path_factory.mktemp("eval") / "examples.json"
    path.write_text(json.dumps(document))
    return path


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k not in _TIMINGS}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_every_record_is_accounted_for_by_ref(dataset: Path, settings: Settings) -> None:
    data = load_dataset(dataset)
    run = run_dataset(data, settings)
    for scenario, outcome in zip(data.scenarios, run.outcomes, strict=True):
        assert outcome["error"] is None
        assert set(outcome["alerts"]) == {a.ref for a in scenario.alerts}
        assert all(a["case"] for a in outcome["alerts"].values())
        cased = sorted(ref for case in outcome["cases"] for ref in case["refs"])
        assert cased == sorted(outcome["alerts"])


def test_runs_are_deterministic_and_order_independent(dataset: Path, settings: Settings) -> None:
    data = load_dataset(dataset)
    first = _without_timings(run_dataset(data, settings).outcomes)
    again = _without_timings(run_dataset(data, settings).outcomes)
    assert first == again
    reversed_data = data.model_copy(update={"scenarios": tuple(reversed(data.scenarios))})
    backwards = _without_timings(run_dataset(reversed_data, settings).outcomes)
    assert sorted(first, key=lambda o: o["id"]) == sorted(backwards, key=lambda o: o["id"])


def test_lab_state_and_environment_come_from_the_dataset(dataset: Path, settings: Settings) -> None:
    data = load_dataset(dataset)
    falcon = next(s for s in data.scenarios if s.id == "falcon")
    run = run_dataset(data, settings, only=lambda s: s.id == "falcon")
    assert run.outcomes[0]["lab"]["isolated_hosts"] == ["TEST-LT-099"]
    assert scenario_settings(data, falcon, settings).inventory.identity("alice.martin")
    bare = Dataset(name="bare", version="1.0.0", scenarios=(falcon,))
    assert scenario_settings(bare, falcon, settings).inventory.identity("alice.martin") is None


def test_a_failing_scenario_is_reported_and_the_suite_goes_on(
    dataset: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = load_dataset(dataset)
    real = runner_module.analyse

    def flaky(store: Any, *args: Any, **kwargs: Any) -> Any:
        if any("okta" in str(r[0]) for r in store.conn.execute("SELECT source FROM alerts")):
            raise RuntimeError("boom")
        return real(store, *args, **kwargs)

    monkeypatch.setattr(runner_module, "analyse", flaky)
    run = run_dataset(data, settings)
    errors = {o["id"]: o["error"] for o in run.outcomes}
    assert errors == {"okta": "RuntimeError: boom", "falcon": None}


def test_scenario_validation_names_the_problem() -> None:
    with pytest.raises(ValueError, match="every alert must belong to one truth case"):
        Scenario.model_validate(
            {
                **_scenario("x", "okta_system_log.jsonl", "true_positive"),
                "truth": {"cases": [{"id": "c", "alerts": ["x-0"], "verdict": "true_positive"}]},
            }
        )
    with pytest.raises(ValueError, match="unknown alert"):
        Scenario.model_validate(
            {
                **_scenario("x", "okta_system_log.jsonl", "true_positive"),
                "truth": {"cases": [{"id": "c", "alerts": ["nope"], "verdict": "true_positive"}]},
            }
        )
    assert LabState().isolated_hosts == ()


def test_cli_eval_writes_the_report_and_compare_gates(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = cli.invoke(app, ["eval", str(dataset), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "true attacks auto-closed" in result.output
    for name in ("report.json", "report.md", "confusion_matrix.png"):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["dataset"]["name"] == "examples" and report["agent"] == "offline"

    same = cli.invoke(app, ["eval", "compare", str(out), str(out)])
    assert same.exit_code == 0, same.output

    worse = copy.deepcopy(report)
    attacks = worse["metrics"]["attacks_auto_closed"]
    attacks["count"] += 1
    attacks["cases"].append("okta/story")
    worse["cases"][0]["status"] = "auto_closed"
    worse["cases"][0]["closed_any"] = True
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    regressed = cli.invoke(app, ["eval", "compare", str(out), str(tmp_path / "worse.json")])
    assert regressed.exit_code == 1, regressed.output
    assert "attacks" in regressed.output


def test_cli_eval_rejects_bad_input(tmp_path: Path, dataset: Path) -> None:
    missing = cli.invoke(app, ["eval", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such dataset" in missing.output
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "b", "version": "1.0.0", "scenarios": [{"id": "x"}]}')
    bad = cli.invoke(app, ["eval", str(broken)])
    assert bad.exit_code == 2 and "scenarios" in bad.output
    unknown = cli.invoke(app, ["eval", str(dataset), "--scenario", "nope"])
    assert unknown.exit_code == 2 and "no scenario 'nope'" in unknown.output
    csv_without_mapping = cli.invoke(app, ["eval", str(tmp_path / "x.csv")])
    assert csv_without_mapping.exit_code == 2 and "--mapping" in csv_without_mapping.output


def test_llm_agent_calls_and_tokens_are_counted_per_case(dataset: Path, settings: Settings) -> None:
    """With a scripted fake model (no endpoint): every call is in the audit and the report."""

    def answer(request: Any) -> Any:
        if request.json_output:
            return opinion(verdict="true_positive", confidence=0.9)
        return text("Findings: repeated MFA pushes then a session from a new country [E1].")

    model = ScriptedModel([answer] * 40)
    data = load_dataset(dataset)
    run = run_dataset(data, settings, agent="llm", model=model, only=lambda s: s.id == "okta")
    assert run.model == "scripted-fake-model"
    (case,) = run.outcomes[0]["cases"]
    assert case["model_calls"] == len(model.requests) > 0
    assert case["tokens"] > 0
    metrics = score(data.scenarios, run.outcomes)["metrics"]
    assert metrics["model"]["calls"] == len(model.requests)
    assert metrics["model"]["tokens_per_case"] == case["tokens"]
