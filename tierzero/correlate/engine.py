"""Streaming dedup and correlation of time-ordered alerts into cases.

Feed alerts in time order (the store hands them out that way). Each alert becomes one
:class:`Join` saying what happened to it and why:

- ``duplicate``: same detection on the same entities within the dedup window of the first one;
  it is kept and counted on the case but adds no evidence;
- ``joined``: it shares an identifying entity with an open case seen within the join window,
  or it is a *recurrence*: the same detection on the same entity again within the recurrence
  window (a condition that persists for days: a slow upload, a copier's stale password);
- ``merged``: it shares entities with several open cases, which become one (the oldest wins;
  a recurrence merges nothing but fleet-wide patterns);
- ``new_case``: nothing in the window matches.

Not every shared value means a shared incident. Each entity is weighed by how much it
identifies over the lookback (:mod:`tierzero.correlate.weights`): a hash of a binary on every
host, an account seen on every machine, an address several hosts report as their own, never
joins on its own; a rare hash, a C2 address or a user on two hosts still does. Every join
names the entity and why it was strong enough. A recurrence joins only its own pattern: it
never merges cases (a needle that shares a host with three days of noise stays its own case),
with one exception: cases that are nothing but one low-severity detection recurring, each on
its own host, are one fleet-wide pattern (a proxy change failing every laptop's updates).

Memory is bounded by the window, not the stream: index entries older than the window are
evicted as time advances, so 100,000 alerts cost what one window of them costs.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero.correlate.entities import alert_entities
from tierzero.correlate.weights import EntityWeights
from tierzero.ingest.alert import Alert
from tierzero.ingest.base import FLAG_SAMPLE

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
    recurrence_window: timedelta = Field(
        default=timedelta(hours=24),
        description="Max gap between two alerts of one detection on one entity that still "
        "makes them one ongoing pattern (one case)",
    )
    max_recurrence_span: timedelta = Field(
        default=timedelta(days=7), description="How long a recurring pattern's case stays open"
    )
    lookback: timedelta = Field(
        default=timedelta(days=7),
        description="How far back an entity's spread (hosts and users seen with it) is counted",
    )
    common_entity_spread: int = Field(
        default=8,
        ge=2,
        description="An entity seen with this many hosts (or users) in the lookback is common: "
        "it never joins alerts on its own",
    )
    fleet_patterns: bool = Field(
        default=True,
        description="Cases that are nothing but one detection recurring, each on its own host, "
        "at low or unknown severity (at most fleet_max_severity), are one fleet-wide pattern",
    )
    fleet_max_severity: int = Field(
        default=2, ge=1, le=6, description="OCSF severity_id a fleet-wide pattern may reach"
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
    recurring: bool = False  # took a recurrence: stays open up to max_recurrence_span
    top_severity: int | None = None  # highest severity seen (None: a seed, not known)
    detections: set[str] | None = field(default_factory=set)  # None: a seed, not known
    fleet: bool = False  # a fleet-wide pattern: takes alerts of its own detection only


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
        # (detection, entity key) -> (case id, last seen): what a recurrence rejoins
        self._recur: dict[tuple[str, str], tuple[str, datetime]] = {}
        # detection -> the case of its fleet-wide pattern (see _fleet_merge)
        self._fleet: dict[str, str] = {}
        # How long an open case and its entity index stay live after their last alert: a join
        # or a recurrence may still reach them.
        self._life = max(config.join_window, config.recurrence_window)
        self.weights = EntityWeights(config.lookback, config.common_entity_spread)
        self._expiry: list[tuple[datetime, int, str, object]] = []  # (time, tick, table, key)
        self._tick = 0
        self._watermark: datetime | None = None
        for seed in seeds:
            case = _OpenCase(
                seed.case_id,
                seed.opened,
                seed.last_seen,
                seed.alerts,
                set(seed.entities),
                detections=None,
            )
            # Only a recurrence keeps a case open past max_case_span.
            case.recurring = seed.last_seen - seed.opened > config.max_case_span
            self._cases[seed.case_id] = case
            self._schedule(seed.last_seen + self._life, "case", seed.case_id)
            for key in seed.entities:
                self._index(key, seed.case_id, seed.last_seen)

    @property
    def open_entities(self) -> int:
        """Index size, for memory checks and benchmarks."""
        return len(self._entity) + len(self._dedup) + len(self._recur)

    def warm(self, alert: Alert, case_id: str) -> None:
        """Learn from an alert an earlier run already placed (time order, before any ``add``):
        entity spread and recurring patterns carry over between runs."""
        if self._watermark is None or alert.time > self._watermark:
            self._watermark = alert.time
            self._evict(alert.time)
        if FLAG_SAMPLE in alert.flags:
            return  # a sample's made-up entities teach nothing
        entities = alert_entities(alert, self.config.ignore_entities, self.config.internal_domains)
        self.weights.observe(alert, entities)
        if case_id in self._cases:
            for key in entities:
                if (alert.detection_id, key) not in self._recur:  # the first home wins
                    self._remember_recurrence(alert.detection_id, key, case_id, alert.time)

    def add(self, alert: Alert) -> Join:
        """Correlate one alert (alerts must arrive in non-decreasing time order)."""
        if self._watermark is None or alert.time > self._watermark:
            self._watermark = alert.time
            self._evict(alert.time)
        cfg = self.config
        if FLAG_SAMPLE in alert.flags:
            return self._sample_case(alert)
        entities = alert_entities(alert, cfg.ignore_entities, cfg.internal_domains)
        self.weights.observe(alert, entities)

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

        recurrence = self._recurrence(alert, entities)
        matches = {} if recurrence else self._matches(alert, entities)
        if recurrence:
            join = self._recurrence_join(alert, entities, recurrence)
        elif not matches:
            case_id = self._new_case_id()
            self._cases[case_id] = _OpenCase(
                case_id, alert.time, alert.time, top_severity=_severity(alert)
            )
            self._schedule(alert.time + self._life, "case", case_id)
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
                    explanation=f"joined {target} via {self._why(via)} within {_human(gap)}, "
                    f"and merged {bridged} into it (this alert links them)",
                )
            else:
                join = Join(
                    alert.id,
                    target,
                    "joined",
                    entities,
                    via=via,
                    gap_seconds=gap,
                    explanation=f"joined {target} via {self._why(via)} within {_human(gap)}",
                )
        if recurrence:
            join = self._fleet_merge(alert, join)
        self._touch(
            join.case_id,
            alert.time,
            entities,
            severity=_severity(alert),
            claim=not recurrence,
            detection=alert.detection_id,
        )
        # A detection's pattern lives in the case it opened or recurred in: one that merely
        # joined a busy host's case does not pull its next days of recurrences in after it.
        homes = join.kind == "new_case" or bool(recurrence)
        for key in entities:
            home = self._recur.get((alert.detection_id, key))
            if homes or (home is not None and home[0] == join.case_id):
                self._remember_recurrence(alert.detection_id, key, join.case_id, alert.time)
        self._dedup[dedup_key] = (alert.id, join.case_id, alert.time)
        self._schedule(alert.time + cfg.dedup_window, "dedup", dedup_key)
        return join

    def _matches(self, alert: Alert, entities: tuple[str, ...]) -> dict[str, tuple[str, float]]:
        """Open cases that share an identifying entity with the alert within the window.

        A common entity (see ``weights``) counts only beside an identifying one in the same
        case: it never joins on its own.
        """
        cfg = self.config
        found: dict[str, tuple[str, float]] = {}
        for key in entities:
            hit = self._entity.get(key)
            if hit is None:
                continue
            case_id, last = hit
            case = self._cases.get(case_id)
            gap = abs((alert.time - last).total_seconds())  # seeds may be newer than a late alert
            if case is None or (case.fleet and alert.detection_id not in (case.detections or ())):
                continue
            if gap <= cfg.join_window.total_seconds():
                if not self._takes(case, alert):
                    continue
            elif not self._pattern_takes(case, alert, key, gap):
                continue
            found[key] = (case_id, gap)
        strong_cases = {c for k, (c, _) in found.items() if not self.weights.is_common(k)}
        return {k: hit for k, hit in found.items() if hit[0] in strong_cases}

    def _sample_case(self, alert: Alert) -> Join:
        """A vendor sample's made-up entities (i-99999999, 198.51.100.0) must not join real
        cases or count toward any entity's spread: it is a case of its own."""
        case_id = self._new_case_id()
        self._cases[case_id] = _OpenCase(case_id, alert.time, alert.time, alerts=1)
        self._schedule(alert.time + self.config.join_window, "case", case_id)
        return Join(
            alert.id,
            case_id,
            "new_case",
            (),
            explanation=f"opened {case_id}: a vendor-generated sample finding is never joined",
        )

    def _pattern_takes(self, case: _OpenCase, alert: Alert, key: str, gap: float) -> bool:
        """Beyond the join window, a recurring pattern's identifying entities other than its
        host stay live for the recurrence window, for alerts no more severe than the pattern:
        a slow exfiltration's other sightings of its address join it; whatever else happens
        on a busy host does not (a host would chain days of unrelated alerts into one case)."""
        cfg = self.config
        return (
            case.recurring
            and not key.startswith("host:")
            and gap <= cfg.recurrence_window.total_seconds()
            and self._takes(case, alert, recurrence=True)
            and _no_more_severe(_severity(alert), case.top_severity)
        )

    def _takes(self, case: _OpenCase, alert: Alert, recurrence: bool = False) -> bool:
        """Whether a case is still open to a new alert: not too old, not full. Only a
        recurrence (of the pattern or of its address) may reach ``max_recurrence_span``; any
        other join keeps to ``max_case_span``."""
        cfg = self.config
        span = cfg.max_recurrence_span if recurrence else cfg.max_case_span
        return alert.time - case.opened <= span and case.alerts < cfg.max_case_alerts

    def _recurrence(self, alert: Alert, entities: tuple[str, ...]) -> dict[str, tuple[str, float]]:
        """Cases where this detection fired on one of the alert's identifying entities within
        the recurrence window: the same condition, again."""
        window = self.config.recurrence_window.total_seconds()
        found: dict[str, tuple[str, float]] = {}
        for key in entities:
            if self.weights.is_common(key):
                continue
            hit = self._recur.get((alert.detection_id, key))
            if hit is None:
                continue
            case = self._cases.get(hit[0])
            gap = abs((alert.time - hit[1]).total_seconds())
            if case is not None and gap <= window and self._takes(case, alert, True):
                found[key] = (hit[0], gap)
        return found

    def _recurrence_join(
        self, alert: Alert, entities: tuple[str, ...], found: dict[str, tuple[str, float]]
    ) -> Join:
        """Join the oldest case of the pattern, and nothing else: a recurrence never merges
        cases (on a busy host, it would chain every pattern and every incident into one)."""
        target = min({c for c, _ in found.values()}, key=lambda c: (self._cases[c].opened, c))
        via = tuple(sorted(k for k, (c, _) in found.items() if c == target))
        gap = min(g for k, (c, g) in found.items() if c == target)
        self._cases[target].recurring = True
        return Join(
            alert.id,
            target,
            "joined",
            entities,
            via=via,
            gap_seconds=gap,
            explanation=f"joined {target}: {alert.detection_id} again on {self._why(via)}, "
            f"{_human(gap)} after the last time (a recurring pattern)",
        )

    def _fleet_merge(self, alert: Alert, join: Join) -> Join:
        """One low-severity detection recurring on several hosts at once is one condition (a
        broken proxy failing every laptop's updates), not one incident per host: when a
        recurrence keeps a case that is nothing but this detection, that case and the
        detection's earlier such case elsewhere become one (the older wins).

        Only *recurring* single-detection cases merge, at most ``fleet_max_severity``: the
        same detection once on a new host, or beside any other detection, stays its own case.
        A fleet case then takes alerts of its own detection only: anything else on its hosts
        opens or joins another case (the noise of a fleet never buries a needle).
        """
        detection = alert.detection_id
        case = self._cases[join.case_id]
        if not self.config.fleet_patterns or not self._pure_pattern(
            case, detection, _severity(alert)
        ):
            return join
        fleet_id = self._fleet.get(detection)
        fleet = self._cases.get(fleet_id) if fleet_id else None
        if (
            fleet_id is None
            or fleet is None
            or fleet_id == join.case_id
            or not self._pure_pattern(fleet, detection, _severity(alert))
            or not self._takes(fleet, alert, recurrence=True)
        ):
            self._fleet[detection] = join.case_id
            return join
        target, source = sorted((fleet_id, join.case_id), key=lambda c: (self._cases[c].opened, c))
        self._merge(source, into=target)
        self._cases[target].fleet = True
        self._fleet[detection] = target
        return replace(
            join,
            case_id=target,
            kind="merged",
            merged_case_ids=(source,),
            explanation=f"{join.explanation}; merged {source} and {target}: each is only "
            f"{detection} recurring on its own host at low severity (one fleet-wide pattern)",
        )

    def _pure_pattern(self, case: _OpenCase, detection: str, severity: int) -> bool:
        """A recurring case holding only this detection, no more severe than the fleet limit."""
        limit = self.config.fleet_max_severity
        return (
            case.recurring
            and case.detections is not None
            and case.detections <= {detection}
            and case.top_severity is not None
            and max(case.top_severity, severity) <= limit
        )

    def _remember_recurrence(self, detection: str, key: str, case_id: str, when: datetime) -> None:
        if self.weights.is_common(key):
            return
        self._recur[(detection, key)] = (case_id, when)
        self._schedule(when + self.config.recurrence_window, "recur", (detection, key))

    def _why(self, via: Iterable[str]) -> str:
        """The join keys with what made each one identifying."""
        return ", ".join(f"{key} ({self.weights.describe(key)})" for key in via)

    def _touch(
        self,
        case_id: str,
        when: datetime,
        entities: tuple[str, ...],
        distinct: bool = True,
        severity: int = 0,
        claim: bool = True,
        detection: str | None = None,
    ) -> None:
        """Count an alert on its case and index its entities to the case. A recurrence does
        not ``claim`` an entity another open case holds within the join window: the next
        alert of that other incident still finds it (noise does not steal a needle's host)."""
        case = self._cases[case_id]
        case.alerts += distinct  # repeats add no evidence, so they do not fill the case
        case.last_seen = max(case.last_seen, when)
        if case.top_severity is not None:
            case.top_severity = max(case.top_severity, severity)
        if case.detections is not None and detection is not None:
            case.detections.add(detection)
        for key in entities:
            case.entities.add(key)
            held = self._entity.get(key)
            if not claim and held is not None and held[0] != case_id and held[0] in self._cases:
                if (when - held[1]) <= self.config.join_window:
                    continue
            self._index(key, case_id, when)

    def _index(self, key: str, case_id: str, when: datetime) -> None:
        self._entity[key] = (case_id, when)
        self._schedule(when + self._life, "entity", key)

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
        target.recurring = target.recurring or source.recurring
        if target.detections is None or source.detections is None:
            target.detections = None
        else:
            target.detections |= source.detections
        if target.top_severity is None or source.top_severity is None:
            target.top_severity = None
        else:
            target.top_severity = max(target.top_severity, source.top_severity)
        for dedup_key, (first, case_id, when) in list(self._dedup.items()):
            if case_id == source_id:
                self._dedup[dedup_key] = (first, into, when)
        for recur_key, (case_id, when) in list(self._recur.items()):
            if case_id == source_id:
                self._recur[recur_key] = (into, when)

    def _schedule(self, expires: datetime, table: str, key: object) -> None:
        self._tick += 1  # unique tiebreak: keys themselves are never compared
        heapq.heappush(self._expiry, (expires, self._tick, table, key))

    def _evict(self, now: datetime) -> None:
        """Drop index entries and cases whose window has passed (amortized O(log n))."""
        dedup_window = self.config.dedup_window
        self.weights.evict(now)
        while self._expiry and self._expiry[0][0] < now:
            _, _, table, key = heapq.heappop(self._expiry)
            if table == "recur":
                hit = self._recur.get(key)  # type: ignore[call-overload]
                if hit is not None and hit[1] + self.config.recurrence_window < now:
                    del self._recur[key]  # type: ignore[arg-type]
            elif table == "entity":
                hit = self._entity.get(key)  # type: ignore[call-overload]
                if hit is not None and hit[1] + self._life < now:
                    del self._entity[key]  # type: ignore[arg-type]
            elif table == "dedup":
                seen = self._dedup.get(key)  # type: ignore[call-overload]
                if seen is not None and seen[2] + dedup_window < now:
                    del self._dedup[key]  # type: ignore[arg-type]
            else:
                case = self._cases.get(key)  # type: ignore[call-overload]
                if case is not None and case.last_seen + self._life < now:
                    del self._cases[key]  # type: ignore[arg-type]
                elif case is not None:
                    self._schedule(case.last_seen + self._life, "case", key)


def _no_more_severe(other: int | None, pattern: int | None) -> bool:
    """Known severities only: a pattern from an earlier run (its severity is not kept) takes
    no alert beyond the join window."""
    return other is not None and pattern is not None and other <= pattern


def _severity(alert: Alert) -> int:
    """OCSF severity_id as an order (99, other, counts as unknown: 0)."""
    value = int(alert.severity_id)
    return 0 if value == 99 else value


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
