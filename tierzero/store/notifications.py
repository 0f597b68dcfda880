"""The service's outbox of notifications: queued once per (webhook, event), then delivered.

Queuing is idempotent (the key names the webhook and the event, such as
``soc-slack:approval_requested:12``), so an event is announced once however often it is seen,
across restarts. Each delivery attempt and its outcome is audited in the same transaction as
the row's change.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tierzero.store import audit as chain
from tierzero.store.connection import Connected

SYSTEM_ACTOR = "notifier"


@dataclass(frozen=True)
class Notification:
    id: int
    key: str
    webhook: str
    event: str
    case_id: str | None
    message: dict[str, Any]
    status: str
    attempts: int
    next_at: str
    last_error: str | None
    created_at: str
    delivered_at: str | None


@dataclass(frozen=True)
class Queued:
    """An event to announce through one webhook."""

    key: str
    webhook: str
    event: str
    case_id: str | None
    message: dict[str, Any]


class NotificationTable(Connected):
    """The ``notifications`` table."""

    def queue_notifications(self, items: Sequence[Queued], now: datetime) -> int:
        """Queue what is not queued yet; returns how many are new."""
        with self.transaction() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO notifications (key, webhook, event, case_id, message,"
                " next_at, created_at) VALUES (?,?,?,?,?,?,?)",
                [
                    (
                        q.key,
                        q.webhook,
                        q.event,
                        q.case_id,
                        json.dumps(q.message),
                        now.isoformat(),
                        now.isoformat(),
                    )
                    for q in items
                ],
            )
            return conn.total_changes - before

    def notifications_due(self, now: datetime, limit: int = 50) -> list[Notification]:
        rows = self.conn.execute(
            "SELECT * FROM notifications WHERE status = 'queued' AND next_at <= ?"
            " ORDER BY next_at, id LIMIT ?",
            (now.isoformat(), limit),
        )
        return [_row(r) for r in rows]

    def notifications(self, case_id: str | None = None) -> list[Notification]:
        where, values = (" WHERE case_id = ?", (case_id,)) if case_id else ("", ())
        rows = self.conn.execute(f"SELECT * FROM notifications{where} ORDER BY id", values)
        return [_row(r) for r in rows]

    def record_delivery(
        self,
        item: Notification,
        *,
        outcome: str,
        detail: str,
        now: datetime,
        retry_at: datetime | None,
    ) -> None:
        """One attempt's outcome ("delivered", "retry" with ``retry_at``, or "failed"), and
        its audit record, in one transaction."""
        status = {"delivered": "delivered", "retry": "queued", "failed": "failed"}[outcome]
        with self.transaction() as conn:
            conn.execute(
                "UPDATE notifications SET status = ?, attempts = attempts + 1, next_at = ?,"
                " last_error = ?, delivered_at = ? WHERE id = ?",
                (
                    status,
                    (retry_at or now).isoformat(),
                    None if outcome == "delivered" else detail,
                    now.isoformat() if outcome == "delivered" else None,
                    item.id,
                ),
            )
            chain.append(
                conn,
                kind="notification",
                actor=SYSTEM_ACTOR,
                case_id=item.case_id,
                ts=now,
                payload={
                    "webhook": item.webhook,
                    "event": item.event,
                    "key": item.key,
                    "attempt": item.attempts + 1,
                    "outcome": outcome,
                    "detail": detail[:300],
                },
            )


def _row(row: Any) -> Notification:
    values = dict(row)
    values["message"] = json.loads(values["message"])
    return Notification(**values)
