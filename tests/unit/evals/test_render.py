"""``report.md`` and the PNG charts: section order, escaping of alert-derived strings, and
charts that are written (valid PNGs) whether or not a model ran."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, NOW
from tierzero.evals.dataset import Dataset, Environment, Scenario
from tierzero.evals.render import (
    confusion_chart,
    detection_chart,
    esc,
    markdown,
    tokens_chart,
    write_outputs,
)
from tierzero.evals.report import build_report, load_report
from tierzero.evals.runner import run_dataset
from tierzero.settings import Settings

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HOSTILE = "x|y](http://evil)<script>"


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
            "difficulty": "hard",
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
                ]
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


def _is_png(path: Path) -> bool:
    data = path.read_bytes()
    return len(data) > len(PNG_SIGNATURE) and data[:8] == PNG_SIGNATURE


def _headings(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("## ")]


def test_sections_in_reading_order(report: dict[str, Any]) -> None:
    text = markdown(report)
    assert text.startswith("# tierzero evaluation: tiny 1.0.0 (agent offline, model none)")
    order = [
        "## True attacks auto-closed",
        "## Forbidden actions",
        "## Benign alerts auto-closed",
        "## Verdicts",
        "## Confusion matrix",
        "## Case grouping",
        "## ATT&CK techniques",
        "## Evidence completeness",
        "## Expected response actions",
        "## Approval requests on benign cases",
        "## Latency",
        "## Model usage",
        "## By category",
        "## Detections by false-positive rate",
        "## Wrong verdicts",
    ]
    positions = [text.index(heading) for heading in order]
    assert positions == sorted(positions)
    assert _headings(text)[0] == "## True attacks auto-closed"  # the worst error comes first
    assert "**True attacks auto-closed: 0 of 1 (0.0%)**" in text
    assert "**PASS: 0 forbidden actions executed.**" in text
    assert "wall-clock seconds" in text.lower()
    assert "| (hard) |" in text  # the hard-scenario row of the category table
    assert "## External labels" not in text and "## Errors" not in text


def test_failures_are_loud_and_listed(report: dict[str, Any]) -> None:
    bad = copy.deepcopy(report)
    key = bad["cases"][0]["key"]
    bad["metrics"]["attacks_auto_closed"].update(count=1, share=1.0, cases=[key])
    bad["metrics"]["forbidden_actions"].update(
        executed=1, executed_list=["okta-push: disable_user alice.martin"]
    )
    bad["metrics"]["errors"] = ["other: RuntimeError: boom"]
    bad["metrics"]["labels"] = {
        "attack": {
            "alerts": 3,
            "auto_closed": 1,
            "auto_closed_share": 1 / 3,
            "escalated_alerts": 2,
            "reached_escalated_case": True,
        }
    }
    text = markdown(bad)
    assert "**True attacks auto-closed: 1 of 1 (100.0%)**" in text
    assert f"- {key}" in text
    assert "FAIL: 1 forbidden action(s) EXECUTED" in text
    assert "disable\\_user alice.martin" in text or "disable_user alice.martin" in text
    assert "## Errors (1 scenarios failed to run)" in text
    assert "| attack | 3 | 1 | 33.3% | yes (2 alerts) |" in text


def test_none_is_na_and_shares_are_percentages(report: dict[str, Any]) -> None:
    text = markdown(report)
    benign = report["metrics"]["benign_alerts_auto_closed"]
    assert benign["share"] is None  # nothing benign in this run
    assert "**Benign alerts auto-closed: 0 of 0 (n/a)**" in text
    assert re.search(r"Accuracy: \d+\.\d%", text)
    # "None." is the wording of an empty section; no Python None may leak anywhere else.
    assert "None" not in text.replace("\nNone.\n", "\n")


def test_hostile_strings_are_escaped(report: dict[str, Any]) -> None:
    hostile = copy.deepcopy(report)
    hostile["metrics"]["detections"][HOSTILE] = {
        "alerts": 7,
        "true_positive": 0,
        "precision": 0.0,
        "false_positive_rate": 1.0,
    }
    hostile["cases"][0]["key"] = HOSTILE + "/c1"
    hostile["cases"][0]["verdict"] = "needs_review"  # listed among the wrong verdicts
    hostile["dataset"]["name"] = "<img src=x onerror=alert(1)>"
    text = markdown(hostile)
    assert "<script>" not in text and "<img" not in text
    assert not re.search(r"(?<!\\)\]\(", text) and "http://" not in text  # no link syntax
    row = next(line for line in text.splitlines() if line.startswith("| x"))
    # Five columns: six pipes that are table syntax, the id's own pipe escaped.
    assert len(re.findall(r"(?<!\\)\|", row)) == 6
    assert row.startswith("| x\\|y\\](http\\://evil)&lt;script&gt; | 7 |")
    wrong = next(line for line in text.splitlines() if "/c1 |" in line)
    assert len(re.findall(r"(?<!\\)\|", wrong)) == 7


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("okta:user.session.start", "okta:user.session.start"),  # ids stay readable
        ("true_positive", "true_positive"),
        ("_em_ *b*", "\\_em\\_ \\*b\\*"),
        ("www.evil.com", "www\\.evil.com"),
        ("a\nb\u202ec", "a b c"),
        ("1. item", "1\\. item"),
        ("- item", "\\- item"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
        ("1) item", "1\\) item"),
        ("(hard)", "(hard)"),
        ("# head", "\\# head"),
        ("+ x", "\\+ x"),
        ("2026-11-23T01:44:35+00:00", "2026-11-23T01:44:35+00:00"),
        ("&amp;", "&amp;amp;"),
        ("", '""'),
    ],
)
def test_esc(raw: str, escaped: str) -> None:
    assert esc(raw) == escaped


def test_wrong_verdicts_are_capped(report: dict[str, Any]) -> None:
    many = copy.deepcopy(report)
    row = many["cases"][0]
    many["cases"] = [
        {**row, "key": f"s{i}/c1", "verdict": "benign_positive", "expected": "true_positive"}
        for i in range(60)
    ]
    text = markdown(many)
    assert "## Wrong verdicts (60 of 60 truth cases)" in text
    assert "| s49/c1 |" in text and "| s50/c1 |" not in text
    assert "… and 10 more" in text


def test_write_outputs_offline(report: dict[str, Any], tmp_path: Path) -> None:
    written = write_outputs(report, tmp_path / "out")
    names = [p.name for p in written]
    assert names == [
        "report.json",
        "report.md",
        "confusion_matrix.png",
        "detection_fp_rates.png",
        "tokens_per_case.png",
    ]
    assert load_report(tmp_path / "out")["metrics"] == report["metrics"]
    assert all(_is_png(p) for p in written[2:])


@pytest.mark.parametrize("cases", [5, 80])  # sorted bars, then a histogram
def test_charts_with_model_tokens(report: dict[str, Any], tmp_path: Path, cases: int) -> None:
    llm = copy.deepcopy(report)
    llm["agent"], llm["model"] = "llm", "gpt-test"
    llm["metrics"]["model"]["per_case"] = [
        {"case": f"s{i}/C-1" if i else "$\\frac{x}{$", "calls": 3, "tokens": 1000 + 37 * i}
        for i in range(cases)
    ]
    llm["metrics"]["detections"]["$x^{$"] = {  # would be mathtext if not drawn as plain text
        "alerts": 3,
        "true_positive": 1,
        "precision": 1 / 3,
        "false_positive_rate": 2 / 3,
    }
    written = write_outputs(llm, tmp_path)
    assert all(_is_png(p) for p in written[2:])
    assert "model gpt-test" in (tmp_path / "report.md").read_text()


def test_charts_of_an_empty_report(tmp_path: Path) -> None:
    for draw in (confusion_chart, detection_chart, tokens_chart):
        assert _is_png(draw({}, tmp_path / f"{draw.__name__}.png"))
    assert markdown({}).startswith("# tierzero evaluation")
