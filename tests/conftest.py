"""Shared fixtures. Tests never reach the network: nothing here opens a socket."""

from __future__ import annotations

import os
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


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any attempt to open a network connection (tests use files and fakes only)."""
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("tests must not reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
