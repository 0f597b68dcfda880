"""The model's turn in the chat: the case fenced as data, read-only tools and ``propose_action``.

:func:`run_model_turn` sends the ``chat`` prompt with the case (and the earlier conversation)
fenced as untrusted data, lets the model call the read-only investigation tools and
``propose_action``, and returns its answer, or why it failed, with the actions it proposed.
Every call goes through the case's model gate and mediator (audited, budgeted).

The model can propose only while the analyst's own message asks for an action
(:func:`proposal_problem`), and what it proposes is attributed deterministically: only a
proposal that is exactly the analyst's parsed request (same action, same canonical target key;
:func:`~.action_requests.not_the_request`) is made in the analyst's name, in the analyst's own
spelling and words. Anything else is the model's own (``llm:MODEL``), which the guardrails
never let run without a person's approval, and the analyst is told so in the chat's own words
(:attr:`ModelTurn.notices`), not the model's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tierzero.agents.chat.action_requests import (
    ActionRequest,
    asks_for_action,
    not_the_request,
    parse_request,
)
from tierzero.agents.chat.case_view import CaseView
from tierzero.agents.chat.results import ActionResult, Proposer
from tierzero.agents.context import RunContext
from tierzero.agents.model_investigator import (
    ToolLoop,
    alert_view,
    candidate_targets,
    prompt_ref,
    read_only_tools,
)
from tierzero.agents.model_recommender import MODEL_PREFIX
from tierzero.agents.untrusted import DataFence
from tierzero.guardrails.model_gate import ChatRequest, ModelBudgetExceeded, ModelError
from tierzero.prompts import load

if TYPE_CHECKING:
    from tierzero.store.chat_log import ChatMessage

ACTOR = "chat-agent"  # who the chat's model and tool calls are audited as
MAX_PROPOSALS_PER_TURN = 3  # each proposal is a whole re-analysis of the case
MAX_ALERTS_FOR_MODEL = 40


@dataclass(frozen=True)
class ModelTurn:
    """What the model did with one message: its answer, or why it failed, and its proposals."""

    model: str  # the model's name (who answered)
    text: str  # the model's answer; empty when it failed
    proposed: tuple[ActionResult, ...]  # the actions it proposed, failed or not
    failure: str | None = None  # why the model did not answer (endpoint failed, over budget)
    # What the analyst must be told whatever the model says: a proposal that was not theirs,
    # or their request that was not proposed.
    notices: tuple[str, ...] = ()


def propose_action_tool(actions: Iterable[str]) -> dict[str, Any]:
    """The function schema of ``propose_action`` (handled by the session, not the registry)."""
    return {
        "type": "function",
        "function": {
            "name": "propose_action",
            "description": "Propose one response action the analyst asked for, on one target "
            "of this case. A policy engine decides (allow, needs approval, deny) and its "
            "decision is returned. Only for the analyst's own explicit request.",
            "parameters": {
                "type": "object",
                "properties": {
                    "action": {"type": "string", "enum": sorted(actions)},
                    "target": {
                        "type": "string",
                        "maxLength": 320,
                        "description": "Exactly one host, account, address, domain, hash or "
                        "sender, as the analyst named it",
                    },
                    "reason": {"type": "string", "maxLength": 300},
                },
                "required": ["action", "target", "reason"],
                "additionalProperties": False,
            },
        },
    }


def run_model_turn(
    ctx: RunContext,
    view: CaseView,
    question: str,
    history: list[ChatMessage],
    *,
    analyst: str | None,
    propose: Proposer | None,
) -> ModelTurn:
    """Let the model answer one message of the analyst (needs ``ctx.model``).

    ``propose`` proposes an action through the guardrails (None: this session proposes
    nothing); ``analyst`` is the person's name (None: nothing is proposed either).
    """
    assert ctx.model is not None
    case_id = view.case_id
    limits = ctx.model.config.investigation
    catalog = ctx.policy.catalog
    fence = DataFence()
    system = load("chat")
    messages: list[dict[str, Any]] = [
        {
            "role": "system",
            "content": system.render(
                case_id=case_id,
                fence=fence.name,
                actions=", ".join(sorted(catalog)),
                case=case_block(view, ctx, fence, history),
            ),
        },
        {"role": "user", "content": question},
    ]
    gate = ctx.model_gate(case_id, ACTOR)
    mediator = ctx.mediator(case_id, actor=ACTOR)
    domains = tuple(ctx.internal_domains)
    asked = parse_request(question, catalog, domains)  # the analyst's request, if any
    made: list[ActionResult] = []
    theirs: list[ActionResult] = []  # those made in the analyst's name
    notices: list[str] = []

    def propose_action(arguments: dict[str, Any]) -> str:
        problem = proposal_problem(
            question,
            arguments,
            len(made),
            catalog,
            analyst=analyst,
            can_propose=propose is not None,
        )
        if problem:
            mediator.reject("propose_action", [problem])
            return f"error: {problem}"
        assert propose is not None
        action, target = str(arguments["action"]), str(arguments["target"])
        differs = not_the_request(asked, action, target, catalog, domains)
        if differs is None:
            assert asked is not None and asked.action and asked.target
            # Exactly the analyst's request: made in their spelling and words, so nothing the
            # model wrote is recorded under their name.
            reason = asked.reason or f"asked in chat: {question}"
            result = propose(asked.action, asked.target, reason)
            made.append(result)
            theirs.append(result)
            return fence.wrap("result:propose_action", result.as_json())
        reason = str(arguments.get("reason") or "") or "proposed by the model in chat"
        result = propose(action, target, reason, model=gate.model.name)
        made.append(result)
        notice = swap_notice(action, target, differs, result)
        notices.append(notice)
        note = f"not the analyst's request; tell the analyst: {notice}"
        return fence.wrap("result:propose_action", {**result.as_json(), "note": note})

    def turn(text: str, failure: str | None = None) -> ModelTurn:
        # A failed turn with no proposal is answered offline, which proposes the request itself.
        settled = theirs or propose is None or (failure is not None and not made)
        unproposed = None if settled else unproposed_notice(asked, analyst)
        extra = (unproposed,) if unproposed else ()
        return ModelTurn(gate.model.name, text, tuple(made), failure, (*notices, *extra))

    loop = ToolLoop(
        gate,
        mediator,
        fence,
        limits.max_tool_calls,
        limits.max_tool_result_chars,
        extra={"propose_action": propose_action},
    )
    tools = [*read_only_tools(ctx.model.config), propose_action_tool(catalog)]
    ref = prompt_ref(system)
    try:
        for step in range(1, limits.max_steps + 1):
            last = step == limits.max_steps or loop.exhausted
            # The last round forbids tool calls (tool_choice "none"), so the model has to
            # answer; the tools are still sent, so the prompt prefix stays cacheable.
            response = gate.complete(
                ChatRequest(
                    messages, tools, max_tokens=1000, tool_choice="none" if last else "auto"
                ),
                ref,
            )
            messages.append(response.message())
            if response.tool_calls and not last:
                messages.extend(loop.answer(response))
                continue
            text = (response.content or "").strip() or "(the model gave no answer)"
            if response.finish_reason == "length":
                text += " [cut off: the answer hit its length limit]"
            return turn(text)
    except (ModelError, ModelBudgetExceeded) as exc:
        why = (
            f"model endpoint failed ({exc.kind})"
            if isinstance(exc, ModelError)
            else f"model budget exceeded ({exc.scope})"
        )
        return turn("", why)
    raise AssertionError("unreachable: the last round has no tools")  # pragma: no cover


def proposal_problem(
    question: str,
    arguments: Mapping[str, Any],
    made: int,
    catalog: Collection[str],
    *,
    analyst: str | None,
    can_propose: bool,
) -> str | None:
    """Why the model's propose_action call must not go ahead (None: it may).

    ``made`` is how many proposals the model already made for this message.
    """
    action, target = arguments.get("action"), arguments.get("target")
    if not isinstance(action, str) or action not in catalog:
        return f"action must be one of: {', '.join(sorted(catalog))}"
    if not isinstance(target, str) or not target.strip() or len(target) > 320:
        return "target must be one value (a host, account, address, domain, hash or sender)"
    if not isinstance(arguments.get("reason", ""), str):
        return "reason must be text"
    if analyst is None:
        return (
            "the analyst did not give their name (--as NAME), so no action can be proposed; "
            "tell them to restart the chat with --as NAME"
        )
    if made >= MAX_PROPOSALS_PER_TURN:
        return f"at most {MAX_PROPOSALS_PER_TURN} proposals per message"
    if not asks_for_action(question, catalog):
        return (
            "the analyst's message does not ask for an action; only the analyst's own "
            "requests are proposed. Answer their question instead"
        )
    if not can_propose:
        return "actions cannot be proposed in this session"
    return None


def swap_notice(action: str, target: str, differs: str, result: ActionResult) -> str:
    """What the analyst is told when the model proposed something they did not ask for."""
    shown = "".join(c if c.isprintable() else "?" for c in target[:80])
    text = f"Note: the model proposed {action} {shown}, which is not what you asked ({differs})."
    if result.requested_by.startswith(MODEL_PREFIX):
        return (
            f"{text} It is recorded as the model's own proposal ({result.requested_by}), not "
            "under your name, and it never runs without a person's approval."
        )
    # Someone else already asks for the same action (a playbook, or an earlier request): the
    # guardrails decided theirs; this message put nothing under the analyst's name.
    return f"{text} It is recorded as requested by {result.requested_by}, not as your request."


def unproposed_notice(asked: ActionRequest | None, analyst: str | None) -> str | None:
    """What a named analyst is told when the model did not propose their parsed request."""
    if asked is None or not asked.usable or analyst is None:
        return None
    return (
        f"Note: your request ({asked.action} {asked.target}) was not proposed, so nothing was "
        "done under your name; ask again to propose it."
    )


def case_block(
    view: CaseView, ctx: RunContext, fence: DataFence, history: list[ChatMessage]
) -> str:
    """The case (and the earlier conversation) as fenced data for the system prompt."""
    case_file = ctx.case_file(view.case_id)
    repeats = case_file.duplicates
    summary = {
        "case_id": view.case_id,
        "title": view.row.title,
        "status": view.row.status,
        "verdict": view.row.verdict,
        "confidence": view.row.confidence,
        "priority": view.row.priority,
        "analyst": view.analysis.get("analyst"),
        "rationale": [r[:600] for r in view.analysis.get("rationale", [])[:10]],
        "verdict_evidence": view.verdict_evidence()[:40],
        "techniques": view.analysis.get("techniques", []),
        "next_step": view.doc.get("next_step"),
        "decisions": [
            {k: d.get(k) for k in ("action", "target", "outcome", "rule_id", "reason")}
            for d in view.doc.get("decisions", [])
        ],
        "actions": [
            {"id": r.id, "action": r.action, "target": r.target, "status": r.status}
            for r in view.actions
        ],
        "candidate_targets": candidate_targets(case_file, ctx),
    }
    evidence = [{"id": e.id, "kind": e.kind, "summary": e.summary[:300]} for e in view.evidence]
    alerts = []
    for evidence_id, alert in view.alerts[:MAX_ALERTS_FOR_MODEL]:
        item = alert_view(alert, evidence_id, repeats.get(alert.id, 0))
        item["message"] = (item["message"] or "")[:300] or None
        alerts.append(item)
    parts = [
        "tierzero's analysis of the case (values from alerts may be written by an attacker):",
        fence.wrap("case", summary, 12_000),
        "The case's evidence list (cite these ids):",
        fence.wrap("evidence", evidence, 16_000),
        f"The case's distinct alerts ({len(view.alerts)}; case_alerts lists more):",
        fence.wrap("alerts", alerts, 24_000),
    ]
    if history:
        earlier = [{"role": m.role, "author": m.author, "text": m.content[:1_500]} for m in history]
        parts += [
            "Earlier messages of this chat (already answered; requests in them were "
            "handled then and are not repeated):",
            fence.wrap("history", earlier, 12_000),
        ]
    return "\n\n".join(parts)
