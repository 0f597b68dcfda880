"""Case rows: their summary columns and the analysis of the latest graph run.

A case row carries a ``dirty`` flag that says new alerts arrived since its last analysis.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tierzero.store import audit as chain
from tierzero.store.connection import Connected
from tierzero.store.schema import from_us


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


class CaseTables(Connected):
    """Reads of the ``cases`` table, and the analysis the graph saves on it."""

    def dirty_case_ids(self) -> list[str]:
        rows = self.conn.execute(
            "SELECT id FROM cases WHERE dirty = 1 AND merged_into IS NULL ORDER BY seq"
        )
        return [r["id"] for r in rows]

    def awaits_analysis(self, case_id: str) -> bool:
        """True while a case changed since its last analysis and was not merged away."""
        row = self.conn.execute(
            "SELECT 1 FROM cases WHERE id = ? AND dirty = 1 AND merged_into IS NULL", (case_id,)
        ).fetchone()
        return row is not None

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
        *,
        alerts_seen: int | None,
    ) -> None:
        """Store the graph's result and its audit records atomically.

        ``audit_records`` are ``(kind, actor, payload)``; if any cannot be written, nothing is.
        ``alerts_seen`` is the case's alert count when the analysis began: the dirty flag is
        cleared only if it is still that (alerts that joined while the model was thinking are
        analysed next time). None, for a revision resumed by an approval answer, leaves the
        flag as it is. A case merged away meanwhile keeps its ``merged`` status.
        """
        with self.transaction() as conn:
            for kind, actor, payload in audit_records:
                chain.append(conn, kind=kind, actor=actor, payload=payload, case_id=case_id, ts=now)
            conn.execute(
                "UPDATE cases SET status = CASE WHEN merged_into IS NULL THEN ? ELSE status END,"
                " verdict = ?, priority = ?, confidence = ?, title = ?, analysis = ?,"
                " dirty = CASE WHEN ? IS NULL THEN dirty"
                " WHEN merged_into IS NULL AND alert_count <> ? THEN 1 ELSE 0 END,"
                " revision = ?, updated_at = ? WHERE id = ?",
                (
                    analysis["status"],
                    analysis["verdict"],
                    analysis["priority"],
                    analysis["confidence"],
                    analysis["title"],
                    json.dumps(analysis, default=str),
                    alerts_seen,
                    alerts_seen,
                    revision,
                    now.isoformat(),
                    case_id,
                ),
            )

    def cases(self, include_merged: bool = False) -> list[CaseRow]:
        where = "" if include_merged else " WHERE merged_into IS NULL"
        rows = self.conn.execute(f"SELECT * FROM cases{where} ORDER BY seq")
        return [self._case_row(r) for r in rows]

    def case_page(
        self, filters: dict[str, str], limit: int, offset: int
    ) -> tuple[list[CaseRow], int]:
        """Live cases matching ``filters`` (status, priority, verdict, queue: exact values;
        entity: a case with an alert on that entity, ``kind:value`` or a value of any kind,
        case-insensitive), most urgent first (priority, then newest), one page, and how many
        match in all."""
        where = ["merged_into IS NULL"]
        values: list[Any] = []
        for column in ("status", "priority", "verdict"):
            if column in filters:
                where.append(f"{column} = ?")
                values.append(filters[column])
        if "queue" in filters:
            where.append("json_extract(analysis, '$.prioritization.queue') = ?")
            values.append(filters["queue"])
        if "entity" in filters:
            given = filters["entity"].strip().lower()
            literal = given.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            wanted = literal if ":" in given else "%:" + literal  # no kind: any kind
            where.append(
                "id IN (SELECT a.case_id FROM alert_entities e JOIN alerts a ON a.id = e.alert_id"
                " WHERE e.key LIKE ? ESCAPE '\\')"
            )
            values.append(wanted)
        clause = " AND ".join(where)
        total = self.conn.execute(f"SELECT COUNT(*) FROM cases WHERE {clause}", values)
        rows = self.conn.execute(
            f"SELECT * FROM cases WHERE {clause} ORDER BY COALESCE(priority, 'P9'), seq DESC"
            " LIMIT ? OFFSET ?",
            [*values, limit, offset],
        )
        return [self._case_row(r) for r in rows], total.fetchone()[0]

    def cases_updated_since(self, since: datetime, priorities: Sequence[str]) -> list[CaseRow]:
        """Live cases of these priorities whose analysis was saved at or after ``since``."""
        marks = ",".join("?" * len(priorities))
        rows = self.conn.execute(
            f"SELECT * FROM cases WHERE merged_into IS NULL AND updated_at >= ?"
            f" AND priority IN ({marks}) ORDER BY seq",
            (since.isoformat(), *priorities),
        )
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

    def case_status(self, case_id: str) -> str | None:
        """A case's status alone (no analysis to parse)."""
        row = self.conn.execute("SELECT status FROM cases WHERE id = ?", (case_id,)).fetchone()
        return str(row[0]) if row else None

    @staticmethod
    def _case_row(r: sqlite3.Row) -> CaseRow:
        return CaseRow(
            id=r["id"],
            status=r["status"],
            verdict=r["verdict"],
            priority=r["priority"],
            confidence=r["confidence"],
            title=r["title"],
            first_seen=from_us(r["first_seen_us"]),
            last_seen=from_us(r["last_seen_us"]),
            alert_count=r["alert_count"],
            merged_into=r["merged_into"],
            dirty=bool(r["dirty"]),
            created_at=r["created_at"],
            updated_at=r["updated_at"],
            analysis=json.loads(r["analysis"]) if r["analysis"] else None,
        )
