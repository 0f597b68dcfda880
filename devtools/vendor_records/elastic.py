"""Elastic Security alerts, shaped like ``examples/elastic_alerts.ndjson``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from devtools.northwind import NETBIOS
from devtools.vendor_records.attack import any_name, parent_technique, tactic_of, technique_name
from devtools.vendor_records.common import Proc, Record, digest, iso_ms, number_of, sid_of, uuid_of
from tierzero.ingest.base import TACTICS
from tierzero.tools.inventory import (
    Asset,
)

# --------------------------------------------------------------------------------------------
# Elastic Security (examples/elastic_alerts.ndjson)
# --------------------------------------------------------------------------------------------


def _ecs_threat(techniques: Sequence[str]) -> list[Record]:
    """ECS ``threat`` entries: one per tactic, techniques with their sub-techniques nested."""
    by_tactic: dict[str, dict[str, list[str]]] = {}
    for uid in techniques:
        tactic = tactic_of(uid)[0]
        subs = by_tactic.setdefault(tactic, {}).setdefault(parent_technique(uid), [])
        if "." in uid:
            subs.append(uid)
    out = []
    for tactic, parents in by_tactic.items():
        out.append(
            {
                "framework": "MITRE ATT&CK",
                "tactic": {
                    "id": tactic,
                    "name": TACTICS[tactic],
                    "reference": f"https://attack.mitre.org/tactics/{tactic}/",
                },
                "technique": [
                    {
                        "id": parent,
                        "name": any_name(parent),
                        "reference": f"https://attack.mitre.org/techniques/{parent}/",
                        "subtechnique": [
                            {
                                "id": s,
                                "name": technique_name(s),
                                "reference": "https://attack.mitre.org/techniques/"
                                + s.replace(".", "/")
                                + "/",
                            }
                            for s in subs
                        ],
                    }
                    for parent, subs in parents.items()
                ],
            }
        )
    return out


def _ecs_process(proc: Proc, at: datetime, *, child: bool = True) -> Record:
    out: Record = {
        "name": proc.name,
        "pid": proc.pid(at),
        "executable": proc.path,
        "command_line": proc.cmd,
    }
    if proc.sha256:
        out["hash"] = {"sha256": proc.sha256}
    if child and proc.parent:
        out["parent"] = _ecs_process(proc.parent, at, child=False)
    return out


def elastic_alert(
    at: datetime,
    *,
    rule: str,
    description: str,
    level: int,
    techniques: Sequence[str],
    reason: str,
    host: Asset | None = None,
    user: str | None = None,
    process: Proc | None = None,
    file: tuple[str, str, str | None] | None = None,
    source: Record | None = None,
    destination: Record | None = None,
    dns: str | None = None,
    event: Record | None = None,
    rule_type: str = "eql",
    original: datetime | None = None,
) -> Record:
    """An Elastic Security detection alert; ``file`` is (name, path, sha256)."""
    word = ("low", "low", "medium", "high", "critical")[level - 1]
    risk = (21, 21, 47, 73, 99)[level - 1]
    rule_id = uuid_of("elastic-rule", rule)
    doc: Record = {
        "@timestamp": iso_ms(at),
        "kibana.alert.uuid": digest(
            "elastic",
            rule,
            at,
            host.hostname if host else "",
            user or "",
            process.cmd if process else "",
            size=64,
        ),
        "kibana.alert.original_time": iso_ms(original or at - timedelta(seconds=37)),
        "kibana.alert.reason": reason,
        "kibana.alert.status": "active",
        "kibana.alert.workflow_status": "open",
        "kibana.alert.depth": 1,
        "kibana.space_ids": ["default"],
        "kibana.version": "8.15.3",
        "event.kind": "signal",
        "kibana.alert.rule.name": rule,
        "kibana.alert.rule.rule_id": rule_id,
        "kibana.alert.rule.uuid": uuid_of("elastic-rule-uuid", rule),
        "kibana.alert.rule.description": description,
        "kibana.alert.rule.type": rule_type,
        "kibana.alert.rule.severity": word,
        "kibana.alert.rule.risk_score": risk,
        "kibana.alert.rule.threat": _ecs_threat(techniques),
        "kibana.alert.rule.tags": ["Domain: Endpoint", "Northwind"],
        "kibana.alert.rule.version": 3,
        "kibana.alert.severity": word,
        "kibana.alert.risk_score": risk,
        "event": event or {"kind": "signal"},
        "agent": {"type": "endpoint", "version": "8.15.3"},
    }
    doc["event"] = {k: v for k, v in doc["event"].items() if k != "kind"}
    if host:
        windows = (host.os or "").startswith("Windows")
        doc["host"] = {
            "name": host.hostname,
            "hostname": host.hostname,
            "id": uuid_of("elastic-host", host.hostname),
            "ip": list(host.ips),
            "os": {
                "name": "Windows" if windows else "Linux",
                "full": host.os,
                "family": "windows" if windows else "debian",
                "platform": "windows" if windows else "ubuntu",
                "type": "windows" if windows else "linux",
            },
        }
    if user:
        windows_user = host is None or (host.os or "").startswith("Windows")
        doc["user"] = (
            {"name": user, "domain": NETBIOS, "id": sid_of(user)}
            if windows_user
            else {"name": user, "id": str(number_of("uid", user, low=1000, high=2000))}
        )
    if process:
        doc["process"] = _ecs_process(process, at)
    if file:
        name, path, sha256 = file
        doc["file"] = {
            "name": name,
            "path": path,
            "extension": name.rsplit(".", 1)[-1] if "." in name else "",
        }
        if sha256:
            doc["file"]["hash"] = {"sha256": sha256}
    if source:
        doc["source"] = source
    if destination:
        doc["destination"] = destination
    if dns:
        doc["dns"] = {"question": {"name": dns}}
    return doc
