"""Okta System Log adapter: the example file, auto-detection, malformed records."""

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
from tierzero.ingest.base import ParseContext, RecordRejected
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
    # INFO -> low, WARN -> medium; the last two are INFO raised to high by risk level=HIGH.
    assert [a.severity_id for a in alerts] == [
        Severity.LOW,
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
    assert session.finding_info.desc == "Outcome: SUCCESS; Okta risk level: HIGH"
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
    record = copy.deepcopy(_example_records()[0])
    record["severity"] = "ERROR"
    record["debugContext"]["debugData"] = {"logOnlySecurityData": '{"risk":{"level":"LOW"}}'}
    assert _parse(record).severity_id is Severity.HIGH
    record["severity"] = "DEBUG"
    assert _parse(record).severity_id is Severity.INFORMATIONAL
    record["debugContext"]["debugData"] = {"logOnlySecurityData": '{"risk":{"level":"HIGH"}}'}
    assert _parse(record).severity_id is Severity.HIGH
    record["debugContext"]["debugData"] = {"logOnlySecurityData": "{broken"}
    assert _parse(record).severity_id is Severity.INFORMATIONAL


def test_ordinary_session_start_has_no_technique() -> None:
    record = copy.deepcopy(_example_records()[4])
    record["debugContext"]["debugData"] = {"risk": "{level=LOW}", "threatSuspected": "false"}
    alert = _parse(record)
    assert alert.techniques == ()
    assert alert.severity_id is Severity.LOW


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
    with pytest.raises(RecordRejected, match="event hook delivery.*data.events"):
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
