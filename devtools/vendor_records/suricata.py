"""Suricata EVE ``alert`` events, shaped like ``examples/suricata_eve.json``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from devtools.vendor_records.attack import Mitre, mitre_of
from devtools.vendor_records.common import Record, eve_time, number_of


def eve_metadata(
    severity: str,
    mitre: Sequence[Mitre] = (),
    *,
    created: str = "2024_03_05",
    updated: str = "2026_10_01",
) -> Record:
    """An alert's ``metadata``: rule dates, ``signature_severity`` and its ATT&CK references.

    ``mitre_tactic_id`` is written only when every reference has a tactic id.
    """
    metadata: Record = {
        "created_at": [created],
        "updated_at": [updated],
        "signature_severity": [severity],
    }
    if mitre:
        if all(m.tactic_id for m in mitre):
            metadata["mitre_tactic_id"] = [m.tactic_id for m in mitre]
        metadata["mitre_technique_id"] = [m.technique_id for m in mitre]
        metadata["mitre_technique_name"] = [m.technique for m in mitre]
        metadata["mitre_tactic_name"] = [m.tactic for m in mitre]
    return metadata


def eve_alert(
    at: datetime,
    *,
    flow_id: int,
    src: str,
    sport: int,
    dst: str,
    dport: int,
    sid: int,
    rev: int,
    signature: str,
    category: str,
    priority: int,
    metadata: Record,
    proto: str = "TCP",
    app_proto: str | None = None,
    action: str = "allowed",
    extra: Record | None = None,
) -> Record:
    """A Suricata EVE ``alert`` event with every value given.

    ``extra`` adds the protocol objects (``http``, ``tls``, ``dns``, ``smb``, ``flow``) in its
    own order, after ``app_proto``.
    """
    event: Record = {
        "timestamp": eve_time(at),
        "flow_id": flow_id,
        "in_iface": "ens192",
        "event_type": "alert",
        "src_ip": src,
        "src_port": sport,
        "dest_ip": dst,
        "dest_port": dport,
        "proto": proto,
        "direction": "to_server",
        "alert": {
            "action": action,
            "gid": 1,
            "signature_id": sid,
            "rev": rev,
            "signature": signature,
            "category": category,
            "severity": priority,
            "metadata": metadata,
        },
    }
    if app_proto:
        event["app_proto"] = app_proto
    event.update(extra or {})
    return event


def _underscored(ref: Mitre) -> Mitre:
    """Suricata's rule metadata spells names with underscores (``Command_and_Control``)."""
    return ref._replace(
        technique=ref.technique.replace(" ", "_"), tactic=ref.tactic.replace(" ", "_")
    )


def suricata_alert(
    at: datetime,
    *,
    src: str,
    dst: str,
    dport: int,
    sid: int,
    signature: str,
    category: str,
    priority: int,
    techniques: Sequence[str] = (),
    sport: int | None = None,
    proto: str = "TCP",
    app_proto: str | None = None,
    extra: Record | None = None,
    action: str = "allowed",
    signature_severity: str = "Major",
) -> Record:
    """A Suricata ``alert`` event whose ids, ports and flow are digests of what it is about.

    ``extra`` adds protocol objects (http, tls, dns, smb, flow); without a ``flow`` one is made.
    """
    event = eve_alert(
        at,
        flow_id=number_of("flow", at, src, dst, dport, sid, low=10**15, high=2 * 10**15),
        src=src,
        sport=sport or number_of("sport", at, src, dst, low=32768, high=65000),
        dst=dst,
        dport=dport,
        sid=sid,
        rev=1 + sid % 7,
        signature=signature,
        category=category,
        priority=priority,
        metadata=eve_metadata(signature_severity, [_underscored(mitre_of(t)) for t in techniques]),
        proto=proto,
        app_proto=app_proto,
        action=action,
        extra=extra,
    )
    if "flow" not in event:
        size = number_of("bytes", at, src, low=300, high=9000)
        event["flow"] = {
            "pkts_toserver": 3 + size // 1400,
            "pkts_toclient": 2 + size // 3000,
            "bytes_toserver": size,
            "bytes_toclient": size // 2 + 60,
            "start": eve_time(at - timedelta(seconds=1)),
        }
    return event
