"""Alerts, the entity index the investigation tools search, and the quarantine.

Alerts are facts and never change once stored (only the case that holds them is set later, by
correlation). Each alert's join keys go to ``alert_entities`` when it is stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from functools import lru_cache

from tierzero.correlate.entities import JOIN_KINDS, entity_key
from tierzero.ingest.activity import IdentityActivity
from tierzero.ingest.alert import Alert, EntityKind
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.store.connection import Connected
from tierzero.store.identity_activity import activity_rows
from tierzero.store.schema import to_us

_JOIN_KINDS = frozenset(JOIN_KINDS)
# Alerts of one case read for analysis, its memory record or a tool. Correlation caps a case at
# 500 distinct alerts (``max_case_alerts``) but merges can exceed that, and repeats are
# unbounded: they are counted, never all loaded (one case of 200,000 repeats once took 2.8 GB).
MAX_CASE_ALERTS = 1000


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
        time_us, alert_id = to_us(alert.time), alert.id
        rows.extend((key, time_us, alert_id) for key in found)
    return rows


class AlertTables(Connected):
    """The ``alerts``, ``alert_entities`` and ``quarantine`` tables."""

    def add_alerts(self, alerts: Sequence[Alert]) -> int:
        """Insert alerts not stored yet; returns how many were new (re-runs add none)."""
        with self.transaction() as conn:
            return len(self.insert_alerts(conn, alerts))

    def insert_alerts(self, conn: sqlite3.Connection, alerts: Sequence[Alert]) -> set[str]:
        """Inside the caller's transaction: insert the alerts not stored yet and index their
        entities; returns the ids that were new (the first of ids repeated in the batch)."""
        rows = [
            (
                a.id,
                a.provenance.source,
                a.source_alert_id,
                a.provenance.source_file,
                a.provenance.record_no,
                to_us(a.time),
                int(a.severity_id),
                a.detection_id,
                a.title,
                a.model_dump_json(),
            )
            for a in alerts
        ]
        stored = self._stored_ids(conn, [a.id for a in alerts])
        conn.executemany(
            "INSERT OR IGNORE INTO alerts (id, source, source_alert_id, source_file, record_no,"
            " time_us, severity_id, detection_id, title, body) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        fresh = {a.id: a for a in reversed(alerts) if a.id not in stored}
        if fresh:
            conn.executemany(
                "INSERT OR IGNORE INTO alert_entities VALUES (?,?,?)", _entity_rows(fresh.values())
            )
        return set(fresh)

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
        with self.transaction() as conn:
            return self.insert_quarantined(conn, records)

    @staticmethod
    def insert_quarantined(conn: sqlite3.Connection, records: Sequence[QuarantinedRecord]) -> int:
        """Inside the caller's transaction: insert the records not stored yet (and the identity
        activity some of them carry); returns how many were new."""
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
        before = conn.total_changes
        conn.executemany("INSERT OR IGNORE INTO quarantine VALUES (?,?,?,?,?,?,?,?,?)", rows)
        added = conn.total_changes - before
        conn.executemany(
            "INSERT OR IGNORE INTO identity_activity VALUES (?,?,?,?)", activity_rows(records)
        )
        return added

    def quarantined(self, limit: int | None = None) -> list[QuarantinedRecord]:
        sql = (
            "SELECT q.*, i.body AS activity FROM quarantine q"
            " LEFT JOIN identity_activity i ON i.key = q.key ORDER BY q.source_file, q.record_no"
        )
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
                activity=(
                    IdentityActivity.model_validate_json(r["activity"]) if r["activity"] else None
                ),
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

    def placed_alerts(self, since: datetime, until: datetime) -> Iterator[tuple[Alert, str]]:
        """Alerts already in a case with ``since <= time < until``, in time order, with their
        case: what a correlation pass learns from before it places new alerts (keyset pages)."""
        last: tuple[int, str] = (to_us(since) - 1, "\uffff")
        while True:
            rows = self.conn.execute(
                "SELECT time_us, id, body, case_id FROM alerts WHERE case_id IS NOT NULL"
                " AND (time_us, id) > (?, ?) AND time_us < ? ORDER BY time_us, id LIMIT 2000",
                (*last, to_us(until)),
            ).fetchall()
            if not rows:
                return
            for row in rows:
                yield Alert.model_validate_json(row["body"]), row["case_id"]
            last = (rows[-1]["time_us"], rows[-1]["id"])

    def alerts_of_case(
        self, case_id: str, limit: int | None = None, offset: int = 0
    ) -> list[Alert]:
        """A case's alerts, repeats included, oldest first; ``limit``/``offset`` page them
        (a case can hold any number of repeats: callers on the analysis path pass a limit)."""
        rows = self.conn.execute(
            "SELECT body FROM alerts WHERE case_id = ? ORDER BY time_us, id LIMIT ? OFFSET ?",
            (case_id, -1 if limit is None else max(0, limit), max(0, offset)),
        )
        return [Alert.model_validate_json(r["body"]) for r in rows]

    def primary_alerts_of_case(self, case_id: str, limit: int) -> list[Alert]:
        """The first ``limit`` alerts of a case that are not repeats of another, oldest first."""
        rows = self.conn.execute(
            "SELECT body FROM alerts WHERE case_id = ? AND duplicate_of IS NULL"
            " ORDER BY time_us, id LIMIT ?",
            (case_id, max(0, limit)),
        )
        return [Alert.model_validate_json(r["body"]) for r in rows]

    def case_alert_totals(self, case_id: str) -> tuple[int, int]:
        """(all alerts, alerts that are not repeats) of a case, counted without loading them."""
        row = self.conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(duplicate_of IS NULL), 0) FROM alerts WHERE case_id = ?",
            (case_id,),
        ).fetchone()
        return int(row[0]), int(row[1])

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
            (key, to_us(since), to_us(until), max(0, limit)),
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

    def case_sources(self, case_id: str) -> list[str]:
        """The sources (adapters) a case's alerts came from, sorted."""
        rows = self.conn.execute(
            "SELECT DISTINCT source FROM alerts WHERE case_id = ? ORDER BY source", (case_id,)
        )
        return [r[0] for r in rows]

    def source_alert_ids(self, case_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT source_alert_id FROM alerts WHERE case_id = ? ORDER BY time_us, id", (case_id,)
        )
        return [r[0] for r in rows]
