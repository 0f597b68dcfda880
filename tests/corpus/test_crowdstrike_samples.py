"""CrowdStrike Falcon stream detections from the Elastic integration's pipeline fixtures.

Every record of ``vendor-samples/crowdstrike`` is read in place and checked against its own raw
JSON: host, user, host IP, hashes, the detected file (full path and folder) and whether it is a
process (with parent and grandparent) or a file found by an on-demand scan, network peers, the
custom IOA rule as the analytic, severity, ATT&CK ids and time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.samples import outcomes, sample_files, values
from tierzero.ingest.alert import Alert, EntityKind, Severity

pytestmark = pytest.mark.corpus

_WORDS = {"low": Severity.LOW, "medium": Severity.MEDIUM, "high": Severity.HIGH}
_EPP_SCALE = (
    (80, Severity.CRITICAL),
    (60, Severity.HIGH),
    (40, Severity.MEDIUM),
    (20, Severity.LOW),
)


def _files(corpora: Path) -> list[Path]:
    files = sample_files(corpora, "crowdstrike")
    assert files, "no CrowdStrike samples"
    return files


def _event(raw: dict[str, Any]) -> dict[str, Any]:
    event = raw["event"]
    assert isinstance(event, dict)
    return event


def _first(event: dict[str, Any], *keys: str) -> Any:
    return next((event[k] for k in keys if event.get(k) not in (None, "")), None)


def _basename(path: str | None) -> str | None:
    return re.split(r"[\\/]", path)[-1] if path else None


def _real_hashes(event: dict[str, Any]) -> set[str]:
    digests = (event.get(k) for k in ("SHA256String", "SHA1String", "MD5String"))
    return {d.lower() for d in digests if isinstance(d, str) and d.strip("0")}


def _is_file_scan(event: dict[str, Any]) -> bool:
    return str(event.get("Type", "")).lower() == "ods"


def _check_file(alert: Alert, event: dict[str, Any]) -> None:
    """OCSF file.path is the full path and parent_folder the folder, whatever the event type."""
    name, path = event["FileName"], event["FilePath"]
    assert alert.file is not None and alert.file.name == name
    full = path if _basename(path) == name else path.rstrip("\\/") + "\\" + name
    assert alert.file.path == full
    assert alert.file.parent_folder == full[: -len(name) - 1]
    for digest in (alert.file.sha256, alert.file.sha1, alert.file.md5):
        assert digest is None or digest in _real_hashes(event)


def _check_process(alert: Alert, event: dict[str, Any]) -> None:
    if _is_file_scan(event):
        # A file found at rest never ran: no process to kill, no process entity.
        assert alert.process is None
        assert values(alert, EntityKind.PROCESS) == set()
        return
    process = alert.process
    assert process is not None
    assert process.name == event["FileName"]
    assert process.pid == event["ProcessId"]
    assert process.cmd_line == event["CommandLine"].strip()
    assert process.file == alert.file
    parent = process.parent_process
    assert parent is not None and parent.pid == event["ParentProcessId"]
    parent_image = _first(event, "ParentImageFilePath", "ParentImageFileName")
    assert parent.name == _basename(parent_image)
    grand = _first(event, "GrandParentImageFilePath", "GrandparentImageFilePath")
    grand = grand or _first(event, "GrandParentImageFileName", "GrandparentImageFileName")
    if grand:
        assert parent.parent_process is not None
        assert parent.parent_process.name == _basename(grand)
        assert parent.parent_process.file is not None
        assert parent.parent_process.file.path == grand
    names = values(alert, EntityKind.PROCESS)
    assert event["FileName"].casefold() in names
    if parent.name:
        assert parent.name.casefold() in names


def _check_analytic(alert: Alert, event: dict[str, Any]) -> None:
    analytic = alert.finding_info.analytic
    rule = event.get("IOARuleName")
    if rule:
        assert analytic.name == rule
        assert analytic.uid == f"custom-ioa:{event['IOARuleInstanceID']}"
        assert rule in alert.title
    elif event.get("PatternId") is not None:
        assert analytic.uid == str(event["PatternId"])
        assert analytic.name == _first(event, "DetectName", "Name")


def _expected_severity(event: dict[str, Any]) -> Severity:
    word = str(event.get("SeverityName", "")).lower()
    if word in _WORDS:
        return _WORDS[word]
    return next(s for lower, s in _EPP_SCALE if event["Severity"] >= lower)


def _expected_techniques(event: dict[str, Any]) -> set[str]:
    ids = {event.get("TechniqueId")}
    ids |= {m.get("TechniqueID") for m in event.get("MitreAttack", []) if isinstance(m, dict)}
    return {i for i in ids if isinstance(i, str) and re.fullmatch(r"T\d{4}(\.\d{3})?", i)}


def test_every_record_is_an_alert_checked_against_its_raw_json(corpora: Path) -> None:
    checked = 0
    for path in _files(corpora):
        for outcome in outcomes(path):
            assert outcome.raw is not None
            alert, event = outcome.alert, _event(outcome.raw)
            assert alert.provenance.source == "crowdstrike"
            assert alert.source_alert_id == _first(event, "CompositeId", "DetectId")
            stamp = outcome.raw["metadata"]["eventCreationTime"]
            assert alert.time == datetime.fromtimestamp(stamp / 1000, tz=UTC)
            assert alert.flags == ()
            assert alert.severity_id == _expected_severity(event)
            assert set(alert.techniques) == _expected_techniques(event)
            assert alert.finding_info.src_url == event["FalconHostLink"]

            host = _first(event, "ComputerName", "Hostname")
            assert alert.device is not None and alert.device.hostname == host
            assert values(alert, EntityKind.HOST) == {host.casefold()}
            assert alert.device.uid == _first(event, "SensorId", "AgentId")
            assert alert.device.ip == event["LocalIP"]
            ips = values(alert, EntityKind.IP)
            assert event["LocalIP"] in ips
            if event.get("LocalIPv6"):
                assert event["LocalIPv6"] in ips
            for access in event.get("NetworkAccesses", []):
                assert access["RemoteAddress"] in ips

            user = event.get("UserName")
            assert values(alert, EntityKind.USER) == ({user.casefold()} if user else set())
            assert (alert.actor.name if alert.actor else None) == user

            assert values(alert, EntityKind.HASH) == _real_hashes(event)
            _check_file(alert, event)
            _check_process(alert, event)
            _check_analytic(alert, event)
            checked += 1
    assert checked == 8


def test_the_on_demand_scan_is_a_file_not_a_process(corpora: Path) -> None:
    scans = [
        o.alert
        for path in _files(corpora)
        for o in outcomes(path)
        if o.raw is not None and _is_file_scan(_event(o.raw))
    ]
    assert len(scans) == 1
    (scan,) = scans
    assert scan.process is None
    assert scan.file is not None and scan.file.path == "D:\\RECYCLER\\testpath\\testfile.vmx"
    assert scan.file.parent_folder == "D:\\RECYCLER\\testpath"
    assert scan.values(EntityKind.FILE) == ("testfile.vmx",)
    assert scan.values(EntityKind.COMMAND_LINE) == ()


def test_the_custom_ioa_rule_is_the_analytic(corpora: Path) -> None:
    rules = [
        o.alert
        for path in _files(corpora)
        for o in outcomes(path)
        if o.raw is not None and _event(o.raw).get("IOARuleName")
    ]
    assert [a.detection_id for a in rules] == ["crowdstrike:custom-ioa:167"]
    assert rules[0].title == "Suspicious Activity: Initial Access via Remote Service (Atera) Block"
