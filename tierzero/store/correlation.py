"""Correlation results: cases opened, joined and merged, the joins that explain them, and
the sightings that baselines count (one row per distinct alert and host)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from tierzero.correlate.engine import Join, SeedCase
from tierzero.ingest.alert import Alert
from tierzero.store import audit as chain
from tierzero.store.connection import Connected
from tierzero.store.schema import from_us, to_us


class CorrelationTables(Connected):
    """Writes of correlation to the ``cases``, ``alerts``, ``joins`` and ``sightings`` tables."""

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
            (to_us(since),),
        )
        return [
            SeedCase(
                r["id"],
                from_us(r["first_seen_us"]),
                from_us(r["last_seen_us"]),
                r["alert_count"],
                tuple(json.loads(r["entities"])),
            )
            for r in rows
        ]

    def earliest_unassigned(self) -> datetime | None:
        row = self.conn.execute("SELECT MIN(time_us) FROM alerts WHERE case_id IS NULL").fetchone()
        return from_us(row[0]) if row[0] is not None else None

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
                            (alert.detection_id, h, to_us(alert.time), join.case_id, alert.id)
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
        t = to_us(alert.time)
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

    def joins_of_case(
        self, case_id: str, repeats: bool = True, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """How each alert came into the case, oldest first; ``repeats=False`` leaves out the
        joins of repeats (one per repeat: a flood of them is counted, not listed)."""
        only = "" if repeats else " AND j.kind != 'duplicate'"
        rows = self.conn.execute(
            "SELECT j.*, a.time_us FROM joins j JOIN alerts a ON a.id = j.alert_id"
            f" WHERE j.case_id = ?{only} ORDER BY a.time_us, j.alert_id LIMIT ?",
            (case_id, -1 if limit is None else max(0, limit)),
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

    def active_hours(self, detection_id: str, host: str, since: datetime, before: datetime) -> int:
        """Distinct clock hours in [since, before) in which the detection fired on the host.

        Hours, not cases: the baseline must not depend on how correlation cut the cases.
        """
        row = self.conn.execute(
            "SELECT COUNT(DISTINCT time_us / 3600000000) FROM sightings WHERE detection_id = ?"
            " AND host = ? AND time_us >= ? AND time_us < ?",
            (detection_id, host, to_us(since), to_us(before)),
        ).fetchone()
        return int(row[0])
