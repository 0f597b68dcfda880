"""Answering approvals: a person's answer (or the timer's) resumes the waiting case; reminders
at the escalation point and expiry, failing closed."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from tierzero.agents.graph import resume_case
from tierzero.agents.state import CaseState
from tierzero.guardrails.approvals import ApprovalAnswer, rule_on_answer
from tierzero.settings import Settings
from tierzero.store.actions import ActionRow
from tierzero.store.memory import MemoryKeeper, MemoryOpener
from tierzero.store.sqlite import Store
from tierzero.usecases.analysis import audit_trail, summarize
from tierzero.usecases.errors import NotFound, Refused, usable_actor
from tierzero.usecases.runtime import configured_memory, graph_session

_log = logging.getLogger(__name__)


def answer_approval(
    store: Store,
    settings: Settings,
    action_id: int,
    *,
    approved: bool | None,
    approver: str,
    reason: str,
    now: datetime,
    memory: MemoryOpener | Literal["config"] | None = "config",
) -> CaseState:
    """Resume the case waiting on this action with a person's (or the timer's) answer.

    A case the answer concludes goes into the similar-case memory (a failure is logged).
    """
    row = store.actions.get(action_id)
    if row is None:
        raise ValueError(f"no action {action_id}")
    case = store.case(row.case_id)
    if case is None:
        raise ValueError(f"no case {row.case_id}")
    answer = ApprovalAnswer.for_row(
        row, approved=approved, approver=approver, reason=reason, at=now
    )
    revision = store.next_revision(row.case_id) - 1  # the analysis that is waiting
    # Resuming an approval never reaches the model (approval, apply_approval, close/escalate).
    with graph_session(store, settings, now, "off") as (app, ctx):
        state = resume_case(app, row.case_id, revision, ctx, answer.model_dump(mode="json"))
    was = store.case_status(row.case_id)
    # The resumed revision's new status is audited like any analysis's (its verdict record;
    # priority and decisions did not change), so `audit verify --state` can establish it.
    # Marked "resumed": it is not an analysis of new alerts (live metrics skip it).
    verdict = [
        (kind, actor, {**payload, "resumed": True})
        for kind, actor, payload in audit_trail(state, revision)
        if kind == "verdict"
    ]
    store.save_analysis(
        row.case_id, summarize(state, store), revision, now, verdict, alerts_seen=None
    )
    opener = configured_memory(settings) if memory == "config" else memory
    with MemoryKeeper(store, opener, settings.correlation.internal_domains, _log.warning) as keeper:
        keeper.saved(row.case_id, was, state.status)
    return state


def approval_housekeeping(store: Store, settings: Settings, now: datetime) -> list[str]:
    """Remind at half the window (audited, with the escalation path) and expire what is due.

    Expiry fails closed: the request is answered 'no answer in time', the action is never
    executed, and the case is escalated. Holds the store's writer lock (an expiry must not
    race a person's answer).
    """
    with store.writing("expire approvals"):
        return _housekeeping(store, settings, now)


def _housekeeping(store: Store, settings: Settings, now: datetime) -> list[str]:
    notes: list[str] = []
    share = settings.policy.approvals.escalate_at
    for row in store.actions.pending():
        due = row.due() or now
        opened = row.decided()
        if due <= now:
            answer_approval(
                store,
                settings,
                row.id,
                approved=None,
                approver="approval-timer",
                reason="approval window ended",
                now=now,
            )
            notes.append(f"expired: action {row.id} {row.action} {row.target} ({row.case_id})")
        elif not row.reminded and now >= opened + (due - opened) * share:
            case = store.case(row.case_id)
            path = (case.analysis or {}).get("escalation_path") if case else None
            if store.actions.remind(row, now, escalate_to=path or "SOC tier 2 on-call analyst"):
                notes.append(f"reminder: action {row.id} {row.action} {row.target} due {due:%H:%M}")
    return notes


def answer_pending(
    store: Store,
    settings: Settings,
    action_id: int,
    *,
    approved: bool,
    approver: str,
    reason: str,
    now: datetime,
) -> ActionRow:
    """A person approves or denies one pending action: due reminders and expiries run first,
    an answer the gate refuses (wrong action, the requester, too late, already answered) is
    refused with the reason, and an accepted one resumes the case. Returns the action as it
    ends up.

    The whole answer is one unit under the store's writer lock, and every status change is
    compare-and-set: of two answers racing for one action, the first applies and the second
    is refused (``Refused``: nothing executed in its name). An approval the guardrails refuse
    at execution (the target is now denied, the row was edited) is refused too.
    """
    approver = usable_actor(approver)
    with store.writing(f"answer action {action_id}"):
        approval_housekeeping(store, settings, now)
        row = store.actions.get(action_id)
        if row is None:
            raise NotFound(f"no action {action_id}")
        answer = ApprovalAnswer.for_row(
            row, approved=approved, approver=approver, reason=reason, at=now
        )
        outcome, why = rule_on_answer(row, row.case_id, answer)
        if outcome in ("refuse", "expire"):
            raise Refused(why)
        answer_approval(
            store,
            settings,
            action_id,
            approved=approved,
            approver=approver,
            reason=reason,
            now=now,
        )
        done = store.actions.get(action_id)
        answered = store.actions.answer_of(row)
    assert done is not None
    if answered is None or answered[0] != approver:
        who = f" by {answered[0]}" if answered else ""
        raise Refused(f"action {action_id} was answered{who} first; it is {done.status}")
    if approved and done.status == "denied":
        raise Refused(
            f"action {action_id} was approved, but the guardrails refused it at execution: "
            f"{done.rule_id}: {done.reason}"
        )
    return done


def pending_approvals(
    store: Store, settings: Settings, now: datetime
) -> tuple[list[str], list[ActionRow]]:
    """Reminders and expiries that are due (see :func:`approval_housekeeping`), then every
    action still waiting for a person."""
    notes = approval_housekeeping(store, settings, now)
    return notes, store.actions.pending()
