"""`audit verify --state`: edits of the tables beside the audit (actions, cases, resolutions,
settings, alerts), made with sqlite3 on a real triaged store, are reported one by one as
divergences from a replay of the audit (issue 11, item 6)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES, REPO
from tests.factories import copy_store
from tierzero.cli import app
from tierzero.store.audit_replay import ABSENT, ROW, Divergence
from tierzero.store.sqlite import Store
from tierzero.usecases.audit import verify_store

runner = CliRunner()


@pytest.fixture(scope="module")
def triaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """examples/ triaged, then an analyst's resolution and the kill switch turned off."""
    path = tmp_path_factory.mktemp("state") / "t.db"
    for args in (
        ["triage", str(EXAMPLES), "--json"],
        ["cases", "resolve", "C-5", "--verdict", "benign_positive", "--as", "dana"],
        ["autonomy", "off", "--as", "sam", "--reason", "maintenance"],
    ):
        result = runner.invoke(app, [*args, "--db", str(path)])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(triaged: Path, tmp_path: Path) -> Path:
    return copy_store(triaged, tmp_path / "store.db")


def divergences(db: Path) -> list[Divergence]:
    store = Store(db)
    try:
        found = verify_store(store, state=True).divergences
    finally:
        store.close()
    assert found is not None
    return list(found)


def edit(db: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(db)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def about_actions(d: Divergence) -> bool:
    return d.table == "actions" or (d.table == "audit" and "action" in d.column)


def require_action_contract(db: Path) -> None:
    """The action rows can be replayed because ActionLog audits each row's creation with the
    row itself (payload ``row``) and each change with ``from``/``to``/``set``."""
    conn = sqlite3.connect(db)
    created = conn.execute(
        "SELECT COUNT(*) FROM audit WHERE json_extract(payload, '$.row.idempotency_key')"
        " IS NOT NULL"
    ).fetchone()[0]
    (rows,) = conn.execute("SELECT COUNT(*) FROM actions").fetchone()
    conn.close()
    assert created == rows


def test_untouched_store_matches_its_audit(db: Path) -> None:
    found = divergences(db)
    assert [d for d in found if not about_actions(d)] == []
    require_action_contract(db)
    assert found == []
    result = runner.invoke(app, ["audit", "verify", "--state", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "match the audit" in result.output


def action_id(db: Path, action: str, target: str) -> int:
    conn = sqlite3.connect(db)
    (found,) = conn.execute(
        "SELECT id FROM actions WHERE action = ? AND target = ?", (action, target)
    ).fetchone()
    conn.close()
    return int(found)


def test_a_denied_action_edited_back_to_pending_is_reported(db: Path) -> None:
    """The attack of item 1: the denied isolation of the domain controller made approvable."""
    require_action_contract(db)
    dc = action_id(db, "isolate_host", "DC-01")
    edit(db, "UPDATE actions SET status = 'pending_approval' WHERE id = ?", (dc,))
    assert divergences(db) == [
        Divergence("actions", f"id={dc}", "status", "pending_approval", "denied")
    ]


def test_an_action_retargeted_is_reported(db: Path) -> None:
    require_action_contract(db)
    laptop = action_id(db, "isolate_host", "LT-FIN-042")
    edit(db, "UPDATE actions SET target = 'SRV-FS-01' WHERE id = ?", (laptop,))
    assert divergences(db) == [
        Divergence("actions", f"id={laptop}", "target", "SRV-FS-01", "LT-FIN-042")
    ]


def test_an_action_row_inserted_or_deleted_is_reported(db: Path) -> None:
    require_action_contract(db)
    laptop = action_id(db, "isolate_host", "LT-FIN-042")
    edit(db, "DELETE FROM actions WHERE id = ?", (laptop,))
    edit(
        db,
        "INSERT INTO actions (id, idempotency_key, case_id, action, action_class, target,"
        " status, rule_id, reason, requested_by, decided_at) VALUES"
        " (999, 'k', 'C-4', 'isolate_host', 'contain', 'DC-01', 'approved', 'x', 'x', 'x', 'x')",
    )
    assert divergences(db) == [
        Divergence("actions", f"id={laptop}", ROW, ABSENT, "row"),
        Divergence("actions", "id=999", ROW, "row", ABSENT),
    ]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE cases SET verdict = 'false_positive' WHERE id = 'C-4'",
            [Divergence("cases", "id=C-4", "verdict", "false_positive", "true_positive")],
        ),
        (
            "UPDATE cases SET status = 'closed', priority = 'P4' WHERE id = 'C-4'",
            [
                Divergence("cases", "id=C-4", "priority", "P4", "P1"),
                Divergence("cases", "id=C-4", "status", "closed", "awaiting_approval"),
            ],
        ),
        (
            "UPDATE cases SET analysis = json_set(analysis, '$.verdict', 'benign_positive')"
            " WHERE id = 'C-4'",
            [Divergence("cases", "id=C-4", "analysis.verdict", "benign_positive", "true_positive")],
        ),
        (  # new alerts hidden from the next triage
            "UPDATE cases SET dirty = 0, alert_count = 2 WHERE id = 'C-5'",
            [Divergence("cases", "id=C-5", "alert_count", 2, 1)],
        ),
        (
            "UPDATE cases SET merged_into = 'C-1', status = 'merged' WHERE id = 'C-2'",
            [
                Divergence("cases", "id=C-2", "merged_into", "C-1", None),
                Divergence("cases", "id=C-2", "status", "merged", "auto_closed"),
            ],
        ),
        (
            "UPDATE settings SET value = 'on' WHERE key = 'autonomy'",
            [Divergence("settings", "key=autonomy", "value", "on", "off")],
        ),
        (
            "INSERT INTO settings VALUES ('approver_override', 'mallory')",
            [Divergence("settings", "key=approver_override", "value", "mallory", ABSENT)],
        ),
        (
            "UPDATE resolutions SET verdict = 'false_positive', analyst = 'mallory'",
            [
                Divergence("resolutions", "case_id=C-5", "analyst", "mallory", "dana"),
                Divergence(
                    "resolutions", "case_id=C-5", "verdict", "false_positive", "benign_positive"
                ),
            ],
        ),
    ],
    ids=[
        "case-verdict",
        "case-status-priority",
        "analysis-json",
        "alert-count",
        "case-merged",
        "autonomy",
        "unknown-setting",
        "resolution",
    ],
)
def test_table_edits_are_reported(db: Path, sql: str, expected: list[Divergence]) -> None:
    edit(db, sql)
    assert [d for d in divergences(db) if not about_actions(d)] == expected


def test_a_case_deleted_and_an_alert_moved_are_reported(db: Path) -> None:
    conn = sqlite3.connect(db)
    (alert,) = conn.execute("SELECT id FROM alerts WHERE case_id = 'C-4' LIMIT 1").fetchone()
    conn.close()
    edit(db, "DELETE FROM cases WHERE id = 'C-3'")
    edit(db, "UPDATE alerts SET case_id = 'C-1' WHERE id = ?", (alert,))
    assert [d for d in divergences(db) if not about_actions(d)] == [
        Divergence("cases", "id=C-3", ROW, ABSENT, "row"),
        Divergence("alerts", f"id={alert}", "case_id", "C-1", "C-4"),
    ]


def test_verify_state_exits_1_naming_each_divergence(db: Path) -> None:
    edit(db, "UPDATE cases SET verdict = 'false_positive' WHERE id = 'C-4'")
    edit(db, "UPDATE settings SET value = 'on' WHERE key = 'autonomy'")
    result = runner.invoke(app, ["audit", "verify", "--state", "--db", str(db)])
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "cases id=C-4 verdict: stored 'false_positive', audit says 'true_positive'" in output
    assert "settings key=autonomy value: stored 'on', audit says 'off'" in output
    assert "the tables differ from the audit in" in output
    # Without --state the audit itself is intact: the edits are in other tables.
    assert runner.invoke(app, ["audit", "verify", "--db", str(db)]).exit_code == 0


def test_state_needs_a_store_not_an_export(db: Path, tmp_path: Path) -> None:
    exported = tmp_path / "audit.jsonl"
    exported.write_text(runner.invoke(app, ["audit", "export", "--db", str(db)]).stdout)
    result = runner.invoke(app, ["audit", "verify", "--file", str(exported), "--state"])
    assert result.exit_code == 2


def test_the_tables_match_the_audit_after_racing_processes(db: Path) -> None:
    """Approve racing deny on every pending action and two rollbacks of one executed action,
    each in its own process: whatever order won, the tables are what the audit says."""
    require_action_contract(db)
    conn = sqlite3.connect(db)
    pending = [
        r[0] for r in conn.execute("SELECT id FROM actions WHERE status = 'pending_approval'")
    ]
    (executed,) = conn.execute(
        "SELECT id FROM actions WHERE status = 'executed' LIMIT 1"
    ).fetchone()
    conn.close()
    commands = [["actions", "rollback", str(executed), "--as", who] for who in ("sam", "lee")]
    for action in pending:
        commands += [
            ["approvals", "approve", str(action), "--as", "sam"],
            ["approvals", "deny", str(action), "--as", "lee"],
        ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "tierzero", *command, "--db", str(db)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
        )
        for command in commands
    ]
    for process in started:
        process.wait(timeout=300)
    # Actions and cases exactly as audited (a resumed case's new status included).
    assert [d.describe() for d in divergences(db)] == []
    conn = sqlite3.connect(db)
    statuses = {r[0] for r in conn.execute("SELECT status FROM actions")}
    conn.close()
    assert "pending_approval" not in statuses and "rolled_back" in statuses
