"""Okta System Log ``LogEvent`` objects (``GET /api/v1/logs``: a JSON array, or one per line).

Schema: Okta developer docs, "System Log API" (LogEvent object: uuid, published, eventType,
severity, displayMessage, actor, client, outcome, target, transaction, debugContext,
authenticationContext, securityContext, request) and the Okta event types catalog.
``debugContext.debugData`` values are strings on the wire (``"threatSuspected": "true"``,
``"risk": "{reasons=..., level=HIGH}"``, ``"behaviors": "{New IP=POSITIVE, Velocity=...}"``,
``"logOnlySecurityData"`` holds escaped JSON).

**An event stream, not an alert feed.** Every sign-in, sign-out and policy evaluation is a
LogEvent. Only what is suspicious becomes an alert; every other event is refused with
:class:`NotAnAlert` ("not an alert: routine Okta event '<eventType>' (...)") and so kept in the
quarantine with that reason, never dropped. An event is an alert when one of these holds:

* **Okta itself detected something** (``_DETECTIONS``): ThreatInsight (``security.threat.detected``,
  ``security.attack.start``, ``security.request.blocked``), Identity Threat Protection
  (``user.risk.detect``, ``user.session.context.change``, ``policy.auth_reevaluate.fail``),
  breached credentials, a user reporting suspicious activity, a refresh token reused
  (token theft), a lockout (``user.account.lock``: the end of a guessing series), a rejected
  Okta Verify push (``user.mfa.okta_verify.deny_push``) or an MFA bypass attempt.
* **An admin change that grants power or removes a control** (``_CHANGES``): admin role grants
  (``user.account.privilege.grant``, ``group.privilege.grant``,
  ``iam.resourceset.bindings.add``), support impersonation, API token creation, an identity
  provider added or changed (whoever runs it can sign in as any user), a policy, rule, network
  zone or org authenticator disabled or deleted, a user's MFA factors removed, log streaming or
  event hooks turned off. Updates (``policy.rule.update``...) are left out: one record cannot
  say whether the change weakened anything. A change that failed is still an alert (someone
  tried) but keeps Okta's own severity.
* **A failure that is itself the signal**: an MFA challenge failed after the password was
  accepted (``user.authentication.auth_via_mfa`` FAILURE/DENY: someone holds the password),
  and per-user operation rate limits on authenticator verification or enrollment (OTP guessing,
  SMS/voice enrollment abuse). A single failed password sign-in is routine (typos); the series
  shows up as a lockout or a ThreatInsight detection.
* **Okta flagged the request's context**, whatever the event type: ThreatInsight suspects the
  IP (``debugData.threatSuspected == "true"``), the risk level is HIGH, the request came through
  an anonymizing proxy (``securityContext.isProxy``), or Okta's Velocity behavior is POSITIVE
  (impossible travel). Other behaviors (New IP, New Device, New Country...) alone are not:
  they fire on every trip and new laptop, and Okta folds them into its risk level.

MFA fatigue is a series (many pushes, several denials), and one record cannot see a series:
each rejected push is an alert (T1621), and correlation joins them by user and source address
into one case, where the count and the pace are visible.

Severity: Okta's DEBUG/INFO/WARN/ERROR map to informational/low/medium/high; each reason above
sets a floor (``_Rule.floor``), and a suspected threat or HIGH risk raises it to high.
Severity is only ever raised by these signals, never lowered.

ATT&CK: only where the event's meaning is unambiguous (see the rule tables);
``user.session.start`` maps to T1078 only when it succeeded from a context Okta flagged.

The adapter reads one LogEvent per record. An event hook delivery (``com.okta.event_hook``,
``data.events[]``) is refused with a reason saying how many events it holds: the reader would
have to unwrap it (see the report of issue 12).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from tierzero.ingest.activity import IdentityActivity
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
    NotAnAlert,
    Observables,
    ParseContext,
    RecordRejected,
    build_alert,
    get,
    read_time,
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

_Technique = tuple[str, str, str]  # id, name, tactic
_BRUTE_FORCE: _Technique = ("T1110", "Brute Force", "credential-access")
_MFA_REQUESTS: _Technique = (
    "T1621",
    "Multi-Factor Authentication Request Generation",
    "credential-access",
)
_CLOUD_ROLES: _Technique = ("T1098.003", "Additional Cloud Roles", "privilege-escalation")
_MFA_MODIFIED: _Technique = ("T1556.006", "Multi-Factor Authentication", "defense-evasion")
_POLICY_MODIFIED: _Technique = ("T1556.009", "Conditional Access Policies", "defense-evasion")
_LOGS_DISABLED: _Technique = ("T1562.008", "Disable or Modify Cloud Logs", "defense-evasion")
_TRUSTED_RELATIONSHIP: _Technique = ("T1199", "Trusted Relationship", "initial-access")
_VALID_ACCOUNTS: _Technique = ("T1078", "Valid Accounts", "initial-access")
_TRUST_MODIFIED: _Technique = ("T1484.002", "Trust Modification", "privilege-escalation")


@dataclass(frozen=True)
class _Rule:
    """Why an event type is an alert, the least severity it deserves, and its technique."""

    why: str
    floor: Severity
    attack: _Technique | None = None


# Okta's own detections: the event exists because Okta judged something suspicious.
_DETECTIONS: dict[str, _Rule] = {
    "security.threat.detected": _Rule("Okta ThreatInsight detected a threat", Severity.MEDIUM),
    "security.attack.start": _Rule(
        "Okta ThreatInsight: the org is under a password-based attack",
        Severity.MEDIUM,
        _BRUTE_FORCE,
    ),
    "security.request.blocked": _Rule(
        "request blocked by an IP block list or blocked network zone", Severity.LOW
    ),
    "security.breached_credential.detected": _Rule(
        "the user's credentials appear in a known breach", Severity.MEDIUM
    ),
    "user.account.report_suspicious_activity_by_enduser": _Rule(
        "the user reported this activity as suspicious", Severity.MEDIUM
    ),
    "user.risk.detect": _Rule(
        "Okta Identity Threat Protection detected user risk", Severity.MEDIUM
    ),
    "user.session.context.change": _Rule(
        "Okta Identity Threat Protection: the session's context changed (possible hijack)",
        Severity.LOW,
        ("T1550.004", "Web Session Cookie", "defense-evasion"),
    ),
    "policy.auth_reevaluate.fail": _Rule(
        "Okta Identity Threat Protection: a session failed policy re-evaluation", Severity.LOW
    ),
    "app.oauth2.token.detect_reuse": _Rule(
        "a refresh token was reused (a sign of token theft)",
        Severity.MEDIUM,
        ("T1550.001", "Application Access Token", "defense-evasion"),
    ),
    "user.account.lock": _Rule(
        "account locked out after repeated failed sign-ins", Severity.MEDIUM, _BRUTE_FORCE
    ),
    "user.account.lock.limit": _Rule(
        "account locked out after repeated failed sign-ins", Severity.MEDIUM, _BRUTE_FORCE
    ),
    "user.mfa.okta_verify.deny_push": _Rule(
        "the user rejected an Okta Verify push (MFA fatigue when repeated)",
        Severity.MEDIUM,
        _MFA_REQUESTS,
    ),
    "user.mfa.attempt_bypass": _Rule("an attempt to bypass MFA", Severity.MEDIUM),
}

_GRANT = "admin privileges granted"
_POLICY_OFF = "a sign-on or authentication policy (or rule) was disabled or deleted"
_ZONE_OFF = "a network zone was disabled or deleted (zones feed block lists and policies)"
_IDP = "an identity provider was added or changed: whoever runs it can sign in as org users"
_IMPERSONATION = "a session impersonating users (support access)"
_LOG_OFF = "the org's log export was turned off"
# Admin changes that grant power or remove a control.
_CHANGES: dict[str, _Rule] = {
    "user.account.privilege.grant": _Rule(f"{_GRANT} to a user", Severity.MEDIUM, _CLOUD_ROLES),
    "group.privilege.grant": _Rule(f"{_GRANT} to a group", Severity.MEDIUM, _CLOUD_ROLES),
    "iam.resourceset.bindings.add": _Rule(
        f"{_GRANT}: a custom admin role was bound", Severity.MEDIUM, _CLOUD_ROLES
    ),
    "user.session.impersonation.grant": _Rule(
        f"{_IMPERSONATION} was granted", Severity.MEDIUM, _TRUSTED_RELATIONSHIP
    ),
    "user.session.impersonation.initiate": _Rule(
        f"{_IMPERSONATION} was started", Severity.MEDIUM, _TRUSTED_RELATIONSHIP
    ),
    "user.session.impersonation.extend": _Rule(
        f"{_IMPERSONATION} was extended", Severity.MEDIUM, _TRUSTED_RELATIONSHIP
    ),
    "system.api_token.create": _Rule(
        "an API token was created (a standing credential with its creator's admin rights)",
        Severity.MEDIUM,
        ("T1098.001", "Additional Cloud Credentials", "persistence"),
    ),
    "system.idp.lifecycle.create": _Rule(_IDP, Severity.MEDIUM, _TRUST_MODIFIED),
    "system.idp.lifecycle.activate": _Rule(_IDP, Severity.MEDIUM, _TRUST_MODIFIED),
    "system.idp.lifecycle.update": _Rule(_IDP, Severity.MEDIUM, _TRUST_MODIFIED),
    "policy.lifecycle.deactivate": _Rule(_POLICY_OFF, Severity.MEDIUM, _POLICY_MODIFIED),
    "policy.lifecycle.delete": _Rule(_POLICY_OFF, Severity.MEDIUM, _POLICY_MODIFIED),
    "policy.rule.deactivate": _Rule(_POLICY_OFF, Severity.MEDIUM, _POLICY_MODIFIED),
    "policy.rule.delete": _Rule(_POLICY_OFF, Severity.MEDIUM, _POLICY_MODIFIED),
    "zone.deactivate": _Rule(_ZONE_OFF, Severity.LOW, _POLICY_MODIFIED),
    "zone.delete": _Rule(_ZONE_OFF, Severity.LOW, _POLICY_MODIFIED),
    "security.authenticator.lifecycle.deactivate": _Rule(
        "an authenticator was turned off for the whole org", Severity.MEDIUM, _MFA_MODIFIED
    ),
    "user.mfa.factor.reset_all": _Rule(
        "all of a user's MFA factors were reset", Severity.MEDIUM, _MFA_MODIFIED
    ),
    "user.mfa.factor.deactivate": _Rule(
        "an MFA factor was removed from a user", Severity.LOW, _MFA_MODIFIED
    ),
    "system.log_stream.lifecycle.deactivate": _Rule(_LOG_OFF, Severity.MEDIUM, _LOGS_DISABLED),
    "event_hook.deactivated": _Rule(_LOG_OFF, Severity.MEDIUM, _LOGS_DISABLED),
}

# Event types whose failure is the signal.
_FAILURES: dict[str, _Rule] = {
    "user.authentication.auth_via_mfa": _Rule(
        "an MFA challenge failed after the password was accepted", Severity.LOW
    ),
}
_FAILED = frozenset({"FAILURE", "DENY"})
_PASSED = frozenset({"SUCCESS", "ALLOW"})
# Steps that let the account in when they pass (push sends and policy evaluations do not).
_AUTHENTICATED = ("user.authentication.", "user.session.start")

# Per-user operation rate limits on authenticators ("System Log events for rate limits":
# operationRateLimitType authenticator_otp_verification, phone_enrollment, sms_factor_enroll...)
# are guessing or enrollment abuse; web_request, event_hook_delivery, profile_reload... are
# capacity, not attacks.
_RATE_LIMIT = "system.operation.rate_limit.violation"
_RATE_LIMIT_VERIFY = ("verification", "verify", "otp")
_RATE_LIMIT_ENROLL = ("enroll",)

# ThreatInsight (security.threat.detected) names the attack in outcome.reason.
_THREAT_REASONS: dict[str, _Technique] = {
    "password spray": ("T1110.003", "Password Spraying", "credential-access"),
    "credential stuffing": ("T1110.004", "Credential Stuffing", "credential-access"),
}
_RISK_LEVEL = re.compile(r"\blevel=([A-Za-z]+)")
_BEHAVIOR = re.compile(r"([^{},=]+)=([A-Za-z_]+)")
_ROUTINE = "no suspicious type or outcome; no threat, risk, proxy or travel flag"


@dataclass(frozen=True)
class _Signals:
    """What Okta says about the request's context, whatever the event type."""

    threat_suspected: bool
    risk: str | None
    proxy: bool
    velocity: bool
    behaviors: tuple[str, ...]  # names of POSITIVE behaviors

    @property
    def flags(self) -> list[tuple[str, Severity]]:
        """Each context flag that makes any event an alert, with its severity floor."""
        out: list[tuple[str, Severity]] = []
        if self.threat_suspected:
            out.append(("Okta ThreatInsight: threat suspected", Severity.HIGH))
        if self.risk == "HIGH":
            out.append(("Okta risk level: HIGH", Severity.HIGH))
        if self.proxy:
            out.append(("request came through an anonymizing proxy", Severity.MEDIUM))
        if self.velocity:
            out.append(("impossible travel (Okta Velocity behavior)", Severity.MEDIUM))
        return out


class OktaAdapter:
    """Okta System Log events; the suspicious ones become alerts (see the module docstring)."""

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
        _refuse_delivery(record)
        uid = text(require(record, "uuid"), "uuid")
        event_type = text(require(record, "eventType"), "eventType")
        if not event_type:
            raise RecordRejected("field 'eventType' is blank")
        when = read_time(require(record, "published"), "published")
        title = text(get(record, "displayMessage"), "displayMessage") or event_type
        for key in ("actor", "client", "outcome", "securityContext", "debugContext", "request"):
            _object_or_none(record, key)
        debug = _object_or_none(record, "debugContext.debugData") or {}
        result = (text(get(record, "outcome.result"), "outcome.result") or "").upper() or None
        reason = text(get(record, "outcome.reason"), "outcome.reason")
        okta_severity = _SEVERITY.get(
            (text(get(record, "severity"), "severity") or "").upper(), Severity.UNKNOWN
        )
        obs = Observables()
        actor = _actor(record, obs)
        targets = _targets(record, obs)
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

        # Judged only once the record has read cleanly: a broken record says what is broken.
        signals = _signals(record, debug)
        whys, severity = _classify(event_type, result, debug, signals, okta_severity)
        if not whys:
            raise NotAnAlert(
                f"not an alert: routine Okta event '{event_type[:80]}' ({_ROUTINE})",
                _activity(uid, event_type, when.at, result, actor, obs, ip, country, title),
            )
        outcome = f"Outcome: {result}" + (f" ({reason})" if reason else "") if result else None
        facts = [*([outcome] if outcome else []), *whys, *_context_facts(signals)]
        facts += _people(record, targets)
        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=title,
            time=when.at,
            severity=severity,
            observables=obs,
            original_time=record.get("published"),
            message=facts[0],
            actor=actor,
            src_endpoint=Endpoint(ip=ip, country=country) if ip or country else None,
            finding_desc="; ".join(facts),
            finding_types=(event_type,),
            finding_analytic=Analytic(uid=event_type, name=event_type),
            finding_attacks=_attacks(event_type, result, reason, debug, signals),
            flags=when.flags,
        )


def _activity(
    uid: str | None,
    event_type: str,
    when: datetime,
    result: str | None,
    actor: UserInfo | None,
    obs: Observables,
    ip: str | None,
    country: str | None,
    title: str,
) -> IdentityActivity | None:
    """The routine event as the account's context: whose it is (the acting user, else the
    first target user), what happened, from where. None when no account is named."""
    user = (actor.name if actor else None) or next(
        (o.value for o in obs.items if o.kind is EntityKind.USER), None
    )
    if not user:
        return None
    return IdentityActivity(
        source=OktaAdapter.name,
        event_id=(uid or "")[:256],
        time=when,
        event_type=event_type[:256],
        outcome=result[:64] if result else None,
        user=user[:512],
        ip=ip[:64] if ip else None,
        country=country[:64] if country else None,
        summary=title[:512],
        authenticated=result in _PASSED and event_type.startswith(_AUTHENTICATED),
    )


def _refuse_delivery(record: Mapping[str, Any]) -> None:
    """An event hook delivery holds LogEvents in ``data.events``; it is not one itself."""
    event_type = record.get("eventType")
    if not (isinstance(event_type, str) and event_type.startswith("com.okta.")):
        return
    events = get(record, "data.events")
    if isinstance(events, list):
        raise RecordRejected(
            f"an Okta event hook delivery of {len(events)} event{'' if len(events) == 1 else 's'}:"
            " feed its data.events"
        )
    raise RecordRejected(
        f"Okta event hook delivery ({event_type[:60]!r}) with no data.events list, "
        "not a System Log LogEvent"
    )


def _classify(
    event_type: str,
    result: str | None,
    debug: Mapping[str, Any],
    signals: _Signals,
    okta_severity: Severity,
) -> tuple[list[str], Severity]:
    """Why this event is an alert (empty: it is routine) and its severity."""
    whys: list[str] = []
    floors = [okta_severity]
    if rule := _DETECTIONS.get(event_type):
        whys.append(rule.why)
        floors.append(rule.floor)
    elif rule := _CHANGES.get(event_type):
        failed = result in _FAILED
        whys.append(rule.why + (" (the attempt failed)" if failed else ""))
        if not failed:  # a refused change changed nothing: Okta's own severity stands
            floors.append(rule.floor)
    elif (rule := _FAILURES.get(event_type)) and result in _FAILED:
        whys.append(rule.why)
        floors.append(rule.floor)
    elif event_type == _RATE_LIMIT and (limited := _authenticator_rate_limit(debug)):
        whys.append(f"too many {limited} attempts for one user (rate limit)")
        floors.append(Severity.MEDIUM)
    for why, floor in signals.flags:
        whys.append(why)
        floors.append(floor)
    return whys, max(floors)


def _authenticator_rate_limit(debug: Mapping[str, Any]) -> str | None:
    """'authenticator verification' or 'authenticator enrollment' for a per-user authenticator
    rate limit (by ``operationRateLimitType``), else None."""
    kind = (text(debug.get("operationRateLimitType"), "operationRateLimitType") or "").lower()
    if any(word in kind for word in _RATE_LIMIT_VERIFY):
        return "authenticator verification"
    if any(word in kind for word in _RATE_LIMIT_ENROLL):
        return "authenticator enrollment"
    return None


def _signals(record: Mapping[str, Any], debug: Mapping[str, Any]) -> _Signals:
    threat = text(debug.get("threatSuspected"), "debugData.threatSuspected")
    proxy = text(get(record, "securityContext.isProxy"), "securityContext.isProxy")
    positive = _positive_behaviors(debug.get("behaviors"))
    return _Signals(
        threat_suspected=(threat or "").lower() == "true",
        risk=_risk_level(debug),
        proxy=(proxy or "").lower() == "true",
        velocity=any(name.casefold() == "velocity" for name in positive),
        behaviors=positive,
    )


def _positive_behaviors(value: Any) -> tuple[str, ...]:
    """Names of behaviors Okta evaluated POSITIVE: from ``"{New IP=POSITIVE, ...}"`` or an
    object of the same pairs (a pipeline may have parsed it)."""
    if isinstance(value, Mapping):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, str):
        pairs = [(m.group(1), m.group(2)) for m in _BEHAVIOR.finditer(value[:4096])]
    else:
        return ()
    return tuple(
        name.strip()[:60]
        for name, verdict in pairs
        if isinstance(verdict, str) and verdict.upper() == "POSITIVE" and name.strip()
    )


def _context_facts(signals: _Signals) -> list[str]:
    """Okta's context for a person, even where it did not by itself make the alert."""
    facts = []
    if signals.risk and signals.risk != "HIGH":
        facts.append(f"Okta risk level: {signals.risk}")
    others = [b for b in signals.behaviors if b.casefold() != "velocity"]
    if others:
        facts.append("Okta behaviors POSITIVE: " + ", ".join(others))
    return facts


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


def _targets(record: Mapping[str, Any], obs: Observables) -> list[str]:
    """What the event acted on, for a person (``"John Doe <john@x> (User)"``); target users
    (``target[].type == "User"``) also become USER/EMAIL observables."""
    targets = get(record, "target", [])
    if not isinstance(targets, list):
        raise RecordRejected(f"field 'target' should be a list, got {type(targets).__name__}")
    described: list[str] = []
    for index, target in enumerate(targets):
        if not isinstance(target, Mapping):
            raise RecordRejected(f"field 'target[{index}]' should be an object")
        kind = text(target.get("type"), f"target[{index}].type")
        login = text(target.get("alternateId"), f"target[{index}].alternateId")
        login = None if login == "unknown" else login
        name = text(target.get("displayName"), f"target[{index}].displayName")
        if kind == "User" and login:
            obs.add(EntityKind.USER, login, "user.name")
            if "@" in login:
                obs.add(EntityKind.EMAIL, login, "user.email_addr")
        uid = text(target.get("id"), f"target[{index}].id")  # all some targets have (SMS)
        label = f"{name} <{login}>" if name and login and login != name else name or login or uid
        if label and len(described) < 8:
            described.append(f"{label} ({kind or 'unknown type'})")
    return described


def _people(record: Mapping[str, Any], targets: list[str]) -> list[str]:
    """Who acted (display name: OCSF ``user.full_name`` has no home in the alert model yet)
    and what it acted on."""
    facts = []
    name = text(get(record, "actor.displayName"), "actor.displayName")
    login = text(get(record, "actor.alternateId"), "actor.alternateId")
    kind = text(get(record, "actor.type"), "actor.type")
    login = None if login == "unknown" else login
    if name and name != login:
        facts.append(
            f"Actor: {name}"
            + (f" <{login}>" if login else "")
            + (f" ({kind})" if kind and kind != "User" else "")
        )
    if targets:
        facts.append("Targets: " + ", ".join(targets))
    return facts


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
    event_type: str,
    result: str | None,
    reason: str | None,
    debug: Mapping[str, Any],
    signals: _Signals,
) -> tuple[Attack, ...]:
    rows: list[_Technique] = []
    rule = _DETECTIONS.get(event_type) or _CHANGES.get(event_type) or _FAILURES.get(event_type)
    if rule and rule.attack:
        rows.append(rule.attack)
    if event_type == "security.threat.detected" and reason:
        rows += [row for key, row in _THREAT_REASONS.items() if key in reason.lower()]
    if event_type == _RATE_LIMIT and _authenticator_rate_limit(debug) == (
        "authenticator verification"
    ):
        rows.append(_BRUTE_FORCE)
    if event_type == "user.session.start" and result == "SUCCESS" and signals.flags:
        rows.append(_VALID_ACCOUNTS)
    return tuple(a for row in rows if (a := technique(*row)))
