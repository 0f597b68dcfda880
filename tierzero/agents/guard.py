"""Guard node: every recommended action gets a guardrail Decision before anything else happens.

The node gathers the context a decision needs (the case's normalized entities, what the target
resolves to in the inventory whatever its kind, its threat-intel matches, change windows, the
kill switch) and calls the pure ``decide``. Decisions are kept on the case and written to the
audit chain with the analysis.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from tierzero.agents.context import RunContext
from tierzero.agents.model_recommender import MODEL_PREFIX
from tierzero.agents.state import CaseState
from tierzero.guardrails.decisions import ActionContext, Decision, Proposal, decide
from tierzero.guardrails.execution import current_bounds
from tierzero.tools.inventory import ResolvedTarget, resolve_target


def guard_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Decide on each recommendation: allow, needs_approval or deny, with the rule that fired."""
    ctx = runtime.context
    case = ctx.case_file(state.case_id)
    entities = case.entity_keys(ctx.internal_domains)
    confidence = state.analysis.confidence if state.analysis else 0.0
    detections = tuple(sorted({a.detection_id for a in case.primary_alerts}))
    executed, breakers = current_bounds(ctx.store.actions, ctx.policy, ctx.now)
    decisions: list[Decision] = []
    for rec in state.recommendations:
        spec = ctx.policy.catalog.get(rec.action)
        # What the target is (an asset, an identity, known-bad), whatever its kind or spelling.
        target = (
            resolve_target(ctx.inventory, spec.target_kind, rec.target, ctx.now)
            if spec
            else ResolvedTarget()
        )
        decisions.append(
            decide(
                Proposal(state.case_id, rec.action, rec.target, requested_by=rec.requested_by),
                ActionContext(
                    case_entities=entities,
                    verdict_confidence=confidence,
                    detections=detections,
                    asset=target.asset,
                    identity=target.identity,
                    intel=target.intel,
                    in_maintenance_window=bool(target.windows),
                    autonomy_on=ctx.autonomy_on,
                    executed_in_window=executed,
                    open_breakers=breakers,
                    internal_domains=ctx.internal_domains,
                    verdict_settled=state.analysis is not None
                    and state.analysis.verdict != "needs_review",
                    corroborated=not rec.requested_by.startswith(MODEL_PREFIX),
                ),
                ctx.policy,
            )
        )
    return {"decisions": tuple(decisions), "visited": (*state.visited, "guard")}
