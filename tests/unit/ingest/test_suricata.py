"""Suricata EVE adapter: the example file, auto-detection, malformed events."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.suricata import SuricataAdapter
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EVE_FILE = EXAMPLES / "suricata_eve.json"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
ADAPTER = SuricataAdapter()
CONTEXT = ParseContext("eve.json", 1, NOW, "{}")
C2 = "198.51.100.77"
LAPTOP = "10.20.4.42"
SCANNER = "10.0.5.10"

OTHER_FORMATS: dict[str, dict[str, Any]] = {
    "ocsf": {
        "class_uid": 2004,
        "category_uid": 2,
        "type_uid": 200401,
        "time": 1794819331204,
        "metadata": {"version": "1.3.0"},
        "finding_info": {"uid": "F"},
    },
    "sentinel": {"TimeGenerated": "2026-11-16T08:56:47Z", "AlertName": "x", "SystemAlertId": "1"},
    "defender": {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "fa1",
        "createdDateTime": "2026-11-16T09:02:00Z",
    },
    "crowdstrike": {
        "metadata": {"eventType": "DetectionSummaryEvent"},
        "event": {"DetectId": "1", "LocalIP": LAPTOP},
    },
    "guardduty": {
        "SchemaVersion": "2.0",
        "Id": "a2c6",
        "Severity": 2.0,
        "Type": "Recon:EC2/PortProbeUnprotectedPort",
    },
    "okta": {
        "uuid": "b1f3",
        "eventType": "user.session.start",
        "published": "2026-11-16T09:40:02Z",
        "client": {"ipAddress": "198.51.100.23"},
    },
    "elastic": {
        "@timestamp": "2026-11-16T09:02:41Z",
        "kibana.alert.uuid": "3e9b",
        "source": {"ip": LAPTOP},
        "event": {"kind": "signal"},
    },
    "wazuh": {
        "timestamp": "2026-11-16T10:15:02.514+0000",
        "rule": {"level": 6, "id": "92652"},
        "agent": {"name": "SRV-FS-01"},
        "manager": {"name": "m"},
        "id": "1.2",
        "data": {"srcip": LAPTOP},
    },
}


def _examples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EVE_FILE.read_text().splitlines() if line.strip()]


def _reason(record: Any) -> str:
    with pytest.raises(RecordRejected) as caught:
        ADAPTER.parse(record, CONTEXT)
    return caught.value.reason


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    out = list(read([EVE_FILE], now=NOW))
    assert [o for o in out if isinstance(o, QuarantinedRecord)] == []
    return [o for o in out if isinstance(o, Alert)]


# --- the example file ------------------------------------------------------------------------


def test_every_example_event_becomes_an_alert(alerts: list[Alert]) -> None:
    assert len(alerts) == 6
    assert {a.provenance.source for a in alerts} == {"suricata"}
    assert [a.provenance.record_no for a in alerts] == [1, 2, 3, 4, 5, 6]
    # flow id : signature id : timestamp as written
    assert alerts[0].source_alert_id == "1418329011573122:2059412:2026-11-16T09:04:12.345678+0000"
    assert len({a.id for a in alerts}) == 6
    assert all(a.flags == () for a in alerts)


def test_times_titles_and_severities(alerts: list[Alert]) -> None:
    assert [a.time for a in alerts] == [
        datetime(2026, 11, 16, 9, 4, 12, 345678, tzinfo=UTC),
        datetime(2026, 11, 16, 10, 14, 58, 902117, tzinfo=UTC),
        datetime(2026, 11, 16, 10, 45, 10, 118204, tzinfo=UTC),
        datetime(2026, 11, 16, 6, 30, 58, 611902, tzinfo=UTC),
        datetime(2026, 11, 16, 6, 31, 2, 4417, tzinfo=UTC),
        datetime(2026, 11, 16, 6, 31, 3, 187720, tzinfo=UTC),
    ]
    assert alerts[0].title == (
        "ET MALWARE Observed Malicious Domain (cdn-update-check .example) in TLS SNI"
    )
    # EVE alert.severity is the rule priority: 1 is the most severe
    assert [a.severity_id for a in alerts] == [
        Severity.HIGH,
        Severity.HIGH,
        Severity.HIGH,
        Severity.HIGH,
        Severity.MEDIUM,
        Severity.MEDIUM,
    ]
    assert alerts[0].message == "Domain Observed Used for C2 Detected"
    assert [a.finding_info.analytic.uid for a in alerts] == [
        "2059412",
        "2027237",
        "2061190",
        "2009358",
        "2010937",
        "2010935",
    ]
    assert alerts[3].detection_id == "suricata:2009358"


def test_et_metadata_gives_techniques_and_tactics(alerts: list[Alert]) -> None:
    assert [a.techniques for a in alerts] == [
        ("T1071",),
        ("T1021",),
        ("T1041",),
        ("T1595",),
        (),
        (),
    ]
    assert [
        (a.finding_info.attacks[0].tactic_uid, a.finding_info.attacks[0].tactic_name)
        for a in alerts[:4]
    ] == [
        ("TA0011", "Command and Control"),
        ("TA0008", "Lateral Movement"),
        ("TA0010", "Exfiltration"),
        ("TA0043", "Reconnaissance"),
    ]


def test_c2_beacon_from_the_laptop(alerts: list[Alert]) -> None:
    beacon = alerts[0]
    assert beacon.src_endpoint is not None and beacon.dst_endpoint is not None
    assert (beacon.src_endpoint.ip, beacon.src_endpoint.port) == (LAPTOP, 49732)
    assert (beacon.dst_endpoint.ip, beacon.dst_endpoint.port) == (C2, 443)
    assert beacon.values(EntityKind.IP) == (LAPTOP, C2)
    assert beacon.values(EntityKind.DOMAIN) == ("cdn-update-check.example",)


def test_smb_lateral_movement_to_the_file_server(alerts: list[Alert]) -> None:
    smb = alerts[1]
    assert smb.values(EntityKind.IP) == (LAPTOP, "10.10.1.15")
    assert smb.dst_endpoint is not None and smb.dst_endpoint.port == 445


def test_exfil_upload_names_url_and_domain(alerts: list[Alert]) -> None:
    upload = alerts[2]
    assert upload.values(EntityKind.IP) == ("10.10.1.15", C2)
    assert upload.values(EntityKind.URL) == ("http://cdn-update-check.example/api/v2/sync?part=1",)
    assert upload.dst_endpoint is not None
    assert upload.dst_endpoint.domain == "cdn-update-check.example"
    assert len(upload.values(EntityKind.USER_AGENT)) == 1


def test_scanner_noise(alerts: list[Alert]) -> None:
    scans = alerts[3:]
    assert all(a.title.startswith("ET SCAN ") for a in scans)
    assert all(a.src_endpoint is not None and a.src_endpoint.ip == SCANNER for a in scans)
    assert [a.dst_endpoint.ip for a in scans if a.dst_endpoint] == [
        "10.10.1.22",
        "10.10.1.33",
        "10.10.1.15",
    ]
    assert scans[0].values(EntityKind.DOMAIN) == ()  # the Host header was a bare address
    assert scans[0].values(EntityKind.USER_AGENT) == (
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    )


# --- auto-detection --------------------------------------------------------------------------


def test_auto_detection_picks_suricata_for_the_example_file() -> None:
    assert all(ADAPTER.matches(r) for r in _examples())
    explicit = list(read([EVE_FILE], IngestOptions(source="suricata"), now=NOW))
    assert len(explicit) == 6 and all(isinstance(o, Alert) for o in explicit)


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_other_formats_are_not_taken_for_suricata(name: str) -> None:
    assert not ADAPTER.matches(OTHER_FORMATS[name])


# --- malformed events ------------------------------------------------------------------------


def _mutated(index: int, path: str, value: Any) -> dict[str, Any]:
    record = copy.deepcopy(_examples()[index])
    *parents, last = path.split(".")
    target = record
    for key in parents:
        target = target[key]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return record


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("event_type", "flow", "Suricata event_type 'flow' is not an alert"),
        ("event_type", "dns", "Suricata event_type 'dns' is not an alert"),
        ("alert", _DELETE, "missing required field 'alert'"),
        ("alert", ["ET MALWARE"], "field 'alert' should be an object"),
        ("alert.signature", _DELETE, "missing required field 'alert.signature'"),
        ("alert.signature", "", "missing required field 'alert.signature'"),
        ("alert.signature", {"msg": "x"}, "field 'alert.signature' should be text"),
        ("alert.signature_id", [2059412], "field 'alert.signature_id' should be text"),
        ("timestamp", _DELETE, "missing required field 'timestamp'"),
        ("timestamp", "yesterday", "field 'timestamp' is not a valid time"),
        ("timestamp", "2026-11-16T09:04:12.345678", "field 'timestamp' has no time zone"),
        ("timestamp", ["2026-11-16T09:04:12Z"], "field 'timestamp' is not a time"),
        ("src_ip", ["10.20.4.42"], "field 'src_ip' should be text"),
        ("tls.sni", {"name": "x"}, "field 'tls.sni' should be text"),
    ],
)
def test_malformed_events_are_rejected_with_the_reason(
    path: str, value: Any, expected: str
) -> None:
    assert expected in _reason(_mutated(0, path, value))


def test_non_alert_event_in_a_file_is_quarantined(tmp_path: Path) -> None:
    flow = {
        "timestamp": "2026-11-16T09:04:13.000000+0000",
        "flow_id": 1,
        "event_type": "flow",
        "src_ip": LAPTOP,
        "dest_ip": C2,
        "flow": {"state": "closed"},
    }
    path = tmp_path / "eve.json"
    path.write_text(EVE_FILE.read_text().splitlines()[0] + "\n" + json.dumps(flow) + "\n")
    out = list(read([path], now=NOW))
    assert isinstance(out[0], Alert)
    assert isinstance(out[1], QuarantinedRecord)
    assert (out[1].source, out[1].record_no, out[1].reason) == (
        "suricata",
        2,
        "Suricata event_type 'flow' is not an alert",
    )


def test_empty_object_is_not_suricata_and_is_rejected() -> None:
    assert not ADAPTER.matches({})
    assert "is not an alert" in _reason({})


def test_missing_flow_id_falls_back_to_a_digest_of_the_record() -> None:
    record = _mutated(0, "flow_id", _DELETE)
    first = ADAPTER.parse(record, ParseContext("eve.json", 1, NOW, json.dumps(record)))
    again = ADAPTER.parse(record, ParseContext("eve.json", 9, NOW, json.dumps(record)))
    assert first.source_alert_id == again.source_alert_id
    assert len(first.source_alert_id) == 24


# --- known defects of the adapter (reported; these turn into failures once fixed) ------------


def test_et_technique_names_are_readable(alerts: list[Alert]) -> None:
    assert alerts[0].finding_info.attacks[0].technique_name == "Application Layer Protocol"


def test_an_ip_host_header_is_not_the_endpoint_domain(alerts: list[Alert]) -> None:
    assert alerts[3].dst_endpoint is not None and alerts[3].dst_endpoint.domain is None


def test_dns_query_names_are_domains() -> None:
    record = _mutated(4, "dns", {"query": [{"type": "query", "rrname": "evil.example"}]})
    assert ADAPTER.parse(record, CONTEXT).values(EntityKind.DOMAIN) == ("evil.example",)


def test_boolean_priority_is_not_priority_one() -> None:
    record = _mutated(4, "alert.severity", True)
    assert ADAPTER.parse(record, CONTEXT).severity_id is not Severity.HIGH


# --- flow direction, priorities, addresses (Suricata docs, "EVE JSON Format") ----------------


def _to_client(**extra: Any) -> dict[str, Any]:
    """Example 3 (C2 download) as Suricata 7 logs an alert on the server's reply: the packet
    goes server to client, ``direction`` says so and ``flow`` keeps the client as src."""
    record = _mutated(2, "src_ip", C2)
    record.update(src_port=80, dest_ip="10.10.1.15", dest_port=51544, direction="to_client")
    record.update(extra)
    return record


def test_a_to_client_alert_is_oriented_client_to_server() -> None:
    flow = {"src_ip": "10.10.1.15", "dest_ip": C2, "src_port": 51544, "dest_port": 80}
    alert = ADAPTER.parse(_to_client(flow=flow), CONTEXT)
    assert alert.src_endpoint is not None and alert.dst_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.port) == ("10.10.1.15", 51544)
    assert (alert.dst_endpoint.ip, alert.dst_endpoint.port) == (C2, 80)
    # the HTTP host is the server's name, so it goes with the server
    assert alert.dst_endpoint.domain == "cdn-update-check.example"
    assert alert.src_endpoint.domain is None


def test_without_a_flow_object_direction_alone_turns_the_alert_round() -> None:
    alert = ADAPTER.parse(_to_client(), CONTEXT)
    assert alert.dst_endpoint is not None and alert.dst_endpoint.ip == C2


def test_flow_addresses_agreeing_with_the_packet_win_over_direction() -> None:
    flow = {"src_ip": C2, "dest_ip": "10.10.1.15"}  # the server opened this flow
    alert = ADAPTER.parse(_to_client(flow=flow), CONTEXT)
    assert alert.src_endpoint is not None and alert.src_endpoint.ip == C2


def test_a_to_server_alert_keeps_the_packet_orientation() -> None:
    alert = ADAPTER.parse(_examples()[0], CONTEXT)
    assert alert.src_endpoint is not None and alert.src_endpoint.ip == LAPTOP


@pytest.mark.parametrize(
    ("priority", "severity"),
    [(1, Severity.HIGH), (2, Severity.MEDIUM), (3, Severity.LOW), (4, Severity.LOW)]
    + [("1", Severity.HIGH), (0, Severity.LOW), (255, Severity.LOW), ("high", Severity.LOW)],
)
def test_priority_to_severity(priority: Any, severity: Severity) -> None:
    record = _mutated(4, "alert.severity", priority)
    assert ADAPTER.parse(record, CONTEXT).severity_id is severity


def test_host_header_port_is_part_of_the_url() -> None:
    """Docs: 'Host: www.test.org:1337' is logged as hostname + http_port."""
    record = _mutated(2, "http.http_port", 1337)
    assert ADAPTER.parse(record, CONTEXT).values(EntityKind.URL) == (
        "http://cdn-update-check.example:1337/api/v2/sync?part=1",
    )


def test_ipv4_mapped_addresses_are_the_ipv4_address() -> None:
    record = _mutated(1, "src_ip", f"::ffff:{LAPTOP}")
    assert ADAPTER.parse(record, CONTEXT).values(EntityKind.IP)[0] == LAPTOP


# --- hostile input ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
PATHS = [
    "timestamp",
    "flow_id",
    "src_ip",
    "dest_ip",
    "src_port",
    "dest_port",
    "alert",
    "alert.signature",
    "alert.signature_id",
    "alert.severity",
    "alert.metadata",
    "http",
    "http.hostname",
    "http.url",
    "tls",
    "dns",
    "fileinfo",
    "event_type",
    "direction",
    "flow",
    "flow.src_ip",
    "http.http_port",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 5), path=st.sampled_from(PATHS), value=JSON_VALUES)
def test_any_field_replaced_by_any_json_never_crashes(index: int, path: str, value: Any) -> None:
    record = copy.deepcopy(_examples()[index])
    *parents, last = path.split(".")
    target = record
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = value
    try:
        assert isinstance(ADAPTER.parse(record, CONTEXT), Alert)
    except RecordRejected as exc:
        assert exc.reason
