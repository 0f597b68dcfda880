"""A hostile model endpoint on 127.0.0.1 against the real ``openai`` client and the model gate.

Each attack of issue 11 item 9 is reproduced with a real HTTP server on loopback: an answer
that drips (headers or body) so no single read times out, a silent one, an answer far above
the size cap (plain, chunked, gzip-bombed), a 200 whose body is not a chat completion, and a
429 asking for a wait longer than the deadline. The call must end within its deadline (plus
a little slack), fail with a ModelError, never store more than the cap, and leave a response
or error record after every request record, also through ``tierzero chat``.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES, NOW
from tierzero.agents.llm import OpenAIChatModel
from tierzero.cli import app
from tierzero.guardrails.model_gate import (
    ChatRequest,
    ModelBudget,
    ModelError,
    ModelGate,
    PromptRef,
    RunBudget,
)
from tierzero.settings.model import Endpoint, ModelConfig
from tierzero.store.sqlite import Store

pytestmark = pytest.mark.loopback

DEADLINE = 2.0
SLACK = 1.5  # thread start, connection setup, a loaded CI machine
CAP = 1 << 20
REF = PromptRef("chat", 1, "0" * 64)
Handler = Callable[[BaseHTTPRequestHandler, threading.Event], None]


def completion(content: str) -> bytes:
    """A well-formed chat.completion body with ``content`` as the answer."""
    return json.dumps(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "gpt-4o-mini",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
    ).encode()


@contextmanager
def endpoint(handle: Handler) -> Iterator[str]:
    """Serve ``handle`` on 127.0.0.1 (a free port); yields the base URL (``.../v1``)."""
    stop = threading.Event()

    class Server(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self._answer()

        def _answer(self) -> None:
            try:
                handle(self, stop)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading: what the limits are for

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


def head(handler: BaseHTTPRequestHandler, status: int = 200, **headers: str | int) -> None:
    handler.send_response(status)
    handler.send_header("content-type", "application/json")
    for name, value in headers.items():
        handler.send_header(name.replace("_", "-"), str(value))
    handler.end_headers()


def client(base: str, **config: Any) -> OpenAIChatModel:
    settings = ModelConfig(**{"deadline_seconds": DEADLINE, "max_retries": 2, **config})
    return OpenAIChatModel(Endpoint(base, "sk-test-placeholder", "gpt-4o-mini"), settings)


def gate(store: Store, model: OpenAIChatModel) -> ModelGate:
    return ModelGate(store, model, ModelBudget(), RunBudget(10_000_000), "C-1", "t", NOW, CAP)


def ask(store: Store, model: OpenAIChatModel) -> tuple[ModelError, float]:
    """One gated call that must fail: the error and how long it took."""
    started = time.monotonic()
    with pytest.raises(ModelError) as failed:
        gate(store, model).complete(ChatRequest([{"role": "user", "content": "hi"}]), REF)
    return failed.value, time.monotonic() - started


def model_calls(store: Store) -> list[dict[str, Any]]:
    return [r["payload"] for r in store.audit_records() if r["kind"] == "model_call"]


def assert_paired(store: Store) -> None:
    """Every request record is followed by exactly one response or error record."""
    phases = [r["phase"] for r in model_calls(store)]
    assert phases and len(phases) % 2 == 0
    assert phases[0::2] == ["request"] * (len(phases) // 2)
    assert all(p in ("response", "error") for p in phases[1::2])


def stored_bytes(store: Store) -> int:
    """Bytes of the audit's model_call records as stored."""
    row = store.conn.execute(
        "SELECT COALESCE(SUM(LENGTH(CAST(payload AS BLOB))), 0) FROM audit "
        "WHERE kind = 'model_call'"
    ).fetchone()
    return int(row[0])


# -- slow drip: the deadline holds the whole call --------------------------------------------


def drip_body(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    body = completion("slow " * 200)
    head(handler, content_length=len(body))
    for byte in body:  # one byte every 0.1 s: no read ever waits near a timeout
        if stop.wait(0.1):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def drip_headers(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    for byte in b"HTTP/1.1 200 OK\r\n" + b"x-padding: " + b"a" * 10_000:
        if stop.wait(0.1):
            return
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()


def silent(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    stop.wait(30)


@pytest.mark.parametrize("handle", [drip_body, drip_headers, silent], ids=lambda h: h.__name__)
def test_a_slow_answer_fails_at_the_deadline(tmp_path: Path, handle: Handler) -> None:
    store = Store(tmp_path / "t.db")
    with endpoint(handle) as base:
        # A per-read timeout of 60 s (the default) never fires on a drip; only the deadline can.
        error, took = ask(store, client(base, timeout_seconds=60))
    assert error.kind == "timeout" and "2 s deadline" in str(error)
    assert DEADLINE - 0.2 <= took < DEADLINE + SLACK
    assert_paired(store)
    assert model_calls(store)[-1]["error"] == "timeout"


def test_a_retry_never_waits_past_the_deadline(tmp_path: Path) -> None:
    seen: list[float] = []

    def rate_limited(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        seen.append(time.monotonic())
        body = b'{"error": {"message": "slow down", "type": "rate_limit"}}'
        head(handler, 429, retry_after=30, content_length=len(body))
        handler.wfile.write(body)

    store = Store(tmp_path / "t.db")
    with endpoint(rate_limited) as base:
        error, took = ask(store, client(base))
    assert (error.kind, error.status) == ("rate_limited", 429)
    assert len(seen) == 1 and took < 1.0  # a 30 s wait cannot fit in 2 s: no retry, no sleep
    assert_paired(store)


def test_retries_happen_inside_the_deadline(tmp_path: Path) -> None:
    seen: list[float] = []

    def flaky(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        seen.append(time.monotonic())
        body = completion("fine") if len(seen) == 3 else b'{"error": {"message": "oops"}}'
        head(handler, 200 if len(seen) == 3 else 503, content_length=len(body))
        handler.wfile.write(body)

    store = Store(tmp_path / "t.db")
    with endpoint(flaky) as base:
        model = client(base, deadline_seconds=10)
        answer = gate(store, model).complete(ChatRequest([{"role": "user", "content": "hi"}]), REF)
    assert answer.content == "fine" and len(seen) == 3  # two 503s retried with backoff
    assert [r["phase"] for r in model_calls(store)] == ["request", "response"]


# -- a huge answer: reading stops at the cap, nothing big is stored ----------------------------


def huge(chunked: bool) -> Handler:
    def handle(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        size = 20 << 20
        prefix, suffix = completion("X").split(b"X")
        if chunked:
            head(handler, transfer_encoding="chunked")
        else:
            head(handler, content_length=len(prefix) + size + len(suffix))
        piece = b"x" * (64 << 10)
        parts = [prefix, *[piece] * (size // len(piece)), suffix]
        for part in parts:
            if stop.is_set():
                return
            data = b"%x\r\n%s\r\n" % (len(part), part) if chunked else part
            handler.wfile.write(data)
        if chunked:
            handler.wfile.write(b"0\r\n\r\n")

    return handle


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_answer_above_the_cap_is_never_held_or_stored(tmp_path: Path, chunked: bool) -> None:
    store = Store(tmp_path / "t.db")
    with endpoint(huge(chunked)) as base:
        model = client(base, max_response_bytes=CAP, deadline_seconds=30)
        tracemalloc.start()
        try:
            error, _ = ask(store, model)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert error.kind == "too_large" and str(CAP) in str(error)
    assert peak < 4 * CAP  # read up to the cap, never the 20 MiB answer
    assert_paired(store)
    error_record = model_calls(store)[-1]
    assert error_record["phase"] == "error" and "content" not in error_record
    assert stored_bytes(store) < 8_000  # the request (a short prompt) and a short error


def test_an_answer_just_under_the_cap_is_stored_and_bounded(tmp_path: Path) -> None:
    content = "y" * (CAP - 2_000)

    def big(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        body = completion(content)
        head(handler, content_length=len(body))
        handler.wfile.write(body)

    store = Store(tmp_path / "t.db")
    with endpoint(big) as base:
        model = client(base, max_response_bytes=CAP, deadline_seconds=30)
        answer = gate(store, model).complete(ChatRequest([{"role": "user", "content": "hi"}]), REF)
    assert answer.content == content
    assert_paired(store)
    assert stored_bytes(store) < CAP + 8_000


def test_a_compressed_answer_is_refused_before_it_is_decoded(tmp_path: Path) -> None:
    bomb = gzip.compress(completion("z" * (50 << 20)))  # about 50 KiB on the wire, 50 MiB inside
    asked: list[str] = []

    def gzipped(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        asked.append(handler.headers.get("accept-encoding", ""))
        head(handler, content_encoding="gzip", content_length=len(bomb))
        handler.wfile.write(bomb)

    store = Store(tmp_path / "t.db")
    with endpoint(gzipped) as base:
        error, _ = ask(store, client(base))
    assert asked == ["identity"]
    assert error.kind == "bad_response" and "gzip" in str(error)
    assert_paired(store)


# -- garbage: a 200 that is not a completion ---------------------------------------------------

GARBAGE = {
    "html": ("text/html", b"<html><body>502 Bad Gateway (but 200)</body></html>"),
    "json-typed html": ("application/json", b"<html>not json</html>"),
    "truncated json": ("application/json", completion("cut")[:40]),
    "wrong shape": ("application/json", b'{"choices": "none of them"}'),
    "list": ("application/json", b"[1, 2, 3]"),
    "null message": ("application/json", b'{"choices": [{"index": 0, "message": null}]}'),
    "empty": ("application/json", b""),
}


@pytest.mark.parametrize("name", sorted(GARBAGE))
def test_a_body_that_is_not_a_completion_is_a_model_error(tmp_path: Path, name: str) -> None:
    content_type, body = GARBAGE[name]

    def garbage(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.send_response(200)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    store = Store(tmp_path / "t.db")
    with endpoint(garbage) as base:
        error, _ = ask(store, client(base))
    assert error.kind == "bad_response"
    assert_paired(store)
    assert model_calls(store)[-1]["error"] == "bad_response"


def test_chat_answers_offline_when_the_endpoint_sends_garbage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "t.db"
    runner = CliRunner()
    triaged = runner.invoke(app, ["triage", str(EXAMPLES), "--db", str(db), "--json"])
    assert triaged.exit_code == 0, triaged.output

    def garbage(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        body = b"this is not JSON"
        head(handler, content_length=len(body))
        handler.wfile.write(body)

    with endpoint(garbage) as base:
        monkeypatch.setenv("OPENAI_BASE_URL", base)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-placeholder")
        result = runner.invoke(app, ["chat", "C-4", "--db", str(db), "-m", "summary", "--json"])
    assert result.exit_code == 0, result.output
    [reply] = json.loads(result.stdout)["replies"]
    assert reply["note"] == "model endpoint failed (bad_response)"
    store = Store(db)
    calls = [r["payload"] for r in store.audit_records("C-4") if r["kind"] == "model_call"]
    phases = [c["phase"] for c in calls]
    assert phases == ["request", "error"] and calls[1]["error"] == "bad_response"


def test_listing_models_and_embedding_are_held_to_the_same_rules() -> None:
    answers = iter(
        [
            b'{"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]}',
            b"<html>not a list</html>",
            b'{"data": [{"index": 0, "embedding": [0.5, 0.25]}], "model": "e", "object": "list"}',
            b'{"data": "no"}',
        ]
    )

    def scripted(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
        body = next(answers)
        head(handler, content_length=len(body))
        handler.wfile.write(body)

    with endpoint(scripted) as base:
        model = client(base, max_retries=0)
        assert model.list_models() == ["gpt-4o-mini"]
        with pytest.raises(ModelError) as listing:
            model.list_models()
        assert model.embed(["a"], "e") == [[0.5, 0.25]]
        with pytest.raises(ModelError) as embedding:
            model.embed(["a"], "e")
    assert listing.value.kind == embedding.value.kind == "bad_response"
