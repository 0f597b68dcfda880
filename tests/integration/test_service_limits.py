"""What keeps one running service from being worn down (issue 14, review findings): bodies
are bounded before any route reads them (a token check comes after FastAPI parses a JSON
body), chats are capped, and a pool thread that ends takes its store connection with it."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.service_support import Running, running_service
from tierzero.service.body_limit import DEFAULT_LIMIT


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with running_service(tmp_path / "t.db", workers=False) as service:
        yield service


def test_a_big_body_is_refused_before_the_token_is_checked(running: Running) -> None:
    big = b'{"reason": "' + b"x" * (DEFAULT_LIMIT + 10) + b'"}'
    answer = running.client.post("/api/approvals/1/approve", content=big)
    assert answer.status_code == 413  # not 401: the body was never parsed
    declared = running.client.post(
        "/api/approvals/1/approve", content=b"{}", headers={"Content-Length": str(10**9)}
    )
    assert declared.status_code == 413


def test_a_chunked_body_is_counted_as_it_arrives(running: Running) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536  # 2.5 MiB, no Content-Length

    answer = running.client.post("/mcp", content=chunks(), headers=running.as_role("analyst"))
    assert answer.status_code == 413


def test_small_bodies_still_reach_their_routes(running: Running) -> None:
    answer = running.client.post(
        "/api/approvals/1/approve", json={"reason": "ok"}, headers=running.as_role("approver")
    )
    assert answer.status_code == 404  # no action 1: the body went through


def test_intake_keeps_its_own_larger_bound(tmp_path: Path) -> None:
    with running_service(tmp_path / "t.db", workers=False, max_body_bytes=4 * DEFAULT_LIMIT) as r:
        body = b"[" + b" " * (2 * DEFAULT_LIMIT) + b"]"
        assert r.push(body).status_code == 202


def test_chats_are_capped(tmp_path: Path) -> None:
    with running_service(tmp_path / "t.db", max_concurrent_chats=1) as running:
        running.push(
            (
                Path(__file__).resolve().parents[2] / "examples" / "crowdstrike_detections.jsonl"
            ).read_bytes()
        )
        running.settle()
        case_id = running.client.get("/api/cases", headers=running.as_role("analyst")).json()[
            "cases"
        ][0]["id"]
        assert running.service.chats.acquire(blocking=False)  # one chat is answering
        try:
            busy = running.client.post(
                f"/api/cases/{case_id}/chat",
                json={"message": "summary"},
                headers=running.as_role("analyst"),
            )
            assert busy.status_code == 429 and busy.headers["Retry-After"]
        finally:
            running.service.chats.release()
        free = running.client.post(
            f"/api/cases/{case_id}/chat",
            json={"message": "summary"},
            headers=running.as_role("analyst"),
        )
        assert free.status_code == 200 and "event: done" in free.text


def test_a_finished_thread_leaves_no_connection_open(running: Running) -> None:
    before = len(running.service._stores)
    threads = [threading.Thread(target=running.service.store) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    del threads
    gc.collect()
    assert len(running.service._stores) == before
