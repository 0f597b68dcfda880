"""The embedded store: one SQLite file (WAL) for alerts, cases, joins and quarantine.

The LangGraph checkpointer lives in the same file (its own tables), through its own
connection. Alerts are facts and never change; a case row carries the analysis of the latest
graph run and a ``dirty`` flag that says new alerts arrived since.

:class:`Store` is the one object callers hold. Its table groups live in their own modules
(alerts, correlation, cases, resolutions, chat log; the action log as ``store.actions``);
this module opens the file and keeps the audit, the autonomy switch and the store's identity.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from tierzero.store import audit as chain
from tierzero.store.actions import ActionLog
from tierzero.store.case_claims import CaseClaims
from tierzero.store.cases import CaseTables
from tierzero.store.chat_log import ChatLog
from tierzero.store.console_sessions import ConsoleSessionTable
from tierzero.store.correlation import CorrelationTables
from tierzero.store.identity_activity import IdentityActivityTable
from tierzero.store.intake import IntakeTable
from tierzero.store.learning import SCHEMA as LEARNING_SCHEMA
from tierzero.store.notifications import NotificationTable
from tierzero.store.resolutions import ResolutionTable
from tierzero.store.schema import SCHEMA
from tierzero.store.tokens import TokenTable
from tierzero.store.writer import WriterLock

DEFAULT_DB = Path(".tierzero") / "tierzero.db"


class Store(
    IntakeTable,
    CorrelationTables,
    CaseTables,
    ResolutionTable,
    ChatLog,
    IdentityActivityTable,
    TokenTable,
    ConsoleSessionTable,
    NotificationTable,
):
    """SQLite persistence. Writes of one logical step happen in one transaction."""

    def __init__(self, path: Path = DEFAULT_DB, durable: bool = False) -> None:
        """Open (or create) the store. ``durable``: every commit is synced to disk before it
        returns (``synchronous=FULL``), so what the service acknowledged survives a power cut;
        otherwise commits survive a killed process but not an operating-system crash."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(SCHEMA)
        self.conn.executescript(LEARNING_SCHEMA)
        chain.install(self.conn)
        self.actions = ActionLog(self.conn, self.transaction)
        # One unit of work at a time across processes (see tierzero.store.writer).
        self.writer = WriterLock(path)
        # One analysis per case at a time (taken before the writer lock; see case_claims).
        self.claims = CaseClaims(path, lambda: self.writer.held)
        self._index_entities_once()

    def close(self) -> None:
        self.conn.close()

    def writing(self, unit: str, background: bool = False) -> AbstractContextManager[None]:
        """Hold the store's writer lock for one unit of work (reentrant; waits for another
        process's unit to finish, saying so once). A ``background`` unit (correlation, an
        analysis) lets this process's units that people and timers wait for go first."""
        return self.writer.hold(unit, background)

    def claim_case(self, case_id: str, wait: bool = True) -> AbstractContextManager[bool]:
        """Claim a case for one analysis (before the writer lock); with ``wait`` False the
        block gets False at once if another worker is analysing it."""
        return self.claims.claim(case_id, wait)

    def counts(self) -> dict[str, int]:
        one = self.conn.execute
        return {
            "alerts": one("SELECT COUNT(*) FROM alerts").fetchone()[0],
            "quarantined": one("SELECT COUNT(*) FROM quarantine").fetchone()[0],
            "cases": one("SELECT COUNT(*) FROM cases WHERE merged_into IS NULL").fetchone()[0],
        }

    # -- audit -------------------------------------------------------------------------------

    def audit(
        self,
        kind: chain.AuditKind,
        actor: str,
        payload: dict[str, Any],
        case_id: str | None,
        now: datetime,
    ) -> dict[str, Any]:
        """Append one audit record in its own transaction (for events with no state change)."""
        with self.transaction() as conn:
            return chain.append(
                conn, kind=kind, actor=actor, payload=payload, case_id=case_id, ts=now
            )

    def audit_records(
        self, case_id: str | None = None, kind: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Audit records in chain order: all, or one case's, or one kind's."""
        return chain.records(self.conn, case_id, kind)

    # -- autonomy (the global kill switch) ---------------------------------------------------

    def autonomy_on(self) -> bool:
        """False when someone switched autonomy off: then every action needs approval."""
        row = self.conn.execute("SELECT value FROM settings WHERE key = 'autonomy'").fetchone()
        return row is None or row[0] == "on"

    def set_autonomy(self, on: bool, actor: str, reason: str, now: datetime) -> None:
        """Flip the kill switch; the change and who made it are audited in one transaction."""
        with self.transaction() as conn:
            chain.append(
                conn,
                kind="autonomy",
                actor=actor,
                case_id=None,
                ts=now,
                payload={"autonomy": "on" if on else "off", "reason": reason},
            )
            conn.execute(
                "INSERT INTO settings VALUES ('autonomy', ?) ON CONFLICT(key) DO UPDATE SET"
                " value = excluded.value",
                ("on" if on else "off",),
            )

    # -- identity --------------------------------------------------------------------------------

    def store_id(self) -> str:
        """A random id minted with the store: ties data kept beside it (the case memory) to
        this file, so a store deleted and created again does not inherit it."""
        self.conn.execute(
            "INSERT OR IGNORE INTO settings VALUES ('store_id', lower(hex(randomblob(16))))"
        )
        row = self.conn.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone()
        return str(row[0])
