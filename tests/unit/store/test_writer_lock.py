"""The store's writer lock: reentrant, let go of around a model call, and fair to people.

Each thread holds its own ``WriterLock`` on one path, as each service thread holds its own
store (so each is what another process would hold, too).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tierzero.store import writer
from tierzero.store.writer import WriterLock


def test_released_lets_go_of_every_level_and_takes_them_back(tmp_path: Path) -> None:
    mine, other = WriterLock(tmp_path / "s.db"), WriterLock(tmp_path / "s.db")
    got: list[bool] = []
    with mine.hold("outer"), mine.hold("inner"):
        with mine.released():
            assert not mine.held
            thread = threading.Thread(target=lambda: got.append(_take(other)))
            thread.start()
            thread.join(10)
        assert mine.held
    assert got == [True]  # another holder got in while the lock was let go
    assert not mine.held  # both levels released on the way out


def test_released_without_the_lock_is_a_no_op(tmp_path: Path) -> None:
    lock = WriterLock(tmp_path / "s.db")
    with lock.released():
        assert not lock.held
    assert not lock.held


def test_a_person_waiting_goes_before_background_work(tmp_path: Path) -> None:
    """Background units (correlation, analyses) that take the lock again and again could keep
    an approver or the kill switch waiting for as long as the backlog lasts: a unit a person
    waits for goes before the background units that queued after it."""
    db = tmp_path / "s.db"
    holder = WriterLock(db)
    order: list[str] = []
    release = threading.Event()

    def hold_then_release() -> None:
        with holder.hold("analyse C-1", background=True):
            release.wait(10)

    def unit(name: str, background: bool) -> None:
        with WriterLock(db).hold(name, background=background):
            order.append(name)
            time.sleep(0.1)

    first = threading.Thread(target=hold_then_release)
    first.start()
    _until(lambda: holder.held)
    person = threading.Thread(target=unit, args=("kill switch", False))
    person.start()
    _until(lambda: writer._PRECEDENCE._waiting[str(holder.path)] == 1)
    background = [threading.Thread(target=unit, args=(f"analyse C-{n}", True)) for n in range(2, 6)]
    for thread in background:
        thread.start()
    time.sleep(0.3)  # the background units are holding back now
    release.set()
    for thread in (first, person, *background):
        thread.join(10)
    assert order[0] == "kill switch" and len(order) == 5


def test_background_work_holds_back_only_so_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person's unit stuck behind another process cannot stop background work for good."""
    monkeypatch.setattr(writer, "_YIELD_SECONDS", 0.2)
    db = tmp_path / "s.db"
    with writer._PRECEDENCE.waiting(str(WriterLock(db).path)):
        lock = WriterLock(db)
        with lock.hold("correlate alerts", background=True):
            assert lock.held


def _take(lock: WriterLock) -> bool:
    with lock.hold("probe"):
        return lock.held


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "not reached"
        time.sleep(0.01)
