"""The README's main job end to end: the bundled examples through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from tierzero.cli import app

runner = CliRunner()


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("triage") / "t.db"


@pytest.fixture(scope="module")
def first_run(db: Path) -> dict[str, Any]:
    return cli("triage", str(EXAMPLES), "--db", str(db), "--json")


@pytest.fixture(scope="module")
def cases(db: Path, first_run: dict[str, Any]) -> list[dict[str, Any]]:
    return cli("cases", "list", "--db", str(db), "--json")


def _case_with(cases: list[dict[str, Any]], source_alert_id: str) -> dict[str, Any]:
    matching = [c for c in cases if source_alert_id in c["alert_ids"]]
    assert len(matching) == 1, f"{source_alert_id} is in {len(matching)} cases"
    return matching[0]


def _records_in(folder: Path) -> int:
    total = 0
    for path in folder.iterdir():
        if path.suffix in (".jsonl", ".ndjson") or path.name.startswith(("wazuh", "suricata")):
            total += sum(1 for line in path.read_text().splitlines() if line.strip())
        elif path.suffix == ".csv":
            total += sum(1 for line in path.read_text().splitlines()[1:] if line.strip())
        elif path.suffix == ".json":
            document = json.loads(path.read_text())
            items = (
                document
                if isinstance(document, list)
                else next(
                    v
                    for k, v in document.items()
                    if isinstance(v, list) and k in ("value", "Findings")
                )
            )
            total += len(items)
    return total


def test_counts_add_up(first_run: dict[str, Any]) -> None:
    assert first_run["alerts_in"] == first_run["normalized"] + first_run["quarantined"]
    assert first_run["alerts_in"] == _records_in(EXAMPLES)
    bad_lines = (EXAMPLES / "bad_records.jsonl").read_text().splitlines()
    assert first_run["quarantined"] == len([line for line in bad_lines if line.strip()])
    assert first_run["cases"] == len(first_run["case_summaries"]) >= 4


def test_every_source_contributes(first_run: dict[str, Any]) -> None:
    assert set(first_run["by_source"]) >= {
        "ocsf",
        "sentinel",
        "defender",
        "crowdstrike",
        "guardduty",
        "okta",
        "elastic",
        "wazuh",
        "suricata",
        "proxy",
    }


def test_intrusion_is_one_escalated_true_positive(cases: list[dict[str, Any]]) -> None:
    okta_login = "f5a27e80-c59b-11f1-9a41-3f5e2b7d8c05"
    intrusion = _case_with(cases, okta_login)
    assert intrusion["verdict"] == "true_positive"
    assert intrusion["status"] == "awaiting_approval"  # containment on a server needs a person
    assert intrusion["priority"] == "P1"
    # Phishing, endpoint, identity, lateral movement and cloud alerts all landed in it.
    for source_id in (
        "HMG-20261116-000417",
        "da638671294040930000_-318520774",
        "d94a3c8e05f15b7d9c4e6f2a1b3c5d7e",
    ):
        assert source_id in intrusion["alert_ids"]
    assert {"T1566", "T1021", "T1621"} <= {t.split(".")[0] for t in intrusion["techniques"]}


def test_benign_noise_is_closed_or_left_low(cases: list[dict[str, Any]], db: Path) -> None:
    by_status: dict[str, list[str]] = {}
    for case in cases:
        by_status.setdefault(case["status"], []).append(case["id"])
    rules = set()
    for case_id in by_status.get("auto_closed", []):
        shown = cli("cases", "show", case_id, "--db", str(db), "--json")
        rules.add(shown["analysis"]["prioritization"]["auto_close_rule"])
    assert rules == {"approved_scanner", "change_in_maintenance_window"}
    assert by_status.get("closed"), "the internet port probe is closed as benign"
    admin = [c for c in cases if c["status"] == "escalated" and c["verdict"] == "benign_positive"]
    assert len(admin) == 1 and admin[0]["priority"] in ("P3", "P4")


def test_case_show_explains_every_join(cases: list[dict[str, Any]], db: Path) -> None:
    for case in cases:
        shown = cli("cases", "show", case["id"], "--db", str(db), "--json")
        assert len(shown["joins"]) == case["alert_count"] == len(shown["alerts"])
        assert all(j["explanation"] for j in shown["joins"])
        assert shown["analysis"]["evidence"], "every case cites evidence"


def test_quarantine_list_names_file_line_and_reason(first_run: dict[str, Any], db: Path) -> None:
    records = cli("quarantine", "list", "--db", str(db), "--json")
    assert len(records) == first_run["quarantined"]
    for record in records:
        assert record["source_file"].endswith("bad_records.jsonl")
        assert record["record_no"] >= 1 and record["reason"]


def test_rerun_adds_nothing(
    first_run: dict[str, Any], cases: list[dict[str, Any]], db: Path
) -> None:
    again = cli("triage", str(EXAMPLES), "--db", str(db), "--json")
    assert again["alerts_in"] == first_run["alerts_in"]
    assert again["new_alerts"] == 0 and again["cases_analysed"] == 0
    assert cli("cases", "list", "--db", str(db), "--json") == cases
    assert len(cli("quarantine", "list", "--db", str(db), "--json")) == first_run["quarantined"]


def test_table_output_and_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["triage", str(EXAMPLES), "--db", str(tmp_path / "t.db")])
    assert result.exit_code == 0, result.output
    assert "quarantined" in result.stdout and "C-1" in result.stdout
    missing = runner.invoke(app, ["triage", str(tmp_path / "nope"), "--db", str(tmp_path / "t.db")])
    assert missing.exit_code == 1 and "no such file or folder" in missing.output
    bad_source = runner.invoke(app, ["triage", str(EXAMPLES), "--source", "splunk"])
    assert bad_source.exit_code == 2 and "unknown --source" in bad_source.output
    no_store = runner.invoke(app, ["cases", "list", "--db", str(tmp_path / "none.db")])
    assert no_store.exit_code == 1 and "no store" in no_store.output
