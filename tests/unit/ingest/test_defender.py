"""Microsoft Defender XDR (Graph alerts_v2) adapter: the example file, detection, hostile input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.defender import DefenderAdapter
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import read
from tierzero.ingest.registry import ADAPTERS

NOW = datetime(2026, 11, 17, tzinfo=UTC)
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXAMPLE = EXAMPLES / "defender_alerts_v2.json"
ADAPTER = DefenderAdapter()
SHA256 = "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc"
_DROP = object()


def _records() -> list[dict[str, Any]]:
    document = json.loads(EXAMPLE.read_text())
    assert set(document) == {"@odata.context", "value"}  # a Graph list response
    return list(document["value"])


def _parse(record: Any) -> Alert:
    return ADAPTER.parse(record, ParseContext("test.json", 1, NOW, json.dumps(record)))


def _reject(record: Any) -> str:
    with pytest.raises(RecordRejected) as caught:
        _parse(record)
    return caught.value.reason


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if value is _DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def _alerts() -> list[Alert]:
    results = list(read([EXAMPLE], now=NOW))
    assert [r for r in results if isinstance(r, QuarantinedRecord)] == []
    return [r for r in results if isinstance(r, Alert)]


# ---------------------------------------------------------------- the example file


def test_every_example_alert_is_read_from_the_graph_envelope() -> None:
    alerts = _alerts()
    assert len(alerts) == 4
    assert {a.provenance.source for a in alerts} == {"defender"}
    assert [a.provenance.record_no for a in alerts] == [1, 2, 3, 4]
    assert all(a.metadata.product.name == "Microsoft Defender XDR" for a in alerts)


def test_phishing_mail_alert() -> None:
    alert = _alerts()[0]
    assert alert.source_alert_id == "fa5e2c7b91-4d3a-4f0e-9c8b-7a6d5e4f3c21"
    assert alert.title == "Email messages containing malicious URL removed after delivery"
    assert alert.time == datetime(2026, 11, 16, 8, 57, 31, 442000, tzinfo=UTC)
    assert alert.finding_info.first_seen_time == datetime(2026, 11, 16, 8, 55, 3, tzinfo=UTC)
    assert alert.severity_id is Severity.MEDIUM
    assert alert.techniques == ("T1566.002",)
    assert alert.tactics == ("Initial Access",)
    assert alert.finding_info.analytic.uid == "a8b1c4d7-0e2f-4a5b-8c6d-9e0f1a2b3c4d"
    assert alert.values(EntityKind.EMAIL) == (
        "alice.martin@northwind.example",
        "invoices@northwlnd-billing.example",
    )
    assert alert.values(EntityKind.EMAIL_SUBJECT) == ("Overdue invoice INV-88213",)
    assert alert.values(EntityKind.IP) == ("203.0.113.45",)
    assert alert.values(EntityKind.URL) == ("https://northwlnd-billing.example/inv/INV-88213.zip",)
    assert alert.values(EntityKind.DOMAIN) == ("northwlnd-billing.example",)
    assert alert.values(EntityKind.USER) == (
        "alice.martin@northwind.example",
        "NORTHWIND\\alice.martin",
    )
    assert alert.src_endpoint is not None and alert.src_endpoint.ip == "203.0.113.45"
    assert alert.actor is not None and alert.actor.name == "alice.martin@northwind.example"


def test_powershell_alert_has_process_tree_on_the_laptop() -> None:
    alert = _alerts()[1]
    assert alert.source_alert_id == "da638671249982210000_-1742813601"
    assert alert.severity_id is Severity.HIGH
    assert alert.techniques == ("T1059.001", "T1204.002")
    assert alert.tactics == ("Execution",)
    assert alert.device is not None
    assert (alert.device.hostname, alert.device.ip) == ("LT-FIN-042", "10.20.4.42")
    assert alert.device.uid == "4a8f2c6e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f02"
    process = alert.process
    assert process is not None and process.parent_process is not None
    assert (process.name, process.pid) == ("powershell.exe", 7312)
    assert process.cmd_line is not None and process.cmd_line.startswith(
        "powershell.exe -nop -w hidden -enc "
    )
    assert (process.parent_process.name, process.parent_process.pid) == ("wscript.exe", 6120)
    assert alert.values(EntityKind.HOST) == ("LT-FIN-042",)
    assert alert.values(EntityKind.PROCESS) == ("powershell.exe", "wscript.exe", "explorer.exe")
    assert alert.values(EntityKind.FILE) == ("INV-88213.js",)
    names = {o.value: o.name for o in alert.observables if o.kind is EntityKind.PROCESS}
    assert names["wscript.exe"] == "process.parent_process.name"


def test_dropped_binary_alert_carries_the_story_hash() -> None:
    alert = _alerts()[2]
    assert alert.source_alert_id == "da638671250426680000_1093387715"
    assert alert.time == datetime(2026, 11, 16, 9, 4, 2, 668000, tzinfo=UTC)
    assert alert.techniques == ("T1105", "T1204.002")
    assert alert.file is not None
    assert (alert.file.name, alert.file.sha256) == ("invsvc.exe", SHA256)
    assert alert.process is not None and alert.process.name == "invsvc.exe"
    assert alert.process.file is not None and alert.process.file.sha256 == SHA256
    assert alert.process.parent_process is not None
    assert alert.process.parent_process.name == "powershell.exe"
    assert alert.values(EntityKind.HASH) == (SHA256,)


def test_lateral_movement_alert_separates_source_and_target() -> None:
    alert = _alerts()[3]
    assert alert.source_alert_id == "da638671294040930000_-318520774"
    assert alert.time == datetime(2026, 11, 16, 10, 16, 44, 93000, tzinfo=UTC)
    assert alert.techniques == ("T1021.002", "T1569.002")
    assert alert.tactics == ("Lateral Movement",)
    assert alert.device is not None
    assert (alert.device.hostname, alert.device.ip) == ("SRV-FS-01", "10.10.1.15")
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.hostname, alert.src_endpoint.ip) == ("LT-FIN-042", "10.20.4.42")
    assert alert.values(EntityKind.HOST) == ("SRV-FS-01", "LT-FIN-042")
    assert alert.values(EntityKind.IP) == ("10.10.1.15", "10.20.4.42")
    assert "NORTHWIND\\alice.martin" in alert.values(EntityKind.USER)
    assert alert.process is not None and alert.process.name == "PSEXESVC.exe"


# ---------------------------------------------------------------- processes and files


def test_the_parent_evidence_completes_the_chain() -> None:
    process = _alerts()[1].process
    assert process is not None and process.name == "powershell.exe"
    parent = process.parent_process
    assert parent is not None and (parent.name, parent.pid) == ("wscript.exe", 6120)
    # wscript.exe is evidence of its own: its command line and its parent come with it
    assert parent.cmd_line is not None and "INV-88213.js" in parent.cmd_line
    assert parent.parent_process is not None
    assert (parent.parent_process.name, parent.parent_process.pid) == ("explorer.exe", 4488)


def test_evidence_listed_parent_first_still_yields_the_leaf() -> None:
    record = _records()[1]
    evidence = list(reversed(record["evidence"]))
    process = _parse(_with(record, evidence=evidence)).process
    assert process is not None and process.name == "powershell.exe"


def test_a_parent_evidence_without_image_keeps_the_childs_sketch_of_it() -> None:
    record = _records()[1]
    evidence = [dict(e) for e in record["evidence"]]
    evidence[3] = {k: v for k, v in evidence[3].items() if k != "imageFile"}  # wscript.exe
    process = _parse(_with(record, evidence=evidence)).process
    assert process is not None and process.parent_process is not None
    parent = process.parent_process
    assert parent.cmd_line is not None and "INV-88213.js" in parent.cmd_line
    assert parent.name == "wscript.exe"  # from powershell's parentProcessImageFile
    assert parent.file is not None and parent.file.path == "C:\\Windows\\System32\\wscript.exe"


def test_file_details_give_the_full_path_and_the_folder() -> None:
    # Graph "fileDetails resource type": filePath is where the file is, fileName its name.
    alert = _alerts()[2]
    folder = "C:\\Users\\alice.martin\\AppData\\Roaming\\Microsoft\\invsvc"
    assert alert.file is not None
    assert (alert.file.path, alert.file.parent_folder) == (f"{folder}\\invsvc.exe", folder)
    assert alert.process is not None and alert.process.file is not None
    assert alert.process.file.path == f"{folder}\\invsvc.exe"
    full = dict(_records()[2]["evidence"][2])
    full["fileDetails"] = dict(full["fileDetails"], filePath=f"{folder}\\invsvc.exe")
    again = _parse(_with(_records()[2], evidence=[full])).file  # a full path is kept whole
    assert again is not None and (again.path, again.parent_folder) == (
        f"{folder}\\invsvc.exe",
        folder,
    )


def test_process_ids_written_as_text_are_read() -> None:
    record = _records()[1]
    evidence = [dict(e) for e in record["evidence"]]
    evidence[2] = dict(evidence[2], processId="7312", parentProcessId="6120")
    process = _parse(_with(record, evidence=evidence)).process
    assert process is not None and process.pid == 7312
    assert process.parent_process is not None and process.parent_process.name == "wscript.exe"


# ---------------------------------------------------------------- category and time


@pytest.mark.parametrize("category", ["Malware", "SuspiciousActivity", "AnonymousLogin"])
def test_a_category_that_is_no_attack_tactic_stays_a_finding_type(category: str) -> None:
    # Graph alert resource: category is Defender's own vocabulary (alerts_v2 list example
    # values include tactics such as "DefenseEvasion" and product categories such as these).
    alert = _parse(_with(_records()[1], category=category))
    assert alert.tactics == ()
    assert alert.finding_info.types == (category,)
    assert alert.techniques == ("T1059.001", "T1204.002")  # techniques are kept all the same


@pytest.mark.parametrize(
    ("category", "tactic"),
    [("CredentialAccess", "Credential Access"), ("DefenseEvasion", "Defense Evasion")],
)
def test_a_category_that_is_an_attack_tactic_becomes_one(category: str, tactic: str) -> None:
    alert = _parse(_with(_records()[1], category=category))
    assert alert.tactics == (tactic,)
    assert {a.tactic_uid for a in alert.finding_info.attacks} == {
        {"Credential Access": "TA0006", "Defense Evasion": "TA0005"}[tactic]
    }


def test_zone_less_graph_times_stay_refused() -> None:
    # Graph DateTimeOffset "is always in UTC time", written with its "Z": a time without a
    # zone is not a Graph time, so nothing is assumed.
    assert _reject(_with(_records()[1], createdDateTime="2026-11-16T09:03:18")) == (
        "field 'createdDateTime' has no time zone: '2026-11-16T09:03:18'"
    )


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
    "sentinel": {
        "TimeGenerated": "2026-11-16T09:40:52Z",
        "AlertName": "Atypical travel",
        "AlertSeverity": "Medium",
        "SystemAlertId": "s1",
        "ProviderName": "IPC",
        "Entities": "[]",
        "Type": "SecurityAlert",
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
        "CreatedAt": "2026-11-16T10:30:00Z",
        "Resource": {"ResourceType": "Instance"},
    },
    "okta": {
        "uuid": "u1",
        "published": "2026-11-16T09:40:05Z",
        "eventType": "user.session.start",
        "actor": {"id": "00u1", "alternateId": "alice.martin@northwind.example"},
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
        "id": "1763287520.12345",
    },
    "suricata": {
        "timestamp": "2026-11-16T09:04:00.000000+0000",
        "event_type": "alert",
        "src_ip": "10.20.4.42",
        "dest_ip": "198.51.100.77",
        "flow_id": 1,
        "alert": {"signature": "x", "signature_id": 1},
    },
    # The legacy (v1) Graph alert and the Defender for Endpoint API alert look similar but are
    # other schemas: they must not be read as alert_v2.
    "graph_v1_alert": {
        "id": "x",
        "title": "x",
        "createdDateTime": "2026-11-16T09:00:00Z",
        "vendorInformation": {"provider": "IPC"},
        "severity": "high",
    },
    "mde_api_alert": {
        "id": "da1",
        "title": "x",
        "alertCreationTime": "2026-11-16T09:00:00Z",
        "detectionSource": "WindowsDefenderAtp",
        "severity": "High",
    },
}


@pytest.mark.parametrize("fmt", sorted(FOREIGN))
def test_does_not_match_other_formats(fmt: str) -> None:
    assert ADAPTER.matches(FOREIGN[fmt]) is False


def _without_odata(value: Any) -> Any:
    """What a SIEM pipeline that drops OData annotations forwards (at every level)."""
    if isinstance(value, dict):
        return {k: _without_odata(v) for k, v in value.items() if not k.startswith("@odata.")}
    if isinstance(value, list):
        return [_without_odata(v) for v in value]
    return value


@pytest.mark.parametrize("index", range(4))
def test_an_alert_without_odata_type_is_recognised_and_read_alike(index: int) -> None:
    record = _records()[index]
    stripped = _without_odata(record)
    assert "@odata.type" not in json.dumps(stripped)
    assert [a.name for a in ADAPTERS.values() if a.matches(stripped)] == ["defender"]
    before, after = _parse(record), _parse(stripped)
    assert after.observables == before.observables  # evidence types told by their properties
    assert (after.device, after.actor, after.process, after.file) == (
        before.device,
        before.actor,
        before.process,
        before.file,
    )
    assert (after.src_endpoint, after.dst_endpoint) == (before.src_endpoint, before.dst_endpoint)


def test_a_record_with_too_few_alerts_v2_properties_is_not_claimed() -> None:
    bare = {
        "id": "x",
        "providerAlertId": "x",
        "title": "x",
        "createdDateTime": "2026-11-16T09:00:00Z",
        "detectionSource": "antivirus",
    }
    assert ADAPTER.matches(bare) is False
    assert ADAPTER.matches({**bare, "serviceSource": "x", "alertWebUrl": "https://x"}) is True
    other = {**bare, "serviceSource": "x", "alertWebUrl": "https://x", "@odata.type": "#x.y"}
    assert ADAPTER.matches(other) is False  # annotated as something else


def test_auto_detection_picks_only_defender_for_the_example_alerts() -> None:
    for record in _records():
        assert [a.name for a in ADAPTERS.values() if a.matches(record)] == ["defender"]


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


# ---------------------------------------------------------------- malformed alerts


def test_empty_object_is_rejected() -> None:
    assert _reject({}) == "missing required field 'id'"


@pytest.mark.parametrize("field", ["id", "title", "createdDateTime"])
def test_missing_required_field_is_named(field: str) -> None:
    assert _reject(_with(_records()[1], **{field: _DROP})) == f"missing required field '{field}'"


def test_list_where_text_is_expected() -> None:
    assert _reject(_with(_records()[1], title=["a"])) == "field 'title' should be text, got list"
    assert _reject(_with(_records()[1], severity={"x": 1})) == (
        "field 'severity' should be text, got dict"
    )


def test_non_alert_graph_objects_are_rejected() -> None:
    incident = _with(_records()[1], **{"@odata.type": "#microsoft.graph.security.incident"})
    assert _reject(incident) == (
        "Graph object of type '#microsoft.graph.security.incident' is not a security alert"
    )


def test_wrongly_shaped_evidence_is_rejected() -> None:
    assert _reject(_with(_records()[1], evidence={"a": 1})) == (
        "field 'evidence' should be a list, got dict"
    )
    assert _reject(_with(_records()[1], evidence=["device"])) == (
        "evidence item 1 should be an object, got str"
    )
    process = dict(_records()[1]["evidence"][2], imageFile="powershell.exe")
    assert _reject(_with(_records()[1], evidence=[process])) == (
        "evidence field 'imageFile' should be an object, got str"
    )
    device = dict(_records()[1]["evidence"][0], ipInterfaces="10.20.4.42")
    assert _reject(_with(_records()[1], evidence=[device])) == (
        "evidence field 'ipInterfaces' should be a list, got str"
    )
    assert _reject(_with(_records()[1], mitreTechniques="T1059.001")) == (
        "field 'mitreTechniques' should be a list of technique ids"
    )


def test_bad_times_are_rejected() -> None:
    assert _reject(_with(_records()[1], createdDateTime="2026-13-45T00:00:00Z")) == (
        "field 'createdDateTime' is not a valid time: '2026-13-45T00:00:00Z'"
    )
    assert _reject(_with(_records()[1], firstActivityDateTime=["x"])) == (
        "field 'firstActivityDateTime' is not a time: ['x']"
    )


def test_unknown_or_lookalike_evidence_types_are_ignored() -> None:
    evidence = [
        {"@odata.type": "#microsoft.graph.security.registryKeyEvidence", "registryKey": "x"},
        {"@odata.type": "#microsoft.graph.security.user", "userAccount": "x"},  # not a handler
        {"@odata.type": "#microsoft.graph.security._hashes", "x": 1},
        {"@odata.type": ["not", "a", "string"]},
        {"no": "type"},
    ]
    alert = _parse(_with(_records()[1], evidence=evidence))
    assert alert.observables == ()


def test_reader_quarantines_a_broken_alert(tmp_path: Path) -> None:
    good, bad = _records()[0], _with(_records()[1], evidence="not a list")
    path = tmp_path / "alerts.json"
    path.write_text(json.dumps({"value": [good, bad]}))
    results = list(read([path], now=NOW))
    assert isinstance(results[0], Alert)
    assert isinstance(results[1], QuarantinedRecord)
    assert (results[1].source, results[1].record_no) == ("defender", 2)
    assert results[1].reason == "field 'evidence' should be a list, got str"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_FIELDS = [
    "id",
    "title",
    "severity",
    "createdDateTime",
    "firstActivityDateTime",
    "lastActivityDateTime",
    "category",
    "mitreTechniques",
    "detectorId",
    "description",
    "alertWebUrl",
    "evidence",
    "@odata.type",
]
_EVIDENCE_KEYS = [
    "hostName",
    "deviceDnsName",
    "mdeDeviceId",
    "ipInterfaces",
    "osPlatform",
    "userAccount",
    "imageFile",
    "parentProcessImageFile",
    "processId",
    "parentProcessId",
    "processCommandLine",
    "fileDetails",
    "ipAddress",
    "countryLetterCode",
    "url",
    "primaryAddress",
    "recipientEmailAddress",
    "senderIp",
    "subject",
    "urls",
    "p1Sender",
    "p2Sender",
    "roles",
]
_KINDS = [
    "deviceEvidence",
    "userEvidence",
    "processEvidence",
    "fileEvidence",
    "ipEvidence",
    "urlEvidence",
    "mailboxEvidence",
    "analyzedMessageEvidence",
]


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(_FIELDS), value=_JSON)
def test_hostile_top_level_values_never_raise_anything_but_rejection(
    field: str, value: Any
) -> None:
    try:
        _parse(_with(_records()[1], **{field: value}))
    except RecordRejected as exc:
        assert exc.reason


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from(_KINDS),
    fields=st.dictionaries(st.sampled_from(_EVIDENCE_KEYS), _JSON, max_size=6),
)
def test_hostile_evidence_never_raises_anything_but_rejection(
    kind: str, fields: dict[str, Any]
) -> None:
    item = {"@odata.type": f"#microsoft.graph.security.{kind}", **fields}
    try:
        _parse(_with(_records()[1], evidence=[item]))
    except RecordRejected as exc:
        assert exc.reason
