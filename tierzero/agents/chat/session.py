"""The analyst's conversation about one case: :class:`ChatSession`.

A session holds one stored case (its latest analysis: evidence list, verdict, rationale,
decisions, enrichment) and answers the analyst's messages with one of two answerers behind the
same interface:

- the **offline answerer** (no model, :mod:`.offline`): deterministic answers to a fixed set of
  questions, each citing evidence ids;
- the **model** (an endpoint is configured, :mod:`.model_loop`): the ``chat`` prompt with the
  case fenced as data, the read-only investigation tools and a ``propose_action`` tool, every
  call through the case's model gate and mediator (audited, budgeted). If the model fails or a
  budget runs out, the offline answerer answers that turn and the reply says why.

Action requests ("isolate LT-FIN-042", "disable user alice.martin") are proposed through the
guardrails like any other recommendation: the case is analysed again with the request among
its recommendations, the guard decides, the act node runs what is allowed and approvals wait.
How that happens is injected as ``propose`` (a :data:`~.results.Proposer`): the pipeline imports
the agents package, so agents never import the pipeline; ``tierzero.chat`` wires the session to
``pipeline.request_action``. Only the analyst's own message can ask for an action, and it is
parsed deterministically (:mod:`.action_requests`: one catalog action, one whole-token target
of the action's kind, compared by canonical entity key). The offline path proposes only what it
parses, as ``analyst:NAME``. The model's ``propose_action`` is refused unless the current
message asks for an action; a proposal that is exactly the parsed request is made as
``analyst:NAME`` (in the analyst's spelling), anything else as the model's own (``llm:MODEL``,
never run without a person's approval), and the reply says so in the chat's words. A session
without a name answers questions but proposes nothing.

Every message (question and answer) is stored with the case and written to the audit chain
(kind ``chat``) in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tierzero.agents.chat.action_requests import parse_request
from tierzero.agents.chat.case_view import CaseView, cite
from tierzero.agents.chat.model_loop import ACTOR, run_model_turn
from tierzero.agents.chat.offline import OFFLINE_ANSWERER, OfflineChatAnswerer
from tierzero.agents.chat.results import ActionResult, Proposer, describe
from tierzero.agents.context import RunContext
from tierzero.agents.model_investigator import jsonable
from tierzero.tools.registry import REGISTRY, UnknownToolError

if TYPE_CHECKING:
    from tierzero.store.chat_log import ChatMessage
    from tierzero.store.sqlite import Store

MAX_QUESTION_CHARS = 2_000
HISTORY_FOR_MODEL = 20
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_CITED = re.compile(r"\bE\d{1,5}\b")


@dataclass(frozen=True)
class ChatReply:
    """One answer: its text, the evidence ids it cites, and any actions it proposed."""

    text: str
    evidence: tuple[str, ...]
    answered_by: str
    actions: tuple[ActionResult, ...] = ()
    note: str | None = None  # why the model did not answer (it failed; the offline analyst did)

    def as_json(self) -> dict[str, Any]:
        """The reply as a JSON-ready dict."""
        return {
            "text": self.text,
            "evidence": list(self.evidence),
            "answered_by": self.answered_by,
            "actions": [a.as_json() for a in self.actions],
            "note": self.note,
        }


def _clean(text: str) -> str:
    return _CONTROL.sub("", text).replace("\n", " ").strip()[:MAX_QUESTION_CHARS]


class ChatSession:
    """An analyst's conversation with tierzero about one case (history kept with the case)."""

    def __init__(
        self,
        store: Store,
        ctx: RunContext,
        case_id: str,
        *,
        analyst: str | None,
        propose: Proposer | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.ctx = ctx
        self.case_id = case_id
        self.analyst = analyst.strip() if analyst and analyst.strip() else None
        self.propose = propose
        self.clock = clock
        self.domains = tuple(ctx.internal_domains)
        self.view = CaseView(store, case_id, self.domains)  # raises CaseNotFound
        self.offline = OfflineChatAnswerer(self.domains, self._similar_cases)

    @property
    def mode(self) -> str:
        """Who answers: ``offline analyst`` or ``model NAME``."""
        return f"model {self.ctx.model.model.name}" if self.ctx.model else "offline analyst"

    @property
    def author(self) -> str:
        """Who the analyst's messages are recorded as: ``analyst:NAME``, or ``analyst``."""
        return f"analyst:{self.analyst}" if self.analyst else "analyst"

    def history(self, limit: int = 50) -> list[ChatMessage]:
        """The case's latest chat messages, oldest first (all sessions, all analysts)."""
        return self.store.chat_history(self.case_id, limit)

    def help(self) -> str:
        """What can be asked (the offline answerer's list)."""
        return self.offline.help(self.view)

    def ask(self, text: str) -> ChatReply:
        """Answer one message of the analyst; both are stored with the case and audited."""
        question = _clean(text)
        if not question:
            raise ValueError("empty message")
        self.store.add_chat_message(self.case_id, "analyst", self.author, question, self.ctx.now)
        history = self.history(HISTORY_FOR_MODEL + 1)[:-1]  # earlier messages, not this one
        self.view = CaseView(self.store, self.case_id, self.domains)
        if self.ctx.model is not None:
            reply = self._model_answer(question, history)
        else:
            reply = self._offline_answer(question)
        self.store.add_chat_message(
            self.case_id,
            "assistant",
            reply.answered_by,
            reply.text,
            self.clock(),
            {
                "evidence": list(reply.evidence),
                "actions": [a.as_json() for a in reply.actions],
                "note": reply.note,
            },
        )
        self.ctx.forget(self.case_id)
        return reply

    # -- offline --------------------------------------------------------------------------------

    def _offline_answer(self, question: str) -> ChatReply:
        request = parse_request(question, self.ctx.policy.catalog, self.domains)
        if request is None:
            return self._reply(self.offline.answer(question, self.view), OFFLINE_ANSWERER)
        if request.problem:
            return self._reply(
                f"{request.problem} Nothing was proposed. The case's verdict rests on "
                f"{cite(self.view.verdict_evidence())}.",
                OFFLINE_ANSWERER,
            )
        assert request.action is not None and request.target is not None
        refusal = self._cannot_propose()
        if refusal:
            return self._reply(refusal, OFFLINE_ANSWERER)
        reason = request.reason or f"asked in chat: {question}"
        result = self._propose(request.action, request.target, reason)
        return self._reply(describe(result, self.view), OFFLINE_ANSWERER, (result,))

    def _cannot_propose(self) -> str | None:
        if self.analyst is None:
            return (
                "I can only propose actions for a named analyst (the request is recorded as "
                "theirs): start the chat again with --as NAME. Nothing was proposed. "
                f"The case's verdict rests on {cite(self.view.verdict_evidence())}."
            )
        if self.propose is None:
            return "Actions cannot be proposed in this session. Nothing was proposed."
        return None

    def _propose(
        self, action: str, target: str, reason: str, *, model: str | None = None
    ) -> ActionResult:
        assert self.propose is not None
        result = self.propose(action, target, reason[:300], model=model)
        self.view = CaseView(self.store, self.case_id, self.domains)  # a new revision now
        return result

    def _similar_cases(self) -> list[dict[str, Any]] | str:
        """Similar past cases through the mediator (audited like any tool call)."""
        try:
            REGISTRY.get("similar_cases")
        except UnknownToolError:
            return "the similar_cases tool is not installed"
        if self.ctx.memory is None:
            return "no case memory is open for this store"
        mediator = self.ctx.mediator(self.case_id, actor=ACTOR)
        try:
            found = mediator.call("similar_cases", {"k": 5})
        except Exception as exc:  # an optional lookup (embedded Chroma) must not end the chat
            return f"similar-case search failed ({type(exc).__name__}: {str(exc)[:200]})"
        result = jsonable(found)
        return [r for r in result if isinstance(r, dict)] if isinstance(result, list) else []

    def _reply(
        self,
        text: str,
        answered_by: str,
        actions: tuple[ActionResult, ...] = (),
        note: str | None = None,
    ) -> ChatReply:
        cited = list(dict.fromkeys(_CITED.findall(text)))
        known = tuple(i for i in cited if i in self.view.by_id)
        unknown = [i for i in cited if i not in self.view.by_id]
        if answered_by != OFFLINE_ANSWERER:
            if unknown:
                text += (
                    f"\n(Note: {', '.join(unknown[:10])} is not in this case's evidence; "
                    "treat what it supports as unverified.)"
                )
            if not known:
                text += "\n(Note: this answer cites no evidence.)"
        return ChatReply(text, known, answered_by, actions, note)

    # -- model ----------------------------------------------------------------------------------

    def _model_answer(self, question: str, history: list[ChatMessage]) -> ChatReply:
        turn = run_model_turn(
            self.ctx,
            self.view,
            question,
            history,
            analyst=self.analyst,
            propose=self._propose if self.propose is not None else None,
        )
        if turn.failure is None:
            text = turn.text
            # The guardrails' own words follow the model's: what it says about a decision is
            # not the record.
            for result in turn.proposed:
                text += f"\nRecorded decision: {describe(result, self.view)}"
            text = "\n".join((text, *turn.notices))
            return self._reply(text, turn.model, turn.proposed)
        if turn.proposed:  # proposals made before the failure stand; never propose them twice
            lines = [f"Recorded decision: {describe(r, self.view)}" for r in turn.proposed]
            offline = self._reply(
                "\n".join((*lines, *turn.notices)), OFFLINE_ANSWERER, turn.proposed
            )
        else:
            offline = self._offline_answer(question)
        return ChatReply(
            f"The model is unavailable ({turn.failure}); the offline analyst answers instead.\n"
            + offline.text,
            offline.evidence,
            OFFLINE_ANSWERER,
            offline.actions,
            turn.failure,
        )
