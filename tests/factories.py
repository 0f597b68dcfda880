"""Small builders for alerts in tests (real Alert objects, no adapters involved)."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

from tests.conftest import NOW
from tierzero.config import default_config_dir
from tierzero.ingest.alert import (
    Alert,
    Analytic,
    Attack,
    EntityKind,
    FindingInfo,
    Metadata,
    Observable,
    Product,
    Provenance,
    Severity,
    alert_id,
)

_SEQ = count(1)
T0 = NOW - timedelta(days=1)


def make_alert(
    *,
    minutes: float = 0.0,
    detection: str = "rule-1",
    title: str | None = None,
    severity: Severity = Severity.MEDIUM,
    hosts: tuple[str, ...] = (),
    users: tuple[str, ...] = (),
    ips: tuple[str, ...] = (),
    hashes: tuple[str, ...] = (),
    source: str = "test",
    uid: str | None = None,
    at: datetime | None = None,
    techniques: tuple[str, ...] = (),
) -> Alert:
    """An alert ``minutes`` after T0 with the given entities (hosts as device.hostname)."""
    uid = uid or f"src-{next(_SEQ)}"
    observables = [
        *(Observable(kind=EntityKind.HOST, value=h, name="device.hostname") for h in hosts),
        *(Observable(kind=EntityKind.USER, value=u, name="actor.user.name") for u in users),
        *(Observable(kind=EntityKind.IP, value=i, name="src_endpoint.ip") for i in ips),
        *(Observable(kind=EntityKind.HASH, value=h, name="file.hashes.value") for h in hashes),
    ]
    return Alert(
        id=alert_id(source, uid),
        time=at or T0 + timedelta(minutes=minutes),
        severity_id=severity,
        finding_info=FindingInfo(
            uid=uid,
            title=title or detection,
            analytic=Analytic(uid=detection, name=detection),
            attacks=tuple(Attack(technique_uid=t) for t in techniques),
        ),
        metadata=Metadata(product=Product(name="Test", vendor_name="tierzero tests")),
        observables=tuple(observables),
        raw_data="{}",
        provenance=Provenance(
            source=source, source_file="test.jsonl", record_no=1, ingested_at=NOW
        ),
    )


def edited_config(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the bundled config folder with one text edit in one file (which must apply)."""
    target = tmp_path / "config"
    shutil.copytree(default_config_dir(), target)
    path = target / file
    text = path.read_text()
    assert old in text, f"{file} has no {old!r}"
    path.write_text(text.replace(old, new))
    return target


def copy_store(source: Path, target: Path) -> Path:
    """A private copy of a store file (cases, actions, audit and the graph's checkpoints), made
    with SQLite's backup API so a store open elsewhere is copied consistently."""
    import sqlite3

    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return target
