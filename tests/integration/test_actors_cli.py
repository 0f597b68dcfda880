"""Separation of duties and terminal safety through the real command line and a real store:
a requester cannot approve under another spelling of their name, unusable ``--as`` names are
refused before anything is recorded, and untrusted text never acts on the terminal."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from tierzero.cli import app
from tierzero.cli.support import out
from tierzero.store.sqlite import Store

runner = CliRunner()

# Requester "ana" in other spellings: each is refused as the requester.
SPELLINGS = {
    "cyrillic a": "\u0430na",
    "zero-width space": "a\u200bna",
    "fullwidth": "\uff41\uff4e\uff41",
    "upper case": "ANA",
    "chat prefix": "analyst:Ana",
    "greek alpha": "\u03b1n\u03b1",
}
# Names no door may record.
UNUSABLE = {
    "empty": "",
    "blank": "   ",
    "escape sequence": "\x1b[31mx",
    "newline": "dana\n2026-11-17 09:00:00 forged",
    "right-to-left override": "dana\u202e",
    "invisible only": "\u200b",
    "over-long": "d" * 101,
}
FORGED = "2026-11-17 09:00:00  999  approval  dana  forged line"


def invoke(*args: object) -> Any:
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("actors") / "t.db"
    assert invoke("triage", EXAMPLES, "--db", path, "--json").exit_code == 0
    return path


@pytest.fixture
def wide() -> Iterator[None]:
    """A terminal wide enough that no cell wraps (the tests read values out of tables)."""
    width = out.width
    out.width = 400
    yield
    out.width = width


def audit_count(db: Path) -> int:
    with closing(Store(db)) as store:
        return sum(1 for _ in store.audit_records())


def action(db: Path, action_id: int) -> dict[str, Any]:
    rows = json.loads(invoke("actions", "list", "--db", db, "--json").stdout)
    return next(r for r in rows if r["id"] == action_id)


def test_the_requester_cannot_approve_under_any_spelling(db: Path) -> None:
    asked = invoke(
        "chat", "C-5", "--db", db, "--as", "ana", "-m", "disable user bob.nguyen", "--json"
    )
    assert asked.exit_code == 0, asked.output
    [proposed] = json.loads(asked.stdout)["replies"][0]["actions"]
    action_id = proposed["action_id"]
    assert action(db, action_id)["requested_by"] == "analyst:ana"
    before = audit_count(db)
    for name, spelling in SPELLINGS.items():
        result = invoke("approvals", "approve", action_id, "--as", spelling, "--db", db)
        assert result.exit_code == 1, (name, result.output)
        assert "the approver cannot be the requester" in result.output, name
    assert audit_count(db) == before  # nothing recorded
    assert action(db, action_id)["status"] == "pending_approval"
    other = invoke("approvals", "approve", action_id, "--as", "dana", "--db", db)
    assert other.exit_code == 0, other.output
    assert action(db, action_id)["approved_by"] == "dana"


@pytest.mark.parametrize("name", UNUSABLE.values(), ids=UNUSABLE.keys())
@pytest.mark.parametrize(
    "command",
    [
        ("actions", "rollback", "1"),
        ("autonomy", "off"),
        ("approvals", "deny", "3"),
        ("cases", "resolve", "C-1", "--verdict", "benign_positive"),
        ("chat", "C-4", "-m", "isolate SRV-FS-01"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_unusable_names_are_refused_and_nothing_is_recorded(
    db: Path, command: tuple[str, ...], name: str
) -> None:
    before = audit_count(db)
    rows = invoke("actions", "list", "--db", db, "--json").stdout
    result = invoke(*command, "--as", name, "--db", db)
    assert result.exit_code == 2, result.output
    assert "--as:" in result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert audit_count(db) == before
    assert invoke("actions", "list", "--db", db, "--json").stdout == rows
    with closing(Store(db)) as store:
        assert store.autonomy_on()


def test_audit_show_prints_hostile_actors_and_payloads_inert(db: Path, wide: None) -> None:
    # A note is free text any analyst may type; an actor with escapes can only come from an
    # older store or another door, so it is written straight into the store.
    note = f"ok\x1b[2J\n{FORGED} \u202eevil"
    resolved = invoke(
        "cases", "resolve", "C-1", "--verdict", "benign_positive", "--as", "dana", "--note", note,
        "--db", db,
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    with closing(Store(db)) as store:
        hostile = f"\x1b[2Jmallory\n{FORGED}"
        payload = {"verdict": "benign_positive", "machine_verdict": "benign_positive", "note": ""}
        store.audit("resolution", hostile, payload, "C-1", datetime.now(UTC))
        records = list(store.audit_records("C-1"))
    shown = invoke("audit", "show", "C-1", "--db", db)
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "\x1b" not in text and "\u202e" not in text
    assert "\\x1b[2J" in text and "\\u202eevil" in text and f"\\n{FORGED}" in text
    # One table line per record, each starting with that record's time: nothing forged a line.
    times = [line[1:20] for line in text.splitlines() if re.match(r" \d{4}-\d\d-\d\dT", line)]
    assert times == [r["ts"][:19] for r in records]
    assert not any(line.lstrip().startswith(FORGED) for line in text.splitlines())


def test_audit_export_is_ascii_and_still_verifies(db: Path, tmp_path: Path) -> None:
    with closing(Store(db)) as store:
        payload = {"autonomy": "on", "reason": "\u202eevil \x9b2J"}
        store.audit("autonomy", "dana", payload, None, datetime.now(UTC))
    exported = invoke("audit", "export", "--db", db)
    assert exported.exit_code == 0
    assert exported.stdout.isascii()
    assert "\\u202eevil \\u009b2J" in exported.stdout
    path = tmp_path / "export.jsonl"
    path.write_text(exported.stdout)
    assert invoke("audit", "verify", "--file", path).exit_code == 0


def test_actions_list_shows_each_value_under_its_header(db: Path, wide: None) -> None:
    if not any(
        r["approved_by"] for r in json.loads(invoke("actions", "list", "--db", db, "--json").stdout)
    ):
        # An approved action, so that the "Approved by" column is shown too.
        waiting = json.loads(invoke("approvals", "list", "--db", db, "--json").stdout)
        assert (
            invoke("approvals", "approve", waiting[0]["id"], "--as", "dana", "--db", db).exit_code
            == 0
        )
    rows = json.loads(invoke("actions", "list", "--db", db, "--json").stdout)
    lines = invoke("actions", "list", "--db", db).output.splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ID "))
    header = lines[header_at]
    names = re.split(r"\s{2,}", header.strip())
    starts = [header.index(name) for name in names]
    assert names == [
        "ID", "Case", "Action", "Status", "Target", "Rule", "Lease ends (UTC)", "Approved by",
    ]  # fmt: skip
    table = {}
    for line in lines[header_at + 2 : header_at + 2 + len(rows)]:
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
        table[int(cells[0])] = dict(zip(names, cells, strict=True))
    assert set(table) == {r["id"] for r in rows}
    for r in rows:
        shown = table[r["id"]]
        assert shown["Case"] == r["case_id"] and shown["Action"] == r["action"]
        assert shown["Status"] == r["status"] and shown["Target"] == r["target"]
        assert shown["Rule"] == r["rule_id"]
        assert shown["Approved by"] == (r["approved_by"] or "")
        assert shown["Lease ends (UTC)"] == (r["expires_at"] or "")[:16].replace("T", " ")
