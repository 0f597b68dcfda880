"""Suricata EVE JSON ``alert`` events (eve.json, one event per line).

Schema: Suricata docs, "EVE JSON Format" (output/eve/eve-json-format). Alert priority 1 is the
most severe. Emerging Threats rules carry ATT&CK ids in ``alert.metadata.mitre_*`` lists.

The EVE mapping (:func:`read_eve`) is shared with the Wazuh adapter: Wazuh's stock Suricata
integration decodes eve.json with its ``json`` decoder and puts the same fields under ``data``,
with every number written as text (``"src_port": "5555"``, ``"severity": "1"``; numbers past
the 32-bit range as ``"1919694863174708.000000"``), so every reader here accepts both.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from tierzero.ingest.alert import Alert, Analytic, Attack, Endpoint, EntityKind, Severity
from tierzero.ingest.base import (
    Observables,
    ParseContext,
    RecordRejected,
    build_alert,
    get,
    is_ip,
    parse_time,
    require,
    technique,
    text,
)

# Suricata (and Snort) rule priority, from classification.config: 1 is the most severe; 4 is
# used by a few low-value classtypes (e.g. tcp-connection) and reads as low.
PRIORITY_SEVERITY = {1: Severity.HIGH, 2: Severity.MEDIUM, 3: Severity.LOW, 4: Severity.LOW}
# A whole number as JSON writes it or as Wazuh's decoder re-writes it ("80", "1234.000000").
_WHOLE = re.compile(r"^\s*(\d{1,20})(?:\.0*)?\s*$")


@dataclass(frozen=True)
class Eve:
    """What one EVE event says, in tierzero's terms (its observables go to the caller's
    :class:`Observables`). ``src`` is the flow's client and ``dst`` its server (OCSF's
    initiator and responder), whichever way the packet that raised the alert was going."""

    src: Endpoint | None
    dst: Endpoint | None
    signature: str | None
    signature_id: str | None
    category: str | None
    priority: int | None  # alert.severity as written (1 is the most severe)
    severity: Severity | None  # that priority as OCSF severity; None when absent or not 1-4
    attacks: tuple[Attack, ...]
    flow_id: str | None


class SuricataAdapter:
    """Suricata EVE ``event_type: alert`` records."""

    name: ClassVar[str] = "suricata"
    vendor: ClassVar[str] = "OISF"
    product: ClassVar[str] = "Suricata"

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "event_type" in record and "src_ip" in record and "timestamp" in record

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        if record.get("event_type") != "alert":
            raise RecordRejected(
                f"Suricata event_type {str(record.get('event_type'))[:40]!r} is not an alert"
            )
        alert = require(record, "alert")
        if not isinstance(alert, Mapping):
            raise RecordRejected("field 'alert' should be an object")
        signature = text(require(record, "alert.signature"), "alert.signature")
        time = parse_time(require(record, "timestamp"), "timestamp")
        obs = Observables()
        eve = read_eve(record, obs)

        # Suricata has no alert id; flow id + rule + time identifies one alert of one flow.
        uid = (
            f"{eve.flow_id}:{eve.signature_id}:{record['timestamp']}"
            if eve.flow_id
            else hashlib.sha256(context.raw.encode()).hexdigest()[:24]
        )
        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=signature,
            time=time,
            # anything odd in alert.severity reads as the lowest priority
            severity=eve.severity or Severity.LOW,
            observables=obs,
            original_time=record.get("timestamp"),
            message=eve.category,
            src_endpoint=eve.src,
            dst_endpoint=eve.dst,
            finding_analytic=Analytic(uid=eve.signature_id, name=signature),
            finding_types=tuple(t for t in [eve.category] if t),
            finding_attacks=eve.attacks,
        )


def read_eve(eve: Mapping[str, Any], obs: Observables, where: str = "") -> Eve:
    """Map one EVE event (native, or decoded by Wazuh with ``where="data."``): endpoints,
    names, URL, user agent, file hash, and the alert's signature, priority and ATT&CK ids.

    ``where`` prefixes field names in refusal reasons so they name the field as the record
    holds it. Only ``alert`` events carry a signature; other event types still give entities.
    """
    alert = eve.get("alert")
    alert = alert if isinstance(alert, Mapping) else {}
    (client_ip, client_port), (server_ip, server_port) = _client_server(eve, where)
    obs.add(EntityKind.IP, client_ip, "src_endpoint.ip")
    obs.add(EntityKind.IP, server_ip, "dst_endpoint.ip")
    server_name = _names(eve, obs, where)
    return Eve(
        src=_endpoint(client_ip, client_port),
        dst=_endpoint(server_ip, server_port, server_name),
        signature=text(alert.get("signature"), f"{where}alert.signature"),
        signature_id=_whole_text(alert.get("signature_id"), f"{where}alert.signature_id"),
        category=text(alert.get("category"), f"{where}alert.category"),
        priority=_whole(alert.get("severity")),
        severity=priority_severity(alert.get("severity")),
        attacks=_attacks(alert.get("metadata")),
        flow_id=_whole_text(eve.get("flow_id"), f"{where}flow_id"),
    )


def priority_severity(value: Any) -> Severity | None:
    """Suricata/Snort rule priority (1 high .. 3/4 low) as OCSF severity, None if not one."""
    number = _whole(value)
    return PRIORITY_SEVERITY.get(number) if number is not None else None


def split_host_port(value: str | None) -> tuple[str | None, int | None]:
    """An address as logs write it: ``10.0.0.1``, ``10.0.0.1:80``, ``[2001:db8::1]:80`` or a
    bare IPv6 address; an IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is the IPv4 one.
    Anything else is no address. A bare IPv6 address is never split: its last group could
    be a port or part of the address, and only brackets say which."""
    if not value:
        return None, None
    if is_ip(value):
        return _plain_ip(value), None
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?", value) or re.fullmatch(
        r"(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})", value
    )
    if match is None or not is_ip(match[1]):
        return None, None
    return _plain_ip(match[1]), _port(match[2])


def _plain_ip(value: str) -> str:
    address = ipaddress.ip_address(value)
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return str(mapped) if mapped else value


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None  # JSON true is an int to Python
    if isinstance(value, int):
        return value
    match = _WHOLE.match(value) if isinstance(value, str) else None
    return int(match[1]) if match else None


def _whole_text(value: Any, field_name: str) -> str | None:
    """An id as text; Wazuh's ``"1234.000000"`` is the id 1234."""
    number = _whole(value)
    return str(number) if number is not None else text(value, field_name)


def _port(value: Any) -> int | None:
    number = _whole(value)
    return number if number is not None and 0 <= number <= 65535 else None


def _ip(value: Any, field_name: str) -> str | None:
    address = text(value, field_name)
    return _plain_ip(address) if address and is_ip(address) else None


_Address = tuple[str | None, int | None]


def _client_server(eve: Mapping[str, Any], where: str) -> tuple[_Address, _Address]:
    """Client and server of the flow. EVE gives the alerting packet's addresses; since
    Suricata 7 an alert also says ``direction`` and the flow's own ``flow.src_ip`` (the
    client). A ``to_client`` alert's packet came from the server, so it is turned round:
    otherwise the HTTP host or TLS name (the server's) would land on the client."""
    src_ip = _ip(eve.get("src_ip"), f"{where}src_ip")
    dest_ip = _ip(eve.get("dest_ip"), f"{where}dest_ip")
    src = (src_ip, _port(eve.get("src_port")))
    dest = (dest_ip, _port(eve.get("dest_port")))
    return (dest, src) if _server_to_client(eve, src_ip, dest_ip, where) else (src, dest)


def _server_to_client(
    eve: Mapping[str, Any], src_ip: str | None, dest_ip: str | None, where: str
) -> bool:
    flow = eve.get("flow")
    flow = flow if isinstance(flow, Mapping) else {}
    client = _ip(flow.get("src_ip"), f"{where}flow.src_ip")
    server = _ip(flow.get("dest_ip"), f"{where}flow.dest_ip")
    if client and server and client != server and {client, server} == {src_ip, dest_ip}:
        return client == dest_ip
    return eve.get("direction") == "to_client"


def _endpoint(ip: str | None, port: int | None, domain: str | None = None) -> Endpoint | None:
    if not (ip or port is not None or domain):
        return None
    return Endpoint(ip=ip, port=port, domain=domain)


def _names(eve: Mapping[str, Any], obs: Observables, where: str) -> str | None:
    """Domains, URL, user agent and file hash; returns the server's name when it has one."""
    http_host = text(get(eve, "http.hostname"), f"{where}http.hostname")
    sni = text(get(eve, "tls.sni"), f"{where}tls.sni")
    obs.add(EntityKind.DOMAIN, http_host, "dst_endpoint.domain")
    obs.add(EntityKind.DOMAIN, sni, "dst_endpoint.domain")
    obs.add(EntityKind.DOMAIN, get(eve, "dns.rrname"), "query.hostname")
    queries = get(eve, "dns.query", [])
    for query in queries if isinstance(queries, list) else []:
        if isinstance(query, Mapping):
            obs.add(EntityKind.DOMAIN, query.get("rrname"), "query.hostname")
    url = text(get(eve, "http.url"), f"{where}http.url")
    if http_host and url:
        # A Host header's port is logged apart, as http_port ("Host: www.test.org:1337").
        port = _port(get(eve, "http.http_port"))
        host = f"[{http_host}]" if ":" in http_host and is_ip(http_host) else http_host
        host = f"{host}:{port}" if port is not None and port != 80 else host
        obs.add(EntityKind.URL, f"http://{host}{url}", "http_request.url.url_string")
    obs.add(EntityKind.USER_AGENT, get(eve, "http.http_user_agent"), "http_request.user_agent")
    obs.add(EntityKind.HASH, get(eve, "fileinfo.sha256"), "file.hashes.value")
    return next((n for n in (http_host, sni) if n and not is_ip(n)), None)


def _words(value: Any) -> Any:
    """ET metadata writes names as Application_Layer_Protocol."""
    return value.replace("_", " ") if isinstance(value, str) else value


def _attacks(metadata: Any) -> tuple[Attack, ...]:
    if not isinstance(metadata, Mapping):
        return ()
    ids = metadata.get("mitre_technique_id") or []
    names = metadata.get("mitre_technique_name") or []
    tactics = metadata.get("mitre_tactic_name") or []
    out = []
    for index, uid in enumerate(ids if isinstance(ids, list) else []):
        name = names[index] if isinstance(names, list) and index < len(names) else None
        tactic = tactics[index] if isinstance(tactics, list) and index < len(tactics) else None
        attack = technique(uid, _words(name), tactic)
        if attack:
            out.append(attack)
    return tuple(out)
