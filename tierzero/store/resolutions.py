"""Analysts' resolutions: a case's final disposition, the feedback automation is measured on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tierzero.store import audit as chain
from tierzero.store.learning import LearningTables

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


class ResolutionTable(LearningTables):
    """The ``resolutions`` table: the latest resolution per case (earlier ones are in the audit);
    each resolution is also feedback (:mod:`tierzero.store.learning`)."""

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
            # A person calling a case tierzero closed an attack reopens it: the strongest
            # contrary feedback there is.
            reopened = row["status"] == "auto_closed" and verdict == "true_positive"
            self.add_feedback(
                conn, "reopened" if reopened else "resolution", case_id, analyst, verdict, now
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
