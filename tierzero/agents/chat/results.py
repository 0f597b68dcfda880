"""What became of the actions of a case, in words: requested ones and the guard's decisions.

A requested action comes back from the injected :data:`Proposer` as an :class:`ActionResult`
(the guard's decision and the action row's status); :func:`describe` says it in a sentence.
:func:`decision_lines` lists every decision of the latest analysis with its action's status.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

from tierzero.agents.chat.case_view import CaseView, cite
from tierzero.guardrails.rules import Outcome
from tierzero.store.actions import ActionRow, ActionStatus

# The guard's outcome, or not_decided: the graph ended before the guard ran (e.g. triage
# auto-closed the case, or the analysis did not finish).
RequestOutcome = Literal[Outcome, "not_decided"]


@dataclass(frozen=True)
class ActionResult:
    """What became of one requested action: the guard's decision and the action's status."""

    action: str
    target: str
    outcome: RequestOutcome
    rule_id: str
    reason: str
    status: ActionStatus | None = None  # the action row's status; None when no row was made
    action_id: int | None = None
    approval_due: str | None = None
    expires_at: str | None = None
    # Who the action is recorded as requested by: ``analyst:NAME`` for the analyst's own
    # request, ``llm:MODEL`` for a model's proposal that differs from it (or a playbook id when
    # a playbook recommends the same action on the same target).
    requested_by: str = ""

    def as_json(self) -> dict[str, Any]:
        """The result as a JSON-ready dict."""
        return asdict(self)


class Proposer(Protocol):
    """Proposes one action through the guardrails and says what they decided.

    Injected by :mod:`tierzero.usecases.chat`, which binds the analyst's name: without
    ``model`` the request is the analyst's (``analyst:NAME``); with it, the model's own
    (``llm:MODEL``), which never runs without a person's approval. The session cannot name
    anyone else.
    """

    def __call__(
        self, action: str, target: str, reason: str, *, model: str | None = None
    ) -> ActionResult: ...


def describe(result: ActionResult, view: CaseView | None = None) -> str:
    """A requested action's outcome in words, citing the evidence that names its target."""
    word = {
        "allow": "allowed",
        "needs_approval": "needs approval",
        "deny": "denied",
    }.get(result.outcome, "not decided")
    text = f"{result.action} {result.target}: {word} ({result.rule_id}: {result.reason})."
    if result.action_id is not None:
        if result.status == "executed":
            text += f" Action {result.action_id} is executed in the lab"
            text += f" (lease until {result.expires_at[:16]})." if result.expires_at else "."
        elif result.status == "pending_approval":
            due = f" (due {result.approval_due[:16]} UTC)" if result.approval_due else ""
            text += (
                f" Action {result.action_id} waits for approval{due}: another person answers "
                f"with `tierzero approvals approve {result.action_id} --as NAME` or `deny`."
            )
        elif result.status:
            text += f" Action {result.action_id} is {result.status.replace('_', ' ')}."
    entity = view.entity_named(result.target) if view is not None else None
    if entity is not None:
        text += f" Evidence on {entity.value}: {cite(entity.evidence[:2] + entity.context[:1], 3)}."
    return text


def decision_lines(view: CaseView, only: str | None = None) -> list[str]:
    """One line per guardrail decision of the latest analysis, with its action's status."""
    rows = {r.idempotency_key: r for r in view.actions}
    lines = []
    for d in view.doc.get("decisions", []):
        if only is not None and d["target"].lower() != only.lower():
            continue
        row = rows.get(d.get("action_hash", ""))
        entity = view.entity_named(d["target"])
        ids = (entity.evidence[:1] + entity.context[:1]) if entity else []
        status = f"; action {row.id} {row.status}" if row else ""
        lines.append(
            f"- {d['action']} {d['target']}: {d['outcome']} ({d['rule_id']}: {d['reason'][:160]})"
            f"{status} {cite(ids, 2)}".rstrip()
        )
    return lines


def action_counts(rows: list[ActionRow]) -> str:
    """``2 executed, 1 pending approval``: how many of the case's actions are in each status."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in sorted(counts.items()))
