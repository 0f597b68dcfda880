"""Alerts pushed to the service, stored in one transaction with their answer.

A pushed request is accepted only once it is committed: its alerts, its quarantined records,
its audit record and (with an idempotency key) the answer itself go in together, so an
acknowledged record survives the process being killed right after the answer, and a retried
request with the same key gets the first answer back and stores nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.store import audit as chain
from tierzero.store.alerts import AlertTables


class IdempotencyConflict(ValueError):
    """An idempotency key reused with a different body."""


@dataclass(frozen=True)
class IntakeAnswer:
    """The answer to one pushed request: per record, in order, what became of it."""

    request_id: str
    records: tuple[dict[str, Any], ...]
    replayed: bool = False  # the answer stored for an earlier request with the same key

    def count(self, status: str) -> int:
        return sum(1 for r in self.records if r["status"] == status)

    def as_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "stored": self.count("stored"),
            "duplicate": self.count("duplicate"),
            "quarantined": self.count("quarantined"),
            "replayed": self.replayed,
            "records": list(self.records),
        }


class IntakeTable(AlertTables):
    """The ``intake_requests`` table, and the one transaction that accepts a pushed request."""

    def accept_intake(
        self,
        items: Sequence[Alert | QuarantinedRecord],
        *,
        token: str,
        request_id: str,
        body_sha256: str,
        key: str | None,
        now: datetime,
    ) -> IntakeAnswer:
        """Store one request's records (``token`` names who pushed them) and audit it, all in
        one transaction; with ``key``, a request seen before is answered as it was then."""
        with self.transaction() as conn:
            if key is not None:
                earlier = conn.execute(
                    "SELECT body_sha256, response FROM intake_requests WHERE token = ? AND key = ?",
                    (token, key),
                ).fetchone()
                if earlier is not None:
                    if earlier["body_sha256"] != body_sha256:
                        raise IdempotencyConflict(
                            f"idempotency key {key!r} was used for a different body"
                        )
                    first = json.loads(earlier["response"])
                    return IntakeAnswer(first["request_id"], tuple(first["records"]), True)
            alerts = [i for i in items if isinstance(i, Alert)]
            fresh = self.insert_alerts(conn, alerts)
            self.insert_quarantined(conn, [i for i in items if not isinstance(i, Alert)])
            answer = IntakeAnswer(request_id, tuple(_statuses(items, fresh)))
            chain.append(
                conn,
                kind="intake",
                actor=f"token:{token}",
                case_id=None,
                ts=now,
                payload={
                    "request_id": request_id,
                    "body_sha256": body_sha256,
                    "stored": answer.count("stored"),
                    "duplicate": answer.count("duplicate"),
                    "quarantined": answer.count("quarantined"),
                },
            )
            if key is not None:
                conn.execute(
                    "INSERT INTO intake_requests VALUES (?,?,?,?,?)",
                    (token, key, body_sha256, json.dumps(answer.as_json()), now.isoformat()),
                )
            return answer


def _statuses(items: Sequence[Alert | QuarantinedRecord], fresh: set[str]) -> list[dict[str, Any]]:
    """Per record: stored (new now), duplicate (stored before, or earlier in this request),
    or quarantined with the reason."""
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items, start=1):
        if isinstance(item, Alert):
            new = item.id in fresh and item.id not in seen
            seen.add(item.id)
            status = "stored" if new else "duplicate"
            out.append({"record": index, "status": status, "alert_id": item.id})
        else:
            out.append({"record": index, "status": "quarantined", "reason": item.reason})
    return out
