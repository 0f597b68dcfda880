"""The offline chat answerer: request parsing, and answers that cite the case's own evidence."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.conftest import EXAMPLES, NOW
from tierzero.agents.chat import CaseNotFound, ChatSession
from tierzero.agents.chat.action_requests import parse_request
from tierzero.agents.chat.case_view import CaseView
from tierzero.agents.chat.offline import OfflineChatAnswerer
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.chat import open_chat
from tierzero.usecases.triage import triage

CATALOG = Settings.load().policy.catalog
HASH = "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc"


@pytest.mark.parametrize(
    ("message", "action", "target"),
    [
        ("isolate LT-FIN-042", "isolate_host", "LT-FIN-042"),
        ("Please isolate host LT-FIN-042.", "isolate_host", "LT-FIN-042"),
        ("can you contain the laptop LT-FIN-042?", "isolate_host", "LT-FIN-042"),
        ("disable user alice.martin", "disable_user", "alice.martin"),
        ("disable the account NORTHWIND\\alice.martin", "disable_user", "NORTHWIND\\alice.martin"),
        ("block ip 203.0.113.7", "block_ip", "203.0.113.7"),
        ("block 198.51.100.77 because it is the C2", "block_ip", "198.51.100.77"),
        ("block domain cdn-update-check.example", "block_domain", "cdn-update-check.example"),
        (f"block hash {HASH}", "block_hash", HASH),
        (f"block {HASH}", "block_hash", HASH),
        ("revoke sessions for alice.martin", "revoke_sessions", "alice.martin"),
        ("revoke alice.martin's sessions", "revoke_sessions", "alice.martin"),
        ("sign out alice.martin", "revoke_sessions", "alice.martin"),
        ("reset password for alice.martin", "reset_password", "alice.martin"),
        ("reset alice.martin's password", "reset_password", "alice.martin"),
        ("quarantine email from a@b.example", "quarantine_email", "a@b.example"),
        ("quarantine LT-FIN-042", "isolate_host", "LT-FIN-042"),
        ("isolate_host SRV-FS-01", "isolate_host", "SRV-FS-01"),
        ("isolate LT-FIN-042, it beacons out", "isolate_host", "LT-FIN-042"),
        ("block ip 10.10.0.100.", "block_ip", "10.10.0.100"),
    ],
)
def test_requests_map_onto_the_catalog(message: str, action: str, target: str) -> None:
    request = parse_request(message, CATALOG)
    assert request is not None and request.problem is None
    assert (request.action, request.target) == (action, target)


def test_the_reason_is_kept() -> None:
    request = parse_request("isolate LT-FIN-042 because it beacons to the C2", CATALOG)
    assert request is not None and request.reason == "it beacons to the C2"


@pytest.mark.parametrize(
    "message",
    [
        "why was DC-01 denied?",
        "should we isolate DC-01?",
        "what happened on LT-FIN-042",
        "summary",
        "E7",
        "is alice.martin disabled?",
    ],
)
def test_questions_are_not_requests(message: str) -> None:
    assert parse_request(message, CATALOG) is None


@pytest.mark.parametrize(
    ("message", "says"),
    [
        ("delete alice.martin", "not an action"),
        ("wipe LT-FIN-042", "isolate_host"),
        ("isolate LT-FIN-042 and SRV-FS-01", "One target per request"),
        ("isolate", "Name one target"),
        ("block sender a@b.example", "quarantine_email"),
        ("approve 12", "approvals approve"),
        ("release LT-FIN-042", "actions rollback"),
        # A list after a comma is more targets, not a reason.
        ("isolate LT-FIN-042, SRV-FS-01", "One target per request"),
        ("disable bob, alice and carol", "One target per request"),
        # The target must be one well-formed value of the action's kind, whole.
        ("block ip 10.10.0.100,10.10.0.10", "not one well-formed ip"),
        ("block ip 10.10.0", "not one well-formed ip"),
        ("block hash 5f4dcc3b", "not one well-formed hash"),
        ("disable user root", "not one well-formed user"),
        # An object word of another kind than the action acts on is refused, not guessed.
        ("isolate user alice.martin", "isolate_host acts on a host, but the request names a user"),
        ("revoke sessions for host LT-FIN-042", "acts on a user"),
    ],
)
def test_unmappable_requests_say_what_exists(message: str, says: str) -> None:
    request = parse_request(message, CATALOG)
    assert request is not None and request.problem is not None
    assert says in request.problem


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    store = Store(tmp_path_factory.mktemp("chat") / "t.db")
    triage([EXAMPLES], Settings.load(), store, now=NOW, model="off")
    yield store
    store.close()


@pytest.fixture(scope="module")
def view(store: Store) -> CaseView:
    return CaseView(store, "C-4", Settings.load().correlation.internal_domains)


QUESTIONS = [
    "summary",
    "what happened?",
    "why this verdict?",
    "timeline",
    "which hosts are involved?",
    "users",
    "which IPs?",
    "techniques",
    "actions",
    "what is waiting for approval?",
    "what next?",
    "tell me about LT-FIN-042",
    "why was DC-01 denied?",
    "E7",
    "help",
    "what is the airspeed velocity of an unladen swallow",
]


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_answer_cites_evidence_of_the_case(view: CaseView, question: str) -> None:
    text = OfflineChatAnswerer(Settings.load().correlation.internal_domains).answer(question, view)
    cited = set(re.findall(r"\bE\d+\b", text))
    assert cited, text
    assert cited <= set(view.by_id), cited - set(view.by_id)


def test_answers_by_intent(view: CaseView) -> None:
    answerer = OfflineChatAnswerer(Settings.load().correlation.internal_domains)
    timeline = answerer.answer("timeline", view).splitlines()[1:]
    times = [line[:20] for line in timeline if re.match(r"\d{4}-", line)]
    assert times == sorted(times) and len(times) == len(view.alerts)
    assert "[E7] (alert)" in answerer.answer("show me e7", view)
    assert "There is no E999" in answerer.answer("E999", view)
    hosts = answerer.answer("which hosts?", view)
    assert hosts.startswith("Hosts: LT-FIN-042") and "SRV-FS-01" in hosts and "Users:" not in hosts
    why = answerer.answer("why this verdict?", view)
    assert "true_positive" in why and "Phishing" in why
    denied = answerer.answer("why was DC-01 denied?", view)
    assert "deny_list.asset_role" in denied
    unknown = answerer.answer("what is the airspeed velocity of an unladen swallow", view)
    assert unknown.startswith("I can't answer that") and "'timeline'" in unknown


def test_similar_cases_are_answered_or_explained(store: Store) -> None:
    with open_chat(store, Settings.load(), "C-4", model="off", clock=lambda: NOW) as chat:
        reply = chat.ask("similar cases?")
    assert reply.evidence and set(reply.evidence) <= set(chat.view.by_id)
    assert "Concluded past cases" in reply.text or "No similar past cases" in reply.text


def test_a_session_without_a_name_never_proposes(store: Store) -> None:
    with open_chat(store, Settings.load(), "C-4", model="off", clock=lambda: NOW) as chat:
        assert isinstance(chat, ChatSession) and chat.propose is None
        revision = store.next_revision("C-4")
        reply = chat.ask("isolate LT-FIN-042")
    assert "--as NAME" in reply.text and reply.actions == ()
    assert store.next_revision("C-4") == revision  # no re-analysis happened


def test_an_unknown_case_is_refused(store: Store) -> None:
    with pytest.raises(CaseNotFound), open_chat(store, Settings.load(), "C-99", model="off"):
        pass
