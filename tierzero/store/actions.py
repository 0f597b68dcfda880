"""The action log: every proposed action, its decision, execution, lease and rollback.

Each row is keyed by an idempotency key (the action hash: case + action + target), so a case
analysed twice, or a run resumed after a crash, never creates or executes an action twice.
Every state change is written with its audit record in one transaction; if the audit cannot be
written, the change (and so the execution) does not happen.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tierzero.store import audit as chain

ActionStatus = Literal[
    "allowed",
    "approved",
    "executing",
    "executed",
    "pending_approval",
    "denied",
    "expired",
    "rolled_back",
    "failed",
]


@dataclass(frozen=True)
class ActionRow:
    id: int
    idempotency_key: str
    case_id: str
    action: str
    action_class: str
    target: str
    status: ActionStatus
    rule_id: str
    reason: str
    requested_by: str
    approved_by: str | None
    decided_at: str
    executed_at: str | None
    expires_at: str | None
    result: str | None
    rolled_back_by: str | None
    rollback_reason: str | None
    approval_due: str | None
    reminded: int

    def as_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ActionLog:
    """Action rows on the store's connection; callers pass the store's ``transaction``."""

    def __init__(self, conn: sqlite3.Connection, transaction: Any) -> None:
        self.conn = conn
        self.transaction = transaction

    def record(
        self,
        *,
        key: str,
        case_id: str,
        action: str,
        action_class: str,
        target: str,
        status: ActionStatus,
        rule_id: str,
        reason: str,
        requested_by: str,
        now: datetime,
        approval_due: datetime | None = None,
    ) -> ActionRow:
        """The row for this exact action, created on first sight (later sightings keep it).

        A row created waiting for approval writes the approval request to the audit in the
        same transaction.
        """
        existing = self.get_by_key(key)
        if existing is not None:
            return existing
        with self.transaction() as conn:
            if status == "pending_approval":
                chain.append(
                    conn,
                    kind="approval",
                    actor=requested_by,
                    case_id=case_id,
                    ts=now,
                    payload={
                        "phase": "requested",
                        "action": action,
                        "target": target,
                        "action_hash": key,
                        "rule_id": rule_id,
                        "reason": reason,
                        "due": ts(approval_due) if approval_due else None,
                    },
                )
            conn.execute(
                "INSERT INTO actions (idempotency_key, case_id, action, action_class, target,"
                " status, rule_id, reason, requested_by, decided_at, approval_due)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    key,
                    case_id,
                    action,
                    action_class,
                    target,
                    status,
                    rule_id,
                    reason,
                    requested_by,
                    ts(now),
                    ts(approval_due) if approval_due else None,
                ),
            )
        row = self.get_by_key(key)
        assert row is not None
        return row

    def transition(
        self,
        row: ActionRow,
        status: ActionStatus,
        *,
        kind: chain.AuditKind,
        actor: str,
        now: datetime,
        payload: dict[str, Any],
        **columns: Any,
    ) -> ActionRow:
        """Change a row's status and write its audit record atomically (both or neither)."""
        sets = ", ".join(f"{name} = ?" for name in ("status", *columns))
        with self.transaction() as conn:
            chain.append(
                conn,
                kind=kind,
                actor=actor,
                case_id=row.case_id,
                ts=now,
                payload={
                    "action_id": row.id,
                    "action": row.action,
                    "target": row.target,
                    "from": row.status,
                    "to": status,
                    **payload,
                },
            )
            conn.execute(
                f"UPDATE actions SET {sets} WHERE id = ?", (status, *columns.values(), row.id)
            )
        updated = self.get(row.id)
        assert updated is not None
        return updated

    def get(self, action_id: int) -> ActionRow | None:
        row = self.conn.execute("SELECT * FROM actions WHERE id = ?", (action_id,)).fetchone()
        return ActionRow(**dict(row)) if row else None

    def get_by_key(self, key: str) -> ActionRow | None:
        row = self.conn.execute(
            "SELECT * FROM actions WHERE idempotency_key = ?", (key,)
        ).fetchone()
        return ActionRow(**dict(row)) if row else None

    def rows(self, case_id: str | None = None) -> list[ActionRow]:
        sql = "SELECT * FROM actions" + (" WHERE case_id = ?" if case_id else "") + " ORDER BY id"
        return [ActionRow(**dict(r)) for r in self.conn.execute(sql, (case_id,) if case_id else ())]

    def executed_since(self, action: str, since: datetime) -> int:
        """Executions of an action type since a time (rate limits)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM actions WHERE action = ? AND executed_at >= ?"
            " AND status IN ('executed', 'rolled_back', 'expired')",
            (action, ts(since)),
        ).fetchone()
        return int(row[0])

    def failures_since(self, action: str, since: datetime) -> int:
        """Failed executions of an action type since a time (circuit breakers)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM actions WHERE action = ? AND status = 'failed'"
            " AND executed_at >= ?",
            (action, ts(since)),
        ).fetchone()
        return int(row[0])

    def remind(self, row: ActionRow, now: datetime, escalate_to: str) -> None:
        """Record (audited) that a pending approval passed the reminder point."""
        with self.transaction() as conn:
            chain.append(
                conn,
                kind="approval",
                actor="approval-timer",
                case_id=row.case_id,
                ts=now,
                payload={
                    "action_id": row.id,
                    "phase": "reminder",
                    "due": row.approval_due,
                    "escalate_to": escalate_to,
                },
            )
            conn.execute("UPDATE actions SET reminded = 1 WHERE id = ?", (row.id,))

    def pending(self, case_id: str | None = None) -> list[ActionRow]:
        """Actions waiting for a person's approval."""
        return [r for r in self.rows(case_id) if r.status == "pending_approval"]

    def leases_due(self, now: datetime) -> list[ActionRow]:
        """Executed actions whose lease has run out."""
        rows = self.conn.execute(
            "SELECT * FROM actions WHERE status = 'executed' AND expires_at <= ? ORDER BY id",
            (ts(now),),
        )
        return [ActionRow(**dict(r)) for r in rows]


def ts(value: datetime) -> str:
    """One fixed text form for stored times, so they compare correctly as text."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")
