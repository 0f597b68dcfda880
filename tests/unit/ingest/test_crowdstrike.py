"""CrowdStrike Falcon adapter: the example file, auto-detection, malformed records."""

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

from tierzero.ingest.adapters.crowdstrike import CrowdStrikeAdapter
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import ALERT_SUFFIXES, IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
CS_FILE = EXAMPLES / "crowdstrike_detections.jsonl"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
ADAPTER = CrowdStrikeAdapter()
CONTEXT = ParseContext("test.jsonl", 1, NOW, "{}")
CID = "4f1e2d3c4b5a69788796a5b4c3d2e1f0"
LT_AID = "7c3f9e2a1b4d4e6f8a0b1c2d3e4f5a6b"
APP_AID = "2b8e4c6a0d1f4a3b9c5e7d9f1a3b5c7d"
MALWARE = "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc"


def _example_records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in CS_FILE.read_text().splitlines() if line.strip()]


def _parse(record: dict[str, Any]) -> Alert:
    return ADAPTER.parse(record, CONTEXT)


def _legacy() -> dict[str, Any]:
    """The PowerShell detection (a legacy DetectionSummaryEvent), to derive variants from."""
    return copy.deepcopy(_example_records()[2])


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    out = list(read([CS_FILE], now=NOW))
    assert [o for o in out if isinstance(o, QuarantinedRecord)] == []
    return [o for o in out if isinstance(o, Alert)]


def test_every_example_record_becomes_an_alert(alerts: list[Alert]) -> None:
    assert len(alerts) == 5
    assert {a.provenance.source for a in alerts} == {"crowdstrike"}
    assert [a.provenance.record_no for a in alerts] == [1, 2, 3, 4, 5]
    assert [a.source_alert_id for a in alerts] == [
        f"ldt:{APP_AID}:92011873301",
        f"ldt:{APP_AID}:92011904562",
        f"ldt:{LT_AID}:381145002261",
        f"{CID}:ind:{LT_AID}:381145318820-5702-184305",
        f"ldt:{LT_AID}:381145331907",
    ]
    assert all(a.flags == () for a in alerts)
    assert all(a.metadata.product.name == "Falcon" for a in alerts)
    assert all(a.metadata.product.vendor_name == "CrowdStrike" for a in alerts)


def test_times_titles_and_severities(alerts: list[Alert]) -> None:
    assert [a.time for a in alerts] == [
        datetime(2026, 11, 15, 23, 12, 40, tzinfo=UTC),
        datetime(2026, 11, 15, 23, 18, 5, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 2, 14, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 2, 51, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 4, 20, tzinfo=UTC),
    ]
    assert alerts[2].metadata.original_time == "1794819734000"
    assert [a.title for a in alerts] == [
        "Suspicious Activity: Persistence via Windows Service",
        "Suspicious Activity: Impact via Service Stop",
        "Suspicious Activity: Execution via PowerShell",
        "Known Malware: Machine Learning via Sensor-based ML",
        "Suspicious Activity: Command and Control via Web Protocols",
    ]
    assert [a.severity_id for a in alerts] == [
        Severity.LOW,
        Severity.LOW,
        Severity.HIGH,
        Severity.CRITICAL,
        Severity.HIGH,
    ]


def test_techniques_and_analytics(alerts: list[Alert]) -> None:
    assert [a.techniques for a in alerts] == [
        ("T1543.003",),
        ("T1489",),
        ("T1059.001",),
        (),
        ("T1071.001",),
    ]
    powershell = alerts[2].finding_info.attacks
    assert len(powershell) == 1  # TechniqueId and MitreAttack name the same technique once
    assert powershell[0].tactic_uid == "TA0002"
    assert powershell[0].tactic_name == "Execution"
    assert powershell[0].technique_name == "PowerShell"
    assert alerts[4].finding_info.attacks[0].tactic_uid == "TA0011"
    # Falcon's own "Machine Learning / Sensor-based ML" is not ATT&CK and is not mapped.
    assert alerts[3].finding_info.attacks == ()
    assert [a.finding_info.analytic.uid for a in alerts] == [
        "10125",
        "10188",
        "10341",
        "5702",
        "10467",
    ]
    assert alerts[3].finding_info.analytic.name == "Known Malware"
    assert alerts[3].detection_id == "crowdstrike:5702"
    assert alerts[2].finding_info.types == ("Execution",)


def test_powershell_detection_process_tree(alerts: list[Alert]) -> None:
    alert = alerts[2]
    assert alert.device is not None
    assert (alert.device.hostname, alert.device.ip, alert.device.uid) == (
        "LT-FIN-042",
        "10.20.4.42",
        LT_AID,
    )
    assert alert.actor is not None
    assert (alert.actor.name, alert.actor.domain) == ("alice.martin", "NORTHWIND")
    process = alert.process
    assert process is not None and process.file is not None
    assert process.name == "powershell.exe"
    assert process.pid == 381145002261
    assert process.cmd_line is not None
    assert process.cmd_line.startswith("powershell.exe -nop -w hidden -enc SQBFAFgA")
    # Legacy events put the folder in FilePath and the name in FileName.
    assert process.file.path == (
        "\\Device\\HarddiskVolume3\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    )
    assert process.file.sha1 is None  # Falcon's all-zero SHA1 filler is dropped
    assert process.file.md5 == "7353f60b1739074eb17c5f4dddefe239"
    parent = process.parent_process
    assert parent is not None and parent.file is not None
    assert parent.name == "wscript.exe"
    assert parent.pid == 381141907734
    assert parent.file.path == "\\Device\\HarddiskVolume3\\Windows\\System32\\wscript.exe"
    assert "INV-88213.js" in (parent.cmd_line or "")
    assert parent.parent_process is not None
    assert parent.parent_process.name == "explorer.exe"
    assert alert.finding_info.src_url == (
        f"https://falcon.eu-1.crowdstrike.com/activity/detections/detail/"
        f"ldt:{LT_AID}:381145002261?_cid={CID}"
    )
    assert alert.message == "Detection, standard detection."
    assert alert.finding_info.desc is not None and "encoded" in alert.finding_info.desc


def test_powershell_detection_observables(alerts: list[Alert]) -> None:
    alert = alerts[2]
    assert alert.values(EntityKind.HOST) == ("LT-FIN-042",)
    assert alert.values(EntityKind.USER) == ("alice.martin",)
    assert alert.values(EntityKind.IP) == ("10.20.4.42",)
    assert alert.values(EntityKind.PROCESS) == ("powershell.exe", "wscript.exe", "explorer.exe")
    assert alert.values(EntityKind.HASH) == (
        "9f914d42706fe215501044acd85a32d58aaef1419d404fddfa5d3b48f66ccd9f",
        "7353f60b1739074eb17c5f4dddefe239",
    )
    names = {(o.kind, o.name) for o in alert.observables}
    assert (EntityKind.PROCESS, "process.parent_process.name") in names
    assert (EntityKind.COMMAND_LINE, "process.parent_process.cmd_line") in names
    assert (EntityKind.HOST, "device.hostname") in names


def test_epp_malware_detection(alerts: list[Alert]) -> None:
    alert = alerts[3]
    assert alert.device is not None
    assert (alert.device.hostname, alert.device.uid) == ("LT-FIN-042", LT_AID)
    assert alert.actor is not None and alert.actor.domain == "NORTHWIND"
    assert alert.file is not None
    assert alert.file.name == "invsvc.exe"
    assert alert.file.sha256 == MALWARE
    assert alert.file.path == (
        "\\Device\\HarddiskVolume3\\Users\\alice.martin\\AppData\\Roaming\\invsvc\\invsvc.exe"
    )
    assert alert.values(EntityKind.HASH) == (MALWARE,)
    assert alert.values(EntityKind.FILE) == ("invsvc.exe",)
    assert alert.process is not None and alert.process.parent_process is not None
    # EPP gives the parent's name and path in separate fields.
    assert alert.process.parent_process.name == "powershell.exe"
    assert alert.process.parent_process.file is not None
    assert alert.process.parent_process.file.path == (
        "\\Device\\HarddiskVolume3\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    )
    assert alert.process.parent_process.parent_process is not None
    assert alert.process.parent_process.parent_process.name == "wscript.exe"
    assert alert.message is not None and alert.message.startswith("Detection, process would")


def test_beacon_detection_network(alerts: list[Alert]) -> None:
    alert = alerts[4]
    assert alert.dst_endpoint is not None
    assert (alert.dst_endpoint.ip, alert.dst_endpoint.port) == ("198.51.100.77", 443)
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.port) == ("10.20.4.42", 50112)
    assert alert.values(EntityKind.IP) == ("10.20.4.42", "198.51.100.77")
    assert alert.values(EntityKind.DOMAIN) == ("cdn-update-check.example",)
    assert alert.values(EntityKind.HASH) == (MALWARE,)


def test_maintenance_window_patching_on_srv_app_03(alerts: list[Alert]) -> None:
    for alert in alerts[:2]:
        assert alert.values(EntityKind.HOST) == ("SRV-APP-03",)
        assert alert.device is not None and alert.device.uid == APP_AID
        assert alert.process is not None and alert.process.parent_process is not None
        assert alert.process.parent_process.name == "msiexec.exe"
        assert alert.process.parent_process.parent_process is not None
        assert alert.process.parent_process.parent_process.name == "CcmExec.exe"
    assert alerts[0].values(EntityKind.PROCESS)[0] == "sc.exe"
    assert alerts[1].values(EntityKind.COMMAND_LINE)[0] == "net.exe stop AppServerAgent /y"


def test_auto_detection_picks_crowdstrike_for_the_example_file() -> None:
    auto = list(read([CS_FILE], now=NOW))
    forced = list(read([CS_FILE], IngestOptions(source="crowdstrike"), now=NOW))
    assert [a.id for a in auto if isinstance(a, Alert)] == [
        a.id for a in forced if isinstance(a, Alert)
    ]
    assert all(isinstance(a, Alert) and a.provenance.source == "crowdstrike" for a in auto)


OTHER_FORMATS: dict[str, dict[str, Any]] = {
    "ocsf": {
        "class_uid": 2004,
        "category_uid": 2,
        "time": 1794819734000,
        "severity_id": 4,
        "metadata": {"version": "1.3.0", "product": {"name": "X", "vendor_name": "Y"}},
        "finding_info": {"uid": "f-1", "title": "t"},
    },
    "sentinel": {
        "TimeGenerated": "2026-11-16T09:40:00Z",
        "SystemAlertId": "a-1",
        "AlertName": "Atypical travel",
        "AlertSeverity": "Medium",
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
        "serviceSource": "microsoftDefenderForEndpoint",
        "detectionSource": "antivirus",
        "evidence": [],
    },
    "guardduty": {
        "SchemaVersion": "2.0",
        "AccountId": "111122223333",
        "Id": "x",
        "Arn": "arn:aws:guardduty:eu-central-1:111122223333:detector/d/finding/x",
        "Type": "Recon:EC2/PortProbeUnprotectedPort",
        "Severity": 2,
        "Service": {"ServiceName": "guardduty"},
    },
    "okta": {
        "uuid": "u-1",
        "published": "2026-11-16T09:40:02.418Z",
        "eventType": "user.session.start",
        "severity": "INFO",
        "actor": {"alternateId": "alice.martin@northwind.example"},
    },
    "elastic": {
        "@timestamp": "2026-11-16T09:02:00Z",
        "kibana.alert.uuid": "k-1",
        "kibana.alert.rule.name": "r",
        "event": {"kind": "signal"},
        "host": {"name": "LT-FIN-042"},
    },
    "wazuh": {
        "timestamp": "2026-11-16T10:15:00.000+0000",
        "id": "1.2",
        "rule": {"id": "60106", "level": 10, "description": "d"},
        "agent": {"id": "003", "name": "SRV-FS-01"},
        "manager": {"name": "wazuh"},
    },
    "suricata": {
        "timestamp": "2026-11-16T09:04:00.000000+0000",
        "event_type": "alert",
        "src_ip": "10.20.4.42",
        "dest_ip": "198.51.100.77",
        "alert": {"signature": "s", "signature_id": 1},
    },
}


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_does_not_match_other_formats(name: str) -> None:
    assert not ADAPTER.matches(OTHER_FORMATS[name])


def _other_example_records() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(EXAMPLES.iterdir()):
        kind = ALERT_SUFFIXES.get(path.suffix)
        if path == CS_FILE or kind not in ("json", "jsonl") or path.name.startswith("bad_"):
            continue
        text = path.read_text()
        try:
            document = json.loads(text)
        except ValueError:
            document = [json.loads(line) for line in text.splitlines() if line.strip()]
        if isinstance(document, dict):
            lists = [v for v in document.values() if isinstance(v, list)]
            document = lists[0] if len(document) <= 3 and lists else [document]
        for item in document:
            if isinstance(item, dict):
                yield path.name, item


def test_matches_every_example_record() -> None:
    assert all(ADAPTER.matches(record) for record in _example_records())


def test_severity_from_number_when_the_name_is_missing() -> None:
    record = _legacy()
    del record["event"]["SeverityName"]
    record["event"]["Severity"] = 5
    assert _parse(record).severity_id is Severity.CRITICAL
    record["event"]["Severity"] = 3
    assert _parse(record).severity_id is Severity.MEDIUM
    epp = copy.deepcopy(_example_records()[3])
    del epp["event"]["SeverityName"]
    epp["event"]["Severity"] = 30
    assert _parse(epp).severity_id is Severity.LOW
    epp["event"]["Severity"] = 70
    assert _parse(epp).severity_id is Severity.HIGH
    del epp["event"]["Severity"]
    assert _parse(epp).severity_id is Severity.UNKNOWN


def test_upper_case_epp_event_type_and_composite_id() -> None:
    record = copy.deepcopy(_example_records()[3])
    record["metadata"]["eventType"] = "EPPDetectionSummaryEvent"
    assert _parse(record).source_alert_id == f"{CID}:ind:{LT_AID}:381145318820-5702-184305"


def test_inbound_network_access_is_a_source() -> None:
    record = _legacy()
    record["event"]["NetworkAccesses"] = [
        {
            "RemoteAddress": "192.0.2.9",
            "RemotePort": 5985,
            "LocalAddress": "10.20.4.42",
            "LocalPort": 49700,
            "ConnectionDirection": 1,
        },
        "not an object",
        {"RemoteAddress": "not-an-ip", "ConnectionDirection": 0},
    ]
    alert = _parse(record)
    assert [(o.value, o.name) for o in alert.observables if o.kind is EntityKind.IP] == [
        ("10.20.4.42", "device.ip"),
        ("192.0.2.9", "src_endpoint.ip"),
    ]
    assert alert.dst_endpoint is None


def test_hashes_are_kept_without_a_process_and_placeholder_users_are_dropped() -> None:
    record = _legacy()
    for key in (
        "FileName",
        "FilePath",
        "CommandLine",
        "ProcessId",
        "ParentImageFileName",
        "ParentCommandLine",
        "ParentProcessId",
        "GrandparentImageFileName",
        "GrandparentCommandLine",
    ):
        del record["event"][key]
    record["event"]["UserName"] = "N/A"
    alert = _parse(record)
    assert alert.process is None
    assert alert.actor is None
    assert alert.values(EntityKind.USER) == ()
    assert alert.values(EntityKind.HASH) == (
        "9f914d42706fe215501044acd85a32d58aaef1419d404fddfa5d3b48f66ccd9f",
        "7353f60b1739074eb17c5f4dddefe239",
    )


def test_malformed_hashes_are_ignored_not_trusted() -> None:
    record = _legacy()
    record["event"]["SHA256String"] = "not-a-hash"
    record["event"]["MD5String"] = "0" * 32
    alert = _parse(record)
    assert alert.values(EntityKind.HASH) == ()
    assert alert.file is not None and alert.file.sha256 is None and alert.file.md5 is None


def _epp() -> dict[str, Any]:
    """The EPP malware detection (an EppDetectionSummaryEvent with Type "ldt")."""
    return copy.deepcopy(_example_records()[3])


_PROCESS_KEYS = (
    "CommandLine",
    "ProcessId",
    "ProcessStartTime",
    "ProcessEndTime",
    "ParentImageFileName",
    "ParentImageFilePath",
    "ParentCommandLine",
    "ParentProcessId",
    "GrandParentImageFileName",
    "GrandParentImageFilePath",
    "GrandParentCommandLine",
    "UserName",
    "LogonDomain",
)


def test_scan_type_keeps_the_file_and_makes_no_process() -> None:
    # The fixture's ODS record has no process fields; here Type alone must decide, even when
    # the event also names the process that opened the file (a scanner is no kill target).
    record = _epp()
    record["event"]["Type"] = "ODS"
    alert = _parse(record)
    assert alert.process is None
    assert alert.values(EntityKind.PROCESS) == ()
    assert alert.values(EntityKind.COMMAND_LINE) == ()
    assert alert.file is not None and alert.file.sha256 == MALWARE
    assert alert.file.path == (
        "\\Device\\HarddiskVolume3\\Users\\alice.martin\\AppData\\Roaming\\invsvc\\invsvc.exe"
    )
    assert alert.file.parent_folder == (
        "\\Device\\HarddiskVolume3\\Users\\alice.martin\\AppData\\Roaming\\invsvc"
    )
    assert alert.values(EntityKind.FILE) == ("invsvc.exe",)
    assert alert.values(EntityKind.HASH) == (MALWARE,)


@pytest.mark.parametrize("key", ["ScanId", "scan_id", "host_scan_id", "OdsScanId"])
def test_a_scan_id_says_the_file_was_scanned(key: str) -> None:
    # The ODS API names a finding's scan "scan_id" / "host_scan_id" (psfalcon Get-FalconScanFile).
    record = _epp()
    record["event"][key] = "9c0e4f1ab7d2"
    assert _parse(record).process is None


def test_a_legacy_detection_without_process_evidence_is_a_file_at_rest() -> None:
    # Streaming API event dictionary (as in Elastic's fields.yml): ProcessId, CommandLine and
    # the parent fields are optional; a quarantined download that never ran has none of them.
    # Legacy FilePath is the folder and FileName the name (here a macOS path).
    record = _legacy()
    for key in _PROCESS_KEYS:
        record["event"].pop(key, None)
    for key in ("GrandparentImageFileName", "GrandparentCommandLine"):
        del record["event"][key]
    record["event"]["FileName"] = "invoice.pkg"
    record["event"]["FilePath"] = "/Users/alice.martin/Downloads/"
    alert = _parse(record)
    assert alert.process is None
    assert alert.file is not None
    assert alert.file.path == "/Users/alice.martin/Downloads/invoice.pkg"
    assert alert.file.parent_folder == "/Users/alice.martin/Downloads"
    assert alert.values(EntityKind.PROCESS) == ()


def test_a_process_detection_keeps_its_tree_and_full_paths() -> None:
    alert = _parse(_legacy())
    assert alert.process is not None and alert.process.file is not None
    assert alert.process.file.parent_folder == (
        "\\Device\\HarddiskVolume3\\Windows\\System32\\WindowsPowerShell\\v1.0"
    )
    parent = alert.process.parent_process
    assert parent is not None and parent.file is not None
    assert parent.file.parent_folder == "\\Device\\HarddiskVolume3\\Windows\\System32"
    # An EPP parent given only by name has a name and no invented path.
    epp = _epp()
    del epp["event"]["ParentImageFilePath"]
    process = _parse(epp).process
    assert process is not None
    parent = process.parent_process
    assert parent is not None and parent.file is not None
    assert (parent.file.name, parent.file.path) == ("powershell.exe", None)


def test_custom_ioa_rule_is_the_analytic() -> None:
    # EppDetectionSummaryEvent custom IOA fields (Elastic fields.yml: IOARuleInstanceID,
    # IOARuleGroupName; IOARuleName as in the integration's fixture).
    record = _epp()
    record["event"].update(
        {
            "Name": "Suspicious Activity",
            "Tactic": "Custom Intelligence",
            "Technique": "Indicator of Attack",
            "PatternId": 41001,
            "IOARuleInstanceID": "12",
            "IOARuleInstanceVersion": 3,
            "IOARuleName": "Office spawning rundll32",
            "IOARuleGroupName": "Custom IOA Group - Windows",
        }
    )
    alert = _parse(record)
    assert alert.finding_info.analytic.uid == "custom-ioa:12"
    assert alert.finding_info.analytic.name == "Office spawning rundll32"
    assert alert.detection_id == "crowdstrike:custom-ioa:12"
    assert alert.title == "Suspicious Activity: Office spawning rundll32"
    # Two rules that share Falcon's custom-IOA pattern stay two detections.
    record["event"]["IOARuleInstanceID"] = "13"
    assert _parse(record).detection_id == "crowdstrike:custom-ioa:13"


def test_identifiers_that_identify_nothing_are_no_entities() -> None:
    record = _epp()
    record["event"].update(
        {
            "UserName": "N/A",
            "Hostname": "-",
            "LocalIP": "0.0.0.0",
            "LocalIPv6": "fe80::1c2b:3aff:fe4d:5e6f",
            "NetworkAccesses": [
                {
                    "LocalAddress": "0.0.0.0",
                    "LocalPort": 50112,
                    "RemoteAddress": "198.51.100.77",
                    "RemotePort": 443,
                    "ConnectionDirection": 0,
                },
            ],
        }
    )
    alert = _parse(record)
    assert alert.actor is None
    assert alert.device is not None
    assert (alert.device.hostname, alert.device.ip) == (None, None)
    assert alert.values(EntityKind.HOST) == ()
    assert alert.values(EntityKind.USER) == ()
    assert alert.values(EntityKind.IP) == ("198.51.100.77",)
    assert alert.src_endpoint is not None and alert.src_endpoint.ip is None
    assert alert.dst_endpoint is not None and alert.dst_endpoint.ip == "198.51.100.77"


def test_a_global_ipv6_host_address_is_a_device_ip() -> None:
    record = _epp()
    record["event"]["LocalIPv6"] = "2001:db8:10:4::42"
    assert _parse(record).values(EntityKind.IP) == ("10.20.4.42", "2001:db8:10:4::42")


def test_event_creation_time_in_seconds_is_read_and_flagged() -> None:
    record = _legacy()
    record["metadata"]["eventCreationTime"] = 1794819734
    alert = _parse(record)
    assert alert.time == datetime(2026, 11, 16, 9, 2, 14, tzinfo=UTC)
    assert alert.flags == ("time_unit_inferred",)


def _without(path: str) -> Any:
    def change(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = record
        for part in parents:
            target = target[part]
        del target[last]

    return change


def _set(path: str, value: Any) -> Any:
    def change(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = record
        for part in parents:
            target = target[part]
        target[last] = value

    return change


MALFORMED = [
    (_without("event.DetectId"), "missing required field 'event.DetectId'"),
    (_without("metadata.eventCreationTime"), "missing required field 'metadata.eventCreationTime'"),
    (_without("metadata.eventType"), "missing required field 'metadata.eventType'"),
    (
        _set("metadata.eventType", "AuthActivityAuditEvent"),
        "eventType 'AuthActivityAuditEvent' is not a detection",
    ),
    (
        _set("metadata.eventType", ["DetectionSummaryEvent"]),
        "field 'metadata.eventType' should be text, got list",
    ),
    (
        _set("metadata.eventCreationTime", ["1794819734000"]),
        "field 'metadata.eventCreationTime' should be epoch milliseconds, got list",
    ),
    (
        _set("metadata.eventCreationTime", "yesterday"),
        "field 'metadata.eventCreationTime' is not a valid time",
    ),
    (_set("metadata", "DetectionSummaryEvent"), "field 'metadata' should be an object"),
    (_set("event", ["x"]), "field 'event' should be an object"),
    (_set("event.DetectId", {"id": 1}), "field 'event.DetectId' should be text, got dict"),
    (
        _set("event.CommandLine", ["powershell.exe"]),
        "field 'event.CommandLine' should be text, got list",
    ),
    (
        _set("event.ComputerName", {"name": "LT-FIN-042"}),
        "field 'event.ComputerName' should be text, got dict",
    ),
]


@pytest.mark.parametrize(("change", "reason"), MALFORMED)
def test_malformed_records_are_rejected_with_a_reason(change: Any, reason: str) -> None:
    record = _legacy()
    change(record)
    with pytest.raises(RecordRejected) as caught:
        _parse(record)
    assert reason in caught.value.reason


def test_missing_detect_name_and_technique_is_rejected() -> None:
    record = _legacy()
    for key in ("DetectName", "Tactic", "Technique"):
        del record["event"][key]
    with pytest.raises(RecordRejected, match="missing required field 'event.DetectName'"):
        _parse(record)


def test_empty_object_is_rejected_and_not_claimed() -> None:
    assert not ADAPTER.matches({})
    with pytest.raises(RecordRejected, match="missing required field 'metadata.eventType'"):
        _parse({"metadata": {}})
    with pytest.raises(RecordRejected, match="field 'metadata' should be an object"):
        _parse({})


def test_non_detection_stream_events_are_claimed_then_rejected(tmp_path: Path) -> None:
    audit = {
        "metadata": {
            "customerIDString": CID,
            "offset": 70509,
            "eventType": "AuthActivityAuditEvent",
            "eventCreationTime": 1794819734000,
            "version": "1.0",
        },
        "event": {
            "UserId": "analyst@northwind.example",
            "OperationName": "saml2Assert",
            "Success": True,
            "UTCTimestamp": 1794819734,
        },
    }
    path = tmp_path / "falcon.jsonl"
    path.write_text(json.dumps(audit) + "\n")
    (result,) = list(read([path], now=NOW))
    assert isinstance(result, QuarantinedRecord)
    assert result.source == "crowdstrike"
    assert result.reason == (
        "CrowdStrike eventType 'AuthActivityAuditEvent' is not a detection "
        "(only DetectionSummaryEvent and EppDetectionSummaryEvent are alerts)"
    )


def test_malformed_records_go_to_quarantine_through_the_reader(tmp_path: Path) -> None:
    good = _legacy()
    no_id = _legacy()
    del no_id["event"]["DetectId"]
    bad_time = _legacy()
    bad_time["metadata"]["eventCreationTime"] = {"ms": 1}
    path = tmp_path / "falcon.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (good, no_id, bad_time)) + "\n")
    out = list(read([path], IngestOptions(source="crowdstrike"), now=NOW))
    assert isinstance(out[0], Alert)
    assert [(q.record_no, q.reason) for q in out[1:] if isinstance(q, QuarantinedRecord)] == [
        (2, "missing required field 'event.DetectId' (or 'event.CompositeId')"),
        (3, "field 'metadata.eventCreationTime' should be epoch milliseconds, got dict"),
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


@pytest.mark.parametrize("index", range(5))
def test_hostile_values_anywhere_only_ever_raise_record_rejected(index: int) -> None:
    record = _example_records()[index]
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
EVENT_KEYS = st.sampled_from(
    [
        "DetectId",
        "CompositeId",
        "ComputerName",
        "Hostname",
        "UserName",
        "DetectName",
        "Name",
        "Severity",
        "SeverityName",
        "Tactic",
        "TacticId",
        "Technique",
        "TechniqueId",
        "FileName",
        "FilePath",
        "CommandLine",
        "SHA256String",
        "MD5String",
        "ParentImageFileName",
        "ProcessId",
        "NetworkAccesses",
        "MitreAttack",
        "IOCType",
        "IOCValue",
        "LocalIP",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    event_type=st.sampled_from(["DetectionSummaryEvent", "EppDetectionSummaryEvent"]) | JSON,
    stamp=st.integers() | st.floats() | st.text(max_size=20) | JSON,
    event=st.dictionaries(EVENT_KEYS, JSON, max_size=12) | JSON,
)
def test_random_records_only_ever_raise_record_rejected(
    event_type: Any, stamp: Any, event: Any
) -> None:
    record = {
        "metadata": {"customerIDString": CID, "eventType": event_type, "eventCreationTime": stamp},
        "event": event,
    }
    try:
        _parse(record)
    except RecordRejected:
        pass
