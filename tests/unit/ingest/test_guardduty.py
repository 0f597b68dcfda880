"""Amazon GuardDuty adapter: the example file, EventBridge events, auto-detection, malformed."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.guardduty import GuardDutyAdapter
from tierzero.ingest.alert import Alert, Attack, EntityKind, Severity
from tierzero.ingest.base import ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import ALERT_SUFFIXES, IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
GD_FILE = EXAMPLES / "guardduty_findings.json"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
ADAPTER = GuardDutyAdapter()
CONTEXT = ParseContext("test.json", 1, NOW, "{}")
ACCOUNT = "111122223333"
ACCESS_KEY = "AKIA3NWLEXAMPLEKEY42"
BUCKET = "northwind-finance-reports"


def _example_findings() -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(GD_FILE.read_text())["Findings"]
    return findings


def _parse(record: dict[str, Any]) -> Alert:
    return ADAPTER.parse(record, CONTEXT)


def _exfil() -> dict[str, Any]:
    return copy.deepcopy(_example_findings()[2])


def _camel(value: Any) -> Any:
    """The REST/EventBridge spelling of a finding: every key in lower camelCase."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_camel(child) for child in value]
    return value


def _event(detail: Any, detail_type: str = "GuardDuty Finding") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "0c7d3e2a-5b1f-4e8a-9c6d-2f1e0a9b8c7d",
        "detail-type": detail_type,
        "source": "aws.guardduty",
        "account": ACCOUNT,
        "time": "2026-11-16T10:50:03Z",
        "region": "eu-central-1",
        "resources": [],
        "detail": detail,
    }


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    out = list(read([GD_FILE], now=NOW))
    assert [o for o in out if isinstance(o, QuarantinedRecord)] == []
    return [o for o in out if isinstance(o, Alert)]


def test_every_example_finding_becomes_an_alert(alerts: list[Alert]) -> None:
    assert len(alerts) == 3
    assert {a.provenance.source for a in alerts} == {"guardduty"}
    assert [a.provenance.record_no for a in alerts] == [1, 2, 3]
    assert [a.source_alert_id for a in alerts] == [
        "a2c6f41e8d3b47d0b1e5c9f7a3d2e8b4",
        "c81f2b7d94e04a6c8b3d5e1f0a2b4c6d",
        "d94a3c8e05f15b7d9c4e6f2a1b3c5d7e",
    ]
    assert all(a.flags == () for a in alerts)
    assert all(a.metadata.product.name == "Amazon GuardDuty" for a in alerts)


def test_times_are_event_last_seen(alerts: list[Alert]) -> None:
    assert [a.time for a in alerts] == [
        datetime(2026, 11, 16, 7, 48, 33, tzinfo=UTC),
        datetime(2026, 11, 16, 10, 31, 2, tzinfo=UTC),
        datetime(2026, 11, 16, 10, 44, 27, tzinfo=UTC),
    ]
    assert alerts[2].metadata.original_time == "2026-11-16T10:44:27.000Z"
    assert alerts[2].finding_info.first_seen_time == datetime(2026, 11, 16, 10, 31, 10, tzinfo=UTC)
    assert alerts[2].finding_info.last_seen_time == datetime(2026, 11, 16, 10, 44, 27, tzinfo=UTC)


def test_titles_types_and_severities(alerts: list[Alert]) -> None:
    assert [a.title for a in alerts] == [
        "Unprotected port on EC2 instance i-0a7c3e91d24b5f608 is being probed.",
        "Unusual S3 API invocation by user alice.martin.",
        "Anomalous S3 data read by user alice.martin.",
    ]
    assert [a.finding_info.analytic.uid for a in alerts] == [
        "Recon:EC2/PortProbeUnprotectedPort",
        "Discovery:S3/AnomalousBehavior",
        "Exfiltration:S3/AnomalousBehavior",
    ]
    assert alerts[2].detection_id == "guardduty:Exfiltration:S3/AnomalousBehavior"
    assert alerts[2].finding_info.types == ("Exfiltration:S3/AnomalousBehavior",)
    assert [a.severity_id for a in alerts] == [Severity.LOW, Severity.LOW, Severity.HIGH]


def test_threat_purpose_maps_to_a_tactic_only(alerts: list[Alert]) -> None:
    assert [a.finding_info.attacks for a in alerts] == [
        (Attack(tactic_uid="TA0043", tactic_name="Reconnaissance"),),
        (Attack(tactic_uid="TA0007", tactic_name="Discovery"),),
        (Attack(tactic_uid="TA0010", tactic_name="Exfiltration"),),
    ]
    assert all(a.techniques == () for a in alerts)
    assert alerts[2].tactics == ("Exfiltration",)


def test_exfiltration_by_alices_access_key(alerts: list[Alert]) -> None:
    alert = alerts[2]
    assert alert.cloud is not None
    assert (alert.cloud.provider, alert.cloud.account_uid, alert.cloud.region) == (
        "AWS",
        ACCOUNT,
        "eu-central-1",
    )
    assert alert.actor is not None
    assert (alert.actor.name, alert.actor.uid) == ("alice.martin", "AIDA3NWLEXAMPLEALICE")
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.country) == ("198.51.100.23", "RO")
    assert alert.device is None
    assert alert.message == "AWS_API_CALL GetObject on s3.amazonaws.com"
    assert alert.values(EntityKind.USER) == ("alice.martin",)
    assert alert.values(EntityKind.CLOUD_RESOURCE) == (ACCESS_KEY, BUCKET)
    assert alert.values(EntityKind.IP) == ("198.51.100.23",)
    assert alert.values(EntityKind.COUNTRY) == ("RO",)
    assert alert.values(EntityKind.USER_AGENT)[0].startswith("aws-cli/2.15.30")
    names = {(o.kind, o.value): o.name for o in alert.observables}
    assert names[(EntityKind.CLOUD_RESOURCE, ACCESS_KEY)] == "actor.user.credential_uid"
    assert names[(EntityKind.CLOUD_RESOURCE, BUCKET)] == "resources.name"
    assert names[(EntityKind.COUNTRY, "RO")] == "src_endpoint.location.country"


def test_port_probe_on_the_public_instance(alerts: list[Alert]) -> None:
    alert = alerts[0]
    assert alert.device is not None
    assert (alert.device.uid, alert.device.ip) == ("i-0a7c3e91d24b5f608", "172.31.20.14")
    assert alert.device.hostname == "ip-172-31-20-14.eu-central-1.compute.internal"
    assert alert.actor is None
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.country) == ("192.0.2.200", "NL")
    assert alert.dst_endpoint is not None
    assert (alert.dst_endpoint.ip, alert.dst_endpoint.port) == ("172.31.20.14", 22)
    assert alert.message == "PORT_PROBE"
    assert alert.values(EntityKind.CLOUD_RESOURCE) == ("i-0a7c3e91d24b5f608",)
    assert alert.values(EntityKind.IP) == (
        "172.31.20.14",
        "203.0.113.80",
        "192.0.2.200",
        "192.0.2.201",
    )


def test_auto_detection_picks_guardduty_for_the_example_file() -> None:
    auto = list(read([GD_FILE], now=NOW))
    forced = list(read([GD_FILE], IngestOptions(source="guardduty"), now=NOW))
    assert [a.id for a in auto if isinstance(a, Alert)] == [
        a.id for a in forced if isinstance(a, Alert)
    ]
    assert len(auto) == 3
    assert all(isinstance(a, Alert) and a.provenance.source == "guardduty" for a in auto)


def test_eventbridge_event_with_camel_case_detail(tmp_path: Path) -> None:
    path = tmp_path / "eventbridge.jsonl"
    path.write_text(json.dumps(_event(_camel(_exfil()))) + "\n")
    (alert,) = list(read([path], now=NOW))
    assert isinstance(alert, Alert)
    assert alert.provenance.source == "guardduty"
    direct = _parse(_exfil())
    assert alert.id == direct.id
    assert alert.time == direct.time
    assert alert.severity_id is Severity.HIGH
    assert alert.observables == direct.observables
    assert alert.cloud == direct.cloud


def test_eventbridge_event_with_pascal_case_detail() -> None:
    alert = _parse(_event(_example_findings()[0]))
    assert alert.source_alert_id == "a2c6f41e8d3b47d0b1e5c9f7a3d2e8b4"
    assert alert.severity_id is Severity.LOW


def test_eventbridge_account_and_region_fill_gaps() -> None:
    detail = _exfil()
    del detail["AccountId"], detail["Region"]
    alert = _parse(_event(detail))
    assert alert.cloud is not None
    assert (alert.cloud.account_uid, alert.cloud.region) == (ACCOUNT, "eu-central-1")


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (0.5, Severity.INFORMATIONAL),
        (1.0, Severity.LOW),
        (3.9, Severity.LOW),
        (4.0, Severity.MEDIUM),
        (6.9, Severity.MEDIUM),
        (7.0, Severity.HIGH),
        (8.9, Severity.HIGH),
        (9.0, Severity.CRITICAL),
        (10, Severity.CRITICAL),
        ("5.0", Severity.MEDIUM),
    ],
)
def test_severity_levels_follow_the_aws_ranges(score: Any, severity: Severity) -> None:
    record = _exfil()
    record["Severity"] = score
    assert _parse(record).severity_id is severity


def test_missing_severity_is_unknown() -> None:
    record = _exfil()
    del record["Severity"]
    assert _parse(record).severity_id is Severity.UNKNOWN


@pytest.mark.parametrize(
    ("finding_type", "tactic"),
    [
        ("CredentialAccess:IAMUser/AnomalousBehavior", ("TA0006", "Credential Access")),
        ("Stealth:IAMUser/CloudTrailLoggingDisabled", ("TA0005", "Defense Evasion")),
        ("Persistence:IAMUser/AnomalousBehavior", ("TA0003", "Persistence")),
        ("Impact:S3/MaliciousIPCaller", ("TA0040", "Impact")),
        ("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", None),
        ("Backdoor:EC2/C&CActivity.B", None),
        ("NoColonHere", None),
    ],
)
def test_threat_purposes(finding_type: str, tactic: tuple[str, str] | None) -> None:
    record = _exfil()
    record["Type"] = finding_type
    attacks = _parse(record).finding_info.attacks
    if tactic is None:
        assert attacks == ()
    else:
        assert attacks == (Attack(tactic_uid=tactic[0], tactic_name=tactic[1]),)


def test_updated_at_is_the_time_without_event_last_seen() -> None:
    record = _exfil()
    del record["Service"]["EventLastSeen"]
    alert = _parse(record)
    assert alert.time == datetime(2026, 11, 16, 10, 49, 58, 640000, tzinfo=UTC)
    assert alert.metadata.original_time == "2026-11-16T10:49:58.640Z"
    assert alert.finding_info.last_seen_time is None


def test_network_connection_directions() -> None:
    record = copy.deepcopy(_example_findings()[0])
    remote = {"IpAddressV4": "198.51.100.77", "Country": {"CountryName": "Unknown Land"}}
    record["Service"]["Action"] = {
        "ActionType": "NETWORK_CONNECTION",
        "NetworkConnectionAction": {
            "ConnectionDirection": "OUTBOUND",
            "Protocol": "TCP",
            "RemoteIpDetails": remote,
            "RemotePortDetails": {"Port": 443, "PortName": "HTTPS"},
            "LocalPortDetails": {"Port": 50444, "PortName": "Unknown"},
        },
    }
    outbound = _parse(record)
    assert outbound.dst_endpoint is not None and outbound.src_endpoint is not None
    assert (outbound.dst_endpoint.ip, outbound.dst_endpoint.port) == ("198.51.100.77", 443)
    assert outbound.dst_endpoint.country == "Unknown Land"
    assert (outbound.src_endpoint.ip, outbound.src_endpoint.port) == ("172.31.20.14", 50444)
    assert outbound.message == "NETWORK_CONNECTION OUTBOUND"
    record["Service"]["Action"]["NetworkConnectionAction"]["ConnectionDirection"] = "INBOUND"
    inbound = _parse(record)
    assert inbound.src_endpoint is not None and inbound.src_endpoint.ip == "198.51.100.77"
    assert inbound.dst_endpoint is not None and inbound.dst_endpoint.port == 50444
    names = {o.value: o.name for o in inbound.observables if o.kind is EntityKind.IP}
    assert names["198.51.100.77"] == "src_endpoint.ip"


def test_dns_request_domain() -> None:
    record = copy.deepcopy(_example_findings()[0])
    record["Type"] = "Backdoor:EC2/C&CActivity.B!DNS"
    record["Service"]["Action"] = {
        "ActionType": "DNS_REQUEST",
        "DnsRequestAction": {
            "Domain": "cdn-update-check.example",
            "Protocol": "UDP",
            "Blocked": False,
        },
    }
    assert _parse(record).values(EntityKind.DOMAIN) == ("cdn-update-check.example",)


def test_sample_findings_are_rejected() -> None:
    record = _exfil()
    record["Service"]["AdditionalInfo"] = {
        "Value": '{"sample":true}',
        "Type": "default",
        "Sample": True,
    }
    with pytest.raises(RecordRejected, match="sample finding"):
        _parse(record)


OTHER_FORMATS: dict[str, dict[str, Any]] = {
    "ocsf": {
        "class_uid": 2004,
        "category_uid": 2,
        "time": 1794819734000,
        "severity_id": 4,
        "type_uid": 200401,
        "metadata": {"version": "1.3.0", "product": {"name": "X", "vendor_name": "Y"}},
        "finding_info": {"uid": "f-1", "title": "t"},
    },
    "sentinel": {
        "TimeGenerated": "2026-11-16T09:40:00Z",
        "SystemAlertId": "a-1",
        "AlertName": "Atypical travel",
        "AlertSeverity": "Medium",
        "AlertType": "x",
        "ProviderName": "IPC",
        "Entities": "[]",
        "ExtendedProperties": "{}",
    },
    "defender": {
        "id": "da-1",
        "providerAlertId": "p-1",
        "title": "t",
        "severity": "high",
        "createdDateTime": "2026-11-16T09:02:00Z",
        "category": "Execution",
        "serviceSource": "microsoftDefenderForEndpoint",
        "evidence": [],
    },
    "crowdstrike": {
        "metadata": {
            "customerIDString": "c",
            "offset": 1,
            "eventType": "DetectionSummaryEvent",
            "eventCreationTime": 1794819734000,
            "version": "1.0",
        },
        "event": {"DetectId": "ldt:a:1", "ComputerName": "LT-FIN-042"},
    },
    "okta": {
        "uuid": "u-1",
        "published": "2026-11-16T09:40:02.418Z",
        "eventType": "user.session.start",
        "severity": "INFO",
        "version": "0",
    },
    "elastic": {
        "@timestamp": "2026-11-16T09:02:00Z",
        "kibana.alert.uuid": "k-1",
        "kibana.alert.rule.name": "r",
        "event": {"kind": "signal"},
    },
    "wazuh": {
        "timestamp": "2026-11-16T10:15:00.000+0000",
        "id": "1.2",
        "rule": {"id": "60106", "level": 10, "description": "d"},
        "agent": {"id": "003", "name": "SRV-FS-01"},
    },
    "suricata": {
        "timestamp": "2026-11-16T09:04:00.000000+0000",
        "event_type": "alert",
        "src_ip": "10.20.4.42",
        "dest_ip": "198.51.100.77",
        "alert": {"signature": "s", "signature_id": 1},
    },
    "security_hub_asff": {
        "SchemaVersion": "2018-10-08",
        "Id": "x",
        "ProductArn": "p",
        "Types": ["TTPs/Discovery"],
        "Severity": {"Label": "LOW"},
    },
    "other_eventbridge": {
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "detail": {},
    },
}


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_does_not_match_other_formats(name: str) -> None:
    assert not ADAPTER.matches(OTHER_FORMATS[name])


def _other_example_records() -> Iterator[dict[str, Any]]:
    for path in sorted(EXAMPLES.iterdir()):
        kind = ALERT_SUFFIXES.get(path.suffix)
        if path == GD_FILE or kind not in ("json", "jsonl") or path.name.startswith("bad_"):
            continue
        text = path.read_text()
        try:
            document = json.loads(text)
        except ValueError:
            document = [json.loads(line) for line in text.splitlines() if line.strip()]
        if isinstance(document, dict):
            lists = [v for v in document.values() if isinstance(v, list)]
            document = lists[0] if len(document) <= 3 and lists else [document]
        yield from (item for item in document if isinstance(item, dict))


def test_matches_findings_and_eventbridge_events() -> None:
    assert all(ADAPTER.matches(f) for f in _example_findings())
    assert all(ADAPTER.matches(_camel(f)) for f in _example_findings())
    assert ADAPTER.matches(_event(_camel(_exfil())))
    assert not ADAPTER.matches({})


def _delete(*path: str) -> Any:
    def change(record: dict[str, Any]) -> None:
        target = record
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


def _set(value: Any, *path: str) -> Any:
    def change(record: dict[str, Any]) -> None:
        target = record
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _no_time(record: dict[str, Any]) -> None:
    del record["Service"]["EventLastSeen"], record["UpdatedAt"]


MALFORMED = [
    (_delete("Id"), "missing required field 'Id'"),
    (_delete("Type"), "missing required field 'Type'"),
    (_no_time, "missing required field 'Service.EventLastSeen' (or 'UpdatedAt')"),
    (_set(["d94a"], "Id"), "field 'Id' should be text, got list"),
    (_set({"a": 1}, "Type"), "field 'Type' should be text, got dict"),
    (_set([8.0], "Severity"), "field 'Severity' should be a number, got list"),
    (_set(True, "Severity"), "field 'Severity' should be a number, got bool"),
    (_set("high", "Severity"), "severity 'high' is not a number"),
    (
        _set("last tuesday", "Service", "EventLastSeen"),
        "field 'Service.EventLastSeen' is not a valid time",
    ),
    (
        _set("2026-11-16T10:44:27", "Service", "EventLastSeen"),
        "field 'Service.EventLastSeen' has no time zone",
    ),
    (_set(["x"], "Resource"), "field 'Resource' should be an object, got list"),
    (
        _set("AWS_API_CALL", "Service", "Action"),
        "field 'Service.Action' should be an object, got str",
    ),
    (
        _set({"Name": BUCKET}, "Resource", "S3BucketDetails"),
        "field 'Resource.S3BucketDetails' should be a list, got dict",
    ),
    (
        _set(["alice.martin"], "Resource", "AccessKeyDetails", "UserName"),
        "field 'Resource.AccessKeyDetails.UserName' should be text, got list",
    ),
    (_set(["t"], "Title"), "field 'Title' should be text, got list"),
]


@pytest.mark.parametrize(("change", "reason"), MALFORMED)
def test_malformed_findings_are_rejected_with_a_reason(change: Any, reason: str) -> None:
    record = _exfil()
    change(record)
    with pytest.raises(RecordRejected) as caught:
        _parse(record)
    assert reason in caught.value.reason


def test_empty_object_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="missing required field 'Id'"):
        _parse({})


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            _event({}, "GuardDuty Malware Protection Object Scan Result"),
            "EventBridge detail-type 'GuardDuty Malware Protection Object Scan Result' is not a "
            "GuardDuty finding",
        ),
        (_event(["finding"]), "EventBridge event has no finding object in 'detail'"),
        (_event({}), "EventBridge event has no finding object in 'detail'"),
        (_event({"id": "x"}), "missing required field 'Type'"),
    ],
)
def test_bad_eventbridge_events_are_rejected(event: dict[str, Any], reason: str) -> None:
    assert ADAPTER.matches(event)
    with pytest.raises(RecordRejected) as caught:
        _parse(event)
    assert caught.value.reason == reason


def test_malformed_findings_go_to_quarantine_through_the_reader(tmp_path: Path) -> None:
    no_id = _exfil()
    del no_id["Id"]
    bad_resource = _exfil()
    bad_resource["Resource"] = "S3Bucket"
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"Findings": [_exfil(), no_id, bad_resource]}))
    out = list(read([path], IngestOptions(source="guardduty"), now=NOW))
    assert isinstance(out[0], Alert)
    assert [
        (q.source, q.record_no, q.reason) for q in out[1:] if isinstance(q, QuarantinedRecord)
    ] == [
        ("guardduty", 2, "missing required field 'Id'"),
        ("guardduty", 3, "field 'Resource' should be an object, got str"),
    ]


HOSTILE_VALUES: list[Any] = [
    None,
    "",
    0,
    -1,
    True,
    1e308,
    float("nan"),
    [],
    {},
    ["a"],
    {"a": {"b": [1]}},
    "x" * 10000,
    "\u0000\ud800",
]


def _leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _leaf_paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield prefix + (index,)
            yield from _leaf_paths(child, prefix + (index,))


def _replace(record: Any, path: tuple[Any, ...], value: Any) -> Any:
    copied = copy.deepcopy(record)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


@pytest.mark.parametrize("index", range(3))
def test_hostile_values_anywhere_only_ever_raise_record_rejected(index: int) -> None:
    for record in (_example_findings()[index], _event(_camel(_example_findings()[index]))):
        for path in _leaf_paths(record):
            for value in HOSTILE_VALUES:
                try:
                    _parse(_replace(record, path, value))
                except RecordRejected:
                    pass


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "Id",
        "Type",
        "Severity",
        "Title",
        "Resource",
        "Service",
        "UpdatedAt",
        "AccountId",
        "Region",
        "detail-type",
        "detail",
        "id",
        "type",
        "service",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(record=st.dictionaries(KEYS, JSON, max_size=10))
def test_random_objects_only_ever_raise_record_rejected(record: dict[str, Any]) -> None:
    ADAPTER.matches(record)
    try:
        _parse(record)
    except RecordRejected as exc:
        assert exc.reason
