"""Okta System Log adapter: the example file, which events are alerts, auto-detection,
malformed records.

Records written here follow Okta's documented LogEvent shape: Okta developer docs, "System Log
API" (LogEvent object) and the event types catalog (developer.okta.com/docs/reference/api/
event-types), ThreatInsight's "System Log events for Okta ThreatInsight" (threatSuspected,
security.threat.detected), "Behavior detection System Log events" (debugData.behaviors as
"{Name=POSITIVE, ...}") and "System Log events for rate limits" (operationRateLimitType).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.okta import OktaAdapter
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import NotAnAlert, ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
OKTA_FILE = EXAMPLES / "okta_system_log.jsonl"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
ALICE = "alice.martin@northwind.example"
ADAPTER = OktaAdapter()
CONTEXT = ParseContext("test.jsonl", 1, NOW, "{}")


def _example_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in OKTA_FILE.read_text().splitlines() if line.strip()]


def _parse(record: dict[str, Any]) -> Alert:
    return ADAPTER.parse(record, CONTEXT)


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    out = list(read([OKTA_FILE], now=NOW))
    quarantined = [o for o in out if isinstance(o, QuarantinedRecord)]
    assert quarantined == []
    return [o for o in out if isinstance(o, Alert)]


def test_every_example_record_becomes_an_alert(alerts: list[Alert]) -> None:
    assert len(alerts) == 5
    assert {a.provenance.source for a in alerts} == {"okta"}
    assert [a.provenance.record_no for a in alerts] == [1, 2, 3, 4, 5]
    assert [a.source_alert_id for a in alerts] == [
        "b1f3c2a0-c59b-11f1-9a41-3f5e2b7d8c01",
        "c7a8d911-c59b-11f1-9a41-3f5e2b7d8c02",
        "d02e6b37-c59b-11f1-9a41-3f5e2b7d8c03",
        "e4419c5d-c59b-11f1-9a41-3f5e2b7d8c04",
        "f5a27e80-c59b-11f1-9a41-3f5e2b7d8c05",
    ]
    assert all(a.flags == () for a in alerts)
    assert all(a.metadata.product.vendor_name == "Okta" for a in alerts)


def test_times_titles_and_severities(alerts: list[Alert]) -> None:
    assert [a.time for a in alerts] == [
        datetime(2026, 11, 16, 9, 40, 2, 418000, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 40, 31, 902000, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 41, 12, 77000, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 42, 47, 551000, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 42, 48, 130000, tzinfo=UTC),
    ]
    assert alerts[0].metadata.original_time == "2026-11-16T09:40:02.418Z"
    assert [a.title for a in alerts] == [
        "Push notification sent for verification",
        "User rejected Okta push verify",
        "User rejected Okta push verify",
        "Authentication of user via MFA",
        "User login to Okta",
    ]
    # INFO raised to medium by impossible travel (Velocity=POSITIVE), WARN -> medium; the last
    # two are INFO raised to high by risk level=HIGH.
    assert [a.severity_id for a in alerts] == [
        Severity.MEDIUM,
        Severity.MEDIUM,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.HIGH,
    ]


def test_analytic_is_the_event_type(alerts: list[Alert]) -> None:
    assert [a.detection_id for a in alerts] == [
        "okta:system.push.send_factor_verify_push",
        "okta:user.mfa.okta_verify.deny_push",
        "okta:user.mfa.okta_verify.deny_push",
        "okta:user.authentication.auth_via_mfa",
        "okta:user.session.start",
    ]


def test_techniques_push_fatigue_and_risky_session(alerts: list[Alert]) -> None:
    assert [a.techniques for a in alerts] == [(), ("T1621",), ("T1621",), (), ("T1078",)]
    deny = alerts[1].finding_info.attacks[0]
    assert (deny.tactic_uid, deny.tactic_name) == ("TA0006", "Credential Access")
    assert deny.technique_name == "Multi-Factor Authentication Request Generation"
    assert alerts[4].tactics == ("Initial Access",)


def test_sign_in_from_romania_entities(alerts: list[Alert]) -> None:
    session = alerts[4]
    assert session.src_endpoint is not None
    assert (session.src_endpoint.ip, session.src_endpoint.country) == ("198.51.100.23", "Romania")
    assert session.values(EntityKind.COUNTRY) == ("Romania",)
    assert session.values(EntityKind.IP) == ("198.51.100.23",)
    assert session.values(EntityKind.USER) == (ALICE,)
    assert session.values(EntityKind.EMAIL) == (ALICE,)
    assert session.values(EntityKind.USER_AGENT)[0].startswith("Mozilla/5.0 (Windows NT 10.0")
    assert session.actor is not None
    assert (session.actor.name, session.actor.uid) == (ALICE, "00u8f2k1qzLmNwT4x5d7")
    names = {(o.kind, o.name) for o in session.observables}
    assert (EntityKind.USER, "actor.user.name") in names
    assert (EntityKind.COUNTRY, "src_endpoint.location.country") in names
    assert session.finding_info.desc == (
        "Outcome: SUCCESS; Okta risk level: HIGH; impossible travel (Okta Velocity behavior); "
        "Okta behaviors POSITIVE: New Geo-Location, New Device, New IP, New State, New Country,"
        " New City; Actor: Alice Martin <alice.martin@northwind.example>"
    )
    assert alerts[1].message == "Outcome: FAILURE (User rejected Okta push verify)"


def test_auto_detection_picks_okta_for_the_example_file() -> None:
    out = list(read([OKTA_FILE], IngestOptions(source="auto"), now=NOW))
    assert [o.provenance.source for o in out if isinstance(o, Alert)] == ["okta"] * 5
    for record in _example_records():
        assert ADAPTER.matches(record)


def test_api_json_array_is_read(tmp_path: Path) -> None:
    path = tmp_path / "logs.json"
    path.write_text(json.dumps(_example_records()[:2]))
    out = list(read([path], now=NOW))
    assert [type(o) for o in out] == [Alert, Alert]
    assert [o.source_alert_id for o in out if isinstance(o, Alert)] == [
        "b1f3c2a0-c59b-11f1-9a41-3f5e2b7d8c01",
        "c7a8d911-c59b-11f1-9a41-3f5e2b7d8c02",
    ]


OTHER_FORMATS: dict[str, dict[str, Any]] = {
    "ocsf": {
        "class_uid": 2004,
        "time": 1763283720000,
        "severity_id": 4,
        "finding_info": {"uid": "f-1", "title": "x"},
        "metadata": {"product": {"name": "p"}},
    },
    "sentinel": {
        "SystemAlertId": "a-1",
        "AlertName": "Atypical travel",
        "Type": "SecurityAlert",
        "TimeGenerated": "2026-11-16T09:45:00Z",
        "Entities": "[]",
    },
    "defender": {
        "id": "da-1",
        "title": "x",
        "severity": "high",
        "detectorId": "d",
        "createdDateTime": "2026-11-16T09:00:00Z",
        "evidence": [],
    },
    "crowdstrike": {
        "metadata": {"eventType": "DetectionSummaryEvent", "offset": 1},
        "event": {"DetectId": "ldt:1", "ComputerName": "LT-FIN-042"},
    },
    "guardduty": {
        "Id": "g-1",
        "Type": "Recon:EC2/PortProbeUnprotectedPort",
        "Severity": 2,
        "SchemaVersion": "2.0",
        "AccountId": "111122223333",
    },
    "elastic": {
        "@timestamp": "2026-11-16T09:02:41Z",
        "kibana.alert.uuid": "e-1",
        "kibana.alert.rule.name": "x",
        "event": {"kind": "signal"},
    },
    "wazuh": {
        "timestamp": "2026-11-16T10:15:00.000+0000",
        "rule": {"level": 10, "id": "1"},
        "agent": {"id": "001", "name": "SRV-FS-01"},
        "manager": {"name": "m"},
        "id": "1.2",
    },
    "suricata": {
        "timestamp": "2026-11-16T09:04:00+0000",
        "event_type": "alert",
        "src_ip": "10.20.4.42",
        "dest_ip": "198.51.100.77",
        "alert": {"signature": "x"},
    },
}


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_does_not_match_other_formats(name: str) -> None:
    assert not ADAPTER.matches(OTHER_FORMATS[name])


def _file_records(path: Path) -> list[Any]:
    """Records of an example file, without going through any adapter."""
    body = path.read_text()
    try:
        document = json.loads(body)
    except json.JSONDecodeError:
        return [json.loads(line) for line in body.splitlines() if line.strip()]
    if isinstance(document, dict):
        for key in ("value", "Findings", "resources", "events", "alerts"):
            if isinstance(document.get(key), list):
                return list(document[key])
        return [document]
    return list(document)


def test_threat_suspected_raises_severity_and_password_spray_maps() -> None:
    record = copy.deepcopy(_example_records()[0])
    record.update(
        eventType="security.threat.detected",
        severity="INFO",
        displayMessage="Request from suspicious actor",
        outcome={"result": "DENY", "reason": "Password Spray"},
    )
    record["debugContext"]["debugData"] = {"threatSuspected": "true"}
    alert = _parse(record)
    assert alert.severity_id is Severity.HIGH
    assert alert.techniques == ("T1110.003",)
    assert "threat suspected" in (alert.finding_info.desc or "")


def test_risk_from_log_only_security_data_and_no_lowering() -> None:
    record = copy.deepcopy(_example_records()[0])  # a push sent: routine unless flagged
    record["debugContext"]["debugData"] = {"logOnlySecurityData": '{"risk":{"level":"HIGH"}}'}
    record["severity"] = "DEBUG"
    assert _parse(record).severity_id is Severity.HIGH
    for quiet in ('{"risk":{"level":"LOW"}}', "{broken"):
        record["debugContext"]["debugData"] = {"logOnlySecurityData": quiet}
        with pytest.raises(NotAnAlert):
            _parse(record)
    deny = copy.deepcopy(_example_records()[1])
    deny["severity"] = "ERROR"
    deny["debugContext"]["debugData"] = {"risk": "{level=LOW}"}
    assert _parse(deny).severity_id is Severity.HIGH  # Okta's ERROR is never lowered


def test_ordinary_session_start_is_not_an_alert() -> None:
    record = copy.deepcopy(_example_records()[4])
    record["debugContext"]["debugData"] = {"risk": "{level=LOW}", "threatSuspected": "false"}
    with pytest.raises(NotAnAlert) as caught:
        _parse(record)
    assert caught.value.reason == (
        "not an alert: routine Okta event 'user.session.start' "
        "(no suspicious type or outcome; no threat, risk, proxy or travel flag)"
    )


def test_target_users_and_non_user_actor() -> None:
    record = copy.deepcopy(_example_records()[0])
    record["actor"] = {
        "id": "0oa1",
        "type": "PublicClientApp",
        "alternateId": "svc-app",
        "displayName": "Some App",
    }
    record["target"] = [
        {"id": "00u2", "type": "User", "alternateId": "bob.nguyen@northwind.example"},
        {"id": "0oa9", "type": "AppInstance", "alternateId": "Salesforce"},
    ]
    alert = _parse(record)
    assert alert.actor is None
    assert alert.values(EntityKind.USER) == ("bob.nguyen@northwind.example",)
    assert [o.name for o in alert.observables if o.kind is EntityKind.USER] == ["user.name"]
    assert (alert.finding_info.desc or "").endswith(
        "; Actor: Some App <svc-app> (PublicClientApp); "
        "Targets: bob.nguyen@northwind.example (User), Salesforce (AppInstance)"
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r.pop("uuid"), "missing required field 'uuid'"),
        (lambda r: r.pop("published"), "missing required field 'published'"),
        (lambda r: r.update(eventType=""), "missing required field 'eventType'"),
        (lambda r: r.update(eventType="   "), "field 'eventType' is blank"),
        (lambda r: r.update(uuid=["a", "b"]), "field 'uuid' should be text, got list"),
        (lambda r: r.update(eventType={"x": 1}), "field 'eventType' should be text, got dict"),
        (lambda r: r.update(published="yesterday"), "field 'published' is not a valid time"),
        (lambda r: r.update(published="2026-11-16T09:40:02"), "field 'published' has no time zone"),
        (lambda r: r.update(displayMessage=["x"]), "field 'displayMessage' should be text"),
        (lambda r: r.update(severity=["WARN"]), "field 'severity' should be text, got list"),
        (lambda r: r.update(actor="alice"), "field 'actor' should be an object, got str"),
        (lambda r: r.update(client=[1]), "field 'client' should be an object, got list"),
        (lambda r: r.update(target={"type": "User"}), "field 'target' should be a list, got dict"),
        (lambda r: r.update(target=["x"]), "field 'target[0]' should be an object"),
        (
            lambda r: r["actor"].update(alternateId=["a"]),
            "field 'actor.alternateId' should be text",
        ),
        (
            lambda r: r["client"].update(ipAddress={"v": 4}),
            "field 'client.ipAddress' should be text",
        ),
        (
            lambda r: r["request"].update(ipChain="1.2.3.4"),
            "field 'request.ipChain' should be a list",
        ),
        (
            lambda r: r["debugContext"].update(debugData=[1]),
            "field 'debugContext.debugData' should be an object",
        ),
    ],
)
def test_malformed_records_are_rejected_with_a_reason(change: Any, reason: str) -> None:
    record = copy.deepcopy(_example_records()[1])
    change(record)
    with pytest.raises(RecordRejected) as caught:
        _parse(record)
    assert reason in caught.value.reason


def test_empty_object_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="missing required field 'uuid'"):
        _parse({})


def test_event_hook_delivery_is_recognized_and_rejected() -> None:
    hook = {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "eventId": "h-1",
        "data": {"events": _example_records()},
    }
    assert ADAPTER.matches(hook)
    with pytest.raises(RecordRejected) as caught:
        _parse(hook)
    assert caught.value.reason == "an Okta event hook delivery of 5 events: feed its data.events"
    assert not isinstance(caught.value, NotAnAlert)
    hook["data"] = {"events": "nope"}
    with pytest.raises(RecordRejected, match="event hook delivery .* no data.events list"):
        _parse(hook)


def test_malformed_records_go_to_quarantine_through_the_reader(tmp_path: Path) -> None:
    good = _example_records()[1]
    bad = dict(good, target="nobody")
    path = tmp_path / "okta.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (good, bad, {"uuid": "u"})) + "\n")
    out = list(read([path], IngestOptions(source="okta"), now=NOW))
    assert isinstance(out[0], Alert)
    assert isinstance(out[1], QuarantinedRecord) and isinstance(out[2], QuarantinedRecord)
    assert out[1].source == "okta"
    assert out[1].reason == "field 'target' should be a list, got str"
    assert out[2].reason == "missing required field 'eventType'"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = [
    "uuid",
    "published",
    "eventType",
    "severity",
    "displayMessage",
    "actor",
    "client",
    "outcome",
    "target",
    "debugContext",
    "request",
    "securityContext",
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(key=st.sampled_from(_KEYS), value=_JSON, index=st.integers(0, 4))
def test_hostile_values_only_ever_raise_record_rejected(key: str, value: Any, index: int) -> None:
    record = copy.deepcopy(_example_records()[index])
    record[key] = value
    try:
        alert = _parse(record)
    except RecordRejected as exc:
        assert exc.reason
    else:
        assert alert.source_alert_id


@settings(max_examples=200, deadline=None)
@given(record=st.dictionaries(st.sampled_from(_KEYS), _JSON, max_size=8))
def test_random_objects_only_ever_raise_record_rejected(record: dict[str, Any]) -> None:
    ADAPTER.matches(record)
    try:
        _parse(record)
    except RecordRejected as exc:
        assert exc.reason


# --- Which events are alerts ------------------------------------------------------------------


def _event(event_type: str, **fields: Any) -> dict[str, Any]:
    """A LogEvent as Okta's System Log API documents it, with no context flag set: a plain
    sign-in context (threatSuspected "false", no risk, isProxy false, no behaviors)."""
    record: dict[str, Any] = {
        "uuid": f"evt-{event_type}",
        "published": "2026-11-16T10:00:00.000Z",
        "eventType": event_type,
        "version": "0",
        "severity": "INFO",
        "displayMessage": event_type,
        "actor": {
            "id": "00u8f2k1qzLmNwT4x5d7",
            "type": "User",
            "alternateId": ALICE,
            "displayName": "Alice Martin",
        },
        "client": {
            "ipAddress": "203.0.113.40",
            "userAgent": {"rawUserAgent": "Mozilla/5.0 (Macintosh)"},
            "geographicalContext": {"country": "France", "city": "Lyon"},
        },
        "outcome": {"result": "SUCCESS", "reason": None},
        "target": [],
        "securityContext": {"isProxy": False, "asOrg": "example isp"},
        "debugContext": {"debugData": {"threatSuspected": "false"}},
        "request": {"ipChain": [{"ip": "203.0.113.40"}]},
    }
    record.update(fields)
    return record


def _debug(**data: Any) -> dict[str, Any]:
    return {"debugData": {"threatSuspected": "false", **data}}


@pytest.mark.parametrize(
    "record",
    [
        _event("user.session.end"),
        _event("user.session.start"),
        _event(
            "user.session.start", outcome={"result": "FAILURE", "reason": "INVALID_CREDENTIALS"}
        ),
        _event("policy.evaluate_sign_on", outcome={"result": "ALLOW", "reason": "allowed"}),
        _event("policy.evaluate_sign_on", outcome={"result": "DENY", "reason": "denied"}),
        _event("user.authentication.auth_via_mfa"),
        _event("user.authentication.sso", outcome={"result": "FAILURE", "reason": "no access"}),
        _event("user.lifecycle.deactivate"),
        _event("application.user_membership.add"),
        _event("policy.rule.update"),  # may tighten as well as loosen: one record cannot say
        _event("user.mfa.factor.activate"),
        _event("security.attack.end"),
        _event("user.session.impersonation.end"),
        _event(
            "user.session.start", debugContext=_debug(risk="{reasons=New Device, level=MEDIUM}")
        ),
        _event(
            "user.session.start",
            debugContext=_debug(
                behaviors="{New Country=POSITIVE, New IP=POSITIVE, Velocity=NEGATIVE}"
            ),
        ),
        _event(
            "system.operation.rate_limit.violation",
            outcome={"result": "DENY", "reason": "rate limited"},
            debugContext=_debug(operationRateLimitType="web_request"),
        ),
    ],
    ids=lambda r: f"{r['eventType']}-{r['outcome']['result']}",
)
def test_routine_events_are_not_alerts(record: dict[str, Any]) -> None:
    with pytest.raises(NotAnAlert) as caught:
        _parse(record)
    assert caught.value.reason == (
        f"not an alert: routine Okta event '{record['eventType']}' "
        "(no suspicious type or outcome; no threat, risk, proxy or travel flag)"
    )


@pytest.mark.parametrize(
    ("record", "severity", "techniques", "why"),
    [
        (
            _event(
                "security.threat.detected",
                actor={"id": "unknown", "type": "User", "alternateId": "unknown"},
                outcome={"result": "DENY", "reason": "Credential Stuffing"},
                severity="WARN",
            ),
            Severity.MEDIUM,
            ("T1110.004",),
            "Okta ThreatInsight detected a threat",
        ),
        (
            _event("security.attack.start", severity="WARN"),
            Severity.MEDIUM,
            ("T1110",),
            "the org is under a password-based attack",
        ),
        (
            _event("user.account.lock", outcome={"result": "FAILURE", "reason": "LOCKED_OUT"}),
            Severity.MEDIUM,
            ("T1110",),
            "account locked out",
        ),
        (
            _event(
                "user.mfa.okta_verify.deny_push",
                severity="WARN",
                outcome={"result": "FAILURE", "reason": "User rejected Okta push verify"},
            ),
            Severity.MEDIUM,
            ("T1621",),
            "rejected an Okta Verify push",
        ),
        (
            _event(
                "user.authentication.auth_via_mfa",
                outcome={"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
            ),
            Severity.LOW,
            (),
            "MFA challenge failed after the password was accepted",
        ),
        (
            _event(
                "user.account.privilege.grant",
                target=[
                    {
                        "id": "00u2",
                        "type": "User",
                        "alternateId": "bob.nguyen@northwind.example",
                        "displayName": "Bob",
                    }
                ],
            ),
            Severity.MEDIUM,
            ("T1098.003",),
            "admin privileges granted to a user",
        ),
        (
            _event("group.privilege.grant"),
            Severity.MEDIUM,
            ("T1098.003",),
            "admin privileges granted to a group",
        ),
        (
            _event("iam.resourceset.bindings.add"),
            Severity.MEDIUM,
            ("T1098.003",),
            "custom admin role was bound",
        ),
        (
            _event("user.session.impersonation.initiate"),
            Severity.MEDIUM,
            ("T1199",),
            "impersonating users",
        ),
        (
            _event("system.api_token.create"),
            Severity.MEDIUM,
            ("T1098.001",),
            "an API token was created",
        ),
        (
            _event("system.idp.lifecycle.create"),
            Severity.MEDIUM,
            ("T1484.002",),
            "identity provider was added or changed",
        ),
        (
            _event("policy.lifecycle.deactivate"),
            Severity.MEDIUM,
            ("T1556.009",),
            "policy (or rule) was disabled or deleted",
        ),
        (
            _event("user.mfa.factor.reset_all"),
            Severity.MEDIUM,
            ("T1556.006",),
            "MFA factors were reset",
        ),
        (
            _event("system.log_stream.lifecycle.deactivate"),
            Severity.MEDIUM,
            ("T1562.008",),
            "log export was turned off",
        ),
        (
            _event("app.oauth2.token.detect_reuse", severity="WARN"),
            Severity.MEDIUM,
            ("T1550.001",),
            "refresh token was reused",
        ),
        (
            _event(
                "system.operation.rate_limit.violation",
                severity="WARN",
                outcome={"result": "DENY", "reason": "Too many OTP verification attempts"},
                debugContext=_debug(operationRateLimitType="authenticator_otp_verification"),
            ),
            Severity.MEDIUM,
            ("T1110",),
            "too many authenticator verification attempts for one user",
        ),
    ],
    ids=lambda v: v["eventType"] if isinstance(v, dict) else None,
)
def test_suspicious_event_types_are_alerts(
    record: dict[str, Any], severity: Severity, techniques: tuple[str, ...], why: str
) -> None:
    alert = _parse(record)
    assert alert.severity_id is severity
    assert alert.techniques == techniques
    assert why in (alert.finding_info.desc or "")
    assert alert.detection_id == f"okta:{record['eventType']}"
    assert all(a.tactic_uid and a.tactic_name for a in alert.finding_info.attacks)


def test_a_failed_admin_change_is_an_alert_at_oktas_own_severity() -> None:
    tried = _event("user.account.privilege.grant", outcome={"result": "FAILURE", "reason": "x"})
    alert = _parse(tried)
    assert alert.severity_id is Severity.LOW  # INFO: the grant did not happen
    assert "admin privileges granted to a user (the attempt failed)" in (
        alert.finding_info.desc or ""
    )


@pytest.mark.parametrize(
    ("context", "severity", "why"),
    [
        ({"debugContext": _debug(threatSuspected="true")}, Severity.HIGH, "threat suspected"),
        (
            {"debugContext": _debug(risk="{reasons=Anomalous Geo-Distance, level=HIGH}")},
            Severity.HIGH,
            "Okta risk level: HIGH",
        ),
        ({"securityContext": {"isProxy": True}}, Severity.MEDIUM, "anonymizing proxy"),
        ({"securityContext": {"isProxy": "true"}}, Severity.MEDIUM, "anonymizing proxy"),
        (
            {"debugContext": _debug(behaviors="{New Geo-Location=NEGATIVE, Velocity=POSITIVE}")},
            Severity.MEDIUM,
            "impossible travel",
        ),
        (
            {"debugContext": _debug(behaviors={"Velocity": "POSITIVE", "New IP": "POSITIVE"})},
            Severity.MEDIUM,
            "impossible travel",
        ),
    ],
)
def test_a_sign_in_okta_flagged_is_an_alert_and_a_valid_account_use(
    context: dict[str, Any], severity: Severity, why: str
) -> None:
    alert = _parse(_event("user.session.start", **context))
    assert alert.severity_id is severity
    assert why in (alert.finding_info.desc or "")
    assert alert.techniques == ("T1078",)
    assert alert.tactics == ("Initial Access",)
    # A failed sign-in from a flagged context is an alert too, but not a use of the account.
    failed = _parse(
        _event("user.session.start", outcome={"result": "FAILURE", "reason": "x"}, **context)
    )
    assert failed.techniques == ()


def test_mfa_fatigue_each_denial_is_an_alert_sharing_the_join_keys() -> None:
    """One record cannot see a series: each denial is an alert, and the shared user and
    source address are what correlation joins them on."""
    denials = [
        _parse(
            _event(
                "user.mfa.okta_verify.deny_push",
                uuid=f"deny-{n}",
                published=f"2026-11-16T10:0{n}:00.000Z",
                outcome={"result": "FAILURE", "reason": "User rejected Okta push verify"},
            )
        )
        for n in range(3)
    ]
    assert len({a.id for a in denials}) == 3
    assert {a.values(EntityKind.USER) for a in denials} == {(ALICE,)}
    assert {a.values(EntityKind.IP) for a in denials} == {("203.0.113.40",)}
    assert all(a.techniques == ("T1621",) for a in denials)


def test_routine_events_are_quarantined_with_the_reason_by_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "okta.jsonl"
    records = [
        _event("user.session.end"),
        _event("user.account.lock"),
        _event("policy.evaluate_sign_on"),
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out = list(read([path], IngestOptions(source="auto"), now=NOW))
    assert [type(o) for o in out] == [QuarantinedRecord, Alert, QuarantinedRecord]
    kept = [o for o in out if isinstance(o, QuarantinedRecord)]
    assert [q.record_no for q in kept] == [1, 3]
    assert all(
        q.source == "okta" and q.reason.startswith("not an alert: routine Okta event") for q in kept
    )
    assert json.loads(kept[0].raw) == records[0]  # kept whole, for identity context later


def test_event_hook_delivery_in_a_json_file_is_read_event_by_event(tmp_path: Path) -> None:
    """The reader unwraps a delivery (its eventType says what it is): each event is a record;
    the adapter alone, handed the whole delivery, still refuses it (test above)."""
    path = tmp_path / "hook.json"
    delivery = {
        "eventType": "com.okta.event_hook",
        "eventTypeVersion": "1.0",
        "cloudEventsVersion": "0.1",
        "source": "https://example.okta.com/api/v1/eventHooks/who1",
        "eventId": "h-2",
        "eventTime": "2026-11-16T10:00:01.000Z",
        "contentType": "application/json",
        "data": {"events": [_event("user.account.lock"), _event("user.session.end")]},
    }
    path.write_text(json.dumps(delivery))
    lock, end = list(read([path], IngestOptions(source="auto"), now=NOW))
    assert isinstance(lock, Alert) and lock.detection_id == "okta:user.account.lock"
    assert isinstance(end, QuarantinedRecord)
    assert end.reason.startswith("not an alert: routine Okta event 'user.session.end'")
