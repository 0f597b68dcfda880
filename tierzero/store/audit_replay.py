"""Replay the audit into the state it describes and compare that with the stored tables.

The chain and its anchor show that the audit itself is intact; they say nothing of the tables
beside it, which anyone holding the file can edit. Every state change is audited in the same
transaction, so the audit can be replayed, in ``seq`` order, into what those tables must hold:

- **actions**, column for column: each row as its creation record carries it (payload ``row``)
  with every later change applied (payload ``action_id``, ``from``, ``to`` and ``set``). The
  approval columns (``approved_by``, ``approval_due``, ``reminded``) are part of these rows.
- **cases**: which cases exist; ``alert_count``, ``dirty``, ``merged_into`` and the ``merged``
  status from correlation records (merges included); and from the records of a case's newest
  analysis revision, ``revision``, ``status``, ``verdict``, ``confidence`` (verdict record) and
  ``priority`` (priority record), also inside the stored analysis JSON. A field the newest
  revision wrote no record for is not established and not compared.
- **resolutions**: the latest resolution record of each case.
- **feedback** and **feedback_coverage**: each ``feedback`` record is one row and its
  coverage, as written (people's dispositions, which learning reads).
- **suppressions**: each rule as its latest ``suppression`` record carries it (an edited or
  inserted rule, which would close cases, shows here).
- **settings**: ``autonomy`` from the latest kill-switch record. ``store_id`` and
  ``alert_entities_indexed`` are bookkeeping the audit does not describe and are not
  compared; any other key is reported, since nothing audited writes one.
- **alerts**: which case each correlated alert belongs to (merges followed), its
  ``duplicate_of``, ``source`` and ``source_alert_id``. Alert contents are not audited.

Each difference is a :class:`Divergence`. Replay assumes an intact chain: verify it first.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# Settings rows the audit does not describe: the store's identity (minted on first use) and
# a one-time indexing marker. Neither grants or withholds anything.
UNAUDITED_SETTINGS: Final = frozenset({"store_id", "alert_entities_indexed"})
# Case columns replayed from analysis records, and the analysis JSON keys that repeat them.
ANALYSIS_FIELDS: Final = ("status", "verdict", "priority", "confidence")


class _Absent:
    """No such row (or no such value) on that side."""

    def __repr__(self) -> str:
        return "(none)"


ABSENT: Final = _Absent()


class _Unknown:
    """A value the audit does not establish: not compared."""


UNKNOWN: Final = _Unknown()
ROW: Final = "*"  # the column of a divergence about a whole row


@dataclass(frozen=True)
class Divergence:
    """One difference between a stored table and the audit: the table, the row's key, the
    column (``*`` for a whole row), the stored value and the audited value."""

    table: str
    key: str
    column: str
    stored: object
    audited: object

    def describe(self) -> str:
        where = f"{self.table} {self.key}"
        if self.table == "audit":  # the audit contradicts itself; ``column`` says how
            return f"{where}: {self.column}"
        if self.column == ROW and self.audited is ABSENT:
            return f"{where}: a stored row the audit never created"
        if self.column == ROW:
            return f"{where}: the audit created this row, but it is not stored"
        return f"{where} {self.column}: stored {self.stored!r}, audit says {self.audited!r}"


def divergences(conn: sqlite3.Connection, audit: Iterable[Mapping[str, Any]]) -> list[Divergence]:
    """Replay ``audit`` (every record, in ``seq`` order) and compare it with the tables."""
    replay = _Replay()
    for record in audit:
        replay.apply(record)
    return [
        *replay.problems,
        *_compare_actions(conn, replay.actions),
        *_compare_cases(conn, replay.cases),
        *_compare_resolutions(conn, replay.resolutions),
        *_compare_feedback(conn, replay.feedback, replay.coverage),
        *_compare_suppressions(conn, replay.suppressions),
        *_compare_settings(conn, replay.autonomy),
        *_compare_alerts(conn, replay.alerts),
    ]


@dataclass
class _Case:
    """A case as the audit describes it (a freshly opened case to start with)."""

    alert_count: int = 1
    dirty: int = 1
    merged_into: str | None = None
    status: object = "new"  # UNKNOWN while the newest revision's verdict record is missing
    revision: int = 0
    # The newest revision's fields that its records establish (ANALYSIS_FIELDS).
    analysis: dict[str, object] = field(default_factory=dict)


@dataclass
class _Alert:
    case_id: str
    duplicate_of: object
    source: object
    source_alert_id: object


class _Replay:
    """The state the audit describes, built one record at a time."""

    def __init__(self) -> None:
        self.actions: dict[int, dict[str, Any]] = {}
        self.cases: dict[str, _Case] = {}
        self.alerts: dict[str, _Alert] = {}
        self.case_alerts: dict[str, set[str]] = {}
        self.resolutions: dict[str, dict[str, object]] = {}
        self.feedback: dict[object, dict[str, object]] = {}
        self.coverage: dict[str, dict[str, object]] = {}
        self.suppressions: dict[object, dict[str, object]] = {}
        self.autonomy: object = ABSENT
        self.problems: list[Divergence] = []

    def apply(self, record: Mapping[str, Any]) -> None:
        payload = record["payload"]
        if not isinstance(payload, dict):
            return
        kind, case_id = record["kind"], record["case_id"]
        if self._action(record["seq"], payload):
            return  # whatever its kind: not a correlation, a saved analysis or a setting
        if kind == "correlation" and case_id:
            self._correlate(case_id, payload)
        elif kind in ("priority", "decision", "verdict") and case_id:
            self._analysis(case_id, kind, payload)
        elif kind == "resolution" and case_id:
            self.resolutions[case_id] = {
                "verdict": payload.get("verdict"),
                "analyst": record["actor"],
                "note": payload.get("note"),
                "resolved_at": record["ts"],
            }
        elif kind == "autonomy" and "autonomy" in payload:
            self.autonomy = payload["autonomy"]
        elif kind == "feedback" and case_id:
            self._feedback(record, payload)
        elif kind == "suppression" and isinstance(payload.get("row"), dict):
            row = dict(payload["row"])
            self.suppressions[row.pop("id", None)] = row

    def _feedback(self, record: Mapping[str, Any], payload: dict[str, Any]) -> None:
        feedback_id = payload.get("feedback_id")
        self.feedback[feedback_id] = {
            "kind": payload.get("kind"),
            "case_id": record["case_id"],
            "person": record["actor"],
            "verdict": payload.get("verdict"),
            "at": record["ts"],
            "alerts": payload.get("alerts"),
        }
        for entry in payload.get("coverage") or ():
            detection, host, alerts, severity = entry
            key = f"{feedback_id}/{detection}/{host}"
            self.coverage[key] = {"alerts": alerts, "max_severity": severity}

    # -- actions ---------------------------------------------------------------------------

    def _action(self, seq: int, payload: dict[str, Any]) -> bool:
        """Apply a record about an action row, if it is one (the action-row contract)."""
        row = payload.get("row")
        if isinstance(row, dict) and "idempotency_key" in row:
            self._create_action(seq, row)
        elif {"action_id", "from", "to"} <= payload.keys():
            self._change_action(seq, payload)
        else:
            return False
        return True

    def _create_action(self, seq: int, row: dict[str, Any]) -> None:
        action_id = row.get("id")
        if not isinstance(action_id, int):
            self._contradiction(seq, f"creates an action row without an integer id ({action_id!r})")
        elif action_id in self.actions:
            self._contradiction(seq, f"creates action id={action_id} a second time")
        else:
            self.actions[action_id] = dict(row)

    def _change_action(self, seq: int, payload: dict[str, Any]) -> None:
        action_id = payload["action_id"]
        row = self.actions.get(action_id)
        if row is None:
            self._contradiction(seq, f"changes action id={action_id}, which no record created")
            return
        if row.get("status") != payload["from"]:
            self._contradiction(
                seq,
                f"changes action id={action_id} from {payload['from']!r}, but the audit had "
                f"left it {row.get('status')!r}",
            )
        changes = payload.get("set")
        row.update(changes if isinstance(changes, dict) else {})
        row["status"] = payload["to"]

    def _contradiction(self, seq: int, what: str) -> None:
        """The audit contradicts itself (it cannot, if every change was audited as it happened)."""
        self.problems.append(Divergence("audit", f"seq {seq}", what, ABSENT, ABSENT))

    # -- cases and alerts --------------------------------------------------------------------

    def _correlate(self, case_id: str, payload: dict[str, Any]) -> None:
        """What ``record_joins`` did: merge the named cases into this one, then open it or
        add the alert to it."""
        for merged in payload.get("merged_case_ids") or ():
            self._merge(str(merged), case_id)
        case = self.cases.get(case_id)
        if case is None:
            self.cases[case_id] = _Case()
        else:
            case.alert_count += 1
            case.dirty = 1
        alert_id = payload.get("alert_id")
        if isinstance(alert_id, str):
            previous = self.alerts.get(alert_id)
            if previous is not None:  # correlated again: it moved
                self.case_alerts[previous.case_id].discard(alert_id)
            self.alerts[alert_id] = _Alert(
                case_id,
                payload.get("duplicate_of"),
                payload.get("source"),
                payload.get("source_alert_id"),
            )
            self.case_alerts.setdefault(case_id, set()).add(alert_id)

    def _merge(self, source: str, into: str) -> None:
        merged, target = self.cases.get(source), self.cases.get(into)
        if merged is None:
            return  # as the store does: nothing to merge
        if target is not None:
            target.alert_count += merged.alert_count
            target.dirty = 1
        merged.alert_count, merged.dirty = 0, 0
        merged.merged_into, merged.status = into, "merged"
        moved = self.case_alerts.pop(source, set())
        for alert_id in moved:
            self.alerts[alert_id].case_id = into
        self.case_alerts.setdefault(into, set()).update(moved)

    def _analysis(self, case_id: str, kind: str, payload: dict[str, Any]) -> None:
        """One record of a saved analysis (``save_analysis`` writes them with the row)."""
        revision = payload.get("revision")
        case = self.cases.get(case_id)
        if case is None or not isinstance(revision, int):
            return  # decisions made at execution carry no revision: not a saved analysis
        if revision > case.revision:
            case.revision, case.dirty, case.analysis = revision, 0, {}
            case.status = UNKNOWN  # until this revision's verdict record says
        if revision != case.revision:
            return
        if kind == "priority":
            case.analysis["priority"] = payload.get("priority")
        elif kind == "verdict":
            for name in ("status", "verdict", "confidence"):
                case.analysis[name] = payload.get(name)
            if case.merged_into is None:
                case.status = payload.get("status")
                # Alerts that joined while the analysis ran keep the case dirty (save_analysis).
                seen = payload.get("alerts_seen")
                if isinstance(seen, int) and seen != case.alert_count:
                    case.dirty = 1


def _rows(conn: sqlite3.Connection, sql: str) -> Iterator[dict[str, Any]]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def _compare_rows(
    table: str,
    stored: Mapping[Any, Mapping[str, Any]],
    audited: Mapping[Any, Mapping[str, Any]],
    key_name: str,
) -> Iterator[Divergence]:
    """Whole rows on one side only, then every column (of either side) that differs; a value
    the audit does not establish (UNKNOWN) is skipped."""
    for key in sorted(stored.keys() | audited.keys(), key=_natural):
        label = f"{key_name}={key}"
        have, want = stored.get(key), audited.get(key)
        if have is None or want is None:
            yield Divergence(
                table,
                label,
                ROW,
                ABSENT if have is None else "row",
                ABSENT if want is None else "row",
            )
            continue
        for column in sorted(have.keys() | want.keys()):
            value, expected = have.get(column, ABSENT), want.get(column, ABSENT)
            if expected is UNKNOWN:
                continue
            if value != expected:
                yield Divergence(table, label, column, value, expected)


def _natural(key: object) -> tuple[int, str]:
    """Sort 2 before 10 and C-2 before C-10 (keys of one table share a prefix)."""
    text = str(key)
    return len(text), text


def _compare_actions(
    conn: sqlite3.Connection, audited: Mapping[int, Mapping[str, Any]]
) -> Iterator[Divergence]:
    stored = {row["id"]: row for row in _rows(conn, "SELECT * FROM actions")}
    return _compare_rows("actions", stored, audited, "id")


def _compare_cases(conn: sqlite3.Connection, cases: Mapping[str, _Case]) -> Iterator[Divergence]:
    stored: dict[str, dict[str, Any]] = {}
    for row in _rows(
        conn,
        "SELECT id, status, verdict, priority, confidence, revision, merged_into, alert_count,"
        " dirty, analysis FROM cases",
    ):
        raw = row.pop("analysis")
        analysis = json.loads(raw) if raw else {}
        for name in ANALYSIS_FIELDS:
            row[f"analysis.{name}"] = analysis.get(name, ABSENT)
        stored[row.pop("id")] = row
    return _compare_rows("cases", stored, {k: _case_row(c) for k, c in cases.items()}, "id")


def _case_row(case: _Case) -> dict[str, object]:
    """The columns the audit establishes for one case."""
    row: dict[str, object] = {
        "status": case.status,
        "revision": case.revision,
        "merged_into": case.merged_into,
        "alert_count": case.alert_count,
        "dirty": case.dirty,
    }
    for name in ANALYSIS_FIELDS:
        if case.revision:  # what the newest revision's records say
            row[f"analysis.{name}"] = case.analysis.get(name, UNKNOWN)
            if name != "status":
                row[name] = case.analysis.get(name, UNKNOWN)
        else:  # never analysed: no analysis, the columns still empty
            row[f"analysis.{name}"] = ABSENT
            if name != "status":
                row[name] = None
    return row


def _compare_resolutions(
    conn: sqlite3.Connection, audited: Mapping[str, Mapping[str, object]]
) -> Iterator[Divergence]:
    stored = {row.pop("case_id"): row for row in _rows(conn, "SELECT * FROM resolutions")}
    return _compare_rows("resolutions", stored, audited, "case_id")


def _compare_feedback(
    conn: sqlite3.Connection,
    audited: Mapping[object, Mapping[str, object]],
    coverage: Mapping[str, Mapping[str, object]],
) -> Iterator[Divergence]:
    stored = {row.pop("id"): row for row in _rows(conn, "SELECT * FROM feedback")}
    yield from _compare_rows("feedback", stored, audited, "id")
    covered = {
        f"{row.pop('feedback_id')}/{row.pop('detection_id')}/{row.pop('host')}": row
        for row in _rows(conn, "SELECT * FROM feedback_coverage")
    }
    yield from _compare_rows("feedback_coverage", covered, coverage, "pair")


def _compare_suppressions(
    conn: sqlite3.Connection, audited: Mapping[object, Mapping[str, object]]
) -> Iterator[Divergence]:
    stored = {}
    for row in _rows(conn, "SELECT * FROM suppressions"):
        row["evidence"] = json.loads(row["evidence"])
        stored[row.pop("id")] = row
    return _compare_rows("suppressions", stored, audited, "id")


def _compare_settings(conn: sqlite3.Connection, autonomy: object) -> Iterator[Divergence]:
    stored = dict(conn.execute("SELECT key, value FROM settings"))
    if stored.get("autonomy", ABSENT) != autonomy:
        yield Divergence(
            "settings", "key=autonomy", "value", stored.get("autonomy", ABSENT), autonomy
        )
    for key in sorted(stored.keys() - UNAUDITED_SETTINGS - {"autonomy"}):
        yield Divergence("settings", f"key={key}", "value", stored[key], ABSENT)


def _compare_alerts(
    conn: sqlite3.Connection, audited: Mapping[str, _Alert]
) -> Iterator[Divergence]:
    """Correlated alerts only: an alert not correlated yet has no case and no record."""
    stored = {
        row.pop("id"): row
        for row in _rows(
            conn,
            "SELECT id, case_id, duplicate_of, source, source_alert_id FROM alerts"
            " WHERE case_id IS NOT NULL",
        )
    }
    missing = [alert_id for alert_id in audited if alert_id not in stored]
    for alert_id in missing:  # named by the audit but unassigned or gone
        row = conn.execute(
            "SELECT case_id, duplicate_of, source, source_alert_id FROM alerts WHERE id = ?",
            (alert_id,),
        ).fetchone()
        if row is not None:
            stored[alert_id] = dict(
                zip(("case_id", "duplicate_of", "source", "source_alert_id"), row, strict=True)
            )
    expected = {alert_id: dict(vars(alert)) for alert_id, alert in audited.items()}
    return _compare_rows("alerts", stored, expected, "id")
