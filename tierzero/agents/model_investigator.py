"""The LLM investigation agent: a bounded tool-calling loop over read-only tools.

The model sees the case (all alert content fenced as untrusted data) and may call the read-only
tools in :data:`INVESTIGATION_TOOLS`. Every call goes through the case's mediator (validated,
budgeted, audited); an unknown tool, arguments that are not JSON or fail validation, and a
tool's own refusal go back to the model as an error message and count against the tool budget.
The loop ends when the model answers without tool calls, or at the step or tool-call limit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from tierzero.agents.context import CaseFile, RunContext
from tierzero.agents.state import CaseState, Evidence, ModelInvestigation
from tierzero.agents.untrusted import DataFence
from tierzero.correlate.entities import entity_key
from tierzero.guardrails.decisions import well_formed
from tierzero.guardrails.mediator import BudgetExceeded, Mediator
from tierzero.guardrails.model_gate import (
    ChatRequest,
    ChatResponse,
    ModelBudgetExceeded,
    ModelError,
    ModelGate,
    PromptRef,
    count_margin,
    encoding_for,
)
from tierzero.ingest.alert import Alert
from tierzero.prompts import Prompt, load
from tierzero.settings.model import ModelConfig, compact_tools, prompt_limit
from tierzero.tools.registry import REGISTRY, ToolArgumentError, UnknownToolError

ACTOR = "investigation-agent"
# The read-only tools the investigation agent may call (those registered at run time).
INVESTIGATION_TOOLS = (
    "case_alerts",
    "raw_record",
    "entity_alerts",
    "process_tree",
    "signin_history",
    "case_identity_activity",
    "threat_intel",
    "lookup_asset",
    "lookup_identity",
    "maintenance_windows",
    "known_scanner",
    "attack_technique",
    "similar_cases",
)
MAX_TARGETS_PER_KIND = 25
INVESTIGATION_MAX_TOKENS = 1200  # of one investigation answer


def prompt_ref(prompt: Prompt) -> PromptRef:
    return PromptRef(prompt.id, prompt.version, prompt.sha256)


def read_only_tools(config: ModelConfig) -> list[dict[str, Any]]:
    """OpenAI tool schemas of the investigation tools that are registered and read-only,
    compact for a small context window (``tool_schemas`` in config/model.yaml)."""
    compact = compact_tools(config)
    tools = []
    for name in INVESTIGATION_TOOLS:
        try:
            spec = REGISTRY.get(name)
        except UnknownToolError:
            continue
        if spec.action_class == "read":
            tools.append(spec.json_schema(compact))
    return tools


@dataclass(frozen=True)
class Detail:
    """How much of the case the first message shows: compacted step by step until it fits."""

    alerts: int  # distinct alerts shown (most severe first)
    evidence: int  # evidence items listed (alerts first, as numbered)
    message_chars: int  # of each alert's own message (0: none)
    per_kind: int  # entity values per kind
    evidence_chars: int  # of each evidence summary


# From everything to the least that still lets the model investigate (it can page the rest
# with case_alerts): one step per level, the first that fits the budget is used.
DETAIL_LEVELS = (
    Detail(alerts=60, evidence=400, message_chars=1000, per_kind=10, evidence_chars=400),
    Detail(alerts=30, evidence=80, message_chars=300, per_kind=5, evidence_chars=240),
    Detail(alerts=15, evidence=40, message_chars=120, per_kind=3, evidence_chars=160),
    Detail(alerts=8, evidence=20, message_chars=0, per_kind=2, evidence_chars=120),
    Detail(alerts=5, evidence=10, message_chars=0, per_kind=1, evidence_chars=100),
)


def alert_view(
    alert: Alert, evidence_id: str | None, repeats: int = 0, detail: Detail = DETAIL_LEVELS[0]
) -> dict[str, Any]:
    """An alert as the model sees it: tierzero's ids and times, the source's text as values."""
    entities: dict[str, list[str]] = {}
    for o in alert.observables:
        values = entities.setdefault(o.kind.value, [])
        if o.value not in values and len(values) < detail.per_kind:
            values.append(o.value[:500])
    view: dict[str, Any] = {
        "evidence_id": evidence_id,
        "alert_id": alert.id,
        "time": alert.time.isoformat(),
        "source": alert.provenance.source,
        "product": alert.metadata.product.name,
        "severity": alert.severity_id.name.lower(),
        "title": alert.title[:300],
        "detection": alert.detection_id[:200],
        "techniques": list(alert.techniques),
        "repeats": repeats,
        "entities": entities,
    }
    if detail.message_chars:
        view["message"] = (alert.message or "")[: detail.message_chars] or None
    return view


def candidate_targets(case: CaseFile, ctx: RunContext) -> dict[str, list[str]]:
    """Per target kind, the case's entities an action may name: exactly what the guard's
    provenance rule accepts (well-formed values of normalized, non-free-text alert fields)."""
    keys = case.entity_keys(ctx.internal_domains)
    by_kind: dict[str, list[str]] = {}
    for kind in sorted({spec.target_kind for spec in ctx.policy.catalog.values()}):
        values: list[str] = []
        for alert in case.primary_alerts:
            for value in alert.values(kind):
                if value in values or not well_formed(kind, value):
                    continue
                if entity_key(kind, value, ctx.internal_domains) in keys:
                    values.append(value)
        by_kind[kind.value] = values[:MAX_TARGETS_PER_KIND]
    return by_kind


def case_message(
    state: CaseState, ctx: RunContext, fence: DataFence, budget: int | None = None
) -> str:
    """The first user message: the case, its evidence list and its alerts, all fenced.

    With a token ``budget`` (a model with a small context window), the case is compacted
    level by level (:data:`DETAIL_LEVELS`: fewer alerts, most severe first, shorter texts)
    until it fits; repeats are always collapsed into a count. The most compact level is used
    when none fits (the gate then refuses a call that would overflow, and the model abstains).
    """
    text = ""
    for detail in DETAIL_LEVELS:
        text = _case_message(state, ctx, fence, detail)
        if budget is None or _tokens(ctx, text) <= budget:
            return text
    return text


def _tokens(ctx: RunContext, text: str) -> int:
    assert ctx.model is not None
    encoding = encoding_for(ctx.model.model.name)
    margin = count_margin(ctx.model.model.name, ctx.model.config.token_margin)
    return math.ceil(len(encoding.encode(text, disallowed_special=())) * margin)


def _case_message(state: CaseState, ctx: RunContext, fence: DataFence, detail: Detail) -> str:
    case = ctx.case_file(state.case_id)
    by_alert = {e.alert_id: e.id for e in state.evidence if e.alert_id}
    # Most severe first, then in time order: what a person would read first.
    ranked = sorted(case.primary_alerts, key=lambda a: (-_severity(a), a.time, a.id))
    shown = sorted(ranked[: detail.alerts], key=lambda a: (a.time, a.id))
    alerts = [
        alert_view(a, by_alert.get(a.id), case.duplicates.get(a.id, 0), detail) for a in shown
    ]
    triage = state.prioritization
    more = len(case.primary_alerts) - len(shown) + case.left_out
    return load("case").render(
        case_id=state.case_id,
        alert_count=case.alert_count,
        sources=", ".join(sorted({a.provenance.source for a in case.alerts})),
        evidence=fence.wrap(
            "evidence",
            [_evidence_view(e, detail.evidence_chars) for e in state.evidence[: detail.evidence]],
        )
        + (
            f"\n({len(state.evidence) - detail.evidence} more evidence items not listed)"
            if len(state.evidence) > detail.evidence
            else ""
        ),
        alerts=fence.wrap("alerts", alerts)
        + (f"\n({more} more alerts: use case_alerts)" if more > 0 else ""),
        priority=triage.priority if triage else "unknown",
        score_parts="; ".join(triage.score_parts) if triage else "no triage",
    )


def _severity(alert: Alert) -> int:
    value = int(alert.severity_id)
    return 0 if value == 99 else value


def _evidence_view(item: Evidence, chars: int = 400) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "summary": item.summary[:chars]}


def investigate(state: CaseState, ctx: RunContext) -> ModelInvestigation:
    """Run the tool loop for one case; model and budget failures end it with the reason."""
    assert ctx.model is not None
    limits = ctx.model.config.investigation
    fence = DataFence()
    system = load("investigate")
    instructions = system.render(fence=fence.name, max_steps=limits.max_steps)
    tools = read_only_tools(ctx.model.config)
    budget = _case_budget(ctx, instructions, tools)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": instructions},
        {"role": "user", "content": case_message(state, ctx, fence, budget)},
    ]
    gate = ctx.model_gate(state.case_id, ACTOR)
    mediator = ctx.mediator(state.case_id, actor=ACTOR)
    loop = ToolLoop(gate, mediator, fence, limits.max_tool_calls, limits.max_tool_result_chars)
    ref = prompt_ref(system)
    steps = 0
    stopped = "step_limit"
    findings: str | None = None
    failed: str | None = None
    try:
        while steps < limits.max_steps:
            steps += 1
            request = ChatRequest(messages, tools, max_tokens=INVESTIGATION_MAX_TOKENS)
            response = gate.complete(request, ref)
            if response.tool_calls:
                room = _result_room(ctx, messages, tools, response)
                if room is not None and room < MIN_RESULT_CHARS:
                    # No room left for the results and the conclusion: stop here and
                    # conclude on what was found (the unanswered calls are left out).
                    findings = response.content
                    stopped = "context_full"
                    break
                if room is not None:
                    loop.max_chars = min(limits.max_tool_result_chars, room)
                messages.append(response.message())
                messages.extend(loop.answer(response))
                if loop.exhausted:
                    stopped = "tool_budget"
                    break
                continue
            messages.append(response.message())
            if response.finish_reason == "length":
                findings = (response.content or "") + " [cut off: the answer hit its length limit]"
                stopped = "truncated"
            else:
                findings = response.content
                stopped = "answered"
            break
    except (ModelError, ModelBudgetExceeded) as exc:
        stopped, failed = "failed", _failure(exc)
    return ModelInvestigation(
        model=gate.model.name,
        findings=findings,
        steps=steps,
        tool_calls=loop.calls,
        tool_errors=loop.errors,
        stopped=stopped,
        failed=failed,
        transcript=tuple(messages),
    )


def _case_budget(ctx: RunContext, system: str, tools: list[dict[str, Any]]) -> int | None:
    """Tokens the case message may take when the model's context window is known: the call's
    prompt limit less the system prompt, the tools, room for the tool results to come and
    room to conclude."""
    assert ctx.model is not None
    config = ctx.model.config
    if config.context_window is None:
        return None
    limit = prompt_limit(config, INVESTIGATION_MAX_TOKENS)
    fixed = _tokens(ctx, system) + _tokens(ctx, json.dumps(tools, sort_keys=True))
    results = min(config.investigation.max_tool_result_chars // 3, limit // 4)
    return max(limit - fixed - results - CONCLUSION_ROOM, 0)


# Tokens kept free for the conclusion: its question, its larger answer and two re-asks.
CONCLUSION_ROOM = 1800
MIN_RESULT_CHARS = 400  # a tool result shorter than this is not worth the call


def _result_room(
    ctx: RunContext,
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    response: ChatResponse,
) -> int | None:
    """Characters each of the response's tool results may take so the conversation still
    fits the model's context with room to conclude; None without a known context window."""
    assert ctx.model is not None
    config = ctx.model.config
    if config.context_window is None:
        return None
    limit = prompt_limit(config, INVESTIGATION_MAX_TOKENS)
    used = _tokens(ctx, json.dumps([*messages, response.message()], sort_keys=True))
    used += _tokens(ctx, json.dumps(tools, sort_keys=True))
    room = limit - used - CONCLUSION_ROOM
    return max(room, 0) * 3 // max(len(response.tool_calls), 1)  # ~3 characters a token


def _failure(exc: Exception) -> str:
    if isinstance(exc, ModelError):
        return f"model endpoint failed ({exc.kind}): {str(exc)[:300]}"
    if isinstance(exc, ModelBudgetExceeded):
        return f"model budget exceeded ({exc.scope}): {exc}"
    return f"{type(exc).__name__}: {str(exc)[:300]}"


class ToolLoop:
    """Answers a response's tool calls through the mediator, counting calls and errors."""

    def __init__(
        self,
        gate: ModelGate,
        mediator: Mediator,
        fence: DataFence,
        max_calls: int,
        max_chars: int,
        allowed: tuple[str, ...] = INVESTIGATION_TOOLS,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.gate = gate
        self.mediator = mediator
        self.fence = fence
        self.max_calls = max_calls
        self.max_chars = max_chars
        self.allowed = allowed
        self.extra = extra or {}  # name -> callable(arguments) for non-registry tools (chat)
        self.calls = 0
        self.errors = 0

    @property
    def exhausted(self) -> bool:
        return self.calls >= self.max_calls

    def answer(self, response: ChatResponse) -> list[dict[str, Any]]:
        """One ``tool`` message per call of the response (parallel calls included)."""
        out = []
        for call in response.tool_calls:
            content = self._run(call.name, call.arguments)
            out.append({"role": "tool", "tool_call_id": call.id, "content": content})
        return out

    def _run(self, name: str, raw_arguments: str) -> str:
        if self.exhausted:
            self.errors += 1
            return "error: the tool-call budget is used up; write your findings now."
        self.calls += 1
        try:
            arguments = json.loads(raw_arguments or "{}")
        except json.JSONDecodeError as exc:
            return self._error(name, [f"arguments are not valid JSON ({exc.msg})"])
        if not isinstance(arguments, dict):
            return self._error(name, ["arguments must be a JSON object"])
        if name in self.extra:
            return str(self.extra[name](arguments))
        if name not in self.allowed:
            return self._error(name, ["unknown tool; use one of the tools you were given"])
        try:
            result = self.mediator.call(name, arguments)
        except ToolArgumentError as exc:
            self.errors += 1
            return "error: bad arguments: " + "; ".join(exc.problems)[:1000]
        except UnknownToolError:
            self.errors += 1
            return "error: unknown tool; use one of the tools you were given"
        except BudgetExceeded:
            self.errors += 1
            return "error: the case's tool budget is used up; write your findings now."
        except ValueError as exc:  # a tool's own refusal (out of scope ...), already audited
            self.errors += 1
            return f"error: {str(exc)[:500]}"
        return self.fence.wrap(f"result:{name}", jsonable(result), self.max_chars)

    def _error(self, name: str, problems: list[str]) -> str:
        self.errors += 1
        self.mediator.reject(name, problems)
        return "error: " + "; ".join(problems)


def jsonable(value: Any) -> Any:
    """Tool results (pydantic models, lists of them, scalars) as JSON-ready values."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value
