"""Approval gates: how long a person has to answer (pure), whether an answer may be applied to
a pending action (pure), and its effect.

An approval is bound to the exact action (its hash), must come from someone other than the
requester, and must arrive inside the approval window. Anything else fails closed: a late
answer expires the request, so the action is never executed and the case is escalated.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tierzero.guardrails.actors import actor_problem, same_person
from tierzero.guardrails.policy import ActionSpec, Policy
from tierzero.store.actions import ActionRow
from tierzero.tools.inventory import Asset

AnswerOutcome = Literal["approve", "deny", "expire", "refuse"]
"""What an answer does to a pending action: approve or deny it, expire it (too late, or nobody
answered), or refuse the answer (wrong action, wrong case, the requester approving)."""


def approval_window(policy: Policy, spec: ActionSpec, asset: Asset | None) -> timedelta:
    """How long a person has to answer a request to approve this action.

    The short ``approvals.production_window`` applies when the action targets a host whose
    inventory asset is in the ``production`` environment; every other request (any other
    target kind, a host not in production or not in the inventory) gets ``approvals.window``.
    The autonomy tier does not matter: a tier 2 request on a production host gets the short
    window, a tier 3 request on a privileged account the normal one. ``asset`` is the target's
    inventory record when the target is a host (None otherwise).
    """
    if spec.target == "host" and asset is not None and asset.environment == "production":
        return policy.approvals.production_window
    return policy.approvals.window


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


def rule_on_answer(
    row: ActionRow | None, case_id: str, answer: ApprovalAnswer
) -> tuple[AnswerOutcome, str]:
    """What the answer does to the row, and why (fail closed on anything doubtful)."""
    if row is None or row.case_id != case_id:
        return "refuse", f"action {answer.action_id} is not an action of {case_id}"
    if row.status != "pending_approval":
        return "refuse", f"action {row.id} is {row.status}, not waiting for approval"
    if answer.action_hash != row.idempotency_key:
        return "refuse", "the approval names a different action (hash mismatch)"
    due = row.due()
    if answer.approved is None or (due is not None and answer.at > due):
        return "expire", f"no valid answer before {row.approval_due}: the request expired"
    problem = actor_problem(answer.approver)
    if problem is not None:
        return "refuse", f"an approval needs a usable approver's name: {problem}"
    if same_person(answer.approver, row.requested_by):
        return "refuse", "the approver cannot be the requester"
    if answer.approved:
        return "approve", f"approved by {answer.approver}" + (
            f": {answer.reason}" if answer.reason else ""
        )
    return "deny", f"denied by {answer.approver}" + (f": {answer.reason}" if answer.reason else "")
