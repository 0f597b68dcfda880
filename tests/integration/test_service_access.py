"""Every endpoint of ``tierzero serve`` under every role (issue 14): no token is 401, a role
without the permission 403 (both audited), the right role gets through; tokens never reach
the audit or the logs; each token is rate limited with 429 and Retry-After."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.integration.service_support import Running, running_service
from tierzero.service.access import GRANTS, Permission
from tierzero.store.tokens import ROLES

# (method, path, body, the permission it needs: None for any valid token)
ENDPOINTS: list[tuple[str, str, object, Permission | None]] = [
    ("POST", "/api/alerts", b"{}", "ingest"),
    ("POST", "/api/alerts/{source}", b"{}", "ingest"),
    ("GET", "/api/cases", None, "read_cases"),
    ("GET", "/api/cases/{case_id}", None, "read_cases"),
    ("GET", "/api/approvals", None, "read_cases"),
    ("POST", "/api/approvals/{action_id}/approve", {"reason": "ok"}, "approve"),
    ("POST", "/api/approvals/{action_id}/deny", {"reason": "no"}, "approve"),
    ("GET", "/api/actions", None, "read_cases"),
    ("POST", "/api/actions/{action_id}/rollback", {"reason": "undo"}, "rollback"),
    ("GET", "/api/cases/{case_id}/similar", None, "read_cases"),
    ("POST", "/api/cases/{case_id}/resolve", {"verdict": "false_positive"}, "analyse"),
    ("POST", "/api/cases/{case_id}/chat", {"message": "what happened?"}, "analyse"),
    ("GET", "/api/audit/cases/{case_id}", None, "read_audit"),
    ("GET", "/api/audit/export", None, "read_audit"),
    ("POST", "/api/audit/verify", None, "read_audit"),
    ("GET", "/api/evaluations", None, "read_cases"),
    ("GET", "/api/evaluations/{name}", None, "read_cases"),
    ("PUT", "/api/autonomy", {"state": "on", "reason": "drill over"}, "administer"),
    ("POST", "/api/policy/reload", None, "administer"),
    ("GET", "/api/tokens", None, "administer"),
    ("POST", "/api/tokens", {"name": "new-sensor", "role": "ingest"}, "administer"),
    ("DELETE", "/api/tokens/{name}", None, "administer"),
    ("GET", "/api/suppressions", None, "read_cases"),
    ("GET", "/api/suppressions/{rule}", None, "read_cases"),
    ("POST", "/api/suppressions/{rule}/approve", {"reason": "ok"}, "administer"),
    ("POST", "/api/suppressions/{rule}/reject", {"reason": "no"}, "administer"),
    ("POST", "/api/suppressions/{rule}/expire", {"reason": "done"}, "administer"),
    ("GET", "/api/whoami", None, None),
]
OPEN = {("GET", "/health"), ("GET", "/metrics")}
FILL = {
    "{source}": "suricata",
    "{case_id}": "C-404",
    "{action_id}": "999",
    "{name}": "nobody",
    "{rule}": "S-404",
}


def concrete(path: str) -> str:
    for name, value in FILL.items():
        path = path.replace(name, value)
    return path


def call(running: Running, method: str, path: str, body: object, role: str | None) -> int:
    kwargs: dict[str, object] = {"headers": running.as_role(role)}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    return running.client.request(method, concrete(path), **kwargs).status_code  # type: ignore[arg-type]


@pytest.fixture
def running(tmp_path: Path) -> object:
    with running_service(tmp_path / "t.db", workers=False) as service:
        yield service


def test_the_table_covers_every_api_route(running: Running) -> None:
    """Read from the OpenAPI document, so a new route without a row here fails."""
    paths = running.client.get("/openapi.json").json()["paths"]
    routes = {(method.upper(), path) for path, item in paths.items() for method in item}
    assert routes - OPEN == {(m, p) for m, p, _, _ in ENDPOINTS}


@pytest.mark.parametrize(("method", "path", "body", "permission"), ENDPOINTS)
def test_every_role_on_every_endpoint(
    running: Running, method: str, path: str, body: object, permission: Permission | None
) -> None:
    assert call(running, method, path, body, None) == 401
    for role in ROLES:
        status = call(running, method, path, body, role)
        if permission is None or permission in GRANTS[role]:
            assert status not in (401, 403), (role, status)
            assert status < 500, (role, status)
        else:
            assert status == 403, (role, status)


def test_refusals_are_audited_without_the_token(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "tz_" + "x" * 43
    assert (
        running.client.get("/api/cases", headers={"Authorization": f"Bearer {wrong}"}).status_code
        == 401
    )
    assert call(running, "GET", "/api/cases", None, "ingest") == 403
    store = running.service.store()
    refused = [r for r in store.audit_records() if r["kind"] == "access"]
    assert [r["payload"]["code"] for r in refused] == [401, 403]
    assert refused[1]["actor"] == "token:ingest"
    assert refused[1]["payload"]["needs"] == "read_cases"
    text = " ".join(str(r) for r in store.audit_records()) + caplog.text
    for token in [*running.tokens.values(), wrong]:
        assert token not in text


def test_a_token_in_the_url_is_not_a_token(running: Running) -> None:
    token = running.tokens["analyst"]
    assert running.client.get(f"/api/cases?token={token}").status_code == 401
    assert running.client.get("/api/cases", headers={"Authorization": token}).status_code == 401


def test_a_revoked_token_is_refused_at_once(running: Running) -> None:
    assert call(running, "GET", "/api/cases", None, "analyst") == 200
    running.service.store().revoke_token("analyst", "test-admin", running.clock.now())
    assert call(running, "GET", "/api/cases", None, "analyst") == 401


def test_rate_limit_per_token(tmp_path: Path) -> None:
    with running_service(
        tmp_path / "t.db", workers=False, rate_limit={"per_minute": 60, "burst": 3}
    ) as running:
        codes = [call(running, "GET", "/api/whoami", None, "analyst") for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        answer = running.client.get("/api/whoami", headers=running.as_role("analyst"))
        assert answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1
        # Another token has its own bucket.
        assert call(running, "GET", "/api/whoami", None, "auditor") == 200


def test_failed_sign_ins_cannot_flood_the_audit(tmp_path: Path) -> None:
    with running_service(
        tmp_path / "t.db", workers=False, rate_limit={"per_minute": 60, "burst": 5}
    ) as running:
        codes = [call(running, "GET", "/api/cases", None, None) for _ in range(20)]
        assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
        refused = [r for r in running.service.store().audit_records() if r["kind"] == "access"]
        assert len(refused) == 5


def test_health_metrics_and_openapi_need_no_token(running: Running) -> None:
    assert running.client.get("/health").status_code == 200  # workers off: store only
    metrics = running.client.get("/metrics")
    assert metrics.status_code == 200 and "tierzero_cases" in metrics.text
    document = running.client.get("/openapi.json").json()
    assert "/api/alerts" in document["paths"]
