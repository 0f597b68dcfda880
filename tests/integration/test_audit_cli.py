"""The audit chain through the CLI: every run is audited, exports verify, tampering is caught."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from tierzero.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("audit") / "t.db"
    result = runner.invoke(app, ["triage", str(EXAMPLES), "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return path


def export(db: Path, *extra: str) -> list[str]:
    result = runner.invoke(app, ["audit", "export", "--db", str(db), *extra])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def verify_file(tmp_path: Path, lines: list[str]) -> tuple[int, str]:
    path = tmp_path / "export.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = runner.invoke(app, ["audit", "verify", "--file", str(path)])
    return result.exit_code, result.output


def test_run_is_fully_audited(db: Path) -> None:
    records = [json.loads(line) for line in export(db)]
    kinds = {r["kind"] for r in records}
    assert {"policy", "correlation", "tool_call", "priority", "verdict"} <= kinds
    cases = json.loads(runner.invoke(app, ["cases", "list", "--db", str(db), "--json"]).stdout)
    alerts = sum(c["alert_count"] for c in cases)
    assert sum(r["kind"] == "correlation" for r in records) == alerts  # one per join
    assert sum(r["kind"] == "verdict" for r in records) == len(cases)


def test_db_and_exports_verify(db: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "verify", "--db", str(db)])
    assert result.exit_code == 0 and "intact" in result.output
    assert verify_file(tmp_path, export(db))[0] == 0
    assert verify_file(tmp_path, export(db, "--case", "C-4"))[0] == 0


@pytest.mark.parametrize("tamper", ["alter", "delete", "insert", "reorder"])
def test_tampered_export_fails_naming_the_record(db: Path, tmp_path: Path, tamper: str) -> None:
    lines = export(db)
    original = list(lines)
    if tamper == "alter":
        lines[10] = lines[10].replace('"actor":"correlator"', '"actor":"correlatoR"', 1)
    elif tamper == "delete":
        del lines[10]
    elif tamper == "insert":
        lines.insert(10, lines[9])
    else:
        lines[10], lines[11] = lines[11], lines[10]
    assert lines != original
    code, output = verify_file(tmp_path, lines)
    assert code == 1
    assert "audit chain broken at record seq" in output


def test_one_changed_byte_anywhere_fails(db: Path, tmp_path: Path) -> None:
    lines = export(db, "--case", "C-5")
    for index in range(len(lines)):
        altered = list(lines)
        line = altered[index]
        position = line.index('"payload":') + 12
        altered[index] = line[:position] + chr(ord(line[position]) ^ 1) + line[position + 1 :]
        assert verify_file(tmp_path, altered)[0] == 1, f"change in record {index} not caught"


def test_tampering_inside_the_database_is_caught(db: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    source = sqlite3.connect(db)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        target.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 5")
    # An attacker with the file can drop the guard; the chain still gives them away.
    target.execute("DROP TRIGGER audit_no_update")
    target.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 5")
    target.commit()
    target.close()
    result = runner.invoke(app, ["audit", "verify", "--db", str(copy)])
    assert result.exit_code == 1 and "seq 5" in result.output


def test_audit_show_renders_the_trace(db: Path) -> None:
    result = runner.invoke(app, ["audit", "show", "C-4", "--db", str(db)])
    assert result.exit_code == 0, result.output
    for word in ("correlation", "tool_call", "priority", "verdict", "true_positive"):
        assert word in result.output
