"""Similar-case memory end to end: triage remembers concluded cases, `cases similar` queries
them, `cases resolve` records (and audits) the analyst's verdict as feedback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from typer.testing import CliRunner

from tests.conftest import EXAMPLES, NOW
from tierzero.cli import app
from tierzero.ingest.alert import FREE_TEXT_KINDS
from tierzero.settings import Settings
from tierzero.store.memory import CaseMemory, memory_path
from tierzero.store.memory_records import record_for
from tierzero.store.sqlite import Store
from tierzero.usecases.triage import triage

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def triaged(db: Path) -> dict[str, Any]:
    result = run("triage", str(EXAMPLES), "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def similar(db: Path, case_id: str, *extra: str) -> dict[str, Any]:
    result = run("cases", "similar", case_id, "--db", str(db), "--json", *extra)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("memory") / "t.db"
    report = triaged(path)
    # C-1, C-2 (auto-closed) and C-3 (closed) are concluded; C-4 waits, C-5 is escalated.
    assert report["remembered"] == 3 and report["warnings"] == []
    return path


def test_triage_remembers_concluded_cases_beside_the_store(db: Path) -> None:
    assert memory_path(db).is_dir()
    assert similar(db, "C-4")["remembered_cases"] == 3
    again = triaged(db)  # nothing new: nothing analysed, nothing remembered again
    assert again["cases_analysed"] == 0 and again["remembered"] == 0


def test_similar_finds_the_cases_that_share_entities(db: Path) -> None:
    found = similar(db, "C-5")
    ids = [r["case_id"] for r in found["similar"]]
    assert "C-5" not in ids
    best = found["similar"][0]
    # C-5 (an admin logon on srv-app-03) and C-1 (patching on srv-app-03) share the host.
    assert best["case_id"] == "C-1"
    assert "host:srv-app-03" in best["shared_entities"]
    assert best["verdict"] == "benign_positive" and 0 < best["score"] <= 1
    assert [r["score"] for r in found["similar"]] == sorted(
        (r["score"] for r in found["similar"]), reverse=True
    )
    assert len(similar(db, "C-5", "--k", "1")["similar"]) == 1


def test_similar_as_a_table(db: Path) -> None:
    result = run("cases", "similar", "C-4", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "Cases most like C-4" in result.stdout and "C-2" in result.stdout


def test_unknown_case(db: Path) -> None:
    result = run("cases", "similar", "C-99", "--db", str(db))
    assert result.exit_code == 1 and "no case" in result.output


def test_memory_documents_carry_no_attacker_free_text(db: Path) -> None:
    store = Store(db)
    free_text = set()
    for row in store.cases():
        for alert in store.alerts_of_case(row.id):
            free_text.update(o.value for o in alert.observables if o.kind in FREE_TEXT_KINDS)
            if alert.process and alert.process.cmd_line:
                free_text.add(alert.process.cmd_line)
            for text in (alert.message, alert.finding_info.desc, alert.finding_info.src_url):
                if text:
                    free_text.add(text)
    free_text = {t for t in free_text if len(t) >= 12}
    assert free_text  # the examples do carry command lines, subjects, URLs, user agents
    for row in store.cases():
        record = record_for(store, row.id, ("northwind.example",))
        assert record is not None
        text = record.document() + "\n" + record.summary
        assert not [t for t in free_text if t in text], row.id
    store.close()


def test_resolve_is_audited_and_remembered(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    triaged(db)
    result = run(
        "cases", "resolve", "C-5", "--verdict", "false_positive", "--as", "alice",
        "--note", "test account of the admin team", "--db", str(db),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "resolved as false_positive by alice" in result.stdout
    assert "remembered" in result.stdout

    verified = run("audit", "verify", "--db", str(db))
    assert verified.exit_code == 0 and "intact" in verified.output
    exported = run("audit", "export", "--case", "C-5", "--db", str(db))
    [record] = [
        r for r in map(json.loads, exported.stdout.splitlines()) if r["kind"] == "resolution"
    ]
    assert record["actor"] == "alice"
    assert record["payload"]["verdict"] == "false_positive"
    assert record["payload"]["machine_verdict"] == "benign_positive"

    # C-5 was escalated, so not memory until the analyst resolved it; now it is, with feedback.
    hits = {r["case_id"]: r for r in similar(db, "C-1")["similar"]}
    assert hits["C-5"]["verdict"] == "false_positive"
    assert hits["C-5"]["analyst_verdict"] == "false_positive"
    assert hits["C-5"]["machine_verdict"] == "benign_positive"
    assert "test account" in hits["C-5"]["summary"]

    shown = run("audit", "show", "C-5", "--db", str(db))
    assert "resolution" in shown.stdout and "false_positive" in shown.stdout

    # Re-resolving replaces the resolution; the audit keeps both.
    again = run("cases", "resolve", "C-5", "--verdict", "benign_positive", "--as", "bob",
                "--db", str(db))  # fmt: skip
    assert again.exit_code == 0, again.output
    store = Store(db)
    resolution = store.resolution("C-5")
    assert resolution is not None and resolution.analyst == "bob"
    assert sum(r["kind"] == "resolution" for r in store.audit_records("C-5")) == 2
    store.close()
    assert run("audit", "verify", "--db", str(db)).exit_code == 0

    # --reindex rebuilds the same memory from the store.
    rebuilt = similar(db, "C-1", "--reindex")
    assert rebuilt["remembered_cases"] == 4


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["C-5", "--verdict", "maybe", "--as", "alice"], 2, "--verdict must be one of"),
        (["C-4", "--verdict", "true_positive", "--as", "alice"], 1, "waiting for approvals"),
        (["C-99", "--verdict", "true_positive", "--as", "alice"], 1, "no case"),
    ],
)
def test_resolve_refusals(db: Path, args: list[str], code: int, message: str) -> None:
    result = run("cases", "resolve", *args, "--db", str(db))
    assert result.exit_code == code
    assert message in result.output


def test_a_broken_memory_does_not_stop_triage(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    memory_path(db).write_text("not a folder")  # Chroma cannot open it
    report = triaged(db)
    assert report["cases"] == 5 and report["remembered"] == 0
    [warning] = report["warnings"]
    assert "similar-case memory not updated" in warning
    result = run("cases", "list", "--db", str(db), "--json")
    assert {c["status"] for c in json.loads(result.stdout)} >= {"auto_closed", "closed"}


def test_memory_can_be_switched_off(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = Store(db)
    report = triage([EXAMPLES], Settings.load(), store, now=NOW, memory=None)
    store.close()
    assert report.remembered == 0 and not memory_path(db).exists()
    result = run("cases", "similar", "C-1", "--db", str(db))
    assert result.exit_code == 0 and "memory is empty" in result.stdout


def test_a_recreated_store_does_not_inherit_the_memory(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    triaged(db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(db)
    with CaseMemory.for_store(store) as memory:
        assert memory.count() == 0  # the old memory described other cases named C-1, C-2 ...
    store.close()
