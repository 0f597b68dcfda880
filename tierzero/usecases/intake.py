"""Alerts pushed to the service: read through the same adapters and quarantine as files, and
stored (committed) before the push is answered."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, InputError, read_body
from tierzero.settings import Settings
from tierzero.store.intake import IdempotencyConflict, IntakeAnswer
from tierzero.store.sqlite import Store
from tierzero.usecases.errors import Refused

MAX_KEY_CHARS = 200


class TooManyRecords(Refused):
    """A pushed request holds more records than ``service.max_records``."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"more than {limit} records in one request; split it (the limit is "
            "max_records in config/service.yaml)"
        )
        self.limit = limit


@dataclass(frozen=True)
class Push:
    """One pushed request: its body, the source it names (or "auto"), who pushed it."""

    body: bytes
    token: str
    source: str = "auto"
    key: str | None = None  # the Idempotency-Key header


def accept_push(push: Push, store: Store, settings: Settings, now: datetime) -> IntakeAnswer:
    """Read every record of ``push`` and store them in one transaction with the audit record
    and the answer. Raises ``Refused`` for an unknown source (the reader's own check), a bad
    idempotency key or one reused for another body, and ``TooManyRecords`` over the limit
    (nothing stored then)."""
    if push.key is not None and not (0 < len(push.key) <= MAX_KEY_CHARS and push.key.isprintable()):
        raise Refused(
            f"an idempotency key is 1 to {MAX_KEY_CHARS} printable characters", usage=True
        )
    request_id = "R-" + secrets.token_hex(8)
    options = IngestOptions(
        source=push.source, refuse_samples=settings.ingest.vendor_samples == "refuse"
    )
    limit = settings.service.max_records
    items: list[Alert | QuarantinedRecord] = []
    try:
        for item in read_body(push.body, f"api:{push.token}:{request_id}", options, now):
            items.append(item)
            if len(items) > limit:
                raise TooManyRecords(limit)
    except InputError as exc:
        raise Refused(str(exc), usage=True) from None
    try:
        return store.accept_intake(
            items,
            token=push.token,
            request_id=request_id,
            body_sha256=hashlib.sha256(push.body).hexdigest(),
            key=push.key,
            now=now,
        )
    except IdempotencyConflict as exc:
        raise Refused(str(exc), usage=True) from None
