"""Guard node: every recommended action gets a guardrail Decision before anything else happens.

The node gathers the context a decision needs (the case's normalized entities, what the target
resolves to in the inventory whatever its kind, its threat-intel matches, change windows, the
kill switch) and calls the pure ``decide``. Decisions are kept on the case and written to the
audit chain with the analysis.

:func:`decide_now` is that gathering for one proposal; execution calls it again right before
a connector is called (:func:`recheck_for`), with the kill switch and bounds as they are then.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from langgraph.runtime import Runtime

from tierzero.agents.context import RunContext
from tierzero.agents.model_recommender import MODEL_PREFIX
from tierzero.agents.state import CaseState
from tierzero.guardrails.decisions import ActionContext, Decision, Proposal, decide
from tierzero.guardrails.execution import Recheck, current_bounds
from tierzero.store.actions import ActionRow
from tierzero.tools.inventory import ResolvedTarget, resolve_target


def guard_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Decide on each recommendation: allow, needs_approval or deny, with the rule that fired."""
    ctx = runtime.context
    decisions: list[Decision] = [
        decide_now(
            ctx,
            state,
            Proposal(state.case_id, rec.action, rec.target, requested_by=rec.requested_by),
        )
        for rec in state.recommendations
    ]
    return {"decisions": tuple(decisions), "visited": (*state.visited, "guard")}


def decide_now(ctx: RunContext, state: CaseState, proposal: Proposal) -> Decision:
    """The guardrails' decision on one proposal for this case, with everything read now: the
    case's entities, what the target resolves to (asset, identity, intel, change windows), the
    kill switch and the bounds (executions and failures so far).

    A host or account the inventory knows is acted on under the inventory's own name
    (``lt-fin-042.northwind.example`` becomes ``LT-FIN-042``), so the connector gets the name
    it knows and every spelling is one action.
    """
    case = ctx.case_file(state.case_id)
    now = ctx.now
    spec = ctx.policy.catalog.get(proposal.action)
    # What the target is (an asset, an identity, known-bad), whatever its kind or spelling.
    target = (
        resolve_target(ctx.inventory, spec.target_kind, proposal.target, now)
        if spec
        else ResolvedTarget()
    )
    if spec is not None and spec.target == "host" and target.asset is not None:
        proposal = replace(proposal, target=target.asset.hostname)
    elif spec is not None and spec.target == "user" and target.identity is not None:
        proposal = replace(proposal, target=target.identity.user)
    executed, breakers = current_bounds(ctx.store.actions, ctx.policy, now)
    return decide(
        proposal,
        ActionContext(
            case_entities=case.entity_keys(ctx.internal_domains),
            verdict_confidence=state.analysis.confidence if state.analysis else 0.0,
            detections=tuple(sorted({a.detection_id for a in case.primary_alerts})),
            asset=target.asset,
            identity=target.identity,
            intel=target.intel,
            in_maintenance_window=bool(target.windows),
            autonomy_on=ctx.autonomy_on(),
            executed_in_window=executed,
            open_breakers=breakers,
            internal_domains=ctx.internal_domains,
            verdict_settled=state.analysis is not None and state.analysis.verdict != "needs_review",
            corroborated=not proposal.requested_by.startswith(MODEL_PREFIX),
        ),
        ctx.policy,
    )


def recheck_for(ctx: RunContext, state: CaseState) -> Recheck:
    """The execution-time check of this case's action rows: the guard decides again on the
    row's own case, action, target and requester (never on what the caller believes)."""

    def recheck(row: ActionRow) -> Decision:
        proposal = Proposal(row.case_id, row.action, row.target, requested_by=row.requested_by)
        return decide_now(ctx, state, proposal)

    return recheck
