"""Facts: the named, deterministic observations playbooks and priority rules decide on.

Each fact has a value and the evidence ids that support it, so every branch a playbook takes
can cite what it stood on. The full list of fact names is in ``config/playbooks/README.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tierzero.agents.context import CaseFile, RunContext
from tierzero.agents.state import CaseState, Enrichment, Evidence, history_keys
from tierzero.correlate.entities import host_key, is_external_ip, user_key
from tierzero.ingest.alert import Alert, EntityKind
from tierzero.ingest.base import FLAG_SAMPLE
from tierzero.settings.organization import BusinessHours
from tierzero.tools.investigation.signins import signin_outcome


@dataclass
class Facts:
    """Fact name -> value, and fact name -> supporting evidence ids."""

    values: dict[str, Any] = field(default_factory=dict)
    support: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def set(self, name: str, value: Any, evidence: list[str] | tuple[str, ...] = ()) -> None:
        self.values[name] = value
        self.support[name] = tuple(dict.fromkeys(evidence))

    def get(self, name: str) -> Any:
        if name not in self.values:
            raise KeyError(f"unknown fact '{name}'")
        return self.values[name]


def compute_facts(
    case: CaseFile,
    enrichment: Enrichment,
    evidence: tuple[Evidence, ...],
    hours: BusinessHours | None = None,
    internal_domains: tuple[str, ...] = (),
) -> Facts:
    """Derive every fact from the case's alerts, the enrichment and the numbered evidence."""
    hours = hours or BusinessHours()
    facts = Facts()
    alerts = case.primary_alerts
    by_alert = {e.alert_id: e.id for e in evidence if e.alert_id}
    of_kind: dict[str, list[str]] = {}
    for item in evidence:
        of_kind.setdefault(item.kind, []).append(item.id)

    def alerts_where(predicate: Any) -> list[str]:
        return [by_alert[a.id] for a in alerts if predicate(a) and a.id in by_alert]

    techniques: set[str] = set()
    for alert in alerts:
        for uid in alert.techniques:
            techniques.update({uid, uid.split(".")[0]})
    facts.set("techniques", techniques, alerts_where(lambda a: a.techniques))
    tactics = {t.lower() for a in alerts for t in a.tactics}
    facts.set("tactics", tactics, alerts_where(lambda a: a.tactics))
    facts.set("tactic_count", len(tactics), alerts_where(lambda a: a.tactics))
    top = max((int(a.severity_id) for a in alerts if int(a.severity_id) < 99), default=0)
    facts.set("max_severity", top, alerts_where(lambda a: int(a.severity_id) == top))
    facts.set("alert_count", case.alert_count, of_kind.get("alert", []))
    facts.set("distinct_detections", len({a.detection_id for a in alerts}))
    facts.set("sources", {a.provenance.source for a in alerts}, of_kind.get("alert", []))
    facts.set("source_count", len(facts.get("sources")), of_kind.get("alert", []))
    facts.set("titles", [a.title for a in alerts], of_kind.get("alert", []))

    hosts = {host_key(h) for a in alerts for h in a.values(EntityKind.HOST)}
    users = {user_key(u, internal_domains) for a in alerts for u in a.values(EntityKind.USER)}
    facts.set("host_count", len(hosts), alerts_where(lambda a: a.values(EntityKind.HOST)))
    facts.set("user_count", len(users), alerts_where(lambda a: a.values(EntityKind.USER)))
    external = sorted({ip for a in alerts for ip in a.values(EntityKind.IP) if is_external_ip(ip)})
    facts.set("external_ips", external)
    facts.set("external_involved", bool(external), alerts_where(_has_external_ip))
    samples = alerts_where(lambda a: FLAG_SAMPLE in a.flags)
    facts.set("all_samples", bool(alerts) and len(samples) == len(alerts), samples)
    facts.set(
        "process_execution",
        any(a.process and a.process.cmd_line for a in alerts),
        alerts_where(lambda a: a.process and a.process.cmd_line),
    )
    facts.set(
        "email_involved",
        any(a.values(EntityKind.EMAIL_SUBJECT) for a in alerts),
        alerts_where(lambda a: a.values(EntityKind.EMAIL_SUBJECT)),
    )
    facts.set("cloud_involved", any(a.cloud for a in alerts), alerts_where(lambda a: a.cloud))

    intel_ids = of_kind.get("intel", [])
    facts.set("intel_match", bool(enrichment.intel), intel_ids)
    facts.set("intel_kinds", {h.kind for h in enrichment.intel}, intel_ids)
    facts.set(
        "intel_confidence",
        max((h.indicator.confidence for h in enrichment.intel), default=0),
        intel_ids,
    )

    assets = list(enrichment.assets.values())
    asset_ids = of_kind.get("asset", [])
    facts.set("max_criticality", max((a.criticality_rank for a in assets), default=0), asset_ids)
    facts.set("crown_jewel", any(a.crown_jewel for a in assets), asset_ids)
    facts.set("environments", {a.environment for a in assets}, asset_ids)
    facts.set("asset_roles", {a.role for a in assets}, asset_ids)
    facts.set("unknown_hosts", len(enrichment.unknown_hosts))

    identities = list(enrichment.identities.values())
    identity_ids = of_kind.get("identity", [])
    facts.set("privileged_user", any(i.privileged for i in identities), identity_ids)
    facts.set("service_account", any(i.privilege == "service" for i in identities), identity_ids)
    facts.set("mfa_missing", any(not i.mfa for i in identities), identity_ids)
    facts.set("unknown_users", len(enrichment.unknown_users))

    usual = {c.upper() for i in identities for c in i.usual_countries}
    countries = {c.upper() for a in alerts for c in a.values(EntityKind.COUNTRY)}
    unusual = sorted(c for c in countries if identities and c not in usual and len(c) == 2)
    facts.set(
        "new_country",
        bool(unusual),
        [*alerts_where(lambda a: set(a.values(EntityKind.COUNTRY)) & set(unusual)), *identity_ids],
    )
    facts.set("countries", countries)
    approved = _approved_after_denials(alerts, case.duplicates, enrichment, internal_domains)
    facts.set(
        "mfa_approved_after_denials",
        bool(approved),
        [*(by_alert[a] for a in approved if a in by_alert), *of_kind.get("activity", [])]
        if approved
        else [],
    )

    # An admin touching a host the inventory says they administer.
    admin_pairs = [(i.user, a.hostname) for i in identities for a in assets if i.user in a.admins]
    facts.set(
        "admin_on_managed_host",
        bool(admin_pairs) and all(i.privilege == "admin" for i in identities),
        [*identity_ids, *asset_ids],
    )
    facts.set(
        "business_hours",
        bool(alerts) and all(hours.covers(a.time) for a in alerts),
        of_kind.get("alert", []),
    )

    history_ids = of_kind.get("history", [])
    counts = list(enrichment.history.values())
    facts.set("min_prior_hours", min(counts, default=0), history_ids)
    facts.set(
        "pattern_hours",
        _pattern_hours(alerts, enrichment.history),
        [*history_ids, *of_kind.get("alert", [])],
    )
    facts.set("novel_detections", sum(1 for n in counts if n == 0), history_ids)

    # A scanner must be the *source* of the activity: a scanner address anywhere else (say,
    # as a destination an attacker chose) proves nothing about the alert.
    scanner_addresses = {k.lower() for k in enrichment.scanners}
    from_scanner = [
        a
        for a in alerts
        if {o.value.lower() for o in a.observables if o.name.startswith("src_endpoint.")}
        & scanner_addresses
    ]
    facts.set("scanner_involved", bool(from_scanner), of_kind.get("scanner", []))
    facts.set(
        "all_from_scanner",
        bool(alerts) and len(from_scanner) == len(alerts),
        of_kind.get("scanner", []),
    )
    # An alert is inside a change window only if every host it names is in one.
    window_hosts: dict[str, set[str]] = {}
    for hit in enrichment.windows:
        window_hosts.setdefault(hit.alert_id, set()).add(host_key(hit.host))

    def in_window(alert: Any) -> bool:
        hosts = {host_key(h) for h in alert.values(EntityKind.HOST)}
        return bool(hosts) and hosts <= window_hosts.get(alert.id, set())

    facts.set(
        "all_in_window",
        bool(alerts) and all(in_window(a) for a in alerts),
        of_kind.get("window", []),
    )
    facts.set("window_involved", bool(window_hosts), of_kind.get("window", []))
    return facts


def fact_names() -> set[str]:
    """Every fact name :func:`compute_facts` defines (equal to ``settings.playbooks.FACT_NAMES``,
    which playbooks are checked against at load time; a test keeps the two equal)."""
    empty = CaseFile(case_id="C-0", alerts=(), duplicates={}, joins=())
    return set(compute_facts(empty, Enrichment(), ()).values)


def facts_for(state: CaseState, ctx: RunContext) -> Facts:
    """The facts of the case in ``state`` (needs enrichment and evidence to be there)."""
    if state.enrichment is None:
        raise ValueError(f"{state.case_id}: facts need the enrichment step first")
    return compute_facts(
        ctx.case_file(state.case_id),
        state.enrichment,
        state.evidence,
        ctx.hours,
        ctx.internal_domains,
    )


def _approved_after_denials(
    alerts: Sequence[Alert],
    repeats: Mapping[str, int],
    enrichment: Enrichment,
    internal_domains: tuple[str, ...],
) -> list[str]:
    """MFA fatigue that worked: an account rejected MFA pushes (T1621) at least twice (repeats
    collapsed by dedup count), then signed in or passed MFA. Returns the ids of the denial
    alerts and of the sign-in alerts that succeeded after them (empty: no such account).

    The success is a later step of the same account: a sign-in alert whose outcome is success,
    or a routine identity step that succeeded (the provider's sign-in, MFA or session event,
    kept as context; its evidence is the account's activity line).
    """
    denials: dict[str, list[Alert]] = {}
    for alert in alerts:
        if any(t.split(".")[0] == "T1621" for t in alert.techniques):
            for user in alert.values(EntityKind.USER):
                denials.setdefault(user_key(user, internal_domains), []).append(alert)
    found: list[str] = []
    for user, denied in denials.items():
        if sum(1 + repeats.get(a.id, 0) for a in denied) < 2:
            continue
        first = min(a.time for a in denied)
        steps = any(
            user_key(s.user, internal_domains) == user and s.time > first and s.authenticated
            for s in enrichment.activity
        )
        signed_in = [
            a.id
            for a in alerts
            if a.time > first
            and a not in denied
            and signin_outcome(a) == "success"
            and user in {user_key(u, internal_domains) for u in a.values(EntityKind.USER)}
        ]
        if steps or signed_in:
            found.extend([*(a.id for a in denied), *signed_in])
    return list(dict.fromkeys(found))


def _has_external_ip(alert: Alert) -> bool:
    return any(is_external_ip(ip) for ip in alert.values(EntityKind.IP))


def _pattern_hours(alerts: Sequence[Alert], prior: Mapping[str, int]) -> int:
    """In how many distinct hours the case's least recurring (detection, host) pair has fired:
    the hours before the case (``prior``, the baseline) plus its own. A case that is a
    detection recurring for days (correlation keeps those in one case) is its own baseline, so
    a pattern is judged by all of its hours, not only those before it began. 0 without alerts.

    A fleet-wide pattern (one detection, recurring on every host of the case: correlation
    merges those) is one condition, judged by its longest-running host: a laptop that joined
    the proxy failure yesterday does not make three days of it new. A detection seen once on
    any host keeps the least-recurring rule (a one-off on a new host is not a pattern).
    """
    own: dict[str, set[int]] = {}
    for alert in alerts:
        hour = int(alert.time.timestamp() // 3600)
        for key, _host in history_keys(alert):
            own.setdefault(key, set()).add(hour)
    hours = [prior.get(key, 0) + len(seen) for key, seen in own.items()]
    fleet = len({a.detection_id for a in alerts}) == 1 and len(hours) > 1 and min(hours) >= 2
    return (max if fleet else min)(hours, default=0)
