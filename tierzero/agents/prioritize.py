"""Prioritize node: deterministic priority, SLA, routing and auto-closure of clearly benign cases.

The score is a sum of named parts from ``config/priority.yaml`` so a priority can always be
explained ("severity high +40, crown jewel +25 ..."). Auto-closure rules are conditions over
the same facts playbooks use, and fire only when nothing in the case points the other way.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from tierzero.agents.context import RunContext
from tierzero.agents.facts import Facts, facts_for
from tierzero.agents.learned import case_baseline, deviations, learned_check
from tierzero.agents.second_look import attack_stages, second_look
from tierzero.agents.state import CaseState, Prioritization
from tierzero.guardrails.suppression import PairFacts, SuppressionCheck
from tierzero.settings.priority import AutoCloseRule, PriorityConfig, Weights


def score_case(
    facts: Facts, weights: Weights, baseline: list[PairFacts] | None = None
) -> tuple[int, tuple[str, ...]]:
    """Sum the named score parts; returns the total and each non-zero part in words.
    ``baseline``: the case's (detection, host) pairs against their baselines (deviations
    raise the score)."""
    surging, off_rhythm = deviations(baseline or [])
    parts: list[tuple[str, int]] = [
        (
            f"max severity {facts.get('max_severity')}",
            weights.severity.get(facts.get("max_severity"), 0),
        ),
        (
            f"asset criticality {facts.get('max_criticality')}",
            weights.criticality.get(facts.get("max_criticality"), 0),
        ),
    ]
    for flag in ("intel_match", "crown_jewel", "privileged_user", "new_country"):
        if facts.get(flag):
            parts.append((flag.replace("_", " "), getattr(weights, flag)))
    if facts.get("novel_detections"):
        parts.append(("novel detection on a host", weights.novel_detection))
    if surging:
        parts.append((f"far above its baseline: {surging[0]}", weights.baseline_surge))
    if off_rhythm:
        parts.append((f"outside its daily rhythm: {off_rhythm[0]}", weights.off_rhythm))
    extra_tactics = max(len(facts.get("tactics")) - 1, 0)
    parts.append(
        (
            f"{extra_tactics} more tactics",
            min(extra_tactics * weights.per_extra_tactic, weights.max_tactic_bonus),
        )
    )
    extra_sources = max(len(facts.get("sources")) - 1, 0)
    parts.append(
        (
            f"{extra_sources} more sources",
            min(extra_sources * weights.per_extra_source, weights.max_source_bonus),
        )
    )
    kept = [(name, points) for name, points in parts if points]
    return sum(p for _, p in kept), tuple(f"{name} +{points}" for name, points in kept)


def prioritize_case(
    facts: Facts,
    config: PriorityConfig,
    ctx: RunContext,
    baseline: list[PairFacts] | None = None,
) -> Prioritization:
    """Priority, SLA due time, queue, and the auto-close rule that fired (if any)."""
    score, parts = score_case(facts, config.weights, baseline)
    level = config.level(score)
    queue = next(
        (r.queue for r in config.routing if r.when.evaluate(facts)[0]), config.default_queue
    )
    closing: AutoCloseRule | None = None
    cited: tuple[str, ...] = ()
    for rule in config.auto_close:
        holds, _, evidence = rule.when.evaluate(facts)
        if holds:
            closing, cited = rule, evidence
            break
    return Prioritization(
        priority=level.name,
        score=score,
        score_parts=parts,
        sla_due=ctx.now + level.sla,
        queue=queue,
        auto_close_rule=closing.id if closing else None,
        auto_close_reason=closing.reason if closing else None,
        auto_close_evidence=tuple(dict.fromkeys(cited)),
    )


def prioritize_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Score and route the case; mark it for auto-closure when a benign rule fires, or when
    learned suppressions cover every alert and no guard objects."""
    ctx = runtime.context
    facts = facts_for(state, ctx)
    baseline = case_baseline(state, ctx)
    result = prioritize_case(facts, ctx.priority, ctx, baseline)
    # Vendor sample findings are not detections: closing them judges nothing.
    look = () if facts.get("all_samples") else second_look(state, ctx)
    if look:
        result = result.model_copy(
            update={
                "second_look": look,
                "held_back": result.auto_close_rule,
                "auto_close_rule": None,
                "auto_close_reason": None,
                "auto_close_evidence": (),
            }
        )
    elif result.auto_close_rule is None:
        check = learned_check(state, ctx, facts, baseline)
        if check.closes and (staged := attack_stages(state, ctx)):
            check = SuppressionCheck(blocked=staged)
            result = result.model_copy(update={"second_look": staged})
        result = with_learned(result, check, ctx)
    return {"prioritization": result, "visited": (*state.visited, "prioritize")}


def with_learned(
    result: Prioritization, check: SuppressionCheck, ctx: RunContext
) -> Prioritization:
    """The prioritization with what learned rules said: closing cites each rule and where it
    came from (whose verdicts, how many cases and days, who approved it)."""
    update: dict[str, Any] = {
        "shadow_rules": check.shadow,
        "learned_blocked": check.blocked,
    }
    if check.closes:
        update |= {
            "auto_close_rule": check.closing[0],
            "learned_rules": check.closing,
            "auto_close_reason": "every alert is covered by learned suppressions: "
            + "; ".join(_provenance(ctx, rule) for rule in check.closing),
        }
    return result.model_copy(update=update)


def _provenance(ctx: RunContext, rule_id: str) -> str:
    rule = ctx.store.suppression(int(rule_id.removeprefix("learned:S-")))
    if rule is None:
        return rule_id
    e = rule.evidence
    return (
        f"S-{rule.id} ({rule.detection_id} on {rule.host}, severity up to {rule.max_severity}:"
        f" {e.get('verdicts')} benign verdicts on {e.get('case_count')} cases"
        f" by {len(e.get('people') or ())} people"
        f" over {len(e.get('days') or ())} days, approved by {rule.answered_by})"
    )
