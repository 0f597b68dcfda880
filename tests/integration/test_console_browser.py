"""The web console in a real headless Chromium (issue 15): a person signs in, opens a case from
the queue, follows a citation, answers approvals, rolls an action back and verifies the audit
chain; an approver cannot approve their own request; and alerts whose every text field is
hostile markup execute nothing on any page. The screenshots in ``docs/`` are taken here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES, REPO
from tests.fakes import ScriptedModel, text
from tests.integration.browser_support import (
    Live,
    chromium,
    live_service,
    needs_browser,
    sign_in,
    submit_and_wait,
    until,
)
from tests.integration.service_support import PUSHABLE, own_request

pytestmark = [needs_browser, pytest.mark.loopback, pytest.mark.browser]
SHOTS = REPO / "docs" / "screenshots"

PAYLOADS = [
    '<script>window.__xss="script"</script>',
    "<img src=x onerror=\"window.__xss='img'\">",
    "<a href=\"javascript:window.__xss='js-url'\">click me</a>",
    "<svg onload=\"window.__xss='svg'\"><script>window.__xss='svg-script'</script></svg>",
    '<style>body{display:none}</style><div style="background:url(javascript:alert(1))">css</div>',
    "{{7*7}} ${7*7} {% if 1 %}template{% endif %}",
    '<div hx-get="/sign-out" hx-trigger="load" hx-target="body">htmx</div>',
    "<iframe srcdoc=\"<script>parent.__xss='iframe'</script>\"></iframe>",
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with live_service(tmp_path_factory.mktemp("browser") / "t.db") as live:
        for path in PUSHABLE:
            live.push(path.read_bytes())
        live.settle()
        yield live


def hostile_findings() -> list[dict[str, Any]]:
    """The example phishing finding, once per payload, with the payload in every text field
    the adapter keeps (title, message, description, analytic, user, process, file, URL)."""
    template = json.loads((EXAMPLES / "ocsf_detection_findings.json").read_text("utf-8"))[0]
    findings = []
    for n, payload in enumerate(PAYLOADS):
        record = json.loads(json.dumps(template))
        info = record["finding_info"]
        info["uid"] = f"HOSTILE-{n}"
        info["title"] = f"Hostile {n} {payload}"
        info["desc"] = payload
        info["analytic"]["name"] = payload
        record["message"] = payload
        record["metadata"]["uid"] = f"hostile-{n}"
        record["device"] = {"hostname": f"hostile-{n}.example", "type_id": 2}
        record["actor"] = {
            "user": {"name": payload[:60]},
            "process": {"cmd_line": payload, "file": {"name": payload[:60]}},
        }
        record["finding_info"]["src_url"] = "javascript:window.__xss='src-url'"
        findings.append(record)
    return findings


def clean(driver: Any, live: Live, where: str) -> None:
    """Nothing ran: the marker global is unset, and no Content-Security-Policy violation
    was reported (there was nothing inline to block)."""
    assert driver.execute_script("return typeof window.__xss") == "undefined", where
    assert live.service.csp_reports.all() == [], where
    assert "/sign-in" not in driver.current_url, f"{where}: signed out by injected markup"


def test_a_day_at_the_console(live: Live) -> None:
    """Sign in, open a case from the queue, follow a citation, answer approvals, roll back,
    verify the audit chain: each through the page, as a person would."""
    from selenium.webdriver.common.by import By

    store = live.service.store()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as driver:
        sign_in(driver, live, "analyst")
        driver.save_screenshot(str(SHOTS / "queue.png"))
        cited = next(
            row.id
            for row in store.cases()
            if row.status == "awaiting_approval" and store.actions.pending(row.id)
        )
        driver.find_element(By.LINK_TEXT, cited).click()
        until(lambda: driver.current_url.endswith(f"/cases/{cited}"), "the case opened")
        driver.save_screenshot(str(SHOTS / "case.png"))
        citation = driver.find_element(By.CSS_SELECTOR, "a.cite")
        evidence = citation.text
        citation.click()
        until(lambda: driver.current_url.endswith(f"#evidence-{evidence}"), "citation followed")
        target = driver.execute_script("return document.querySelector(':target').id")
        assert target == f"evidence-{evidence}"
        assert driver.find_element(By.ID, target).is_displayed()

        sign_in(driver, live, "approver")
        driver.get(f"{live.base}/approvals")
        driver.save_screenshot(str(SHOTS / "approvals.png"))
        first, second = store.actions.pending()[:2]
        answer(driver, first.id, "approve", "the loader ran; contain it")
        assert store.actions.get(first.id).status == "executed"  # type: ignore[union-attr]
        note = driver.find_element(By.CSS_SELECTOR, ".note.ok").text
        assert f"action {first.id}" in note and "executed" in note
        answer(driver, second.id, "deny", "not this one")
        assert store.actions.get(second.id).status == "denied"  # type: ignore[union-attr]

        sign_in(driver, live, "analyst")
        driver.get(f"{live.base}/cases/{first.case_id}")
        row = driver.find_element(By.XPATH, f"//tr[td[1][text()='{first.id}']]")
        row.find_element(By.NAME, "reason").send_keys("contained enough")
        submit_and_wait(driver, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
        assert store.actions.get(first.id).status == "rolled_back"  # type: ignore[union-attr]

        sign_in(driver, live, "auditor")
        driver.get(f"{live.base}/cases/{first.case_id}")
        submit_and_wait(
            driver, driver.find_element(By.XPATH, "//button[text()='Verify the audit chain']")
        )
        assert "#trace" in driver.current_url
        note = driver.find_element(By.CSS_SELECTOR, ".note").text
        assert "audit verified" in note and "the tables match the audit" in note, note


def test_hostile_alert_text_executes_nowhere(live: Live) -> None:
    from selenium.webdriver.common.by import By

    live.push(json.dumps(hostile_findings()).encode())
    live.settle()
    store = live.service.store()
    hostile_cases = sorted(
        {
            row[0]
            for row in store.conn.execute(
                "SELECT case_id FROM alerts WHERE source_alert_id LIKE 'HOSTILE-%'"
            )
        }
    )
    assert hostile_cases
    with chromium() as driver:
        sign_in(driver, live, "approver")
        for path in ["/queue", "/approvals", *(f"/cases/{c}" for c in hostile_cases)]:
            driver.get(live.base + path)
            until(lambda: driver.execute_script("return document.readyState") == "complete", path)
            clean(driver, live, path)
        body = driver.find_element(By.TAG_NAME, "body").text
        assert "{{7*7}} ${7*7}" in body  # template syntax shown as typed, never evaluated
        assert "<script>" in body  # the payload is shown to the analyst, as text

        # The chat: a (scripted, fake) model repeats every payload in its answer, which
        # streams into the page and is shown again from the store after a reload.
        live.service.model = ScriptedModel([text(" ".join(["It reads:", *PAYLOADS, "[E1]"]))])
        try:
            sign_in(driver, live, "analyst")
            driver.get(f"{live.base}/cases/{hostile_cases[0]}")
            box = driver.find_element(By.CSS_SELECTOR, "form[data-chat] input[name=message]")
            box.send_keys(f"what does {PAYLOADS[1]} mean?")
            box.submit()
            until(
                lambda: (
                    "answered by" in driver.find_element(By.CSS_SELECTOR, ".chat-progress").text
                ),
                "the hostile answer streamed in",
            )
            clean(driver, live, "the streamed chat")
            assert PAYLOADS[0] in driver.find_element(By.CSS_SELECTOR, ".chat-answer").text
            driver.refresh()
            until(lambda: driver.execute_script("return document.readyState") == "complete", "")
            clean(driver, live, "the chat after a reload")
            log = driver.find_element(By.CSS_SELECTOR, ".chat-log").text
            assert PAYLOADS[0] in log and "{{7*7}}" in log
        finally:
            live.service.model = "off"


def test_chat_streams_and_the_kill_switch_flips(live: Live) -> None:
    """An analyst asks about a case and sees the answer arrive in the chat panel, with its
    citations as links; an admin turns autonomy off and on again from the operations page."""
    from selenium.webdriver.common.by import By

    store = live.service.store()
    case_id = next(r.id for r in store.cases() if r.status == "escalated")
    with chromium() as driver:
        sign_in(driver, live, "analyst")
        driver.get(f"{live.base}/cases/{case_id}")
        box = driver.find_element(By.CSS_SELECTOR, "form[data-chat] input[name=message]")
        box.send_keys("What happened, and which evidence shows it?")
        box.submit()
        until(
            lambda: "answered by" in driver.find_element(By.CSS_SELECTOR, ".chat-progress").text,
            "the answer streamed in",
        )
        answer = driver.find_element(By.CSS_SELECTOR, ".chat-answer").text
        assert len(answer) > 20, answer
        assert driver.current_url.endswith(f"/cases/{case_id}")  # no page load: streamed
        clean(driver, live, "chat")

        sign_in(driver, live, "admin")
        driver.get(f"{live.base}/operations")
        driver.save_screenshot(str(SHOTS / "operations.png"))
        for state in ("off", "on"):
            form = driver.find_element(By.CSS_SELECTOR, "form.kill-switch")
            form.find_element(By.NAME, "reason").send_keys(f"drill: autonomy {state}")
            form.find_element(By.NAME, "confirm").click()
            submit_and_wait(driver, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
            assert store.autonomy_on() is (state == "on")
            assert f"autonomy {state}" in driver.find_element(By.CSS_SELECTOR, ".note.ok").text


def answer(driver: Any, action_id: int, verdict: str, reason: str) -> None:
    from selenium.webdriver.common.by import By

    card = driver.find_element(By.ID, f"approval-{action_id}")
    card.find_element(By.NAME, "reason").send_keys(reason)
    submit_and_wait(driver, card.find_element(By.CSS_SELECTOR, f"button.{verdict}"))


def test_an_approver_finds_no_button_for_their_own_request(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    with live_service(tmp_path / "t.db") as live:
        for path in PUSHABLE:
            live.push(path.read_bytes())
        live.settle()
        live.tokens["dana"], mine = own_request(live.service, "dana")
        with chromium(390, 844, phone=True) as driver:
            sign_in(driver, live, "dana")
            driver.get(f"{live.base}/approvals")
            SHOTS.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(SHOTS / "approvals-phone.png"))
            card = driver.find_element(By.ID, f"approval-{mine.id}")
            assert "You asked for this" in card.text
            assert not card.find_elements(By.CSS_SELECTOR, "button.approve")
            case_id = live.service.store().cases()[0].id
            for path in ("/approvals", "/queue", f"/cases/{case_id}", "/operations"):
                driver.get(live.base + path)
                width = driver.execute_script("return document.documentElement.scrollWidth")
                assert width <= 390, f"{path} is wider than the phone: {width}px"
