"""The MCP server of ``tierzero serve`` at /mcp, driven by the official MCP client over HTTP:
its tools and their annotations, each read tool on the triaged examples, an action proposed
through the guardrails and denied by the deny list, and refusals for a missing token or a role
without the permission (at the HTTP level and in the tools)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import anyio
import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult

from tests.integration.mcp_support import Served, mcp_client, served
from tierzero.service.mcp_server import mcp_server

pytestmark = pytest.mark.loopback

T = TypeVar("T")

READ_TOOLS = {
    "search_cases",
    "get_case",
    "get_evidence",
    "similar_cases",
    "attack_technique",
    "verify_case_audit",
}


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("mcp") / "t.db") as service:
        service.push_examples()
        yield service


def run(served: Served, role: str | None, scenario: Callable[[Client], Awaitable[T]]) -> T:
    """``scenario`` with an MCP client of the served /mcp holding ``role``'s token."""

    async def main() -> T:
        async with mcp_client(served, role) as client:
            return await scenario(client)

    return anyio.run(main)


def call(served: Served, role: str, tool: str, **arguments: Any) -> CallToolResult:
    async def scenario(client: Client) -> CallToolResult:
        return await client.call_tool(tool, arguments)

    return run(served, role, scenario)


def answer(served: Served, role: str, tool: str, **arguments: Any) -> dict[str, Any]:
    """A tool's structured answer (the call must succeed)."""
    result = call(served, role, tool, **arguments)
    assert not result.is_error, result.content
    structured: dict[str, Any] | None = result.structured_content
    assert structured is not None
    return structured


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(c, "text", "") for c in result.content)


def awaiting_case(served: Served) -> dict[str, Any]:
    found = answer(served, "analyst", "search_cases", status="awaiting_approval")
    assert found["total"] >= 1
    case: dict[str, Any] = found["cases"][0]
    return case


def test_tools_and_their_annotations(running: Served) -> None:
    async def scenario(client: Client) -> Any:
        return (await client.list_tools()).tools

    tools = {t.name: t for t in run(running, "analyst", scenario)}
    assert set(tools) == READ_TOOLS | {"propose_action"}
    for name in READ_TOOLS:
        hints = tools[name].annotations
        assert hints is not None and hints.read_only_hint is True, name
        assert hints.destructive_hint is False, name
    propose = tools["propose_action"].annotations
    assert propose is not None
    assert propose.read_only_hint is False and propose.destructive_hint is True
    schema = tools["propose_action"].input_schema
    assert set(schema["required"]) == {"case_id", "action", "target", "reason"}


def test_search_cases_filters_and_pages(running: Served) -> None:
    everything = answer(running, "analyst", "search_cases")
    assert everything["total"] == len(everything["cases"]) >= 3
    second = answer(running, "approver", "search_cases", limit=1, offset=1)
    assert [c["id"] for c in second["cases"]] == [everything["cases"][1]["id"]]
    status = everything["cases"][0]["status"]
    only = answer(running, "auditor", "search_cases", status=status)
    assert {c["status"] for c in only["cases"]} == {status}
    assert answer(running, "analyst", "search_cases", verdict="no-such-verdict")["total"] == 0


def test_get_case_evidence_and_similar_cases(running: Served) -> None:
    case_id = awaiting_case(running)["id"]
    case = answer(running, "analyst", "get_case", case_id=case_id)
    assert case["id"] == case_id and case["analysis"]["analysis"]["verdict"] == case["verdict"]
    assert case["alert_ids"] and "alerts" not in case
    evidence = answer(running, "analyst", "get_evidence", case_id=case_id)
    items = {e["id"]: e for e in evidence["evidence"]}
    assert items and set(evidence["cited"]) <= set(items)
    assert all(items[i]["cited"] for i in evidence["cited"])
    assert all(e["kind"] and e["summary"] for e in items.values())
    similar = answer(running, "analyst", "similar_cases", case_id=case_id, k=3)
    assert similar["case_id"] == case_id and len(similar["similar"]) <= 3
    assert case_id not in {s["case_id"] for s in similar["similar"]}
    missing = call(running, "analyst", "get_case", case_id="C-999")
    assert "no case 'C-999'" in error_text(missing)


def test_attack_technique(running: Served) -> None:
    found = answer(running, "analyst", "attack_technique", technique_id="T1059.001")
    assert found["found"] and found["name"] == "PowerShell"
    assert found["parent_name"] == "Command and Scripting Interpreter"
    assert found["url"] == "https://attack.mitre.org/techniques/T1059/001"
    assert not answer(running, "analyst", "attack_technique", technique_id="T9999")["found"]
    assert call(running, "analyst", "attack_technique", technique_id="not-an-id").is_error


def test_verify_case_audit_needs_the_auditor(running: Served) -> None:
    case_id = awaiting_case(running)["id"]
    check = answer(running, "auditor", "verify_case_audit", case_id=case_id)
    assert check["ok"] is True and 0 < check["case_records"] <= check["records"]
    assert check["authenticated"] and check["anchored"]
    refused = error_text(call(running, "analyst", "verify_case_audit", case_id=case_id))
    assert "verify_case_audit: the analyst role may not do this (needs read_audit)" in refused


def test_propose_action_on_a_deny_listed_target_is_denied(running: Served) -> None:
    case = awaiting_case(running)
    denied = [a for a in case["actions"] if (a["rule_id"] or "").startswith("deny_list.")]
    assert denied, case["actions"]  # the examples' attack reaches a domain controller
    before = {a["id"] for a in case["actions"]}
    decision = answer(
        running,
        "analyst",
        "propose_action",
        case_id=case["id"],
        action="block_ip",
        target="10.10.0.10",  # DC-01's address (config/inventory/assets.yaml), in the case
        reason="asked through MCP",
    )
    assert (decision["outcome"], decision["rule_id"]) == ("deny", "deny_list.asset_role")
    assert decision["status"] == "denied" and decision["action_id"] not in before
    assert decision["requested_by"] == "analyst:analyst"  # the token's person
    again = answer(
        running,
        "analyst",
        "propose_action",
        case_id=case["id"],
        action=denied[0]["action"],
        target=denied[0]["target"],
        reason="asked through MCP",
    )
    assert (again["outcome"], again["rule_id"]) == ("deny", denied[0]["rule_id"])


def test_propose_action_needs_the_analyse_permission(running: Served) -> None:
    case_id = awaiting_case(running)["id"]
    for role in ("approver", "auditor", "ingest"):
        refused = call(
            running,
            role,
            "propose_action",
            case_id=case_id,
            action="isolate_host",
            target="DC-01",
            reason="not mine to ask",
        )
        assert f"propose_action: the {role} role may not do this (needs analyse)" in error_text(
            refused
        )


def test_an_ingest_token_reads_nothing(running: Served) -> None:
    refused = error_text(call(running, "ingest", "search_cases"))
    assert "search_cases: the ingest role may not do this (needs read_cases)" in refused
    assert running.tokens["ingest"] not in refused
    audited = [
        r["payload"]
        for r in running.service.store().audit_records()
        if r["kind"] == "access" and r["actor"] == "token:ingest"
    ]
    assert {"code": 403, "route": "/mcp", "tool": "search_cases"}.items() <= audited[-1].items()


def test_no_token_is_refused_before_mcp(running: Served) -> None:
    for headers in ({}, {"Authorization": "Bearer tz_not-a-token"}):
        answer_ = httpx.post(running.mcp_url, json={}, headers=headers)
        assert answer_.status_code == 401
        assert answer_.headers["www-authenticate"].startswith("Bearer")
        assert answer_.json() == {"error": "a valid token is needed"}

    async def scenario(client: Client) -> None:
        await client.list_tools()

    with pytest.raises(ExceptionGroup) as refused:
        run(running, None, scenario)
    assert refused.group_contains(MCPError)


def test_the_tools_check_the_token_themselves(running: Served) -> None:
    """Without the HTTP check in front (an in-process client has no HTTP request), every
    tool refuses a call that carries no token."""

    async def main() -> CallToolResult:
        async with Client(mcp_server(running.service)) as client:
            return await client.call_tool("search_cases", {})

    refused = anyio.run(main)
    assert "search_cases: a valid token is needed" in error_text(refused)


def test_mcp_is_not_in_the_openapi_document(running: Served) -> None:
    paths = httpx.get(f"{running.base}/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/mcp")]
