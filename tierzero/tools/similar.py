"""Similar past cases from the case memory (read-only)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from tierzero.store.alerts import MAX_CASE_ALERTS
from tierzero.store.memory_records import AlertProfile, SimilarCase
from tierzero.tools.registry import REGISTRY, ToolContext


@REGISTRY.register(action_class="read")
def similar_cases(
    ctx: ToolContext,
    case_id: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=64,
            description="Case whose alerts to compare (default: the case in scope)",
        ),
    ] = None,
    text: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=4000,
            description="Free-text query instead: entity keys (host:..., user:...), ATT&CK ids,"
            " detection names",
        ),
    ] = None,
    k: Annotated[int, Field(ge=1, le=20, description="How many cases to return")] = 5,
) -> list[SimilarCase]:
    """Concluded past cases most like a case (or a query), with their verdicts and shared
    entities: how similar situations ended before.

    The case in scope is never among the results. Similarity is lexical (shared entity keys,
    detections, techniques, title words); empty when no memory is configured.
    """
    if ctx.memory is None:
        return []
    if text is not None:
        query = text
    else:
        target = case_id or ctx.case_id
        if target is None or ctx.alerts is None:
            return []
        alerts = ctx.alerts.alerts_of_case(target, MAX_CASE_ALERTS)
        if not alerts:
            return []
        query = AlertProfile.of(alerts, ctx.inventory.internal_domains).document()
    skip = list(dict.fromkeys(c for c in (ctx.case_id, case_id) if c))
    # The memory protocol excludes one id: ask for one more and drop the other here.
    found = ctx.memory.similar(query, k + len(skip) - 1 if skip else k, skip[0] if skip else None)
    results: list[SimilarCase] = [r for r in found if r.case_id not in skip]
    return results[:k]
