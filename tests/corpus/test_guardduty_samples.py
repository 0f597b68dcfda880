"""GuardDuty vendor samples, record by record against the raw JSON.

The files hold findings in the REST/EventBridge spelling (camelCase), one per line, and one
``GetFindings`` response (``{"findings": []}``): a line that is an envelope holds records, not
one; an empty one holds none. Expectations are read from each raw finding's documented fields
(API Reference, ``Finding``) or, for what tierzero derives (severity, tactic), stated per
finding id.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import FLAG_SAMPLE
from tierzero.ingest.quarantine import QuarantinedRecord

from .samples import normalize, sample_files, values

pytestmark = pytest.mark.corpus

# finding id -> (severity, ATT&CK tactic from the finding type's threat purpose, or None)
DERIVED: dict[str, tuple[Severity, str | None]] = {
    # aws-samples-automated-response_events.jsonl
    "16afba5c5c43e07c9e3e5e2e544e95df": (Severity.MEDIUM, None),  # Canary: no purpose
    "30bf285e52a1e405084ff6ec28e06e17": (Severity.MEDIUM, "Reconnaissance"),
    "2cbf285e52a6e74ff96f4cb3cf93296d": (Severity.MEDIUM, None),  # PenTest: no tactic
    # elastic-integrations_test-guardduty.log.jsonl
    "d6012345678912345678912349f831b8f": (Severity.MEDIUM, None),  # Trojan: no tactic
    "250023a9abcdefabcdef12345678": (Severity.HIGH, "Persistence"),
    "43b6abcdeabcdeabcde1234562176924": (Severity.MEDIUM, "Discovery"),
    "5abcdefabcdefabcdef2a123456789f6": (Severity.HIGH, "Credential Access"),
    "abcd1234": (Severity.MEDIUM, "Privilege Escalation"),
}
# file -> (records in, normalized, refused); lines that are empty envelopes hold no record
TOTALS = {
    "aws-samples-automated-response_events.jsonl": (3, 3, 0),
    "elastic-integrations_test-guardduty.log.jsonl": (5, 5, 0),
}


def _findings(path: Path) -> Iterator[tuple[dict[str, Any], Alert | QuarantinedRecord]]:
    """Each raw finding with what tierzero made of it, envelopes opened (line N's records
    are the results numbered N, in order)."""
    results = normalize(path)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        found = [r for r in results if _record_no(r) == number]
        raws = raw["findings"] if set(raw) == {"findings"} else [raw]
        assert len(found) == len(raws), f"line {number}"
        yield from zip(raws, found, strict=True)


def _record_no(item: Alert | QuarantinedRecord) -> int:
    return item.provenance.record_no if isinstance(item, Alert) else item.record_no


def _dig(obj: Any, *path: str) -> Any:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj


def _specified(ip: Any) -> bool:
    return isinstance(ip, str) and not ipaddress.ip_address(ip).is_unspecified


def _files(corpora: Path) -> list[Path]:
    files = sample_files(corpora, "guardduty")
    assert {f.name for f in files} == set(TOTALS)
    return files


def test_totals(corpora: Path) -> None:
    for path in _files(corpora):
        pairs = list(_findings(path))
        alerts = [r for _, r in pairs if isinstance(r, Alert)]
        assert (len(pairs), len(alerts), len(pairs) - len(alerts)) == TOTALS[path.name]


def test_identity_time_severity_tactic_and_sample_flag(corpora: Path) -> None:
    for path in _files(corpora):
        for raw, result in _findings(path):
            assert isinstance(result, Alert), result
            assert result.provenance.source == "guardduty"
            assert result.source_alert_id == raw["id"]
            assert result.title == raw["title"]
            assert result.finding_info.analytic.uid == raw["type"]
            last_seen = raw["service"]["eventLastSeen"].replace("Z", "+00:00")
            assert result.time == datetime.fromisoformat(last_seen)
            severity, tactic = DERIVED[raw["id"]]
            assert result.severity_id is severity
            assert result.tactics == ((tactic,) if tactic else ())
            assert result.techniques == ()  # GuardDuty gives no technique ids
            sample = _dig(raw, "service", "additionalInfo", "sample") is True
            assert (FLAG_SAMPLE in result.flags) is sample
            assert result.cloud is not None and result.cloud.account_uid == raw["accountId"]


def test_entities(corpora: Path) -> None:
    for path in _files(corpora):
        for raw, result in _findings(path):
            assert isinstance(result, Alert)
            resource, service = raw["resource"], raw["service"]
            _instance(resource, result)
            _users(resource, service, result)
            _remote_ips(service, result)
            _cloud_resources(resource, result)
            _runtime(service, result)
            domain = _dig(service, "action", "dnsRequestAction", "domain")
            assert values(result, EntityKind.DOMAIN) == ({domain.casefold()} if domain else set())
            assert "0.0.0.0" not in values(result, EntityKind.IP)


def _instance(resource: dict[str, Any], alert: Alert) -> None:
    details = resource.get("instanceDetails")
    if details is None:
        assert alert.device is None
        return
    assert alert.device is not None and alert.device.uid == details["instanceId"]
    hosts, ips = set(), set()
    for nic in details["networkInterfaces"]:
        private, name = nic.get("privateIpAddress"), nic["privateDnsName"]
        if _specified(private):
            ips.add(private)
            # one sample's name went through a Markdown renderer ("[ip-10-…](https://…)"):
            # that is not a host name, and it is not taken for one
            if "[" not in name:
                hosts.add(name.casefold())
        if nic.get("publicIp"):
            ips.add(nic["publicIp"])
    assert values(alert, EntityKind.HOST) == hosts
    assert ips <= values(alert, EntityKind.IP)
    assert alert.device.ip == next(
        iter(ips & {n.get("privateIpAddress") for n in details["networkInterfaces"]}), None
    )


def _users(resource: dict[str, Any], service: dict[str, Any], alert: Alert) -> None:
    expected = {
        u.casefold()
        for u in (
            _dig(resource, "accessKeyDetails", "userName"),
            _dig(resource, "kubernetesDetails", "kubernetesUserDetails", "username"),
            _dig(resource, "rdsDbUserDetails", "user"),
            _dig(service, "runtimeDetails", "process", "user"),
        )
        if u
    }
    assert values(alert, EntityKind.USER) == expected
    actor = (
        _dig(resource, "accessKeyDetails", "userName")
        or _dig(resource, "kubernetesDetails", "kubernetesUserDetails", "username")
        or _dig(resource, "rdsDbUserDetails", "user")
    )
    assert (alert.actor.name if alert.actor else None) == actor


def _remote_ips(service: dict[str, Any], alert: Alert) -> None:
    action = service.get("action") or {}
    for kind, detail in action.items():
        remote = _dig(detail, "remoteIpDetails", "ipAddressV4")
        if not isinstance(detail, dict) or remote is None:
            continue
        if not _specified(remote):
            assert alert.dst_endpoint is None or alert.dst_endpoint.ip is None
            continue
        assert remote in values(alert, EntityKind.IP), kind
        outbound = detail.get("connectionDirection") == "OUTBOUND"
        endpoint = alert.dst_endpoint if outbound else alert.src_endpoint
        assert endpoint is not None and endpoint.ip == remote, kind


def _cloud_resources(resource: dict[str, Any], alert: Alert) -> None:
    expected = {
        _dig(resource, "instanceDetails", "instanceId"),
        _dig(resource, "accessKeyDetails", "accessKeyId"),
        _dig(resource, "eksClusterDetails", "name"),
        _dig(resource, "rdsDbInstanceDetails", "dbInstanceIdentifier"),
        _dig(resource, "rdsDbInstanceDetails", "dbClusterIdentifier"),
        _dig(resource, "containerDetails", "id"),
        *(b["name"] for b in resource.get("s3BucketDetails") or []),
    } - {None}
    assert {e.casefold() for e in expected} <= values(alert, EntityKind.CLOUD_RESOURCE)


def _runtime(service: dict[str, Any], alert: Alert) -> None:
    process = _dig(service, "runtimeDetails", "process")
    if process is None:
        assert alert.process is None and values(alert, EntityKind.HASH) == set()
        return
    assert alert.process is not None and alert.process.file is not None
    assert (alert.process.name, alert.process.pid) == (process["name"], process["pid"])
    assert alert.process.file.path == process["executablePath"]
    assert values(alert, EntityKind.HASH) == {process["executableSha256"].casefold()}
    assert values(alert, EntityKind.PROCESS) >= {process["name"].casefold()}
    # The parent is the lineage's nearest documented LineageObject (name, pid). The one runtime
    # sample writes its lineage as {ancestorName, ancestorPid}, keys no AWS document has:
    # no parent is made up from them.
    documented = [e for e in process.get("lineage") or [] if e.get("name")]
    parent = alert.process.parent_process
    assert (parent.name if parent else None) == (documented[0]["name"] if documented else None)
