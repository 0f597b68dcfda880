"""The service's background work: correlation, analysis and the timers.

Each worker is a thread with its own store connection (so its units of work hold the store's
writer lock against the other threads and processes, and never share a transaction). Intake
never waits for them: it only appends alerts, which the correlation worker picks up as unassigned.
A worker that fails on one pass logs it, counts it and goes on; ``alive`` and ``last_beat``
are what ``/health`` reads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from tierzero.clock import Clock
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.actions import end_expired_leases
from tierzero.usecases.approvals import approval_housekeeping
from tierzero.usecases.runtime import ModelChoice
from tierzero.usecases.triage import TriageReport, analyse, correlate

_log = logging.getLogger("tierzero.service")


class Worker(threading.Thread):
    """Runs ``one_pass`` every ``interval`` seconds (sooner when woken) until stopped."""

    def __init__(self, name: str, interval: float, db: Path) -> None:
        super().__init__(name=f"tierzero-{name}", daemon=True)
        self.interval = interval
        self.db = db
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.last_beat = time.monotonic()
        self.passes = 0
        self.failures = 0
        self.last_error: str | None = None
        self.on_failure: Callable[[], None] | None = None  # e.g. a metric

    def one_pass(self, store: Store) -> None:
        raise NotImplementedError

    def run(self) -> None:
        store = Store(self.db)
        try:
            while not self.stopping.is_set():
                self.last_beat = time.monotonic()
                try:
                    self.one_pass(store)
                    self.passes += 1
                except Exception as exc:  # one failed pass must not end the service's work
                    self.failures += 1
                    self.last_error = f"{type(exc).__name__}: {str(exc)[:300]}"
                    _log.exception("%s: a pass failed", self.name)
                    if self.on_failure is not None:
                        self.on_failure()
                self.wake.wait(self.interval)
                self.wake.clear()
        finally:
            store.close()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()

    def healthy(self, now: float | None = None) -> bool:
        """Alive, and not stuck: a pass may run long (a model call), so only a thread that
        died counts as unhealthy, or one silent for far longer than its deadline allows."""
        silent = (time.monotonic() if now is None else now) - self.last_beat
        return self.is_alive() and silent < STUCK_SECONDS


# A pass silent this long is stuck (the model deadline's cap is 4 h; a pass analyses many cases).
STUCK_SECONDS = 6 * 3600


class CorrelationWorker(Worker):
    """Correlates new alerts into cases (the CLI's correlation, without the ingest), wakes the
    analysts when a case changed, and reports each pass to ``on_report``. It never waits for a
    model: an analysis lets go of the writer lock while the model thinks."""

    def __init__(
        self,
        db: Path,
        settings: Callable[[], Settings],
        clock: Clock,
        on_report: Callable[[TriageReport], None],
    ) -> None:
        super().__init__("correlate", settings().service.triage_interval_seconds, db)
        self.settings = settings  # read at each pass: a policy reload applies to the next
        self.clock = clock
        self.on_report = on_report
        self.analysts: tuple[Worker, ...] = ()

    def one_pass(self, store: Store) -> None:
        report = correlate(store, self.settings(), self.clock)
        if sum(report.joins.values()):
            for analyst in self.analysts:
                analyst.wake.set()
        self.on_report(report)


class AnalysisWorker(Worker):
    """Runs the case graph on new or changed cases. Several run side by side: each claims a
    case before analysing it and skips a case another is analysing, so a case waiting minutes
    for a slow model holds up neither the other cases nor the rest of the service."""

    def __init__(
        self,
        number: int,
        db: Path,
        settings: Callable[[], Settings],
        clock: Clock,
        model: ModelChoice,
        on_report: Callable[[TriageReport], None],
    ) -> None:
        super().__init__(f"analyse-{number}", settings().service.triage_interval_seconds, db)
        self.settings = settings
        self.clock = clock
        self.model = model
        self.on_report = on_report

    def one_pass(self, store: Store) -> None:
        if store.dirty_case_ids():
            report = analyse(
                store,
                self.settings(),
                self.clock,
                model=self.model,
                busy="skip",
                keep_going=lambda: not self.stopping.is_set(),
            )
            self.on_report(report)


class TimerWorker(Worker):
    """Approval reminders and expiries (failing closed) and lease ends (rolled back), checked
    on schedule; the first pass at start handles whatever fell due while the service was down."""

    def __init__(
        self,
        db: Path,
        settings: Callable[[], Settings],
        clock: Clock,
        on_note: Callable[[str], None],
    ) -> None:
        super().__init__("timers", settings().service.timer_interval_seconds, db)
        self.settings = settings
        self.clock = clock
        self.on_note = on_note

    def one_pass(self, store: Store) -> None:
        settings = self.settings()
        for note in approval_housekeeping(store, settings, self.clock.now()):
            self.on_note(note)
        for row in end_expired_leases(store, settings, self.clock.now()):
            self.on_note(f"lease ended: action {row.id} {row.action} {row.target} rolled back")
