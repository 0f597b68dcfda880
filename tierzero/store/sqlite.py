"""The embedded store: one SQLite file (WAL) for alerts, cases, joins and quarantine.

The LangGraph checkpointer lives in the same file (its own tables), through its own
connection. Alerts are facts and never change; a case row carries the analysis of the latest
graph run and a ``dirty`` flag that says new alerts arrived since.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from tierzero.correlate.engine import Join, SeedCase
from tierzero.correlate.entities import JOIN_KINDS, entity_key
from tierzero.ingest.alert import Alert, EntityKind
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.store import audit as chain
from tierzero.store.actions import ActionLog

DEFAULT_DB = Path(".tierzero") / "tierzero.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_alert_id TEXT NOT NULL,
    source_file TEXT NOT NULL,
    record_no INTEGER NOT NULL,
    time_us INTEGER NOT NULL,
    severity_id INTEGER NOT NULL,
    detection_id TEXT NOT NULL,
    title TEXT NOT NULL,
    case_id TEXT,
    duplicate_of TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_unassigned ON alerts (time_us, id) WHERE case_id IS NULL;
CREATE INDEX IF NOT EXISTS alerts_case ON alerts (case_id, time_us);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL UNIQUE,
    status TEXT NOT NULL DEFAULT 'new',
    verdict TEXT,
    priority TEXT,
    confidence REAL,
    title TEXT,
    first_seen_us INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    alert_count INTEGER NOT NULL DEFAULT 0,
    entities TEXT NOT NULL DEFAULT '[]',
    merged_into TEXT,
    dirty INTEGER NOT NULL DEFAULT 1,
    revision INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    analysis TEXT
);
CREATE INDEX IF NOT EXISTS cases_open ON cases (last_seen_us) WHERE merged_into IS NULL;
CREATE TABLE IF NOT EXISTS joins (
    alert_id TEXT PRIMARY KEY REFERENCES alerts (id),
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    via TEXT NOT NULL,
    merged_case_ids TEXT NOT NULL,
    duplicate_of TEXT,
    gap_seconds REAL,
    explanation TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS joins_case ON joins (case_id);
-- One row per (distinct alert, host): how often a detection fires where, for baselines.
CREATE TABLE IF NOT EXISTS sightings (
    detection_id TEXT NOT NULL,
    host TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    case_id TEXT NOT NULL,
    alert_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sightings_lookup ON sightings (detection_id, host, time_us);
CREATE INDEX IF NOT EXISTS sightings_case ON sightings (case_id);
-- One row per (join key, alert): which alerts name an entity, for the investigation tools.
-- Keys are alert_entities() with no internal domains, so they never depend on configuration.
CREATE TABLE IF NOT EXISTS alert_entities (
    key TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    alert_id TEXT NOT NULL,
    PRIMARY KEY (key, time_us, alert_id)
) WITHOUT ROWID;
-- One row per proposed action of a case: its decision, and what became of it.
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    action TEXT NOT NULL,
    action_class TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    approved_by TEXT,
    decided_at TEXT NOT NULL,
    executed_at TEXT,
    expires_at TEXT,
    result TEXT,
    rolled_back_by TEXT,
    rollback_reason TEXT,
    approval_due TEXT,
    reminded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS actions_case ON actions (case_id);
CREATE INDEX IF NOT EXISTS actions_kind ON actions (action, executed_at);
CREATE TABLE IF NOT EXISTS settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- An analyst's final disposition of a case (the latest; earlier ones stay in the audit).
CREATE TABLE IF NOT EXISTS resolutions (
    case_id TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    analyst TEXT NOT NULL,
    note TEXT NOT NULL,
    resolved_at TEXT NOT NULL
);
-- The analyst chat about a case, message by message (each one is also in the audit).
CREATE TABLE IF NOT EXISTS chat_messages (
    id INTEGER PRIMARY KEY,
    case_id TEXT NOT NULL,
    role TEXT NOT NULL,
    author TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_case ON chat_messages (case_id, id);
CREATE TABLE IF NOT EXISTS quarantine (
    key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    source_file TEXT NOT NULL,
    record_no INTEGER NOT NULL,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    raw_size INTEGER NOT NULL,
    raw_sha256 TEXT NOT NULL,
    quarantined_at TEXT NOT NULL
);
"""


def _us(value: datetime) -> int:
    return int(value.timestamp() * 1_000_000)


def _from_us(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


_JOIN_KINDS = frozenset(JOIN_KINDS)


@lru_cache(maxsize=8192)
def _cached_key(kind: EntityKind, value: str) -> str | None:
    return entity_key(kind, value)


def _entity_rows(alerts: Iterable[Alert]) -> list[tuple[str, int, str]]:
    """``alert_entities`` rows: each alert's join keys as ``correlate.entities.alert_entities``
    gives them with no ignore list and no internal domains.

    Same ``entity_key``, memoized: the same hosts, users and addresses recur on many alerts and
    parsing addresses dominates the cost (long values are not cached, to bound the memory).
    """
    rows: list[tuple[str, int, str]] = []
    for alert in alerts:
        found = {
            key
            for o in alert.observables
            if o.kind in _JOIN_KINDS
            and (
                key := _cached_key(o.kind, o.value)
                if len(o.value) <= 256
                else entity_key(o.kind, o.value)
            )
        }
        time_us, alert_id = _us(alert.time), alert.id
        rows.extend((key, time_us, alert_id) for key in found)
    return rows


@dataclass(frozen=True)
class CaseRow:
    """A case's summary columns plus its latest analysis (a JSON object, or None)."""

    id: str
    status: str
    verdict: str | None
    priority: str | None
    confidence: float | None
    title: str | None
    first_seen: datetime
    last_seen: datetime
    alert_count: int
    merged_into: str | None
    dirty: bool
    created_at: str
    updated_at: str
    analysis: dict[str, Any] | None


ResolutionVerdict = Literal["true_positive", "benign_positive", "false_positive"]
RESOLUTION_VERDICTS: tuple[str, ...] = ResolutionVerdict.__args__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Resolution:
    """An analyst's final disposition of a case: the feedback the automation is measured on."""

    case_id: str
    verdict: str
    analyst: str
    note: str
    resolved_at: datetime


ChatRole = Literal["analyst", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One message of the analyst chat about a case (``tierzero chat``)."""

    id: int
    case_id: str
    role: ChatRole
    author: str
    content: str
    created_at: datetime


class Store:
    """SQLite persistence. Writes of one logical step happen in one transaction."""

    def __init__(self, path: Path = DEFAULT_DB) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA busy_timeout=5000")
        self.conn.executescript(_SCHEMA)
        self.conn.executescript(chain.SCHEMA)
        self.actions = ActionLog(self.conn, self.transaction)
        self._index_entities_once()

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: everything inside commits together or not at all."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- alerts and quarantine -------------------------------------------------------------

    def add_alerts(self, alerts: Sequence[Alert]) -> int:
        """Insert alerts not stored yet; returns how many were new (re-runs add none)."""
        rows = [
            (
                a.id,
                a.provenance.source,
                a.source_alert_id,
                a.provenance.source_file,
                a.provenance.record_no,
                _us(a.time),
                int(a.severity_id),
                a.detection_id,
                a.title,
                a.model_dump_json(),
            )
            for a in alerts
        ]
        with self.transaction() as conn:
            stored = self._stored_ids(conn, [a.id for a in alerts])
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO alerts (id, source, source_alert_id, source_file, record_no,"
                " time_us, severity_id, detection_id, title, body) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
            added = conn.total_changes - before
            if added:
                # Index only what was inserted now (the first of repeated ids in the batch).
                fresh = {a.id: a for a in reversed(alerts) if a.id not in stored}
                conn.executemany(
                    "INSERT OR IGNORE INTO alert_entities VALUES (?,?,?)",
                    _entity_rows(fresh.values()),
                )
            return added

    @staticmethod
    def _stored_ids(conn: sqlite3.Connection, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0] for r in conn.execute(f"SELECT id FROM alerts WHERE id IN ({marks})", chunk)
            )
        return found

    def _index_entities_once(self) -> None:
        """Back-fill ``alert_entities`` for a store written before the table existed.

        Runs once per store (a ``settings`` marker records it), in keyset pages, in one
        transaction; a new store just sets the marker.
        """
        marker = "SELECT 1 FROM settings WHERE key = 'alert_entities_indexed'"
        if self.conn.execute(marker).fetchone():
            return
        with self.transaction() as conn:
            if conn.execute(marker).fetchone():  # another process did it meanwhile
                return
            last = ""
            while rows := conn.execute(
                "SELECT id, body FROM alerts WHERE id > ? ORDER BY id LIMIT 2000", (last,)
            ).fetchall():
                alerts = [Alert.model_validate_json(r["body"]) for r in rows]
                conn.executemany(
                    "INSERT OR IGNORE INTO alert_entities VALUES (?,?,?)", _entity_rows(alerts)
                )
                last = rows[-1]["id"]
            conn.execute("INSERT INTO settings VALUES ('alert_entities_indexed', '1')")

    def add_quarantined(self, records: Sequence[QuarantinedRecord]) -> int:
        """Insert quarantined records not stored yet; returns how many were new."""
        rows = [
            (
                r.key,
                r.source,
                r.source_file,
                r.record_no,
                r.reason,
                r.raw,
                r.raw_size,
                r.raw_sha256,
                r.quarantined_at.isoformat(),
            )
            for r in records
        ]
        with self.transaction() as conn:
            before = conn.total_changes
            conn.executemany("INSERT OR IGNORE INTO quarantine VALUES (?,?,?,?,?,?,?,?,?)", rows)
            return conn.total_changes - before

    def quarantined(self, limit: int | None = None) -> list[QuarantinedRecord]:
        sql = "SELECT * FROM quarantine ORDER BY source_file, record_no"
        rows = self.conn.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ())
        return [
            QuarantinedRecord(
                source=r["source"],
                source_file=r["source_file"],
                record_no=r["record_no"],
                reason=r["reason"],
                raw=r["raw"],
                raw_size=r["raw_size"],
                raw_sha256=r["raw_sha256"],
                quarantined_at=datetime.fromisoformat(r["quarantined_at"]),
            )
            for r in rows
        ]

    def unassigned_alerts(self, batch: int = 2000) -> Iterator[Alert]:
        """Alerts no case holds yet, in time order, read in keyset pages (bounded memory)."""
        last: tuple[int, str] = (-(2**62), "")
        while True:
            rows = self.conn.execute(
                "SELECT time_us, id, body FROM alerts WHERE case_id IS NULL"
                " AND (time_us, id) > (?, ?) ORDER BY time_us, id LIMIT ?",
                (*last, batch),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield Alert.model_validate_json(row["body"])
            last = (rows[-1]["time_us"], rows[-1]["id"])

    def alerts_of_case(self, case_id: str) -> list[Alert]:
        rows = self.conn.execute(
            "SELECT body FROM alerts WHERE case_id = ? ORDER BY time_us, id", (case_id,)
        )
        return [Alert.model_validate_json(r["body"]) for r in rows]

    def alert(self, alert_id: str) -> Alert | None:
        row = self.conn.execute("SELECT body FROM alerts WHERE id = ?", (alert_id,)).fetchone()
        return Alert.model_validate_json(row["body"]) if row else None

    def alerts_on_entity(
        self, key: str, since: datetime, until: datetime, limit: int
    ) -> list[Alert]:
        """Alerts naming a join key (as ``alert_entities`` makes it with no internal domains)
        with a time in ``[since, until]``, oldest first, at most ``limit``."""
        rows = self.conn.execute(
            "SELECT a.body FROM alert_entities e JOIN alerts a ON a.id = e.alert_id"
            " WHERE e.key = ? AND e.time_us BETWEEN ? AND ? ORDER BY e.time_us, e.alert_id"
            " LIMIT ?",
            (key, _us(since), _us(until), max(0, limit)),
        )
        return [Alert.model_validate_json(r["body"]) for r in rows]

    def cases_of(self, alert_ids: Sequence[str]) -> dict[str, str]:
        """The case of each alert that correlation assigned (others are absent)."""
        out: dict[str, str] = {}
        ids = list(dict.fromkeys(alert_ids))
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = self.conn.execute(
                "SELECT id, case_id FROM alerts WHERE case_id IS NOT NULL AND id IN"
                f" ({','.join('?' * len(chunk))})",
                chunk,
            )
            out.update({r["id"]: r["case_id"] for r in rows})
        return out

    def duplicate_counts(self, case_id: str) -> dict[str, int]:
        """How many repeats each primary alert of a case absorbed."""
        rows = self.conn.execute(
            "SELECT duplicate_of, COUNT(*) AS n FROM alerts WHERE case_id = ?"
            " AND duplicate_of IS NOT NULL GROUP BY duplicate_of",
            (case_id,),
        )
        return {r["duplicate_of"]: r["n"] for r in rows}

    def counts(self) -> dict[str, int]:
        one = self.conn.execute
        return {
            "alerts": one("SELECT COUNT(*) FROM alerts").fetchone()[0],
            "quarantined": one("SELECT COUNT(*) FROM quarantine").fetchone()[0],
            "cases": one("SELECT COUNT(*) FROM cases WHERE merged_into IS NULL").fetchone()[0],
        }

    # -- correlation -------------------------------------------------------------------------

    def case_id_allocator(self) -> Callable[[], str]:
        """Hands out ``C-n`` ids after the highest stored one (one writer at a time)."""
        (highest,) = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM cases").fetchone()
        counter = itertools.count(highest + 1)
        return lambda: f"C-{next(counter)}"

    def seed_cases(self, since: datetime) -> list[SeedCase]:
        """Open cases seen at or after ``since``: new alerts may still join them."""
        rows = self.conn.execute(
            "SELECT id, first_seen_us, last_seen_us, alert_count, entities FROM cases"
            " WHERE merged_into IS NULL AND last_seen_us >= ?",
            (_us(since),),
        )
        return [
            SeedCase(
                r["id"],
                _from_us(r["first_seen_us"]),
                _from_us(r["last_seen_us"]),
                r["alert_count"],
                tuple(json.loads(r["entities"])),
            )
            for r in rows
        ]

    def earliest_unassigned(self) -> datetime | None:
        row = self.conn.execute("SELECT MIN(time_us) FROM alerts WHERE case_id IS NULL").fetchone()
        return _from_us(row[0]) if row[0] is not None else None

    def record_joins(self, joins: Iterable[tuple[Join, Alert]], now: datetime) -> None:
        """Persist a batch of correlation results in one transaction."""
        stamp = now.isoformat()
        with self.transaction() as conn:
            for join, alert in joins:
                for merged in join.merged_case_ids:
                    self._merge_case(conn, merged, join.case_id, stamp)
                self._upsert_case(conn, join, alert, stamp)
                conn.execute(
                    "UPDATE alerts SET case_id = ?, duplicate_of = ? WHERE id = ?",
                    (join.case_id, join.duplicate_of, join.alert_id),
                )
                chain.append(
                    conn,
                    kind="correlation",
                    actor="correlator",
                    case_id=join.case_id,
                    ts=now,
                    payload={
                        "alert_id": join.alert_id,
                        "source": alert.provenance.source,
                        "source_alert_id": alert.source_alert_id,
                        "join": join.kind,
                        "via": list(join.via),
                        "merged_case_ids": list(join.merged_case_ids),
                        "duplicate_of": join.duplicate_of,
                        "explanation": join.explanation,
                    },
                )
                if join.kind != "duplicate":
                    hosts = [
                        k.removeprefix("host:") for k in join.entities if k.startswith("host:")
                    ]
                    conn.executemany(
                        "INSERT INTO sightings VALUES (?,?,?,?,?)",
                        [
                            (alert.detection_id, h, _us(alert.time), join.case_id, alert.id)
                            for h in hosts or [""]
                        ],
                    )
                conn.execute(
                    "INSERT OR REPLACE INTO joins VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        join.alert_id,
                        join.case_id,
                        join.kind,
                        json.dumps(join.via),
                        json.dumps(join.merged_case_ids),
                        join.duplicate_of,
                        join.gap_seconds,
                        join.explanation,
                        stamp,
                    ),
                )

    def _upsert_case(self, conn: sqlite3.Connection, join: Join, alert: Alert, stamp: str) -> None:
        row = conn.execute(
            "SELECT first_seen_us, last_seen_us, entities FROM cases WHERE id = ?", (join.case_id,)
        ).fetchone()
        t = _us(alert.time)
        if row is None:
            seq = int(join.case_id.removeprefix("C-"))
            conn.execute(
                "INSERT INTO cases (id, seq, title, first_seen_us, last_seen_us, alert_count,"
                " entities, created_at, updated_at) VALUES (?,?,?,?,?,1,?,?,?)",
                (
                    join.case_id,
                    seq,
                    alert.title,
                    t,
                    t,
                    json.dumps(list(join.entities)),
                    stamp,
                    stamp,
                ),
            )
            return
        entities = sorted(set(json.loads(row["entities"])) | set(join.entities))
        conn.execute(
            "UPDATE cases SET first_seen_us = ?, last_seen_us = ?, alert_count = alert_count + 1,"
            " entities = ?, dirty = 1, updated_at = ? WHERE id = ?",
            (
                min(row["first_seen_us"], t),
                max(row["last_seen_us"], t),
                json.dumps(entities),
                stamp,
                join.case_id,
            ),
        )

    @staticmethod
    def _merge_case(conn: sqlite3.Connection, source: str, into: str, stamp: str) -> None:
        src = conn.execute("SELECT * FROM cases WHERE id = ?", (source,)).fetchone()
        if src is None:
            return
        conn.execute("UPDATE alerts SET case_id = ? WHERE case_id = ?", (into, source))
        conn.execute("UPDATE joins SET case_id = ? WHERE case_id = ?", (into, source))
        conn.execute("UPDATE sightings SET case_id = ? WHERE case_id = ?", (into, source))
        dst = conn.execute("SELECT entities FROM cases WHERE id = ?", (into,)).fetchone()
        entities = sorted(set(json.loads(src["entities"])) | set(json.loads(dst["entities"])))
        conn.execute(
            "UPDATE cases SET first_seen_us = MIN(first_seen_us, ?), last_seen_us ="
            " MAX(last_seen_us, ?), alert_count = alert_count + ?, entities = ?, dirty = 1,"
            " updated_at = ? WHERE id = ?",
            (
                src["first_seen_us"],
                src["last_seen_us"],
                src["alert_count"],
                json.dumps(entities),
                stamp,
                into,
            ),
        )
        conn.execute(
            "UPDATE cases SET merged_into = ?, status = 'merged', dirty = 0, alert_count = 0,"
            " updated_at = ? WHERE id = ?",
            (into, stamp, source),
        )

    def joins_of_case(self, case_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT j.*, a.time_us FROM joins j JOIN alerts a ON a.id = j.alert_id"
            " WHERE j.case_id = ? ORDER BY a.time_us, j.alert_id",
            (case_id,),
        )
        return [
            {
                "alert_id": r["alert_id"],
                "kind": r["kind"],
                "via": json.loads(r["via"]),
                "merged_case_ids": json.loads(r["merged_case_ids"]),
                "duplicate_of": r["duplicate_of"],
                "gap_seconds": r["gap_seconds"],
                "explanation": r["explanation"],
            }
            for r in rows
        ]

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

    def audit_records(self, case_id: str | None = None) -> Iterator[dict[str, Any]]:
        return chain.records(self.conn, case_id)

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

    # -- identity and analyst resolutions ----------------------------------------------------

    def store_id(self) -> str:
        """A random id minted with the store: ties data kept beside it (the case memory) to
        this file, so a store deleted and created again does not inherit it."""
        self.conn.execute(
            "INSERT OR IGNORE INTO settings VALUES ('store_id', lower(hex(randomblob(16))))"
        )
        row = self.conn.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone()
        return str(row[0])

    def resolve_case(
        self, case_id: str, verdict: str, analyst: str, note: str, now: datetime
    ) -> Resolution:
        """Record an analyst's final verdict on a case, audited in the same transaction.

        A later resolution replaces the earlier one; both stay in the audit. ValueError for an
        unknown verdict, an empty analyst name, or a case that does not exist or was merged.
        """
        if verdict not in RESOLUTION_VERDICTS:
            raise ValueError(f"verdict must be one of {', '.join(RESOLUTION_VERDICTS)}")
        if not analyst.strip():
            raise ValueError("the analyst's name is required")
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT verdict, status, merged_into FROM cases WHERE id = ?", (case_id,)
            ).fetchone()
            if row is None:
                raise ValueError(f"no case {case_id!r}")
            if row["merged_into"]:
                raise ValueError(f"case {case_id} was merged into {row['merged_into']}")
            previous = conn.execute(
                "SELECT verdict FROM resolutions WHERE case_id = ?", (case_id,)
            ).fetchone()
            chain.append(
                conn,
                kind="resolution",
                actor=analyst,
                case_id=case_id,
                ts=now,
                payload={
                    "verdict": verdict,
                    "note": note,
                    "machine_verdict": row["verdict"],
                    "status": row["status"],
                    "previous_resolution": previous[0] if previous else None,
                },
            )
            conn.execute(
                "INSERT INTO resolutions VALUES (?,?,?,?,?) ON CONFLICT(case_id) DO UPDATE SET"
                " verdict = excluded.verdict, analyst = excluded.analyst, note = excluded.note,"
                " resolved_at = excluded.resolved_at",
                (case_id, verdict, analyst, note, now.isoformat()),
            )
        return Resolution(case_id, verdict, analyst, note, now)

    def resolution(self, case_id: str) -> Resolution | None:
        """The analyst's latest resolution of a case, if any."""
        row = self.conn.execute(
            "SELECT * FROM resolutions WHERE case_id = ?", (case_id,)
        ).fetchone()
        if row is None:
            return None
        return Resolution(
            row["case_id"],
            row["verdict"],
            row["analyst"],
            row["note"],
            datetime.fromisoformat(row["resolved_at"]),
        )

    def case_status(self, case_id: str) -> str | None:
        """A case's status alone (no analysis to parse)."""
        row = self.conn.execute("SELECT status FROM cases WHERE id = ?", (case_id,)).fetchone()
        return str(row[0]) if row else None

    # -- analyst chat ------------------------------------------------------------------------

    def add_chat_message(
        self,
        case_id: str,
        role: ChatRole,
        author: str,
        content: str,
        now: datetime,
        details: dict[str, Any] | None = None,
    ) -> ChatMessage:
        """Store one chat message and its ``chat`` audit record in one transaction.

        ``details`` (evidence cited, actions proposed, which answerer) go to the audit only.
        """
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO chat_messages (case_id, role, author, content, created_at)"
                " VALUES (?,?,?,?,?)",
                (case_id, role, author, content, now.isoformat()),
            )
            message_id = int(cursor.lastrowid or 0)
            chain.append(
                conn,
                kind="chat",
                actor=author,
                case_id=case_id,
                ts=now,
                payload={
                    **(details or {}),
                    "message_id": message_id,
                    "role": role,
                    "content": content,
                },
            )
        return ChatMessage(message_id, case_id, role, author, content, now)

    def chat_history(self, case_id: str, limit: int = 50) -> list[ChatMessage]:
        """The case's latest ``limit`` chat messages, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM chat_messages WHERE case_id = ? ORDER BY id DESC LIMIT ?",
            (case_id, max(0, limit)),
        ).fetchall()
        return [
            ChatMessage(
                r["id"],
                r["case_id"],
                r["role"],
                r["author"],
                r["content"],
                datetime.fromisoformat(r["created_at"]),
            )
            for r in reversed(rows)
        ]

    # -- cases -------------------------------------------------------------------------------

    def dirty_case_ids(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM cases WHERE dirty = 1 AND merged_into IS NULL ORDER BY seq"
        )
        return [r["id"] for r in rows]

    def next_revision(self, case_id: str) -> int:
        """The number the next analysis of a case will carry (1 for the first)."""
        row = self.conn.execute("SELECT revision FROM cases WHERE id = ?", (case_id,)).fetchone()
        return (row["revision"] if row else 0) + 1

    def save_analysis(
        self,
        case_id: str,
        analysis: dict[str, Any],
        revision: int,
        now: datetime,
        audit_records: Iterable[tuple[chain.AuditKind, str, dict[str, Any]]] = (),
    ) -> None:
        """Store the graph's result and its audit records, and clear the dirty flag, atomically.

        ``audit_records`` are ``(kind, actor, payload)``; if any cannot be written, nothing is.
        """
        with self.transaction() as conn:
            for kind, actor, payload in audit_records:
                chain.append(conn, kind=kind, actor=actor, payload=payload, case_id=case_id, ts=now)
            conn.execute(
                "UPDATE cases SET status = ?, verdict = ?, priority = ?, confidence = ?, title = ?,"
                " analysis = ?, dirty = 0, revision = ?, updated_at = ? WHERE id = ?",
                (
                    analysis["status"],
                    analysis["verdict"],
                    analysis["priority"],
                    analysis["confidence"],
                    analysis["title"],
                    json.dumps(analysis, default=str),
                    revision,
                    now.isoformat(),
                    case_id,
                ),
            )

    def cases(self, include_merged: bool = False) -> list[CaseRow]:
        where = "" if include_merged else " WHERE merged_into IS NULL"
        rows = self.conn.execute(f"SELECT * FROM cases{where} ORDER BY seq")
        return [self._case_row(r) for r in rows]

    def case(self, case_id: str) -> CaseRow | None:
        row = self.conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
        return self._case_row(row) if row else None

    def headline(self, case_id: str) -> str | None:
        """Title of the case's most severe alert (the earliest among equals)."""
        row = self.conn.execute(
            "SELECT title FROM alerts WHERE case_id = ? AND severity_id < 99"
            " ORDER BY severity_id DESC, time_us LIMIT 1",
            (case_id,),
        ).fetchone()
        return row[0] if row else None

    def active_hours(self, detection_id: str, host: str, since: datetime, before: datetime) -> int:
        """Distinct clock hours in [since, before) in which the detection fired on the host.

        Hours, not cases: the baseline must not depend on how correlation cut the cases.
        """
        row = self.conn.execute(
            "SELECT COUNT(DISTINCT time_us / 3600000000) FROM sightings WHERE detection_id = ?"
            " AND host = ? AND time_us >= ? AND time_us < ?",
            (detection_id, host, _us(since), _us(before)),
        ).fetchone()
        return int(row[0])

    def source_alert_ids(self, case_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT source_alert_id FROM alerts WHERE case_id = ? ORDER BY time_us, id", (case_id,)
        )
        return [r[0] for r in rows]

    @staticmethod
    def _case_row(r: sqlite3.Row) -> CaseRow:
        return CaseRow(
            id=r["id"],
            status=r["status"],
            verdict=r["verdict"],
            priority=r["priority"],
            confidence=r["confidence"],
            title=r["title"],
            first_seen=_from_us(r["first_seen_us"]),
            last_seen=_from_us(r["last_seen_us"]),
            alert_count=r["alert_count"],
            merged_into=r["merged_into"],
            dirty=bool(r["dirty"]),
            created_at=r["created_at"],
            updated_at=r["updated_at"],
            analysis=json.loads(r["analysis"]) if r["analysis"] else None,
        )
