"""Recommend node: response actions, the next step and the escalation path for a case.

The offline analyst's playbook leaves give actions on case entities; a person's requests
(analyst chat) join them; with a model configured, its conclusion is asked for here and
reconciled with the offline one (a disagreement sends the case to a person).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from tierzero.agents.context import RunContext
from tierzero.agents.facts import facts_for
from tierzero.agents.model_recommender import (
    OpinionFailed,
    abstained,
    conclude,
    model_analysis,
    reconcile,
    unavailable,
)
from tierzero.agents.model_recommender import recommendations as model_recommendations
from tierzero.agents.offline_analyst import resolve_targets, run_playbooks
from tierzero.agents.state import Analysis, CaseState, Recommendation


def recommend_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Recommend catalog actions on case entities, the next step and the escalation path."""
    ctx = runtime.context
    facts = facts_for(state, ctx)
    analysis, leaves = run_playbooks(facts, ctx.playbooks)
    case = ctx.case_file(state.case_id)
    recommendations: list[Recommendation] = []
    seen: set[tuple[str, str]] = set()
    for book, leaf in leaves:
        for ref in leaf.actions:
            for target in resolve_targets(ref, case.primary_alerts, state.enrichment, ctx):
                if (ref.action, target) in seen:
                    continue
                seen.add((ref.action, target))
                spec = ctx.policy.catalog[ref.action]
                recommendations.append(
                    Recommendation(
                        action=ref.action,
                        action_class=spec.action_class,
                        target_kind=spec.target,
                        target=target,
                        reason=f"{book.title}: {leaf.because}",
                        requested_by=book.id,
                        evidence=analysis.evidence,
                    )
                )
    if ctx.recommender is not None:
        recommendations = list(ctx.recommender(state, ctx))
    main = max(leaves, key=lambda bl: bl[1].confidence, default=None)
    next_step = main[1].next_step if main else "Review the case's alerts and decide a verdict."
    escalation = main[0].escalation_path if main else "SOC tier 2 on-call analyst"
    update: dict[str, Any] = {
        "analysis": analysis,
        "next_step": next_step,
        "escalation_path": escalation,
        "visited": (*state.visited, "recommend"),
    }
    asked = [r for r in state.requests if (r.action, r.target) not in seen]
    recommendations.extend(asked)
    if ctx.model is not None and state.investigation is not None:
        update.update(_with_model_opinion(state, ctx, analysis, recommendations))
        if update["analysis"].verdict == "needs_review" and analysis.verdict != "needs_review":
            update["next_step"] = "Compare the two opinions on the case and decide the verdict."
    else:
        update["recommendations"] = tuple(recommendations)
    return update


def _with_model_opinion(
    state: CaseState,
    ctx: RunContext,
    offline: Analysis,
    offline_recommendations: list[Recommendation],
) -> dict[str, Any]:
    """Ask the model for its conclusion and combine it with the offline analyst's."""
    assert state.investigation is not None
    model = state.investigation.model
    try:
        if state.investigation.failed:
            raise OpinionFailed(state.investigation.failed)
        opinion, _ = conclude(state, ctx)
    except OpinionFailed as exc:
        abstain = ctx.model is None or ctx.model.config.on_model_failure == "abstain"
        failed = abstained if abstain else unavailable
        return {
            "analysis": failed(offline, str(exc)),
            "opinions": (offline,),
            "recommendations": tuple(offline_recommendations),
        }
    mine = model_analysis(opinion, model, state.investigation.findings)
    proposed = {(r.action, r.target) for r in offline_recommendations}
    extra = [
        r
        for r in model_recommendations(opinion, model, ctx)
        if (r.action, r.target) not in proposed
    ]
    return {
        "analysis": reconcile(offline, mine),
        "opinions": (offline, mine),
        "recommendations": (*offline_recommendations, *extra),
    }
