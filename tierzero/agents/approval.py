"""Approval gate: the graph waits (LangGraph ``interrupt``) until a person answers.

``approval_node`` has no side effects: on resume LangGraph runs it again from the top, and
``interrupt`` then returns the answer. ``apply_approval_node`` applies the answer (audited
state change, then execution through the connector) once. With the durable checkpointer a
pending approval survives a restart of tierzero.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import interrupt

from tierzero.agents.act import execute_once
from tierzero.agents.context import RunContext
from tierzero.agents.state import CaseState
from tierzero.guardrails.approvals import AnswerOutcome, ApprovalAnswer, rule_on_answer
from tierzero.store.actions import ActionConflict, ActionRow


def approval_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Ask for an answer on the case's pending actions and wait for it."""
    pending = runtime.context.store.actions.pending(state.case_id)
    if not pending:
        return {"pending_action_ids": (), "visited": (*state.visited, "approval")}
    answer = interrupt(
        {
            "case_id": state.case_id,
            "pending": [
                {
                    "action_id": r.id,
                    "action": r.action,
                    "target": r.target,
                    "action_hash": r.idempotency_key,
                    "due": r.approval_due,
                    "rule_id": r.rule_id,
                }
                for r in pending
            ],
        }
    )
    return {
        "approval_answers": (*state.approval_answers, ApprovalAnswer.model_validate(answer)),
        "visited": (*state.visited, "approval"),
    }


def apply_approval_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Apply the latest answer: approve (and execute), deny, expire, or refuse it."""
    ctx = runtime.context
    log = ctx.store.actions
    if state.approval_answers:
        answer = state.approval_answers[-1]
        row = log.get(answer.action_id)
        outcome, why = rule_on_answer(row, state.case_id, answer)
        payload = {"answer": answer.model_dump(mode="json"), "verdict": outcome, "why": why}
        if row is None or outcome == "refuse":
            ctx.store.audit("approval", answer.approver, payload, state.case_id, ctx.now)
        else:
            try:
                _apply(ctx, state, row, outcome, answer.approver, payload)
            except ActionConflict as exc:
                # Someone else answered (or the row changed) first: their change stands and
                # this answer is recorded as refused, never applied.
                refused = {**payload, "verdict": "refuse", "why": str(exc)}
                ctx.store.audit("approval", answer.approver, refused, state.case_id, ctx.now)
    still = tuple(r.id for r in log.pending(state.case_id))
    return {"pending_action_ids": still, "visited": (*state.visited, "apply_approval")}


def _apply(
    ctx: RunContext,
    state: CaseState,
    row: ActionRow,
    outcome: AnswerOutcome,
    approver: str,
    payload: dict[str, Any],
) -> None:
    """One accepted answer: pending -> approved (then executed, the guard deciding again
    first), denied or expired; compare-and-set, so only the first of two answers applies."""
    log = ctx.store.actions
    if outcome == "expire":  # the approval timer, not a person: no feedback
        log.transition(
            row, "expired", kind="approval", actor=approver, now=ctx.now, payload=payload
        )
        return
    # A person's answer is feedback on the case, recorded in the answer's own transaction.
    with ctx.store.transaction() as conn:
        row = log.change(
            conn,
            row,
            "approved" if outcome == "approve" else "denied",
            kind="approval",
            actor=approver,
            now=ctx.now,
            payload=payload,
            **({"approved_by": approver} if outcome == "approve" else {}),
        )
        verdict = "approved" if outcome == "approve" else "denied"
        ctx.store.add_feedback(conn, "approval", state.case_id, approver, verdict, ctx.now)
    if outcome == "approve":
        spec = ctx.policy.catalog.get(row.action)
        if spec is not None:
            execute_once(ctx, state, row, spec)
