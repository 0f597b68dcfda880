"""Approval gates through the real graph: interrupt, resume, binding, expiry (fail closed)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import EXAMPLES, NOW
from tierzero.guardrails.approvals import ApprovalAnswer, rule_on_answer
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.tools.connectors import LabConnector
from tierzero.usecases.approvals import answer_approval, approval_housekeeping
from tierzero.usecases.triage import triage


def triaged(tmp_path: Path) -> tuple[Store, Settings]:
    settings = Settings.load()
    store = Store(tmp_path / "t.db")
    triage([EXAMPLES], settings, store, now=NOW)
    return store, settings


def pending(store: Store) -> dict[str, object]:
    return {f"{r.action} {r.target}": r for r in store.actions.pending()}


def test_case_waits_with_bounded_windows(tmp_path: Path) -> None:
    store, _ = triaged(tmp_path)
    waiting = pending(store)
    assert set(waiting) == {
        "isolate_host SRV-FS-01",
        "reset_password alice.martin",
        "disable_user alice.martin",
    }
    server = waiting["isolate_host SRV-FS-01"]
    assert server.approval_due == (NOW + timedelta(minutes=5)).isoformat(timespec="microseconds")
    account = waiting["disable_user alice.martin"]
    assert account.approval_due == (NOW + timedelta(minutes=30)).isoformat(timespec="microseconds")
    assert {r.status for r in store.cases() if r.id == server.case_id} == {"awaiting_approval"}
    requested = [
        r["payload"]["action_hash"]
        for r in store.audit_records(server.case_id)
        if r["kind"] == "approval" and r["payload"]["phase"] == "requested"
    ]
    assert sorted(requested) == sorted(r.idempotency_key for r in waiting.values())


def test_approval_resumes_the_graph_and_executes_exactly_that_action(tmp_path: Path) -> None:
    store, settings = triaged(tmp_path)
    row = pending(store)["isolate_host SRV-FS-01"]
    store.close()
    store = Store(tmp_path / "t.db")  # a restart: the pending approval lives in the checkpoint
    answer_approval(
        store,
        settings,
        row.id,
        approved=True,
        approver="dana.soc",
        reason="confirmed",
        now=NOW + timedelta(minutes=2),
    )
    done = store.actions.get(row.id)
    assert done is not None and (done.status, done.approved_by) == ("executed", "dana.soc")
    assert "SRV-FS-01" in LabConnector(store.conn).state()["isolated_hosts"]  # type: ignore[operator]
    assert len(store.actions.pending()) == 2  # approving one host approves nothing else
    kinds = [r["kind"] for r in store.audit_records(row.case_id)]
    assert "approval" in kinds


def test_rule_on_answer_binds_answers_to_action_requester_and_window(tmp_path: Path) -> None:
    store, _ = triaged(tmp_path)
    row = pending(store)["disable_user alice.martin"]

    def answer(**kw: object) -> ApprovalAnswer:
        base: dict[str, object] = {
            "action_id": row.id,
            "action_hash": row.idempotency_key,
            "approved": True,
            "approver": "dana.soc",
            "at": NOW,
        }
        base.update(kw)
        return ApprovalAnswer.model_validate(base)

    assert rule_on_answer(row, row.case_id, answer())[0] == "approve"
    assert rule_on_answer(row, row.case_id, answer(approved=False))[0] == "deny"
    assert rule_on_answer(row, row.case_id, answer(action_hash="0" * 64))[0] == "refuse"
    assert rule_on_answer(row, row.case_id, answer(approver=row.requested_by))[0] == "refuse"
    assert rule_on_answer(row, "C-99", answer())[0] == "refuse"
    late = answer(at=NOW + timedelta(minutes=31))
    assert rule_on_answer(row, row.case_id, late)[0] == "expire"


def test_unanswered_requests_expire_fail_closed_and_escalate(tmp_path: Path) -> None:
    store, settings = triaged(tmp_path)
    case_id = next(iter(store.actions.pending())).case_id
    notes = approval_housekeeping(store, settings, NOW + timedelta(minutes=3))
    assert [n for n in notes if n.startswith("reminder")]  # half of the 5-minute window
    reminders = [
        r
        for r in store.audit_records(case_id)
        if r["kind"] == "approval" and r["payload"].get("phase") == "reminder"
    ]
    assert reminders and reminders[0]["payload"]["escalate_to"]
    approval_housekeeping(store, settings, NOW + timedelta(hours=1))
    assert store.actions.pending() == []
    expired = [r for r in store.actions.rows() if r.status == "expired"]
    assert len(expired) == 3 and all(r.executed_at is None for r in expired)
    lab = LabConnector(store.conn).state()
    assert "SRV-FS-01" not in lab["isolated_hosts"]  # type: ignore[operator]
    assert lab["disabled_accounts"] == []
    case = store.case(case_id)
    assert case is not None and case.status == "escalated"
