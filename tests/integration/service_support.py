"""Helpers of the service tests: a service on a fresh store with one token per role, driven
in process through Starlette's TestClient (no socket), on a clock the test moves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import EXAMPLES, NOW
from tierzero.clock import ManualClock
from tierzero.service.app import Service, create_app
from tierzero.settings import Settings
from tierzero.settings.service import ServiceConfig
from tierzero.store.actions import ActionRow
from tierzero.store.sqlite import Store
from tierzero.store.tokens import ROLES
from tierzero.usecases.analysis import request_action
from tierzero.usecases.runtime import ModelChoice

# Every example file the intake reads (the CSV needs its mapping file: not pushable).
PUSHABLE = sorted(p for p in EXAMPLES.iterdir() if p.suffix in (".json", ".jsonl", ".ndjson"))


@dataclass
class Running:
    client: TestClient
    service: Service
    tokens: dict[str, str]  # role -> token (the token of the role is named after it)
    clock: ManualClock

    def as_role(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def push(self, body: bytes, role: str = "ingest", **headers: str) -> Any:
        return self.client.post(
            "/api/alerts", content=body, headers={**self.as_role(role), **headers}
        )

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the triage workers have no work left (unassigned alerts, dirty cases)."""
        wait_for(lambda: idle(self.service.store()), timeout)

    def tick(self, worker: str = "timers") -> None:
        """Run one pass of a scheduled worker now (as the schedule would) and wait for it."""
        chosen = {"timers": self.service.timers, "notifier": self.service.notifier}[worker]
        passes = chosen.passes + chosen.failures
        chosen.wake.set()
        wait_for(lambda: chosen.passes + chosen.failures > passes, 30)


def idle(store: Store) -> bool:
    one = store.conn.execute
    unassigned = one("SELECT COUNT(*) FROM alerts WHERE case_id IS NULL").fetchone()[0]
    dirty = one("SELECT COUNT(*) FROM cases WHERE dirty = 1 AND merged_into IS NULL").fetchone()
    return unassigned == 0 and dirty[0] == 0


def wait_for(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s")
        time.sleep(0.05)


def make_tokens(db: Path) -> dict[str, str]:
    store = Store(db)
    try:
        return {role: store.create_token(role, role, "test-admin", NOW) for role in ROLES}
    finally:
        store.close()


@contextmanager
def running_service(
    db: Path,
    workers: bool = True,
    clock: ManualClock | None = None,
    transport: httpx.BaseTransport | None = None,
    model: ModelChoice = "off",
    settings: Settings | None = None,
    **service: Any,
) -> Iterator[Running]:
    """A service on ``db`` (tokens created if the store has none), stopped on exit; on the
    default settings unless ``settings`` are given, and with no model unless ``model`` is."""
    clock = clock or ManualClock(NOW)
    store = Store(db)
    existing = store.tokens()
    store.close()
    tokens = {} if existing else make_tokens(db)
    settings = replace(
        settings or Settings.load(),
        service=ServiceConfig(
            **{"triage_interval_seconds": 0.05, "timer_interval_seconds": 3600, **service}
        ),
    )
    app_service = Service(
        settings, db, clock=clock, model=model, workers_enabled=workers, transport=transport
    )
    with TestClient(create_app(app_service)) as client:
        yield Running(client, app_service, tokens, clock)


def own_request(service: Service, person: str) -> tuple[str, ActionRow]:
    """``person`` gets an approver token and, as an analyst in the chat would, asks to isolate
    a known host of an analysed case; the request waits for approval. (The token, the row.)"""
    store = service.store()
    token = store.create_token(f"{person}-approver", "approver", "t", NOW, person)
    case = next(r for r in store.cases() if (r.analysis or {}).get("enrichment", {}).get("assets"))
    host = next(iter(case.analysis["enrichment"]["assets"]))  # type: ignore[index]
    _, decision = request_action(
        store,
        service.settings,
        case.id,
        "isolate_host",
        host,
        f"analyst:{person}",  # as a chat request records the analyst
        "contain it",
        service.clock.now(),
        model="off",
    )
    mine = [r for r in store.actions.pending() if r.requested_by == f"analyst:{person}"]
    assert len(mine) == 1, f"the request did not wait for approval: {decision}"
    return token, mine[0]
