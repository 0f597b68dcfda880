"""A scripted OpenAI-compatible Chat Completions server on loopback, used only to RECORD cassettes.

It is not a model: a scenario function (``tests/cassettes/scenarios.py``) decides every
response from the request it receives. The wire format (JSON bodies, status codes, headers
such as ``Retry-After``, error objects) follows the OpenAI API reference for
``POST /v1/chat/completions``. Recording runs the real ``openai`` client against this server
through vcrpy, so the cassettes hold exactly what the client sent and received.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# (request body, sequence number from 1) -> (status, extra headers, response body)
Responder = Callable[[dict[str, Any], int], tuple[int, dict[str, str], dict[str, Any]]]


@contextmanager
def serve(responder: Responder, models: tuple[str, ...] = ("gpt-4o-mini",)) -> Iterator[str]:
    """Run the stub on 127.0.0.1 (a free port) and yield its base URL (``.../v1``);
    ``GET /v1/models`` lists ``models``."""
    lock = threading.Lock()
    seen = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                seen[0] += 1
                status, headers, payload = responder(body, seen[0])
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            listed = {"object": "list", "data": [{"id": m, "object": "model"} for m in models]}
            data = json.dumps(listed).encode()
            self.send_response(200 if self.path.rstrip("/").endswith("/models") else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
