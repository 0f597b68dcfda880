"""Suricata EVE alerts (``vendor-samples/suricata``; the public samples are the OISF user
guide's two complete alerts).

Every record is read in place and checked against its own raw JSON: the flow's client and
server (address and port; Suricata 7's ``flow`` and ``direction`` say which way the alerting
packet went), HTTP host and URL, the signature as title and analytic, the category, the
priority as severity, ATT&CK ids, the flow id in the alert id, and the time with its offset.
Only non-alert events may be refused, and each says why.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.samples import outcomes, sample_files, values
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.quarantine import QuarantinedRecord

pytestmark = pytest.mark.corpus

# Rule priority (classification.config): 1 is the most severe; anything else reads as low.
_PRIORITY = {1: Severity.HIGH, 2: Severity.MEDIUM, 3: Severity.LOW, 4: Severity.LOW}


def _files(corpora: Path) -> list[Path]:
    files = sample_files(corpora, "suricata")
    assert files, "no Suricata samples"
    return files


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _client_server(raw: dict[str, Any]) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    packet_src = (raw.get("src_ip"), raw.get("src_port"))
    packet_dst = (raw.get("dest_ip"), raw.get("dest_port"))
    flow = raw.get("flow") or {}
    client, server = flow.get("src_ip"), flow.get("dest_ip")
    if client and client != server and {client, server} == {packet_src[0], packet_dst[0]}:
        turned = client == packet_dst[0]  # Suricata 7: the flow names its own client
    else:
        turned = raw.get("direction") == "to_client"
    return (packet_dst, packet_src) if turned else (packet_src, packet_dst)


def _check_network(alert: Alert, raw: dict[str, Any]) -> None:
    for (ip, port), endpoint in zip(
        _client_server(raw), (alert.src_endpoint, alert.dst_endpoint), strict=True
    ):
        if not _is_ip(ip):
            assert endpoint is None or endpoint.ip is None
            continue
        assert endpoint is not None
        assert (endpoint.ip, endpoint.port) == (ip, port)
        assert ip in values(alert, EntityKind.IP)


def _check_http(alert: Alert, raw: dict[str, Any]) -> None:
    http = raw.get("http") or {}
    host, url = http.get("hostname"), http.get("url")
    if not (host and url):
        assert values(alert, EntityKind.URL) == set()
        return
    port = http.get("http_port")
    authority = f"{host}:{port}" if port and port != 80 else host
    assert values(alert, EntityKind.URL) == {f"http://{authority}{url}".casefold()}
    # a bare address in the Host header is an IP, never a domain
    kind = EntityKind.IP if _is_ip(host) else EntityKind.DOMAIN
    assert host.casefold() in values(alert, kind)
    if not _is_ip(host) and alert.dst_endpoint is not None:
        assert alert.dst_endpoint.domain == host
    assert alert.src_endpoint is None or alert.src_endpoint.domain is None


def _check_alert(alert: Alert, raw: dict[str, Any]) -> None:
    rule = raw["alert"]
    assert alert.title == rule["signature"]
    sid = rule.get("signature_id")
    assert alert.finding_info.analytic.uid == (str(sid) if sid is not None else None)
    assert alert.finding_info.analytic.name == rule["signature"]
    category = rule.get("category") or None
    assert alert.finding_info.types == ((category,) if category else ())
    assert alert.message == category
    assert alert.severity_id is _PRIORITY.get(rule.get("severity"), Severity.LOW)
    ids = (rule.get("metadata") or {}).get("mitre_technique_id", [])
    assert set(alert.techniques) == set(ids)


def _check(alert: Alert, raw: dict[str, Any]) -> None:
    assert alert.provenance.source == "suricata"
    if raw.get("flow_id") is not None:
        assert alert.source_alert_id == (
            f"{raw['flow_id']}:{raw['alert'].get('signature_id')}:{raw['timestamp']}"
        )
    stamp = datetime.strptime(raw["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert alert.time == stamp.astimezone(UTC)
    assert alert.metadata.original_time == raw["timestamp"]
    _check_alert(alert, raw)
    _check_network(alert, raw)
    _check_http(alert, raw)


def test_every_suricata_sample_record_matches_its_raw_event(corpora: Path) -> None:
    normalized = 0
    for path in _files(corpora):
        for outcome in outcomes(path):
            assert outcome.raw is not None
            if isinstance(outcome.result, QuarantinedRecord):
                assert outcome.raw.get("event_type") != "alert", outcome.result.reason
                assert "is not an alert" in outcome.result.reason
                continue
            _check(outcome.alert, outcome.raw)
            normalized += 1
    assert normalized >= 1


def test_user_guide_alerts_pinned(corpora: Path) -> None:
    """The two user-guide alerts: a +0100 time read as UTC, and a Suricata 7 alert on the
    server's reply (direction to_client) oriented as its flow, client to C2 server."""
    path = corpora / "vendor-samples" / "suricata" / "oisf-suricata-docs-eve-alerts.jsonl"
    if not path.is_file():
        pytest.skip("sample not present")
    post, stealer = [o.alert for o in outcomes(path)]
    assert post.time == datetime(2017, 4, 7, 21, 24, 37, 251547, tzinfo=UTC)
    assert post.severity_id is Severity.MEDIUM
    assert post.finding_info.analytic.uid == "2018358"
    assert stealer.src_endpoint is not None and stealer.dst_endpoint is not None
    assert (stealer.src_endpoint.ip, stealer.src_endpoint.port) == ("192.168.100.237", 49175)
    assert (stealer.dst_endpoint.ip, stealer.dst_endpoint.port) == ("142.11.240.191", 35361)
    assert stealer.severity_id is Severity.HIGH
    assert stealer.values(EntityKind.URL) == ("http://142.11.240.191:35361/",)
    assert stealer.finding_info.types == ("A Network Trojan was detected",)
