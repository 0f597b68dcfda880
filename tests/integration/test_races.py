"""Issue 11, items 1, 4 and 5: races between real processes, database edits, and the kill
switch flipped mid-run. Every attack here was reproduced against the code before the fix:

- approve racing deny executed a denied action; two approvals executed twice; two rollbacks
  both succeeded;
- a denied ``isolate DC-01`` edited back to pending in the database, then approved, isolated
  the domain controller;
- two ``tierzero triage`` processes on one store correlated every alert twice and analysed
  cases twice;
- ``autonomy off`` during a run did not stop the run's automatic actions, and every record
  carried the run's start time.

The processes are real (``python -m tierzero``), the edits are plain SQL on the file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, REPO
from tests.factories import copy_store
from tests.integration.many_cases import laptop, write_many_cases
from tierzero.clock import ManualClock
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.tools.connectors import LabConnector
from tierzero.usecases.triage import triage

CASES = 12


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(store, config, alerts): the many-cases data triaged once on the system clock, so
    its approval windows are open for the commands below (which run on the real time)."""
    folder = tmp_path_factory.mktemp("races")
    alerts, config = write_many_cases(folder, CASES)
    store = Store(folder / "template.db")
    triage([alerts], Settings.load(config), store, model="off", memory=None)
    store.close()
    return folder / "template.db", config, alerts


def tierzero(*args: str) -> subprocess.Popen[str]:
    """Start one real tierzero process."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "tierzero", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def race(*commands: list[str]) -> list[tuple[int, str]]:
    """Start every command at once; (exit code, output) of each."""
    started = [tierzero(*command) for command in commands]
    results = []
    for proc in started:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, out + err))
    return results


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return list(conn.execute(sql, params))


def audit_of(db: Path) -> list[dict[str, Any]]:
    return [
        {"seq": seq, "kind": kind, "ts": ts, "payload": json.loads(payload)}
        for seq, kind, ts, payload in rows(db, "SELECT seq, kind, ts, payload FROM audit")
    ]


def starts(db: Path, action_id: int) -> int:
    """How many times the action was marked executing (the step right before the connector)."""
    return sum(
        1
        for r in audit_of(db)
        if r["payload"].get("action_id") == action_id and r["payload"].get("to") == "executing"
    )


def applied(db: Path, key: str) -> int:
    """How many times the (simulated) connector carried the action out."""
    return len(rows(db, "SELECT 1 FROM lab_applied WHERE idempotency_key = ?", key))


def pending_isolations(db: Path) -> list[tuple[int, str, str]]:
    return rows(
        db,
        "SELECT id, target, idempotency_key FROM actions WHERE action = 'isolate_host'"
        " AND status = 'pending_approval' ORDER BY id",
    )


def test_approve_racing_deny_applies_exactly_one_answer(
    template: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    db_template, config, _ = template
    db = copy_store(db_template, tmp_path / "t.db")
    waiting = pending_isolations(db)[:3]
    assert len(waiting) == 3
    for action_id, host, key in waiting:
        common = ["--db", str(db), "--config", str(config)]
        results = race(
            ["approvals", "approve", str(action_id), "--as", "ana", *common],
            ["approvals", "deny", str(action_id), "--as", "bob", *common],
        )
        assert sorted(code == 0 for code, _ in results) == [False, True], results
        (status,) = rows(db, "SELECT status FROM actions WHERE id = ?", action_id)[0]
        isolated = rows(db, "SELECT isolated FROM lab_hosts WHERE hostname = ?", host)[0][0]
        if status == "denied":
            assert (isolated, applied(db, key), starts(db, action_id)) == (0, 0, 0)
        else:
            assert status == "executed"
            assert (isolated, applied(db, key), starts(db, action_id)) == (1, 1, 1)
        loser = next(output for code, output in results if code != 0)
        assert "not waiting for approval" in loser or "answered" in loser


def test_two_approvals_execute_once(template: tuple[Path, Path, Path], tmp_path: Path) -> None:
    db_template, config, _ = template
    db = copy_store(db_template, tmp_path / "t.db")
    for action_id, _host, key in pending_isolations(db)[:3]:
        common = ["--db", str(db), "--config", str(config)]
        results = race(
            ["approvals", "approve", str(action_id), "--as", "ana", *common],
            ["approvals", "approve", str(action_id), "--as", "bob", *common],
        )
        assert sorted(code == 0 for code, _ in results) == [False, True], results
        assert (applied(db, key), starts(db, action_id)) == (1, 1)
        loser = next(output for code, output in results if code != 0)
        assert "not waiting for approval" in loser or "answered" in loser


def test_two_rollbacks_undo_once(template: tuple[Path, Path, Path], tmp_path: Path) -> None:
    db_template, config, _ = template
    db = copy_store(db_template, tmp_path / "t.db")
    executed = rows(
        db, "SELECT id, idempotency_key FROM actions WHERE status = 'executed' ORDER BY id"
    )[:2]
    for action_id, key in executed:
        common = ["--db", str(db), "--config", str(config)]
        results = race(
            ["actions", "rollback", str(action_id), "--as", "ana", *common],
            ["actions", "rollback", str(action_id), "--as", "bob", *common],
        )
        assert sorted(code == 0 for code, _ in results) == [False, True], results
        undone = [
            r
            for r in audit_of(db)
            if r["kind"] == "rollback" and r["payload"].get("action_id") == action_id
        ]
        assert len(undone) == 1
        assert applied(db, f"rollback:{key}") == 1


def test_a_denied_action_edited_back_to_pending_never_runs(tmp_path: Path) -> None:
    """The attack: UPDATE the denied isolate DC-01 row to pending, then approve it."""
    db = tmp_path / "t.db"
    store = Store(db)
    triage([EXAMPLES], Settings.load(), store, model="off", memory=None)
    store.close()
    ((action_id,),) = rows(
        db, "SELECT id FROM actions WHERE action = 'isolate_host' AND target = 'DC-01'"
    )
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE actions SET status = 'pending_approval', approval_due = ? WHERE id = ?",
            ("2999-01-01T00:00:00+00:00", action_id),
        )
    ((code, output),) = race(
        ["approvals", "approve", str(action_id), "--as", "bob", "--db", str(db)]
    )
    assert code != 0
    assert "refused it at execution" in output and "deny_list.asset_role" in output
    assert rows(db, "SELECT isolated FROM lab_hosts WHERE hostname = 'DC-01'") == [(0,)]
    assert rows(db, "SELECT status FROM actions WHERE id = ?", action_id) == [("denied",)]
    assert starts(db, action_id) == 0


def test_a_pending_action_whose_target_was_edited_never_runs(tmp_path: Path) -> None:
    """The row's target is changed under a pending approval: its hash no longer matches."""
    db = tmp_path / "t.db"
    store = Store(db)
    triage([EXAMPLES], Settings.load(), store, model="off", memory=None)
    store.close()
    ((action_id,),) = rows(
        db, "SELECT id FROM actions WHERE action = 'isolate_host' AND target = 'SRV-FS-01'"
    )
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE actions SET target = 'LT-IT-007' WHERE id = ?", (action_id,))
    ((code, output),) = race(
        ["approvals", "approve", str(action_id), "--as", "bob", "--db", str(db)]
    )
    assert code != 0 and "execution.row_altered" in output
    assert rows(db, "SELECT isolated FROM lab_hosts WHERE hostname = 'LT-IT-007'") == [(0,)]


def test_two_triage_processes_give_the_result_of_one(
    template: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, config, alerts = template
    db = tmp_path / "t.db"
    results = race(
        ["triage", str(alerts), "--db", str(db), "--config", str(config)],
        ["triage", str(alerts), "--db", str(db), "--config", str(config)],
    )
    assert [code for code, _ in results] == [0, 0], results
    assert rows(db, "SELECT COUNT(*), COUNT(DISTINCT alert_id) FROM joins") == [(CASES, CASES)]
    assert rows(db, "SELECT COUNT(*) FROM cases") == [(CASES,)]
    assert rows(db, "SELECT COUNT(*) FROM cases WHERE revision != 1") == [(0,)]
    correlated = Counter(
        r["payload"]["alert_id"] for r in audit_of(db) if r["kind"] == "correlation"
    )
    assert len(correlated) == CASES and set(correlated.values()) == {1}
    opened = [r for r in audit_of(db) if r["payload"].get("join") == "new_case"]
    assert len(opened) == CASES
    verdicts = Counter(r["ts"] for r in audit_of(db) if r["kind"] == "verdict")
    assert sum(verdicts.values()) == CASES  # each case analysed once
    for (action_id,) in rows(db, "SELECT id FROM actions"):
        assert starts(db, action_id) <= 1
    ((code, output),) = race(["audit", "verify", "--db", str(db)])
    assert code == 0, output


def test_the_kill_switch_stops_a_running_triage(
    template: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Another process turns autonomy off after the fourth case; the clock moves on 11 minutes
    per case (so no rate limit is what stops the rest)."""
    _, config, alerts = template
    db = tmp_path / "t.db"
    clock = ManualClock(datetime(2026, 11, 17, 9, 0, tzinfo=UTC))
    store = Store(db)

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage != "analyse":
            return
        clock.advance(timedelta(minutes=11))
        if done == 4:
            ((code, output),) = race(
                ["autonomy", "off", "--as", "ana", "--reason", "incident", "--db", str(db)]
            )
            assert code == 0, output

    triage(
        [alerts],
        Settings.load(config),
        store,
        now=clock,
        progress=progress,
        model="off",
        memory=None,
    )
    audit = audit_of(db)
    switched = next(r["seq"] for r in audit if r["kind"] == "autonomy")
    executions = [r["seq"] for r in audit if r["payload"].get("to") == "executing"]
    assert executions and max(executions) < switched
    late = rows(
        db,
        "SELECT status, rule_id FROM actions WHERE case_id IN (SELECT id FROM cases WHERE seq > 4)",
    )
    assert late and set(late) == {("pending_approval", "autonomy.off")}
    lab = LabConnector(store.conn).state()
    assert set(lab["isolated_hosts"]) == {laptop(i) for i in range(4)}
    # Records carry the time they were written, and so do approval windows.
    stamps = [r["ts"] for r in audit if r["kind"] == "verdict"]
    assert stamps == sorted(stamps) and len(set(stamps)) == CASES
    due = rows(
        db,
        "SELECT decided_at, approval_due FROM actions WHERE status = "
        "'pending_approval' ORDER BY id DESC LIMIT 1",
    )[0]
    window = datetime.fromisoformat(due[1]) - datetime.fromisoformat(due[0])
    assert window == Settings.load(config).policy.approvals.window
    assert datetime.fromisoformat(due[0]) > clock.now() - timedelta(minutes=12)
    store.close()
