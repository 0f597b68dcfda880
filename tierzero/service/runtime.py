"""One running service: its settings, store file, clock, workers, metrics and access checks.

Handlers reach it as ``request.app.state.service`` (see :mod:`.deps`). Each thread gets its
own store connection (a connection shared between threads would share transactions).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from fastapi import Request

from tierzero.clock import Clock, SystemClock
from tierzero.service.access import Permission, Principal, RateLimiter
from tierzero.service.csp import CspReports
from tierzero.service.metrics import ServiceMetrics
from tierzero.service.notify import NotifierWorker
from tierzero.service.workers import AnalysisWorker, CorrelationWorker, TimerWorker, Worker
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.runtime import ModelChoice
from tierzero.usecases.triage import TriageReport

_log = logging.getLogger("tierzero.service")


class ServiceError(Exception):
    """An answer other than success: its status, a message for a person, extra headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


@dataclass
class Service:
    """Everything one running service holds: its settings, its store file, its clock, the
    workers, the metrics, and one store connection per thread."""

    settings: Settings
    db: Path
    clock: Clock = field(default_factory=SystemClock)
    model: ModelChoice = "env"
    workers_enabled: bool = True
    config: Path | None = None  # the folder a policy reload reads (None: the defaults)
    reports: Path = Path("tierzero-eval")  # where `tierzero eval run` writes its reports
    transport: httpx.BaseTransport | None = None  # the webhooks' (tests: a mock; None: network)

    def __post_init__(self) -> None:
        self._local = threading.local()
        # Weak: a pool thread that ends takes its connection with it (the thread-local holds
        # the only strong reference); what is left is closed at stop.
        self._stores: weakref.WeakSet[Store] = weakref.WeakSet()
        self._stores_lock = threading.Lock()
        self.metrics = ServiceMetrics(self.store)
        limit = self.settings.service.rate_limit
        self.limiter = RateLimiter(limit.per_minute, limit.burst)
        # Each chat answers in its own thread (model calls take minutes): at most this many.
        self.chats = threading.BoundedSemaphore(self.settings.service.max_concurrent_chats)
        self.csp_reports = CspReports()  # the console's Content-Security-Policy violations
        self.correlator = CorrelationWorker(
            self.db, self.current_settings, self.clock, self._triage_report
        )
        self.analysts = tuple(
            AnalysisWorker(
                n, self.db, self.current_settings, self.clock, self.model, self._triage_report
            )
            for n in range(1, self.settings.service.analysis_workers + 1)
        )
        self.correlator.analysts = self.analysts
        self.timers = TimerWorker(self.db, self.current_settings, self.clock, self._note)
        self.notifier = NotifierWorker(
            self.db, self.current_settings, self.clock, self.clock.now(), transport=self.transport
        )
        self.workers: tuple[Worker, ...] = (
            self.correlator,
            *self.analysts,
            self.timers,
            self.notifier,
        )
        for worker in (self.correlator, *self.analysts):
            worker.on_failure = lambda: self.metrics.triage_passes.labels("failed").inc()

    def current_settings(self) -> Settings:
        """The settings in force (a reload swaps them between units of work)."""
        return self.settings

    def reload_settings(self, actor: str) -> Settings:
        """Read the config folder again; the new settings apply from the next unit of work.
        A broken folder raises ``ConfigError`` and the settings in force stay. Audited."""
        fresh = Settings.load(self.config)
        self.settings = fresh
        self.store().audit(
            "policy", actor, {**fresh.versions(), "reloaded": True}, None, self.clock.now()
        )
        return fresh

    def store(self) -> Store:
        """This thread's connection to the store."""
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.db, durable=True)
            self._local.store = store
            with self._stores_lock:
                self._stores.add(store)
        return store

    def start(self) -> None:
        """Open the store and handle what fell due while the service was down (expiries fail
        closed, leases are undone) before answering anything; then start the workers."""
        store = self.store()  # creates the file and its tables before the workers open it
        if self.workers_enabled:
            self.timers.one_pass(store)
            for worker in self.workers:
                worker.start()

    def stop(self, wait: float = 25.0) -> None:
        """Stop the workers within ``wait`` seconds in all: the case being analysed is
        finished first, and no other is started. A model call still open then is abandoned
        as in a crash: its case resumes from its last checkpoint when the service starts."""
        for worker in self.workers:
            worker.stop()
        deadline = time.monotonic() + wait
        for worker in self.workers:
            if worker.is_alive():
                worker.join(max(0.0, deadline - time.monotonic()))
        for worker in self.workers:
            if worker.is_alive():
                _log.warning("%s: still busy (a model call?) at shutdown; abandoned", worker.name)
        with self._stores_lock:
            for store in list(self._stores):
                store.close()
            self._stores.clear()

    def healthy(self) -> tuple[bool, dict[str, Any]]:
        """Whether the store answers and the workers run, with the details."""
        detail: dict[str, Any] = {}
        try:
            self.store().conn.execute("SELECT 1").fetchone()
            detail["store"] = "ok"
        except Exception as exc:
            detail["store"] = f"unreachable: {type(exc).__name__}"
        ok = detail["store"] == "ok"
        if self.workers_enabled:
            for worker in self.workers:
                alive = worker.healthy()
                detail[worker.name] = {
                    "alive": alive,
                    "passes": worker.passes,
                    "failures": worker.failures,
                    "last_error": worker.last_error,
                }
                ok = ok and alive
        return ok, detail

    def _triage_report(self, report: TriageReport) -> None:
        self.metrics.triage_passes.labels("ok").inc()
        self.metrics.cases_analysed.inc(len(report.cases_analysed))

    def _note(self, note: str) -> None:
        _log.info("%s", note)

    # -- access ------------------------------------------------------------------------------

    def principal(self, request: Request, permission: Permission | None) -> Principal:
        """The request's token holder, if their role has ``permission`` (None: any role);
        see :meth:`authorize`."""
        address = request.client.host if request.client else "unknown"
        header = request.headers.get("authorization", "")
        return self.authorize(header, permission, route=request.url.path, address=address)

    def authorize(
        self,
        authorization: str,
        permission: Permission | None,
        *,
        route: str,
        address: str,
        count: bool = True,
        detail: dict[str, str] | None = None,
    ) -> Principal:
        """The holder of the token in an ``Authorization`` header value, if their role has
        ``permission``. Refusals raise ``ServiceError`` and are audited (401 without a valid
        token, 403 for the wrong role, with ``detail``); with ``count``, the request is taken
        from the token's rate limit (failed sign-ins from the address's, so they cannot flood
        the audit). The token itself is never in a message or a record."""
        scheme, _, token = authorization.partition(" ")
        found = self.store().token_of(token.strip()) if scheme.lower() == "bearer" else None
        now = self.clock.now()
        where = {"route": route, **(detail or {})}
        if found is None:
            wait = self.limiter.take(f"address:{address}") if count else 0.0
            if wait:
                self.metrics.refusals.labels("429").inc()
                raise ServiceError(429, "too many requests", self._retry(wait))
            self.metrics.refusals.labels("401").inc()
            record = {"code": 401, **where, "address": address, "token_given": bool(token)}
            self.store().audit("access", "anonymous", record, None, now)
            raise ServiceError(
                401, "a valid token is needed", {"WWW-Authenticate": 'Bearer realm="tierzero"'}
            )
        who = Principal(found.name, found.role, found.person)
        wait = self.limiter.take(f"token:{who.name}") if count else 0.0
        if wait:
            self.metrics.refusals.labels("429").inc()
            raise ServiceError(429, "rate limit reached for this token", self._retry(wait))
        if permission is not None and not who.may(permission):
            self.metrics.refusals.labels("403").inc()
            record = {"code": 403, **where, "role": who.role, "needs": permission}
            self.store().audit("access", who.actor, record, None, now)
            raise ServiceError(403, f"the {who.role} role may not do this (needs {permission})")
        return who

    def _retry(self, wait: float) -> dict[str, str]:
        return {"Retry-After": RateLimiter.retry_after(wait)}
