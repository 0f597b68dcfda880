"""Reading ``../shared/corpora/vendor-samples`` in place for the per-format corpus tests.

Each test normalizes every file of its format through the real reader (as ``tierzero triage``
does) and checks the alerts against the raw JSON record by record. Nothing is copied here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tierzero.ingest.alert import Alert, EntityKind
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, read

# After every sample's own time, so none is refused as being from the future.
NOW = datetime(2026, 12, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Outcome:
    """One source record and what tierzero made of it."""

    raw: dict[str, Any] | None  # the record as the file holds it (None: not a JSON object)
    result: Alert | QuarantinedRecord

    @property
    def alert(self) -> Alert:
        assert isinstance(self.result, Alert), f"quarantined: {self.result}"
        return self.result


def sample_files(corpora: Path, fmt: str) -> list[Path]:
    """Every file of one format folder (``wazuh``, ``sentinel``, ...)."""
    folder = corpora / "vendor-samples" / fmt
    return sorted(p for p in folder.iterdir() if p.is_file())


def normalize(path: Path, source: str = "auto") -> list[QuarantinedRecord | Alert]:
    """What the reader makes of one file (``source`` as ``--source`` takes it)."""
    return list(read([path], IngestOptions(source=source), now=NOW))


def outcomes(path: Path, source: str = "auto") -> Iterator[Outcome]:
    """Each record of a JSON-lines sample file with its alert or quarantine entry.

    Only for files of one record per line, where line N is record N.
    """
    by_line = {
        r.provenance.record_no if isinstance(r, Alert) else r.record_no: r
        for r in normalize(path, source)
    }
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        raw = json.loads(line)
        yield Outcome(raw if isinstance(raw, dict) else None, by_line[number])


def values(alert: Alert, kind: EntityKind) -> set[str]:
    """An alert's observable values of one kind, compared case-insensitively."""
    return {v.casefold() for v in alert.values(kind)}
