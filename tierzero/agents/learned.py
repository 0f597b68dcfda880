"""Learned suppressions at the prioritize step: which approved rules are about this case, the
signals and baselines the guards need, and the decision (``guardrails.suppression``).

Everything read here is structured: detection ids, hosts, severities, ATT&CK fields and counts
from the store, and the case's facts. No alert text is read, so no alert can argue its own
case closed.
"""

from __future__ import annotations

from datetime import timedelta

from tierzero.agents.context import RunContext
from tierzero.agents.facts import Facts
from tierzero.agents.state import CaseState
from tierzero.guardrails.suppression import (
    CaseSignals,
    PairFacts,
    RuleView,
    SuppressionCheck,
    check_suppression,
    covering,
)
from tierzero.store.schema import to_us

HOUR_US = 3_600_000_000
DAILY_HOURS = 6  # a baseline at this many hours of the day or fewer has a daily rhythm
ROUTINE_DAYS = 3  # a daily rhythm needs this many days of history (two is chance)


def case_baseline(state: CaseState, ctx: RunContext) -> list[PairFacts]:
    """Each (detection, host) of the case against its baseline (learned from the stream)."""
    lookback = timedelta(days=ctx.priority.history_lookback_days)
    return [
        _pair(ctx, detection, host, alerts, severity, newest, lookback)
        for detection, host, alerts, severity, newest in ctx.store.case_pairs(state.case_id)
    ]


def deviations(pairs: list[PairFacts]) -> tuple[list[str], list[str]]:
    """The pairs firing far above their baseline, and those outside their daily rhythm, in
    words (they raise the case's priority)."""
    surging = [f"{p.detection_id} on {p.host}" for p in pairs if p.surge]
    off = [
        f"{p.detection_id} on {p.host} at {p.odd_hour:02d}h"
        for p in pairs
        if p.odd_hour is not None
    ]
    return surging, off


def learned_check(
    state: CaseState, ctx: RunContext, facts: Facts, pairs: list[PairFacts]
) -> SuppressionCheck:
    """Whether the learned rules in shadow or in force close this case, and why not
    (``pairs``: :func:`case_baseline`)."""
    now = ctx.now
    rules = [
        RuleView(r.rule_id, r.detection_id, r.host, r.max_severity, r.phase(now) == "in_force")
        for r in ctx.store.suppressions(("approved",))
        if r.phase(now) in ("shadow", "in_force")
    ]
    if not rules or not any(covering(rules, p.detection_id, p.host) for p in pairs):
        return SuppressionCheck()
    lookback = timedelta(days=ctx.priority.history_lookback_days)
    signals = CaseSignals(
        intel_match=bool(facts.get("intel_match")),
        max_severity=max(
            int(facts.get("max_severity") or 0), ctx.store.case_max_severity(state.case_id)
        ),
        crown_jewel=bool(facts.get("crown_jewel")),
        privileged_user=bool(facts.get("privileged_user")),
        new_techniques=_new_techniques(ctx, state.case_id, lookback),
        uncovered_alerts=ctx.store.hostless_alerts(state.case_id),
        unread_alerts=ctx.case_file(state.case_id).left_out,
    )
    return check_suppression(signals, pairs, rules)


def _pair(
    ctx: RunContext,
    detection: str,
    host: str,
    alerts: int,
    severity: int,
    newest_us: int,
    lookback: timedelta,
) -> PairFacts:
    """The pair's baseline: its hours before the recent window (``baseline_warmup``) against
    the hours within it: the busiest (a surge), and the hours of the day (one never seen)."""
    config = ctx.learning
    hour = newest_us // HOUR_US
    recent_from = (hour + 1) * HOUR_US - int(config.baseline_warmup.total_seconds() * 1e6)
    counts = ctx.store.hourly_counts(
        detection,
        host,
        (hour + 1) * HOUR_US - int(lookback.total_seconds() * 1e6),
        (hour + 1) * HOUR_US,
    )
    earlier = {h: n for h, n in counts.items() if h * HOUR_US < recent_from}
    recent = {h: n for h, n in counts.items() if h * HOUR_US >= recent_from}
    busiest_before = max(earlier.values(), default=0)
    busiest_now = max(recent.values(), default=0)
    # No earlier hours: a detection new for the host, not a surge (that has its own weight).
    surge = (
        bool(earlier)
        and busiest_now >= config.rate_floor
        and busiest_now > config.rate_factor * busiest_before
    )
    prior = [h for h in counts if h < hour]
    return PairFacts(
        detection,
        host,
        alerts,
        severity,
        baseline_ready=bool(earlier),
        surge=surge,
        odd_hour=_odd_hour(prior, hour),
        days_seen=len({h // 24 for h in prior}),
    )


def _odd_hour(prior: list[int], hour: int) -> int | None:
    """The hour of the day (UTC) of ``hour``, when the pair never fired at it (or an hour
    either side) before and its history has a daily rhythm: on three days or more, at no more
    hours of the day than days, and a few at most (``DAILY_HOURS``). A pair that fires around
    the clock, or at scattered hours, has no odd hour. (Hours since the epoch: ``h % 24`` is
    the hour of the day, ``h // 24`` the day.)"""
    hours_of_day = {h % 24 for h in prior}
    days = len({h // 24 for h in prior})
    if days < ROUTINE_DAYS or len(hours_of_day) > min(DAILY_HOURS, days):
        return None
    usual = {(h + shift) % 24 for h in hours_of_day for shift in (-1, 0, 1)}
    return hour % 24 if hour % 24 not in usual else None


def _new_techniques(ctx: RunContext, case_id: str, lookback: timedelta) -> tuple[str, ...]:
    """ATT&CK techniques of the case's alerts (repeats included) that their host never showed
    before the case; an alert without a host has no history, so its techniques are new."""
    new: list[str] = []
    row = ctx.store.case(case_id)
    start_us = to_us(row.first_seen) if row is not None else 0
    for technique, host, first_us in ctx.store.case_techniques(case_id):
        if technique in new:
            continue
        since = first_us - int(lookback.total_seconds() * 1e6)
        earliest = min(first_us, start_us)
        if not host or not ctx.store.technique_seen(host, technique, since, earliest):
            new.append(technique)
    return tuple(new)
