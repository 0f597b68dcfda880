"""Okta System Log ``LogEvent`` objects (``GET /api/v1/logs``: a JSON array, or one per line).

Schema: Okta developer docs, "System Log API" (LogEvent object: uuid, published, eventType,
severity, displayMessage, actor, client, outcome, target, transaction, debugContext,
authenticationContext, securityContext, request) and the Okta event types catalog.
``debugContext.debugData`` values are strings on the wire (``"threatSuspected": "true"``,
``"risk": "{reasons=..., level=HIGH}"``, ``"logOnlySecurityData"`` holds escaped JSON).

Severity: Okta's DEBUG/INFO/WARN/ERROR map to informational/low/medium/high, then the result is
raised to high when Okta itself flags the event: ``debugData.threatSuspected`` is ``"true"``
(ThreatInsight) or the risk level (``debugData.risk`` or ``logOnlySecurityData.risk``) is HIGH.
Severity is only ever raised by these signals, never lowered.

ATT&CK: only the few event types whose meaning is unambiguous (see ``_TECHNIQUES``);
``user.session.start`` maps to T1078 only when it succeeded from a context Okta flagged as
above (threat suspected or HIGH risk).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from tierzero.ingest.alert import (
    Alert,
    Analytic,
    Attack,
    Endpoint,
    EntityKind,
    Severity,
    UserInfo,
)
from tierzero.ingest.base import (
    Observables,
    ParseContext,
    RecordRejected,
    build_alert,
    get,
    parse_time,
    require,
    technique,
    text,
)

_SEVERITY = {
    "DEBUG": Severity.INFORMATIONAL,
    "INFO": Severity.LOW,
    "WARN": Severity.MEDIUM,
    "ERROR": Severity.HIGH,
}

# eventType -> (technique id, name, tactic). Unconditional mappings only.
_TECHNIQUES: dict[str, tuple[str, str, str]] = {
    "user.mfa.okta_verify.deny_push": (
        "T1621",
        "Multi-Factor Authentication Request Generation",
        "credential-access",
    ),
    "user.account.lock": ("T1110", "Brute Force", "credential-access"),
}
# ThreatInsight (security.threat.detected) names the attack in outcome.reason.
_THREAT_REASONS: dict[str, tuple[str, str, str]] = {
    "password spray": ("T1110.003", "Password Spraying", "credential-access"),
    "credential stuffing": ("T1110.004", "Credential Stuffing", "credential-access"),
}
_VALID_ACCOUNTS = ("T1078", "Valid Accounts", "initial-access")
_TACTIC_UIDS = {"credential-access": "TA0006", "initial-access": "TA0001"}
_RISK_LEVEL = re.compile(r"\blevel=([A-Za-z]+)")


class OktaAdapter:
    """Okta System Log events; every LogEvent handed to it is treated as an alert."""

    name: ClassVar[str] = "okta"
    vendor: ClassVar[str] = "Okta"
    product: ClassVar[str] = "Okta System Log"

    def matches(self, record: Mapping[str, Any]) -> bool:
        if all(key in record for key in ("uuid", "published", "eventType")):
            return True
        # An event hook delivery wraps LogEvents; claim it so parse() can say what it is.
        event_type = record.get("eventType")
        return (
            isinstance(event_type, str)
            and event_type.startswith("com.okta.")
            and ("data" in record)
        )

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        event_type_raw = record.get("eventType")
        if isinstance(event_type_raw, str) and event_type_raw.startswith("com.okta."):
            raise RecordRejected(
                f"Okta event hook delivery ({event_type_raw[:60]!r}), not a System Log LogEvent: "
                "extract the events in data.events and ingest those"
            )
        uid = text(require(record, "uuid"), "uuid")
        event_type = text(require(record, "eventType"), "eventType")
        if not event_type:
            raise RecordRejected("field 'eventType' is blank")
        time = parse_time(require(record, "published"), "published")
        title = text(get(record, "displayMessage"), "displayMessage") or event_type
        for key in ("actor", "client", "outcome", "securityContext", "debugContext", "request"):
            _object_or_none(record, key)
        debug = _object_or_none(record, "debugContext.debugData") or {}

        threat_suspected = text(debug.get("threatSuspected"), "debugData.threatSuspected") == "true"
        risk = _risk_level(debug)
        severity = _SEVERITY.get(
            (text(get(record, "severity"), "severity") or "").upper(), Severity.UNKNOWN
        )
        if (threat_suspected or risk == "HIGH") and severity < Severity.HIGH:
            severity = Severity.HIGH

        result = text(get(record, "outcome.result"), "outcome.result")
        reason = text(get(record, "outcome.reason"), "outcome.reason")
        obs = Observables()
        actor = _actor(record, obs)
        _targets(record, obs)
        ip = text(get(record, "client.ipAddress"), "client.ipAddress")
        country = text(
            get(record, "client.geographicalContext.country"), "client.geographicalContext.country"
        )
        obs.add(EntityKind.IP, ip, "src_endpoint.ip")
        obs.add(EntityKind.COUNTRY, country, "src_endpoint.location.country")
        obs.add(
            EntityKind.USER_AGENT,
            get(record, "client.userAgent.rawUserAgent"),
            "http_request.user_agent",
        )
        for hop in _ip_chain(record):
            obs.add(EntityKind.IP, hop, "src_endpoint.intermediate_ips")

        attacks = _attacks(event_type, result, reason, threat_suspected or risk == "HIGH")
        facts = [f"Outcome: {result}" + (f" ({reason})" if reason else "")] if result else []
        if risk:
            facts.append(f"Okta risk level: {risk}")
        if threat_suspected:
            facts.append("Okta ThreatInsight: threat suspected")
        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=title,
            time=time,
            severity=severity,
            observables=obs,
            original_time=record.get("published"),
            message=facts[0] if facts else None,
            actor=actor,
            src_endpoint=Endpoint(ip=ip, country=country) if ip or country else None,
            finding_desc="; ".join(facts) or None,
            finding_types=(event_type,),
            finding_analytic=Analytic(uid=event_type, name=event_type),
            finding_attacks=attacks,
        )


def _object_or_none(record: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    value = get(record, path)
    if value is not None and not isinstance(value, Mapping):
        raise RecordRejected(f"field '{path}' should be an object, got {type(value).__name__}")
    return value


def _actor(record: Mapping[str, Any], obs: Observables) -> UserInfo | None:
    """The acting principal; only ``type: User`` actors become USER observables."""
    if get(record, "actor.type") != "User":
        return None
    login = text(get(record, "actor.alternateId"), "actor.alternateId")
    if login == "unknown":
        login = None
    obs.add(EntityKind.USER, login, "actor.user.name")
    if login and "@" in login:
        obs.add(EntityKind.EMAIL, login, "actor.user.email_addr")
    uid = text(get(record, "actor.id"), "actor.id")
    if not login and not uid:
        return None
    return UserInfo(name=login, uid=uid, email=login if login and "@" in login else None)


def _targets(record: Mapping[str, Any], obs: Observables) -> None:
    """Users the event acted on (``target[].type == "User"``)."""
    targets = get(record, "target", [])
    if not isinstance(targets, list):
        raise RecordRejected(f"field 'target' should be a list, got {type(targets).__name__}")
    for index, target in enumerate(targets):
        if not isinstance(target, Mapping):
            raise RecordRejected(f"field 'target[{index}]' should be an object")
        if target.get("type") != "User":
            continue
        login = text(target.get("alternateId"), f"target[{index}].alternateId")
        if login and login != "unknown":
            obs.add(EntityKind.USER, login, "user.name")
            if "@" in login:
                obs.add(EntityKind.EMAIL, login, "user.email_addr")


def _ip_chain(record: Mapping[str, Any]) -> list[str]:
    chain = get(record, "request.ipChain", [])
    if not isinstance(chain, list):
        raise RecordRejected(
            f"field 'request.ipChain' should be a list, got {type(chain).__name__}"
        )
    return [
        ip
        for hop in chain
        if isinstance(hop, Mapping)
        if (ip := text(hop.get("ip"), "request.ipChain.ip"))
    ]


def _risk_level(debug: Mapping[str, Any]) -> str | None:
    """Okta's risk level from ``risk`` ("{reasons=..., level=HIGH}") or logOnlySecurityData."""
    risk = debug.get("risk")
    if isinstance(risk, Mapping):
        risk = f"level={risk.get('level')}"
    if isinstance(risk, str) and (found := _RISK_LEVEL.search(risk)):
        return found.group(1).upper()
    security = debug.get("logOnlySecurityData")
    if isinstance(security, str):
        try:
            security = json.loads(security)
        except (ValueError, RecursionError):
            return None  # a debug hint, not worth rejecting the event over
    level = get(security, "risk.level") if isinstance(security, Mapping) else None
    return level.upper() if isinstance(level, str) else None


def _attacks(
    event_type: str, result: str | None, reason: str | None, flagged: bool
) -> tuple[Attack, ...]:
    rows: list[tuple[str, str, str]] = []
    if event_type in _TECHNIQUES:
        rows.append(_TECHNIQUES[event_type])
    if event_type == "security.threat.detected" and reason:
        rows += [row for key, row in _THREAT_REASONS.items() if key in reason.lower()]
    if event_type == "user.session.start" and result == "SUCCESS" and flagged:
        rows.append(_VALID_ACCOUNTS)
    return tuple(
        a.model_copy(update={"tactic_uid": _TACTIC_UIDS.get(row[2])})
        for row in rows
        if (a := technique(*row))
    )
