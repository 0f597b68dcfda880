"""What tierzero learns from people: their dispositions (feedback) and the suppression rules
proposed from them.

**Feedback** is a person's disposition of a case: a resolution with a verdict, an answer to an
approval, an auto-closed case a person called a true positive (``reopened``). Each row says
who, when, which verdict, and what it covered: for every (detection, host) pair of the case's
alerts, how many distinct alerts and their highest severity, repeats included (from
``sightings``, the rows baselines count; alerts naming no host cover no pair). Only the store's
own writers of those dispositions add feedback, in the same transaction as the disposition and
with a ``feedback`` audit record carrying the whole row: nothing a model, a playbook or an
alert's text says is ever feedback.

A **suppression** is one narrow rule: this detection, on this host (or, ``*``, on every host
where it is routine), up to this severity. It is
proposed from feedback only, answered by a person, and every change of it is a ``suppression``
audit record carrying the whole row (``audit verify --state`` replays both tables). An approved
rule is in *shadow* until ``shadow_until`` (it only counts what it would close), then *in
force* until ``expires_at``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from tierzero.store import audit as chain
from tierzero.store.connection import Connected

FeedbackKind = Literal["resolution", "approval", "reopened"]
SuppressionStatus = Literal["proposed", "approved", "rejected", "expired", "disabled"]
LIVE_STATUSES = ("proposed", "approved")  # one live rule per (detection, host)

SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    case_id TEXT NOT NULL,
    person TEXT NOT NULL,
    verdict TEXT NOT NULL,
    at TEXT NOT NULL,
    alerts INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_case ON feedback (case_id, id);
-- What one disposition covered: per (detection, host) of the case's alerts.
CREATE TABLE IF NOT EXISTS feedback_coverage (
    feedback_id INTEGER NOT NULL,
    detection_id TEXT NOT NULL,
    host TEXT NOT NULL,
    alerts INTEGER NOT NULL,
    max_severity INTEGER NOT NULL,
    PRIMARY KEY (feedback_id, detection_id, host)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feedback_pair ON feedback_coverage (detection_id, host);
-- Repeats of an alert, for the rate baselines (a flood of one alert is mostly repeats).
CREATE INDEX IF NOT EXISTS alerts_repeats ON alerts (duplicate_of) WHERE duplicate_of IS NOT NULL;
CREATE TABLE IF NOT EXISTS suppressions (
    id INTEGER PRIMARY KEY,
    detection_id TEXT NOT NULL,
    host TEXT NOT NULL,
    max_severity INTEGER NOT NULL,
    status TEXT NOT NULL,
    evidence TEXT NOT NULL,
    proposed_at TEXT NOT NULL,
    answered_by TEXT,
    answered_at TEXT,
    reason TEXT,
    shadow_until TEXT,
    expires_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS suppressions_live ON suppressions (detection_id, host)
    WHERE status IN ('proposed', 'approved');
"""


@dataclass(frozen=True)
class Coverage:
    """One (detection, host) pair a disposition covered."""

    detection_id: str
    host: str
    alerts: int
    max_severity: int


@dataclass(frozen=True)
class Feedback:
    """A person's disposition of a case, and what it covered."""

    id: int
    kind: str
    case_id: str
    person: str
    verdict: str
    at: datetime
    alerts: int
    coverage: tuple[Coverage, ...]


@dataclass(frozen=True)
class Suppression:
    """One learned suppression rule and its state."""

    id: int
    detection_id: str
    host: str
    max_severity: int
    status: str
    evidence: dict[str, Any]
    proposed_at: str
    answered_by: str | None
    answered_at: str | None
    reason: str | None
    shadow_until: str | None
    expires_at: str

    @property
    def rule_id(self) -> str:
        """How a case cites it (the auto-close rule id)."""
        return f"learned:S-{self.id}"

    def phase(self, now: datetime) -> str:
        """proposed, shadow, in_force, expired, rejected or disabled, as of ``now``."""
        if self.status in ("rejected", "expired", "disabled"):
            return self.status
        if datetime.fromisoformat(self.expires_at) <= now:
            return "expired"
        if self.status == "proposed":
            return "proposed"
        if self.shadow_until and now < datetime.fromisoformat(self.shadow_until):
            return "shadow"
        return "in_force"

    def row(self) -> dict[str, Any]:
        """The whole row as the audit carries it."""
        return asdict(self)


class PairSightings(Connected):
    """Reads of ``sightings`` a learned rule's check needs (kept with the learning tables)."""

    def case_pairs(self, case_id: str) -> list[tuple[str, str, int, int, int]]:
        """Per (detection, host) of the case's alerts: distinct alerts, worst severity (their
        repeats included: a repeat may carry a higher severity), newest sighting (us)."""
        rows = self.conn.execute(
            "SELECT s.detection_id, s.host, COUNT(*), MAX(MAX(a.severity_id), COALESCE(("
            "  SELECT MAX(d.severity_id) FROM alerts d WHERE d.duplicate_of = s.alert_id), 0)),"
            " MAX(s.time_us) FROM sightings s JOIN alerts a ON a.id = s.alert_id"
            " WHERE s.case_id = ? AND s.host != '' GROUP BY s.detection_id, s.host",
            (case_id,),
        ).fetchall()
        return [(r[0], r[1], int(r[2]), int(r[3]), int(r[4])) for r in rows]

    def case_max_severity(self, case_id: str) -> int:
        """The worst severity of any alert of the case, repeats included."""
        row = self.conn.execute(
            "SELECT MAX(severity_id) FROM alerts WHERE case_id = ?", (case_id,)
        ).fetchone()
        return int(row[0] or 0)

    def case_techniques(self, case_id: str) -> list[tuple[str, str, int]]:
        """(technique, host, first time us) of every alert of the case, repeats included,
        from the structured ATT&CK field (a repeat is placed on its original's hosts)."""
        rows = self.conn.execute(
            "SELECT json_extract(j.value, '$.technique_uid'), s.host, MIN(a.time_us)"
            " FROM alerts a, json_each(a.body, '$.finding_info.attacks') j"
            " JOIN sightings s ON s.alert_id = COALESCE(a.duplicate_of, a.id)"
            " WHERE a.case_id = ? AND json_extract(j.value, '$.technique_uid') IS NOT NULL"
            " GROUP BY 1, 2",
            (case_id,),
        ).fetchall()
        return [(str(r[0]), str(r[1]), int(r[2])) for r in rows]

    def hostless_alerts(self, case_id: str) -> int:
        """Distinct alerts of the case that name no host (their sighting's host is '')."""
        return int(
            self.conn.execute(
                "SELECT COUNT(DISTINCT alert_id) FROM sightings WHERE case_id = ? AND host = ''",
                (case_id,),
            ).fetchone()[0]
        )

    def hourly_counts(
        self, detection_id: str, host: str, since_us: int, before_us: int
    ) -> dict[int, int]:
        """Alerts per clock hour (hours since the epoch) of one detection on one host, their
        repeats included (a flood of one alert is mostly repeats), counted in the hour of the
        alert they repeat."""
        rows = self.conn.execute(
            "SELECT s.time_us / 3600000000, COUNT(*) + SUM(("
            "  SELECT COUNT(*) FROM alerts d WHERE d.duplicate_of = s.alert_id))"
            " FROM sightings s WHERE s.detection_id = ? AND s.host = ?"
            " AND s.time_us >= ? AND s.time_us < ? GROUP BY 1",
            (detection_id, host, since_us, before_us),
        ).fetchall()
        return {int(h): int(n) for h, n in rows}

    def case_hosts(self, case_id: str) -> list[str]:
        """The hosts the case's alerts name (as sightings key them)."""
        rows = self.conn.execute(
            "SELECT DISTINCT host FROM sightings WHERE case_id = ? AND host != ''", (case_id,)
        ).fetchall()
        return sorted(str(r[0]) for r in rows)

    def open_cases_on(self, hosts: list[str], case_id: str, since_us: int) -> list[str]:
        """Other live cases on any of ``hosts``, seen since ``since_us``, that look like an
        attack (analysed a true positive, or P1/P2) and wait for a person: escalated or
        awaiting approval, and not resolved since their last analysis."""
        if not hosts:
            return []
        marks = ",".join("?" * len(hosts))
        rows = self.conn.execute(
            "SELECT DISTINCT c.id FROM cases c JOIN sightings s ON s.case_id = c.id"
            f" WHERE s.host IN ({marks}) AND c.id != ? AND c.merged_into IS NULL"
            " AND c.status IN ('escalated', 'awaiting_approval') AND c.last_seen_us >= ?"
            " AND (c.verdict = 'true_positive' OR c.priority IN ('P1', 'P2'))"
            " AND NOT EXISTS (SELECT 1 FROM resolutions r WHERE r.case_id = c.id"
            "  AND r.resolved_at >= c.updated_at) ORDER BY c.id",
            (*hosts, case_id, since_us),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def true_positives_on(self, hosts: list[str], since: datetime) -> list[tuple[str, str]]:
        """(case, host): people's true-positive verdicts since ``since`` on cases that named
        one of ``hosts``."""
        if not hosts:
            return []
        marks = ",".join("?" * len(hosts))
        rows = self.conn.execute(
            "SELECT DISTINCT f.case_id, c.host FROM feedback f"
            " JOIN feedback_coverage c ON c.feedback_id = f.id"
            f" WHERE f.verdict = 'true_positive' AND f.at >= ? AND c.host IN ({marks})"
            " ORDER BY f.case_id, c.host",
            (since.isoformat(), *hosts),
        ).fetchall()
        return [(str(r[0]), str(r[1])) for r in rows]

    def technique_seen(self, host: str, technique: str, since_us: int, before_us: int) -> bool:
        """Whether an alert on ``host`` carried ``technique`` (its structured ATT&CK field,
        never its text) in [since, before)."""
        row = self.conn.execute(
            "SELECT 1 FROM sightings s JOIN alerts a ON a.id = s.alert_id,"
            " json_each(a.body, '$.finding_info.attacks') j"
            " WHERE s.host = ? AND s.time_us >= ? AND s.time_us < ?"
            " AND json_extract(j.value, '$.technique_uid') = ? LIMIT 1",
            (host, since_us, before_us, technique),
        ).fetchone()
        return row is not None


class LearningTables(PairSightings):
    """The ``feedback``, ``feedback_coverage`` and ``suppressions`` tables."""

    # -- feedback ------------------------------------------------------------------------------

    def add_feedback(
        self,
        conn: sqlite3.Connection,
        kind: FeedbackKind,
        case_id: str,
        person: str,
        verdict: str,
        now: datetime,
    ) -> Feedback:
        """Store one disposition with what it covered, and its audit record; called inside
        the transaction that records the disposition itself."""
        coverage = tuple(
            Coverage(detection, host, alerts, severity)
            for detection, host, alerts, severity, _ in sorted(self.case_pairs(case_id))
        )
        alerts = conn.execute(
            "SELECT COUNT(*) FROM alerts WHERE case_id = ?", (case_id,)
        ).fetchone()[0]
        cursor = conn.execute(
            "INSERT INTO feedback (kind, case_id, person, verdict, at, alerts)"
            " VALUES (?,?,?,?,?,?)",
            (kind, case_id, person, verdict, now.isoformat(), alerts),
        )
        feedback_id = int(cursor.lastrowid or 0)
        conn.executemany(
            "INSERT INTO feedback_coverage VALUES (?,?,?,?,?)",
            [(feedback_id, c.detection_id, c.host, c.alerts, c.max_severity) for c in coverage],
        )
        done = Feedback(feedback_id, kind, case_id, person, verdict, now, alerts, coverage)
        chain.append(
            conn,
            kind="feedback",
            actor=person,
            case_id=case_id,
            ts=now,
            payload=feedback_payload(done),
        )
        if verdict == "true_positive":
            self._disable_contradicted(conn, done, now)
        return done

    def _disable_contradicted(
        self, conn: sqlite3.Connection, feedback: Feedback, now: datetime
    ) -> None:
        """A true positive in a case the live rules would have closed (each of its pairs has
        a rule: its own, or its detection's group rule ``*``) disables those rules at once."""
        live = conn.execute(
            "SELECT id, detection_id, host FROM suppressions"
            " WHERE status IN ('proposed', 'approved')"
        ).fetchall()
        covering: set[int] = set()
        for c in feedback.coverage:
            rules = [r for r in live if r[1] == c.detection_id and r[2] in (c.host, "*")]
            if not rules:
                return  # an alert no rule covers: the rules would not have closed the case
            covering.update(r[0] for r in rules)
        reason = f"contrary verdict: {feedback.case_id} resolved true_positive"
        for rule_id in sorted(covering):
            conn.execute(
                "UPDATE suppressions SET status = 'disabled', answered_by = ?,"
                " answered_at = ?, reason = ? WHERE id = ?",
                (feedback.person, now.isoformat(), reason, rule_id),
            )
            self._audited(conn, rule_id, feedback.person, "disabled", now)

    def feedback(self, case_id: str | None = None) -> list[Feedback]:
        """Every disposition (or one case's), oldest first, with its coverage."""
        sql = "SELECT * FROM feedback" + (" WHERE case_id = ?" if case_id else "") + " ORDER BY id"
        rows = self.conn.execute(sql, (case_id,) if case_id else ()).fetchall()
        covered: dict[int, list[Coverage]] = {}
        for r in self.conn.execute("SELECT * FROM feedback_coverage ORDER BY feedback_id"):
            covered.setdefault(r["feedback_id"], []).append(
                Coverage(r["detection_id"], r["host"], r["alerts"], r["max_severity"])
            )
        return [
            Feedback(
                r["id"],
                r["kind"],
                r["case_id"],
                r["person"],
                r["verdict"],
                datetime.fromisoformat(r["at"]),
                r["alerts"],
                tuple(covered.get(r["id"], ())),
            )
            for r in rows
        ]

    def pair_verdicts(self, since: datetime) -> list[tuple[str, str, int, str, str, str, str, int]]:
        """Every person's verdict since ``since`` on a case, per (detection, host) pair it
        covered: (detection, host, feedback id, case, verdict, person, at, max severity). A
        case resolved again after new alerts joined it is a verdict again."""
        rows = self.conn.execute(
            "SELECT c.detection_id, c.host, f.id, f.case_id, f.verdict, f.person, f.at,"
            " c.max_severity FROM feedback f JOIN feedback_coverage c ON c.feedback_id = f.id"
            " WHERE f.kind IN ('resolution', 'reopened') AND f.at >= ?",
            (since.isoformat(),),
        ).fetchall()
        return [tuple(r) for r in rows]

    # -- suppressions --------------------------------------------------------------------------

    def suppressions(self, statuses: tuple[str, ...] = ()) -> list[Suppression]:
        """Every rule (or those in ``statuses``), newest first."""
        sql = "SELECT * FROM suppressions"
        if statuses:
            sql += f" WHERE status IN ({','.join('?' * len(statuses))})"
        rows = self.conn.execute(sql + " ORDER BY id DESC", statuses).fetchall()
        return [_suppression(r) for r in rows]

    def suppression(self, rule_id: int) -> Suppression | None:
        row = self.conn.execute("SELECT * FROM suppressions WHERE id = ?", (rule_id,)).fetchone()
        return _suppression(row) if row is not None else None

    def propose_suppression(
        self,
        detection_id: str,
        host: str,
        max_severity: int,
        evidence: dict[str, Any],
        now: datetime,
        expires_at: datetime,
    ) -> Suppression | None:
        """Add a proposal (audited); None when a live rule for the pair exists already."""
        with self.transaction() as conn:
            try:
                cursor = conn.execute(
                    "INSERT INTO suppressions (detection_id, host, max_severity, status,"
                    " evidence, proposed_at, expires_at) VALUES (?,?,?,?,?,?,?)",
                    (
                        detection_id,
                        host,
                        max_severity,
                        "proposed",
                        json.dumps(evidence, sort_keys=True),
                        now.isoformat(),
                        expires_at.isoformat(),
                    ),
                )
            except sqlite3.IntegrityError:
                return None
            rule = self._audited(conn, int(cursor.lastrowid or 0), "learning", "proposed", now)
        return rule

    def change_suppression(
        self,
        rule_id: int,
        allowed_from: tuple[str, ...],
        status: SuppressionStatus,
        actor: str,
        reason: str,
        now: datetime,
        shadow_until: datetime | None = None,
        expires_at: datetime | None = None,
    ) -> Suppression:
        """Move a rule from one of ``allowed_from`` to ``status`` (compare-and-set, audited).
        ValueError naming the rule's status when it is not in ``allowed_from``."""
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM suppressions WHERE id = ?", (rule_id,)).fetchone()
            if row is None:
                raise ValueError(f"no suppression S-{rule_id}")
            if row["status"] not in allowed_from:
                raise ValueError(f"suppression S-{rule_id} is {row['status']}")
            conn.execute(
                "UPDATE suppressions SET status = ?, answered_by = ?, answered_at = ?,"
                " reason = ?, shadow_until = COALESCE(?, shadow_until),"
                " expires_at = COALESCE(?, expires_at) WHERE id = ?",
                (
                    status,
                    actor,
                    now.isoformat(),
                    reason,
                    shadow_until.isoformat() if shadow_until else None,
                    expires_at.isoformat() if expires_at else None,
                    rule_id,
                ),
            )
            return self._audited(conn, rule_id, actor, status, now)

    def _audited(
        self, conn: sqlite3.Connection, rule_id: int, actor: str, change: str, now: datetime
    ) -> Suppression:
        row = conn.execute("SELECT * FROM suppressions WHERE id = ?", (rule_id,)).fetchone()
        rule = _suppression(row)
        chain.append(
            conn,
            kind="suppression",
            actor=actor,
            case_id=None,
            ts=now,
            payload={"change": change, "row": rule.row()},
        )
        return rule

    def closures(self) -> dict[str, tuple[int, int]]:
        """Per rule id (``learned:S-N``): the cases it closed and the cases it would have
        closed in shadow, as the cases' current analyses say."""
        counts: dict[str, list[int]] = {}
        rows = self.conn.execute(
            "SELECT json_extract(analysis, '$.prioritization.learned_rules'),"
            " json_extract(analysis, '$.prioritization.shadow_rules') FROM cases"
            " WHERE merged_into IS NULL AND analysis IS NOT NULL AND ("
            " json_array_length(json_extract(analysis, '$.prioritization.learned_rules')) > 0"
            " OR json_array_length(json_extract(analysis, '$.prioritization.shadow_rules')) > 0)"
        )
        for closing, shadow in rows:
            for index, rules in enumerate((closing, shadow)):
                for rule in json.loads(rules or "[]"):
                    counts.setdefault(str(rule), [0, 0])[index] += 1
        return {rule: (n[0], n[1]) for rule, n in counts.items()}


def feedback_payload(feedback: Feedback) -> dict[str, Any]:
    """The whole feedback row as its audit record carries it."""
    return {
        "feedback_id": feedback.id,
        "kind": feedback.kind,
        "verdict": feedback.verdict,
        "alerts": feedback.alerts,
        "coverage": [[c.detection_id, c.host, c.alerts, c.max_severity] for c in feedback.coverage],
    }


def _suppression(row: sqlite3.Row) -> Suppression:
    return Suppression(
        row["id"],
        row["detection_id"],
        row["host"],
        row["max_severity"],
        row["status"],
        json.loads(row["evidence"]),
        row["proposed_at"],
        row["answered_by"],
        row["answered_at"],
        row["reason"],
        row["shadow_until"],
        row["expires_at"],
    )
