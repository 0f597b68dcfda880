"""Replaying the audit into the tables it describes: merges, analyses, and action rows written
by the action-row contract (creation audited with the whole row; each change with its status
before and after and the other columns set)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW
from tests.factories import make_alert
from tierzero.correlate.engine import Join
from tierzero.store import audit as chain
from tierzero.store.audit_replay import ABSENT, ROW, Divergence, divergences
from tierzero.store.sqlite import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "s.db")
    return store


def replayed(store: Store) -> list[Divergence]:
    return divergences(store.conn, store.audit_records())


def edit(store: Store, sql: str, params: tuple[object, ...] = ()) -> None:
    store.conn.execute(sql, params)


# -- actions, written as the contract says ------------------------------------------------------


def create_action(store: Store, target: str, status: str = "pending_approval") -> int:
    """Insert an action row and audit its creation with the row, in one transaction."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO actions (idempotency_key, case_id, action, action_class, target,"
            " status, rule_id, reason, requested_by, decided_at, approval_due)"
            " VALUES (?, 'C-1', 'isolate_host', 'contain', ?, ?, 'tier.default', 'why',"
            " 'playbook:x', ?, ?)",
            (f"key-{target}", target, status, NOW.isoformat(), NOW.isoformat()),
        )
        row = dict(
            conn.execute("SELECT * FROM actions WHERE id = ?", (cursor.lastrowid,)).fetchone()
        )
        chain.append(
            conn, kind="decision", actor="guardrails", case_id="C-1", ts=NOW, payload={"row": row}
        )
    return int(row["id"])


def change_action(store: Store, action_id: int, to: str, **columns: Any) -> None:
    """Change a row's status (and other columns), audited with from, to and set."""
    with store.transaction() as conn:
        (before,) = conn.execute("SELECT status FROM actions WHERE id = ?", (action_id,)).fetchone()
        chain.append(
            conn,
            kind="approval",
            actor="sam",
            case_id="C-1",
            ts=NOW,
            payload={"action_id": action_id, "from": before, "to": to, "set": columns},
        )
        sets = ", ".join(f"{name} = ?" for name in ("status", *columns))
        conn.execute(f"UPDATE actions SET {sets} WHERE id = ?", (to, *columns.values(), action_id))


def test_action_rows_replay_column_for_column(store: Store) -> None:
    first = create_action(store, "LT-1")
    second = create_action(store, "DC-01")
    change_action(store, first, "approved", approved_by="sam")
    change_action(store, first, "executed", executed_at=NOW.isoformat(), result="done")
    change_action(store, first, "executed", reminded=1)  # a change without a new status
    change_action(store, second, "denied", approved_by="sam")
    assert replayed(store) == []

    edit(store, "UPDATE actions SET status = 'pending_approval' WHERE id = ?", (second,))
    edit(store, "UPDATE actions SET approved_by = 'mallory', reminded = 0 WHERE id = ?", (first,))
    assert replayed(store) == [
        Divergence("actions", f"id={first}", "approved_by", "mallory", "sam"),
        Divergence("actions", f"id={first}", "reminded", 0, 1),
        Divergence("actions", f"id={second}", "status", "pending_approval", "denied"),
    ]


def test_an_action_row_without_its_creation_record_is_reported(store: Store) -> None:
    create_action(store, "LT-1")
    edit(
        store,
        "INSERT INTO actions (idempotency_key, case_id, action, action_class, target, status,"
        " rule_id, reason, requested_by, decided_at) VALUES ('k', 'C-1', 'isolate_host',"
        " 'contain', 'DC-01', 'approved', 'x', 'x', 'x', 'x')",
    )
    assert replayed(store) == [Divergence("actions", "id=2", ROW, "row", ABSENT)]


def test_an_audit_that_contradicts_itself_is_reported(store: Store) -> None:
    action = create_action(store, "LT-1")
    with store.transaction() as conn:  # a change from a status the row was never in
        chain.append(
            conn,
            kind="approval",
            actor="sam",
            case_id="C-1",
            ts=NOW,
            payload={"action_id": action, "from": "denied", "to": "approved", "set": {}},
        )
        chain.append(
            conn,
            kind="approval",
            actor="sam",
            case_id="C-1",
            ts=NOW,
            payload={"action_id": 42, "from": "denied", "to": "approved", "set": {}},
        )
        conn.execute("UPDATE actions SET status = 'approved' WHERE id = ?", (action,))
    found = replayed(store)
    assert [d.table for d in found] == ["audit", "audit"]
    assert "from 'denied', but the audit had left it 'pending_approval'" in found[0].describe()
    assert "action id=42, which no record created" in found[1].describe()


# -- cases: correlation with a merge, analyses, resolutions -------------------------------------


def correlate(store: Store) -> list[str]:
    """Three alerts: two open cases, the third joins both (C-2 merged into C-1); a repeat."""
    a = make_alert(hosts=("ws-1",))
    b = make_alert(users=("bob",), minutes=1)
    c = make_alert(hosts=("ws-1",), users=("bob",), minutes=2)
    d = make_alert(hosts=("ws-1",), minutes=3)
    store.add_alerts([a, b, c, d])
    store.record_joins(
        [
            (Join(a.id, "C-1", "new_case", ("host:ws-1",)), a),
            (Join(b.id, "C-2", "new_case", ("user:bob",)), b),
            (Join(c.id, "C-1", "merged", ("host:ws-1", "user:bob"), merged_case_ids=("C-2",)), c),
            (Join(d.id, "C-1", "duplicate", ("host:ws-1",), duplicate_of=a.id), d),
        ],
        NOW,
    )
    return [a.id, b.id, c.id, d.id]


def analyse(
    store: Store,
    revision: int,
    verdict: str = "true_positive",
    priority: bool = True,
    verdict_record: bool = True,
    case_id: str = "C-1",
    alerts_seen: int | None = -1,
) -> None:
    """Save an analysis as the graph would. ``alerts_seen``: the case's alert count when it
    began (-1: the count now; None: a revision resumed by an approval answer)."""
    if alerts_seen == -1:
        row = store.case(case_id)
        alerts_seen = row.alert_count if row else 0
    analysis = {
        "status": "escalated",
        "verdict": verdict,
        "priority": "P2",
        "confidence": 0.8,
        "title": "t",
    }
    records: list[tuple[chain.AuditKind, str, dict[str, Any]]] = []
    if priority:
        records.append(("priority", "prioritize", {"revision": revision, "priority": "P2"}))
    if verdict_record:
        seen = {} if alerts_seen is None else {"alerts_seen": alerts_seen}
        records.append(
            (
                "verdict",
                "offline",
                {
                    "revision": revision,
                    **seen,
                    "status": "escalated",
                    "verdict": verdict,
                    "confidence": 0.8,
                },
            )
        )
    at = NOW + timedelta(minutes=revision)
    store.save_analysis(case_id, analysis, revision, at, records, alerts_seen=alerts_seen)


def dirty(store: Store, case_id: str) -> bool:
    row = store.case(case_id)
    assert row is not None
    return row.dirty


def test_cases_replay_through_merges_and_analyses(store: Store) -> None:
    alerts = correlate(store)
    assert replayed(store) == []  # C-1: 4 alerts, dirty; C-2 merged into it
    analyse(store, 1)
    store.resolve_case("C-1", "true_positive", "dana", "confirmed", NOW)
    assert replayed(store) == []

    edit(store, "UPDATE cases SET merged_into = NULL, status = 'new' WHERE id = 'C-2'")
    edit(store, "UPDATE cases SET dirty = 1, confidence = 0.1 WHERE id = 'C-1'")
    edit(store, "UPDATE alerts SET case_id = 'C-2', duplicate_of = NULL WHERE id = ?", (alerts[3],))
    edit(store, "UPDATE resolutions SET note = 'nothing to see'")
    assert replayed(store) == [
        Divergence("cases", "id=C-1", "confidence", 0.1, 0.8),
        Divergence("cases", "id=C-1", "dirty", 1, 0),
        Divergence("cases", "id=C-2", "merged_into", None, "C-1"),
        Divergence("cases", "id=C-2", "status", "new", "merged"),
        Divergence("resolutions", "case_id=C-1", "note", "nothing to see", "confirmed"),
        Divergence("alerts", f"id={alerts[3]}", "case_id", "C-2", "C-1"),
        Divergence("alerts", f"id={alerts[3]}", "duplicate_of", None, alerts[0]),
    ]


def test_alerts_that_joined_during_an_analysis_keep_the_case_dirty(store: Store) -> None:
    """The model call lets go of the writer lock, so correlation may add alerts to a case
    while it is analysed: the save must not clear the flag that says they are unanalysed."""
    correlate(store)
    analyse(store, 1, alerts_seen=3)  # began with 3 alerts; the fourth joined meanwhile
    assert dirty(store, "C-1")
    assert replayed(store) == []
    analyse(store, 2)  # the next analysis saw all four
    assert not dirty(store, "C-1")
    assert replayed(store) == []


def test_a_resumed_revision_leaves_the_dirty_flag_alone(store: Store) -> None:
    """An approval answer resumes the waiting revision; it analysed no new alert, so a case
    that alerts joined since stays dirty (before, the answer cleared the flag and the store
    no longer matched its own audit)."""
    correlate(store)
    analyse(store, 1)
    late = make_alert(hosts=("ws-1",), minutes=5)
    store.add_alerts([late])
    store.record_joins([(Join(late.id, "C-1", "joined", ("host:ws-1",)), late)], NOW)
    assert dirty(store, "C-1")
    analyse(store, 1, alerts_seen=None)
    assert dirty(store, "C-1")
    assert replayed(store) == []


def test_an_analysis_saved_after_its_case_was_merged_keeps_it_merged(store: Store) -> None:
    correlate(store)  # C-2 is merged into C-1
    analyse(store, 1, case_id="C-2", alerts_seen=1)
    row = store.case("C-2")
    assert row is not None and row.status == "merged" and row.merged_into == "C-1"
    assert not row.dirty
    assert replayed(store) == []


def test_fields_the_newest_revision_did_not_audit_are_not_compared(store: Store) -> None:
    correlate(store)
    analyse(store, 1)
    analyse(store, 2, verdict="benign_positive", verdict_record=False)  # a priority record only
    edit(store, "UPDATE cases SET verdict = 'false_positive', priority = 'P4' WHERE id = 'C-1'")
    assert replayed(store) == [Divergence("cases", "id=C-1", "priority", "P4", "P2")]


def test_a_case_the_audit_never_opened_is_reported(store: Store) -> None:
    correlate(store)
    edit(
        store,
        "INSERT INTO cases (id, seq, first_seen_us, last_seen_us, created_at, updated_at)"
        " VALUES ('C-9', 9, 0, 0, 'x', 'x')",
    )
    assert replayed(store) == [Divergence("cases", "id=C-9", ROW, "row", ABSENT)]


def test_settings_replay_the_kill_switch_and_ignore_bookkeeping(store: Store) -> None:
    store.store_id()
    assert replayed(store) == []
    edit(store, "INSERT INTO settings VALUES ('autonomy', 'on')")
    assert replayed(store) == [Divergence("settings", "key=autonomy", "value", "on", ABSENT)]
    store.set_autonomy(False, "sam", "maintenance", NOW)
    store.set_autonomy(True, "sam", "done", NOW)
    assert replayed(store) == []
