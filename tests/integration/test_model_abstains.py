"""A model that fails is not a model that disagrees (issue 13), and a model that writes its
tool calls as text still investigates. Scripted fake models (no model, no network) drive the
real graph on the bundled examples; the offline run is the yardstick."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, NOW
from tests.fakes import opinion, text
from tierzero.agents.state import CaseState
from tierzero.guardrails.model_gate import ChatRequest, ChatResponse
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.triage import triage

TEXT_CALL = '<tool_call>\n{"name": "case_alerts", "arguments": {}}\n</tool_call>'


class FunctionModel:
    """A scripted fake whose answer is a function of the request."""

    def __init__(self, answer: Any, name: str = "scripted-fake-model") -> None:
        self.answer = answer
        self.requests: list[ChatRequest] = []
        self.name = name

    def complete(self, request: ChatRequest) -> ChatResponse:
        # A snapshot: the agents keep appending to the conversation after the call.
        self.requests.append(replace(request, messages=list(request.messages)))
        result: ChatResponse = self.answer(request)
        return result


def run(db: Path, model: Any, settings: Settings | None = None) -> dict[str, CaseState]:
    report = triage([EXAMPLES], settings or Settings.load(), Store(db), now=NOW, model=model)
    return {s.case_id: s for s in report.cases_analysed}


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseState]:
    return run(tmp_path_factory.mktemp("offline") / "t.db", "off")


def decided(state: CaseState) -> set[tuple[str, str, str]]:
    return {(d.action, d.target, d.outcome) for d in state.decisions}


def test_an_empty_answering_model_abstains_and_costs_nothing(
    tmp_path: Path, offline: dict[str, CaseState]
) -> None:
    model = FunctionModel(lambda request: text(""))
    states = run(tmp_path / "t.db", model)
    assert set(states) == set(offline)
    asked = 0
    for case_id, state in states.items():
        assert state.analysis is not None and offline[case_id].analysis is not None
        assert state.analysis.verdict == offline[case_id].analysis.verdict, case_id
        assert state.status == offline[case_id].status, case_id
        assert decided(state) == decided(offline[case_id]), case_id
        if state.investigation is not None:  # auto-closed cases never reach the model
            asked += 1
            assert "empty_answer" in state.analysis.rationale[0], case_id
    assert asked >= 3
    # The intrusion keeps its automatic containments; the benign case still closes.
    assert any(d[2] == "allow" for d in decided(states["C-4"]))
    assert states["C-3"].status == offline["C-3"].status == "closed"


def test_review_mode_sends_a_failed_model_to_a_person(tmp_path: Path) -> None:
    base = Settings.load()
    settings = replace(base, model=base.model.model_copy(update={"on_model_failure": "review"}))
    states = run(tmp_path / "t.db", FunctionModel(lambda request: text("")), settings)
    c4 = states["C-4"].analysis
    assert c4 is not None and c4.verdict == "needs_review"
    assert "missing" in c4.rationale[0]


def test_text_tool_calls_are_executed_like_native_ones(tmp_path: Path) -> None:
    def answer(request: ChatRequest) -> ChatResponse:
        if request.tool_choice == "none":  # the conclusion
            return opinion(verdict="true_positive", rationale="Seen [E1].", evidence=["E1"])
        if not any(m.get("role") == "tool" for m in request.messages):
            return text(TEXT_CALL)
        return text("The case's alerts agree with the evidence list.")

    db = tmp_path / "t.db"
    model = FunctionModel(answer)
    states = run(db, model)
    c4 = states["C-4"].investigation
    assert c4 is not None and c4.tool_calls >= 1 and c4.tool_errors == 0
    assert c4.stopped == "answered"
    audit = list(Store(db).audit_records("C-4"))
    responses = [
        r["payload"]
        for r in audit
        if r["kind"] == "model_call" and r["payload"]["phase"] == "response"
    ]
    assert responses[0]["tool_call_format"] == "text"
    tools = [r for r in audit if r["kind"] == "tool_call" and "case_alerts" in json.dumps(r)]
    assert tools, "the text call went through the mediator and its audit"
    # Every request offered the tools (one prompt prefix for the server's cache).
    assert all(r.tools for r in model.requests)


def test_a_re_ask_names_the_failure_shows_the_shape_and_is_not_a_replay(tmp_path: Path) -> None:
    same = text('{"verdict": "maybe"}')

    def answer(request: ChatRequest) -> ChatResponse:
        if request.tool_choice == "none":
            return same
        return text("Nothing more to look at.")

    model = FunctionModel(answer)
    states = run(tmp_path / "t.db", model)
    asks = [r for r in model.requests if r.tool_choice == "none"]
    investigated = [s for s in states.values() if s.investigation is not None]
    assert len(asks) == 3 * len(investigated)  # each case: the ask and two re-asks
    first, second = asks[1], asks[2]
    assert first.temperature == second.temperature == 0.4 and asks[0].temperature is None
    repair = str(first.messages[-1]["content"])
    assert "- verdict: Input should be" in repair and '{"verdict": "true_positive"' in repair
    assert "word for word" in str(second.messages[-1]["content"])
    state = states["C-4"]
    assert state.analysis is not None and "failed validation 3 times" in state.analysis.rationale[0]


def test_a_small_context_window_gets_a_compact_case_and_no_overflowing_call(
    tmp_path: Path,
) -> None:
    base = Settings.load()
    small = base.model.model_copy(update={"context_window": 8192})
    settings = replace(base, model=small)

    def answer(request: ChatRequest) -> ChatResponse:
        if request.tool_choice == "none":
            return opinion(verdict="true_positive", rationale="Seen [E1].", evidence=["E1"])
        return text("Nothing more to look at.")

    db = tmp_path / "t.db"
    model = FunctionModel(answer)
    states = run(db, model, settings)
    c4_first = next(
        r for r in model.requests if "Investigate case C-4" in str(r.messages[1]["content"])
    )
    case_text = str(c4_first.messages[1]["content"])
    assert "more alerts: use case_alerts" in case_text  # compacted: the rest is a tool away
    records = [r["payload"] for r in Store(db).audit_records() if r["kind"] == "model_call"]
    requests = [r for r in records if r["phase"] == "request"]
    assert requests and all(r["prompt_tokens"] + r["max_tokens"] <= 8192 for r in requests)
    # The fake's tokenizer is unknown to tiktoken: counts carry the calibrated margin.
    assert {r["token_margin"] for r in requests} == {1.15}
    refused = [r for r in records if r["phase"] == "refused"]
    assert all(r["budget"] == "context" for r in refused)
    assert states["C-4"].analysis is not None
