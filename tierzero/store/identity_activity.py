"""Identity activity: accounts' routine identity-provider events, kept as context.

Each row is the :class:`~tierzero.ingest.activity.IdentityActivity` of a record refused as
"not an alert" (the record itself is in the quarantine under the same key). Rows are keyed by
the account's join key, as ``alert_entities`` keys users (no internal domains), so a case's
context is found from its alerts' own entity rows: the activity of an account the case names,
within the join window of one of its alerts. Nothing here is stored per case, so merges and
re-correlation never leave it stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from tierzero.correlate.entities import entity_key
from tierzero.ingest.activity import IdentityActivity
from tierzero.ingest.alert import EntityKind
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.store.connection import Connected
from tierzero.store.schema import to_us

# How far from an alert an account's routine step is read as that case's context: the reach of
# correlation's default join window (config/correlation.yaml ``join_window``).
ACTIVITY_HOURS = 2
ACTIVITY_WINDOW = timedelta(hours=ACTIVITY_HOURS)


def activity_rows(records: Iterable[QuarantinedRecord]) -> list[tuple[str, str, int, str]]:
    """``identity_activity`` rows of the quarantined records that carry an account's routine
    event (records whose account makes no join key, such as ``SYSTEM``, carry no context)."""
    rows = []
    for record in records:
        activity = record.activity
        if activity is None:
            continue
        user_key = entity_key(EntityKind.USER, activity.user)
        if user_key is not None:
            rows.append((record.key, user_key, to_us(activity.time), activity.model_dump_json()))
    return rows


class IdentityActivityTable(Connected):
    """Reads of the ``identity_activity`` table (written with the quarantine)."""

    def activity_on_keys(
        self, keys: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> list[IdentityActivity]:
        """Routine events of the accounts with these join keys in ``[since, until]``, oldest
        first, at most ``limit``."""
        if not keys:
            return []
        rows = self.conn.execute(
            "SELECT body FROM identity_activity WHERE user_key IN"
            f" ({','.join('?' * len(keys))}) AND time_us BETWEEN ? AND ?"
            " ORDER BY time_us, key LIMIT ?",
            (*keys, to_us(since), to_us(until), max(0, limit)),
        )
        return [IdentityActivity.model_validate_json(r["body"]) for r in rows]

    def case_activity(self, case_id: str, window: timedelta, limit: int) -> list[IdentityActivity]:
        """Routine events of the accounts the case's alerts name, each within ``window`` of
        one of those alerts: what the accounts did around the case. Oldest first."""
        span = int(window.total_seconds() * 1_000_000)
        rows = self.conn.execute(
            "SELECT DISTINCT i.key, i.time_us, i.body FROM alerts a"
            " JOIN alert_entities e ON e.alert_id = a.id"
            " JOIN identity_activity i ON i.user_key = e.key"
            " AND i.time_us BETWEEN e.time_us - ? AND e.time_us + ?"
            " WHERE a.case_id = ? AND (e.key LIKE 'user:%' OR e.key LIKE 'email:%')"
            " ORDER BY i.time_us, i.key LIMIT ?",
            (span, span, case_id, max(0, limit)),
        )
        return [IdentityActivity.model_validate_json(r["body"]) for r in rows]

    def activity_case(self, source_file: str, record_no: int, window: timedelta) -> str | None:
        """The case a routine event of this record is read with: the case of the nearest
        alert naming its account within ``window`` (None when no case names the account)."""
        span = int(window.total_seconds() * 1_000_000)
        row = self.conn.execute(
            "SELECT a.case_id FROM quarantine q JOIN identity_activity i ON i.key = q.key"
            " JOIN alert_entities e ON e.key = i.user_key"
            " AND e.time_us BETWEEN i.time_us - ? AND i.time_us + ?"
            " JOIN alerts a ON a.id = e.alert_id AND a.case_id IS NOT NULL"
            " WHERE q.source_file = ? AND q.record_no = ?"
            " ORDER BY ABS(e.time_us - i.time_us), a.id LIMIT 1",
            (span, span, source_file, record_no),
        ).fetchone()
        return row[0] if row else None
