"""Elastic Security alerts (``kibana.alert.*`` documents) from Kibana's 8.0.0 es_archive.

Every record of ``vendor-samples/elastic`` is read in place and checked against its own raw
JSON: the rule (name and rule_id as the analytic), ATT&CK from the rule's threat list, host name
and IPs, user, network peers, process and parent, file and hashes, what an indicator match
matched, severity and risk score, ``@timestamp`` as the alert time and
``kibana.alert.original_time`` as when the source event happened.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.samples import outcomes, sample_files, values
from tierzero.ingest.adapters.elastic import field
from tierzero.ingest.alert import Alert, EntityKind, Severity

pytestmark = pytest.mark.corpus

_WORDS = {
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
}


def _files(corpora: Path) -> list[Path]:
    files = sample_files(corpora, "elastic")
    assert files, "no Elastic samples"
    return files


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _host_ips(raw: dict[str, Any]) -> set[str]:
    out = set()
    for ip in _as_list(field(raw, "host.ip")):
        address = ipaddress.ip_address(ip)
        if not (address.is_loopback or address.is_link_local or address.is_unspecified):
            out.add(ip)
    return out


def _techniques(raw: dict[str, Any]) -> set[str]:
    out = set()
    for entry in _as_list(field(raw, "kibana.alert.rule.threat")):
        for tech in _as_list(entry.get("technique")):
            out.add(tech["id"])
            out |= {sub["id"] for sub in _as_list(tech.get("subtechnique"))}
    return out


def _check_rule_and_time(alert: Alert, raw: dict[str, Any]) -> None:
    assert alert.source_alert_id == raw["kibana.alert.uuid"]
    assert alert.title == raw["kibana.alert.rule.name"]
    analytic = alert.finding_info.analytic
    assert (analytic.uid, analytic.name) == (
        raw["kibana.alert.rule.rule_id"],
        raw["kibana.alert.rule.name"],
    )
    assert alert.finding_info.desc == raw.get("kibana.alert.rule.description")
    assert alert.message == raw.get("kibana.alert.reason")
    assert set(alert.techniques) == _techniques(raw)
    assert alert.severity_id == _WORDS[raw["kibana.alert.severity"]]
    assert alert.time == _time(raw["@timestamp"])
    assert alert.finding_info.first_seen_time == _time(raw["kibana.alert.original_time"])
    assert alert.flags == ()


def _check_entities(alert: Alert, raw: dict[str, Any]) -> None:
    hosts = {field(raw, "host.name"), field(raw, "host.hostname")} - {None}
    assert values(alert, EntityKind.HOST) == {h.casefold() for h in hosts}
    assert alert.device is not None
    assert alert.device.hostname == (field(raw, "host.hostname") or field(raw, "host.name"))
    assert alert.device.os == (field(raw, "host.os.full") or field(raw, "host.os.name"))
    peers = {field(raw, "source.ip"), field(raw, "destination.ip")} - {None}
    assert values(alert, EntityKind.IP) == _host_ips(raw) | peers
    assert alert.device.ip in _host_ips(raw)
    user = field(raw, "user.name")
    assert values(alert, EntityKind.USER) == ({user.casefold()} if user else set())
    hashes = {
        field(raw, f"{ecs}.hash.{algo}")
        for ecs in ("file", "process", "process.parent")
        for algo in ("sha256", "sha1", "md5")
    } - {None}
    assert values(alert, EntityKind.HASH) == hashes
    if field(raw, "cloud.provider"):
        assert alert.cloud is not None
        assert alert.cloud.provider == field(raw, "cloud.provider")
        assert alert.cloud.account_uid == field(raw, "cloud.account.id")


def _check_process(alert: Alert, raw: dict[str, Any]) -> None:
    if field(raw, "process") is None:
        assert alert.process is None
        return
    assert alert.process is not None
    assert alert.process.name == field(raw, "process.name")
    assert alert.process.cmd_line == field(raw, "process.command_line")
    executable = field(raw, "process.executable")
    if executable:
        assert alert.process.file is not None and alert.process.file.path == executable
    if field(raw, "process.parent.name"):
        assert alert.process.parent_process is not None
        assert alert.process.parent_process.name == field(raw, "process.parent.name")


def _check_indicator_matches(alert: Alert, raw: dict[str, Any]) -> None:
    for item in _as_list(field(raw, "threat.enrichments")):
        matched = item.get("matched", {})
        if matched.get("field") in ("host.name", "host.hostname"):
            assert matched["atomic"].casefold() in values(alert, EntityKind.HOST)


def test_every_record_is_an_alert_checked_against_its_raw_json(corpora: Path) -> None:
    checked = 0
    for path in _files(corpora):
        for outcome in outcomes(path):
            assert outcome.raw is not None
            alert = outcome.alert
            assert alert.provenance.source == "elastic"
            _check_rule_and_time(alert, outcome.raw)
            _check_entities(alert, outcome.raw)
            _check_process(alert, outcome.raw)
            _check_indicator_matches(alert, outcome.raw)
            checked += 1
    assert checked == 2


def test_two_alerts_of_one_rule_are_one_detection_on_two_hosts(corpora: Path) -> None:
    alerts = [o.alert for path in _files(corpora) for o in outcomes(path)]
    assert {a.detection_id for a in alerts} == {"elastic:f3d8da21-5340-40e1-a8ce-6dce11fb2fc4"}
    assert [a.device.hostname if a.device else None for a in alerts] == [
        "security-linux-1",
        "security-linux-3",
    ]
    # The 8.0 archive's alerts come from GCE hosts of one project.
    assert {(a.cloud.provider, a.cloud.account_uid) for a in alerts if a.cloud} == {
        ("gcp", "elastic-siem")
    }
