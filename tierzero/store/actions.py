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

    def due(self) -> datetime | None:
        """When the approval request expires (None: no request). A stored value that is not
        a time tierzero writes (an edited row) is already past: approvals fail closed."""
        return None if self.approval_due is None else stored_time(self.approval_due)

    def decided(self) -> datetime:
        """When the row was decided (an unreadable value counts as the distant past)."""
        return stored_time(self.decided_at)


# Which status may follow which. Everything else is refused, whatever a caller (or someone
# editing the database) wants: a denied, expired or rolled-back action never moves again.
NEXT_STATUS: dict[str, frozenset[str]] = {
    "allowed": frozenset({"executing", "pending_approval", "denied"}),
    "pending_approval": frozenset({"approved", "denied", "expired"}),
    "approved": frozenset({"executing", "denied"}),
    # executing -> executing: a run resumed after a crash starts the (idempotent) call again.
    "executing": frozenset({"executing", "executed", "failed"}),
    "executed": frozenset({"rolled_back", "expired"}),
    "denied": frozenset(),
    "expired": frozenset(),
    "rolled_back": frozenset(),
    "failed": frozenset(),
}


class ActionConflict(RuntimeError):
    """The action is no longer in the status the change expected: someone else (another
    process, another answer) changed it first, or the change is not a permitted one."""

    def __init__(self, action_id: int, expected: str, actual: str | None, wanted: str) -> None:
        self.action_id = action_id
        self.expected = expected
        self.actual = actual
        self.wanted = wanted
        if actual is None:
            why = f"action {action_id} does not exist"
        elif actual != expected:
            why = f"action {action_id} is {actual} now, not {expected}: it was changed first"
        else:
            why = f"action {action_id} cannot go from {actual} to {wanted}"
        super().__init__(why)


class ActionLog:
    """Action rows on the store's connection; callers pass the store's ``transaction``.

    Every change is compare-and-set: the row's expected status is in the UPDATE's WHERE clause
    and the row count is checked, in the same transaction as its audit record, so of two
    concurrent changes of one action exactly one happens and the other raises
    :class:`ActionConflict` (and writes nothing).
    """

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

        The new row is written to the audit whole (payload ``row``) in the same transaction:
        an ``approval`` request when it waits for a person, an ``action`` record otherwise.
        """
        with self.transaction() as conn:
            existing = self.get_by_key(key)
            if existing is not None:
                return existing
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
            waiting = status == "pending_approval"
            chain.append(
                conn,
                kind="approval" if waiting else "action",
                actor=requested_by if waiting else "act",
                case_id=case_id,
                ts=now,
                payload={
                    "phase": "requested" if waiting else "recorded",
                    "action": action,
                    "target": target,
                    "action_hash": key,
                    "rule_id": rule_id,
                    "reason": reason,
                    "due": row.approval_due,
                    "row": row.as_json(),
                },
            )
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
        """Change a row from the status it was read with to ``status``, with its audit record,
        atomically; :class:`ActionConflict` (nothing written) if it changed meanwhile."""
        with self.transaction() as conn:
            return self.change(
                conn, row, status, kind=kind, actor=actor, now=now, payload=payload, **columns
            )

    def change(
        self,
        conn: sqlite3.Connection,
        row: ActionRow,
        status: ActionStatus,
        *,
        kind: chain.AuditKind,
        actor: str,
        now: datetime,
        payload: dict[str, Any],
        **columns: Any,
    ) -> ActionRow:
        """:meth:`transition` inside the caller's transaction (``conn``), for a caller that
        checks more in the same transaction (execution re-checks the guard)."""
        if status not in NEXT_STATUS.get(row.status, frozenset()):
            raise ActionConflict(row.id, row.status, row.status, status)
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
                "set": dict(columns),
                **payload,
            },
        )
        sets = ", ".join(f"{name} = ?" for name in ("status", *columns))
        changed = conn.execute(
            f"UPDATE actions SET {sets} WHERE id = ? AND status = ?",
            (status, *columns.values(), row.id, row.status),
        ).rowcount
        if changed != 1:
            current = self.get(row.id)
            # Raising rolls the caller's transaction back, the audit record with it.
            raise ActionConflict(row.id, row.status, current.status if current else None, status)
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

    def remind(self, row: ActionRow, now: datetime, escalate_to: str) -> bool:
        """Record (audited) that a pending approval passed the reminder point; False when it
        was answered or reminded meanwhile (nothing written)."""
        with self.transaction() as conn:
            changed = conn.execute(
                "UPDATE actions SET reminded = 1 WHERE id = ? AND status = 'pending_approval'"
                " AND reminded = 0",
                (row.id,),
            ).rowcount
            if changed != 1:
                return False
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
                    "from": row.status,
                    "to": row.status,
                    "set": {"reminded": 1},
                },
            )
        return True

    def answer_of(self, row: ActionRow) -> tuple[str, str] | None:
        """Who answered the approval request of this action and how: ``(actor, new status)``
        of the audited change out of ``pending_approval``, or None while nobody has."""
        found = self.conn.execute(
            "SELECT actor, json_extract(payload, '$.to') FROM audit WHERE case_id = ?"
            " AND kind = 'approval' AND json_extract(payload, '$.action_id') = ?"
            " AND json_extract(payload, '$.from') = 'pending_approval'"
            " AND json_extract(payload, '$.to') != 'pending_approval' ORDER BY seq LIMIT 1",
            (row.case_id, row.id),
        ).fetchone()
        return (str(found[0]), str(found[1])) if found else None

    def decided_since(self, since: datetime) -> list[ActionRow]:
        """Actions decided at or after ``since``, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM actions WHERE decided_at >= ? ORDER BY id", (ts(since),)
        )
        return [ActionRow(**dict(r)) for r in rows]

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


_LONG_AGO = datetime(1970, 1, 1, tzinfo=UTC)


def stored_time(text: str) -> datetime:
    """A stored time as an aware datetime; anything unreadable or without a zone (tierzero
    writes neither) is the distant past, so a deadline read from it has passed."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return _LONG_AGO
    return value if value.tzinfo is not None else _LONG_AGO


def ts(value: datetime) -> str:
    """One fixed text form for stored times, so they compare correctly as text."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")
