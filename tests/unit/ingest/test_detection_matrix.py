"""``--source auto`` across every example file: each record goes to its own adapter, only."""

from __future__ import annotations

import pytest

from tests.conftest import EXAMPLES, NOW
from tierzero.ingest.alert import Alert
from tierzero.ingest.reader import read

EXPECTED = {
    "ocsf_detection_findings.json": "ocsf",
    "sentinel_securityalert.jsonl": "sentinel",
    "defender_alerts_v2.json": "defender",
    "crowdstrike_detections.jsonl": "crowdstrike",
    "guardduty_findings.json": "guardduty",
    "okta_system_log.jsonl": "okta",
    "elastic_alerts.ndjson": "elastic",
    "wazuh_alerts.json": "wazuh",
    "wazuh_dc_alerts.json": "wazuh",
    "suricata_eve.json": "suricata",
}


def test_every_example_file_is_listed() -> None:
    on_disk = {p.name for p in EXAMPLES.iterdir() if p.suffix in (".json", ".jsonl", ".ndjson")}
    assert on_disk - {"bad_records.jsonl"} == set(EXPECTED)


@pytest.mark.parametrize(("name", "source"), sorted(EXPECTED.items()))
def test_auto_detection_picks_exactly_one_adapter(name: str, source: str) -> None:
    items = list(read([EXAMPLES / name], now=NOW))
    assert items, name
    # An ambiguous or unrecognized record would be quarantined, not normalized.
    assert all(isinstance(i, Alert) for i in items), [getattr(i, "reason", "") for i in items]
    assert {i.provenance.source for i in items if isinstance(i, Alert)} == {source}
