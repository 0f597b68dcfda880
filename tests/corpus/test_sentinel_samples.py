"""Real Sentinel ``SecurityAlert`` rows (vendor-samples/sentinel), checked row by row.

The rows are Log Analytics query results (msticpy's raw query fixture: ``Entities`` and
``ExtendedProperties`` are JSON strings). Every check below reads the raw row on its own terms
(the entity graph is walked here independently of the adapter) and compares it with the alert.
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
from tierzero.ingest.base import FLAG_TIME_ASSUMED_UTC, TACTICS
from tierzero.ingest.quarantine import QuarantinedRecord

pytestmark = pytest.mark.corpus

# Why a SecurityAlert row may be refused; anything else is a failure to read a real row.
REFUSALS = ("row is an incident", "row of table")
SEVERITY = {
    "informational": Severity.INFORMATIONAL,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
}
_SLUGS = {re.sub(r"[^a-z]", "", name.lower()): name for name in TACTICS.values()}


def _rows(corpora: Path) -> Iterator[tuple[Path, Outcome]]:
    for path in sample_files(corpora, "sentinel"):
        for outcome in outcomes(path, "sentinel"):
            yield path, outcome


def _utc(stamp: str) -> tuple[datetime, bool]:
    """A Log Analytics datetime as UTC, and whether it came without a zone."""
    text = stamp.strip().replace(" ", "T")
    zone_less = not re.search(r"(Z|[+-]\d\d:?\d\d)$", text)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.removesuffix("Z"))
    parsed = datetime.fromisoformat(text)
    at = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return at, zone_less


class _Graph:
    """The raw Entities array: every node with a ``$id``, and ``$ref`` resolution."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.by_id: dict[str, dict[str, Any]] = {}
        self.nodes: list[dict[str, Any]] = []
        self._walk(items)

    def _walk(self, value: Any) -> None:
        if isinstance(value, dict):
            if "$id" in value:
                self.by_id[str(value["$id"])] = value
            if "Type" in value:
                self.nodes.append(value)
            for item in value.values():
                self._walk(item)
        elif isinstance(value, list):
            for item in value:
                self._walk(item)

    def get(self, value: Any) -> dict[str, Any] | None:
        while isinstance(value, dict) and "$ref" in value:
            value = self.by_id.get(str(value["$ref"]))
        return value if isinstance(value, dict) else None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for node in self.nodes:
            if str(node.get("Type", "")).lower() == kind and all(node is not o for o in out):
                out.append(node)
        return out


def _pid(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text, 16) if text.lower().startswith("0x") else int(text) if text.isdigit() else None


def _files(alert: Alert) -> list[FileInfo]:
    out = [alert.file] if alert.file else []
    process: ProcessInfo | None = alert.process
    while process is not None:
        out += [process.file] if process.file else []
        process = process.parent_process
    return out


def check_row(raw: dict[str, Any], alert: Alert) -> list[str]:
    """Compare one alert with its raw row; returns the names of the checks made."""
    done: list[str] = []
    assert alert.source_alert_id == raw["SystemAlertId"]
    assert alert.title == raw["AlertName"].strip()
    done.append("id and title")
    at, zone_less = _utc(raw["TimeGenerated"])
    assert alert.time == at
    assert (FLAG_TIME_ASSUMED_UTC in alert.flags) == zone_less
    for key, seen in (("StartTime", "first_seen_time"), ("EndTime", "last_seen_time")):
        if raw.get(key):
            assert getattr(alert.finding_info, seen) == _utc(raw[key])[0]
    done.append("time")
    word = str(raw.get("AlertSeverity") or "").lower()
    assert alert.severity_id is SEVERITY.get(word, Severity.UNKNOWN)
    done.append("severity")
    assert (alert.metadata.product.name, alert.metadata.product.vendor_name) == (
        "Microsoft Sentinel",
        "Microsoft",
    )
    done.append("product")

    extended = json.loads(raw["ExtendedProperties"] or "{}")
    rule_ids = json.loads(extended.get("Analytic Rule Ids") or "[]")
    assert alert.finding_info.analytic.uid == (rule_ids[0] if rule_ids else raw.get("AlertType"))
    done.append("analytic rule")

    techniques = {
        t.strip().upper()
        for key in ("Techniques", "SubTechniques")
        for t in re.split(r"[\s,\[\]\"]+", str(raw.get(key) or ""))
        if re.fullmatch(r"T\d{4}(\.\d{3})?", t.strip().upper())
    }
    assert set(alert.techniques) == techniques
    done.append("ATT&CK techniques")
    words = [re.sub(r"[^a-z]", "", w.lower()) for w in str(raw.get("Tactics") or "").split(",")]
    assert set(alert.tactics) == {_SLUGS[w] for w in words if w in _SLUGS}  # never "Unknown"
    done.append("tactics only when real")

    graph = _Graph(json.loads(raw["Entities"]) if raw.get("Entities") else [])
    if not graph.nodes:
        assert alert.observables == ()
        assert (alert.device, alert.actor, alert.process, alert.file) == (None,) * 4
        done.append("no entity invented")
        return done
    for host in graph.of_type("host"):
        name = host.get("HostName") or host.get("NetBiosName")
        if name:
            assert name.casefold() in values(alert, EntityKind.HOST)
            done.append("host")
    for account in graph.of_type("account"):
        name = account.get("Name")
        if name and account.get("NTDomain"):
            assert f"{account['NTDomain']}\\{name}".casefold() in values(alert, EntityKind.USER)
            done.append("user with domain")
        if name and account.get("UPNSuffix"):
            assert f"{name}@{account['UPNSuffix']}".casefold() in values(alert, EntityKind.USER)
            done.append("user with UPN suffix")
    for ip in graph.of_type("ip"):
        if ip.get("Address") not in (None, "", "0.0.0.0", "::"):
            assert ip["Address"].casefold() in values(alert, EntityKind.IP)
            done.append("ip")
    for url in graph.of_type("url"):
        if url.get("Url"):
            assert url["Url"].casefold() in values(alert, EntityKind.URL)
            done.append("url")
    for file in graph.of_type("file"):
        for entry in file.get("FileHashes") or []:
            entry = graph.get(entry) or {}
            if entry.get("Value"):
                assert entry["Value"].casefold() in values(alert, EntityKind.HASH)
                done.append("hash")
        if file.get("Directory") and file.get("Name"):
            folder = file["Directory"].rstrip("\\/")
            full = f"{folder}\\{file['Name']}" if "\\" in folder else f"{folder}/{file['Name']}"
            found = [f for f in _files(alert) if f.name == file["Name"]]
            assert all((f.path, f.parent_folder) == (full, folder) for f in found)
            done.append("file full path and folder")

    processes = graph.of_type("process")
    if processes:
        parents = [graph.get(p.get("ParentProcess")) for p in processes]
        leaves = [p for p in processes if all(p is not q for q in parents)] or processes
        process = alert.process
        assert process is not None
        leaf = next(p for p in leaves if p.get("CommandLine") == process.cmd_line)
        assert process.pid == _pid(leaf.get("ProcessId"))
        done.append("detected process is the leaf")
        parent = graph.get(leaf.get("ParentProcess"))
        if parent is not None:
            assert process.parent_process is not None
            assert process.parent_process.cmd_line == parent.get("CommandLine")
            assert process.parent_process.pid == _pid(parent.get("ProcessId"))
            done.append("parent process")
        for node in processes:
            if node.get("CommandLine"):
                assert node["CommandLine"].casefold() in values(alert, EntityKind.COMMAND_LINE)
                done.append("command line")
    return done


def test_every_row_is_an_alert_or_refused_for_a_stated_reason(corpora: Path) -> None:
    rows = list(_rows(corpora))
    assert rows
    for path, outcome in rows:
        if isinstance(outcome.result, QuarantinedRecord):
            assert outcome.result.reason.startswith(REFUSALS), (path.name, outcome.result.reason)


def test_rows_carry_what_a_person_looks_for(corpora: Path) -> None:
    checked = 0
    for _path, outcome in _rows(corpora):
        if isinstance(outcome.result, Alert) and outcome.raw is not None:
            assert check_row(outcome.raw, outcome.alert)
            checked += 1
    assert checked


def test_a_row_exported_without_the_zone_reads_the_same_instant(
    corpora: Path, tmp_path: Path
) -> None:
    """The same real rows as a CSV export or a pandas round-trip writes them: no "Z"."""
    for path in sample_files(corpora, "sentinel"):
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for row in lines:
            for key in ("TimeGenerated", "StartTime", "EndTime"):
                if row.get(key):
                    row[key] = row[key].removesuffix("Z").replace("T", " ")
        copy = tmp_path / path.name
        copy.write_text("".join(json.dumps(row) + "\n" for row in lines))
        before = {o.raw["SystemAlertId"]: o.result for o in outcomes(path) if o.raw}
        for outcome in outcomes(copy, "sentinel"):
            assert outcome.raw is not None
            alert, original = outcome.alert, before[outcome.raw["SystemAlertId"]]
            assert isinstance(original, Alert)
            assert alert.time == original.time
            assert alert.finding_info.first_seen_time == original.finding_info.first_seen_time
            assert FLAG_TIME_ASSUMED_UTC in alert.flags
