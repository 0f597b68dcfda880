"""One analysis per case at a time, across threads and processes.

An analysis lets go of the store's writer lock while the model thinks (see
:mod:`tierzero.store.writer`), so the writer lock alone no longer keeps two analyses of one case
apart; they would run the same revision twice. Whoever runs a case through the graph (the
triage pass, an analyst's request) first claims the case. Approval answers, expiries and
rollbacks do not: they resume the revision that is already saved and waiting, under the writer
lock, which an analysis in flight also holds again for everything it does after its model call.

A claim is an operating-system file lock on one of a fixed number of stripe files beside the
database (a case's stripe is a hash of its id), so a killed process leaves nothing claimed and
the number of files stays bounded; two cases sharing a stripe merely wait for each other.

Order: a case claim is always taken before the writer lock, never while holding it (a holder
of the writer lock waiting for a claim whose holder waits for the writer lock would be a
deadlock). :meth:`CaseClaims.claim` refuses to be called the wrong way round.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from tierzero.store.writer import acquire_saying

_log = logging.getLogger(__name__)
STRIPES = 64


def claims_dir(db: Path) -> Path:
    """The folder of the stripe files of the store at ``db``."""
    return db.with_name(db.name + ".cases")


class CaseClaims:
    """The case claims of one store handle (see the module docstring)."""

    def __init__(
        self,
        db: Path,
        writer_held: Callable[[], bool],
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = claims_dir(db)
        self._writer_held = writer_held
        self._locks: dict[int, FileLock] = {}
        self.on_wait = on_wait or _log.warning

    def stripe(self, case_id: str) -> int:
        return zlib.crc32(case_id.encode()) % STRIPES

    @contextmanager
    def claim(self, case_id: str, wait: bool = True) -> Iterator[bool]:
        """Hold the claim on ``case_id`` for the block. With ``wait`` False, yields False at
        once when someone else holds it (the caller skips the case); otherwise waits, saying
        so once, and yields True."""
        if self._writer_held():
            raise RuntimeError(f"claim {case_id} before taking the store's writer lock, not inside")
        lock = self._lock(self.stripe(case_id))
        if lock.is_locked:
            lock.acquire()  # reentrant (a claimed case analysed again inside the same unit)
        elif wait:
            note = f"{case_id} is being analysed by another tierzero worker; waiting"
            acquire_saying(lock, self.on_wait, note)
        else:
            try:
                lock.acquire(timeout=0)
            except Timeout:
                yield False
                return
        try:
            yield True
        finally:
            lock.release()

    def _lock(self, stripe: int) -> FileLock:
        lock = self._locks.get(stripe)
        if lock is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = FileLock(str(self.folder / f"{stripe:02d}.lock"), thread_local=False)
            self._locks[stripe] = lock
        return lock
