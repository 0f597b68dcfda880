"""The precision feed: measured detection precision written to ``detections.yaml``.

``tierzero metrics --write-precision`` (analysts' verdicts on live cases) and ``tierzero eval
--write-precision`` (labelled data) both write through :func:`write_precision`; the policy
loader merges the file into ``policy.detections.measured`` (``guardrails.policy``), for
detections measured on at least ``detections.min_samples`` alerts.

Detection ids come from alert fields, so they are attacker-influenced text: the file is always
produced by the YAML dumper (quoting whatever needs it, and escaping every non-ASCII or
control character), never by formatting strings, and it is validated by reading it back
before it replaces the old file.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import yaml

from tierzero.config import write_atomically
from tierzero.guardrails.policy import MeasuredPrecision

HEADER = (
    "# Written by tierzero (metrics --write-precision or eval --write-precision); edits are\n"
    "# overwritten on the next write. To pin a value, set it under detections.measured in\n"
    "# policy.yaml instead: that wins over this file.\n"
)


def measured_entries(
    figures: Mapping[str, tuple[float | None, int]],
) -> dict[str, dict[str, float | int]]:
    """``detections:`` of the file: detection id -> {precision, alerts}, sorted by id; those
    with no precision (nothing resolved, or too few samples) are left out."""
    return {
        str(detection): {"precision": round(float(precision), 4), "alerts": int(alerts)}
        for detection, (precision, alerts) in sorted(figures.items())
        if precision is not None
    }


def write_precision(
    path: Path,
    figures: Mapping[str, tuple[float | None, int]],
    source: str,
    now: datetime,
) -> int:
    """Write ``detections.yaml`` atomically (temporary file in the same folder, then replace);
    returns how many detections were written (those whose precision is None are skipped).

    The document is checked by loading it back into the policy's model before it replaces the
    old file, so a reader never sees a half-written or unreadable file.
    """
    entries = measured_entries(figures)
    document = {
        "source": source,
        "written_at": now.astimezone(UTC).isoformat(timespec="seconds"),
        "detections": entries,
    }
    text = HEADER + yaml.safe_dump(
        document, sort_keys=False, default_flow_style=None, allow_unicode=False, width=100
    )
    checked = MeasuredPrecision.model_validate(yaml.safe_load(text))
    if {k: v.precision for k, v in checked.detections.items()} != {
        k: v["precision"] for k, v in entries.items()
    }:
        raise ValueError("the precision file does not read back as written")
    write_atomically(path, text)
    return len(checked.detections)
