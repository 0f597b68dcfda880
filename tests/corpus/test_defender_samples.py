"""Real Microsoft Graph ``alerts_v2`` records (vendor-samples/defender), checked one by one.

Each check reads the raw alert on its own terms (evidence by its documented properties) and
compares it with what tierzero made of it, with and without the OData annotations a SIEM
pipeline may drop.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.samples import Outcome, outcomes, sample_files, values
from tierzero.ingest.alert import Alert, EntityKind, FileInfo, ProcessInfo, Severity
from tierzero.ingest.base import TACTICS
from tierzero.ingest.quarantine import QuarantinedRecord

pytestmark = pytest.mark.corpus

# Why an alerts_v2 record may be refused; anything else is a failure to read a real alert.
REFUSALS = ("Graph object of type",)
SEVERITY = {
    "informational": Severity.INFORMATIONAL,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
}
_SLUGS = {re.sub(r"[^a-z]", "", name.lower()): name for name in TACTICS.values()}
_PREFIX = "#microsoft.graph.security."


def _alerts(corpora: Path) -> Iterator[tuple[Path, Outcome]]:
    for path in sample_files(corpora, "defender"):
        for outcome in outcomes(path):
            yield path, outcome


def _utc(stamp: str) -> datetime:
    text = re.sub(r"(\.\d{6})\d+", r"\1", stamp.strip().removesuffix("Z"))
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _evidence(raw: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in raw.get("evidence") or [] if e.get("@odata.type") == _PREFIX + kind]


def _files(alert: Alert) -> list[FileInfo]:
    out = [alert.file] if alert.file else []
    process: ProcessInfo | None = alert.process
    while process is not None:
        out += [process.file] if process.file else []
        process = process.parent_process
    return out


def _check_file(alert: Alert, details: dict[str, Any] | None) -> bool:
    """A fileDetails (folder in filePath, name in fileName) comes out as full path + folder."""
    if not details or not details.get("fileName") or not details.get("filePath"):
        return False
    folder = details["filePath"].rstrip("\\/")
    full = f"{folder}\\{details['fileName']}"
    found = [f for f in _files(alert) if f.name == details["fileName"]]
    assert found
    assert all((f.path, f.parent_folder) == (full, folder) for f in found)
    for key in ("sha256", "sha1", "md5"):
        if details.get(key):
            assert details[key].casefold() in values(alert, EntityKind.HASH)
    return True


def check_alert(raw: dict[str, Any], alert: Alert) -> list[str]:
    """Compare one alert with its raw record; returns the names of the checks made."""
    done: list[str] = []
    assert (alert.source_alert_id, alert.title) == (raw["id"], raw["title"])
    done.append("id and title")
    assert alert.time == _utc(raw["createdDateTime"])
    done.append("time")
    assert alert.severity_id is SEVERITY.get(str(raw.get("severity")).lower(), Severity.UNKNOWN)
    done.append("severity")
    assert (alert.metadata.product.name, alert.metadata.product.vendor_name) == (
        "Microsoft Defender XDR",
        "Microsoft",
    )
    done.append("product")
    assert alert.finding_info.src_url == raw.get("alertWebUrl")
    done.append("portal link")
    assert set(alert.techniques) == {t.upper() for t in raw.get("mitreTechniques") or []}
    done.append("ATT&CK techniques")
    category = raw.get("category") or ""
    real = _SLUGS.get(re.sub(r"[^a-z]", "", category.lower()))
    assert alert.tactics == ((real,) if real else ())
    assert category in alert.finding_info.types or not category
    done.append("tactics only when real")

    for device in _evidence(raw, "deviceEvidence"):
        name = device.get("hostName") or device.get("deviceDnsName")
        if name:
            assert name.casefold() in values(alert, EntityKind.HOST)
            done.append("host")
        for address in device.get("ipInterfaces") or []:
            if address not in ("0.0.0.0", "::"):
                assert address.casefold() in values(alert, EntityKind.IP)
                done.append("ip")
    for item in raw.get("evidence") or []:
        account = item.get("userAccount") or {}
        if account.get("accountName") and account.get("domainName"):
            qualified = f"{account['domainName']}\\{account['accountName']}"
            assert qualified.casefold() in values(alert, EntityKind.USER)
            done.append("user with domain")
    for ip in _evidence(raw, "ipEvidence"):
        assert ip["ipAddress"].casefold() in values(alert, EntityKind.IP)
        done.append("ip")
    for url in _evidence(raw, "urlEvidence"):
        assert url["url"].casefold() in values(alert, EntityKind.URL)
        done.append("url")
    for file in _evidence(raw, "fileEvidence"):
        if _check_file(alert, file.get("fileDetails")):
            done.append("file full path and folder")

    processes = _evidence(raw, "processEvidence")
    if processes:
        parent_ids = {p.get("parentProcessId") for p in processes}
        leaves = [p for p in processes if p.get("processId") not in parent_ids] or processes
        process = alert.process
        assert process is not None
        leaf = next(p for p in leaves if p.get("processId") == process.pid)
        assert process.cmd_line == leaf.get("processCommandLine")
        done.append("detected process is the leaf")
        if _check_file(alert, leaf.get("imageFile")):
            done.append("process image path")
        parent_image = leaf.get("parentProcessImageFile") or {}
        if leaf.get("parentProcessId") is not None or parent_image.get("fileName"):
            parent = process.parent_process
            assert parent is not None and parent.pid == leaf.get("parentProcessId")
            if parent_image.get("fileName"):
                assert parent.name == parent_image["fileName"]
                assert _check_file(alert, parent_image)
            done.append("parent process")
        for node in processes:
            if node.get("processCommandLine"):
                assert node["processCommandLine"].casefold() in values(
                    alert, EntityKind.COMMAND_LINE
                )
                done.append("command line")
    return done


def test_every_alert_is_read_or_refused_for_a_stated_reason(corpora: Path) -> None:
    found = list(_alerts(corpora))
    assert found
    for path, outcome in found:
        if isinstance(outcome.result, QuarantinedRecord):
            assert outcome.result.reason.startswith(REFUSALS), (path.name, outcome.result.reason)


def test_alerts_carry_what_a_person_looks_for(corpora: Path) -> None:
    checked = 0
    for _path, outcome in _alerts(corpora):
        if isinstance(outcome.result, Alert) and outcome.raw is not None:
            assert check_alert(outcome.raw, outcome.alert)
            checked += 1
    assert checked


def _without_odata(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_odata(v) for k, v in value.items() if not k.startswith("@odata.")}
    if isinstance(value, list):
        return [_without_odata(v) for v in value]
    return value


def test_alerts_without_odata_annotations_are_detected_and_read_alike(
    corpora: Path, tmp_path: Path
) -> None:
    """The same real alerts as a SIEM pipeline forwards them, OData annotations dropped."""
    for path in sample_files(corpora, "defender"):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        stripped = tmp_path / path.name
        stripped.write_text("".join(json.dumps(_without_odata(r)) + "\n" for r in rows))
        before = {o.raw["id"]: o.result for o in outcomes(path) if o.raw}
        for outcome in outcomes(stripped):  # auto-detection, as `tierzero triage` does
            assert outcome.raw is not None
            alert, original = outcome.alert, before[outcome.raw["id"]]
            assert isinstance(original, Alert)
            assert alert.provenance.source == "defender"
            assert alert.observables == original.observables
            assert (alert.device, alert.process, alert.file) == (
                original.device,
                original.process,
                original.file,
            )
