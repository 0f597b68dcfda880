"""The store as the investigation tools' AlertSource: lookups, the entity index, its back-fill."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW
from tests.factories import T0, make_alert
from tierzero.correlate.entities import alert_entities
from tierzero.ingest.alert import Alert
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.tools.registry import AlertSource
from tierzero.usecases.triage import correlate, triage


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings.load()


@pytest.fixture(scope="module")
def examples_db(tmp_path_factory: pytest.TempPathFactory, settings: Settings) -> Path:
    path = tmp_path_factory.mktemp("alert_source") / "t.db"
    db = Store(path)
    triage([EXAMPLES], settings, db, now=NOW)
    db.close()
    return path


@pytest.fixture
def store(examples_db: Path) -> Iterator[Store]:
    db = Store(examples_db)
    yield db
    db.close()


def all_alerts(store: Store) -> list[Alert]:
    return [a for c in store.cases() for a in store.alerts_of_case(c.id)]


def index(conn: sqlite3.Connection) -> set[tuple[str, int, str]]:
    return {tuple(r) for r in conn.execute("SELECT key, time_us, alert_id FROM alert_entities")}


def test_the_store_is_an_alert_source(store: Store) -> None:
    source: AlertSource = store  # type-checked: the protocol is satisfied
    assert source.alerts_of_case(store.cases()[0].id)


def test_alert_by_id(store: Store) -> None:
    for alert in all_alerts(store)[:5]:
        assert store.alert(alert.id) == alert
    assert store.alert("A-0000000000000000") is None


def test_cases_of(store: Store) -> None:
    alerts = all_alerts(store)
    expected = {a.id: c.id for c in store.cases() for a in store.alerts_of_case(c.id)}
    ids = [a.id for a in alerts] * 2 + ["A-0000000000000000"]
    assert store.cases_of(ids) == expected
    assert store.cases_of([]) == {}


def test_index_keys_are_correlations_keys(store: Store) -> None:
    """Every join key of every alert, exactly as alert_entities makes it (no internal domains)."""
    alerts = all_alerts(store)
    assert len(alerts) == store.counts()["alerts"]
    expected = {
        (key, int(a.time.timestamp() * 1_000_000), a.id)
        for a in alerts
        for key in alert_entities(a)
    }
    assert index(store.conn) == expected
    assert any(k == "email:alice.martin@northwind.example" for k, _, _ in expected)


def test_alerts_on_entity(store: Store) -> None:
    alerts = all_alerts(store)
    key = "host:lt-fin-042"
    naming = sorted((a for a in alerts if key in alert_entities(a)), key=lambda a: (a.time, a.id))
    assert len(naming) >= 5
    start, end = naming[0].time, naming[-1].time
    found = store.alerts_on_entity(key, start, end, 1000)
    assert [a.id for a in found] == [a.id for a in naming]  # bounds inclusive, oldest first
    assert store.alerts_on_entity(key, start, end, 2) == found[:2]
    inner = store.alerts_on_entity(key, start + timedelta(microseconds=1), end, 1000)
    assert [a.id for a in inner] == [a.id for a in naming if a.time > start]
    assert (
        store.alerts_on_entity(key, end + timedelta(seconds=1), end + timedelta(days=1), 10) == []
    )
    assert store.alerts_on_entity("host:no-such-host", start, end, 10) == []
    assert store.alerts_on_entity(key, start, end, 0) == []


def test_reingest_adds_no_index_rows(examples_db: Path, settings: Settings) -> None:
    db = Store(examples_db)
    before = index(db.conn)
    report = triage([EXAMPLES], settings, db, now=NOW)
    assert report.new_alerts == 0
    assert index(db.conn) == before
    db.close()


def test_a_changed_repeat_of_a_stored_alert_is_not_indexed(tmp_path: Path) -> None:
    """Only what add_alerts inserted is indexed: a record re-sent with other entities keeps the
    index pointing at what the store holds."""
    db = Store(tmp_path / "t.db")
    first = make_alert(uid="same", hosts=("ws-1",))
    changed = make_alert(uid="same", hosts=("ws-2",), minutes=5)
    fresh = make_alert(uid="other", hosts=("ws-3",))
    assert first.id == changed.id
    assert db.add_alerts([first]) == 1
    assert db.add_alerts([changed, fresh]) == 1
    assert {k for k, _, _ in index(db.conn)} == {"host:ws-1", "host:ws-3"}
    assert db.alerts_on_entity("host:ws-2", T0, T0 + timedelta(days=1), 10) == []
    # repeats inside one batch: the first one is stored and indexed
    assert (
        db.add_alerts([make_alert(uid="x", hosts=("a-1",)), make_alert(uid="x", hosts=("a-2",))])
        == 1
    )
    assert "host:a-1" in {k for k, _, _ in index(db.conn)}
    assert "host:a-2" not in {k for k, _, _ in index(db.conn)}
    db.close()


def test_an_old_store_is_backfilled_once(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "old.db"
    db = Store(path)
    triage([EXAMPLES], settings, db, now=NOW)
    expected = index(db.conn)
    assert expected
    # Make it a store from before the index: no table, no marker.
    db.conn.execute("DROP TABLE alert_entities")
    db.conn.execute("DELETE FROM settings WHERE key = 'alert_entities_indexed'")
    db.close()

    reopened = Store(path)
    assert index(reopened.conn) == expected
    key = "user:alice.martin"
    assert reopened.alerts_on_entity(key, NOW - timedelta(days=2), NOW, 100)
    reopened.conn.execute("DELETE FROM alert_entities")
    reopened.close()

    again = Store(path)  # done once: the marker stops a second scan of every alert
    assert index(again.conn) == set()
    again.close()


def test_a_new_store_marks_the_index_built(tmp_path: Path, settings: Settings) -> None:
    db = Store(tmp_path / "new.db")
    marker = "SELECT value FROM settings WHERE key = 'alert_entities_indexed'"
    assert db.conn.execute(marker).fetchone() is not None
    db.add_alerts([make_alert(hosts=("ws-9",), users=("NORTHWIND\\Eve",))])
    correlate(db, settings, NOW)
    assert {k for k, _, _ in index(db.conn)} == {"host:ws-9", "user:eve"}
    db.close()
