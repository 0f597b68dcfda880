"""A simulated slow model endpoint (not a model) for benchmarks: OpenAI-compatible chat
completions on loopback that take ``delay`` seconds each and answer nothing.

It stands in for a local CPU model that thinks for minutes, to measure what waits while a
model call is open. Every answer is empty, so tierzero's model gate records ``empty_answer``
and the analysis abstains: the offline analyst's decision stands, and what is measured is
waiting, not judgement. Calls are counted (``calls``) and served in parallel, as a server with
several slots would.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from devtools.loopback import free_port


class SlowModel:
    """The endpoint: ``start()`` it, point ``OPENAI_BASE_URL`` at ``url``, ``stop()`` it."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> SlowModel:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request: dict[str, Any] = json.loads(self.rfile.read(length) or b"{}")
                with model._lock:
                    model.calls += 1
                time.sleep(model.delay)
                body = json.dumps(
                    {
                        "id": "slow-model",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": request.get("model", "slow-model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": ""},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 0, "total_tokens": 1},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None  # quiet: the benchmark prints its own results

        return Handler
