"""Alerts arriving in a later run join the open cases of earlier runs, and re-analyse them."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import EXAMPLES, NOW
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.triage import triage


def test_later_alerts_join_the_earlier_case(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    for name in ("defender_alerts_v2.json", "crowdstrike_detections.jsonl"):
        shutil.copy(EXAMPLES / name, first / name)
    shutil.copy(EXAMPLES / "okta_system_log.jsonl", second / "okta_system_log.jsonl")
    settings = Settings.load()
    store = Store(tmp_path / "t.db")
    triage([first], settings, store, now=NOW)
    before = {row.id: row for row in store.cases()}
    (laptop_case,) = [
        r
        for r in before.values()
        if "LT-FIN-042" in (r.analysis or {}).get("enrichment", {}).get("assets", {})
    ]
    report = triage([second], settings, store, now=NOW)
    after = store.case(laptop_case.id)
    assert after is not None
    joined = {s.case_id for s in report.cases_analysed}
    assert laptop_case.id in joined, "Okta alerts for alice.martin joined the open case"
    assert after.alert_count > laptop_case.alert_count
    assert store.next_revision(laptop_case.id) == 3  # analysed twice
    assert after.analysis and after.analysis["analysis"]["verdict"] == "true_positive"
    store.close()
