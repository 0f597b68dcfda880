"""Elastic Security alert adapter: the example file, dotted/nested keys, auto-detection, rejects."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.elastic import ElasticAdapter, field
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ELASTIC_FILE = EXAMPLES / "elastic_alerts.ndjson"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
SHA256 = "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc"
ADAPTER = ElasticAdapter()
CONTEXT = ParseContext("test.ndjson", 1, NOW, "{}")
UIDS = [
    "3e9b1c74a0d25f8e6b4c2a1d0f9e8d7c6b5a49382716f5e4d3c2b1a0f9e8d7c6",
    "8d2f4a6c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f",
    "c4e6a8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6",
    "1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f0a2c",
]


def _example_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in ELASTIC_FILE.read_text().splitlines() if line.strip()]


def _parse(record: dict[str, Any]) -> Alert:
    return ADAPTER.parse(record, CONTEXT)


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    out = list(read([ELASTIC_FILE], now=NOW))
    assert [o for o in out if isinstance(o, QuarantinedRecord)] == []
    return [o for o in out if isinstance(o, Alert)]


def test_every_example_record_becomes_an_alert(alerts: list[Alert]) -> None:
    assert [a.source_alert_id for a in alerts] == UIDS
    assert {a.provenance.source for a in alerts} == {"elastic"}
    assert all(a.flags == () for a in alerts)
    assert [a.title for a in alerts] == [
        "Script Host Spawning Encoded PowerShell",
        "Malware Detection Alert",
        "Network Connection by Recently Dropped Executable",
        "Interactive Logon to a Server",
    ]
    assert [a.severity_id for a in alerts] == [
        Severity.HIGH,
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.LOW,
    ]


def test_times_are_alert_time_with_original_event_time_as_first_seen(alerts: list[Alert]) -> None:
    assert [a.time for a in alerts] == [
        datetime(2026, 11, 16, 9, 2, 41, 512000, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 3, 2, 94000, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 5, 12, 630000, tzinfo=UTC),
        datetime(2026, 11, 16, 11, 21, 3, 207000, tzinfo=UTC),
    ]
    assert alerts[0].finding_info.first_seen_time == datetime(
        2026, 11, 16, 9, 2, 17, 806000, tzinfo=UTC
    )
    assert alerts[3].finding_info.first_seen_time == datetime(2026, 11, 16, 11, 20, 14, tzinfo=UTC)
    assert alerts[0].metadata.original_time == "2026-11-16T09:02:41.512Z"


def test_analytic_and_attack(alerts: list[Alert]) -> None:
    assert [a.detection_id for a in alerts] == [
        "elastic:b6a1e7c2-4f3d-4a8e-9c1b-0d2e3f4a5b61",
        "elastic:9a1a2dae-0b5f-4c3d-8305-a268d404c306",
        "elastic:e2d4f6a8-1b3c-4d5e-8f70-9a1b2c3d4e5f",
        "elastic:4c7e9b2a-5d1f-4e3a-b6c8-7a9d0e1f2b3c",
    ]
    assert [a.techniques for a in alerts] == [
        ("T1059", "T1059.001", "T1059.007"),
        (),
        ("T1071", "T1071.001"),
        ("T1078",),
    ]
    assert alerts[0].tactics == ("Execution",)
    assert {a.tactic_uid for a in alerts[2].finding_info.attacks} == {"TA0011"}
    names = [a.technique_name for a in alerts[0].finding_info.attacks]
    assert names == ["Command and Scripting Interpreter", "PowerShell", "JavaScript"]


def test_process_tree_on_the_laptop(alerts: list[Alert]) -> None:
    first = alerts[0]
    assert first.device is not None
    assert (first.device.hostname, first.device.ip) == ("LT-FIN-042", "10.20.4.42")
    assert first.device.os == "Windows 11 Enterprise 23H2"
    assert first.actor is not None
    assert (first.actor.name, first.actor.domain) == ("alice.martin", "NORTHWIND")
    process = first.process
    assert process is not None and process.parent_process is not None
    assert (process.name, process.pid) == ("powershell.exe", 7344)
    assert process.cmd_line is not None and process.cmd_line.startswith(
        "powershell.exe -nop -w hidden -enc "
    )
    assert process.parent_process.name == "wscript.exe"
    assert process.parent_process.cmd_line is not None
    assert "INV-88213.js" in process.parent_process.cmd_line
    assert first.values(EntityKind.PROCESS) == ("powershell.exe", "wscript.exe")
    assert first.values(EntityKind.HOST) == ("LT-FIN-042",)
    assert first.values(EntityKind.USER) == ("alice.martin",)
    assert first.message is not None and "LT-FIN-042" in first.message


def test_dropped_file_hash(alerts: list[Alert]) -> None:
    malware = alerts[1]
    assert malware.file is not None
    assert (malware.file.name, malware.file.sha256) == ("invsvc.exe", SHA256)
    assert malware.values(EntityKind.FILE) == ("invsvc.exe",)
    assert malware.values(EntityKind.HASH) == (SHA256,)
    hashes = [o.name for o in malware.observables if o.kind is EntityKind.HASH]
    assert hashes == ["file.hashes.value"]


def test_beacon_destination(alerts: list[Alert]) -> None:
    beacon = alerts[2]
    assert beacon.dst_endpoint is not None and beacon.src_endpoint is not None
    assert (beacon.dst_endpoint.ip, beacon.dst_endpoint.port) == ("198.51.100.77", 443)
    assert beacon.dst_endpoint.domain == "cdn-update-check.example"
    assert (beacon.src_endpoint.ip, beacon.src_endpoint.port) == ("10.20.4.42", 51544)
    assert beacon.values(EntityKind.DOMAIN) == ("cdn-update-check.example",)
    assert beacon.values(EntityKind.IP) == ("10.20.4.42", "198.51.100.77")
    assert beacon.process is not None and beacon.process.file is not None
    assert (beacon.process.name, beacon.process.file.sha256) == ("invsvc.exe", SHA256)
    assert ("process.file.hashes.value", SHA256) in {(o.name, o.value) for o in beacon.observables}


def test_benign_admin_logon(alerts: list[Alert]) -> None:
    bob = alerts[3]
    assert bob.device is not None and bob.device.hostname == "SRV-APP-03"
    assert bob.device.ip == "10.10.1.33"
    assert bob.values(EntityKind.USER) == ("bob.nguyen",)
    assert bob.process is None and bob.file is None and bob.dst_endpoint is None


def test_file_and_process_paths_are_full_with_their_folder(alerts: list[Alert]) -> None:
    # ECS: file.path and process.executable are full paths; file.directory is the folder.
    malware = alerts[1]
    assert malware.file is not None
    assert malware.file.path == "C:\\Users\\alice.martin\\AppData\\Local\\Temp\\invsvc.exe"
    assert malware.file.parent_folder == "C:\\Users\\alice.martin\\AppData\\Local\\Temp"
    process = malware.process
    assert process is not None and process.file is not None
    assert process.file.path == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    assert process.file.parent_folder == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0"
    assert process.parent_process is not None and process.parent_process.file is not None
    assert process.parent_process.file.parent_folder == "C:\\Windows\\System32"


def test_ecs_file_directory_and_name_without_path() -> None:
    # ECS file fields: a source may give file.directory and file.name but no file.path.
    record = _example_records()[1]
    record["file"] = {"name": "payload.sh", "directory": "/tmp/.x", "hash": {"md5": "a" * 32}}
    alert = _parse(record)
    assert alert.file is not None
    assert (alert.file.path, alert.file.parent_folder) == ("/tmp/.x/payload.sh", "/tmp/.x")


def test_identifiers_that_identify_nothing_are_no_entities() -> None:
    # ECS host.ip lists every interface (Elastic Agent adds loopback and link-local ones).
    record = _example_records()[2]
    record["host"]["ip"] = ["127.0.0.1", "::1", "fe80::4c1:2ff:fe3a:77", "0.0.0.0", "10.20.4.42"]
    record["user"]["name"] = "-"
    record["source"]["ip"] = "0.0.0.0"
    alert = _parse(record)
    assert alert.device is not None and alert.device.ip == "10.20.4.42"
    assert alert.values(EntityKind.IP) == ("10.20.4.42", "198.51.100.77")
    assert alert.actor is None and alert.values(EntityKind.USER) == ()
    assert alert.src_endpoint is None or alert.src_endpoint.ip is None
    assert alert.process is not None and alert.process.user is None


def test_indicator_match_atomics_are_observables() -> None:
    # Elastic Security indicator match rules write threat.enrichments[].matched
    # {atomic, field, type: indicator_match_rule} (ECS threat.enrichments).
    record = _example_records()[3]
    record["threat"] = {
        "enrichments": [
            {"matched": {"atomic": "203.0.113.9", "field": "source.ip"}},
            {"matched": {"atomic": "bad.example", "field": "dns.question.name"}},
            {"matched": {"atomic": "b" * 64, "field": "process.hash.sha256"}},
            {"matched": {"atomic": "anything", "field": "event.action"}},
            {"matched": "not an object"},
            {"matched": {"atomic": ["203.0.113.10"], "field": "destination.ip"}},
        ]
    }
    alert = _parse(record)
    assert "203.0.113.9" in alert.values(EntityKind.IP)
    assert alert.values(EntityKind.DOMAIN) == ("bad.example",)
    assert alert.values(EntityKind.HASH) == ("b" * 64,)
    assert "anything" not in {o.value for o in alert.observables}


def test_attack_from_rule_parameters_when_the_flat_list_is_absent() -> None:
    # Kibana 8.0 alert documents also keep the rule's threat list under
    # kibana.alert.rule.parameters (the es_archive alerts/8.0.0 shape).
    record = _example_records()[0]
    threat = record.pop("kibana.alert.rule.threat")
    record["kibana.alert.rule.parameters"] = {"threat": threat}
    assert _parse(record).techniques == ("T1059", "T1059.001", "T1059.007")


def test_cloud_of_the_host_is_kept() -> None:
    record = _example_records()[3]
    record["cloud"] = {"provider": "aws", "account": {"id": "123456789012"}, "region": "eu-west-1"}
    cloud = _parse(record).cloud
    assert cloud is not None
    assert (cloud.provider, cloud.account_uid, cloud.region) == ("aws", "123456789012", "eu-west-1")


def test_field_reads_dotted_nested_and_mixed_keys() -> None:
    assert field({"a.b.c": 1}, "a.b.c") == 1
    assert field({"a": {"b": {"c": 2}}}, "a.b.c") == 2
    assert field({"a": {"b.c": 3}}, "a.b.c") == 3
    assert field({"a.b": {"c": 4}}, "a.b.c") == 4
    assert field({"a.b.c": None, "a": {"b": {"c": 5}}}, "a.b.c") == 5
    assert field({"a.b": {"x": 1}, "a": {"b": {"c": 6}}}, "a.b.c") == 6
    assert field({"a": [1]}, "a.b") is None
    assert field("not a mapping", "a") is None


def _nested(record: dict[str, Any]) -> dict[str, Any]:
    """The same alert with every dotted key expanded into nested objects."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key == "@timestamp":
            out[key] = value
            continue
        target = out
        *heads, last = key.split(".")
        for head in heads:
            target = target.setdefault(head, {})
        if isinstance(value, dict) and isinstance(target.get(last), dict):
            target[last].update(value)
        else:
            target[last] = value
    return out


def test_nested_form_gives_the_same_alert() -> None:
    flat = _example_records()[2]
    nested = _nested(flat)
    assert "kibana.alert.uuid" not in nested and nested["kibana"]["alert"]["uuid"] == UIDS[2]
    assert ADAPTER.matches(nested)
    one, two = _parse(flat), _parse(nested)
    assert two.model_dump(exclude={"raw_data"}) == one.model_dump(exclude={"raw_data"})


def test_search_response_is_unwrapped(tmp_path: Path) -> None:
    records = _example_records()
    response = {
        "took": 3,
        "timed_out": False,
        "hits": {
            "total": {"value": 2},
            "hits": [
                {
                    "_index": ".internal.alerts-security.alerts-default-000001",
                    "_id": UIDS[0],
                    "_source": records[0],
                },
                {
                    "_index": ".internal.alerts-security.alerts-default-000001",
                    "_id": UIDS[3],
                    "_source": records[3],
                },
            ],
        },
    }
    path = tmp_path / "search.json"
    path.write_text(json.dumps(response))
    out = list(read([path], now=NOW))
    assert all(isinstance(o, Alert) for o in out)
    assert [o.source_alert_id for o in out if isinstance(o, Alert)] == [UIDS[0], UIDS[3]]


def test_risk_score_is_used_when_severity_is_absent() -> None:
    record = _example_records()[3]
    del record["kibana.alert.severity"]
    for score, expected in (
        (21, Severity.LOW),
        (22, Severity.MEDIUM),
        (47, Severity.MEDIUM),
        (73, Severity.HIGH),
        (74, Severity.CRITICAL),
    ):
        record["kibana.alert.risk_score"] = score
        assert _parse(record).severity_id is expected
    record["kibana.alert.risk_score"] = "high"
    # Then the rule's own declared severity and risk score (Alert schema: kibana.alert.rule.*).
    assert _parse(record).severity_id is Severity.LOW
    del record["kibana.alert.rule.severity"]
    record["kibana.alert.rule.risk_score"] = 50
    assert _parse(record).severity_id is Severity.HIGH
    del record["kibana.alert.rule.risk_score"]
    assert _parse(record).severity_id is Severity.UNKNOWN


def test_auto_detection_picks_elastic_for_the_example_file() -> None:
    out = list(read([ELASTIC_FILE], IngestOptions(source="auto"), now=NOW))
    assert [o.provenance.source for o in out if isinstance(o, Alert)] == ["elastic"] * 4


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
    "okta": {
        "uuid": "u-1",
        "published": "2026-11-16T09:40:00Z",
        "eventType": "user.session.start",
        "actor": {"type": "User", "alternateId": "alice.martin@northwind.example"},
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
    "ecs event": {
        "@timestamp": "2026-11-16T09:02:00Z",
        "event": {"kind": "event"},
        "host": {"name": "LT-FIN-042"},
        "process": {"name": "powershell.exe"},
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


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda r: r.pop("kibana.alert.uuid"), "missing required field 'kibana.alert.uuid'"),
        (
            lambda r: r.pop("kibana.alert.rule.name"),
            "missing required field 'kibana.alert.rule.name'",
        ),
        (lambda r: r.pop("@timestamp"), "missing required field '@timestamp'"),
        (
            lambda r: r.update({"kibana.alert.uuid": ["a"]}),
            "field 'kibana.alert.uuid' should be text, got list",
        ),
        (
            lambda r: r.update({"kibana.alert.rule.name": {"n": 1}}),
            "field 'kibana.alert.rule.name' should be text, got dict",
        ),
        (lambda r: r.update({"@timestamp": "soon"}), "field '@timestamp' is not a valid time"),
        (lambda r: r.update({"@timestamp": [1]}), "field '@timestamp' is not a time"),
        (
            lambda r: r.update({"kibana.alert.original_time": "x"}),
            "field 'kibana.alert.original_time' is not a valid time",
        ),
        (
            lambda r: r.update({"kibana.alert.rule.threat": {"tactic": {}}}),
            "field 'kibana.alert.rule.threat' should be a list",
        ),
        (
            lambda r: r.update({"kibana.alert.reason": ["x"]}),
            "field 'kibana.alert.reason' should be text, got list",
        ),
        (lambda r: r["host"].update(name=["LT-FIN-042"]), "field 'host.name' should be text"),
        (lambda r: r["host"].update(ip=[["10.20.4.42"]]), "field 'host.ip[0]' should be text"),
        (lambda r: r["process"].update(command_line={"a": 1}), "'process.cmd_line' should be text"),
        (
            lambda r: r.update({"event.kind": "event"}),
            "not an Elastic Security alert: event.kind is 'event', not 'signal'",
        ),
    ],
)
def test_malformed_records_are_rejected_with_a_reason(change: Any, reason: str) -> None:
    record = copy.deepcopy(_example_records()[0])
    change(record)
    with pytest.raises(RecordRejected) as caught:
        _parse(record)
    assert reason in caught.value.reason


def test_empty_object_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="missing required field 'kibana.alert.uuid'"):
        _parse({})


def test_malformed_records_go_to_quarantine_through_the_reader(tmp_path: Path) -> None:
    good = _example_records()[3]
    not_alert = {"@timestamp": "2026-11-16T09:02:00Z", "event": {"kind": "event"}}
    path = tmp_path / "alerts.ndjson"
    path.write_text("\n".join(json.dumps(r) for r in (good, not_alert, {})) + "\n")
    out = list(read([path], IngestOptions(source="elastic"), now=NOW))
    assert isinstance(out[0], Alert)
    assert isinstance(out[1], QuarantinedRecord) and isinstance(out[2], QuarantinedRecord)
    assert out[1].source == "elastic"
    assert out[1].reason == "not an Elastic Security alert: event.kind is 'event', not 'signal'"
    assert out[2].reason == "missing required field 'kibana.alert.uuid'"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
_KEYS = [
    "@timestamp",
    "kibana.alert.uuid",
    "kibana.alert.rule.name",
    "kibana.alert.severity",
    "kibana.alert.risk_score",
    "kibana.alert.rule.threat",
    "kibana.alert.original_time",
    "kibana.alert.rule.rule_id",
    "kibana",
    "event.kind",
    "event",
    "host",
    "user",
    "process",
    "file",
    "source",
    "destination",
    "url",
    "dns",
]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(key=st.sampled_from(_KEYS), value=_JSON, index=st.integers(0, 3))
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
