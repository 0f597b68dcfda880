"""Suricata EVE JSON ``alert`` events (eve.json, one event per line).

Schema: Suricata docs, "EVE JSON Format" (output/eve/eve-json-format). Alert priority 1 is the
most severe. Emerging Threats rules carry ATT&CK ids in ``alert.metadata.mitre_*`` lists.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
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

_PRIORITY = {1: Severity.HIGH, 2: Severity.MEDIUM, 3: Severity.LOW}


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
        signature_id = text(get(record, "alert.signature_id"), "alert.signature_id")
        time = parse_time(require(record, "timestamp"), "timestamp")
        priority = get(record, "alert.severity", 3)
        if isinstance(priority, bool) or not isinstance(priority, int):
            priority = 3  # JSON true is an int to Python; anything odd is the lowest priority
        severity = _PRIORITY.get(priority, Severity.LOW)

        obs = Observables()
        src_ip, dest_ip = get(record, "src_ip"), get(record, "dest_ip")
        obs.add(EntityKind.IP, src_ip, "src_endpoint.ip")
        obs.add(EntityKind.IP, dest_ip, "dst_endpoint.ip")
        http_host = text(get(record, "http.hostname"), "http.hostname")
        sni = text(get(record, "tls.sni"), "tls.sni")
        obs.add(EntityKind.DOMAIN, http_host, "dst_endpoint.domain")
        obs.add(EntityKind.DOMAIN, sni, "dst_endpoint.domain")
        obs.add(EntityKind.DOMAIN, get(record, "dns.rrname"), "query.hostname")
        queries = get(record, "dns.query", [])
        for query in queries if isinstance(queries, list) else []:
            if isinstance(query, Mapping):
                obs.add(EntityKind.DOMAIN, query.get("rrname"), "query.hostname")
        server_name = next((n for n in (http_host, sni) if n and not is_ip(n)), None)
        url = get(record, "http.url")
        if http_host and url:
            obs.add(EntityKind.URL, f"http://{http_host}{url}", "http_request.url.url_string")
        obs.add(
            EntityKind.USER_AGENT, get(record, "http.http_user_agent"), "http_request.user_agent"
        )
        obs.add(EntityKind.HASH, get(record, "fileinfo.sha256"), "file.hashes.value")

        # Suricata has no alert id; flow id + rule + time identifies one alert of one flow.
        flow = text(get(record, "flow_id"), "flow_id")
        uid = (
            f"{flow}:{signature_id}:{record['timestamp']}"
            if flow
            else hashlib.sha256(context.raw.encode()).hexdigest()[:24]
        )
        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=signature,
            time=time,
            severity=severity,
            observables=obs,
            original_time=record.get("timestamp"),
            message=text(get(record, "alert.category"), "alert.category"),
            src_endpoint=Endpoint(ip=_ip(src_ip), port=_port(get(record, "src_port"))),
            dst_endpoint=Endpoint(
                ip=_ip(dest_ip), port=_port(get(record, "dest_port")), domain=server_name
            ),
            finding_analytic=Analytic(uid=signature_id, name=signature),
            finding_types=tuple(t for t in [text(get(record, "alert.category"))] if t),
            finding_attacks=_attacks(get(record, "alert.metadata", {})),
        )


def _port(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535
    return value if ok else None


def _ip(value: Any) -> str | None:
    address = text(value)
    return address if address and is_ip(address) else None


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
