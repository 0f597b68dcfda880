"""Analysing one case: a new revision through the graph, saved with its audit trail; and a
person's request for an action on a case, decided by the same graph and guard."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from tierzero.agents.context import RunContext
from tierzero.agents.graph import run_case
from tierzero.agents.state import Analysis, CaseState, Recommendation
from tierzero.guardrails.decisions import Decision
from tierzero.settings import Settings
from tierzero.store.audit import AuditKind
from tierzero.store.sqlite import Store
from tierzero.usecases.runtime import ModelChoice, graph_session


def analyse_case(
    app: CompiledStateGraph[Any, Any, Any, Any],
    ctx: RunContext,
    case_id: str,
    requests: tuple[Recommendation, ...] = (),
) -> CaseState:
    """Run one case as a new analysis revision and save it with its audit trail. A case the
    graph cannot finish goes to people (one bad case must not stop the queue)."""
    store = ctx.store
    revision = store.next_revision(case_id)
    # The model call lets go of the writer lock: alerts may join the case meanwhile, and
    # then it stays dirty for the next analysis.
    case = store.case(case_id)
    seen = case.alert_count if case is not None else None
    try:
        state = run_case(app, case_id, revision, ctx, requests)
    except Exception as exc:
        ctx.forget(case_id)
        state = failed_analysis(case_id, exc)
    store.save_analysis(
        case_id,
        summarize(state, store),
        revision,
        ctx.now,
        audit_trail(state, revision, seen),
        alerts_seen=seen,
    )
    return state


def request_action(
    store: Store,
    settings: Settings,
    case_id: str,
    action: str,
    target: str,
    requested_by: str,
    reason: str,
    now: datetime,
    model: ModelChoice = "env",
) -> tuple[CaseState, Decision | None]:
    """A person's request for an action on a case (analyst chat): the case is analysed again
    as a new revision with the request among the recommendations, so the guard decides on it
    and an approval, if needed, waits in the graph like any other. Returns the new state and
    the decision on the request (None if the action is not in the catalog)."""
    spec = settings.policy.catalog.get(action)
    if store.case(case_id) is None:
        raise ValueError(f"no case {case_id}")
    if spec is None:
        return CaseState(case_id=case_id), None
    asked = Recommendation(
        action=action,
        action_class=spec.action_class,
        target_kind=spec.target,
        target=target[:320],
        reason=reason[:300],
        requested_by=requested_by[:120],
    )
    with (
        store.claim_case(case_id),
        store.writing(f"analyse {case_id}"),
        graph_session(store, settings, now, model) as (app, ctx),
    ):
        state = analyse_case(app, ctx, case_id, (asked,))
    decision = next(
        (
            d
            for r, d in zip(state.recommendations, state.decisions, strict=False)
            if r.action == action and r.target == asked.target
        ),
        None,
    )
    return state, decision


def failed_analysis(case_id: str, exc: Exception) -> CaseState:
    """A case the graph could not finish: escalated to a person with the reason, never closed."""
    reason = f"analysis failed ({type(exc).__name__}: {str(exc)[:300]}); a person must look"
    return CaseState(
        case_id=case_id,
        analysis=Analysis(
            analyst="pipeline",
            verdict="needs_review",
            confidence=0.0,
            rationale=(reason,),
            evidence=(),
        ),
        status="escalated",
        next_step="Review the case by hand; the automated analysis did not complete.",
        escalation_path="SOC tier 2 on-call analyst",
        visited=("failed",),
    )


def audit_trail(
    state: CaseState, revision: int, alerts_seen: int | None = None
) -> list[tuple[AuditKind, str, dict[str, Any]]]:
    """The audit records of one analysis: its priority and its verdict (with the path taken
    and, for a new analysis, how many alerts the case had when it began)."""
    records: list[tuple[AuditKind, str, dict[str, Any]]] = []
    if state.prioritization is not None:
        records.append(
            (
                "priority",
                "prioritize",
                {
                    "revision": revision,
                    **state.prioritization.model_dump(mode="json"),
                },
            )
        )
    for decision in state.decisions:
        payload = {"revision": revision, **decision.model_dump(mode="json")}
        records.append(("decision", "guardrails", payload))
    if state.analysis is not None:
        records.append(
            (
                "verdict",
                state.analysis.analyst,
                {
                    "revision": revision,
                    **({"alerts_seen": alerts_seen} if alerts_seen is not None else {}),
                    "status": state.status,
                    "route": list(state.visited),
                    **state.analysis.model_dump(mode="json", exclude={"outcomes"}),
                    "playbook_paths": {o.playbook: list(o.path) for o in state.analysis.outcomes},
                    "recommendations": [r.model_dump(mode="json") for r in state.recommendations],
                    "opinions": [
                        {"analyst": o.analyst, "verdict": o.verdict, "confidence": o.confidence}
                        for o in state.opinions
                    ],
                    "investigation": state.investigation.model_dump(
                        mode="json", exclude={"transcript"}
                    )
                    if state.investigation
                    else None,
                },
            )
        )
    return records


def summarize(state: CaseState, store: Store) -> dict[str, object]:
    """The stored analysis: the final state plus the summary columns the store indexes."""
    analysis = state.analysis
    triage = state.prioritization
    return {
        # The model conversation is in the audit (model_call records), not in the case row.
        **state.model_dump(mode="json", exclude={"investigation": {"transcript"}}),
        "status": state.status,
        "verdict": analysis.verdict if analysis else "needs_review",
        "confidence": analysis.confidence if analysis else 0.0,
        "priority": triage.priority if triage else "P4",
        "title": store.headline(state.case_id) or state.case_id,
    }
