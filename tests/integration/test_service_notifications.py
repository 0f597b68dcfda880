"""Outbound notifications (issue 14): approval requests, reminders, expiries and new P1/P2 cases
reach the configured webhooks (Slack-compatible, and JSON signed with HMAC-SHA256 over the
timestamp and body), once each, retried with backoff, every attempt audited, and attacker text
inert in Slack. The receivers are httpx mock transports (no socket): what they record is
exactly what would have been sent."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import NOW
from tests.integration.service_support import PUSHABLE, Running, running_service
from tierzero.service.notify import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    request_of,
    signature,
    slack_escape,
)
from tierzero.settings.service import Webhook
from tierzero.store.notifications import Notification

SECRET_ENV = "TIERZERO_TEST_WEBHOOK_SECRET"
HOOKS = {
    "webhooks": [
        {"name": "soc-slack", "url": "https://hooks.example/slack", "format": "slack"},
        {
            "name": "soar",
            "url": "https://soar.example/in",
            "format": "json",
            "secret_env": SECRET_ENV,
        },
    ]
}


class Receiver:
    """Records every request; answers with the scripted statuses, then 200."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses = list(statuses or [])

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    def bodies(self, host: str) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests if r.url.host == host]


def triaged(running: Running) -> None:
    for path in PUSHABLE:
        assert running.push(path.read_bytes()).status_code == 202
    running.settle()


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_ENV, "s3cret-for-tests")
    return "s3cret-for-tests"


def test_approval_requests_and_p1_cases_reach_both_webhooks(tmp_path: Path, secret: str) -> None:
    receiver = Receiver()
    with running_service(
        tmp_path / "t.db",
        transport=httpx.MockTransport(receiver),
        public_url="https://tierzero.soc.example",
        notifications=HOOKS,
    ) as running:
        triaged(running)
        running.tick("notifier")
        store = running.service.store()
        pending = store.actions.pending()
        assert pending
        soar = receiver.bodies("soar.example")
        requested = [b for b in soar if b["event"] == "approval_requested"]
        assert {b["action_id"] for b in requested} == {r.id for r in pending}
        one = requested[0]
        # What will happen, to which entity, for how long, the rollback, time left, how to answer.
        for field in ("does", "target", "lease", "rollback", "minutes_left", "how_to_answer"):
            assert one[field] not in (None, ""), field
        assert "https://tierzero.soc.example/api/approvals/" in one["how_to_answer"]
        assert [b for b in soar if b["event"] == "case_opened" and b["priority"] in ("P1", "P2")]
        # Signed: the receiver recomputes the HMAC over "timestamp.body".
        for request in receiver.requests:
            if request.url.host == "soar.example":
                stamp = request.headers[TIMESTAMP_HEADER]
                expected = "sha256=" + signature(secret, stamp, request.content)
                assert request.headers[SIGNATURE_HEADER] == expected
        slack = receiver.bodies("hooks.example")
        assert slack[0]["mrkdwn"] is False and slack[0]["unfurl_links"] is False
        assert len(slack) == len(soar)
        # Once each: another pass sends nothing new.
        sent = len(receiver.requests)
        running.tick("notifier")
        assert len(receiver.requests) == sent
        audited = [r for r in store.audit_records() if r["kind"] == "notification"]
        assert len(audited) == sent and {r["payload"]["outcome"] for r in audited} == {"delivered"}


def test_reminders_and_expiries_are_announced(tmp_path: Path) -> None:
    receiver = Receiver()
    with running_service(
        tmp_path / "t.db", transport=httpx.MockTransport(receiver), notifications=HOOKS
    ) as running:
        triaged(running)
        running.clock.advance(timedelta(minutes=3))  # half of the 5-minute production window
        running.tick()
        running.tick("notifier")
        events = {b["event"] for b in receiver.bodies("soar.example")}
        assert "approval_reminder" in events
        running.clock.advance(timedelta(minutes=40))
        running.tick()
        running.tick("notifier")
        expired = [b for b in receiver.bodies("soar.example") if b["event"] == "approval_expired"]
        assert expired and "nothing was done" in expired[0]["text"]


def test_a_failing_receiver_is_retried_with_backoff_then_given_up(tmp_path: Path) -> None:
    receiver = Receiver(statuses=[500] * 1000)
    hooks = {"webhooks": [HOOKS["webhooks"][1]], "max_attempts": 3, "backoff_seconds": 10}
    with running_service(
        tmp_path / "t.db", transport=httpx.MockTransport(receiver), notifications=hooks
    ) as running:
        triaged(running)
        running.tick("notifier")
        store = running.service.store()
        first = store.notifications()
        assert first and {n.attempts for n in first} == {1}
        assert {n.status for n in first} == {"queued"}
        assert all((n.last_error or "").startswith("HTTP 500") for n in first)
        running.tick("notifier")  # not due yet: nothing is sent
        assert {n.attempts for n in store.notifications()} == {1}
        running.clock.advance(timedelta(seconds=11))
        running.tick("notifier")
        assert {n.attempts for n in store.notifications()} == {2}
        running.clock.advance(timedelta(seconds=21))  # the second wait doubles
        running.tick("notifier")
        final = store.notifications()
        assert {n.status for n in final} == {"failed"} and {n.attempts for n in final} == {3}
        outcomes = [
            r["payload"]["outcome"] for r in store.audit_records() if r["kind"] == "notification"
        ]
        assert outcomes.count("failed") == len(final) and "retry" in outcomes
        # Triage went on meanwhile: the cases were analysed whatever the receiver did.
        assert running.client.get("/health").json()["status"] == "ok"


def test_attacker_text_is_inert_in_slack(secret: str) -> None:
    hostile = "<!channel> <https://evil.example|click> & <@U123>\nAnswer: approve now"
    item = Notification(
        1,
        "k",
        "soc-slack",
        "case_opened",
        "C-1",
        {"text": f"New P1 case: {hostile}"},
        "queued",
        0,
        "",
        None,
        "",
        None,
    )
    body, _ = request_of(item, Webhook(**HOOKS["webhooks"][0]), {}, NOW)
    text = json.loads(body)["text"]
    assert "<" not in text and ">" not in text and "\n" not in text
    assert text == "New P1 case: " + slack_escape(" ".join(hostile.split()))


def test_a_json_webhook_without_its_secret_fails_the_delivery_not_the_service() -> None:
    item = Notification(
        1, "k", "soar", "case_opened", None, {"text": "x"}, "queued", 0, "", None, "", None
    )
    with pytest.raises(ValueError, match=SECRET_ENV):
        request_of(item, Webhook(**HOOKS["webhooks"][1]), {}, NOW)
