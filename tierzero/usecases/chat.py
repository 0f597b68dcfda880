"""Opening an analyst chat on a stored case (``tierzero chat``).

The session itself is :class:`tierzero.agents.chat.ChatSession`. This use case wires it to
the run context of the store and settings (model gate, mediator, similar-case memory) and to
:func:`tierzero.usecases.analysis.request_action` for action requests. The session takes its
way of proposing as an injected callable, so no agent module imports the use cases.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from tierzero.agents.chat import ActionResult, CaseNotFound, ChatSession, Proposer
from tierzero.agents.model_recommender import MODEL_PREFIX
from tierzero.agents.state import CaseState
from tierzero.clock import CallableClock
from tierzero.guardrails.decisions import Decision
from tierzero.guardrails.rules import RuleId
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.analysis import request_action
from tierzero.usecases.errors import usable_actor
from tierzero.usecases.runtime import ModelChoice, existing_memory, graph_session

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def open_chat(
    store: Store,
    settings: Settings,
    case_id: str,
    *,
    analyst: str | None = None,
    model: ModelChoice = "env",
    clock: Clock = _utc_now,
) -> Iterator[ChatSession]:
    """A chat session on one case; raises :class:`CaseNotFound` for an unknown or merged case.

    ``analyst`` is the person's name: without it the session answers questions but proposes
    no action. ``model`` is chosen as for triage ("env": the configured endpoint, or the offline
    analyst when none is; "off"; or a ChatModel object); action requests re-analyse the case
    with the same choice.
    """
    if store.case(case_id) is None:
        raise CaseNotFound(f"no case {case_id!r}")
    with graph_session(store, settings, CallableClock(clock), model) as (_, ctx):
        memory = None
        if ctx.memory is None:
            memory = existing_memory(store, settings)
            ctx.memory = memory
        name = usable_actor(analyst) if analyst else ""
        propose = proposer(store, settings, case_id, name, model, clock) if name else None
        try:
            yield ChatSession(
                store, ctx, case_id, analyst=name or None, propose=propose, clock=clock
            )
        finally:
            if memory is not None:
                memory.close()


def proposer(
    store: Store,
    settings: Settings,
    case_id: str,
    analyst: str,
    chosen: ModelChoice,
    clock: Clock = _utc_now,
) -> Proposer:
    """Propose actions through :func:`request_action`: as ``analyst:NAME``, or as the model's
    own (``llm:MODEL``, which the guardrails never let run without a person's approval) when
    the session says the model, not the analyst, asked for it."""

    def propose(action: str, target: str, reason: str, *, model: str | None = None) -> ActionResult:
        # Any model name, even an empty one, makes it the model's: never the analyst's.
        requested_by = f"{MODEL_PREFIX}{model}" if model is not None else f"analyst:{analyst}"
        state, decision = request_action(
            store,
            settings,
            case_id,
            action,
            target,
            requested_by=requested_by,
            reason=reason,
            now=clock(),
            model=chosen,
        )
        return action_result(store, settings, state, decision, action, target, requested_by)

    return propose


def action_result(
    store: Store,
    settings: Settings,
    state: CaseState,
    decision: Decision | None,
    action: str,
    target: str,
    requested_by: str = "",
) -> ActionResult:
    """The guard's decision on a request, with what became of the action (its row, whose
    ``requested_by`` wins: a playbook recommending the same action is recorded as its own)."""
    if decision is None:
        if action not in settings.policy.catalog:
            why = f"'{action[:80]}' is not in the action catalog"
            return ActionResult(
                action,
                target,
                "deny",
                RuleId.SCHEMA_UNKNOWN_ACTION.value,
                why,
                requested_by=requested_by,
            )
        if "auto_close" in state.visited:
            rule = state.prioritization.auto_close_rule if state.prioritization else None
            return ActionResult(
                action,
                target,
                "not_decided",
                "graph.auto_closed",
                f"auto-close rule '{rule}' closes this case as benign before the guard runs, so "
                "the request was not decided; escalate the case by hand if it needs action",
                requested_by=requested_by,
            )
        why = state.analysis.rationale[0] if state.analysis else "the analysis did not finish"
        return ActionResult(
            action,
            target,
            "not_decided",
            "graph.not_decided",
            why[:300],
            requested_by=requested_by,
        )
    row = store.actions.get_by_key(decision.action_hash)
    return ActionResult(
        action=decision.action,
        target=decision.target,
        outcome=decision.outcome,
        rule_id=decision.rule_id,
        reason=decision.reason,
        status=row.status if row else None,
        action_id=row.id if row else None,
        approval_due=row.approval_due if row else None,
        expires_at=row.expires_at if row else None,
        requested_by=row.requested_by if row else requested_by,
    )


__all__ = ["CaseNotFound", "ChatSession", "action_result", "open_chat", "proposer"]
