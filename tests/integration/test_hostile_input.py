"""Attacker-controlled text through the CLI: no crash, no markup, no terminal escapes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from tierzero.cli import app

runner = CliRunner()
MAPPING = """\
name: hostile
fields:
  time: {column: ts, format: iso8601}
  title: title
  id: id
  host: host
  user: user
"""
HOSTILE = [
    {
        "ts": "2026-11-16T10:00:00Z",
        "id": "u2[/]",
        "title": "pwn \x1b]0;owned\x07\x1b[31m[red]x",
        "host": "WS-1\n  E99 [alert] fake evidence",
        "user": "[link=http://evil.example]bob[/link]",
    },
    {
        "ts": "2026-11-16T10:01:00Z",
        "id": "2",
        "title": "[blink]t[/blink]" + "A" * 5000,
        "host": "WS-1",
        "user": "NORTHWIND\\SYSTEM",
    },
]


def test_hostile_text_is_shown_inert(tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text("\n".join(json.dumps(r) for r in HOSTILE) + "\n")
    (tmp_path / "in.mapping.yaml").write_text(MAPPING)
    db = str(tmp_path / "t.db")
    outputs = []
    for args in (
        ["triage", str(tmp_path), "--db", db],
        ["cases", "list", "--db", db],
        ["cases", "show", "C-1", "--db", db],
        ["audit", "show", "C-1", "--db", db],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        outputs.append(result.output)
    text = "\n".join(outputs)
    assert "\x1b" not in text and "\x07" not in text
    assert "[red]" in text or "[blink]" in text  # markup shown literally, not interpreted
    assert "\n  E99 [alert] fake evidence" not in text


def test_same_uid_from_two_products_is_two_alerts(tmp_path: Path) -> None:
    base = json.loads((EXAMPLES / "ocsf_detection_findings.json").read_text())[0]
    other = json.loads(json.dumps(base))
    other["metadata"]["product"]["name"] = "Another NDR"
    (tmp_path / "two.json").write_text(json.dumps([base, other]))
    result = runner.invoke(
        app, ["triage", str(tmp_path / "two.json"), "--db", str(tmp_path / "t.db"), "--json"]
    )
    report = json.loads(result.stdout)
    assert report["normalized"] == 2 and report["new_alerts"] == 2


def test_quarantine_is_not_duplicated_by_another_path_spelling(
    tmp_path: Path, monkeypatch: object
) -> None:
    db = str(tmp_path / "t.db")
    bad = EXAMPLES / "bad_records.jsonl"
    first = json.loads(runner.invoke(app, ["triage", str(bad), "--db", db, "--json"]).stdout)
    spelled = str(EXAMPLES / ".." / "examples" / "bad_records.jsonl")
    runner.invoke(app, ["triage", spelled, "--db", db, "--json"])
    listed = json.loads(runner.invoke(app, ["quarantine", "list", "--db", db, "--json"]).stdout)
    assert len(listed) == first["quarantined"]
