"""OCSF Detection Findings from OCSF-native tools (``examples/ocsf_detection_findings.json``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from devtools.northwind import DOMAIN
from devtools.vendor_records.attack import PARENTS, parent_technique, tactic_of, technique_name
from devtools.vendor_records.common import (
    Record,
    digest,
    epoch_ms,
    iso_ms,
    level_word,
    number_of,
    sid_of,
    uuid_of,
)
from tierzero.tools.inventory import (
    Asset,
)

# --------------------------------------------------------------------------------------------
# OCSF Detection Findings from OCSF-native tools (examples/ocsf_detection_findings.json)
# --------------------------------------------------------------------------------------------

MAIL_GATEWAY = ("Harbor Mail Gateway", "Harbor Security", "8.4.2", "harbor-mgw")
DLP = ("Lighthouse DLP", "Lighthouse Data Protection", "5.2.0", "lighthouse-dlp")
CASB = ("Skyline CASB", "Skyline Networks", "3.9.1", "skyline-casb")


def ocsf_attacks(techniques: Sequence[str]) -> list[Record]:
    out = []
    for uid in techniques:
        tactic, tactic_name = tactic_of(uid)
        attack: Record = {"tactic": {"uid": tactic, "name": tactic_name}}
        if "." in uid:
            attack["technique"] = {
                "uid": parent_technique(uid),
                "name": PARENTS[parent_technique(uid)],
            }
            attack["sub_technique"] = {"uid": uid, "name": technique_name(uid)}
        else:
            attack["technique"] = {"uid": uid, "name": technique_name(uid)}
        out.append(attack)
    return out


def ocsf_email(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    sender_ip: str,
    urls: Sequence[str] = (),
    at: datetime,
) -> Record:
    """An ``evidences[]`` item for a mail: the message and the sending server."""
    domain = sender.split("@", 1)[1]
    return {
        "email": {
            "from": sender,
            "to": list(recipients),
            "subject": subject,
            "message_uid": f"<{at:%Y%m%d%H%M%S}.{digest(sender, subject, size=4)}@{domain}>",
            "x_originating_ip": [sender_ip],
            "urls": [
                {
                    "url_string": u,
                    "scheme": u.split(":", 1)[0],
                    "hostname": u.split("/")[2],
                    "path": "/" + u.split("/", 3)[-1],
                }
                for u in urls
            ],
        },
        "src_endpoint": {"ip": sender_ip, "hostname": f"mail.{domain}"},
    }


def ocsf_finding(
    at: datetime,
    *,
    product: tuple[str, str, str, str],
    title: str,
    desc: str,
    types: Sequence[str],
    analytic: tuple[str, str],
    techniques: Sequence[str],
    level: int,
    message: str,
    device: Asset | None = None,
    user: str | None = None,
    evidences: Sequence[Record] = (),
    observables: Sequence[tuple[str, int, str]] = (),
) -> Record:
    """A Detection Finding; ``observables`` are (name, type_id, value)."""
    name, vendor, version, product_uid = product
    uid = f"{product_uid.split('-')[0].upper()}-{at:%Y%m%d}-" + str(
        number_of("ocsf", title, at, json.dumps(evidences, sort_keys=True), low=1, high=999999)
    ).zfill(6)
    finding: Record = {
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": level,
        "severity": level_word(level).title(),
        "status_id": 1,
        "status": "New",
        "time": epoch_ms(at),
        "time_dt": iso_ms(at),
        "confidence_id": 3,
        "confidence": "High",
        "message": message,
        "metadata": {
            "version": "1.3.0",
            "product": {
                "name": name,
                "vendor_name": vendor,
                "version": version,
                "uid": product_uid,
            },
            "uid": uuid_of("ocsf-meta", uid),
            "original_time": iso_ms(at),
            "log_name": "detections",
            "logged_time": epoch_ms(at) + 900,
        },
        "finding_info": {
            "uid": uid,
            "title": title,
            "desc": desc,
            "types": list(types),
            "analytic": {"uid": analytic[0], "name": analytic[1], "type_id": 1, "type": "Rule"},
            "attacks": ocsf_attacks(techniques),
            "first_seen_time": epoch_ms(at) - 1300,
            "last_seen_time": epoch_ms(at) - 1300,
        },
        "observables": [{"name": n, "type_id": t, "value": v} for n, t, v in observables],
    }
    if device:
        finding["device"] = {
            "hostname": device.hostname,
            "ip": device.ips[0],
            "type_id": 3,
            "type": "Laptop",
            "os": {"name": device.os or "Windows 11", "type_id": 100, "type": "Windows"},
        }
    if user:
        finding["actor"] = {
            "user": {
                "name": f"{user}@{DOMAIN}",
                "email_addr": f"{user}@{DOMAIN}",
                "uid": sid_of(user),
            }
        }
    if evidences:
        finding["evidences"] = list(evidences)
    return finding
