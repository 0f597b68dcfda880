"""The model path against real local servers, replayed from cassettes (issue 13).

The cassettes in ``tests/cassettes/real_model/`` were recorded from Qwen2.5-Coder-1.5B-Instruct
(Q4_K_M GGUF) served on loopback by llama.cpp's ``llama-server --jinja`` and by
``llama-cpp-python``'s server (``tests/cassettes/README.md`` says how). Replay needs no server:
the real ``openai`` client plays the recorded answers back in order (``record_mode="none"``).
To record again, start the servers as the README's "Run with a local model" says and run::

    TIERZERO_RECORD_REAL=1 python -m pytest tests/integration/test_real_model_cassettes.py

What they show: how each server returns tool calls (natively, or written as text, which
tierzero reads), what omitting ``tool_choice`` does, and that with the real small model no
case of the bundled examples loses the offline analyst's decisions because the model failed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import vcr

from tests.conftest import EXAMPLES, NOW
from tierzero.agents.llm import OpenAIChatModel
from tierzero.agents.state import CaseState
from tierzero.guardrails.model_gate import ChatRequest, ModelError, PromptRef, with_text_calls
from tierzero.settings import Settings
from tierzero.settings.model import Endpoint, ModelConfig
from tierzero.store.sqlite import Store
from tierzero.tools import enrichment  # noqa: F401  (registers lookup_asset)
from tierzero.tools.registry import REGISTRY
from tierzero.usecases.triage import triage

RECORD = os.environ.get("TIERZERO_RECORD_REAL") == "1"
CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "real_model"
MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
SERVERS = {
    "llama_server": "http://127.0.0.1:8081/v1",
    "llama_cpp_python": "http://127.0.0.1:8082/v1",
}
CONTEXT = 8192  # both servers were started with an 8192-token context
pytestmark = [pytest.mark.loopback] if RECORD else []


def config(**update: Any) -> ModelConfig:
    """What a CPU user would set: long timings, the served context, one retry."""
    base = ModelConfig(
        model=MODEL,
        timeout_seconds=900,
        deadline_seconds=1800,
        max_retries=1,
        context_window=CONTEXT,
    )
    return base.model_copy(update=update)


@contextmanager
def server(name: str, cassette: str, **update: Any) -> Iterator[OpenAIChatModel]:
    recorder = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if RECORD else "none",
        match_on=("method", "path"),
        filter_headers=["authorization", "api-key", "cookie", "set-cookie"],
        decode_compressed_response=True,
    )
    path = f"{name}-{cassette}.yaml"
    if RECORD:
        (CASSETTES / path).unlink(missing_ok=True)
    elif not (CASSETTES / path).is_file():
        pytest.skip(f"no cassette {path} (recorded only where the servers run)")
    with recorder.use_cassette(path) as played:
        yield OpenAIChatModel(Endpoint(SERVERS[name], "not-needed", MODEL), config(**update))
        if not RECORD:
            assert played.all_played, f"{path}: recorded answers left unplayed"


def probe_request() -> ChatRequest:
    question = "Look up the asset WS-014. Use the lookup_asset tool; do not answer in prose."
    tools = [REGISTRY.get("lookup_asset").json_schema()]
    return ChatRequest([{"role": "user", "content": question}], tools, max_tokens=200)


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_how_each_server_returns_a_tool_call(name: str) -> None:
    """With tool_choice sent, each server's answer becomes a lookup_asset call."""
    with server(name, "tool-call") as client:
        request = probe_request()
        response = with_text_calls(client.complete(request), request)
    assert [c.name for c in response.tool_calls] == ["lookup_asset"]
    assert "WS-014" in response.tool_calls[0].arguments
    assert response.tool_call_format == CALL_FORMAT[name]


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_a_named_tool_choice(name: str) -> None:
    """Naming the tool (what ``tierzero doctor``'s second probe does): llama-cpp-python then
    constrains the answer to the tool's arguments and returns a native call; llama-server
    still gets the model's own text, which the fallback reads."""
    with server(name, "named-tool") as client:
        request = replace(probe_request(), tool_choice="lookup_asset")
        response = with_text_calls(client.complete(request), request)
    assert [c.name for c in response.tool_calls] == ["lookup_asset"]
    assert "WS-014" in response.tool_calls[0].arguments
    assert response.tool_call_format == NAMED_FORMAT[name]


NAMED_FORMAT = {"llama_server": "text", "llama_cpp_python": "native"}


# As recorded: this model writes its calls as a fenced JSON object even under llama-server's
# --jinja tool template, so tierzero's text fallback is what makes it investigate at all.
CALL_FORMAT = {"llama_server": "text", "llama_cpp_python": "text"}


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_what_omitting_tool_choice_does(name: str) -> None:
    with server(name, "no-tool-choice", send_tool_choice=False) as client:
        request = probe_request()
        response = with_text_calls(client.complete(request), request)
    called = [c.name for c in response.tool_calls]
    assert called == OMITTED[name]


OMITTED: dict[str, list[str]] = {
    "llama_server": ["lookup_asset"],
    "llama_cpp_python": ["lookup_asset"],
}


def run(db: Path, model: Any) -> dict[str, CaseState]:
    base = Settings.load()
    settings = replace(base, model=config())
    report = triage([EXAMPLES], settings, Store(db), now=NOW, model=model, memory=None)
    return {s.case_id: s for s in report.cases_analysed}


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseState]:
    return run(tmp_path_factory.mktemp("offline") / "t.db", "off")


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_the_examples_with_the_real_small_model(
    name: str, tmp_path: Path, offline: dict[str, CaseState]
) -> None:
    db = tmp_path / "t.db"
    with server(name, "examples") as client:
        states = run(db, client)
    store = Store(db)
    investigated = [s for s in states.values() if s.investigation is not None]
    assert investigated
    for state in investigated:
        base = offline[state.case_id]
        assert state.analysis is not None and base.analysis is not None
        valid = len(state.opinions) == 2
        if not valid:  # a failure: the offline decision stands, exactly
            assert state.analysis.rationale[0].startswith("The model abstained (")
            assert state.analysis.verdict == base.analysis.verdict
            assert {(d.action, d.target, d.outcome) for d in state.decisions} == {
                (d.action, d.target, d.outcome) for d in base.decisions
            }
    # No case loses the offline analyst's decisions because the model failed: C-3 closes,
    # C-4 keeps its automatic containments unless the model validly disagreed.
    assert states["C-3"].status == offline["C-3"].status
    c4 = states["C-4"]
    if len(c4.opinions) < 2 or c4.analysis.verdict == offline["C-4"].analysis.verdict:  # type: ignore[union-attr]
        executed = [r for r in store.actions.rows("C-4") if r.status == "executed"]
        assert executed
    # Investigated cases made tool calls that were parsed and executed through the mediator.
    calls = [
        r
        for r in store.audit_records()
        if r["kind"] == "tool_call" and r["actor"] == "investigation-agent"
    ]
    assert calls and sum(s.investigation.tool_calls for s in investigated) > 0  # type: ignore[union-attr]


def test_an_empty_answer_is_refused() -> None:
    """A real empty answer (recorded) is a ModelError, not findings."""
    from tierzero.guardrails.model_gate import ModelBudget, ModelGate, RunBudget

    class Sink:
        def audit(self, *args: Any) -> dict[str, Any]:
            return {}

    with server("llama_server", "empty") as client:
        gate = ModelGate(Sink(), client, ModelBudget(), RunBudget(10**7), None, "t", NOW)
        with pytest.raises(ModelError) as caught:
            gate.complete(ChatRequest(EMPTY_PROMPT, max_tokens=EMPTY_MAX_TOKENS), PROBE_REF)
    assert caught.value.kind == "empty_answer"


EMPTY_PROMPT = [
    {"role": "user", "content": "Output nothing. Your entire reply must be zero characters long."}
]
EMPTY_MAX_TOKENS = 8
PROBE_REF = PromptRef("probe", 1, "0" * 64)
