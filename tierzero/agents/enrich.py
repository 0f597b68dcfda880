"""Enrichment node: look every entity of the case up through the read-only tools."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from tierzero.agents.context import CaseFile, RunContext
from tierzero.agents.state import (
    CaseState,
    Enrichment,
    Evidence,
    IntelHit,
    WindowHit,
    history_keys,
)
from tierzero.guardrails.mediator import Mediator
from tierzero.ingest.alert import EntityKind
from tierzero.tools.inventory import Asset, Identity, Scanner
from tierzero.tools.investigation.signins import IdentityStep
from tierzero.tools.registry import ToolArgumentError

# Observable kinds worth a threat-intelligence lookup, and the indicator type they match.
_INTEL_KINDS = (EntityKind.IP, EntityKind.DOMAIN, EntityKind.URL, EntityKind.HASH, EntityKind.EMAIL)


ACTIVITY_SHOWN = 12  # routine identity steps of one account written into its evidence line

# What a lookup that could not be made counts as.
_NOTHING_FOUND: dict[str, Any] = {
    "maintenance_windows": [],
    "threat_intel": [],
    "detection_history": 0,
    "case_identity_activity": None,
}


def enrich_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Enrich the case and number the evidence every later conclusion must cite."""
    ctx = runtime.context
    case = ctx.case_file(state.case_id)
    mediator = ctx.mediator(state.case_id, actor="enrich")
    enrichment = enrich_case(case, mediator, ctx.priority.history_lookback_days)
    return {
        "enrichment": enrichment,
        "evidence": build_evidence(case, enrichment),
        "visited": (*state.visited, "enrich"),
    }


def enrich_case(case: CaseFile, mediator: Mediator, lookback_days: int = 7) -> Enrichment:
    """Call the lookup tools (through the mediator) for each distinct entity and detection."""

    def call(name: str, **arguments: Any) -> Any:
        # A value no tool accepts (a 300-character "hostname") is looked up as nothing; the
        # mediator has audited the rejected call, and the alert itself still stands.
        try:
            return mediator.call(name, arguments)
        except ToolArgumentError:
            return _NOTHING_FOUND.get(name)

    assets: dict[str, Asset] = {}
    identities: dict[str, Identity] = {}
    scanners: dict[str, Scanner] = {}
    windows: list[WindowHit] = []
    intel: list[IntelHit] = []
    unknown_hosts: list[str] = []
    unknown_users: list[str] = []
    seen_hosts: set[str] = set()
    seen_users: set[str] = set()
    seen_intel: set[str] = set()
    history: dict[str, int] = {}
    start = min((a.time for a in case.alerts), default=None)

    for alert in case.primary_alerts:
        for host in alert.values(EntityKind.HOST):
            for hit in call("maintenance_windows", host=host, at=alert.time):
                windows.append(WindowHit(host=host, alert_id=alert.id, window=hit))
            if host in seen_hosts:
                continue
            seen_hosts.add(host)
            asset = call("lookup_asset", host=host)
            if asset is None:
                unknown_hosts.append(host)
            else:
                assets[asset.hostname] = asset
            if (scanner := call("known_scanner", address=host)) is not None:
                scanners[host] = scanner
        for ip in alert.values(EntityKind.IP):
            if ip not in seen_hosts:
                seen_hosts.add(ip)
                if (asset := call("lookup_asset", host=ip)) is not None:
                    assets[asset.hostname] = asset
                if (scanner := call("known_scanner", address=ip)) is not None:
                    scanners[ip] = scanner
        for kind in (EntityKind.USER, EntityKind.EMAIL):
            for user in alert.values(kind):
                if user in seen_users:
                    continue
                seen_users.add(user)
                identity = call("lookup_identity", user=user)
                if identity is not None:
                    identities[identity.user] = identity
                elif kind is EntityKind.USER:
                    unknown_users.append(user)
        for kind in _INTEL_KINDS:
            for value in alert.values(kind):
                if value.lower() in seen_intel:
                    continue
                seen_intel.add(value.lower())
                for indicator in call("threat_intel", indicator=value, at=alert.time):
                    intel.append(IntelHit(value=value, kind=kind.value, indicator=indicator))
        for key, host in history_keys(alert):
            if key not in history and start is not None:
                history[key] = call(
                    "detection_history",
                    detection_id=alert.detection_id,
                    host=host,
                    before=start,
                    lookback_days=lookback_days,
                )
    activity: tuple[IdentityStep, ...] = ()
    if seen_users:
        found = call("case_identity_activity")
        activity = found.steps if found is not None else ()
    return Enrichment(
        history=history,
        activity=activity,
        assets=assets,
        identities=identities,
        scanners=scanners,
        windows=tuple(windows),
        intel=tuple(intel),
        unknown_hosts=tuple(unknown_hosts),
        unknown_users=tuple(unknown_users),
        tool_calls=mediator.calls,
    )


def _step(step: IdentityStep) -> str:
    where = " ".join(v for v in (step.src_ip, step.country) if v)
    return f"{step.time:%Y-%m-%d %H:%M:%S} {step.event_type} {step.outcome or 'no outcome'}" + (
        f" from {where}" if where else ""
    )


def build_evidence(case: CaseFile, enrichment: Enrichment) -> tuple[Evidence, ...]:
    """Number alerts first (in time order), then what enrichment found."""
    items: list[Evidence] = []

    def add(
        kind: Any, summary: str, alert_id: str | None = None, source: str | None = None
    ) -> None:
        items.append(
            Evidence(
                id=f"E{len(items) + 1}",
                kind=kind,
                summary=summary,
                alert_id=alert_id,
                source=source,
            )
        )

    for alert in case.primary_alerts:
        repeats = case.duplicates.get(alert.id, 0)
        where = ", ".join(alert.values(EntityKind.HOST)[:2] or alert.values(EntityKind.IP)[:2])
        summary = f"{alert.metadata.product.name}: {alert.title}" + (
            f" on {where}" if where else ""
        )
        if repeats:
            summary += f" (+{repeats} repeats)"
        add("alert", summary, alert.id, alert.provenance.source)
    if case.left_out:
        add(
            "alert",
            f"{case.left_out} more distinct alerts of this case were left out of this analysis "
            f"(it read the oldest {len(case.alerts)}; case_alerts pages through all of them)",
        )
    for asset in enrichment.assets.values():
        add(
            "asset",
            f"{asset.hostname}: {asset.role}, {asset.criticality} criticality, "
            f"{asset.environment}, owner {asset.owner}"
            + (", crown jewel" if asset.crown_jewel else ""),
        )
    for identity in enrichment.identities.values():
        add(
            "identity",
            f"{identity.user}: {identity.role}, privilege {identity.privilege}, "
            f"MFA {'on' if identity.mfa else 'off'}, usual countries "
            f"{', '.join(identity.usual_countries) or 'none'}",
        )
    for hit in enrichment.intel:
        add(
            "intel",
            f"{hit.kind} {hit.value} matches {hit.indicator.source}: "
            f"{hit.indicator.description} (confidence {hit.indicator.confidence})",
        )
    for address, scanner in enrichment.scanners.items():
        add("scanner", f"{address} is the approved scanner '{scanner.name}'")
    for key, earlier in enrichment.history.items():
        add(
            "history",
            f"{key}: fired in {earlier} distinct earlier hour(s) within the lookback"
            if earlier
            else f"{key}: never fired before within the lookback (novel)",
        )
    by_user: dict[str, list[IdentityStep]] = {}
    for step in enrichment.activity:
        by_user.setdefault(step.user, []).append(step)
    for user, steps in by_user.items():
        shown = "; ".join(_step(s) for s in steps[:ACTIVITY_SHOWN])
        more = len(steps) - ACTIVITY_SHOWN
        add(
            "activity",
            f"{user}: {len(steps)} routine identity step(s) around the case (not alerts): "
            + shown
            + (f"; +{more} more (case_identity_activity lists them)" if more > 0 else ""),
        )
    for window_hit in {(w.host, w.window.id): w for w in enrichment.windows}.values():
        add(
            "window",
            f"{window_hit.host} is inside change window {window_hit.window.id} "
            f"({window_hit.window.description})",
        )
    return tuple(items)
