"""Approval gates: whether an answer may be applied to a pending action (pure), and its effect.

An approval is bound to the exact action (its hash), must come from someone other than the
requester, and must arrive inside the approval window. Anything else fails closed: a late
answer expires the request, so the action is never executed and the case is escalated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tierzero.store.actions import ActionRow

Verdict = Literal["approve", "deny", "expire", "refuse"]


class ApprovalAnswer(BaseModel):
    """A person's (or the approval timer's) answer to one pending action."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action_id: int
    action_hash: str
    approved: bool | None  # None: nobody answered in time
    approver: str
    reason: str = ""
    at: datetime

    @classmethod
    def for_row(
        cls, row: ActionRow, *, approved: bool | None, approver: str, reason: str, at: datetime
    ) -> ApprovalAnswer:
        """An answer about exactly this action (bound to its hash)."""
        return cls(
            action_id=row.id,
            action_hash=row.idempotency_key,
            approved=approved,
            approver=approver,
            reason=reason,
            at=at,
        )


def judge(row: ActionRow | None, case_id: str, answer: ApprovalAnswer) -> tuple[Verdict, str]:
    """What the answer does to the row, and why (fail closed on anything doubtful)."""
    if row is None or row.case_id != case_id:
        return "refuse", f"action {answer.action_id} is not an action of {case_id}"
    if row.status != "pending_approval":
        return "refuse", f"action {row.id} is {row.status}, not waiting for approval"
    if answer.action_hash != row.idempotency_key:
        return "refuse", "the approval names a different action (hash mismatch)"
    due = datetime.fromisoformat(row.approval_due) if row.approval_due else None
    if answer.approved is None or (due is not None and answer.at > due):
        return "expire", f"no valid answer before {row.approval_due}: the request expired"
    if _person(answer.approver) == _person(row.requested_by):
        return "refuse", "the approver cannot be the requester"
    if not answer.approver.strip():
        return "refuse", "an approval needs the approver's name"
    if answer.approved:
        return "approve", f"approved by {answer.approver}" + (
            f": {answer.reason}" if answer.reason else ""
        )
    return "deny", f"denied by {answer.approver}" + (f": {answer.reason}" if answer.reason else "")


def _person(name: str) -> str:
    """Who a name denotes: ``analyst:Ana`` (a chat request) and ``ana`` are one person."""
    name = name.strip().lower()
    return name.removeprefix("analyst:").strip()
