"""The model client's own pieces without a server: how failures map to ModelError and retry
waits, ``Retry-After``, and the socket-level limits (``tierzero.agents.llm_limits``)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx2
import openai
import pydantic
import pytest

from tierzero.agents import llm_limits
from tierzero.agents.llm import MAX_BACKOFF, _backoff, _failure, _retry_after
from tierzero.agents.llm_limits import Deadline, enforce_limits, limits
from tierzero.guardrails.model_gate import ModelError

REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")


def status_error(status: int, **headers: str) -> openai.APIStatusError:
    response = httpx2.Response(status, headers=headers, request=REQUEST)
    return openai.APIStatusError("failed", response=response, body=None)


def test_retry_after_forms() -> None:
    assert _retry_after(httpx2.Headers({"retry-after-ms": "1500"})) == 1.5
    assert _retry_after(httpx2.Headers({"retry-after": "3"})) == 3.0
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    wait = _retry_after(httpx2.Headers({"retry-after": soon}))
    assert wait is not None and 25 < wait <= 30
    for nonsense in ("soon", "-5", "inf", "nan"):
        assert _retry_after(httpx2.Headers({"retry-after": nonsense})) is None
    assert _retry_after(httpx2.Headers()) is None


def test_failures_map_to_model_errors_and_only_transient_ones_are_retried() -> None:
    assert _failure(status_error(503), 0)[0].kind == "server_error"
    error, wait = _failure(status_error(429, **{"retry-after": "7"}), 0)
    assert (error.kind, error.status, wait) == ("rate_limited", 429, 7.0)
    error, wait = _failure(status_error(400), 0)
    assert (error.kind, wait) == ("refused", None)
    timeout = openai.APITimeoutError(request=REQUEST)
    assert _failure(timeout, 0)[0].kind == "timeout" and _failure(timeout, 0)[1] is not None
    deadline = ModelError("timeout", "deadline")
    assert _failure(deadline, 0) == (deadline, None)  # the limits' own errors are final
    try:
        json.loads("<html>")
    except json.JSONDecodeError as exc:
        decode = exc
    try:
        pydantic.TypeAdapter(int).validate_python("x")
    except pydantic.ValidationError as exc:
        invalid = exc
    for raw in (decode, invalid, AttributeError("choices"), httpx2.DecodingError("gzip")):
        error, wait = _failure(raw, 0)
        assert (error.kind, wait) == ("bad_response", None) and error.__cause__ is raw


def test_backoff_is_bounded() -> None:
    assert 0.375 <= _backoff(0) <= 0.5
    assert all(_backoff(n) <= MAX_BACKOFF for n in range(50))


class Recording:
    """A fake network stream: answers each read with as many bytes as asked, and records it."""

    def __init__(self) -> None:
        self.asked: list[tuple[int, float | None]] = []

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.asked.append((max_bytes, timeout))
        return b"x" * max_bytes


def test_reads_never_ask_past_the_cap_and_fail_just_above_it() -> None:
    inner = Recording()
    stream = llm_limits._LimitedStream(inner)
    with limits(Deadline(60), max_bytes=100_000):
        assert len(stream.read(65_536, timeout=30)) == 65_536
        with pytest.raises(ModelError) as exc:
            stream.read(65_536, timeout=30)
    assert exc.value.kind == "too_large"
    assert [asked for asked, _ in inner.asked] == [65_536, 100_000 - 65_536 + 1]
    assert all(t is not None and t <= 30 for _, t in inner.asked)


def test_reads_wait_no_longer_than_the_deadline_and_none_start_after_it() -> None:
    inner = Recording()
    stream = llm_limits._LimitedStream(inner)
    deadline = Deadline(0.3)
    with limits(deadline, max_bytes=1 << 20):
        stream.read(10, timeout=60)
        time.sleep(0.35)
        with pytest.raises(ModelError) as exc:
            stream.read(10, timeout=60)
    assert exc.value.kind == "timeout"
    [(_, waited)] = inner.asked  # the second read never reached the socket
    assert waited is not None and waited <= 0.3


def test_outside_a_limited_call_streams_are_untouched() -> None:
    inner = Recording()
    assert llm_limits._LimitedStream(inner).read(1 << 20, timeout=5) == b"x" * (1 << 20)
    assert inner.asked == [(1 << 20, 5)]


def test_a_client_whose_pools_cannot_be_limited_is_refused() -> None:
    def answer(request: Any) -> httpx2.Response:
        return httpx2.Response(200)

    with pytest.raises(RuntimeError, match="deadline"):
        enforce_limits(httpx2.Client(transport=httpx2.MockTransport(answer)))
    limited = enforce_limits(httpx2.Client())
    pool = limited._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool._network_backend, llm_limits._LimitedBackend)


def _answer(seen: list[dict[str, Any]]) -> Any:
    """A stub responder (tests/cassettes/stub_server.py) recording each request body."""

    def respond(body: dict[str, Any], n: int) -> tuple[int, dict[str, str], dict[str, Any]]:
        seen.append(body)
        message = {"role": "assistant", "content": "ok"}
        choice = {"index": 0, "finish_reason": "stop", "message": message}
        return (
            200,
            {},
            {
                "id": f"c{n}",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [choice],
            },
        )

    return respond


@pytest.mark.loopback
def test_tool_choice_and_a_re_ask_temperature_are_sent() -> None:
    """llama-cpp-python's server drops the tools when no tool_choice comes with them."""
    from tests.cassettes.stub_server import serve
    from tierzero.agents.llm import OpenAIChatModel
    from tierzero.guardrails.model_gate import ChatRequest
    from tierzero.settings.model import Endpoint, ModelConfig

    seen: list[dict[str, Any]] = []
    tools = [{"type": "function", "function": {"name": "lookup_asset", "parameters": {}}}]
    hi = [{"role": "user", "content": "hi"}]
    with serve(_answer(seen)) as base:
        client = OpenAIChatModel(Endpoint(base, "k", "m"), ModelConfig())
        client.complete(ChatRequest(hi, tools))
        client.complete(ChatRequest(hi, tools, tool_choice="none", temperature=0.4))
        client.complete(ChatRequest(hi))
        client.complete(ChatRequest(hi, tools, tool_choice="lookup_asset"))
        quiet = OpenAIChatModel(Endpoint(base, "k", "m"), ModelConfig(send_tool_choice=False))
        quiet.complete(ChatRequest(hi, tools))
    named = {"type": "function", "function": {"name": "lookup_asset"}}
    assert [b.get("tool_choice") for b in seen] == ["auto", "none", None, named, None]
    assert [b["temperature"] for b in seen] == [0.0, 0.4, 0.0, 0.0, 0.0]
    assert "tools" not in seen[2] and seen[4]["tools"] == tools
