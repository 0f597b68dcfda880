"""Suricata EVE ``alert`` events, shaped like ``examples/suricata_eve.json``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from devtools.vendor_records.attack import tactic_of, technique_name
from devtools.vendor_records.common import Record, eve_time, number_of

# --------------------------------------------------------------------------------------------
# Suricata EVE alerts (examples/suricata_eve.json)
# --------------------------------------------------------------------------------------------


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
    """A Suricata ``alert`` event; ``extra`` adds protocol objects (http, tls, dns, smb, flow)."""
    metadata: Record = {
        "created_at": ["2024_03_05"],
        "updated_at": ["2026_10_01"],
        "signature_severity": [signature_severity],
    }
    if techniques:
        metadata.update(
            mitre_tactic_id=[tactic_of(t)[0] for t in techniques],
            mitre_tactic_name=[tactic_of(t)[1].replace(" ", "_") for t in techniques],
            mitre_technique_id=list(techniques),
            mitre_technique_name=[technique_name(t).replace(" ", "_") for t in techniques],
        )
    event: Record = {
        "timestamp": eve_time(at),
        "flow_id": number_of("flow", at, src, dst, dport, sid, low=10**15, high=2 * 10**15),
        "in_iface": "ens192",
        "event_type": "alert",
        "src_ip": src,
        "src_port": sport or number_of("sport", at, src, dst, low=32768, high=65000),
        "dest_ip": dst,
        "dest_port": dport,
        "proto": proto,
        "direction": "to_server",
        "alert": {
            "action": action,
            "gid": 1,
            "signature_id": sid,
            "rev": 1 + sid % 7,
            "signature": signature,
            "category": category,
            "severity": priority,
            "metadata": metadata,
        },
    }
    if app_proto:
        event["app_proto"] = app_proto
    event.update(extra or {})
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
