"""Shared fixtures. Tests never reach the network: nothing here opens a socket."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
# "Now" for tests: the day after the example story, so no example time is in the future.
NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)


def corpora_dir() -> Path:
    return Path(os.environ.get("TIERZERO_CORPORA", REPO.parent / "shared" / "corpora"))


@pytest.fixture
def corpora() -> Path:
    """The shared reference corpora; tests using it are marked ``corpus`` and skip without it."""
    folder = corpora_dir()
    if not folder.is_dir():
        pytest.skip(f"corpora not found at {folder} (set TIERZERO_CORPORA)")
    return folder


@pytest.fixture(autouse=True, scope="session")
def _audit_key_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Audit records are signed with a key of the test session, never the developer's
    ~/.config/tierzero/audit.key (session-wide so module fixtures and subprocesses see it)."""
    with pytest.MonkeyPatch.context() as patch:
        key = tmp_path_factory.mktemp("audit-key") / "audit.key"
        patch.setenv("TIERZERO_AUDIT_KEY_FILE", str(key))
        yield


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Fail any attempt to open a network connection (tests use files and fakes only).

    Tests marked ``loopback`` (recording cassettes against the local stub server) may connect
    to 127.0.0.1 and nowhere else.
    """
    import socket

    loopback = request.node.get_closest_marker("loopback") is not None
    real_connect = socket.socket.connect
    real_create = socket.create_connection

    def is_loopback(address: object) -> bool:
        host = address[0] if isinstance(address, tuple) else address
        return loopback and host in ("127.0.0.1", "localhost", "::1")

    def connect(self: socket.socket, address: object) -> None:
        if not is_loopback(address):
            raise RuntimeError("tests must not reach the network")
        real_connect(self, address)  # type: ignore[arg-type]

    def create_connection(address: object, *args: object, **kwargs: object) -> socket.socket:
        if not is_loopback(address):
            raise RuntimeError("tests must not reach the network")
        return real_create(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    # A model endpoint configured in the developer's shell must not leak into tests.
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TIERZERO_MODEL", "TIERZERO_LLM"):
        monkeypatch.delenv(name, raising=False)
