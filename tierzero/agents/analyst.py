"""The deterministic offline analyst: playbooks as decision trees, no model needed.

``investigate`` runs every playbook whose ``applies`` condition holds and combines their
verdicts (the most serious verdict wins; confidence breaks ties). ``recommend`` turns the
leaves reached into response actions whose targets are entities from normalized alert fields
or the inventory, never free text.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from tierzero.agents.context import RunContext
from tierzero.agents.facts import Facts, facts_for
from tierzero.agents.investigator import investigate
from tierzero.agents.playbooks import ActionRef, Leaf, Playbook
from tierzero.agents.recommender import (
    OpinionFailed,
    conclude,
    model_analysis,
    reconcile,
    unavailable,
)
from tierzero.agents.recommender import recommendations as model_recommendations
from tierzero.agents.state import (
    Analysis,
    CaseState,
    Enrichment,
    PlaybookOutcome,
    Recommendation,
    Verdict,
)
from tierzero.correlate.entities import host_key, is_external_ip, user_key
from tierzero.ingest.alert import EntityKind

ANALYST_ID = "offline-playbooks"
MAX_TARGETS_PER_ACTION = 5
# How serious each verdict is when playbooks disagree: a possible attack outranks a benign call.
_SERIOUSNESS: dict[Verdict, int] = {
    "true_positive": 3,
    "needs_review": 2,
    "false_positive": 1,
    "benign_positive": 1,
}


def applicable(playbooks: tuple[Playbook, ...], facts: Facts) -> list[Playbook]:
    """Playbooks whose ``applies`` holds; the fallback ones only when no other does."""
    chosen = [p for p in playbooks if not p.fallback and p.applies.evaluate(facts)[0]]
    return chosen or [p for p in playbooks if p.fallback and p.applies.evaluate(facts)[0]]


def analyse(
    facts: Facts, playbooks: tuple[Playbook, ...]
) -> tuple[Analysis, list[tuple[Playbook, Leaf]]]:
    """Run the applicable playbooks and combine their outcomes into one analysis."""
    runs = [(book, *book.run(facts)) for book in applicable(playbooks, facts)]
    if not runs:
        analysis = Analysis(
            analyst=ANALYST_ID,
            verdict="needs_review",
            confidence=0.3,
            rationale=("No playbook covers this combination of alerts; a person must look.",),
            evidence=(),
            techniques=tuple(sorted(facts.get("techniques"))),
            tactics=tuple(sorted(facts.get("tactics"))),
        )
        return analysis, []
    outcomes: list[PlaybookOutcome] = [outcome for _, outcome, _ in runs]
    top = max(outcomes, key=lambda o: (_SERIOUSNESS[o.verdict], o.confidence))
    rationale = [
        f"{o.title} v{o.version}: {o.verdict} ({o.confidence:.2f}) because {o.because} "
        f"[{'; '.join(o.path) or 'no branches'}]"
        + (f" (evidence {', '.join(o.evidence)})" if o.evidence else "")
        for o in sorted(outcomes, key=lambda o: (-_SERIOUSNESS[o.verdict], -o.confidence))
    ]
    disagree = {o.verdict for o in outcomes} - {top.verdict}
    if disagree:
        rationale.append(
            f"Playbooks disagree ({', '.join(sorted(disagree))} elsewhere); the most serious "
            "verdict is kept."
        )
    evidence = tuple(dict.fromkeys(e for o in outcomes for e in o.evidence))
    analysis = Analysis(
        analyst=ANALYST_ID,
        verdict=top.verdict,
        confidence=top.confidence,
        rationale=tuple(rationale),
        evidence=evidence,
        outcomes=tuple(outcomes),
        techniques=tuple(sorted(facts.get("techniques"))),
        tactics=tuple(sorted(facts.get("tactics"))),
    )
    leaves = [(book, leaf) for book, outcome, leaf in runs if outcome.verdict == top.verdict]
    return analysis, leaves


def investigate_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Reach a verdict with the playbooks; with a model configured, the LLM investigation
    agent also runs its tool loop (its conclusion is asked for in the recommend node)."""
    ctx = runtime.context
    analysis, _ = analyse(facts_for(state, ctx), ctx.playbooks)
    update: dict[str, Any] = {"analysis": analysis, "visited": (*state.visited, "investigate")}
    if ctx.model is not None:
        update["investigation"] = investigate(state, ctx)
    return update


def recommend_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Recommend catalog actions on case entities, the next step and the escalation path."""
    ctx = runtime.context
    facts = facts_for(state, ctx)
    analysis, leaves = analyse(facts, ctx.playbooks)
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
                        playbook=book.id,
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
        return {
            "analysis": unavailable(offline, str(exc)),
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


_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$")
_SENDER_FIELDS = ("email.from", "email.smtp_from")


def resolve_targets(
    ref: ActionRef, alerts: tuple[Any, ...], enrichment: Enrichment | None, ctx: RunContext
) -> list[str]:
    """Entities of the case an action may target, from normalized fields or the inventory.

    One target per entity (``LT-FIN-042`` and ``lt-fin-042.corp`` are one host, named as the
    inventory names it), and only values that are well-formed for their kind.
    """
    enrichment = enrichment or Enrichment()
    scanners = {k.lower() for k in enrichment.scanners}
    found: dict[str, str] = {}  # normalized key -> target as named
    if ref.target == "affected_host":
        for alert in alerts:
            for o in alert.observables:
                if not (o.kind is EntityKind.HOST and o.name.startswith("device.")):
                    continue
                if o.value.lower() in scanners or not _HOSTNAME.match(o.value):
                    continue
                asset = ctx.inventory.asset(o.value)
                found.setdefault(host_key(o.value), asset.hostname if asset else o.value)
    elif ref.target == "user":
        # Only accounts the inventory knows: the target is the inventory's name for them.
        found = {name: name for name in sorted(enrichment.identities)}
    elif ref.target in ("intel_hash", "intel_ip", "intel_domain"):
        kind = {"intel_hash": "hash", "intel_ip": "ip", "intel_domain": "domain"}[ref.target]
        found = {h.value.lower(): h.value for h in enrichment.intel if h.kind == kind}
    elif ref.target == "sender":
        for alert in alerts:
            for o in alert.observables:
                key = user_key(o.value, ctx.internal_domains)
                if o.kind is EntityKind.EMAIL and o.name in _SENDER_FIELDS and "@" in key:
                    found.setdefault(key, o.value)
    elif ref.target == "external_ip":
        for alert in alerts:
            for value in alert.values(EntityKind.IP):
                if is_external_ip(value) and value not in scanners:
                    found.setdefault(value, value)
    return list(found.values())[:MAX_TARGETS_PER_ACTION]
