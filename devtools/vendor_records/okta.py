"""Okta System Log events, shaped like ``examples/okta_system_log.jsonl``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from devtools.northwind import GEO, Person
from devtools.vendor_records.common import Record, digest, iso_ms, number_of, uuid_of

# --------------------------------------------------------------------------------------------
# Okta System Log (examples/okta_system_log.jsonl)
# --------------------------------------------------------------------------------------------

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
MAC_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15"
)
SCRIPT_UA = "python-requests/2.32.3"


def _okta_user(person: Person) -> Record:
    return {
        "id": "00u" + digest("okta", person.user, size=17),
        "type": "User",
        "alternateId": person.email,
        "displayName": person.name,
        "detailEntry": None,
    }


def okta_event(
    at: datetime,
    *,
    person: Person | None,
    event_type: str,
    message: str,
    ip: str,
    country: str,
    result: str = "SUCCESS",
    reason: str | None = None,
    severity: str = "INFO",
    risk: str | None = None,
    threat_suspected: bool | None = None,
    new_place: bool = True,
    new_device: bool = True,
    ua: str = BROWSER_UA,
    session: str = "",
    targets: Sequence[Record] | None = None,
    credential_type: str | None = None,
    step: int = 0,
    legacy: str | None = None,
    request_uri: str = "/idp/idx/identify",
) -> Record:
    """One System Log LogEvent. ``person`` None is Okta's unknown actor (ThreatInsight)."""
    city, state, name, lat, lon, isp = GEO[country]
    geo = {
        "city": city,
        "state": state,
        "country": name,
        "postalCode": None,
        "geolocation": {"lat": lat, "lon": lon},
    }
    flag = "POSITIVE" if new_place else "NEGATIVE"
    debug: Record = {
        "requestId": digest("okta-request", at, ip, size=26),
        "requestUri": request_uri,
        "url": request_uri + "?",
        "behaviors": "{"
        + ", ".join(
            [
                f"New Geo-Location={flag}",
                f"New Device={'POSITIVE' if new_device else 'NEGATIVE'}",
                f"New IP={'POSITIVE' if new_place or new_device else 'NEGATIVE'}",
                f"New State={flag}",
                f"New Country={flag}",
                f"Velocity={flag}",
                f"New City={flag}",
            ]
        )
        + "}",
        "dtHash": digest("dt", ip, ua, size=64),
    }
    if risk:
        reasons = (
            "Anomalous Geo-Distance, New Country, New Device"
            if new_place
            else ("New Device, New IP")
        )
        debug["risk"] = f"{{reasons={reasons}, level={risk}}}"
    if threat_suspected is not None:
        debug["threatSuspected"] = "true" if threat_suspected else "false"
    actor = (
        _okta_user(person)
        if person
        else {
            "id": "unknown",
            "type": "User",
            "alternateId": "unknown",
            "displayName": "Unknown",
            "detailEntry": None,
        }
    )
    mobile = "iPhone" in ua
    return {
        "actor": actor,
        "client": {
            "userAgent": {
                "rawUserAgent": ua,
                "os": "iOS" if mobile else "Mac OS X" if "Macintosh" in ua else "Windows 10",
                "browser": "SAFARI"
                if "Safari/605" in ua
                else "CHROME"
                if "Chrome" in ua
                else "UNKNOWN",
            },
            "zone": "null",
            "device": "Mobile" if mobile else "Computer",
            "id": None,
            "ipAddress": ip,
            "geographicalContext": geo,
        },
        "device": None,
        "authenticationContext": {
            "authenticationProvider": None,
            "credentialProvider": None,
            "credentialType": credential_type,
            "issuer": None,
            "interface": None,
            "authenticationStep": step,
            "externalSessionId": session or "idx" + digest("session", at, ip, size=22),
        },
        "displayMessage": message,
        "eventType": event_type,
        "outcome": {"result": result, "reason": reason},
        "published": iso_ms(at),
        "securityContext": {
            "asNumber": number_of("asn", isp, low=64500, high=64520),
            "asOrg": isp,
            "isp": isp,
            "domain": isp.split()[1] + ".example" if " " in isp else None,
            "isProxy": False,
        },
        "severity": severity,
        "debugContext": {"debugData": debug},
        "legacyEventType": legacy,
        "transaction": {"type": "WEB", "id": debug["requestId"], "detail": {}},
        "uuid": uuid_of("okta", at, event_type, person.user if person else "", ip, message),
        "version": "0",
        "request": {
            "ipChain": [{"ip": ip, "geographicalContext": geo, "version": "V4", "source": None}]
        },
        "target": list(targets) if targets is not None else None,
    }


def okta_session(at: datetime, /, **fields: Any) -> Record:
    """Okta: a successful sign-in (``user.session.start``)."""
    return okta_event(
        at,
        event_type="user.session.start",
        message="User login to Okta",
        legacy="core.user_auth.login_success",
        **fields,
    )


def okta_failed_login(at: datetime, person: Person, ip: str, country: str) -> Record:
    """Okta: a scripted sign-in with a wrong password (one attempt of a spray)."""
    return okta_event(
        at,
        person=person,
        event_type="user.session.start",
        message="User login to Okta",
        result="FAILURE",
        reason="INVALID_CREDENTIALS",
        severity="WARN",
        ip=ip,
        country=country,
        ua=SCRIPT_UA,
        legacy="core.user_auth.login_failed",
    )


def okta_spray_threat(at: datetime, ip: str, country: str) -> Record:
    """Okta ThreatInsight: a password spray from ``ip``."""
    return okta_event(
        at,
        person=None,
        event_type="security.threat.detected",
        message="Request from suspicious actor",
        result="DENY",
        reason="Password Spray",
        severity="WARN",
        threat_suspected=True,
        ip=ip,
        country=country,
        ua=SCRIPT_UA,
    )


def okta_mfa_ok(at: datetime, /, **fields: Any) -> Record:
    """Okta: the second factor was verified (``user.authentication.auth_via_mfa``)."""
    return okta_event(
        at,
        event_type="user.authentication.auth_via_mfa",
        message="Authentication of user via MFA",
        step=1,
        **fields,
    )


def okta_push_denied(at: datetime, /, **fields: Any) -> Record:
    """Okta: the user rejected an Okta Verify push."""
    return okta_event(
        at,
        event_type="user.mfa.okta_verify.deny_push",
        message="User rejected Okta push verify",
        result="FAILURE",
        reason="User rejected Okta push verify",
        severity="WARN",
        **fields,
    )


def okta_target(person: Person) -> Record:
    return _okta_user(person)


OKTA_VERIFY = {
    "id": "pfd2a9c7hXkQm3Rt05d7",
    "type": "AuthenticatorEnrollment",
    "alternateId": "unknown",
    "displayName": "Okta Verify",
    "detailEntry": {"methodTypeUsed": "Push"},
}
