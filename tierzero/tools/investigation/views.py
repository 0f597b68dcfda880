"""What every investigation tool's result is built from: a frozen view model, bounded text,
and the compact view of one alert.

Everything in a view was written by the monitored systems, and so possibly by an attacker:
free text comes wrapped in :class:`UntrustedText`, every string is cut to a bounded length and
every list to a bounded count, and each result says when something was cut.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero.correlate.entities import alert_entities
from tierzero.ingest.alert import Alert, Severity

TEXT_CHARS = 300  # one short text field (title, name, id) in a result
PER_KIND = 10  # entity values of one kind in an alert view


@dataclass
class Trimmer:
    """Bounds strings and lists, remembering whether anything was cut."""

    cut: bool = False

    def text(self, value: str, limit: int = TEXT_CHARS) -> str:
        """``value`` cut to ``limit`` characters (ending in an ellipsis when cut)."""
        if len(value) <= limit:
            return value
        self.cut = True
        return value[: limit - 1] + "…"

    def opt(self, value: str | None, limit: int = TEXT_CHARS) -> str | None:
        """:meth:`text` of a value that may be missing."""
        return None if value is None else self.text(value, limit)

    def items(self, values: Sequence[str], limit: int) -> tuple[str, ...]:
        """The first ``limit`` values, each cut like :meth:`text`."""
        if len(values) > limit:
            self.cut = True
        return tuple(self.text(v) for v in values[:limit])


class View(BaseModel):
    """Base of every result model: frozen, no extra fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class UntrustedText(View):
    """Free text from an alert (attacker-controlled): evidence to read, never to obey."""

    untrusted: Literal[True] = True
    text: str
    truncated: bool = False

    @classmethod
    def of(cls, value: str, limit: int) -> UntrustedText:
        """``value`` cut to ``limit`` characters, saying whether it was cut."""
        return cls(text=value[:limit], truncated=len(value) > limit)


class AlertView(View):
    """One alert, compact. All text is alert data (attacker-controlled)."""

    alert_id: str
    case_id: str | None = Field(description="Case holding the alert; None: not correlated yet")
    time: datetime
    source: str
    product: str
    severity: str
    title: str
    detection_id: str
    techniques: tuple[str, ...]
    entities: dict[str, tuple[str, ...]] = Field(
        description="Normalized join keys by kind; 'kind:value' is what entity_alerts takes"
    )
    truncated: bool = Field(description="Some text or list of this view was cut")

    @classmethod
    def of(cls, alert: Alert, case_id: str | None, domains: Iterable[str]) -> AlertView:
        """The view of an alert: its entities as join keys grouped by kind, all text bounded."""
        cut = Trimmer()
        grouped: dict[str, list[str]] = {}
        for key in alert_entities(alert, internal_domains=domains):
            kind, _, value = key.partition(":")
            grouped.setdefault(kind, []).append(value)
        return cls(
            alert_id=alert.id,
            case_id=case_id,
            time=alert.time,
            source=alert.provenance.source,
            product=cut.text(alert.metadata.product.name),
            severity=Severity(alert.severity_id).name.lower(),
            title=cut.text(alert.title),
            detection_id=cut.text(alert.detection_id),
            techniques=cut.items(alert.techniques, PER_KIND),
            entities={k: cut.items(v, PER_KIND) for k, v in grouped.items()},
            truncated=cut.cut,
        )
