"""Live operating metrics, computed from the store: how the SOC tier is doing on real cases.

Every figure is defined where it is computed (see each function). Shared rules:

- **Scope.** Cases that are not merged into another, created at or after ``since`` (their
  ``created_at``, UTC) when given. A case absorbs the cases merged into it: their audit
  records, actions and verdicts count for it (correlation moves the alerts themselves).
- **Statistics** come from :mod:`tierzero.evals.stats`: the median (mean of the two middle
  values for an even count), the nearest-rank p95 (always a measured value), and ratios that
  are ``None`` ("n/a") when nothing was there to measure, never a flattering 0 or 1.
- **Clock.** Times are the ones tierzero stamped: a batch ``tierzero triage`` run stamps
  ingestion, correlation, analysis and execution with the run's one clock, so within one run
  these durations are 0; they measure the waits between runs (a backlog, a failed run, an
  approval that took an hour). Vendor event times are not used (they measure the source).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tierzero.evals.stats import median, percentile, ratio
from tierzero.store.cases import CaseRow
from tierzero.store.sqlite import Store
from tierzero.tools.attack import builtin_techniques

CONCLUDED = ("closed", "auto_closed")
CONTAINMENT_CLASSES = ("contain", "disrupt")
# Statuses of an action that ran (a lease that ended or was rolled back still ran).
RAN = ("executed", "rolled_back", "expired")
NO_TACTIC = "(no tactic)"


def parse_since(text: str) -> datetime:
    """An ISO date (``2026-10-01``: midnight UTC) or date-time (UTC when it has no offset).

    ValueError with a readable message otherwise.
    """
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is not an ISO date (2026-10-01) or date-time (2026-10-01T08:00:00Z)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class Durations:
    """Seconds from one event to another, over ``count`` items: median and nearest-rank p95."""

    count: int
    median: float | None
    p95: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> Durations:
        return cls(len(seconds), median(seconds), percentile(seconds, 0.95))

    def as_json(self) -> dict[str, Any]:
        return {"count": self.count, "median_seconds": self.median, "p95_seconds": self.p95}


@dataclass(frozen=True)
class DetectionPrecision:
    """One detection's alerts and what analysts said about them.

    An alert of a resolved case is a true positive when the case was resolved
    ``true_positive``, and not otherwise (benign or false positive). ``fp_rate`` = non-TP
    alerts / resolved alerts; ``precision`` = 1 - ``fp_rate`` (both None with nothing
    resolved). ``unresolved`` alerts are in cases no analyst resolved: the coverage gap.
    Alerts are primary alerts: repeats collapsed by deduplication are one event, not
    independent samples.
    """

    detection_id: str
    alerts: int
    resolved: int
    true_positive: int

    @property
    def unresolved(self) -> int:
        return self.alerts - self.resolved

    @property
    def fp_rate(self) -> float | None:
        return ratio(self.resolved - self.true_positive, self.resolved)

    @property
    def precision(self) -> float | None:
        fp = self.fp_rate
        return None if fp is None else 1.0 - fp

    def as_json(self) -> dict[str, Any]:
        return {
            "detection_id": self.detection_id,
            "alerts": self.alerts,
            "resolved": self.resolved,
            "true_positive": self.true_positive,
            "unresolved": self.unresolved,
            "fp_rate": self.fp_rate,
            "precision": self.precision,
        }


@dataclass(frozen=True)
class Touches:
    """Analyst touches: audit records made by a person on a case (see :func:`human_touch`)."""

    cases: int
    touches: int
    touched_cases: int
    per_case_median: float | None
    per_case_mean: float | None
    by_kind: dict[str, int]

    @property
    def untouched_share(self) -> float | None:
        """Cases no person touched (handled entirely by the automation)."""
        return ratio(self.cases - self.touched_cases, self.cases)

    def as_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "touches": self.touches,
            "touched_cases": self.touched_cases,
            "untouched_share": self.untouched_share,
            "per_case_median": self.per_case_median,
            "per_case_mean": self.per_case_mean,
            "by_kind": self.by_kind,
        }


@dataclass(frozen=True)
class EvidenceCompleteness:
    """Concluded cases whose conclusion rests on complete evidence (see
    :func:`evidence_problem` for the definition)."""

    concluded: int
    complete: int
    incomplete: tuple[tuple[str, str], ...]

    @property
    def share(self) -> float | None:
        return ratio(self.complete, self.concluded)

    def as_json(self) -> dict[str, Any]:
        return {
            "concluded": self.concluded,
            "complete": self.complete,
            "share": self.share,
            "incomplete": [{"case_id": c, "problem": p} for c, p in self.incomplete],
        }


@dataclass(frozen=True)
class AttackCoverage:
    """ATT&CK techniques observed across the cases: distinct ids, grouped by the tactic the
    alerts map them to (``(no tactic)`` when none does), and the share of cases with one."""

    techniques: tuple[str, ...]
    by_tactic: dict[str, tuple[str, ...]]
    cases: int
    cases_with_technique: int

    @property
    def share(self) -> float | None:
        return ratio(self.cases_with_technique, self.cases)

    def as_json(self) -> dict[str, Any]:
        return {
            "techniques": list(self.techniques),
            "distinct_techniques": len(self.techniques),
            "by_tactic": {k: list(v) for k, v in self.by_tactic.items()},
            "cases": self.cases,
            "cases_with_technique": self.cases_with_technique,
            "share": self.share,
        }


@dataclass(frozen=True)
class LiveMetrics:
    """The operating metrics of one store (``tierzero metrics``)."""

    since: datetime | None
    cases: int
    alerts: int
    alert_to_analysis: Durations
    alerts_not_analysed: int
    case_to_containment: Durations
    detections: tuple[DetectionPrecision, ...]
    touches: Touches
    evidence: EvidenceCompleteness
    attack: AttackCoverage
    resolved_cases: int = 0

    def precision_figures(self, min_samples: int = 1) -> dict[str, tuple[float | None, int]]:
        """Detection id -> (precision, resolved alerts) for the precision feed; precision is
        None below ``min_samples`` resolved alerts (too few to trust)."""
        return {
            d.detection_id: (d.precision if d.resolved >= min_samples else None, d.resolved)
            for d in self.detections
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "cases": self.cases,
            "alerts": self.alerts,
            "resolved_cases": self.resolved_cases,
            "alert_to_analysis": {
                **self.alert_to_analysis.as_json(),
                "not_analysed": self.alerts_not_analysed,
            },
            "case_to_containment": {
                **self.case_to_containment.as_json(),
                "contained_cases": self.case_to_containment.count,
            },
            "detections": [d.as_json() for d in self.detections],
            "touches": self.touches.as_json(),
            "evidence": self.evidence.as_json(),
            "attack": self.attack.as_json(),
        }


@dataclass(frozen=True)
class AlertRecord:
    """What the metrics need of one stored alert (read in SQL, not parsed whole)."""

    id: str
    case_id: str  # the live case it is in now
    primary: bool  # not a repeat collapsed by deduplication
    detection_id: str
    ingested_at: datetime | None
    attacks: tuple[tuple[str, str | None], ...]  # (technique id, tactic name or None)


def live_metrics(store: Store, since: datetime | None = None) -> LiveMetrics:
    """Compute every live metric over the cases in scope (see the module docstring)."""
    rows = store.cases(include_merged=True)
    root = _roots(rows)
    scope = [
        r
        for r in rows
        if r.merged_into is None
        and (since is None or datetime.fromisoformat(r.created_at) >= since)
    ]
    in_scope = {r.id for r in scope}
    alerts = [a for a in _alerts(store, root) if a.case_id in in_scope]
    resolutions = dict(store.conn.execute("SELECT case_id, verdict FROM resolutions").fetchall())
    by_case: dict[str, list[AlertRecord]] = defaultdict(list)
    for alert in alerts:
        by_case[alert.case_id].append(alert)
    latency, waiting = alert_latency(store, alerts, rows)
    return LiveMetrics(
        since=since,
        cases=len(scope),
        alerts=len(alerts),
        alert_to_analysis=Durations.of(latency),
        alerts_not_analysed=waiting,
        case_to_containment=Durations.of(containment_times(store, scope, rows, root)),
        detections=detection_precision(alerts, resolutions),
        touches=analyst_touches(store, in_scope, root),
        evidence=cases_with_complete_evidence(scope, by_case, resolutions),
        attack=attack_coverage(scope, by_case),
        resolved_cases=sum(1 for r in scope if r.id in resolutions),
    )


def alert_latency(
    store: Store, alerts: Iterable[AlertRecord], rows: list[CaseRow]
) -> tuple[list[float], int]:
    """Seconds from each alert's ingestion (``provenance.ingested_at``) to the first analysis
    of its case saved at or after it, and how many alerts have no such analysis yet.

    The analysis time is the ``ts`` of the case's ``verdict`` audit records: one per saved
    analysis revision, stamped with the clock the analysis ran at (a revision resumed by an
    approval answer writes another, marked ``resumed``, which is not an analysis and is
    skipped). ``cases.updated_at`` is
    not usable: it holds only the latest change, and joins, merges and approval answers move
    it too. An alert's case is followed from the one it first joined (its ``correlation``
    audit record) through any merges to the case it is in now, so an analysis made before a
    merge counts. Every alert counts, repeats included (each one is work that arrived).
    """
    merged_into = {r.id: r.merged_into for r in rows}
    verdicts: dict[str, list[datetime]] = defaultdict(list)
    for case_id, ts in store.conn.execute(
        "SELECT case_id, ts FROM audit WHERE kind = 'verdict' AND case_id IS NOT NULL"
        " AND json_extract(payload, '$.resumed') IS NULL"
    ):
        verdicts[case_id].append(datetime.fromisoformat(ts))
    first_case = dict(
        store.conn.execute(
            "SELECT json_extract(payload, '$.alert_id'), case_id FROM audit"
            " WHERE kind = 'correlation' ORDER BY seq DESC"
        ).fetchall()
    )  # newest first, so the dict keeps each alert's first join
    seconds: list[float] = []
    waiting = 0
    for alert in alerts:
        path = _merge_path(first_case.get(alert.id, alert.case_id), merged_into)
        after = [
            t
            for case_id in path
            for t in verdicts.get(case_id, ())
            if alert.ingested_at is not None and t >= alert.ingested_at
        ]
        if alert.ingested_at is None or not after:
            waiting += 1
            continue
        seconds.append((min(after) - alert.ingested_at).total_seconds())
    return seconds, waiting


def containment_times(
    store: Store, scope: list[CaseRow], rows: list[CaseRow], root: Mapping[str, str]
) -> list[float]:
    """Seconds from a case's opening to its first executed containment: the earliest
    ``executed_at`` of an action of class contain or disrupt that ran (executed, or executed
    and later rolled back or expired), minus the case's ``created_at`` (the earliest among it
    and the cases merged into it). Cases with no such action are not counted; the count is
    the number of contained cases."""
    opened: dict[str, datetime] = {}
    for row in rows:
        top = root[row.id]
        at = datetime.fromisoformat(row.created_at)
        opened[top] = min(at, opened.get(top, at))
    first: dict[str, datetime] = {}
    marks = ",".join("?" * len(RAN))
    classes = ",".join("?" * len(CONTAINMENT_CLASSES))
    for case_id, executed_at in store.conn.execute(
        f"SELECT case_id, executed_at FROM actions WHERE executed_at IS NOT NULL"
        f" AND status IN ({marks}) AND action_class IN ({classes})",
        (*RAN, *CONTAINMENT_CLASSES),
    ):
        top = root.get(case_id, case_id)
        at = datetime.fromisoformat(executed_at)
        first[top] = min(at, first.get(top, at))
    return [(first[r.id] - opened[r.id]).total_seconds() for r in scope if r.id in first]


def detection_precision(
    alerts: Iterable[AlertRecord], resolutions: Mapping[str, str]
) -> tuple[DetectionPrecision, ...]:
    """Per detection, from analysts' resolutions of the cases its primary alerts are in (see
    :class:`DetectionPrecision`). Sorted by detection id."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for alert in alerts:
        if not alert.primary:
            continue
        tally = counts[alert.detection_id]
        tally["alerts"] += 1
        verdict = resolutions.get(alert.case_id)
        if verdict is not None:
            tally["resolved"] += 1
            tally["tp"] += verdict == "true_positive"
    return tuple(
        DetectionPrecision(d, c["alerts"], c["resolved"], c["tp"])
        for d, c in sorted(counts.items())
    )


def human_touch(kind: str, actor: str, payload: Mapping[str, Any]) -> bool:
    """Whether an audit record is a person's touch on a case:

    - ``chat`` messages an analyst wrote (``role: analyst``; the answers are not);
    - ``approval`` answers (payload has ``answer``) by anyone but the approval timer (the
      requests, reminders and expiries are the machine's);
    - ``resolution`` records (always a person);
    - ``rollback`` records by anyone but the lease sweeper.

    An action an analyst requests is asked for in a chat message, which is counted; its
    approval request is not counted again.
    """
    if kind == "chat":
        return payload.get("role") == "analyst"
    if kind == "approval":
        return "answer" in payload and actor != "approval-timer"
    if kind == "resolution":
        return True
    if kind == "rollback":
        return actor != "lease-sweeper"
    return False


def analyst_touches(store: Store, in_scope: set[str], root: Mapping[str, str]) -> Touches:
    """Touches per case (:func:`human_touch`) over the cases in scope, zeros included."""
    per_case: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    for case_id, kind, actor, payload in store.conn.execute(
        "SELECT case_id, kind, actor, payload FROM audit WHERE case_id IS NOT NULL"
        " AND kind IN ('chat', 'approval', 'resolution', 'rollback')"
    ):
        top = root.get(case_id, case_id)
        if top in in_scope and human_touch(kind, actor, json.loads(payload)):
            per_case[top] += 1
            by_kind[kind] += 1
    values = [float(per_case.get(c, 0)) for c in sorted(in_scope)]
    return Touches(
        cases=len(values),
        touches=sum(per_case.values()),
        touched_cases=len(per_case),
        per_case_median=median(values),
        per_case_mean=ratio(sum(values), len(values)),
        by_kind=dict(sorted(by_kind.items())),
    )


def evidence_problem(analysis: Mapping[str, Any] | None, primary_ids: set[str]) -> str | None:
    """Why a concluded case's evidence is incomplete, or None when it is complete.

    Complete means all three: the conclusion cites at least one evidence id (it rests on
    something); every cited id is an evidence item of the case (nothing cited is missing or
    invented); and every primary alert of the case is among the evidence (the conclusion saw
    the whole case, not an earlier, smaller version of it).
    """
    if not analysis or not analysis.get("analysis"):
        return "no analysis"
    cited = list(analysis["analysis"].get("evidence") or [])
    items = analysis.get("evidence") or []
    known = {item.get("id") for item in items}
    covered = {item.get("alert_id") for item in items if item.get("alert_id")}
    if not cited:
        return "the conclusion cites no evidence"
    missing = [c for c in cited if c not in known]
    if missing:
        return f"cites evidence the case does not have: {', '.join(map(str, missing[:5]))}"
    unseen = primary_ids - covered
    if unseen:
        return f"{len(unseen)} alert(s) of the case are not in the evidence"
    return None


def cases_with_complete_evidence(
    scope: list[CaseRow], by_case: Mapping[str, list[AlertRecord]], resolutions: Mapping[str, str]
) -> EvidenceCompleteness:
    """Share of concluded cases (closed, auto-closed, or resolved by an analyst) with complete
    evidence (:func:`evidence_problem`)."""
    concluded = [r for r in scope if r.status in CONCLUDED or r.id in resolutions]
    problems = []
    for row in concluded:
        primary = {a.id for a in by_case.get(row.id, []) if a.primary}
        problem = evidence_problem(row.analysis, primary)
        if problem is not None:
            problems.append((row.id, problem))
    return EvidenceCompleteness(len(concluded), len(concluded) - len(problems), tuple(problems))


def attack_coverage(
    scope: list[CaseRow], by_case: Mapping[str, list[AlertRecord]]
) -> AttackCoverage:
    """Distinct technique ids over the cases in scope, from the analyses (``techniques``) and
    the alerts' ATT&CK mappings. A technique's tactics are those the alerts pair it with;
    when no alert names one, the built-in ATT&CK table's (else ``(no tactic)``)."""
    tactics: dict[str, set[str]] = defaultdict(set)
    seen: set[str] = set()
    with_technique = 0
    for row in scope:
        found = set(((row.analysis or {}).get("analysis") or {}).get("techniques") or [])
        for alert in by_case.get(row.id, []):
            for technique, tactic in alert.attacks:
                found.add(technique)
                if tactic:
                    tactics[technique].add(tactic)
        seen |= found
        with_technique += bool(found)
    table = builtin_techniques()
    grouped: dict[str, set[str]] = defaultdict(set)
    for technique in seen:
        known = table.get(technique)
        for tactic in tactics.get(technique) or set(known.tactics if known else ()) or {NO_TACTIC}:
            grouped[tactic].add(technique)
    return AttackCoverage(
        techniques=tuple(sorted(seen)),
        by_tactic={k: tuple(sorted(v)) for k, v in sorted(grouped.items())},
        cases=len(scope),
        cases_with_technique=with_technique,
    )


def _roots(rows: Iterable[CaseRow]) -> dict[str, str]:
    """Each case id -> the live case it ended up in (itself unless merged)."""
    merged_into = {r.id: r.merged_into for r in rows}
    return {case_id: _merge_path(case_id, merged_into)[-1] for case_id in merged_into}


def _merge_path(case_id: str, merged_into: Mapping[str, str | None]) -> list[str]:
    """``case_id`` and every case it was merged into, in order (cycle-safe)."""
    path = [case_id]
    while (nxt := merged_into.get(path[-1])) and nxt not in path:
        path.append(nxt)
    return path


def _alerts(store: Store, root: Mapping[str, str]) -> list[AlertRecord]:
    """Every assigned alert with the fields the metrics need, read in SQL (not parsed whole)."""
    out = []
    for alert_id, case_id, duplicate_of, detection_id, ingested, attacks in store.conn.execute(
        "SELECT id, case_id, duplicate_of, detection_id,"
        " json_extract(body, '$.provenance.ingested_at'),"
        " json_extract(body, '$.finding_info.attacks') FROM alerts WHERE case_id IS NOT NULL"
    ):
        pairs = tuple(
            (str(a["technique_uid"]), a.get("tactic_name"))
            for a in json.loads(attacks or "[]")
            if isinstance(a, dict) and a.get("technique_uid")
        )
        out.append(
            AlertRecord(
                id=alert_id,
                case_id=root.get(case_id, case_id),
                primary=duplicate_of is None,
                detection_id=detection_id,
                ingested_at=_aware(ingested),
                attacks=pairs,
            )
        )
    return out


def _aware(text: str | None) -> datetime | None:
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)
