"""Helpers of the MCP tests: the service served by uvicorn on a free loopback port (the MCP
client speaks real HTTP), and an MCP client session with a role's token."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import httpx2
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import NOW
from tests.integration.service_support import PUSHABLE, idle, make_tokens, wait_for
from tierzero.clock import ManualClock
from tierzero.service.app import Service, create_app
from tierzero.settings import Settings
from tierzero.settings.service import ServiceConfig


@dataclass
class Served:
    base: str  # http://127.0.0.1:PORT
    service: Service
    tokens: dict[str, str]  # role -> token (the token of the role is named after it)

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"

    def as_role(self, role: str | None) -> dict[str, str]:
        return {} if role is None else {"Authorization": f"Bearer {self.tokens[role]}"}

    def push_examples(self) -> None:
        """Push every example file as the ingest token and wait until triage has settled."""
        with httpx.Client(base_url=self.base, headers=self.as_role("ingest"), timeout=60) as http:
            for path in PUSHABLE:
                answer = http.post("/api/alerts", content=path.read_bytes())
                assert answer.status_code == 202, answer.text
        wait_for(lambda: idle(self.service.store()), 120)


@contextmanager
def served(db: Path, **service: Any) -> Iterator[Served]:
    """A service on a fresh store ``db`` with one token per role, served by uvicorn in a
    thread on 127.0.0.1 (a free port), stopped on exit."""
    tokens = make_tokens(db)
    base = Settings.load()
    settings = replace(
        base,
        service=ServiceConfig(
            **{"triage_interval_seconds": 0.05, "timer_interval_seconds": 3600, **service}
        ),
    )
    app_service = Service(settings, db, clock=ManualClock(NOW), model="off")
    config = uvicorn.Config(
        create_app(app_service), host="127.0.0.1", port=0, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started or not thread.is_alive(), 60)
        assert server.started, "the service did not start"
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Served(f"http://127.0.0.1:{port}", app_service, tokens)
    finally:
        server.should_exit = True
        thread.join(60)


@asynccontextmanager
async def mcp_client(served: Served, role: str | None) -> AsyncIterator[Client]:
    """An MCP client of the served ``/mcp`` whose requests carry ``role``'s token."""
    async with (
        httpx2.AsyncClient(headers=served.as_role(role), timeout=120) as http,
        Client(streamable_http_client(served.mcp_url, http_client=http)) as client,
    ):
        yield client
