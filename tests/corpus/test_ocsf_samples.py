"""OCSF vendor samples (the OCSF project's own examples), each a pretty-printed document of
one record, checked against the raw JSON.

Two are Security Findings (2001), read as Detection Findings and flagged ``ocsf_class_2001``;
one is a Detection Finding from Security Hub's GuardDuty mapping with only ``*_time_dt`` times
in ``finding_info``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tierzero.ingest.adapters.ocsf import FLAG_CLASS_2001
from tierzero.ingest.alert import Alert, EntityKind, Severity

from .samples import normalize, sample_files, values

pytestmark = pytest.mark.corpus

FILES = {
    "ocsf-examples_falco-2001.ocsf.json",
    "ocsf-examples_qradar-offense-2001.ocsf.json",
    "ocsf-examples_sechub-guardduty.ocsf.json",
}


def _sample(corpora: Path, name: str) -> tuple[dict[str, Any], Alert]:
    path = next(p for p in sample_files(corpora, "ocsf") if p.name == name)
    raw = json.loads(path.read_text(encoding="utf-8"))
    (result,) = normalize(path)
    assert isinstance(result, Alert), result
    return raw, result


def _ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def test_every_sample_is_one_detection_finding(corpora: Path) -> None:
    """Records in 3, normalized 3, refused 0."""
    assert {p.name for p in sample_files(corpora, "ocsf")} == FILES
    for name in sorted(FILES):
        raw, alert = _sample(corpora, name)
        info = raw.get("finding_info") or raw["finding"]
        assert (alert.class_uid, alert.type_uid) == (2004, 200400 + raw["activity_id"])
        assert alert.source_alert_id == info["uid"]
        assert alert.title == info["title"].strip()
        assert alert.time == _ms(raw["time"])
        assert alert.metadata.product.name == raw["metadata"]["product"]["name"]
        assert (FLAG_CLASS_2001 in alert.flags) is (raw["class_uid"] == 2001)
        ips = {o["value"] for o in raw.get("observables", []) if o["type_id"] == 2}
        assert {ip.casefold() for ip in ips} <= values(alert, EntityKind.IP)
        assert alert.provenance.source == "ocsf"


def test_falco_security_finding(corpora: Path) -> None:
    raw, alert = _sample(corpora, "ocsf-examples_falco-2001.ocsf.json")
    assert alert.severity_id is Severity(raw["severity_id"])
    assert alert.finding_info.desc == raw["finding"]["desc"]
    assert alert.finding_info.types == tuple(raw["finding"]["types"])
    # Falco's host is an untyped observable named "hostname"; the other observables are its
    # output template's unfilled placeholders (value == name), which name nothing
    (host,) = [o["value"] for o in raw["observables"] if o["name"] == "hostname"]
    assert values(alert, EntityKind.HOST) == {host}
    assert alert.device is not None and alert.device.hostname == host
    placeholders = {o["value"] for o in raw["observables"] if o["value"] == o["name"]}
    assert not placeholders & {o.value for o in alert.observables}
    assert alert.process is None and alert.actor is None  # the record has neither


def test_qradar_offense(corpora: Path) -> None:
    raw, alert = _sample(corpora, "ocsf-examples_qradar-offense-2001.ocsf.json")
    assert "severity_id" not in raw and "type_uid" not in raw
    assert alert.severity_id is Severity.UNKNOWN  # not given: not guessed from risk_level
    assert alert.type_uid == 200401
    finding = raw["finding"]
    assert alert.finding_info.first_seen_time == _ms(finding["first_seen_time"])
    assert alert.finding_info.last_seen_time == _ms(finding["last_seen_time"])
    assert alert.finding_info.analytic.name == raw["analytic"]["name"]
    assert values(alert, EntityKind.IP) == {"99.99.99.99", "88.88.88.88", "77.77.77.77"}
    # "assigned_to" (type 21, User) is the analyst the offense is assigned to, not an entity
    assert values(alert, EntityKind.USER) == set()


def test_security_hub_guardduty_detection_finding(corpora: Path) -> None:
    raw, alert = _sample(corpora, "ocsf-examples_sechub-guardduty.ocsf.json")
    info = raw["finding_info"]
    assert alert.time == datetime.fromisoformat(raw["time_dt"])  # number and twin agree
    assert alert.flags == ()  # unmapped.Sample is "false"
    assert alert.severity_id is Severity.LOW
    assert alert.finding_info.first_seen_time == datetime.fromisoformat(info["first_seen_time_dt"])
    assert alert.finding_info.last_seen_time == datetime.fromisoformat(info["last_seen_time_dt"])
    assert alert.finding_info.src_url == info["src_url"]
    evidence = raw["evidences"][0]["src_endpoint"]
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.country) == (
        evidence["ip"],
        evidence["location"]["country"],
    )
    assert values(alert, EntityKind.CLOUD_RESOURCE) == {
        r["uid"].casefold() for r in raw["resources"]
    }
    assert alert.cloud is not None
    assert (alert.cloud.account_uid, alert.cloud.region) == (
        raw["cloud"]["account"]["uid"],
        raw["cloud"]["region"],
    )
    assert alert.techniques == ()  # Security Hub types are not ATT&CK ids
