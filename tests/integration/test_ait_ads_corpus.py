"""The AIT Alert Data Set (real Wazuh/Suricata/AMiner alerts) through the generic CSV mapping.

Labels (``time_label``) are never shown to triage; they are joined back here by record number
to measure how triage did. Figures are printed (``pytest -s``) for the issue notes.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.conftest import NOW, REPO
from tierzero.ingest.reader import IngestOptions
from tierzero.pipeline import triage
from tierzero.settings import Settings
from tierzero.store.sqlite import Store

MAPPING = REPO / "tests" / "data" / "ait_ads.mapping.yaml"
pytestmark = pytest.mark.corpus


def measure(csv_path: Path, db: Path) -> dict[str, object]:
    """Run the triage job and score it against the labels."""
    with csv_path.open(newline="") as handle:
        labels = {
            line_no: row["time_label"]
            for line_no, row in enumerate(csv.DictReader(handle), start=2)
        }
    store = Store(db)
    report = triage([csv_path], Settings.load(), store, IngestOptions(mapping=MAPPING), now=NOW)
    status = {row.id: row.status for row in store.cases()}
    rows = store.conn.execute("SELECT record_no, case_id FROM alerts").fetchall()
    store.close()
    fp_total = fp_closed = attack_total = attack_closed = 0
    phase_cases: dict[str, set[str]] = defaultdict(set)
    for record_no, case_id in rows:
        label = labels[record_no]
        if label == "false_positive":
            fp_total += 1
            fp_closed += status[case_id] in ("auto_closed", "closed")
        else:
            phase_cases[label].add(case_id)
            attack_total += 1
            attack_closed += status[case_id] in ("auto_closed", "closed")
    return {
        "rows": len(labels),
        "alerts_in": report.counts.alerts_in,
        "normalized": report.counts.normalized,
        "quarantined": report.counts.quarantined,
        "cases": len(status),
        "statuses": Counter(status.values()),
        "fp_alerts": fp_total,
        "fp_auto_closed_share": fp_closed / fp_total if fp_total else 0.0,
        "attack_alerts": attack_total,
        "attack_auto_closed_share": attack_closed / attack_total if attack_total else 0.0,
        "phases_escalated": {
            phase: any(status[c] in ("escalated", "awaiting_approval") for c in cases)
            for phase, cases in sorted(phase_cases.items())
        },
    }


@pytest.mark.parametrize("scenario", ["russellmitchell", "shaw"])
def test_ait_ads_scenario(corpora: Path, tmp_path: Path, scenario: str) -> None:
    figures = measure(corpora / "ait-ads" / f"{scenario}_alerts.csv", tmp_path / "t.db")
    print(f"\nAIT-ADS {scenario}: {figures}")
    assert figures["alerts_in"] == figures["rows"]
    assert figures["alerts_in"] == figures["normalized"] + figures["quarantined"]
    assert figures["cases"] > 0
    # The worst error is closing an attack. Labels come from time windows, so some "attack"
    # alerts are routine detections that fired during the attack (e.g. mail-server logins);
    # still, nearly every phase must reach a case that stays open for a person.
    phases = figures["phases_escalated"]
    assert isinstance(phases, dict)
    assert sum(phases.values()) >= 0.8 * len(phases), phases
    # Triage must also take real work off people: a share of the noise is closed.
    assert figures["fp_auto_closed_share"] > 0.1
