"""What the case memory remembers of a case, and what it answers with.

No attacker-written free text (command lines, mail subjects, URLs, user agents, descriptions)
goes into a record: only titles, product names, detection ids, entity keys and techniques taken
from normalized fields, and text tierzero or an analyst wrote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from tierzero.correlate.entities import alert_entities
from tierzero.ingest.alert import Alert
from tierzero.store.alerts import MAX_CASE_ALERTS

if TYPE_CHECKING:
    from tierzero.store.sqlite import Store

FINAL_STATUSES: frozenset[str] = frozenset({"closed", "auto_closed"})

# Bounds on what one case contributes: a huge case (or an attacker spraying entities) must not
# make one document, or one metadata value, unbounded.
_MAX_ENTITIES = 200
_MAX_TECHNIQUES = 64
_MAX_DETECTIONS = 64
_MAX_TITLES = 20
_MAX_TEXT = 2_000


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertProfile(_Frozen):
    """What a set of alerts says about a case, from normalized fields only."""

    titles: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    detections: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()

    @classmethod
    def of(cls, alerts: Iterable[Alert], internal_domains: Iterable[str] = ()) -> AlertProfile:
        """Profile of alerts: entity keys as correlation normalizes them, techniques, titles."""
        domains = tuple(internal_domains)
        titles: dict[str, None] = {}
        products: set[str] = set()
        detections: set[str] = set()
        techniques: set[str] = set()
        tactics: set[str] = set()
        entities: set[str] = set()
        for alert in alerts:
            titles.setdefault(alert.title[:200], None)
            products.add(alert.metadata.product.name)
            detections.add(alert.detection_id)
            techniques.update(alert.techniques)
            tactics.update(t.casefold() for t in alert.tactics)
            entities.update(alert_entities(alert, internal_domains=domains))
        return cls(
            titles=tuple(list(titles)[:_MAX_TITLES]),
            products=tuple(sorted(products)),
            detections=tuple(sorted(detections)[:_MAX_DETECTIONS]),
            techniques=tuple(sorted(techniques)[:_MAX_TECHNIQUES]),
            tactics=tuple(sorted(tactics)),
            entities=tuple(sorted(entities)[:_MAX_ENTITIES]),
        )

    def document(self, *extra: str) -> str:
        """The text that is embedded: one token per entity key, detection and technique."""
        return _document(
            self.titles,
            self.products,
            self.detections,
            self.techniques,
            self.tactics,
            self.entities,
            extra,
        )


def _token(value: str) -> str:
    # Keys and detection ids must stay one whitespace-free token for the embedding.
    return re.sub(r"\s+", "_", value.strip())


def _document(
    titles: Iterable[str],
    products: Iterable[str],
    detections: Iterable[str],
    techniques: Iterable[str],
    tactics: Iterable[str],
    entities: Iterable[str],
    extra: Iterable[str],
) -> str:
    lines = [
        *titles,
        " ".join(products),
        " ".join(_token(d) for d in detections),
        " ".join(techniques),
        " ".join(tactics),
        " ".join(_token(e) for e in entities),
        *(e[:_MAX_TEXT] for e in extra if e),
    ]
    return "\n".join(line for line in lines if line)


class CaseMemoryRecord(_Frozen):
    """One concluded case as the memory keeps it."""

    case_id: str
    title: str
    summary: str = Field(description="Headline, verdict and why; no attacker-written text")
    because: str = ""
    titles: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    detections: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    verdict: str
    status: str
    feedback_verdict: str | None = None
    feedback_by: str | None = None
    feedback_note: str | None = None
    closed_at: datetime

    @property
    def final_verdict(self) -> str:
        """The analyst's word when there is one, else the machine's."""
        return self.feedback_verdict or self.verdict

    def document(self) -> str:
        """The text that is embedded (the verdict is metadata, not text: a new case has none)."""
        return _document(
            self.titles,
            self.products,
            self.detections,
            self.techniques,
            self.tactics,
            self.entities,
            (self.because, self.feedback_note or ""),
        )

    def metadata(self) -> dict[str, str | int | float | bool]:
        """Chroma metadata: scalars only, so lists are stored as JSON strings."""
        return {
            "case_id": self.case_id,
            "title": self.title,
            "summary": self.summary,
            "verdict": self.verdict,
            "final_verdict": self.final_verdict,
            "status": self.status,
            "feedback_verdict": self.feedback_verdict or "",
            "feedback_by": self.feedback_by or "",
            "closed_at": self.closed_at.isoformat(),
            "techniques": json.dumps(list(self.techniques)),
            "entities": json.dumps(list(self.entities)),
        }


class SimilarCase(_Frozen):
    """A remembered case that resembles the query, and how it ended."""

    case_id: str
    score: float = Field(ge=0.0, le=1.0, description="Cosine similarity, 1 = same features")
    verdict: str = Field(description="The final verdict: the analyst's when they resolved it")
    machine_verdict: str
    analyst_verdict: str | None = None
    status: str
    title: str
    summary: str
    techniques: tuple[str, ...] = ()
    shared_entities: tuple[str, ...] = ()
    closed_at: str = ""


def rememberable(status: str, resolved: bool) -> bool:
    """Whether a case belongs in memory: a final status, or an analyst's resolution (but never
    while it waits for an approval: its outcome is not known yet)."""
    return status != "awaiting_approval" and (status in FINAL_STATUSES or resolved)


def record_for(
    store: Store, case_id: str, internal_domains: Iterable[str] = ()
) -> CaseMemoryRecord | None:
    """The memory record of a stored case (None when there is no such live case).

    Built from normalized alert fields, the stored analysis (verdict, the reason it was
    concluded, techniques) and the analyst's resolution, if any. Whether the case *should* be
    remembered is :func:`rememberable`'s question; this also serves as the query for a case
    that is still open.
    """
    row = store.case(case_id)
    if row is None or row.merged_into is not None:
        return None
    profile = AlertProfile.of(
        store.primary_alerts_of_case(case_id, MAX_CASE_ALERTS), internal_domains
    )
    state = row.analysis or {}
    analysis = state.get("analysis") or {}
    techniques = sorted({*profile.techniques, *analysis.get("techniques", ())})
    tactics = sorted({*profile.tactics, *(t.casefold() for t in analysis.get("tactics", ()))})
    verdict = row.verdict or "needs_review"
    because = _because(state, verdict)
    resolution = store.resolution(case_id)
    title = (row.title or case_id)[:200]
    summary = f"{title}: {verdict} ({row.status})" + (f", {because}" if because else "")
    if resolution is not None:
        summary += f"; analyst {resolution.analyst}: {resolution.verdict}"
        if resolution.note:
            summary += f" ({resolution.note})"
    return CaseMemoryRecord(
        case_id=case_id,
        title=title,
        summary=summary[:_MAX_TEXT],
        because=because,
        titles=profile.titles,
        products=profile.products,
        detections=profile.detections,
        techniques=tuple(techniques[:_MAX_TECHNIQUES]),
        tactics=tuple(tactics),
        entities=profile.entities,
        verdict=verdict,
        status=row.status,
        feedback_verdict=resolution.verdict if resolution else None,
        feedback_by=resolution.analyst if resolution else None,
        feedback_note=(resolution.note[:_MAX_TEXT] or None) if resolution else None,
        closed_at=resolution.resolved_at if resolution else datetime.fromisoformat(row.updated_at),
    )


def _because(state: dict[str, Any], verdict: str) -> str:
    """Why the case was concluded, in tierzero's words (auto-close rule or playbook reasons)."""
    triage = state.get("prioritization") or {}
    if state.get("status") == "auto_closed" and triage.get("auto_close_reason"):
        return f"auto-closed ({triage.get('auto_close_rule')}): {triage['auto_close_reason']}"
    outcomes = (state.get("analysis") or {}).get("outcomes") or []
    reasons = [
        f"{o.get('title')}: {o.get('because')}" for o in outcomes if o.get("verdict") == verdict
    ]
    return "; ".join(reasons)[:_MAX_TEXT]
