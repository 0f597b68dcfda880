"""Tool calls written as text (issue 13): the formats small local models use are read into
tool calls that then pass the same gate, audit and mediation as native ones; data that merely
looks like JSON is not a call; an empty answer is an error, not findings."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes import ScriptedModel, text
from tierzero.guardrails.model_gate import (
    ChatRequest,
    ChatResponse,
    ModelBudget,
    ModelError,
    ModelGate,
    PromptRef,
    RunBudget,
)
from tierzero.guardrails.text_tool_calls import offered_names, recognize

NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
REF = PromptRef("investigate", 1, "0" * 64)
TOOLS = [
    {"type": "function", "function": {"name": "lookup_asset", "parameters": {}}},
    {"type": "function", "function": {"name": "case_alerts", "parameters": {}}},
]
OFFERED = offered_names(TOOLS)
ASSET = {"host": "WS-014"}


class Sink:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def audit(self, kind: Any, actor: str, payload: dict[str, Any], *_: Any) -> dict[str, Any]:
        self.records.append(payload)
        return {}


def gate(model: Any) -> ModelGate:
    return ModelGate(Sink(), model, ModelBudget(), RunBudget(10_000_000), "C-1", "t", NOW)


@pytest.mark.parametrize(
    "content",
    [
        '<tool_call>\n{"name": "lookup_asset", "arguments": {"host": "WS-014"}}\n</tool_call>',
        '<tools>[{"name": "lookup_asset", "arguments": {"host": "WS-014"}}]</tools>',
        "I will look it up.\n```json\n"
        '{"name": "lookup_asset", "arguments": {"host": "WS-014"}}\n```',
        '{"name": "lookup_asset", "arguments": {"host": "WS-014"}}',
        '{"function": {"name": "lookup_asset", "arguments": "{\\"host\\": \\"WS-014\\"}"}}',
        '```\n{"tool": "lookup_asset", "parameters": {"host": "WS-014"}}\n```',
        # Cut off before the closing tag (finish_reason length): still the call it began.
        '<tool_call>{"name": "lookup_asset", "arguments": {"host": "WS-014"}}',
    ],
)
def test_each_written_form_is_one_call(content: str) -> None:
    calls, rest = recognize(content, OFFERED)
    assert len(calls) == 1
    name, arguments = calls[0]
    assert name == "lookup_asset" and json.loads(arguments) == ASSET
    assert "lookup_asset" not in rest


def test_several_calls_and_the_text_around_them() -> None:
    content = (
        "Checking both.\n<tool_call>\n"
        '{"name": "lookup_asset", "arguments": {"host": "WS-014"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "case_alerts", "arguments": {}}\n</tool_call>'
    )
    calls, rest = recognize(content, OFFERED)
    assert [c[0] for c in calls] == ["lookup_asset", "case_alerts"]
    assert rest == "Checking both."


def test_data_that_looks_like_json_is_not_a_call() -> None:
    findings = '```json\n{"name": "WS-014", "arguments": "the beacon"}\n```'
    assert recognize(findings, OFFERED) == ([], findings)
    conclusion = json.dumps({"verdict": "true_positive", "evidence": ["E1"]})
    assert recognize(conclusion, OFFERED) == ([], conclusion)
    # A tool that was not offered, outside tags: prose about it, not a call.
    other = '{"name": "isolate_host", "arguments": {"host": "WS-014"}}'
    assert recognize(other, OFFERED)[0] == []
    assert recognize("The host is WS-014.", OFFERED)[0] == []
    assert recognize('{"name": "lookup_asset"}', frozenset())[0] == []  # no tools offered


def test_a_tagged_call_to_an_unoffered_tool_is_still_a_call_for_mediation_to_refuse() -> None:
    calls, _ = recognize(
        '<tool_call>{"name": "isolate_host", "arguments": {}}</tool_call>', OFFERED
    )
    assert calls == [("isolate_host", "{}")]


def test_the_gate_reads_text_calls_and_audits_their_format() -> None:
    content = '<tool_call>{"name": "lookup_asset", "arguments": {"host": "WS-014"}}</tool_call>'
    g = gate(ScriptedModel([text(content)]))
    response = g.complete(ChatRequest([{"role": "user", "content": "go"}], TOOLS), REF)
    assert response.tool_call_format == "text" and response.content is None
    assert [(c.name, json.loads(c.arguments)) for c in response.tool_calls] == [
        ("lookup_asset", ASSET)
    ]
    audited = g.sink.records[-1]  # type: ignore[attr-defined]
    assert audited["tool_call_format"] == "text"
    assert audited["content"] is None and audited["tool_calls"][0]["name"] == "lookup_asset"
    assert g.sink.records[0]["tool_choice"] == "auto"  # type: ignore[attr-defined]


def test_no_text_calls_when_the_request_forbids_tools() -> None:
    """A conclusion (tool_choice none) that is a JSON object stays text for validation."""
    content = '{"name": "lookup_asset", "arguments": {"host": "WS-014"}}'
    g = gate(ScriptedModel([text(content)]))
    request = ChatRequest([{"role": "user", "content": "go"}], TOOLS, tool_choice="none")
    response = g.complete(request, REF)
    assert response.tool_calls == () and response.content == content


@pytest.mark.parametrize("content", ["", "   \n", None])
def test_an_empty_answer_is_an_audited_error(content: str | None) -> None:
    g = gate(ScriptedModel([ChatResponse(content=content)]))
    with pytest.raises(ModelError) as caught:
        g.complete(ChatRequest([{"role": "user", "content": "go"}], TOOLS), REF)
    assert caught.value.kind == "empty_answer"
    assert g.sink.records[-1]["phase"] == "error"  # type: ignore[attr-defined]
    assert g.sink.records[-1]["error"] == "empty_answer"  # type: ignore[attr-defined]


def test_a_call_with_stray_text_after_it_is_still_a_call() -> None:
    """As recorded from Qwen2.5-Coder on llama-server: the object, then an unclosed fence and
    the model's own guess at the result."""
    content = (
        '{"name": "raw_record", "arguments": {"alert_id": "A-1", "offset": 0}}\n```\n'
        '{\n  "alert_id": "A-1",'
    )
    calls, rest = recognize(content, offered_names([*TOOLS, _tool("raw_record")]))
    assert [(n, json.loads(a)) for n, a in calls] == [
        ("raw_record", {"alert_id": "A-1", "offset": 0})
    ]
    assert "raw_record" not in rest
    trailing = '{"name": "case_alerts", "arguments": {"limit": 50}}\n```'
    assert recognize(trailing, OFFERED)[0] == [("case_alerts", '{"limit": 50}')]


def _tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {}}}
