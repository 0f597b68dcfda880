"""A wall-clock deadline and a byte cap that hold on every socket operation of a model call.

httpx2 (under the ``openai`` SDK) has per-operation timeouts only: an endpoint that sends a
byte every few seconds never trips a read timeout and holds a call as long as it likes, and an
answer is read whole before anyone looks at its size. So :func:`enforce_limits` wraps the
network backend of every connection pool of the HTTP client, and while :func:`limits` is active
in the calling thread (one attempt of one call):

- every connect, TLS handshake, read and write waits at most the time left before the deadline
  (``min(its own timeout, time left)``), and fails with ``ModelError("timeout")`` once it has
  passed: reading stops at the deadline whatever the endpoint sends (headers, body, redirects);
- every read is counted and asks for at most one byte more than the cap allows: an answer
  above ``max_bytes`` (headers included) fails with ``ModelError("too_large")`` after at most
  ``max_bytes + 1`` bytes were read, and is never held whole;
- answers are asked for uncompressed, and an encoded one is refused before it is decoded (a
  gzip bomb passes a byte cap on the wire and then expands a thousandfold in memory).

Raising :class:`ModelError` (not an httpx error) from the socket layer means the SDK passes it
through untouched instead of retrying; httpcore closes the connection on the way out, so a
stopped answer is never read further. Name resolution is not covered: ``getaddrinfo`` cannot
be interrupted. This module does not import ``openai`` or ``httpcore2``: the backend and the
streams implement httpcore's ``NetworkBackend``/``NetworkStream`` interface by duck typing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import httpx2

from tierzero.guardrails.model_gate import ModelError

T = TypeVar("T")

# A request is written 4 KiB at a time, each checked against the deadline: an endpoint that
# drains it byte by byte cannot stretch one write of the whole prompt.
WRITE_CHUNK = 4096
_SLACK = 0.05  # a socket timeout that fires this close to the deadline is the deadline's


class Deadline:
    """A point in wall-clock time (monotonic) a whole call must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self._end - time.monotonic()

    def exceeded(self) -> ModelError:
        """The error of a call that ran out of time."""
        return ModelError("timeout", f"no complete answer within the {self.seconds:g} s deadline")


@dataclass
class _Attempt:
    """The limits of the HTTP attempt running in this thread, and the bytes it has read."""

    deadline: Deadline
    max_bytes: int
    read: int = 0


_ACTIVE: ContextVar[_Attempt | None] = ContextVar("tierzero_model_call_limits", default=None)


@contextmanager
def limits(deadline: Deadline, max_bytes: int) -> Iterator[None]:
    """Hold every socket operation of this thread to ``deadline`` and ``max_bytes`` read."""
    token = _ACTIVE.set(_Attempt(deadline, max_bytes))
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def _within_deadline(operation: Callable[[float | None], T], timeout: float | None) -> T:
    """Run a socket operation with its timeout cut to the time left; past the deadline, fail."""
    attempt = _ACTIVE.get()
    if attempt is None:  # not a limited call (nothing else uses these pools, but be exact)
        return operation(timeout)
    left = attempt.deadline.remaining()
    if left <= 0:
        raise attempt.deadline.exceeded()
    try:
        return operation(left if timeout is None else min(timeout, left))
    except ModelError:
        raise
    except Exception as exc:
        if attempt.deadline.remaining() <= _SLACK:
            raise attempt.deadline.exceeded() from exc
        raise


class _LimitedStream:
    """httpcore's ``NetworkStream`` interface around a real stream, with the limits applied."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        attempt = _ACTIVE.get()
        if attempt is not None:  # never ask for more than one byte past the cap
            max_bytes = max(1, min(max_bytes, attempt.max_bytes - attempt.read + 1))
        data: bytes = _within_deadline(partial(self._inner.read, max_bytes), timeout)
        if attempt is not None:
            attempt.read += len(data)
            if attempt.read > attempt.max_bytes:
                raise ModelError(
                    "too_large", f"the answer is larger than the {attempt.max_bytes}-byte limit"
                )
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        view = memoryview(buffer)
        for start in range(0, len(view), WRITE_CHUNK):
            chunk = bytes(view[start : start + WRITE_CHUNK])
            _within_deadline(partial(self._inner.write, chunk), timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _LimitedStream:
        tls = partial(self._inner.start_tls, ssl_context, server_hostname)
        return _LimitedStream(_within_deadline(tls, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _LimitedBackend:
    """httpcore's ``NetworkBackend`` interface: the real backend's streams, limited."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> _LimitedStream:
        def connect(limit: float | None) -> Any:
            return self._inner.connect_tcp(
                host=host,
                port=port,
                timeout=limit,
                local_address=local_address,
                socket_options=socket_options,
            )

        return _LimitedStream(_within_deadline(connect, timeout))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> _LimitedStream:
        def connect(limit: float | None) -> Any:
            return self._inner.connect_unix_socket(
                path=path, timeout=limit, socket_options=socket_options
            )

        return _LimitedStream(_within_deadline(connect, timeout))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def enforce_limits(client: httpx2.Client) -> httpx2.Client:
    """Put :func:`limits` under every connection pool of ``client`` (direct and via proxies)
    and have it ask for, and accept only, uncompressed answers; returns ``client``.

    httpx2 has no public way to give a transport a network backend, so this reaches its pools'
    ``_network_backend`` (httpcore's, set once when the pool is made). A transport without one
    raises here rather than run a model call without limits.
    """
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        if transport is None:  # a mount that says "no proxy for these hosts"
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is None:
            raise RuntimeError(
                f"cannot hold model calls to a deadline through {type(transport).__name__}"
            )
        if not isinstance(backend, _LimitedBackend):
            pool._network_backend = _LimitedBackend(backend)  # type: ignore[union-attr]
    client.event_hooks["request"].append(_ask_uncompressed)
    client.event_hooks["response"].append(_refuse_encoded)
    return client


def _ask_uncompressed(request: httpx2.Request) -> None:
    request.headers["accept-encoding"] = "identity"


def _refuse_encoded(response: httpx2.Response) -> None:
    """Before the body is read: a body encoded though we asked for none is not decoded."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        raise ModelError("bad_response", f"the answer is {encoding[:40]}-encoded; asked for none")
