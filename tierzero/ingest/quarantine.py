"""Records that could not become alerts: kept with where they came from and why."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from tierzero.ingest.activity import IdentityActivity

# What is kept of an oversize record; its full size and digest are kept too.
MAX_QUARANTINED_RAW_CHARS = 64 * 1024


class QuarantinedRecord(BaseModel):
    """One rejected record. Nothing is dropped silently: every reject becomes one of these."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="Adapter name, or 'unknown' when no format matched")
    source_file: str
    record_no: int = Field(description="Line, row or list position; 0: the whole file, not read")
    reason: str
    raw: str = Field(description="The record as read (cut at 64 KiB; see raw_size/raw_sha256)")
    raw_size: int
    raw_sha256: str
    quarantined_at: datetime
    activity: IdentityActivity | None = Field(
        default=None,
        description="A routine identity event refused as an alert but kept as account context",
    )

    @property
    def key(self) -> str:
        """Identity for idempotent re-runs: same file (however it was named), position, bytes."""
        where = Path(self.source_file).resolve()
        return hashlib.sha256(
            f"{where}\x00{self.record_no}\x00{self.raw_sha256}".encode()
        ).hexdigest()[:24]


def quarantine(
    *,
    source: str,
    source_file: str,
    record_no: int,
    reason: str,
    raw: str,
    at: datetime,
    whole: tuple[int, str] | None = None,
    activity: IdentityActivity | None = None,
) -> QuarantinedRecord:
    """Build a quarantine entry, truncating the kept raw text of oversize records.

    ``whole`` is (size, SHA-256) of the full record when ``raw`` is only its beginning (the
    reader never holds an oversize record whole); otherwise both are computed from ``raw``.
    """
    if whole is None:
        encoded = raw.encode("utf-8", "surrogatepass")
        whole = len(encoded), hashlib.sha256(encoded).hexdigest()
    return QuarantinedRecord(
        source=source,
        source_file=source_file,
        record_no=record_no,
        reason=reason,
        raw=raw[:MAX_QUARANTINED_RAW_CHARS],
        raw_size=whole[0],
        raw_sha256=whole[1],
        quarantined_at=at,
        activity=activity,
    )
