"""Many independent malware cases, each with automatic actions, for runs long enough to race.

Written for these tests (not real vendor data): ``count`` OCSF 1.3 Detection Findings, each
on its own corporate laptop running its own known-bad file, plus a copy of the default
configuration whose inventory knows the laptops and whose threat intelligence knows the
hashes. The malware playbook then concludes true_positive with confidence 0.95 on every case
and proposes ``isolate_host`` and ``block_hash``, which tier 1 allows: every case acts.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tierzero.config import default_config_dir

START = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def laptop(index: int) -> str:
    return f"LT-RACE-{index:04d}"


def file_hash(index: int) -> str:
    return hashlib.sha256(f"race-sample-{index}".encode()).hexdigest()


def finding(index: int, at: datetime) -> dict[str, object]:
    """One high-severity malware execution finding on laptop ``index``."""
    ms = int(at.timestamp() * 1000)
    return {
        "activity_id": 1,
        "category_uid": 2,
        "class_uid": 2004,
        "type_uid": 200401,
        "severity_id": 4,
        "status_id": 1,
        "time": ms,
        "message": f"Known-bad loader executed on {laptop(index)}",
        "metadata": {
            "version": "1.3.0",
            "product": {"name": "Race EDR", "vendor_name": "tierzero tests"},
            "uid": f"race-{index}",
        },
        "finding_info": {
            "uid": f"RACE-{index:06d}",
            "title": f"Known-bad loader executed on {laptop(index)}",
            "analytic": {"uid": "RACE-MAL-1", "name": "Known-bad loader", "type_id": 1},
            "attacks": [
                {
                    "tactic": {"uid": "TA0002", "name": "Execution"},
                    "technique": {"uid": "T1204", "name": "User Execution"},
                }
            ],
        },
        "device": {"hostname": laptop(index), "type_id": 2},
        "file": {
            "name": f"loader{index}.exe",
            "hashes": [{"algorithm_id": 3, "value": file_hash(index)}],
        },
    }


def write_many_cases(folder: Path, count: int) -> tuple[Path, Path]:
    """``(alerts folder, config folder)`` for ``count`` cases, alerts an hour apart."""
    alerts = folder / "alerts"
    config = folder / "config"
    alerts.mkdir(parents=True)
    shutil.copytree(default_config_dir(), config)
    findings = [finding(i, START + timedelta(hours=i)) for i in range(count)]
    (alerts / "race.ocsf.json").write_text(json.dumps(findings), encoding="utf-8")
    with (config / "inventory" / "assets.yaml").open("a", encoding="utf-8") as assets:
        for i in range(count):
            assets.write(
                f"  - {{hostname: {laptop(i)}, ips: [10.99.{i // 250}.{i % 250 + 1}],"
                " owner: it-ops, business_unit: IT, criticality: medium,"
                " environment: corporate, role: workstation}\n"
            )
    with (config / "inventory" / "threat_intel.csv").open("a", encoding="utf-8") as intel:
        for i in range(count):
            intel.write(f"{file_hash(i)},sha256,95,race-cti,loader sample {i}\n")
    return alerts, config
