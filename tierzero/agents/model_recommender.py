"""The LLM recommendation agent, and how its opinion meets the offline analyst's.

The model concludes its investigation with one JSON object, validated against
:class:`ModelOpinion` (pydantic) and against the case: evidence ids must exist, actions must
be in the catalog, technique ids must be well-formed. A failing answer is re-asked at most
twice with the problems listed and the expected shape; after that the model has no opinion.

A model with no opinion (it failed, timed out, or never gave a valid conclusion) abstains by
default (``on_model_failure``): the offline analyst's decision stands, as with no model, and
the case says why.

The deterministic offline analyst always runs too. :func:`reconcile` keeps both opinions on the
case; when they disagree (an attack on one side, no attack on the other, or either unsure)
the verdict becomes ``needs_review`` and a person decides, with both opinions shown.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tierzero.agents.context import RunContext
from tierzero.agents.model_investigator import (
    ACTOR,
    candidate_targets,
    prompt_ref,
    read_only_tools,
)
from tierzero.agents.state import Analysis, CaseState, Recommendation
from tierzero.agents.untrusted import DataFence
from tierzero.guardrails.model_gate import ChatRequest, ModelBudgetExceeded, ModelError
from tierzero.prompts import load
from tierzero.settings.playbooks import Verdict

# Recommendations and analyses by a model carry ``llm:<model>`` as their author.
MODEL_PREFIX = "llm:"
_TECHNIQUE = re.compile(r"^T\d{4}(?:\.\d{3})?$")
_CITATION = re.compile(r"\bE\d+\b")
_FENCE = re.compile(r"<data-([0-9a-f]{16})\b")


class ProposedAction(BaseModel):
    """One response action the model proposes (policy decides on it later)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    action: str = Field(min_length=1, max_length=64)
    target: str = Field(min_length=1, max_length=320)
    reason: str = Field(default="", max_length=600)
    evidence: list[str] = Field(default_factory=list, max_length=20)


class ModelOpinion(BaseModel):
    """The recommendation agent's structured output."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    verdict: Literal["true_positive", "benign_positive", "false_positive", "needs_review"]
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = Field(min_length=1, max_length=4000)
    evidence: list[str] = Field(min_length=1, max_length=60)
    techniques: list[str] = Field(default_factory=list, max_length=30)
    actions: list[ProposedAction] = Field(default_factory=list, max_length=12)


class OpinionFailed(RuntimeError):
    """No usable opinion: the endpoint failed, a budget ran out, or validation failed 3 times."""


def check(opinion: ModelOpinion, evidence_ids: set[str], catalog: set[str]) -> list[str]:
    """Problems of a parsed opinion against this case (empty when it is usable)."""
    problems = []
    unknown = sorted(
        {e for e in opinion.evidence if e not in evidence_ids}
        | {e for a in opinion.actions for e in a.evidence if e not in evidence_ids}
    )
    if unknown:
        problems.append(f"evidence ids not in the case's evidence list: {', '.join(unknown[:10])}")
    # The "evidence" ids (at least one, each checked above) are the citation; ids written in
    # the rationale's prose are welcome but not required (small models rarely write them, and
    # re-asking for them only repeated the same answer). The analysis names the ids either way.
    bad_actions = sorted({a.action for a in opinion.actions if a.action not in catalog})
    if bad_actions:
        problems.append(
            f"actions not in the catalog: {', '.join(a[:40] for a in bad_actions[:5])} "
            f"(allowed: {', '.join(sorted(catalog))})"
        )
    bad_techniques = [t for t in opinion.techniques if not _TECHNIQUE.match(t)]
    if bad_techniques:
        problems.append(
            f"not ATT&CK technique ids: {', '.join(t[:20] for t in bad_techniques[:5])}"
        )
    return problems


def parse(content: str | None) -> ModelOpinion:
    """Parse the model's JSON (tolerating a Markdown code fence around it); raises ValueError."""
    text = (content or "").strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("{") :] if "{" in text else text
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not one JSON object ({exc.msg} at position {exc.pos})") from None
    try:
        return ModelOpinion.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or '(object)'}: {e['msg']}"
            for e in exc.errors()[:8]
        ]
        raise ValueError("; ".join(problems)) from None


def conclude(state: CaseState, ctx: RunContext) -> tuple[ModelOpinion, int]:
    """Ask for the model's conclusion, continuing the investigation's conversation.

    Returns the opinion and the number of attempts it took; raises OpinionFailed.
    """
    assert ctx.model is not None and state.investigation is not None
    limits = ctx.model.config.investigation
    messages: list[dict[str, Any]] = list(state.investigation.transcript)
    fence = DataFence(_fence_of(messages))
    case = ctx.case_file(state.case_id)
    catalog = set(ctx.policy.catalog)
    ask = load("recommend")
    messages.append(
        {
            "role": "user",
            "content": ask.render(
                actions=", ".join(sorted(catalog)),
                targets=fence.wrap("candidate_targets", candidate_targets(case, ctx)),
            ),
        }
    )
    gate = ctx.model_gate(state.case_id, ACTOR)
    evidence_ids = {e.id for e in state.evidence}
    prompt = ask
    attempts = 1 + limits.max_validation_retries
    problems: list[str] = []
    answers: list[str] = []
    for attempt in range(1, attempts + 1):
        try:
            response = gate.complete(
                ChatRequest(
                    messages,
                    read_only_tools(
                        ctx.model.config
                    ),  # the same tools as every step: a cacheable prefix
                    json_output=True,
                    max_tokens=1500,
                    tool_choice="none",
                    temperature=None if attempt == 1 else repair_temperature(ctx),
                ),
                prompt_ref(prompt),
            )
        except ModelError as exc:
            raise OpinionFailed(f"model endpoint failed ({exc.kind}): {str(exc)[:300]}") from exc
        except ModelBudgetExceeded as exc:
            raise OpinionFailed(f"model budget exceeded ({exc.scope}): {exc}") from exc
        messages.append(response.message())
        try:
            if response.finish_reason == "length":
                raise ValueError("the answer was cut off at its length limit; answer shorter")
            if response.tool_calls:
                raise ValueError("the answer is a tool call; the investigation is over")
            opinion = parse(response.content)
            problems = check(opinion, evidence_ids, catalog)
        except ValueError as exc:
            problems = [str(exc)]
        if not problems:
            return opinion, attempt
        answer = (response.content or "").strip()
        if answer in answers:
            problems.append("this answer is word for word one you gave before; change it")
        answers.append(answer)
        if attempt < attempts:
            prompt = load("repair")
            messages.append(
                {
                    "role": "user",
                    "content": prompt.render(
                        problems="\n".join(f"- {p}" for p in problems)[:1500],
                        attempt=attempt + 1,
                        max_attempts=attempts,
                    ),
                }
            )
    raise OpinionFailed(
        f"the model's conclusion failed validation {attempts} times: {'; '.join(problems)[:500]}"
    )


def repair_temperature(ctx: RunContext) -> float:
    """The temperature of a re-ask (``repair_temperature``)."""
    assert ctx.model is not None
    return ctx.model.config.repair_temperature


def _fence_of(messages: list[dict[str, Any]]) -> str | None:
    """Keep the conversation's fence nonce (declared in its system prompt)."""
    for message in messages:
        found = _FENCE.search(str(message.get("content") or ""))
        if found:
            return found.group(1)
    return None


def model_analysis(opinion: ModelOpinion, model: str, findings: str | None) -> Analysis:
    """The model's opinion in the same shape as the offline analyst's."""
    cited = set(_CITATION.findall(opinion.rationale)) & set(opinion.evidence)
    ids = ", ".join(dict.fromkeys(opinion.evidence))
    rationale = [opinion.rationale if cited else f"{opinion.rationale} (evidence: {ids})"]
    if findings:
        rationale.append(f"Investigation findings: {findings[:1500]}")
    return Analysis(
        analyst=f"{MODEL_PREFIX}{model}",
        verdict=opinion.verdict,
        confidence=opinion.confidence,
        rationale=tuple(rationale),
        evidence=tuple(dict.fromkeys(opinion.evidence)),
        techniques=tuple(sorted(set(opinion.techniques))),
    )


def recommendations(
    opinion: ModelOpinion, model: str, ctx: RunContext
) -> tuple[Recommendation, ...]:
    """The model's proposed actions as recommendations; the guard node decides on each."""
    out = []
    seen: set[tuple[str, str]] = set()
    for proposed in opinion.actions:
        spec = ctx.policy.catalog.get(proposed.action)
        if spec is None or (proposed.action, proposed.target) in seen:
            continue
        seen.add((proposed.action, proposed.target))
        out.append(
            Recommendation(
                action=proposed.action,
                action_class=spec.action_class,
                target_kind=spec.target,
                target=proposed.target,
                reason=f"model: {proposed.reason[:300]}",
                requested_by=f"{MODEL_PREFIX}{model}",
                evidence=tuple(proposed.evidence),
            )
        )
    return tuple(out)


_DISPOSITION: dict[Verdict, str] = {
    "true_positive": "attack",
    "benign_positive": "no attack",
    "false_positive": "no attack",
    "needs_review": "unsure",
}


def reconcile(offline: Analysis, model: Analysis) -> Analysis:
    """One analysis from both analysts' opinions.

    They agree when both see an attack or both see none (benign_positive and false_positive
    both mean nothing to contain); then the offline verdict stands at the lower of the two
    confidences. Otherwise, or when either is unsure, the case needs a person's review.
    """
    agree = _DISPOSITION[offline.verdict] == _DISPOSITION[model.verdict] != "unsure"
    both = (
        f"Offline analyst: {offline.verdict} ({offline.confidence:.2f}). "
        f"Model {model.analyst}: {model.verdict} ({model.confidence:.2f})."
    )
    if agree:
        verdict: Verdict = offline.verdict
        confidence = min(offline.confidence, model.confidence)
        head = f"Both analysts agree: {both}"
    else:
        verdict = "needs_review"
        confidence = min(offline.confidence, model.confidence, 0.5)
        head = f"The analysts disagree, so a person must decide. {both}"
    return Analysis(
        analyst=f"{offline.analyst}+{model.analyst}",
        verdict=verdict,
        confidence=confidence,
        rationale=(
            head,
            *(f"[offline] {r}" for r in offline.rationale),
            *(f"[model] {r}" for r in model.rationale),
        ),
        evidence=tuple(dict.fromkeys((*offline.evidence, *model.evidence))),
        outcomes=offline.outcomes,
        techniques=tuple(sorted({*offline.techniques, *model.techniques})),
        tactics=offline.tactics,
    )


def abstained(offline: Analysis, reason: str) -> Analysis:
    """The offline analysis, standing as it would with no model: the configured model gave no
    opinion (it failed; it did not disagree), and the case says so first."""
    return offline.model_copy(
        update={
            "rationale": (
                f"The model abstained ({reason}); the offline analyst's decision stands, as "
                "with no model.",
                *offline.rationale,
            ),
        }
    )


def unavailable(offline: Analysis, reason: str) -> Analysis:
    """The offline analysis, sent to a person because the configured model gave no opinion."""
    return offline.model_copy(
        update={
            "verdict": "needs_review",
            "confidence": min(offline.confidence, 0.5),
            "rationale": (
                f"The model's opinion is missing ({reason}); the offline analyst alone said "
                f"{offline.verdict} ({offline.confidence:.2f}), and a person must confirm.",
                *offline.rationale,
            ),
        }
    )
