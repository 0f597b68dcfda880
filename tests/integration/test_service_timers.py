"""The service keeps its promises on time (issue 14): approval reminders and expiries (failing
closed, the case escalated) and lease ends (rolled back) fire while it runs, on a clock the
test moves, and what fell due while it was down is handled when it starts again."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import NOW
from tests.integration.service_support import PUSHABLE, Running, running_service
from tierzero.clock import ManualClock


def triaged(running: Running) -> None:
    for path in PUSHABLE:
        assert running.push(path.read_bytes()).status_code == 202
    running.settle()


def statuses(running: Running) -> dict[int, str]:
    return {r.id: r.status for r in running.service.store().actions.rows()}


def test_approvals_expire_and_leases_end_while_it_runs(tmp_path: Path) -> None:
    with running_service(tmp_path / "t.db") as running:
        triaged(running)
        store = running.service.store()
        pending = [r for r in store.actions.rows() if r.status == "pending_approval"]
        leased = [r for r in store.actions.rows() if r.status == "executed" and r.expires_at]
        assert pending and leased
        # Half the window: a reminder, nothing expired yet.
        running.clock.advance(timedelta(minutes=3))
        running.tick()
        assert all(statuses(running)[r.id] == "pending_approval" for r in pending)
        # Past every approval window: each request expires, never executed, case escalated.
        running.clock.advance(timedelta(minutes=40))
        running.tick()
        now = statuses(running)
        assert all(now[r.id] == "expired" for r in pending)
        for row in pending:
            case = store.case(row.case_id)
            assert case is not None and case.status == "escalated"
        approvals = [r for r in store.audit_records() if r["kind"] == "approval"]
        assert any(r["actor"] == "approval-timer" for r in approvals)
        # Past every lease: the executed actions are undone through their inverse.
        running.clock.advance(timedelta(days=8))  # the longest lease is 7 days
        running.tick()
        now = statuses(running)
        assert all(now[r.id] == "expired" for r in leased)
        assert [r for r in store.audit_records() if r["kind"] == "rollback"]
        approvals_api = running.client.get("/api/approvals", headers=running.as_role("approver"))
        assert approvals_api.json()["pending"] == []


def test_what_fell_due_while_down_is_handled_at_start(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    clock = ManualClock(NOW)
    with running_service(db, clock=clock) as running:
        triaged(running)
        pending = [r.id for r in running.service.store().actions.pending()]
        tokens = running.tokens
    assert pending
    clock.advance(timedelta(hours=2))  # the service is down meanwhile
    with running_service(db, clock=clock, timer_interval_seconds=3600) as again:
        again.tokens = tokens
        # The first timer pass runs as the service starts, before it answers anything.
        store = again.service.store()
        for action_id in pending:
            row = store.actions.get(action_id)
            assert row is not None and row.status == "expired", row


def test_a_pending_approval_survives_a_restart_and_can_be_answered(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    clock = ManualClock(NOW)
    with running_service(db, clock=clock) as running:
        triaged(running)
        pending = running.service.store().actions.pending()
        tokens = running.tokens
    assert pending
    row = next(r for r in pending if not r.requested_by.startswith("analyst:approver"))
    clock.advance(timedelta(minutes=1))  # down for a minute: still inside the window
    with running_service(db, clock=clock) as again:
        again.tokens = tokens
        answer = again.client.post(
            f"/api/approvals/{row.id}/approve",
            json={"reason": "confirmed with the asset owner"},
            headers=again.as_role("approver"),
        )
        assert answer.status_code == 200, answer.json()
        done = answer.json()
        assert done["approved_by"] == "approver"
        assert done["status"] in ("executed", "denied")
