"""``tierzero doctor`` makes one real tool call and says how the endpoint handles tools
(issue 13): natively, through the text fallback, or not at all. The endpoint is the scripted
stub server on loopback (tests/cassettes/stub_server.py), not a model; the three answers are
the shapes seen from llama-server, llama-cpp-python without a tool template, and a model that
ignores tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.cassettes.stub_server import serve
from tierzero.settings import Settings
from tierzero.usecases.doctor import run_checks

pytestmark = pytest.mark.loopback
NATIVE = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "lookup_asset", "arguments": '{"host": "WS-014"}'},
        }
    ],
}
TEXT = {
    "role": "assistant",
    "content": "<tool_call>\n"
    '{"name": "lookup_asset", "arguments": {"host": "WS-014"}}\n</tool_call>',
}
PROSE = {"role": "assistant", "content": "WS-014 is a workstation."}


NAMED = {"type": "function", "function": {"name": "lookup_asset"}}


def responder(messages: list[dict[str, Any]], seen: list[dict[str, Any]]) -> Any:
    """Answers the n-th request with the n-th message."""

    def respond(body: dict[str, Any], n: int) -> tuple[int, dict[str, str], dict[str, Any]]:
        seen.append(body)
        message = messages[min(len(seen), len(messages)) - 1]
        choice = {"index": 0, "finish_reason": "stop", "message": message}
        return (
            200,
            {},
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [choice],
            },
        )

    return respond


@pytest.mark.parametrize(
    ("messages", "ok", "says"),
    [
        ([NATIVE], True, "native: the server returns tool_calls"),
        # llama-cpp-python: the model writes the call, but a named tool_choice is native
        ([TEXT, NATIVE], True, "text fallback"),
        # llama-server --jinja with a small model: text both times
        ([TEXT, TEXT], True, "text fallback"),
        ([PROSE, PROSE], False, "not at all"),
    ],
)
def test_the_tool_probe_says_how_tools_are_handled(
    tmp_path: Path, messages: list[dict[str, Any]], ok: bool, says: str
) -> None:
    seen: list[dict[str, Any]] = []
    with serve(responder(messages, seen), models=("qwen",)) as base:
        env = {"OPENAI_BASE_URL": base, "TIERZERO_MODEL": "qwen"}
        checks = {c.name: c for c in run_checks(Settings.load(), tmp_path / "t.db", env=env)}
    probe = checks["tool calling"]
    assert probe.ok is ok and says in probe.detail
    assert not probe.required  # tierzero still works; the model abstains
    assert len(seen) == len(messages)
    assert seen[0]["tool_choice"] == "auto"
    assert seen[0]["tools"][0]["function"]["name"] == "lookup_asset"
    if len(messages) == 2:  # the second request names the tool
        assert seen[1]["tool_choice"] == NAMED
        second = "returns a native call" if messages[1] is NATIVE else "even with the tool named"
        assert second in probe.detail
