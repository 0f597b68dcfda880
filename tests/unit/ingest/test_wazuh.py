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


# --- logs of other tools, decoded by Wazuh ---------------------------------------------------
# No public alerts.json sample holds these shapes; each record below reproduces a documented
# decoder's output (the alert envelope as in the corpus sample and Wazuh's "Alerts" docs).

MANAGER = {"id": "000", "name": "wazuh-mgr-01"}


def _decoded(
    rule: dict[str, Any], data: dict[str, Any], decoder: dict[str, Any], **extra: Any
) -> dict[str, Any]:
    """An alerts.json line for a log the manager read itself (agent 000)."""
    return {
        "timestamp": "2026-11-16T09:04:13.120+0000",
        "rule": {"firedtimes": 1, "mail": False, **rule},
        "agent": MANAGER,
        "manager": {"name": "wazuh-mgr-01"},
        "id": "1794819853.733311",
        "decoder": decoder,
        "data": data,
        **extra,
    }


def _suricata_alert(**data: Any) -> dict[str, Any]:
    """Wazuh documentation, ruleset "JSON decoder" page and 0475-suricata_rules.xml: the json
    decoder keeps eve.json's fields under ``data`` with every number written as text (its
    logtest output: ``src_port: '5555'``, ``alert.severity: '1'``); rule 86601 (level 3)
    fires for every ``event_type: alert``; ``no_full_log`` leaves full_log out."""
    eve = {
        "timestamp": "2016-05-02T17:46:48.515262+0000",
        "flow_id": "1234",
        "in_iface": "eth0",
        "event_type": "alert",
        "src_ip": "16.10.10.10",
        "src_port": "5555",
        "dest_ip": "16.10.10.11",
        "dest_port": "80",
        "proto": "TCP",
        "alert": {
            "action": "allowed",
            "gid": "1",
            "signature_id": "2019236",
            "rev": "3",
            "signature": "ET WEB_SERVER Possible CVE-2014-6271 Attempt in HTTP Version Number",
            "category": "Attempted Administrator Privilege Gain",
            "severity": "1",
        },
        "payload_printable": "this_is_an_example",
        "stream": "0",
        "host": "suricata.com",
        **data,
    }
    signature = eve["alert"]["signature"] if isinstance(eve.get("alert"), dict) else "x"
    return _decoded(
        {
            "level": 3,
            "description": f"Suricata: Alert - {signature}.",
            "id": "86601",
            "groups": ["ids", "suricata"],
        },
        eve,
        {"name": "json"},
        location="/var/log/suricata/eve.json",
    )


def test_suricata_eve_decoded_by_wazuh_keeps_its_network_entities() -> None:
    alert = ADAPTER.parse(_suricata_alert(), CONTEXT)
    assert alert.src_endpoint is not None and alert.dst_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.port) == ("16.10.10.10", 5555)
    assert (alert.dst_endpoint.ip, alert.dst_endpoint.port) == ("16.10.10.11", 80)
    assert alert.values(EntityKind.IP) == ("16.10.10.10", "16.10.10.11")
    # the manager read the log: it stays the device, but it is no entity (every decoded
    # sensor log shares it; joining on it chained a recording's network alerts into one)
    assert alert.device is not None and alert.device.hostname == "wazuh-mgr-01"
    assert alert.values(EntityKind.HOST) == ()
    assert alert.finding_info.desc is not None
    assert "Suricata log read by Wazuh agent wazuh-mgr-01" in alert.finding_info.desc
    assert "/var/log/suricata/eve.json" in alert.finding_info.desc


def test_suricata_priority_outranks_the_generic_rule_level_which_stays_visible() -> None:
    alert = ADAPTER.parse(_suricata_alert(), CONTEXT)
    assert alert.severity_id is Severity.HIGH  # alert.severity 1; level 3 alone: informational
    assert alert.finding_info.desc is not None
    assert alert.finding_info.desc.startswith("Wazuh rule 86601 level 3 (Informational)")
    assert "Suricata alert.severity 1 (High)" in alert.finding_info.desc


def test_a_local_rule_that_raises_the_level_is_not_lowered_by_suricata() -> None:
    record = _suricata_alert(alert={"signature": "LOCAL RDP attempt", "severity": "3"})
    record["rule"].update(level=12, id="100180", mitre={"id": ["T1021.001"]})
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.severity_id is Severity.HIGH  # level 12; Suricata priority 3 is low
    assert alert.techniques == ("T1021.001",)


def test_the_signature_is_the_detection_not_the_catch_all_rule() -> None:
    alert = ADAPTER.parse(_suricata_alert(), CONTEXT)
    assert alert.finding_info.analytic.uid == "suricata:2019236"
    assert alert.finding_info.analytic.name == (
        "ET WEB_SERVER Possible CVE-2014-6271 Attempt in HTTP Version Number"
    )
    assert alert.detection_id == "wazuh:suricata:2019236"
    assert alert.title.startswith("Suricata: Alert - ET WEB_SERVER")
    assert alert.finding_info.types == ("ids", "suricata", "Attempted Administrator Privilege Gain")
    assert alert.finding_info.first_seen_time == datetime(
        2016, 5, 2, 17, 46, 48, 515262, tzinfo=UTC
    )


def test_suricata_7_alert_decoded_by_wazuh_with_http_flow_and_attack_ids() -> None:
    """A to_client alert (the server's packet) with Suricata 7's direction and flow, an ET
    rule's mitre metadata (arrays stay arrays) and a flow id past 32 bits, which the json
    decoder writes as '…000000' (seen in Wazuh alerts from Suricata 7)."""
    record = _suricata_alert(
        flow_id="1919694863174708.000000",
        src_ip="198.51.100.77",
        src_port="80",
        dest_ip="10.20.4.42",
        dest_port="49732",
        direction="to_client",
        flow={
            "src_ip": "10.20.4.42",
            "dest_ip": "198.51.100.77",
            "src_port": "49732",
            "dest_port": "80",
        },
        http={"hostname": "cdn-update-check.example", "url": "/payload.bin", "status": "200"},
        alert={
            "signature": "ET MALWARE Payload Download",
            "signature_id": "2045001",
            "category": "A Network Trojan was detected",
            "severity": "1",
            "metadata": {
                "mitre_technique_id": ["T1105"],
                "mitre_technique_name": ["Ingress_Tool_Transfer"],
                "mitre_tactic_name": ["Command_And_Control"],
            },
        },
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.src_endpoint is not None and alert.dst_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.port) == ("10.20.4.42", 49732)
    assert (alert.dst_endpoint.ip, alert.dst_endpoint.port) == ("198.51.100.77", 80)
    assert alert.dst_endpoint.domain == "cdn-update-check.example"
    assert alert.values(EntityKind.DOMAIN) == ("cdn-update-check.example",)
    assert alert.values(EntityKind.URL) == ("http://cdn-update-check.example/payload.bin",)
    assert alert.techniques == ("T1105",)
    assert alert.finding_info.attacks[0].tactic_name == "Command and Control"


def test_eve_events_other_than_alerts_still_give_their_entities() -> None:
    """A local rule on a DNS event (86603 is level 0): no signature, so the rule is the
    detection; the queried name and addresses are the entities."""
    record = _suricata_alert(event_type="dns", dns={"type": "query", "rrname": "evil.example"})
    del record["data"]["alert"]
    record["rule"].update(level=10, id="100300", description="DNS query to a listed domain")
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.finding_info.analytic.uid == "100300"
    assert alert.severity_id is Severity.MEDIUM
    assert alert.values(EntityKind.DOMAIN) == ("evil.example",)
    assert alert.values(EntityKind.IP) == ("16.10.10.10", "16.10.10.11")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("src_ip", ["16.10.10.10"], "field 'data.src_ip' should be text"),
        ("http", {"hostname": {"x": 1}}, "field 'data.http.hostname' should be text"),
        ("alert", {"signature": ["x"]}, "field 'data.alert.signature' should be text"),
    ],
)
def test_malformed_decoded_eve_is_refused_naming_the_field(
    path: str, value: Any, expected: str
) -> None:
    assert expected in _reason(_suricata_alert(**{path: value}))


def _snort_alert(full_log: str, data: dict[str, Any]) -> dict[str, Any]:
    """Wazuh ruleset 0285-snort_decoders.xml (decoder snort2, order id,srcip,dstip: its
    ``(\\S+)`` keeps the port on the address) and 0240-ids_rules.xml rule 20101 (level 6)."""
    return _decoded(
        {"level": 6, "description": "IDS event.", "id": "20101", "groups": ["ids"]},
        data,
        {"parent": "snort", "name": "snort"},
        full_log=full_log,
        predecoder={"program_name": "snort", "hostname": "ids-sensor-01"},
        location="/var/log/snort/alert",
    )


SNORT_FAST = (
    "[**] [1:1054:7] WEB-MISC weblogic/tomcat .jsp view source attempt [**] "
    "[Classification: Web Application Attack] [Priority: 1] {TCP} 10.4.12.26:34041 -> "
    "66.179.53.37:80"
)


def test_snort_addresses_written_ip_colon_port_are_split() -> None:
    record = _snort_alert(
        SNORT_FAST, {"id": "1:1054:7", "srcip": "10.4.12.26:34041", "dstip": "66.179.53.37:80"}
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.src_endpoint is not None and alert.dst_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.port) == ("10.4.12.26", 34041)
    assert (alert.dst_endpoint.ip, alert.dst_endpoint.port) == ("66.179.53.37", 80)
    assert alert.values(EntityKind.IP) == ("10.4.12.26", "66.179.53.37")
    assert alert.device is not None and alert.device.hostname == "ids-sensor-01"


def test_snort_signature_priority_and_classification_come_through() -> None:
    record = _snort_alert(
        SNORT_FAST, {"id": "1:1054:7", "srcip": "10.4.12.26:34041", "dstip": "66.179.53.37:80"}
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.finding_info.analytic.uid == "snort:1:1054"
    assert alert.finding_info.analytic.name == "WEB-MISC weblogic/tomcat .jsp view source attempt"
    assert alert.severity_id is Severity.HIGH  # Priority 1; level 6 alone is low
    assert alert.finding_info.types == ("ids", "Web Application Attack")
    assert alert.finding_info.desc is not None
    assert "Wazuh rule 20101 level 6 (Low); Snort priority 1 (High)" in alert.finding_info.desc


def test_snort_syslog_line_with_bare_addresses() -> None:
    """The decoder file's syslog example: ``snort: [1:469:3] ... {ICMP} a -> b``."""
    log = (
        "snort: [1:469:3] ICMP PING NMAP [Classification: Attempted Information Leak] "
        "[Priority: 2]: {ICMP} 10.4.12.26 -> 10.4.10.231"
    )
    alert = ADAPTER.parse(
        _snort_alert(log, {"id": "1:469:3", "srcip": "10.4.12.26", "dstip": "10.4.10.231"}),
        CONTEXT,
    )
    assert alert.values(EntityKind.IP) == ("10.4.12.26", "10.4.10.231")
    assert alert.src_endpoint is not None and alert.src_endpoint.port is None
    assert alert.severity_id is Severity.MEDIUM
    assert alert.finding_info.analytic.name == "ICMP PING NMAP"


@pytest.mark.parametrize(
    ("srcip", "ip", "port"),
    [
        ("[2001:db8::26]:34041", "2001:db8::26", 34041),
        ("2001:db8::26", "2001:db8::26", None),  # bare IPv6: the last group is not a port
        ("::ffff:10.4.12.26", "10.4.12.26", None),
        ("10.4.12.26:99999", "10.4.12.26", None),
        ("10.4.12.26:34041:1", None, None),
        ("host.example:80", None, None),
    ],
)
def test_decoded_address_forms(srcip: str, ip: str | None, port: int | None) -> None:
    record = _snort_alert(SNORT_FAST, {"id": "1:1054:7", "srcip": srcip})
    endpoint = ADAPTER.parse(record, CONTEXT).src_endpoint
    assert ((endpoint.ip, endpoint.port) if endpoint else (None, None)) == (ip, port)


def _dovecot_alert(full_log: str, rule: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """Wazuh ruleset 0085-dovecot_decoders.xml and 0155-dovecot_rules.xml."""
    return _decoded(
        {"groups": ["dovecot", "invalid_login", "authentication_failed"], **rule},
        data,
        {"name": "dovecot"},
        full_log=full_log,
        predecoder={"program_name": "dovecot", "hostname": "ny"},
        location="/var/log/mail.log",
    )


def test_dovecot_user_in_angle_brackets_is_one_account() -> None:
    """Decoder dovecot-disconnect-user captures ``user=(\\S+)``: the brackets stay on."""
    log = (
        "Dec 19 17:40:57 ny dovecot: pop3-login: Disconnected (auth failed, 3 attempts in 51 "
        "secs): user=<thousands>, method=PLAIN, rip=109.201.200.201, lip=67.205.141.203, "
        "session=<tlMSaQZE/JttycjJ>"
    )
    record = _dovecot_alert(
        log,
        {"level": 5, "description": "Dovecot Invalid User Login Attempt.", "id": "9705"},
        {"srcuser": "<thousands>", "srcip": "109.201.200.201", "dstip": "67.205.141.203"},
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.values(EntityKind.USER) == ("thousands",)
    assert alert.actor is not None and alert.actor.name == "thousands"
    assert alert.values(EntityKind.IP) == ("109.201.200.201", "67.205.141.203")
    assert alert.device is not None and alert.device.hostname == "ny"


def test_dovecot_imap_login_user_and_mapped_ipv4_addresses() -> None:
    """Decoder imap-login-login orders ``user`` (alerts.json: dstuser) with ``user=(\\S+)``;
    dovecot writes IPv4 clients on a dual-stack socket as ``::ffff:a.b.c.d``."""
    log = (
        "dovecot: Jun 23 15:04:05 Info: imap-login: Login: user=<alice>, method=PLAIN, "
        "rip=::ffff:203.0.113.9, lip=::ffff:10.10.1.25 "
    )
    record = _dovecot_alert(
        log,
        {"level": 3, "description": "Dovecot Authentication Success.", "id": "9701"},
        {"dstuser": "<alice>", "srcip": "::ffff:203.0.113.9", "dstip": "::ffff:10.10.1.25"},
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.values(EntityKind.USER) == ("alice",)
    assert alert.values(EntityKind.IP) == ("203.0.113.9", "10.10.1.25")


def test_a_wrapped_empty_user_is_no_user() -> None:
    record = _dovecot_alert(
        "x",
        {"level": 5, "description": "Dovecot Invalid User Login Attempt.", "id": "9705"},
        {"srcuser": "<>", "dstuser": "'-'"},
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.values(EntityKind.USER) == () and alert.actor is None


def test_sshd_ipv6_source_stays_whole() -> None:
    """Wazuh ruleset 0310-ssh_decoders.xml (sshd-invalid: srcuser, srcip, srcport; the shape
    of the corpus sample) with an IPv6 client, which sshd writes bare."""
    record = _decoded(
        {
            "level": 5,
            "description": "sshd: Attempt to login using a non-existent user",
            "id": "5710",
            "groups": ["syslog", "sshd", "authentication_failed", "invalid_login"],
        },
        {"srcip": "2001:db8::5", "srcport": "52022", "srcuser": "admin"},
        {"parent": "sshd", "name": "sshd"},
        full_log="Nov 16 09:04:12 bastion sshd[4113]: Invalid user admin from 2001:db8::5 "
        "port 52022",
        predecoder={"program_name": "sshd", "hostname": "bastion"},
        location="/var/log/auth.log",
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.port) == ("2001:db8::5", 52022)
    assert alert.values(EntityKind.USER) == ("admin",)
    assert alert.finding_info.desc == "Wazuh rule 5710 level 5 (Low)"


def test_json_decoded_logs_with_src_ip_names_give_addresses() -> None:
    """Any JSON log (cowrie, custom apps) decoded by the json decoder keeps its own names."""
    record = _decoded(
        {"level": 5, "description": "Cowrie: login attempt", "id": "100214", "groups": ["cowrie"]},
        {"eventid": "cowrie.login.failed", "src_ip": "203.0.113.50", "dst_ip": "10.10.9.9"},
        {"name": "json"},
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.values(EntityKind.IP) == ("203.0.113.50", "10.10.9.9")


def test_vulnerability_detector_severity_word_counts() -> None:
    record = _decoded(
        {"level": 13, "description": "CVE-2026-0001 affects openssl", "id": "23506"},
        {"vulnerability": {"cve": "CVE-2026-0001", "severity": "Critical"}},
        {"name": "json"},
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.severity_id is Severity.CRITICAL  # level 13 alone: high
    assert "vulnerability severity Critical (Critical)" in (alert.finding_info.desc or "")


EVE_PATHS = [
    "data.src_ip",
    "data.dest_ip",
    "data.src_port",
    "data.flow_id",
    "data.flow",
    "data.flow.src_ip",
    "data.direction",
    "data.alert",
    "data.alert.severity",
    "data.alert.signature_id",
    "data.alert.metadata",
    "data.http",
    "data.http.http_port",
    "data.timestamp",
    "data.event_type",
    "decoder",
    "full_log",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(EVE_PATHS), value=JSON_VALUES)
def test_decoded_eve_replaced_by_any_json_never_crashes(path: str, value: Any) -> None:
    record = _suricata_alert(http={"hostname": "a.example", "url": "/", "http_port": "8080"})
    *parents, last = path.split(".")
    target = record
    for key in parents:
        if not isinstance(target.get(key), dict):
            target[key] = {}
        target = target[key]
    target[last] = value
    try:
        assert isinstance(ADAPTER.parse(record, CONTEXT), Alert)
    except RecordRejected as exc:
        assert exc.reason
