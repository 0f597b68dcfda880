"""Learning from people's verdicts: proposing suppressions and answering them.

A suppression is proposed only from feedback (``store.learning``): cases people resolved
``false_positive`` or ``benign_positive``, never a model's or a playbook's verdict. A detection
people resolved benign on one host becomes a rule for that host; one they resolved benign on
several hosts becomes a *group* rule (host ``*``): the detection on every host where it is
routine, since a learned rule never closes a detection on a host without a baseline for it.
A rule is proposed when, within ``learning.lookback``:

- people gave at least ``min_verdicts`` benign verdicts on cases covering it (a case resolved
  again after new alerts joined it counts again: a recurring pattern is one case), on at least
  ``min_days`` distinct days;
- no *contrary verdict*: no case a person resolved ``true_positive`` is one the rule, with the
  rules already live, would have closed (every alert of it covered). A contrary verdict also
  disables the live rules that cover such a case at once, in the resolution's own
  transaction. (A true positive that also holds alerts no rule covers contradicts nothing:
  those rules would not have closed it.)
- none of those alerts was high or critical, the host is not a crown jewel, and no rule about
  it was rejected or disabled within the lookback.

A person approves each proposal; nobody approves a rule taught by their verdicts alone. An
approved rule runs in shadow for ``learning.shadow`` (its would-be closures are counted), then
closes the cases it covers until it expires, unless a guard objects
(``guardrails.suppression``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tierzero.guardrails.actors import same_person
from tierzero.guardrails.suppression import ANY_HOST, HIGH_SEVERITY
from tierzero.settings import Settings
from tierzero.store.learning import LIVE_STATUSES, Suppression
from tierzero.store.sqlite import Store
from tierzero.usecases.errors import NotFound, Refused, usable_actor

MAX_CASES_CITED = 50  # evidence lists at most this many case ids (the counts are exact)


@dataclass
class _Evidence:
    """Benign verdicts on one detection (on one host, or on each host for a group rule)."""

    verdicts: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (case, day)
    people: set[str] = field(default_factory=set)
    hosts: set[str] = field(default_factory=set)
    max_severity: int = 0

    def add(
        self, feedback_id: int, case_id: str, day: str, person: str, host: str, sev: int
    ) -> None:
        self.verdicts[feedback_id] = (case_id, day)
        self.people.add(person)
        self.hosts.add(host)
        self.max_severity = max(self.max_severity, sev)

    def days(self) -> set[str]:
        return {day for _, day in self.verdicts.values()}


def propose_suppressions(store: Store, settings: Settings, now: datetime) -> list[Suppression]:
    """Propose a rule for every detection the feedback now supports (see the module); returns
    the new proposals. Also expires proposals nobody answered in ``proposal_lifetime``."""
    config = settings.learning
    _expire_unanswered(store, settings, now)
    if not config.propose:
        return []
    per_host: dict[tuple[str, str], _Evidence] = defaultdict(_Evidence)
    per_detection: dict[str, _Evidence] = defaultdict(_Evidence)
    attacks: dict[int, set[tuple[str, str]]] = defaultdict(set)  # true positives' pairs
    for detection, host, feedback_id, case_id, verdict, person, at, severity in store.pair_verdicts(
        now - config.lookback
    ):
        if verdict == "true_positive":
            attacks[feedback_id].add((detection, host))
        elif verdict in ("false_positive", "benign_positive"):
            for evidence in (per_host[(detection, host)], per_detection[detection]):
                evidence.add(feedback_id, case_id, at[:10], person, host, severity)
    live = [(r.detection_id, r.host) for r in store.suppressions(LIVE_STATUSES)]
    settled = _settled_pairs(store, now - config.lookback)
    proposed = []
    for detection, group in sorted(per_detection.items()):
        # Benign on several hosts: one rule for the detection wherever it is routine (the
        # baseline guard keeps it off hosts where it is new); else one rule per host.
        if len(group.hosts) > 1:
            candidates = [(ANY_HOST, group)]
        else:
            candidates = [(host, per_host[(detection, host)]) for host in sorted(group.hosts)]
        for host, evidence in candidates:
            if (
                len(evidence.verdicts) < config.min_verdicts
                or len(evidence.days()) < config.min_days
                or evidence.max_severity >= HIGH_SEVERITY
                or (detection, host) in settled
                or (host != ANY_HOST and _crown_jewel(settings, host))
                or any(
                    _would_close(pairs, [*live, (detection, host)]) for pairs in attacks.values()
                )
            ):
                continue
            rule = store.propose_suppression(
                detection,
                host,
                evidence.max_severity,
                _evidence_of(evidence),
                now,
                now + config.proposal_lifetime,
            )
            if rule is not None:
                proposed.append(rule)
    return proposed


def _evidence_of(evidence: _Evidence) -> dict[str, Any]:
    cases = sorted({case for case, _ in evidence.verdicts.values()})
    return {
        "verdicts": len(evidence.verdicts),
        "case_count": len(cases),
        "cases": cases[:MAX_CASES_CITED],
        "people": sorted(evidence.people),
        "days": sorted(evidence.days()),
        "hosts": sorted(evidence.hosts)[:MAX_CASES_CITED],
    }


def _would_close(pairs: set[tuple[str, str]], rules: list[tuple[str, str]]) -> bool:
    """Whether these rules cover every (detection, host) of a case: then they would have
    closed it, and a person found an attack in it."""
    return bool(pairs) and all(
        (detection, host) in rules or (detection, ANY_HOST) in rules for detection, host in pairs
    )


def approve_suppression(
    store: Store, settings: Settings, rule_id: int, actor: str, reason: str, now: datetime
) -> Suppression:
    """A person approves a proposal: it runs in shadow, then in force until it expires.
    Refused for a person whose verdicts alone taught it (four eyes)."""
    actor = usable_actor(actor)
    rule = _rule(store, rule_id)
    people = rule.evidence.get("people") or []
    if people and all(same_person(actor, p) for p in people):
        raise Refused(
            f"S-{rule_id} was learned from {actor}'s verdicts alone: another person approves it"
        )
    config = settings.learning
    return _change(
        store,
        rule_id,
        ("proposed",),
        "approved",
        actor,
        reason,
        now,
        shadow_until=now + config.shadow,
        expires_at=now + config.rule_lifetime,
    )


def reject_suppression(
    store: Store, rule_id: int, actor: str, reason: str, now: datetime
) -> Suppression:
    """A person rejects a proposal; the pair is not proposed again within the lookback."""
    return _change(store, rule_id, ("proposed",), "rejected", usable_actor(actor), reason, now)


def expire_suppression(
    store: Store, rule_id: int, actor: str, reason: str, now: datetime
) -> Suppression:
    """A person ends a proposal or an approved rule now."""
    return _change(
        store, rule_id, ("proposed", "approved"), "expired", usable_actor(actor), reason, now
    )


def suppression_rows(store: Store, now: datetime, everything: bool = False) -> list[dict[str, Any]]:
    """The rules as people read them: phase as of now, evidence, closures and shadow counts
    (live rules, or every rule with ``everything``)."""
    closures = store.closures()
    shown = []
    for rule in store.suppressions():
        phase = rule.phase(now)
        if not everything and phase in ("rejected", "expired", "disabled"):
            continue
        closed, would = closures.get(rule.rule_id, (0, 0))
        shown.append(
            {
                "id": f"S-{rule.id}",
                "detection": rule.detection_id,
                "host": rule.host,
                "max_severity": rule.max_severity,
                "phase": phase,
                "verdicts": rule.evidence.get("verdicts"),
                "cases": rule.evidence.get("case_count"),
                "people": rule.evidence.get("people"),
                "days": rule.evidence.get("days"),
                "evidence_cases": rule.evidence.get("cases"),
                "proposed_at": rule.proposed_at,
                "answered_by": rule.answered_by,
                "answered_at": rule.answered_at,
                "reason": rule.reason,
                "shadow_until": rule.shadow_until,
                "expires_at": rule.expires_at,
                "closed_cases": closed,
                "shadow_matches": would,
            }
        )
    return shown


def _rule(store: Store, rule_id: int) -> Suppression:
    rule = store.suppression(rule_id)
    if rule is None:
        raise NotFound(f"no suppression S-{rule_id}")
    return rule


def _change(
    store: Store,
    rule_id: int,
    allowed: tuple[str, ...],
    status: Any,
    actor: str,
    reason: str,
    now: datetime,
    **times: datetime,
) -> Suppression:
    _rule(store, rule_id)
    try:
        return store.change_suppression(rule_id, allowed, status, actor, reason, now, **times)
    except ValueError as exc:
        raise Refused(str(exc)) from None


def _expire_unanswered(store: Store, settings: Settings, now: datetime) -> None:
    for rule in store.suppressions(("proposed",)):
        if rule.phase(now) == "expired":
            store.change_suppression(
                rule.id, ("proposed",), "expired", "learning", "nobody answered it", now
            )


def _settled_pairs(store: Store, since: datetime) -> set[tuple[str, str]]:
    """Pairs a person rejected, or a contrary verdict disabled, within the lookback."""
    return {
        (r.detection_id, r.host)
        for r in store.suppressions(("rejected", "disabled"))
        if r.answered_at and datetime.fromisoformat(r.answered_at) >= since
    }


def _crown_jewel(settings: Settings, host: str) -> bool:
    asset = settings.inventory.asset(host)
    return bool(asset is not None and asset.crown_jewel)
