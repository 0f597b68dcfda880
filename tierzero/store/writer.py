"""One writer at a time per store, across processes.

SQLite serializes single transactions, but tierzero's units of work span several: correlation
reads the unassigned alerts and then writes their joins; an analysis reads a dirty case, runs
the graph (which records and executes actions) and saves the result. Two processes doing the
same unit at once correlated every alert twice and analysed cases twice. Each unit of work
therefore holds the store's writer lock, a lock file beside the database, so two processes
give the result of some sequential order of their units.

The lock is reentrant within a process (a unit may call another), and a process that has to
wait says so once (``on_wait``) instead of hanging silently. A unit lets go of it while it
waits for a model's answer (:meth:`WriterLock.released`): a local model may think for minutes,
and correlation, approval answers, the timers and the kill switch must not wait that long.
What the unit does after the answer runs under the lock again and reads the store afresh; a
per-case claim (:mod:`tierzero.store.case_claims`) keeps two analyses off one case.

It is an operating-system file lock (``filelock``), released by the kernel if the holder dies,
so a killed process never leaves the store locked.

A file lock is not fair: a unit that waits for it polls, and a loop of background units
(correlation, one analysis after another) that releases and takes it again at once could keep
a person waiting for as long as the backlog lasts. Within one process (the service), a unit a
person or a timer waits for (an approval answer, the kill switch, a rollback, an expiry)
therefore goes first: background units (``background=True``) hold back while one is waiting,
up to ``_YIELD_SECONDS``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

_log = logging.getLogger(__name__)
# How long to wait quietly before saying that another process holds the store.
_QUIET_SECONDS = 1.0
# The longest a background unit holds back for waiting people (so none can starve it).
_YIELD_SECONDS = 30.0


class _Precedence:
    """Who of this process waits for which store's lock to do a person's or a timer's unit."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._waiting: Counter[str] = Counter()

    @contextmanager
    def waiting(self, key: str) -> Iterator[None]:
        with self._changed:
            self._waiting[key] += 1
        try:
            yield
        finally:
            with self._changed:
                self._waiting[key] -= 1
                self._changed.notify_all()

    def hold_back(self, key: str, limit: float) -> None:
        """Wait while someone waits to do a person's unit on this store (up to ``limit``)."""
        deadline = time.monotonic() + limit
        with self._changed:
            while self._waiting[key] > 0 and (left := deadline - time.monotonic()) > 0:
                self._changed.wait(left)


_PRECEDENCE = _Precedence()


def lock_path(db: Path) -> Path:
    """The lock file of the store at ``db``."""
    return db.with_name(db.name + ".writer.lock")


class WriterLock:
    """The store's writer lock (see the module docstring)."""

    def __init__(self, db: Path, on_wait: Callable[[str], None] | None = None) -> None:
        self.path = lock_path(db)
        # thread_local=False: the store's connection may be used from several threads of one
        # process (they share one store object and so one lock).
        self._lock = FileLock(str(self.path), thread_local=False)
        self.on_wait = on_wait or _log.warning

    @property
    def held(self) -> bool:
        """True when this process holds the lock."""
        return self._lock.is_locked

    @contextmanager
    def hold(self, unit: str, background: bool = False) -> Iterator[None]:
        """Hold the lock for one unit of work (``unit`` names it in the waiting note). A
        ``background`` unit lets this process's waiting person units go first."""
        if not self._lock.is_locked:
            key = str(self.path)
            if background:
                _PRECEDENCE.hold_back(key, _YIELD_SECONDS)
                self._acquire(unit)
            else:
                with _PRECEDENCE.waiting(key):
                    self._acquire(unit)
        else:
            self._lock.acquire()  # reentrant: count one more level
        try:
            yield
        finally:
            self._lock.release()

    def _acquire(self, unit: str) -> None:
        acquire_saying(
            self._lock,
            self.on_wait,
            f"another tierzero process is writing to this store ({self.path.name}); "
            f"waiting to {unit}",
        )

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let go of the lock (every reentrant level) for a while, then take it back to the
        same depth. Only around work that touches no store state, such as a model call, and
        only where what was read before cannot change meanwhile (a case's alerts) or is read
        again after (action rows, the kill switch). A no-op when the lock is not held."""
        depth = self._lock.lock_counter
        if depth == 0:
            yield
            return
        self._lock.release(force=True)
        try:
            yield
        finally:
            _PRECEDENCE.hold_back(str(self.path), _YIELD_SECONDS)  # a background unit
            self._acquire("go on after a model call")
            for _ in range(depth - 1):
                self._lock.acquire()  # the reentrant levels let go above


def acquire_saying(lock: FileLock, on_wait: Callable[[str], None], note: str) -> None:
    """Take ``lock``: quietly for a second, then saying ``note`` once and waiting on."""
    try:
        lock.acquire(timeout=_QUIET_SECONDS)
    except Timeout:
        on_wait(note)
        lock.acquire()
