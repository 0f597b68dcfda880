"""Streaming dedup and correlation of time-ordered alerts into cases.

Feed alerts in time order (the store hands them out that way). Each alert becomes one
:class:`Join` saying what happened to it and why:

- ``duplicate``: same detection on the same entities within the dedup window of the first one;
  it is kept and counted on the case but adds no evidence;
- ``joined``: it shares an entity with an open case seen within the join window;
- ``merged``: it shares entities with several open cases, which become one (the oldest wins);
- ``new_case``: nothing in the window matches.

Memory is bounded by the window, not the stream: index entries older than the window are
evicted as time advances, so 100,000 alerts cost what one window of them costs.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero.correlate.entities import alert_entities
from tierzero.ingest.alert import Alert

JoinKind = Literal["new_case", "joined", "merged", "duplicate"]


class CorrelationConfig(BaseModel):
    """``config/correlation.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    join_window: timedelta = Field(default=timedelta(hours=2), description="Max gap on an entity")
    dedup_window: timedelta = Field(default=timedelta(hours=1), description="Repeat window")
    max_case_span: timedelta = Field(
        default=timedelta(hours=24), description="A case older than this takes no new alerts"
    )
    max_case_alerts: int = Field(
        default=500,
        ge=1,
        description="Distinct (non-repeat) alerts a case takes before new joins open a new case",
    )
    internal_domains: tuple[str, ...] = ()
    ignore_entities: frozenset[str] = Field(
        default=frozenset(), description="Join keys never joined on, e.g. 'ip:10.0.0.53'"
    )


@dataclass(frozen=True)
class Join:
    """What correlation did with one alert, and the reason in words."""

    alert_id: str
    case_id: str
    kind: JoinKind
    entities: tuple[str, ...]
    via: tuple[str, ...] = ()
    merged_case_ids: tuple[str, ...] = ()
    duplicate_of: str | None = None
    gap_seconds: float | None = None
    explanation: str = ""


@dataclass
class _OpenCase:
    case_id: str
    opened: datetime
    last_seen: datetime
    alerts: int = 0
    entities: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class SeedCase:
    """An open case from an earlier run that new alerts may still join."""

    case_id: str
    opened: datetime
    last_seen: datetime
    alerts: int
    entities: tuple[str, ...]


class Correlator:
    """Deterministic, explainable correlation over a time-ordered alert stream."""

    def __init__(
        self,
        config: CorrelationConfig,
        new_case_id: Callable[[], str],
        seeds: Iterable[SeedCase] = (),
    ) -> None:
        self.config = config
        self._new_case_id = new_case_id
        self._cases: dict[str, _OpenCase] = {}
        self._entity: dict[str, tuple[str, datetime]] = {}  # key -> (case id, last seen)
        self._dedup: dict[tuple[str, tuple[str, ...]], tuple[str, str, datetime]] = {}
        self._expiry: list[tuple[datetime, int, str, object]] = []  # (time, tick, table, key)
        self._tick = 0
        self._watermark: datetime | None = None
        for seed in seeds:
            case = _OpenCase(
                seed.case_id, seed.opened, seed.last_seen, seed.alerts, set(seed.entities)
            )
            self._cases[seed.case_id] = case
            self._schedule(seed.last_seen + config.join_window, "case", seed.case_id)
            for key in seed.entities:
                self._index(key, seed.case_id, seed.last_seen)

    @property
    def open_entities(self) -> int:
        """Index size, for memory checks and benchmarks."""
        return len(self._entity) + len(self._dedup)

    def add(self, alert: Alert) -> Join:
        """Correlate one alert (alerts must arrive in non-decreasing time order)."""
        if self._watermark is None or alert.time > self._watermark:
            self._watermark = alert.time
            self._evict(alert.time)
        cfg = self.config
        entities = alert_entities(alert, cfg.ignore_entities, cfg.internal_domains)

        dedup_key = (alert.detection_id, entities)
        seen = self._dedup.get(dedup_key)
        if seen is not None and alert.time - seen[2] <= cfg.dedup_window and seen[1] in self._cases:
            first_id, case_id, first_time = seen
            self._touch(case_id, alert.time, entities, distinct=False)
            gap = (alert.time - first_time).total_seconds()
            return Join(
                alert.id,
                case_id,
                "duplicate",
                entities,
                duplicate_of=first_id,
                gap_seconds=gap,
                explanation=f"repeat of {first_id} ({alert.detection_id}, same entities) "
                f"{_human(gap)} after the first; counted on {case_id}",
            )

        matches = self._matches(alert, entities)
        if not matches:
            case_id = self._new_case_id()
            self._cases[case_id] = _OpenCase(case_id, alert.time, alert.time)
            self._schedule(alert.time + cfg.join_window, "case", case_id)
            join = Join(
                alert.id,
                case_id,
                "new_case",
                entities,
                explanation=_new_case_reason(case_id, entities),
            )
        else:
            by_case: dict[str, list[tuple[str, float]]] = {}
            for key, (case_id, gap) in matches.items():
                by_case.setdefault(case_id, []).append((key, gap))
            ordered = sorted(by_case, key=lambda c: (self._cases[c].opened, c))
            target, others = ordered[0], ordered[1:]
            via = tuple(sorted(k for k, _ in by_case[target]))
            gap = min(g for _, g in by_case[target])
            for other in others:
                self._merge(other, into=target)
            if others:
                bridged = "; ".join(
                    f"{o} via {', '.join(sorted(k for k, _ in by_case[o]))}" for o in others
                )
                join = Join(
                    alert.id,
                    target,
                    "merged",
                    entities,
                    via=via,
                    merged_case_ids=tuple(others),
                    gap_seconds=gap,
                    explanation=f"joined {target} via {', '.join(via)} within {_human(gap)}, and "
                    f"merged {bridged} into it (this alert links them)",
                )
            else:
                join = Join(
                    alert.id,
                    target,
                    "joined",
                    entities,
                    via=via,
                    gap_seconds=gap,
                    explanation=f"joined {target} via {', '.join(via)} within {_human(gap)}",
                )
        self._touch(join.case_id, alert.time, entities)
        self._dedup[dedup_key] = (alert.id, join.case_id, alert.time)
        self._schedule(alert.time + cfg.dedup_window, "dedup", dedup_key)
        return join

    def _matches(self, alert: Alert, entities: tuple[str, ...]) -> dict[str, tuple[str, float]]:
        cfg = self.config
        found: dict[str, tuple[str, float]] = {}
        for key in entities:
            hit = self._entity.get(key)
            if hit is None:
                continue
            case_id, last = hit
            case = self._cases.get(case_id)
            gap = abs((alert.time - last).total_seconds())  # seeds may be newer than a late alert
            if (
                case is None
                or gap > cfg.join_window.total_seconds()
                or alert.time - case.opened > cfg.max_case_span
                or case.alerts >= cfg.max_case_alerts
            ):
                continue
            found[key] = (case_id, gap)
        return found

    def _touch(
        self, case_id: str, when: datetime, entities: tuple[str, ...], distinct: bool = True
    ) -> None:
        case = self._cases[case_id]
        case.alerts += distinct  # repeats add no evidence, so they do not fill the case
        case.last_seen = max(case.last_seen, when)
        for key in entities:
            case.entities.add(key)
            self._index(key, case_id, when)

    def _index(self, key: str, case_id: str, when: datetime) -> None:
        self._entity[key] = (case_id, when)
        self._schedule(when + self.config.join_window, "entity", key)

    def _merge(self, source_id: str, into: str) -> None:
        source = self._cases.pop(source_id)
        target = self._cases[into]
        target.alerts += source.alerts
        target.opened = min(target.opened, source.opened)
        target.last_seen = max(target.last_seen, source.last_seen)
        for key in source.entities:
            target.entities.add(key)
            hit = self._entity.get(key)
            if hit is not None and hit[0] == source_id:
                self._entity[key] = (into, hit[1])
        for dedup_key, (first, case_id, when) in list(self._dedup.items()):
            if case_id == source_id:
                self._dedup[dedup_key] = (first, into, when)

    def _schedule(self, expires: datetime, table: str, key: object) -> None:
        self._tick += 1  # unique tiebreak: keys themselves are never compared
        heapq.heappush(self._expiry, (expires, self._tick, table, key))

    def _evict(self, now: datetime) -> None:
        """Drop index entries and cases whose window has passed (amortized O(log n))."""
        window, dedup_window = self.config.join_window, self.config.dedup_window
        while self._expiry and self._expiry[0][0] < now:
            _, _, table, key = heapq.heappop(self._expiry)
            if table == "entity":
                hit = self._entity.get(key)  # type: ignore[call-overload]
                if hit is not None and hit[1] + window < now:
                    del self._entity[key]  # type: ignore[arg-type]
            elif table == "dedup":
                seen = self._dedup.get(key)  # type: ignore[call-overload]
                if seen is not None and seen[2] + dedup_window < now:
                    del self._dedup[key]  # type: ignore[arg-type]
            else:
                case = self._cases.get(key)  # type: ignore[call-overload]
                if case is not None and case.last_seen + window < now:
                    del self._cases[key]  # type: ignore[arg-type]
                elif case is not None:
                    self._schedule(case.last_seen + window, "case", key)


def _new_case_reason(case_id: str, entities: tuple[str, ...]) -> str:
    if not entities:
        return f"opened {case_id}: the alert names no entity that can be joined on"
    return f"opened {case_id}: no open case shares {', '.join(entities[:6])} within the window"


def _human(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
