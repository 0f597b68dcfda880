"""While the model thinks about one case, nothing else waits for it (issue 14, item 3).

An analysis lets go of the store's writer lock for its model calls and holds a claim on its
case instead. These tests hold a model call open (``GatedModel``, a scripted fake) and, from
a second store handle (what a second process or a service thread holds), do what used to wait
behind it: correlate a new alert into the very case being analysed, analyse the other cases,
answer approvals and flip the kill switch. Then the gate opens, and the analysis must go on
from the store as it is now: the kill switch turned off meanwhile sends its actions to a
person, and the alert that joined meanwhile keeps the case waiting for its next analysis.
Every state the store ends in must be the one its audit replays to.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import GatedModel
from tests.integration.many_cases import START, finding, write_many_cases
from tests.integration.service_support import running_service, wait_for
from tierzero.clock import ManualClock
from tierzero.ingest.reader import IngestOptions
from tierzero.settings import Settings
from tierzero.store import audit as chain
from tierzero.store.audit_replay import divergences
from tierzero.store.sqlite import Store
from tierzero.usecases.actions import set_autonomy
from tierzero.usecases.analysis import request_action
from tierzero.usecases.triage import TriageReport, analyse, correlate, ingest

CLOCK_START = START + timedelta(days=1)


def in_time(work: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Run ``work`` in a thread; fail if it has not finished within ``seconds`` (it would
    hang forever if it waited for the open model call)."""
    done: list[Any] = []
    failed: list[BaseException] = []

    def run() -> None:
        try:
            done.append(work())
        except BaseException as exc:  # re-raised below, in the test's thread
            failed.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: it waits for the model"
    if failed:
        raise failed[0]
    return done[0] if done else None


def late_alert(folder: Path) -> Path:
    """A second finding on laptop 0 (case C-1), half an hour after the first."""
    late = finding(0, START + timedelta(minutes=30))
    late["finding_info"]["uid"] = "RACE-LATE-0"  # type: ignore[index]
    late["metadata"]["uid"] = "race-late-0"  # type: ignore[index]
    path = folder / "late" / "late.ocsf.json"
    path.parent.mkdir()
    path.write_text(json.dumps([late]), encoding="utf-8")
    return path


def statuses(store: Store, case_id: str) -> list[str]:
    return sorted(row.status for row in store.actions.rows(case_id))


def verified(store: Store) -> None:
    """The chain is intact and the tables are what it replays to."""
    assert chain.verify(list(store.audit_records())).ok
    assert divergences(store.conn, store.audit_records()) == []


@pytest.fixture
def three_cases(tmp_path: Path) -> tuple[Path, Settings, ManualClock]:
    """Three malware cases (C-1..C-3, each acts automatically), correlated, not analysed."""
    alerts, config = write_many_cases(tmp_path, 3)
    settings = Settings.load(config)
    clock = ManualClock(CLOCK_START)
    store = Store(tmp_path / "t.db")
    ingest([alerts], store, IngestOptions(), clock)
    correlate(store, settings, clock)
    assert store.dirty_case_ids() == ["C-1", "C-2", "C-3"]
    store.close()
    return tmp_path / "t.db", settings, clock


def test_the_rest_of_the_store_goes_on_while_the_model_thinks(
    three_cases: tuple[Path, Settings, ManualClock], tmp_path: Path
) -> None:
    db, settings, clock = three_cases
    model = GatedModel()
    first, second = Store(db), Store(db)
    reports: list[TriageReport] = []
    analysing = threading.Thread(
        target=lambda: reports.append(
            analyse(first, settings, clock, model=model, memory=None, busy="skip")
        ),
        daemon=True,
    )
    analysing.start()
    try:
        assert model.entered.wait(60), "the analysis of C-1 never reached its model call"

        # Another worker skips the case being analysed and analyses the others.
        other = in_time(
            lambda: analyse(second, settings, clock, model="off", memory=None, busy="skip")
        )
        assert other.busy == ["C-1"]
        assert [s.case_id for s in other.cases_analysed] == ["C-2", "C-3"]
        assert statuses(second, "C-2") == ["executed", "executed"]
        with second.claim_case("C-1", wait=False) as claimed:
            assert not claimed

        # A new alert joins the very case being analysed; the kill switch goes off.
        in_time(lambda: ingest([late_alert(tmp_path)], second, IngestOptions(), clock))
        joined = in_time(lambda: correlate(second, settings, clock))
        assert joined.joins["joined"] + joined.joins["duplicate"] == 1
        in_time(lambda: set_autonomy(second, "off", "sam", "incident bridge", clock.now()))
    finally:
        model.gate.set()
        analysing.join(60)
    assert not analysing.is_alive()

    (report,) = reports
    # C-2 and C-3 were analysed by the other worker by the time this one came to them.
    assert [s.case_id for s in report.cases_analysed] == ["C-1"] and report.busy == []
    # The decisions after the model call read the kill switch as it is now: a person decides.
    assert statuses(first, "C-1") == ["pending_approval", "pending_approval"]
    case = first.case("C-1")
    assert case is not None and case.alert_count == 2 and case.dirty  # the late alert waits
    verified(first)

    again = analyse(first, settings, clock, model="off", memory=None)
    assert [s.case_id for s in again.cases_analysed] == ["C-1"]
    case = first.case("C-1")
    assert case is not None and not case.dirty
    verified(first)
    first.close()
    second.close()


def test_a_request_on_a_case_being_analysed_waits_for_that_analysis(
    three_cases: tuple[Path, Settings, ManualClock],
) -> None:
    """Two analyses of one case would run the same revision twice: an analyst's request on
    a case the model is thinking about waits for the claim, then runs as the next revision."""
    db, settings, clock = three_cases
    model = GatedModel()
    first, second = Store(db), Store(db)
    analysing = threading.Thread(
        target=lambda: analyse(first, settings, clock, model=model, memory=None), daemon=True
    )
    analysing.start()
    try:
        assert model.entered.wait(60)
        asking = threading.Thread(
            target=lambda: request_action(
                second,
                settings,
                "C-1",
                "disable_user",
                "nobody",
                "dana",
                "checking",
                clock.now(),
                model="off",
            ),
            daemon=True,
        )
        asking.start()
        asking.join(2)
        assert asking.is_alive(), "the request did not wait for the analysis in flight"
        assert second.next_revision("C-1") == 1  # nothing saved yet
    finally:
        model.gate.set()
        analysing.join(60)
    asking.join(60)
    assert not asking.is_alive()
    verdicts = [
        r["payload"]["revision"] for r in second.audit_records("C-1") if r["kind"] == "verdict"
    ]
    assert verdicts == [1, 2]  # the analysis, then the request as the next revision
    verified(second)
    first.close()
    second.close()


def test_claims_are_taken_before_the_writer_lock(tmp_path: Path) -> None:
    """Claiming a case while holding the writer lock could deadlock against an analysis that
    holds the claim and waits to take the writer lock back: it is refused outright."""
    store = Store(tmp_path / "s.db")
    with store.writing("something"), pytest.raises(RuntimeError, match="before taking"):
        with store.claim_case("C-1"):
            pass
    with store.claim_case("C-1") as claimed, store.writing("analyse C-1"):
        assert claimed
    store.close()


def test_a_slow_model_call_stalls_neither_the_queue_nor_the_people(
    three_cases: tuple[Path, Settings, ManualClock], tmp_path: Path
) -> None:
    """The service with two analysis workers, autonomy off: while one waits on the model for
    one case, the other analyses the rest, a pushed alert is correlated, an approver's answer
    executes, and the admin's kill switch is answered at once. The case the model was thinking
    about then acts as the switch says after its model call (on: automatically)."""
    db, settings, clock = three_cases
    store = Store(db)
    set_autonomy(store, "off", "sam", "maintenance", clock.now())
    store.close()
    model = GatedModel()
    with running_service(db, clock=clock, model=model, settings=settings) as running:
        try:
            assert model.entered.wait(60)
            store = running.service.store()
            blocked = next(
                r["case_id"]
                for r in store.audit_records()
                if r["kind"] == "model_call" and r["payload"].get("phase") == "request"
            )
            others = sorted({"C-1", "C-2", "C-3"} - {blocked})
            wait_for(lambda: all(len(store.actions.pending(c)) == 2 for c in others), 60)

            pushed = in_time(lambda: running.push(late_alert(tmp_path).read_bytes()))
            assert pushed.status_code == 202
            wait_for(lambda: store.case("C-1").alert_count == 2, 30)  # type: ignore[union-attr]
            action = store.actions.pending(others[0])[0]
            approved = in_time(
                lambda: running.client.post(
                    f"/api/approvals/{action.id}/approve",
                    json={"reason": "seen the loader run"},
                    headers=running.as_role("approver"),
                )
            )
            assert approved.status_code == 200, approved.text
            assert approved.json()["status"] == "executed"
            on = in_time(
                lambda: running.client.put(
                    "/api/autonomy",
                    json={"state": "on", "reason": "bridge closed"},
                    headers=running.as_role("admin"),
                )
            )
            assert on.status_code == 200, on.text
            assert not store.actions.rows(blocked)  # still thinking: nothing decided yet
        finally:
            model.gate.set()
        running.settle(60)
        store = running.service.store()
        assert statuses(store, blocked) == ["executed", "executed"]
        verified(store)


def test_a_stopping_worker_starts_no_further_case(
    three_cases: tuple[Path, Settings, ManualClock],
) -> None:
    """A service stopping (SIGTERM) finishes the case in hand and starts no other: with a slow
    model every further case would hold the shutdown for minutes."""
    db, settings, clock = three_cases
    store = Store(db)
    asked = iter([True, False])
    report = analyse(
        store, settings, clock, model="off", memory=None, keep_going=lambda: next(asked, False)
    )
    assert [s.case_id for s in report.cases_analysed] == ["C-1"]
    assert store.dirty_case_ids() == ["C-2", "C-3"]  # left waiting for the next start
    store.close()
