"""``POST /api/alerts`` (issue 14): every body shape through the same adapters and quarantine
as ``tierzero triage``, counts that add up per request, limits with 413, idempotent retries,
and alerts that become analysed cases while the service runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW
from tests.integration.service_support import PUSHABLE, Running, running_service
from tierzero.ingest.alert import Alert
from tierzero.ingest.reader import IngestOptions, read


@pytest.fixture
def running(tmp_path: Path) -> object:
    with running_service(tmp_path / "t.db", workers=False) as service:
        yield service


def file_counts(path: Path) -> tuple[int, int]:
    """(normalized, quarantined) of a file read by the triage reader."""
    items = list(read([path], IngestOptions(), NOW))
    alerts = sum(isinstance(i, Alert) for i in items)
    return alerts, len(items) - alerts


@pytest.mark.parametrize("path", PUSHABLE, ids=lambda p: p.name)
def test_each_example_file_reads_as_triage_reads_it(running: Running, path: Path) -> None:
    answer = running.push(path.read_bytes())
    assert answer.status_code == 202
    body = answer.json()
    normalized, quarantined = file_counts(path)
    assert body["stored"] + body["duplicate"] == normalized
    assert body["quarantined"] == quarantined
    assert len(body["records"]) == normalized + quarantined
    for record in body["records"]:
        assert record["status"] in ("stored", "duplicate", "quarantined")
        assert ("reason" in record) == (record["status"] == "quarantined")


def test_mixed_good_and_bad_records_add_up_and_are_all_kept(running: Running) -> None:
    good = (EXAMPLES / "crowdstrike_detections.jsonl").read_text().splitlines()
    lines = [good[0], "{not json", good[1], '{"some": "other tool"}', "[1, 2]", good[0]]
    answer = running.push("\n".join(lines).encode())
    assert answer.status_code == 202
    body = answer.json()
    assert [r["status"] for r in body["records"]] == [
        "stored",
        "quarantined",
        "stored",
        "quarantined",
        "quarantined",
        "duplicate",
    ]
    assert (body["stored"], body["duplicate"], body["quarantined"]) == (2, 1, 3)
    assert "not valid JSON" in body["records"][1]["reason"]
    store = running.service.store()
    assert store.counts()["alerts"] == 2
    assert store.counts()["quarantined"] == 3  # nothing silently lost
    (audit,) = [r for r in store.audit_records() if r["kind"] == "intake"]
    assert audit["actor"] == "token:ingest"
    assert audit["payload"]["request_id"] == body["request_id"]
    assert (audit["payload"]["stored"], audit["payload"]["quarantined"]) == (2, 3)


def test_a_retry_with_the_same_key_is_a_no_op(running: Running) -> None:
    body = (EXAMPLES / "crowdstrike_detections.jsonl").read_bytes()
    first = running.push(body, **{"Idempotency-Key": "batch-0001"})
    again = running.push(body, **{"Idempotency-Key": "batch-0001"})
    assert first.status_code == again.status_code == 202
    assert again.json()["replayed"] is True
    assert again.json()["records"] == first.json()["records"]
    assert again.json()["request_id"] == first.json()["request_id"]
    store = running.service.store()
    assert len([r for r in store.audit_records() if r["kind"] == "intake"]) == 1
    # The same key with another body is refused; nothing is stored for it.
    other = running.push(b'{"x": 1}', **{"Idempotency-Key": "batch-0001"})
    assert other.status_code == 400 and "different body" in other.json()["error"]
    assert store.counts()["quarantined"] == 0
    # Without a key, a second push of the same alerts says duplicate.
    assert running.push(body).json()["duplicate"] == 5


def test_envelopes_and_eventbridge_events(running: Running) -> None:
    graph = json.loads((EXAMPLES / "defender_alerts_v2.json").read_text())
    assert "value" in graph
    answer = running.push(json.dumps(graph).encode()).json()
    assert answer["stored"] == len(graph["value"])
    findings = json.loads((EXAMPLES / "guardduty_findings.json").read_text())["Findings"]
    event = {
        "version": "0",
        "id": "6f3b1d2c-0000-4000-8000-000000000001",
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": "111122223333",
        "time": "2026-11-16T10:00:00Z",
        "region": "eu-central-1",
        "resources": [],
        "detail": findings[0],
    }
    answer = running.push(json.dumps(event).encode(), role="ingest").json()
    assert answer["stored"] == 1, answer


def test_a_named_source_reads_every_record_with_that_adapter(running: Running) -> None:
    body = (EXAMPLES / "suricata_eve.json").read_bytes()
    answer = running.client.post(
        "/api/alerts/crowdstrike", content=body, headers=running.as_role("ingest")
    )
    assert answer.status_code == 202
    assert answer.json()["stored"] == 0  # EVE records are not CrowdStrike detections
    unknown = running.client.post(
        "/api/alerts/splunk-ish", content=body, headers=running.as_role("ingest")
    )
    assert unknown.status_code == 400 and "unknown source" in unknown.json()["error"]


def test_over_size_bodies_and_too_many_records_get_413(tmp_path: Path) -> None:
    with running_service(
        tmp_path / "t.db", workers=False, max_body_bytes=4096, max_records=3
    ) as running:
        big = running.push(b"[" + b" " * 5000 + b"]")
        assert big.status_code == 413 and "4096" in big.json()["error"]
        four = "\n".join(json.dumps({"n": i}) for i in range(4)).encode()
        many = running.push(four)
        assert many.status_code == 413 and "more than 3 records" in many.json()["error"]
        assert running.service.store().counts()["quarantined"] == 0  # nothing half-stored
        assert running.push(four[: four.rindex(b"\n")]).status_code == 202


def test_pushed_alerts_become_analysed_cases(tmp_path: Path) -> None:
    with running_service(tmp_path / "t.db") as running:
        for path in PUSHABLE:
            assert running.push(path.read_bytes()).status_code == 202
        running.settle()
        cases = running.client.get("/api/cases", headers=running.as_role("analyst")).json()
        assert cases["total"] >= 3
        assert all(c["status"] != "new" and c["verdict"] for c in cases["cases"])
        by_priority = [c["priority"] for c in cases["cases"]]
        assert by_priority == sorted(by_priority)  # most urgent first
        health = running.client.get("/health").json()
        assert health["status"] == "ok"
        for name in ("correlate", "analyse-1", "analyse-2", "timers"):
            assert health[f"tierzero-{name}"]["failures"] == 0, name
        metrics = running.client.get("/metrics").text
        assert 'tierzero_queue_depth{kind="alerts_unassigned"} 0.0' in metrics
