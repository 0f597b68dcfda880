"""Vendor sample findings (issue 12): AWS's own generated samples are ingested flagged
``sample``, kept out of real cases and closed by a rule that says so; a config switch refuses
them instead. Read in place from ``../shared/corpora/vendor-samples/guardduty`` (two AWS
sample findings and one real one, from aws-samples/amazon-guardduty-automated-response-sample).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import REPO
from tierzero.cli import app

pytestmark = pytest.mark.corpus
runner = CliRunner()
SAMPLES = "guardduty/aws-samples-automated-response_events.jsonl"


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _is_sample(record: dict[str, Any]) -> bool:
    info = record.get("service", {}).get("additionalInfo", {})
    return info.get("sample") in (True, "true") or '"sample":true' in str(
        info.get("value", "")
    ).replace(" ", "")


def test_samples_are_ingested_flagged_alone_and_closed_saying_why(
    corpora: Path, tmp_path: Path
) -> None:
    path = corpora / "vendor-samples" / SAMPLES
    raw = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    samples = {r["id"] for r in raw if _is_sample(r)}
    assert 0 < len(samples) < len(raw)  # the file holds both kinds
    db = tmp_path / "t.db"
    report = cli("triage", str(path), "--db", str(db), "--json")
    assert report["quarantined"] == 0 and report["normalized"] == len(raw)
    cases = cli("cases", "list", "--db", str(db), "--json")
    for case in cases:
        held = set(case["alert_ids"])
        if held & samples:
            assert held <= samples and len(held) == 1  # never joined to anything
            assert case["status"] == "auto_closed"
            shown = cli("cases", "show", case["id"], "--db", str(db), "--json")
            assert "vendor-generated sample finding" in json.dumps(shown)
        else:
            assert case["status"] != "auto_closed"


def test_a_config_switch_refuses_samples_into_the_quarantine(corpora: Path, tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    (config / "ingest.yaml").write_text("vendor_samples: refuse\n")
    path = corpora / "vendor-samples" / SAMPLES
    db = tmp_path / "t.db"
    report = cli("triage", str(path), "--db", str(db), "--config", str(config), "--json")
    listed = cli("quarantine", "list", "--db", str(db), "--json")
    reasons = [q["reason"] for q in listed]
    assert report["quarantined"] == len(reasons) >= 1
    assert all(r.startswith("a vendor-generated sample finding") for r in reasons)
