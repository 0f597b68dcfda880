"""A stream of distinct alerts to push at the service (its tests and benchmark).

Each record is the first CrowdStrike detection of ``examples/`` with its own detection id, one
of ``hosts`` host names and a time a few seconds after the previous one, so every record is a
new alert (never a duplicate: the numbers, not the times, make them unique) and the hosts
spread them over many cases.
"""

from __future__ import annotations

import json
from copy import deepcopy
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1] / "examples" / "crowdstrike_detections.jsonl"


def detection_lines(count: int, start: int = 0, hosts: int = 50) -> list[str]:
    """``count`` JSON lines, numbered from ``start`` (numbers are unique across calls)."""
    base = json.loads(TEMPLATE.read_text(encoding="utf-8").splitlines()[0])
    created = base["metadata"]["eventCreationTime"]
    lines = []
    for n in range(start, start + count):
        record = deepcopy(base)
        event = record["event"]
        sensor = f"{n % hosts:032x}"
        event["SensorId"] = sensor
        event["DetectId"] = f"ldt:{sensor}:{9_000_000_000 + n}"
        event["ComputerName"] = f"WS-BENCH-{n % hosts:03d}"
        # Two seconds apart, wrapping after 100,000 (2.3 days): never in the future.
        record["metadata"]["eventCreationTime"] = created + (n % 100_000) * 2000
        record["metadata"]["offset"] = n
        lines.append(json.dumps(record, separators=(",", ":")))
    return lines


def ids_of(answer: dict[str, object]) -> list[str]:
    """The alert ids an intake answer acknowledged (stored or duplicate)."""
    records = answer.get("records")
    assert isinstance(records, list)
    return [r["alert_id"] for r in records if r.get("status") in ("stored", "duplicate")]
