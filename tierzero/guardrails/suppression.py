"""Whether a learned suppression may close a case: a pure decision with guards no
configuration can loosen.

A case closes by learned rules only when every one of its alerts is covered (each alert's
detection on its host has a rule, in force, up to that rule's severity) and nothing in the case
argues against closing. Once a rule is about the case, the guards, in this order:

1. a threat-intelligence match;
2. an alert of high or critical severity (OCSF 4 and up);
3. a crown-jewel asset;
4. a privileged identity;
5. a technique the host has not shown before the case (its tactics with it);
6. a detection new for the host: it did not fire there before the baseline's recent window
   (``learning.baseline_warmup``), so it has no baseline yet;
7. an hour far above the (detection, host)'s baseline rate, or an hour of the day (within an
   hour either side) at which it never fired in its baseline;
8. an alert no rule covers (no host, a detection without a rule, a severity above the rule's,
   or a group rule on a host where its detection fired on fewer than ``GROUP_ROUTINE_DAYS``
   days: people confirmed a host rule's routine on that host, a group rule's only elsewhere),
   or an alert the analysis did not read (a case larger than one analysis reads: its facts
   cover only what was read).

A rule still in its shadow period closes nothing: the case records that it would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HIGH_SEVERITY = 4  # OCSF severity_id: 4 high, 5 critical, 6 fatal
ANY_HOST = "*"  # a group rule's host: every host where its detection is routine
GROUP_ROUTINE_DAYS = 2  # a group rule covers a host where its detection fired on this many days


@dataclass(frozen=True)
class PairFacts:
    """One (detection, host) pair of the case: its alerts, worst severity and baseline."""

    detection_id: str
    host: str
    alerts: int
    max_severity: int
    baseline_ready: bool  # the pair has ``baseline_warmup`` of history before this hour
    surge: bool  # its busiest hour in the case is far above the busiest earlier hour
    odd_hour: int | None = None  # an hour of the day (UTC) it fires at, new to its baseline
    days_seen: int = 0  # distinct days it fired on the host before this hour


@dataclass(frozen=True)
class RuleView:
    """A rule as the decision needs it: id, pair, severity bound, and whether in force."""

    rule_id: str
    detection_id: str
    host: str
    max_severity: int
    in_force: bool  # False: still in its shadow period


@dataclass(frozen=True)
class CaseSignals:
    """What in the case argues against closing it (from the case's facts)."""

    intel_match: bool
    max_severity: int
    crown_jewel: bool
    privileged_user: bool
    new_techniques: tuple[str, ...]
    uncovered_alerts: int  # alerts with no (detection, host) pair: no host, no detection
    unread_alerts: int = 0  # distinct alerts past what one analysis reads (MAX_CASE_ALERTS)


@dataclass(frozen=True)
class SuppressionCheck:
    """The answer: the rules that close the case (empty: it stays open), the shadow rules
    that would have, and why it stays open."""

    closing: tuple[str, ...] = ()
    shadow: tuple[str, ...] = ()
    blocked: tuple[str, ...] = ()

    @property
    def closes(self) -> bool:
        return bool(self.closing)


def check_suppression(
    signals: CaseSignals, pairs: Sequence[PairFacts], rules: Sequence[RuleView]
) -> SuppressionCheck:
    """Decide whether learned rules close a case (see the module's guard order)."""
    if not pairs or not rules:
        return SuppressionCheck()
    matching = [covering(rules, p.detection_id, p.host) for p in pairs]
    if not any(matching):
        return SuppressionCheck()  # no rule is about this case at all: nothing to say
    blocked = _guards(signals, pairs)
    uncovered = [
        f"{p.detection_id} on {p.host}"
        for p, rule in zip(pairs, matching, strict=True)
        if rule is None
        or p.max_severity > rule.max_severity
        or (rule.host == ANY_HOST and p.days_seen < GROUP_ROUTINE_DAYS)
    ]
    if signals.unread_alerts:
        blocked.append(f"{signals.unread_alerts} alerts of the case were not read: none closes it")
    if signals.uncovered_alerts:
        blocked.append(f"{signals.uncovered_alerts} alerts name no host a rule could cover")
    if uncovered:
        shown = ", ".join(uncovered[:3]) + (
            f" and {len(uncovered) - 3} more" if len(uncovered) > 3 else ""
        )
        blocked.append(f"no learned rule covers {shown}")
    cited = tuple(dict.fromkeys(r.rule_id for r in matching if r is not None))
    if blocked:
        return SuppressionCheck(blocked=tuple(blocked))
    if all(r is not None and r.in_force for r in matching):
        return SuppressionCheck(closing=cited)
    return SuppressionCheck(shadow=cited, blocked=("a rule it needs is still in shadow",))


def covering(rules: Sequence[RuleView], detection_id: str, host: str) -> RuleView | None:
    """The rule about this detection on this host: its own, else its detection's group rule
    (``host`` ``*``: every host where the detection has a baseline, which guard 6 checks)."""
    exact = group = None
    for rule in rules:
        if rule.detection_id == detection_id:
            if rule.host == host:
                exact = rule
            elif rule.host == ANY_HOST:
                group = rule
    return exact or group


def _guards(signals: CaseSignals, pairs: Sequence[PairFacts]) -> list[str]:
    reasons = []
    if signals.intel_match:
        reasons.append("threat intelligence matches")
    if signals.max_severity >= HIGH_SEVERITY:
        reasons.append("an alert is high or critical")
    if signals.crown_jewel:
        reasons.append("a crown jewel is involved")
    if signals.privileged_user:
        reasons.append("a privileged identity is involved")
    if signals.new_techniques:
        reasons.append(f"technique new for the host: {', '.join(signals.new_techniques[:3])}")
    cold = [p for p in pairs if not p.baseline_ready]
    if cold:
        reasons.append(
            f"a detection new for the host (no baseline yet): {cold[0].detection_id} on "
            f"{cold[0].host}"
        )
    odd = [p for p in pairs if p.odd_hour is not None]
    if odd:
        reasons.append(
            f"{odd[0].detection_id} on {odd[0].host} fires at {odd[0].odd_hour:02d}h UTC, an "
            "hour of the day it never fired at before"
        )
    surging = [p for p in pairs if p.surge]
    if surging:
        reasons.append(
            f"{surging[0].detection_id} on {surging[0].host} fires far above its baseline"
        )
    return reasons
