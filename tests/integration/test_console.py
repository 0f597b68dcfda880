"""The web console (issue 15), driven in process through the service's HTTP interface: signing
in, what each role is shown and may do, CSRF and cross-site refusals, the headers that keep
hostile content inert, and an approver never approving their own request. (The same flows in
a real browser are in ``test_console_browser.py``.)"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW
from tests.fakes import ScriptedModel
from tests.fakes import text as answer_text
from tests.integration.service_support import PUSHABLE, Running, own_request, running_service
from tierzero.service.access import GRANTS
from tierzero.service.console.security import SESSION_COOKIE
from tierzero.store.sqlite import Store

HOSTILE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A service with every example pushed and analysed, and one alert whose text fields
    carry markup."""
    with running_service(tmp_path_factory.mktemp("console") / "t.db") as running:
        for path in PUSHABLE:
            assert running.push(path.read_bytes()).status_code == 202
        record = json.loads((EXAMPLES / "ocsf_detection_findings.json").read_text(encoding="utf-8"))
        first = record[0] if isinstance(record, list) else record
        first["finding_info"]["title"] = HOSTILE
        first["finding_info"]["uid"] = "HOSTILE-1"
        first["message"] = HOSTILE
        assert running.push(json.dumps(first).encode()).status_code == 202
        running.settle(120)
        yield running


def signed_in(running: Running, role: str) -> None:
    """Sign the test client in with ``role``'s token (after signing any session out)."""
    running.client.cookies.clear()
    answer = running.client.post(
        "/sign-in", data={"token": running.tokens[role]}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form with a CSRF field"
    return found.group(1)


def test_signing_in_opens_a_session_the_browser_holds_only_an_id_of(running: Running) -> None:
    running.client.cookies.clear()
    assert running.client.get("/queue", follow_redirects=False).headers["location"] == (
        "/sign-in?next=%2Fqueue"
    )
    wrong = running.client.post("/sign-in", data={"token": "tz_not-a-token"})
    assert wrong.status_code == 401 and "a valid token is needed" in wrong.text
    ingest = running.client.post("/sign-in", data={"token": running.tokens["ingest"]})
    assert ingest.status_code == 403 and "pushes alerts only" in ingest.text

    answer = running.client.post(
        "/sign-in",
        data={"token": running.tokens["analyst"], "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/queue"
    for elsewhere in ("/\\evil.example", "https://evil.example", "/queue\r\nSet-Cookie: x"):
        form = running.client.get("/sign-in", params={"next": elsewhere}).text
        assert 'name="next" value="/queue"' in form, elsewhere
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert running.tokens["analyst"] not in cookie
    session = running.client.cookies[SESSION_COOKIE]
    assert running.tokens["analyst"] not in str(list(running.service.store().audit_records()))
    store = running.service.store()
    stored = store.conn.execute("SELECT session_sha256 FROM console_sessions").fetchall()
    assert session not in {row[0] for row in stored}  # only its digest is kept

    queue = running.client.get("/queue")
    assert queue.status_code == 200 and "analyst" in queue.text
    out = running.client.post("/sign-out", data={"csrf": csrf_of(queue.text)})
    assert out.status_code == 200
    running.client.cookies.set(SESSION_COOKIE, session)  # the old cookie, replayed
    assert running.client.get("/queue", follow_redirects=False).status_code == 303


def test_every_page_carries_the_headers_that_keep_content_inert(running: Running) -> None:
    signed_in(running, "auditor")
    for path in ("/sign-in", "/queue", "/cases/C-1", "/approvals", "/static/console.css"):
        headers = running.client.get(path).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, path
        assert "frame-ancestors 'none'" in policy and headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
    for path in ("/queue", "/cases/C-1", "/approvals"):
        page = running.client.get(path).text
        scripts = re.findall(r"<script[^>]*>", page)
        assert scripts and all(' src="/static/' in tag for tag in scripts), path  # none inline
        assert re.search(r"\sstyle\s*=", page) is None, path  # no inline style
        assert re.search(r"<[^>]+\son[a-z]+\s*=", page) is None, path  # no event handler


def test_alert_text_is_shown_as_text_never_as_markup(running: Running) -> None:
    signed_in(running, "analyst")
    (hostile_case,) = (
        running.service.store()
        .conn.execute("SELECT case_id FROM alerts WHERE source_alert_id = 'HOSTILE-1'")
        .fetchone()
    )
    case_page = running.client.get(f"/cases/{hostile_case}").text
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in case_page  # shown, as text
    for path in ("/queue", f"/cases/{hostile_case}", "/queue/rows", "/approvals"):
        page = running.client.get(path).text
        assert "<script>window.__xss" not in page and "<img src=x" not in page, path


@pytest.mark.parametrize(
    ("role", "sees", "never"),
    [
        ("analyst", ["Resolve", "Roll back", ">Ask<"], ["Verify the", "Approve<", "Switch auto"]),
        ("approver", ["Approve</button>", "Roll back"], ["Verify the", ">Resolve<", "Switch auto"]),
        ("auditor", ["Verify the audit chain"], ["Approve<", "Roll back", ">Ask<", "Switch auto"]),
        (
            "admin",
            ["Verify the audit chain", "Switch autonomy"],
            ["Approve<", "Roll back", ">Ask<"],
        ),
    ],
)
def test_each_role_gets_its_own_buttons(
    running: Running, role: str, sees: list[str], never: list[str]
) -> None:
    signed_in(running, role)
    paths = ("/approvals", "/operations", *_case_pages(running))
    pages = "".join(running.client.get(path).text for path in paths)
    for text in sees:
        assert text in pages, f"{role} should see {text}"
    for text in never:
        assert text not in pages, f"{role} must not see {text}"


def _case_pages(running: Running) -> list[str]:
    """Pages of cases with an executed action (a rollback button) and of every other case."""
    return [f"/cases/{row.id}" for row in running.service.store().cases()]


# (method, path, form, the permission it needs)
CHANGES = [
    ("/approvals/{action}/approve", {"reason": "ok"}, "approve"),
    ("/approvals/{action}/deny", {"reason": "no"}, "approve"),
    ("/actions/{action}/rollback", {"reason": "undo"}, "rollback"),
    ("/cases/C-1/resolve", {"verdict": "false_positive"}, "analyse"),
    ("/cases/C-1/verify", {}, "read_audit"),
    ("/cases/C-1/chat", {"message": "what happened?"}, "analyse"),
    ("/operations/autonomy", {"state": "off", "reason": "drill", "confirm": "yes"}, "administer"),
]


@pytest.mark.parametrize(("path", "form", "permission"), CHANGES)
@pytest.mark.parametrize("role", ["analyst", "approver", "auditor", "admin"])
def test_a_role_without_the_permission_is_refused_and_nothing_changes(
    running: Running, path: str, form: dict[str, str], permission: str, role: str
) -> None:
    signed_in(running, role)
    csrf = csrf_of(running.client.get("/queue").text)
    before = _state(running)
    answer = running.client.post(
        path.replace("{action}", "999999"), data={**form, "csrf": csrf}, follow_redirects=False
    )
    if permission in GRANTS[role]:  # type: ignore[index]
        assert answer.status_code == 303  # done, or refused with a note (no such action)
    else:
        assert answer.status_code == 403
        assert _state(running) == before


@pytest.mark.parametrize(("path", "form", "permission"), CHANGES)
def test_a_form_without_the_sessions_csrf_or_from_another_site_is_refused(
    running: Running, path: str, form: dict[str, str], permission: str
) -> None:
    role = {
        "approve": "approver",
        "rollback": "analyst",
        "analyse": "analyst",
        "administer": "admin",
    }.get(permission, "auditor")
    signed_in(running, role)
    csrf = csrf_of(running.client.get("/queue").text)
    target = path.replace("{action}", "1")
    before = _state(running)
    forged = running.client.post(target, data={**form, "csrf": "forged"})
    assert forged.status_code == 403 and "stale or forged" in forged.text
    cross = running.client.post(
        target, data={**form, "csrf": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403 and "another site" in cross.text
    fetched = running.client.post(
        target, data={**form, "csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert fetched.status_code == 403
    assert _state(running) == before


def _state(running: Running) -> tuple[object, ...]:
    store = running.service.store()
    one = store.conn.execute
    return (
        one("SELECT COUNT(*) FROM audit WHERE kind != 'access'").fetchone()[0],
        tuple(one("SELECT id, status FROM actions ORDER BY id").fetchall()),
    )


def test_an_approver_never_approves_their_own_request(tmp_path: Path) -> None:
    """Dana asks for an action as an analyst; her approver token (same person) gets no
    buttons for it, and a forged answer is refused by the approval gate itself."""
    with running_service(tmp_path / "t.db") as running:
        for path in PUSHABLE:
            running.push(path.read_bytes())
        running.settle(120)
        store = running.service.store()
        running.tokens["dana"], row = own_request(running.service, "dana")
        mine = [row]
        signed_in(running, "dana")
        page = running.client.get("/approvals").text
        block = page[page.index(f'id="approval-{mine[0].id}"') :].split("</article>")[0]
        assert "You asked for this" in block and "Approve</button>" not in block
        forged = running.client.post(
            f"/approvals/{mine[0].id}/approve",
            data={"reason": "mine", "csrf": csrf_of(page)},
        )
        assert "the approver cannot be the requester" in forged.text, forged.text
        assert store.actions.get(mine[0].id).status == "pending_approval"  # type: ignore[union-attr]


def test_revoking_a_token_ends_its_sessions(tmp_path: Path) -> None:
    with running_service(tmp_path / "t.db") as running:
        signed_in(running, "auditor")
        assert running.client.get("/queue").status_code == 200
        running.service.store().revoke_token("auditor", "admin", running.clock.now())
        assert running.client.get("/queue", follow_redirects=False).status_code == 303


def test_the_store_keeps_no_session_past_its_time(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.create_token("ana", "analyst", "t", NOW)
    session, csrf = store.open_session("ana", NOW, timedelta(hours=1))
    assert store.console_session(session, NOW) is not None
    assert store.console_session(session, NOW + timedelta(hours=2)) is None
    store.open_session("ana", NOW + timedelta(hours=2), timedelta(hours=1))  # sweeps
    rows = store.conn.execute("SELECT COUNT(*) FROM console_sessions").fetchone()[0]
    assert rows == 1 and csrf
    store.close()


def test_the_kill_switch_asks_for_a_confirmation(tmp_path: Path) -> None:
    with running_service(tmp_path / "t.db") as running:
        signed_in(running, "admin")
        csrf = csrf_of(running.client.get("/operations").text)
        form = {"state": "off", "reason": "incident bridge", "csrf": csrf}
        unconfirmed = running.client.post("/operations/autonomy", data=form)
        assert "tick the confirmation" in unconfirmed.text
        assert running.service.store().autonomy_on()
        confirmed = running.client.post("/operations/autonomy", data={**form, "confirm": "yes"})
        assert "every action now waits for a person" in confirmed.text
        assert not running.service.store().autonomy_on()
        record = [r for r in running.service.store().audit_records() if r["kind"] == "autonomy"]
        assert record[-1]["actor"] == "admin" and record[-1]["payload"]["reason"] == (
            "incident bridge"
        )


def test_the_chat_answers_without_javascript_too(running: Running) -> None:
    """The chat form posted by a browser without JavaScript waits for the whole answer and
    shows it as the page's note; ``console.js`` asks for the stream instead."""
    signed_in(running, "analyst")
    page = running.client.get("/cases/C-1").text
    answer = running.client.post(
        "/cases/C-1/chat", data={"message": "what happened?", "csrf": csrf_of(page)}
    )
    assert answer.status_code == 200 and "tierzero (" in answer.text
    streamed = running.client.post(
        "/cases/C-1/chat",
        data={"message": "and then?", "csrf": csrf_of(page)},
        headers={"Accept": "text/event-stream"},
    )
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert "event: done" in streamed.text


def test_similar_past_cases_load_into_the_case_page(running: Running) -> None:
    signed_in(running, "auditor")
    case_page = running.client.get("/cases/C-1").text
    assert 'hx-get="/cases/C-1/similar"' in case_page
    fragment = running.client.get("/cases/C-1/similar").text
    assert "Similar past cases" in fragment
    assert "alike; ended" in fragment or "remembered)" in fragment, fragment
    assert running.client.get("/cases/C-999/similar").text.count("no case") == 1


def test_operations_shows_each_detections_false_positive_rate(tmp_path: Path) -> None:
    """An analyst's resolution is what the false-positive rate counts (as `tierzero metrics`
    does: the page shows its figures)."""
    with running_service(tmp_path / "t.db") as running:
        for path in PUSHABLE:
            running.push(path.read_bytes())
        running.settle(120)
        store = running.service.store()
        detection, case_id = next(
            (row[0], row[1])
            for row in store.conn.execute(
                "SELECT detection_id, MIN(case_id) FROM alerts GROUP BY detection_id"
                " HAVING COUNT(DISTINCT case_id) = 1"
            )
            if store.case(row[1]).status != "awaiting_approval"  # type: ignore[union-attr]
        )
        resolved = running.client.post(
            f"/api/cases/{case_id}/resolve",
            json={"verdict": "false_positive", "note": "a test rule"},
            headers=running.as_role("analyst"),
        )
        assert resolved.status_code == 200, resolved.text
        signed_in(running, "auditor")
        page = running.client.get("/operations").text
        row = re.search(rf"<td>{re.escape(detection)}</td>(.*?)</tr>", page, re.S)
        assert row is not None, f"{detection} is not on the page"
        assert "100%" in row.group(1)  # its one resolved case was a false positive
        for heading in ("Cases opened per day", "false-positive rate", "Alerts per day"):
            assert heading in page
        assert "From an alert's arrival to its case's analysis: median" in page


def test_evaluation_reports_are_listed_and_readable(running: Running, tmp_path: Path) -> None:
    """A report ``tierzero eval run`` wrote: listed, its summary shown as text, its charts
    served by their fixed names only."""
    from typer.testing import CliRunner

    from tierzero.cli import app

    out = tmp_path / "reports" / "builtin-offline"
    ran = CliRunner().invoke(
        app, ["eval", "run", "builtin", "--scenario", "ec2-cryptomining-01", "--out", str(out)]
    )
    assert ran.exit_code == 0, ran.output
    running.service.reports = tmp_path / "reports"
    signed_in(running, "analyst")
    listed = running.client.get("/evaluations").text
    assert 'href="/evaluations/builtin-offline"' in listed
    page = running.client.get("/evaluations/builtin-offline").text
    assert "# tierzero evaluation: builtin" in page and "Forbidden actions" in page
    charts = re.findall(r'<img src="(/evaluations/builtin-offline/[^"]+)"', page)
    assert len(charts) == 3
    for chart in charts:
        served = running.client.get(chart)
        assert served.status_code == 200 and served.headers["content-type"] == "image/png"
    for path in ("/evaluations/builtin-offline/report.json", "/evaluations/..%2F..%2Fetc"):
        assert running.client.get(path).status_code == 404, path
    assert running.client.get("/evaluations/nope").status_code == 404


def test_the_chat_is_still_there_after_a_reload_with_its_answer_inert(running: Running) -> None:
    """The chat panel shows the case's stored chat: each question with who asked, each answer
    with its citations as links to the evidence, and a model's answer that repeats hostile
    alert text shows it as text."""
    store = running.service.store()
    [case_id] = [
        row[0]
        for row in store.conn.execute(
            "SELECT case_id FROM alerts WHERE source_alert_id = 'HOSTILE-1'"
        )
    ]
    running.service.model = ScriptedModel(
        [answer_text(f"The mail in E1 is phishing; its title reads {HOSTILE} [E1] [E999].")]
    )
    try:
        signed_in(running, "analyst")
        page = running.client.get(f"/cases/{case_id}").text
        running.client.post(
            f"/cases/{case_id}/chat",
            data={"message": f"is E1 phishing? {HOSTILE}", "csrf": csrf_of(page)},
        )
    finally:
        running.service.model = "off"
    shown = running.client.get(f"/cases/{case_id}").text
    log = shown[shown.index('class="chat-log"') : shown.index('class="chat-progress"')]
    assert "answered by scripted-fake-model" in log
    assert log.count('<a class="cite" href="#evidence-E1">E1</a>') >= 3  # question, answer, cites
    assert "#evidence-E999" not in log  # an id the case does not have stays text
    assert HOSTILE not in log and "&lt;script&gt;window.__xss=1&lt;/script&gt;" in log
