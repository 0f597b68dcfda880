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
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

_log = logging.getLogger(__name__)
# How long to wait quietly before saying that another process holds the store.
_QUIET_SECONDS = 1.0


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
    def hold(self, unit: str) -> Iterator[None]:
        """Hold the lock for one unit of work (``unit`` names it in the waiting note)."""
        if not self._lock.is_locked:
            try:
                self._lock.acquire(timeout=_QUIET_SECONDS)
            except Timeout:
                self.on_wait(
                    f"another tierzero process is writing to this store ({self.path.name}); "
                    f"waiting to {unit}"
                )
                self._lock.acquire()
        else:
            self._lock.acquire()  # reentrant: count one more level
        try:
            yield
        finally:
            self._lock.release()

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
            with self.hold("go on after a model call"):
                for _ in range(depth):
                    self._lock.acquire()
            # hold() released its own level on the way out; the depth taken here remains.
