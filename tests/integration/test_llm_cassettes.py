"""The real ``openai`` client, end to end through the graph, replayed from vcrpy cassettes.

Each test triages the bundled examples with the LLM agents on; its cassette
(``tests/cassettes/test_llm_cassettes/<scenario>.yaml``) holds every HTTP exchange. Playback
uses ``record_mode="none"``: a request with no recorded answer fails, and so does a cassette
that is not played to the end. To record again (loopback only, against the scripted stub
server in ``tests/cassettes/stub_server.py``)::

    TIERZERO_RECORD_CASSETTES=1 python -m pytest tests/integration/test_llm_cassettes.py

See ``tests/cassettes/README.md`` for where the responses come from.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
import vcr

from tests.cassettes.scenarios import SCENARIOS
from tests.cassettes.stub_server import serve
from tests.conftest import EXAMPLES, NOW
from tierzero.agents.llm import OpenAIChatModel
from tierzero.agents.state import CaseState
from tierzero.guardrails.model_gate import ChatRequest, ChatResponse
from tierzero.settings import Settings
from tierzero.settings.model import Endpoint, ModelConfig
from tierzero.store.sqlite import Store
from tierzero.usecases.triage import triage as run_triage

RECORD = os.environ.get("TIERZERO_RECORD_CASSETTES") == "1"
CASSETTES = Path(__file__).resolve().parents[1] / "cassettes" / "test_llm_cassettes"
pytestmark = [pytest.mark.loopback] if RECORD else []
SECRET_HEADERS = ["authorization", "api-key", "cookie", "set-cookie", "openai-organization"]


class CountingModel:
    """Counts the calls the agents make (each may be several HTTP attempts inside the client)."""

    def __init__(self, inner: OpenAIChatModel) -> None:
        self.inner = inner
        self.calls = 0

    @property
    def name(self) -> str:
        return self.inner.name

    def complete(self, request: ChatRequest) -> ChatResponse:
        self.calls += 1
        return self.inner.complete(request)


class FlakyTransport(httpx2.HTTPTransport):
    """Simulates a read timeout (the request never reaches the endpoint) when ``fails`` says
    so; every other request goes on to the real transport, which vcrpy records or replays."""

    def __init__(self, fails: Callable[[str, int], bool]) -> None:
        super().__init__()
        self.fails = fails
        self.sent = 0
        self.timeouts = 0

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.sent += 1
        if self.fails(request.content.decode(), self.sent):
            self.timeouts += 1
            raise httpx2.ReadTimeout("simulated read timeout", request=request)
        return super().handle_request(request)


@contextmanager
def endpoint(
    scenario: str, transport: httpx2.HTTPTransport | None = None
) -> Iterator[tuple[CountingModel, Any]]:
    """The OpenAI client on a cassette (recording against the stub server when asked)."""
    recorder = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode="all" if RECORD else "none",
        match_on=("method", "path"),
        filter_headers=SECRET_HEADERS,
        decode_compressed_response=True,
    )
    if RECORD:  # a fresh recording, never appended to an old one
        (CASSETTES / f"{scenario}.yaml").unlink(missing_ok=True)
    with ExitStack() as stack:
        base = stack.enter_context(serve(SCENARIOS[scenario])) if RECORD else None
        cassette = stack.enter_context(recorder.use_cassette(f"{scenario}.yaml"))
        config = ModelConfig(max_retries=2, timeout_seconds=5.0)
        where = Endpoint(base or "http://127.0.0.1:9/v1", "sk-test-placeholder", "gpt-4o-mini")
        model = CountingModel(OpenAIChatModel(where, config, transport=transport))
        yield model, cassette
        if not RECORD:
            assert cassette.all_played, (
                f"{scenario}: {len(cassette) - cassette.play_count} recorded responses unplayed"
            )


def exchanges(cassette: Any) -> int:
    """HTTP exchanges of the run: played back, or just recorded."""
    return len(cassette) if RECORD else int(cassette.play_count)


def triage(store_path: Path, model: CountingModel) -> dict[str, CaseState]:
    report = run_triage([EXAMPLES], Settings.load(), Store(store_path), now=NOW, model=model)
    return {s.case_id: s for s in report.cases_analysed}


@pytest.fixture(scope="module")
def offline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CaseState]:
    """The same triage with no model: what a case must come to when the model abstains."""
    db = tmp_path_factory.mktemp("offline") / "t.db"
    report = run_triage([EXAMPLES], Settings.load(), Store(db), now=NOW, model="off")
    return {s.case_id: s for s in report.cases_analysed}


def assert_abstained(state: CaseState, offline: CaseState, why: str) -> None:
    """The model failed, so it abstained: the offline decision stands exactly, and says so."""
    assert state.analysis is not None and offline.analysis is not None
    assert state.analysis.verdict == offline.analysis.verdict
    assert state.status == offline.status
    first = state.analysis.rationale[0]
    assert first.startswith("The model abstained (") and why in first
    assert len(state.opinions) == 1  # the offline analyst's only: a failure is no opinion
    decided = {(d.action, d.target, d.outcome) for d in state.decisions}
    assert decided == {(d.action, d.target, d.outcome) for d in offline.decisions}


def model_records(db: Path, case_id: str | None = None) -> list[dict[str, Any]]:
    return [r["payload"] for r in Store(db).audit_records(case_id) if r["kind"] == "model_call"]


def assert_every_call_audited(db: Path, model: CountingModel) -> None:
    """Each call the agents made has a request record and exactly one response or error."""
    records = model_records(db)
    requests = [r for r in records if r["phase"] == "request"]
    outcomes = [r for r in records if r["phase"] in ("response", "error")]
    assert len(requests) == len(outcomes) == model.calls > 0
    for record in requests:
        assert record["prompt"]["id"] and record["prompt"]["version"] >= 1
        assert record["messages"] and record["prompt_tokens"] > 0


def test_full_investigation_with_several_tool_calls(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with endpoint("full_investigation") as (model, cassette):
        states = triage(db, model)
    c4 = states["C-4"]
    assert c4.investigation is not None and c4.investigation.stopped == "answered"
    assert c4.investigation.tool_calls == 6 and c4.investigation.tool_errors == 0
    assert [o.verdict for o in c4.opinions] == ["true_positive", "true_positive"]
    assert c4.analysis is not None and c4.analysis.verdict == "true_positive"
    assert c4.status == "awaiting_approval"
    # The model proposed four actions; three the playbooks had proposed too, one is its own.
    by_model = {
        (r.action, r.target) for r in c4.recommendations if r.requested_by.startswith("llm:")
    }
    assert by_model == {("block_domain", "mail.northwlnd-billing.example")}
    decided = {(d.action, d.target): d for d in c4.decisions}
    # What the model alone proposed waits for a person; what the playbooks also proposed
    # follows the tiers as before.
    own = decided[("block_domain", "mail.northwlnd-billing.example")]
    assert (own.outcome, own.rule_id) == ("needs_approval", "tier.model_only")
    assert decided[("block_ip", "203.0.113.45")].outcome == "allow"
    tools = {
        r["payload"]["tool"]
        for r in Store(db).audit_records("C-4")
        if r["kind"] == "tool_call" and r["actor"] == "investigation-agent"
    }
    assert {"case_alerts", "process_tree", "signin_history", "attack_technique"} <= tools
    assert states["C-3"].status == "closed" and states["C-5"].status == "escalated"
    assert_every_call_audited(db, model)
    assert exchanges(cassette) == model.calls  # no retries in this scenario


def test_parallel_tool_calls_are_all_answered(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with endpoint("parallel_tool_calls") as (model, _):
        states = triage(db, model)
    assert states["C-4"].investigation is not None
    assert states["C-4"].investigation.tool_calls == 4
    second = [r for r in model_records(db, "C-4") if r["phase"] == "request"][1]
    answers = [m for m in second["messages"] if m["role"] == "tool"]
    asked = second["messages"][-5]["tool_calls"]
    assert [a["tool_call_id"] for a in answers] == [c["id"] for c in asked]
    assert all("<data-" in a["content"] for a in answers)  # results reach the model fenced


def test_malformed_json_arguments_go_back_to_the_model(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with endpoint("malformed_arguments") as (model, _):
        states = triage(db, model)
    inv = states["C-4"].investigation
    assert inv is not None and inv.tool_errors == 1 and inv.tool_calls == 2
    second = [r for r in model_records(db, "C-4") if r["phase"] == "request"][1]
    assert second["messages"][-1]["content"].startswith("error: arguments are not valid JSON")
    rejected = [
        r["payload"]
        for r in Store(db).audit_records("C-4")
        if r["kind"] == "tool_call"
        and r["payload"]["phase"] == "rejected"
        and r["actor"] == "investigation-agent"
    ]
    assert rejected and "not valid JSON" in rejected[0]["problems"][0]
    assert states["C-4"].analysis is not None
    assert states["C-4"].analysis.verdict == "true_positive"
    assert_every_call_audited(db, model)


def test_hallucinated_tool_names_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with endpoint("hallucinated_tool") as (model, _):
        states = triage(db, model)
    inv = states["C-4"].investigation
    assert inv is not None and inv.tool_errors == 2
    # Asking for "isolate_host" as a tool did nothing: actions only come from the catalog
    # through the guard, and this run's recommendations are the playbooks' own.
    assert all(not r.requested_by.startswith("llm:") for r in states["C-4"].recommendations)
    rejected = [
        r["payload"]["tool"]
        for r in Store(db).audit_records("C-4")
        if r["kind"] == "tool_call" and r["payload"]["phase"] == "rejected"
    ]
    assert {"run_powershell", "isolate_host"} <= set(rejected)
    assert_every_call_audited(db, model)


def test_truncated_responses(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with endpoint("truncated_response") as (model, _):
        states = triage(db, model)
    c4 = states["C-4"]
    assert c4.investigation is not None and c4.investigation.stopped == "truncated"
    assert c4.investigation.findings and "cut off" in c4.investigation.findings
    # The cut-off JSON conclusion was re-asked once, then accepted.
    requests = [r for r in model_records(db, "C-4") if r["phase"] == "request"]
    assert [r["prompt"]["id"] for r in requests] == ["investigate", "recommend", "repair"]
    assert c4.analysis is not None and c4.analysis.verdict == "true_positive"
    assert_every_call_audited(db, model)


def test_output_failing_validation(tmp_path: Path, offline: dict[str, CaseState]) -> None:
    db = tmp_path / "t.db"
    with endpoint("invalid_output") as (model, _):
        states = triage(db, model)
    # C-4: wrong twice (unknown evidence id and action, then not JSON), right the third time.
    c4 = states["C-4"]
    assert len(c4.opinions) == 2 and c4.analysis is not None
    assert c4.analysis.verdict == "true_positive"
    repairs = [r for r in model_records(db, "C-4") if r["phase"] == "request"][2:]
    assert [r["prompt"]["id"] for r in repairs] == ["repair", "repair"]
    assert "E999" in repairs[0]["messages"][-1]["content"]
    assert "wipe_disk" in repairs[0]["messages"][-1]["content"]
    # C-5: wrong three times: the model abstains and the offline decision stands.
    assert_abstained(states["C-5"], offline["C-5"], "failed validation 3 times")
    assert_every_call_audited(db, model)


def test_rate_limit_retry_after_is_honoured(tmp_path: Path, offline: dict[str, CaseState]) -> None:
    db = tmp_path / "t.db"
    started = time.monotonic()
    with endpoint("rate_limited") as (model, cassette):
        states = triage(db, model)
    elapsed = time.monotonic() - started
    # C-3's first request got a 429 with Retry-After: 1; the client waited and retried once.
    assert states["C-3"].status == "closed"
    assert elapsed >= 1.0
    # C-5 stayed rate-limited through the client's retries: the model abstains, with the reason.
    assert_abstained(states["C-5"], offline["C-5"], "rate_limited")
    errors = [r for r in model_records(db, "C-5") if r["phase"] == "error"]
    assert errors and errors[0]["status"] == 429
    assert exchanges(cassette) == model.calls + 1 + 2  # C-3: one retry; C-5: two retries
    assert_every_call_audited(db, model)


def test_a_failing_server_costs_the_case_nothing(
    tmp_path: Path, offline: dict[str, CaseState]
) -> None:
    """A model that fails is not a model that disagrees: C-4 keeps the offline analyst's
    automatic containments (issue 13: they had all gone to approval)."""
    db = tmp_path / "t.db"
    with endpoint("server_error") as (model, cassette):
        states = triage(db, model)
    c4 = states["C-4"]
    assert c4.investigation is not None and c4.investigation.failed
    assert "server_error" in c4.investigation.failed
    assert_abstained(c4, offline["C-4"], "server_error")
    executed = [r for r in Store(db).actions.rows("C-4") if r.status == "executed"]
    assert executed and all(not r.requested_by.startswith("llm:") for r in executed)
    assert exchanges(cassette) == model.calls + 2  # three attempts for C-4's one call
    assert_every_call_audited(db, model)


def test_timeouts(tmp_path: Path, offline: dict[str, CaseState]) -> None:
    db = tmp_path / "t.db"

    def fails(body: str, sent: int) -> bool:
        # The run's very first attempt (C-3), and every attempt for C-5.
        return sent == 1 or "Investigate case C-5" in body

    transport = FlakyTransport(fails)
    with endpoint("timeout", transport) as (model, _):
        states = triage(db, model)
    assert transport.timeouts == 1 + 3
    assert states["C-3"].status == "closed"
    assert states["C-4"].investigation is not None
    assert states["C-4"].investigation.stopped == "answered"
    assert_abstained(states["C-5"], offline["C-5"], "timeout")
    assert_every_call_audited(db, model)


def test_cassettes_hold_no_credentials() -> None:
    for path in sorted(CASSETTES.glob("*.yaml")):
        text = path.read_text()
        assert "sk-test-placeholder" not in text, path
        assert "authorization" not in text.lower(), path
    assert len(list(CASSETTES.glob("*.yaml"))) == len(SCENARIOS)


def test_cassette_requests_are_chat_completions() -> None:
    """What the client sent, as recorded: the wire format the endpoint saw."""
    import yaml

    for path in sorted(CASSETTES.glob("*.yaml")):
        for interaction in yaml.safe_load(path.read_text())["interactions"]:
            request = interaction["request"]
            assert request["method"] == "POST" and request["uri"].endswith("/chat/completions")
            body = json.loads(request["body"])
            assert body["model"] == "gpt-4o-mini" and body["messages"][0]["role"] == "system"
