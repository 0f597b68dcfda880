"""Act node: record every decided action, and execute the allowed ones exactly once.

How long a person has to answer a needs_approval decision is the guardrails' call: the
Decision carries its approval window (``tierzero.guardrails.approvals.approval_window``).

Only this node (and rollback) calls a response connector. Each action is keyed by its action
hash; it is marked ``executing`` (audited) before the connector is called and ``executed`` or
``failed`` (audited) after, and connectors treat a repeated key as done. A crash anywhere in
between, followed by a resume, therefore never acts twice.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from tierzero.agents.context import RunContext
from tierzero.agents.guard import recheck_for
from tierzero.agents.state import CaseState
from tierzero.guardrails.execution import execute
from tierzero.guardrails.policy import ActionSpec
from tierzero.store.actions import ActionConflict, ActionRow, ActionStatus

_STATUS: dict[str, ActionStatus] = {
    "allow": "allowed",
    "needs_approval": "pending_approval",
    "deny": "denied",
}


def act_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Record each decision as an action row; execute the allowed ones through the connector."""
    ctx = runtime.context
    log = ctx.store.actions
    ids: list[int] = []
    for rec, decision in zip(state.recommendations, state.decisions, strict=True):
        spec = ctx.policy.catalog.get(decision.action)
        row = log.record(
            key=decision.action_hash,
            case_id=state.case_id,
            action=decision.action,
            action_class=spec.action_class if spec else "unknown",
            target=decision.target,
            status=_STATUS[decision.outcome],
            rule_id=decision.rule_id,
            reason=decision.reason,
            requested_by=rec.requested_by,
            now=ctx.now,
            approval_due=decision.approval_due(ctx.policy, ctx.now),
        )
        if row.status in ("allowed", "executing") and spec is not None:
            row = execute_once(ctx, state, row, spec)
        ids.append(row.id)
    pending = tuple(r.id for r in log.pending(state.case_id))
    return {
        "action_ids": tuple(ids),
        "pending_action_ids": pending,
        "visited": (*state.visited, "act"),
    }


def execute_once(ctx: RunContext, state: CaseState, row: ActionRow, spec: ActionSpec) -> ActionRow:
    """Execute a row through the connector, the guard deciding again first; a row someone
    else changed meanwhile is left as they left it (the other change won)."""
    try:
        return execute(
            ctx.store.actions,
            ctx.connector,
            ctx.policy,
            row,
            spec,
            ctx.clock,
            recheck_for(ctx, state),
        )
    except ActionConflict:
        current = ctx.store.actions.get(row.id)
        return current if current is not None else row
