"""The case as the chat reads it: summary columns, latest analysis, alerts, evidence, entities.

:class:`CaseView` is loaded again after every message (and after every proposed action, which
makes a new analysis revision), so answers always quote the case as it is stored now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tierzero.agents.state import Evidence
from tierzero.correlate.entities import alert_entities, entity_key
from tierzero.ingest.alert import Alert, EntityKind
from tierzero.store.alerts import MAX_CASE_ALERTS

if TYPE_CHECKING:
    from tierzero.store.actions import ActionRow
    from tierzero.store.sqlite import Store

# Entity kinds an analyst asks about by name (and that actions target); free text never.
NAMED_KINDS = (
    EntityKind.HOST,
    EntityKind.USER,
    EntityKind.IP,
    EntityKind.DOMAIN,
    EntityKind.EMAIL,
    EntityKind.HASH,
)
KIND_LABELS = {
    "host": "Hosts",
    "user": "Users",
    "ip": "IP addresses",
    "domain": "Domains",
    "email": "Mail addresses",
    "hash": "File hashes",
}


class CaseNotFound(LookupError):
    """No live case of that id (never created, or merged into another)."""


@dataclass
class Entity:
    """One normalized entity of the case with the evidence that names it."""

    key: str  # the join key, e.g. host:lt-fin-042
    kind: str
    value: str  # as the inventory or the first alert names it
    evidence: list[str] = field(default_factory=list)  # alert evidence, in time order
    context: list[str] = field(default_factory=list)  # asset / identity / intel evidence


class CaseView:
    """A stored case: summary columns, the latest analysis, alerts, evidence and actions."""

    def __init__(self, store: Store, case_id: str, internal_domains: tuple[str, ...]) -> None:
        row = store.case(case_id)
        if row is None:
            raise CaseNotFound(f"no case {case_id!r}")
        if row.merged_into:
            raise CaseNotFound(f"case {case_id} was merged into {row.merged_into}")
        self.case_id = case_id
        self.row = row
        self.domains = internal_domains
        self.revision = store.next_revision(case_id) - 1
        self.doc: dict[str, Any] = row.analysis or {}
        self.analysis: dict[str, Any] = self.doc.get("analysis") or {}
        self.evidence = tuple(Evidence.model_validate(e) for e in self.doc.get("evidence", ()))
        self.by_id = {e.id: e for e in self.evidence}
        by_alert = {e.alert_id: e.id for e in self.evidence if e.alert_id}
        # The distinct alerts, one bounded page (a case can hold any number of repeats); those
        # with an evidence id are the ones the analysis cited.
        alerts = sorted(
            store.primary_alerts_of_case(case_id, MAX_CASE_ALERTS), key=lambda a: (a.time, a.id)
        )
        self.alerts: list[tuple[str, Alert]] = [
            (by_alert[a.id], a) for a in alerts if a.id in by_alert
        ]
        total, _ = store.case_alert_totals(case_id)
        self.repeats = total - len(self.alerts)
        self.actions: list[ActionRow] = store.actions.rows(case_id)
        self.entities = self._entities(internal_domains)

    def _entities(self, domains: tuple[str, ...]) -> dict[str, Entity]:
        enrichment = self.doc.get("enrichment") or {}
        named = {
            key: name
            for kind, names in (
                ("host", enrichment.get("assets", {})),
                ("user", enrichment.get("identities", {})),
            )
            for name in names
            if (key := entity_key(EntityKind(kind), name, domains))
        }
        found: dict[str, Entity] = {}
        for evidence_id, alert in self.alerts:
            keys = set(alert_entities(alert, frozenset(), domains, NAMED_KINDS))
            for o in alert.observables:
                if o.kind not in NAMED_KINDS:
                    continue
                key = entity_key(o.kind, o.value, domains)
                if key is None or key not in keys:
                    continue
                entity = found.get(key)
                if entity is None:
                    kind = key.split(":", 1)[0]
                    entity = found[key] = Entity(key, kind, named.get(key, o.value))
                if evidence_id not in entity.evidence:
                    entity.evidence.append(evidence_id)
        context = [e for e in self.evidence if e.kind in ("asset", "identity", "intel")]
        for entity in found.values():
            needle = entity.value.lower()
            entity.context = [e.id for e in context if needle in e.summary.lower()]
        return found

    def entity_named(self, value: str) -> Entity | None:
        """The case entity a value names (any spelling that normalizes to the same key)."""
        for kind in NAMED_KINDS:
            key = entity_key(kind, value, self.domains)
            if key is not None and key in self.entities:
                return self.entities[key]
        return None

    def verdict_evidence(self) -> list[str]:
        """The evidence the verdict rests on (or, failing that, the first alerts)."""
        cited = [i for i in self.analysis.get("evidence", ()) if i in self.by_id]
        return cited or [e for e, _ in self.alerts[:3]]


def cite(ids: Iterable[str], limit: int = 4) -> str:
    """``[E1] [E4]``, with a count of the rest."""
    ids = list(dict.fromkeys(ids))
    text = " ".join(f"[{i}]" for i in ids[:limit])
    return text + (f" (+{len(ids) - limit} more)" if len(ids) > limit else "")


def utc_stamp(value: datetime) -> str:
    """``2026-11-16 10:15:02Z``: a UTC time as the chat writes it."""
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def alert_line(evidence_id: str, alert: Alert, width: int) -> str:
    """``time [E4] source: title`` (the title is the source's text, shown for reading)."""
    source = alert.provenance.source
    return f"{utc_stamp(alert.time)} [{evidence_id}] {source}: {alert.title[:width]}"
