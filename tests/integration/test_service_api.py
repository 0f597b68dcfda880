"""The API each user works with (issue 14): the queue with filters and paging, a case, the
chat streamed as server-sent events, resolving, approvals answered by the token's person
(never their own request), rollback, the audit trail, export and verification, the kill
switch, tokens and a policy reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.service_support import PUSHABLE, Running, running_service
from tierzero.service.api_cases import answer_chunks
from tierzero.store.sqlite import Store
from tierzero.usecases.audit import verify_export


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> object:
    with running_service(tmp_path_factory.mktemp("api") / "t.db") as service:
        for path in PUSHABLE:
            assert service.push(path.read_bytes()).status_code == 202
        service.settle()
        yield service


def get(running: Running, path: str, role: str = "analyst", **params: Any) -> Any:
    answer = running.client.get(path, headers=running.as_role(role), params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Server-sent events as (event, data)."""
    found = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((fields["event"], json.loads(fields["data"])))
    return found


def test_queue_filters_and_pages(running: Running) -> None:
    everything = get(running, "/api/cases")
    assert everything["total"] == len(everything["cases"]) >= 3
    first = get(running, "/api/cases", limit=1)
    second = get(running, "/api/cases", limit=1, offset=1)
    assert first["cases"][0]["id"] == everything["cases"][0]["id"]
    assert second["cases"][0]["id"] == everything["cases"][1]["id"]
    status = everything["cases"][0]["status"]
    only = get(running, "/api/cases", status=status)
    assert only["total"] >= 1 and {c["status"] for c in only["cases"]} == {status}
    queue = everything["cases"][0]["queue"]
    assert all(c["queue"] == queue for c in get(running, "/api/cases", queue=queue)["cases"])
    assert get(running, "/api/cases", verdict="no-such-verdict")["total"] == 0
    by_user = get(running, "/api/cases", entity="alice.martin")["cases"]
    assert by_user and all(
        "alice.martin" in json.dumps(get(running, f"/api/cases/{c['id']}")) for c in by_user
    )
    assert get(running, "/api/cases", entity="user:alice.martin")["total"] == len(by_user)
    assert get(running, "/api/cases", entity="host:alice.martin")["total"] == 0
    assert get(running, "/api/cases", entity="%")["total"] == 0  # a wildcard is a literal
    case = get(running, f"/api/cases/{first['cases'][0]['id']}")
    assert case["alerts"] and case["analysis"]["verdict"] == case["verdict"]


def test_chat_streams_the_answer(running: Running) -> None:
    case_id = get(running, "/api/cases")["cases"][0]["id"]
    answer = running.client.post(
        f"/api/cases/{case_id}/chat",
        json={"message": "why is this case a priority?"},
        headers=running.as_role("analyst"),
    )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    stream = events(answer.text)
    kinds = [k for k, _ in stream]
    assert kinds[-1] == "done" and "answer" in kinds
    done = stream[-1][1]
    assert "".join(d["text"] for k, d in stream if k == "answer") == done["text"]
    assert done["answered_by"]
    history = running.service.store().chat_history(case_id, 10)
    assert history[-2].author == "analyst:analyst"  # the token's person, not a body field


def test_answer_chunks_join_back_exactly() -> None:
    text = "  One two three four five six seven eight nine.\nTen  eleven "
    assert "".join(answer_chunks(text, 3)) == text
    assert list(answer_chunks("")) == []


def test_an_approver_answers_as_their_person_and_never_their_own(tmp_path: Path) -> None:
    with running_service(tmp_path / "t.db") as running:
        for path in PUSHABLE:
            running.push(path.read_bytes())
        running.settle()
        store = running.service.store()
        # One person, two tokens: what alice requests as analyst she cannot approve.
        analyst = store.create_token("alice-a", "analyst", "admin", running.clock.now(), "alice")
        approver = store.create_token("alice-b", "approver", "admin", running.clock.now(), "alice")
        # The examples' escalated case names SRV-APP-03, a production server no playbook acts on.
        (case,) = [c for c in store.cases() if c.status == "escalated"]
        chat = running.client.post(
            f"/api/cases/{case.id}/chat",
            json={"message": "isolate host SRV-APP-03"},
            headers={"Authorization": f"Bearer {analyst}"},
        )
        done = events(chat.text)[-1][1]
        pending = [
            a
            for a in done["actions"]
            if a["requested_by"] == "analyst:alice" and a["status"] == "pending_approval"
        ]
        assert pending, done
        action_id = pending[0]["action_id"]
        own = running.client.post(
            f"/api/approvals/{action_id}/approve",
            json={"reason": "looks right"},
            headers={"Authorization": f"Bearer {approver}"},
        )
        assert own.status_code == 409 and "cannot be the requester" in own.json()["error"]
        other = running.client.post(
            f"/api/approvals/{action_id}/deny",
            json={"reason": "not without the owner"},
            headers=running.as_role("approver"),
        )
        assert other.status_code == 200 and other.json()["status"] == "denied"
        assert other.json()["approved_by"] is None or other.json()["approved_by"] == "approver"


def test_rollback_and_resolve(running: Running) -> None:
    store = running.service.store()
    executed = next(r for r in store.actions.rows() if r.status == "executed")
    undone = running.client.post(
        f"/api/actions/{executed.id}/rollback",
        json={"reason": "owner confirmed a test"},
        headers=running.as_role("analyst"),
    )
    assert undone.status_code == 200 and undone.json()["status"] == "rolled_back"
    assert undone.json()["rolled_back_by"] == "analyst"
    again = running.client.post(
        f"/api/actions/{executed.id}/rollback",
        json={"reason": "twice"},
        headers=running.as_role("approver"),
    )
    assert again.status_code == 409
    closed = next(
        c for c in get(running, "/api/cases")["cases"] if c["status"] != "awaiting_approval"
    )
    resolved = running.client.post(
        f"/api/cases/{closed['id']}/resolve",
        json={"verdict": "false_positive", "note": "known admin script"},
        headers=running.as_role("analyst"),
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolved_by"] == "analyst"
    bad = running.client.post(
        f"/api/cases/{closed['id']}/resolve",
        json={"verdict": "maybe"},
        headers=running.as_role("analyst"),
    )
    assert bad.status_code == 400


def test_the_audit_trail_export_and_verify(running: Running, tmp_path: Path) -> None:
    case_id = get(running, "/api/cases")["cases"][0]["id"]
    trace = get(running, f"/api/audit/cases/{case_id}", role="auditor")
    assert trace and all(r["case_id"] == case_id for r in trace)
    assert {"priority", "verdict"} <= {r["kind"] for r in trace}
    export = running.client.get("/api/audit/export", headers=running.as_role("auditor"))
    assert export.status_code == 200
    file = tmp_path / "audit.jsonl"
    file.write_text(export.text)
    check = verify_export(file)
    assert check.checked == len(export.text.splitlines()) > 0
    verified = running.client.post("/api/audit/verify", headers=running.as_role("auditor"))
    assert verified.json()["ok"] is True and verified.json()["records"] >= check.checked


def test_a_tampered_audit_is_reported_not_hidden(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    with running_service(db, workers=False) as running:
        running.push((PUSHABLE[1]).read_bytes())
        raw = Store(db)
        raw.conn.execute("DROP TRIGGER audit_no_update")
        raw.conn.execute("UPDATE audit SET actor = 'someone-else' WHERE seq = 2")
        raw.close()
        verified = running.client.post("/api/audit/verify", headers=running.as_role("auditor"))
        assert verified.status_code == 200
        assert verified.json()["ok"] is False and "2" in verified.json()["problem"]


def test_kill_switch_tokens_and_reload(running: Running) -> None:
    admin = running.as_role("admin")
    off = running.client.put(
        "/api/autonomy", json={"state": "off", "reason": "drill"}, headers=admin
    )
    assert off.json() == {"autonomy": "off"}
    assert running.service.store().autonomy_on() is False
    running.client.put("/api/autonomy", json={"state": "on", "reason": "drill over"}, headers=admin)
    made = running.client.post(
        "/api/tokens", json={"name": "edr-1", "role": "ingest"}, headers=admin
    )
    assert made.status_code == 201
    token = made.json()["token"]
    assert (
        running.client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}).json()[
            "name"
        ]
        == "edr-1"
    )
    listed = running.client.get("/api/tokens", headers=admin).json()
    assert "edr-1" in {t["name"] for t in listed} and token not in json.dumps(listed)
    assert running.client.delete("/api/tokens/edr-1", headers=admin).status_code == 200
    assert (
        running.client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    reloaded = running.client.post("/api/policy/reload", headers=admin)
    assert reloaded.status_code == 200 and reloaded.json()["policy_version"]


def test_evaluation_reports_are_listed_and_read(running: Running, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    (reports / "builtin-offline").mkdir(parents=True)
    document = {"format": 1, "dataset": {"name": "builtin"}, "agent": "offline", "created_at": "x"}
    from tierzero.evals.report import REPORT_FORMAT

    document["format"] = REPORT_FORMAT
    (reports / "builtin-offline" / "report.json").write_text(json.dumps(document))
    running.service.reports = reports
    listed = get(running, "/api/evaluations", role="auditor")
    assert [r["name"] for r in listed] == ["builtin-offline"]
    assert get(running, "/api/evaluations/builtin-offline")["agent"] == "offline"
    for name in ("..", "missing", "a%2F..%2Fb"):
        answer = running.client.get(f"/api/evaluations/{name}", headers=running.as_role("analyst"))
        assert answer.status_code == 404
