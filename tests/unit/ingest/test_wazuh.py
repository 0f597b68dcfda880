"""Wazuh alerts.json adapter: the example file, auto-detection, severity table, malformed input."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.wazuh import WazuhAdapter
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
WAZUH_FILE = EXAMPLES / "wazuh_alerts.json"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
ADAPTER = WazuhAdapter()
CONTEXT = ParseContext("alerts.json", 1, NOW, "{}")

OTHER_FORMATS: dict[str, dict[str, Any]] = {
    "ocsf": {
        "class_uid": 2004,
        "category_uid": 2,
        "type_uid": 200401,
        "time": 1794819331204,
        "metadata": {"version": "1.3.0"},
        "finding_info": {"uid": "F"},
    },
    "sentinel": {
        "TimeGenerated": "2026-11-16T08:56:47Z",
        "AlertName": "x",
        "SystemAlertId": "1",
        "ProviderName": "OATP",
        "Entities": "[]",
    },
    "defender": {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "fa1",
        "title": "x",
        "createdDateTime": "2026-11-16T09:02:00Z",
    },
    "crowdstrike": {"metadata": {"eventType": "DetectionSummaryEvent"}, "event": {"DetectId": "1"}},
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
    },
    # Elastic alerts carry ECS rule.* and agent.* too, but no rule.level and no "timestamp"
    "elastic": {
        "@timestamp": "2026-11-16T09:02:41Z",
        "kibana.alert.uuid": "3e9b",
        "rule": {"name": "x", "id": "r"},
        "agent": {"name": "LT-FIN-042"},
    },
    "suricata": {
        "timestamp": "2026-11-16T09:04:12.345678+0000",
        "event_type": "alert",
        "src_ip": "10.20.4.42",
        "dest_ip": "198.51.100.77",
        "alert": {"signature": "x"},
    },
}


def _examples() -> list[dict[str, Any]]:
    return [json.loads(line) for line in WAZUH_FILE.read_text().splitlines() if line.strip()]


def _reason(record: Any) -> str:
    with pytest.raises(RecordRejected) as caught:
        ADAPTER.parse(record, CONTEXT)
    return caught.value.reason


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    out = list(read([WAZUH_FILE], now=NOW))
    assert [o for o in out if isinstance(o, QuarantinedRecord)] == []
    return [o for o in out if isinstance(o, Alert)]


# --- the example file ------------------------------------------------------------------------


def test_every_example_alert_is_normalized(alerts: list[Alert]) -> None:
    assert len(alerts) == 8
    assert {a.provenance.source for a in alerts} == {"wazuh"}
    assert [a.provenance.record_no for a in alerts] == list(range(1, 9))
    assert [a.source_alert_id for a in alerts] == [
        "1794824102.48213377",
        "1794824109.48219904",
        "1794810672.30117742",
        "1794810700.30119865",
        "1794810725.30124410",
        "1794784341.1190472",
        "1794784352.1196113",
        "1794785141.1203390",
    ]
    assert all(a.flags == () for a in alerts)


def test_times_and_severities_follow_the_level_table(alerts: list[Alert]) -> None:
    assert alerts[0].time == datetime(2026, 11, 16, 10, 15, 2, 514000, tzinfo=UTC)
    assert alerts[0].metadata.original_time == "2026-11-16T10:15:02.514+0000"
    assert alerts[5].time == datetime(2026, 11, 15, 23, 12, 21, 406000, tzinfo=UTC)
    # levels 6, 12, 6, 7, 10, 5, 5, 3
    assert [a.severity_id for a in alerts] == [
        Severity.LOW,
        Severity.HIGH,
        Severity.LOW,
        Severity.MEDIUM,
        Severity.MEDIUM,
        Severity.LOW,
        Severity.LOW,
        Severity.INFORMATIONAL,
    ]


def test_rule_is_title_and_analytic(alerts: list[Alert]) -> None:
    logon = alerts[0]
    assert logon.title.startswith("Successful Remote Logon Detected - User:\\NORTHWIND\\alice")
    assert logon.finding_info.analytic.uid == "92652"
    assert logon.detection_id == "wazuh:92652"
    assert logon.finding_info.types == ("win_evt_channel", "windows", "authentication_success")
    assert [a.finding_info.analytic.uid for a in alerts] == [
        "92652",
        "100210",
        "31104",
        "31103",
        "31151",
        "554",
        "61138",
        "503",
    ]


def test_mitre_ids_and_tactics(alerts: list[Alert]) -> None:
    logon = alerts[0]
    assert logon.techniques == ("T1078.002", "T1550.002")
    assert logon.tactics == (
        "Defense Evasion",
        "Initial Access",
        "Lateral Movement",
        "Persistence",
        "Privilege Escalation",
    )
    pass_the_hash = logon.finding_info.attacks[0]
    assert (pass_the_hash.technique_uid, pass_the_hash.technique_name) == (
        "T1550.002",
        "Pass the Hash",
    )
    lateral = [a for a in logon.finding_info.attacks if a.tactic_name == "Lateral Movement"]
    assert lateral[0].tactic_uid == "TA0008"
    assert alerts[1].techniques == ("T1021.002", "T1569.002")
    assert alerts[4].techniques == ("T1595.002",)
    assert alerts[7].techniques == ()


def test_lateral_movement_logon_entities(alerts: list[Alert]) -> None:
    logon = alerts[0]
    assert logon.device is not None
    assert (logon.device.hostname, logon.device.ip, logon.device.uid) == (
        "SRV-FS-01",
        "10.10.1.15",
        "004",
    )
    assert logon.actor is not None
    assert (logon.actor.name, logon.actor.domain) == ("NORTHWIND\\alice.martin", "NORTHWIND")
    assert logon.src_endpoint is not None
    assert (logon.src_endpoint.ip, logon.src_endpoint.port, logon.src_endpoint.hostname) == (
        "10.20.4.42",
        50122,
        "LT-FIN-042",
    )
    assert logon.values(EntityKind.HOST) == (
        "SRV-FS-01",
        "SRV-FS-01.northwind.example",
        "LT-FIN-042",
    )
    assert logon.values(EntityKind.USER) == ("NORTHWIND\\alice.martin",)
    assert logon.values(EntityKind.IP) == ("10.10.1.15", "10.20.4.42")


def test_sysmon_process_tree_and_hashes(alerts: list[Alert]) -> None:
    shell = alerts[1]
    assert shell.process is not None and shell.process.file is not None
    assert (shell.process.name, shell.process.pid) == ("cmd.exe", 6120)
    assert shell.process.file.path == "C:\\Windows\\System32\\cmd.exe"
    assert shell.process.file.sha256 == (
        "8f2e6b1c0a9d7e5f3a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e4f"
    )
    assert shell.process.file.md5 == "3c5d9a1f0e6b7a2c4d8e9f0a1b2c3d4e"
    assert shell.process.user == "NORTHWIND\\alice.martin"
    assert shell.process.parent_process is not None
    assert (shell.process.parent_process.name, shell.process.parent_process.pid) == (
        "PSEXESVC.exe",
        5884,
    )
    assert shell.values(EntityKind.PROCESS) == ("cmd.exe", "PSEXESVC.exe")
    assert shell.values(EntityKind.COMMAND_LINE)[0].startswith('cmd.exe /c "whoami /all')
    assert len(shell.values(EntityKind.HASH)) == 2  # MD5 and SHA256; IMPHASH is not a file hash


def test_web_attacks_from_the_scanner(alerts: list[Alert]) -> None:
    for web in alerts[2:5]:
        assert web.device is not None and web.device.hostname == "SRV-WEB-02"
        assert web.src_endpoint is not None and web.src_endpoint.ip == "10.0.5.10"
        assert web.values(EntityKind.IP) == ("10.10.1.22", "10.0.5.10")
    assert alerts[3].values(EntityKind.URL) == (
        "/catalog/item.php?id=1%20union%20select%20null,null,null--",
    )
    assert alerts[2].message is not None and "Nmap Scripting Engine" in alerts[2].message


def test_maintenance_window_changes_on_the_app_server(alerts: list[Alert]) -> None:
    added, service, restart = alerts[5:8]
    assert {a.device.hostname for a in (added, service, restart) if a.device} == {"SRV-APP-03"}
    assert added.file is not None
    assert added.file.path == "c:\\program files\\northwind\\appserver\\agent.exe"
    assert added.file.sha256 == "4a9e1c7f3b5d2e8a0c6f4b1d9e7a3c5f2b8d0e6a4c1f9b7d5e3a2c0f8b6d4e1a"
    assert added.values(EntityKind.FILE) == ("agent.exe",)
    assert service.file is not None
    assert service.file.path == "C:\\Program Files\\Northwind\\AppServer\\agent.exe"
    assert service.techniques == ("T1543.003",)
    assert restart.title == "Wazuh agent started."
    assert restart.severity_id is Severity.INFORMATIONAL


# --- auto-detection --------------------------------------------------------------------------


def test_auto_detection_picks_wazuh_for_the_example_file() -> None:
    assert all(ADAPTER.matches(r) for r in _examples())
    explicit = list(read([WAZUH_FILE], IngestOptions(source="wazuh"), now=NOW))
    assert len(explicit) == 8 and all(isinstance(o, Alert) for o in explicit)


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_other_formats_are_not_taken_for_wazuh(name: str) -> None:
    assert not ADAPTER.matches(OTHER_FORMATS[name])


# --- severity table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (0, Severity.INFORMATIONAL),
        (3, Severity.INFORMATIONAL),
        (4, Severity.LOW),
        (6, Severity.LOW),
        (7, Severity.MEDIUM),
        (11, Severity.MEDIUM),
        (12, Severity.HIGH),
        (14, Severity.HIGH),
        (15, Severity.CRITICAL),
        (16, Severity.CRITICAL),
        ("9", Severity.MEDIUM),
    ],
)
def test_level_to_severity(level: Any, severity: Severity) -> None:
    record = copy.deepcopy(_examples()[2])
    record["rule"]["level"] = level
    assert ADAPTER.parse(record, CONTEXT).severity_id is severity


# --- malformed records -----------------------------------------------------------------------


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
    ("index", "path", "value", "expected"),
    [
        (0, "rule.description", _DELETE, "missing required field 'rule.description'"),
        (0, "rule.description", ["Successful logon"], "field 'rule.description' should be text"),
        (0, "rule", "92652", "field 'rule' should be an object"),
        (0, "rule.level", _DELETE, "missing required field 'rule.level'"),
        (0, "rule.level", 42, "rule.level 42 is outside Wazuh's 0-16 scale"),
        (0, "rule.level", -1, "rule.level -1 is outside"),
        (0, "rule.level", "high", "field 'rule.level' should be an integer"),
        (0, "rule.level", True, "field 'rule.level' should be an integer"),
        (0, "id", _DELETE, "missing required field 'id'"),
        (0, "id", {"value": 1}, "field 'id' should be text"),
        (0, "timestamp", _DELETE, "missing required field 'timestamp'"),
        (0, "timestamp", "16/Nov/2026:10:15:02", "field 'timestamp' is not a valid time"),
        (0, "timestamp", "2026-11-16T10:15:02", "field 'timestamp' has no time zone"),
        (0, "agent", ["SRV-FS-01"], "field 'agent' should be an object, got list"),
        (0, "data.win", "4624", "field 'data.win' should be an object, got str"),
        (
            0,
            "data.win.eventdata.targetUserName",
            ["alice"],
            "field 'data.win.eventdata.targetUserName' should be text",
        ),
        (
            1,
            "data.win.eventdata.image",
            {"path": "x"},
            "field 'data.win.eventdata.image' should be text",
        ),
        (2, "data.srcip", ["10.0.5.10"], "field 'data.srcip' should be text"),
        (0, "rule.mitre", ["T1078"], "field 'rule.mitre' should be an object"),
        (0, "rule.mitre.id", "T1078", "field 'rule.mitre.id' should be a list, got str"),
        (0, "rule.groups", "windows", "field 'rule.groups' should be a list, got str"),
        (5, "syscheck", "modified", "field 'syscheck' should be an object, got str"),
    ],
)
def test_malformed_alerts_are_rejected_with_the_reason(
    index: int, path: str, value: Any, expected: str
) -> None:
    assert expected in _reason(_mutated(index, path, value))


def test_empty_object_is_rejected() -> None:
    assert not ADAPTER.matches({})
    assert _reason({}) == "missing required field 'rule'"


def test_manager_alert_takes_the_host_from_the_log() -> None:
    record = copy.deepcopy(_examples()[2])
    record["agent"] = {"id": "000", "name": "wazuh-mgr-01"}
    record["predecoder"] = {"hostname": "fw-edge-01", "program_name": "kernel"}
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.device is not None
    assert (alert.device.hostname, alert.device.ip) == ("fw-edge-01", None)
    assert alert.values(EntityKind.HOST) == ("fw-edge-01",)


def test_dashes_and_bad_ips_are_not_entities() -> None:
    record = copy.deepcopy(_examples()[0])
    eventdata = record["data"]["win"]["eventdata"]
    eventdata.update(ipAddress="-", workstationName="-", ipPort="-")
    record["agent"]["ip"] = "any"
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.src_endpoint is None
    assert alert.device is not None and alert.device.ip is None
    assert alert.values(EntityKind.IP) == ()


def test_unaligned_mitre_names_are_dropped_not_misattributed() -> None:
    record = _mutated(0, "rule.mitre.technique", ["Pass the Hash"])
    attacks = ADAPTER.parse(record, CONTEXT).finding_info.attacks
    assert [(a.technique_uid, a.technique_name) for a in attacks if a.technique_uid] == [
        ("T1550.002", None),
        ("T1078.002", None),
    ]


# --- hostile input ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
PATHS = [
    "rule",
    "rule.level",
    "rule.id",
    "rule.mitre",
    "rule.groups",
    "agent",
    "agent.ip",
    "agent.id",
    "data",
    "data.win",
    "data.win.eventdata",
    "data.win.system",
    "timestamp",
    "id",
    "full_log",
    "syscheck",
    "predecoder",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 7), path=st.sampled_from(PATHS), value=JSON_VALUES)
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
