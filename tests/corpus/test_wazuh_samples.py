"""Wazuh manager alerts (``vendor-samples/wazuh``; the one public sample is from Wazuh's own
integration tests).

Every record is read in place and checked against its own raw JSON, whatever decoder made its
``data``: the host (the agent, or the log's own host when the manager read it), source and
destination address and port (``srcip``/``dstip``, Snort's ``ip:port``, or a decoded Suricata
EVE event), users (one per account, without a decoder's ``<...>``), the rule as title and as
analytic (the Suricata signature for decoded EVE alerts), its level as a floor of the severity
and named in the description, ATT&CK ids and tactics, and the time. A refused record must say
why.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.samples import outcomes, sample_files, values
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.quarantine import QuarantinedRecord

pytestmark = pytest.mark.corpus

# Wazuh "Rules classification": the lowest level of each band.
_LEVELS = ((15, Severity.CRITICAL), (12, Severity.HIGH), (7, Severity.MEDIUM), (4, Severity.LOW))
_PRIORITY = {1: Severity.HIGH, 2: Severity.MEDIUM, 3: Severity.LOW, 4: Severity.LOW}


def _files(corpora: Path) -> list[Path]:
    files = sample_files(corpora, "wazuh")
    assert files, "no Wazuh samples"
    return files


def _level_severity(level: Any) -> Severity:
    return next((s for lower, s in _LEVELS if int(level) >= lower), Severity.INFORMATIONAL)


def _ip(value: str) -> str | None:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped) if mapped else value


def _address(value: str) -> tuple[str | None, int | None]:
    """What a decoder wrote as an address: bare, ``v4:port`` or ``[v6]:port``."""
    if _ip(value):
        return _ip(value), None
    host, _, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not (host and port.isdigit() and _ip(host)) or (":" in host and "[" not in value):
        return None, None
    return _ip(host), int(port) if int(port) <= 65535 else None


def _unwrapped(user: str) -> str:
    return user[1:-1].strip() if user[:1] + user[-1:] in ("<>", '""', "''") else user


def _is_eve(data: dict[str, Any]) -> bool:
    return isinstance(data.get("event_type"), str) and ("src_ip" in data or "dest_ip" in data)


def _check_host(alert: Alert, raw: dict[str, Any]) -> None:
    agent = raw.get("agent", {})
    logged = raw.get("predecoder", {}).get("hostname")
    computer = raw.get("data", {}).get("win", {}).get("system", {}).get("computer")
    # agent 000 is the manager: the event's own host is where it happened
    manager = agent.get("id") == "000"
    expected = (computer or logged or agent.get("name")) if manager else agent.get("name")
    if not expected:
        return
    assert alert.device is not None
    assert alert.device.hostname == expected
    assert alert.device.uid == agent.get("id")
    assert expected.casefold() in values(alert, EntityKind.HOST)


def _check_network(alert: Alert, data: dict[str, Any]) -> None:
    """Decoded addresses, ports split off; a decoded EVE event's own fields (the Suricata
    corpus test checks its orientation); never only the agent for network traffic."""
    if _is_eve(data):
        eve_ips = {_ip(str(data.get(k, ""))) for k in ("src_ip", "dest_ip")} - {None}
        assert values(alert, EntityKind.IP) >= eve_ips
        ends = {e.ip for e in (alert.src_endpoint, alert.dst_endpoint) if e}
        assert ends == eve_ips
        return
    for key, endpoint in (("src", alert.src_endpoint), ("dst", alert.dst_endpoint)):
        if not isinstance(data.get(f"{key}ip"), str):
            continue
        ip, port = _address(data[f"{key}ip"])
        if ip is None:
            assert endpoint is None or endpoint.ip is None
            continue
        assert endpoint is not None and endpoint.ip == ip
        assert ip in values(alert, EntityKind.IP)
        given = str(data.get(f"{key}port", ""))
        assert endpoint.port == (int(given) if given.isdigit() else port)


def _check_users(alert: Alert, data: dict[str, Any]) -> None:
    decoded = {
        _unwrapped(data[k]) for k in ("srcuser", "dstuser") if isinstance(data.get(k), str)
    } - {"", "-"}
    assert values(alert, EntityKind.USER) >= {u.casefold() for u in decoded}
    assert not any(u[:1] + u[-1:] == "<>" for u in values(alert, EntityKind.USER))
    if isinstance(data.get("srcuser"), str) and _unwrapped(data["srcuser"]) not in ("", "-"):
        assert alert.actor is not None and alert.actor.name
        assert _unwrapped(data["srcuser"]).casefold() in alert.actor.name.casefold()


def _check_rule(alert: Alert, raw: dict[str, Any]) -> None:
    rule, data = raw["rule"], raw.get("data", {})
    assert alert.title == rule["description"]
    signature = data.get("alert", {}).get("signature") if _is_eve(data) else None
    if signature:  # one catch-all rule (86601) for every signature: the signature detects
        sid = data["alert"].get("signature_id")
        assert alert.finding_info.analytic.name == signature
        assert alert.finding_info.analytic.uid == (f"suricata:{int(float(sid))}" if sid else None)
    elif "snort" not in (raw.get("decoder", {}).get("name"), raw.get("decoder", {}).get("parent")):
        assert alert.finding_info.analytic.uid == rule.get("id")
        assert alert.finding_info.analytic.name == rule["description"]
    floor = _level_severity(rule["level"])
    if signature and str(data["alert"].get("severity", "")).isdigit():
        floor = max(floor, _PRIORITY.get(int(data["alert"]["severity"]), floor))
        assert alert.severity_id == floor  # the higher of the level and the priority
    assert alert.severity_id >= floor
    assert alert.finding_info.desc is not None
    assert f"Wazuh rule {rule.get('id')} level {int(rule['level'])}" in alert.finding_info.desc
    assert set(alert.finding_info.types) >= set(rule.get("groups", []))
    mitre = rule.get("mitre", {})
    assert set(alert.techniques) >= set(mitre.get("id", []))
    assert set(alert.tactics) >= set(mitre.get("tactic", []))
    if len(mitre.get("technique", [])) == len(mitre.get("id", [])):
        names = {a.technique_name for a in alert.finding_info.attacks if a.technique_uid}
        assert names >= set(mitre.get("technique", []))


def _check(alert: Alert, raw: dict[str, Any]) -> None:
    assert alert.provenance.source == "wazuh"
    assert alert.source_alert_id == raw["id"]
    assert alert.time == datetime.strptime(raw["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z")
    assert alert.metadata.original_time == raw["timestamp"]
    assert alert.message == ((raw.get("full_log") or "").strip() or None)
    _check_host(alert, raw)
    _check_rule(alert, raw)
    _check_network(alert, raw.get("data", {}))
    _check_users(alert, raw.get("data", {}))


def test_every_wazuh_sample_record_matches_its_raw_alert(corpora: Path) -> None:
    normalized = 0
    for path in _files(corpora):
        for outcome in outcomes(path):
            if isinstance(outcome.result, QuarantinedRecord):
                assert outcome.result.reason  # refused, and says why
                continue
            assert outcome.raw is not None
            _check(outcome.alert, outcome.raw)
            normalized += 1
    assert normalized >= 1


def test_integratord_sshd_brute_force_alert(corpora: Path) -> None:
    """The public sample, pinned: the manager's own sshd log (agent 000, host 'localhost')."""
    path = corpora / "vendor-samples" / "wazuh" / "wazuh-integratord-test-alert.jsonl"
    if not path.is_file():
        pytest.skip("sample not present")
    (alert,) = [o.alert for o in outcomes(path)]
    assert alert.device is not None and alert.device.hostname == "localhost"
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.port) == ("172.17.1.1", 56404)
    assert alert.actor is not None and alert.actor.name == "paco"
    assert alert.values(EntityKind.USER) == ("paco",)
    assert alert.severity_id is Severity.MEDIUM  # level 10
    assert alert.techniques == ("T1110",) and alert.tactics == ("Credential Access",)
    assert alert.finding_info.analytic.uid == "5712"
