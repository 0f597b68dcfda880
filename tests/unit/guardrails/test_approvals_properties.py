"""Invariants of approvals and execution, whatever the answer or the order of events."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tierzero.guardrails.approvals import ApprovalAnswer, rule_on_answer
from tierzero.store.actions import ActionRow
from tierzero.tools.connectors import LAB_SCHEMA, LabConnector

DUE = datetime(2026, 11, 16, 10, 5, tzinfo=UTC)
ROW = ActionRow(
    id=7,
    idempotency_key="h" * 64,
    case_id="C-1",
    action="isolate_host",
    action_class="disrupt",
    target="SRV-FS-01",
    status="pending_approval",
    rule_id="tier.x",
    reason="r",
    requested_by="lateral_movement",
    approved_by=None,
    decided_at=(DUE - timedelta(minutes=5)).isoformat(),
    executed_at=None,
    expires_at=None,
    result=None,
    rolled_back_by=None,
    rollback_reason=None,
    approval_due=DUE.isoformat(),
    reminded=0,
)


@settings(max_examples=300, deadline=None)
@given(
    late=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=30)),
    approved=st.sampled_from([True, False, None]),
    approver=st.text(max_size=20),
    same_hash=st.booleans(),
)
def test_an_expired_approval_never_approves(
    late: timedelta, approved: bool | None, approver: str, same_hash: bool
) -> None:
    answer = ApprovalAnswer(
        action_id=7,
        action_hash=ROW.idempotency_key if same_hash else "x",
        approved=approved,
        approver=approver,
        at=DUE + late,
    )
    assert rule_on_answer(ROW, "C-1", answer)[0] != "approve"


@settings(max_examples=300, deadline=None)
@given(
    approver=st.text(max_size=20),
    action_hash=st.text(max_size=64),
    status=st.sampled_from(["pending_approval", "executed", "denied", "expired", "allowed"]),
)
def test_only_the_exact_pending_action_can_be_approved(
    approver: str, action_hash: str, status: str
) -> None:
    row = replace(ROW, status=status)
    answer = ApprovalAnswer(
        action_id=7,
        action_hash=action_hash,
        approved=True,
        approver=approver,
        at=DUE - timedelta(minutes=1),
    )
    verdict, _ = rule_on_answer(row, "C-1", answer)
    if verdict == "approve":
        assert status == "pending_approval"
        assert action_hash == ROW.idempotency_key
        assert approver.strip() and approver.strip().lower() != ROW.requested_by


@settings(max_examples=100, deadline=None)
@given(calls=st.lists(st.sampled_from(["k1", "k2", "k3"]), min_size=1, max_size=12))
def test_the_lab_applies_each_key_once(calls: list[str]) -> None:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript(LAB_SCHEMA)
    conn.execute("INSERT INTO lab_hosts (hostname) VALUES ('WS-1')")
    lab = LabConnector(conn)
    now = datetime(2026, 11, 16, tzinfo=UTC)
    results = [lab.apply("isolate_host", "WS-1", key, now) for key in calls]
    applied = conn.execute("SELECT COUNT(*) FROM lab_applied").fetchone()[0]
    assert applied == len(set(calls))
    assert sum("already applied" not in r for r in results) == len(set(calls))
