"""Scripted responses of the stub endpoint, one scenario per cassette (recording only).

Each scenario answers the requests the real client sends while ``tierzero triage examples``
investigates its three open cases (C-3, C-4, C-5, in that order). Case C-4 (the intrusion) is
where each scenario's behaviour happens; C-3 and C-5 get a short, ordinary investigation unless
the scenario says otherwise. Responses are written from the OpenAI API reference for
``POST /v1/chat/completions``; none came from a real model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Reply = tuple[int, dict[str, str], dict[str, Any]]
MODEL = "gpt-4o-mini-2024-07-18"
_CASE = re.compile(r"Investigate case (C-\d+)")


def completion(
    content: str | None = None,
    tool_calls: list[tuple[str, str]] | None = None,
    finish: str = "stop",
    n: int = 0,
) -> Reply:
    """A 200 chat.completion body; tool_calls are (name, raw JSON arguments)."""
    message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
    if tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{n}_{i}", "type": "function", "function": {"name": a, "arguments": b}}
            for i, (a, b) in enumerate(tool_calls)
        ]
        finish = "tool_calls"
    return (
        200,
        {"x-request-id": f"req_stub_{n}"},
        {
            "id": f"chatcmpl-stub{n}",
            "object": "chat.completion",
            "created": 1763370000 + n,
            "model": MODEL,
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": {"prompt_tokens": 900 + n, "completion_tokens": 60, "total_tokens": 960 + n},
            "system_fingerprint": "fp_stub",
        },
    )


def error(status: int, message: str, kind: str, code: str | None, headers: dict[str, str]) -> Reply:
    """An OpenAI error object with its status."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return status, headers, body


def rate_limited(n: int) -> Reply:
    return error(
        429,
        "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3.",
        "requests",
        "rate_limit_exceeded",
        {"retry-after": "1", "x-request-id": f"req_stub_{n}"},
    )


def server_error(n: int) -> Reply:
    return error(
        500,
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
        {"x-request-id": f"req_stub_{n}"},
    )


def opinion(**fields: Any) -> str:
    body: dict[str, Any] = {
        "verdict": "true_positive",
        "confidence": 0.92,
        "rationale": "A phishing mail [E1] led to a JScript dropper run on LT-FIN-042 [E5].",
        "evidence": ["E1", "E5"],
        "techniques": ["T1566.002", "T1059.007"],
        "actions": [],
    }
    body.update(fields)
    return json.dumps(body)


INTRUSION_ACTIONS = [
    {
        "action": "isolate_host",
        "target": "LT-FIN-042",
        "reason": "the dropper ran here",
        "evidence": ["E5"],
    },
    {
        "action": "revoke_sessions",
        "target": "alice.martin",
        "reason": "sign-in from a new country",
        "evidence": ["E1"],
    },
    {"action": "block_ip", "target": "203.0.113.45", "reason": "C2 address", "evidence": ["E5"]},
    {
        "action": "block_domain",
        "target": "mail.northwlnd-billing.example",
        "reason": "the look-alike sender's mail server",
        "evidence": ["E1"],
    },
]
QUIET = {
    "C-3": opinion(
        verdict="benign_positive",
        confidence=0.8,
        rationale="An internet scan of an exposed port; nothing followed [E1].",
        evidence=["E1"],
        techniques=[],
    ),
    "C-5": opinion(
        verdict="benign_positive",
        confidence=0.75,
        rationale="An admin's interactive logon in working hours [E1].",
        evidence=["E1"],
        techniques=[],
    ),
}


def phase(body: dict[str, Any]) -> tuple[str, str, int, int]:
    """(case id, 'investigate' | 'recommend', assistant turns so far, re-asks so far)."""
    messages = body.get("messages", [])
    case = next(
        (m.group(1) for msg in messages if (m := _CASE.search(str(msg.get("content") or "")))),
        "?",
    )
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    asked = any("Now give your conclusion" in u for u in users)
    repairs = sum("could not be used" in u for u in users)
    turns = sum(m.get("role") == "assistant" for m in messages)
    return case, ("recommend" if asked else "investigate"), turns, repairs


Scenario = Callable[[dict[str, Any], int], Reply]


def quiet(case: str, stage: str, n: int) -> Reply:
    """The ordinary short investigation of C-3 and C-5."""
    if stage == "investigate":
        return completion(f"Findings for {case}: a single routine alert [E1].", n=n)
    return completion(QUIET[case], n=n)


def scenario(c4: Callable[[str, int, int, int], Reply]) -> Scenario:
    """A scenario that scripts C-4 and answers the other cases quietly."""

    def respond(body: dict[str, Any], n: int) -> Reply:
        case, stage, turns, repairs = phase(body)
        if case != "C-4":
            return quiet(case, stage, n)
        return c4(stage, turns, repairs, n)

    return respond


def _full(stage: str, turns: int, repairs: int, n: int) -> Reply:
    if stage == "recommend":
        return completion(opinion(actions=INTRUSION_ACTIONS), n=n)
    steps = [
        [
            ("case_alerts", '{"limit": 40}'),
            ("lookup_asset", '{"host": "LT-FIN-042"}'),
        ],
        [
            ("process_tree", '{"host": "LT-FIN-042"}'),
            ("signin_history", '{"user": "alice.martin", "days": 7}'),
        ],
        [
            ("threat_intel", '{"indicator": "203.0.113.45", "at": "2026-11-16T09:30:00Z"}'),
            ("attack_technique", '{"technique_id": "T1059.007"}'),
        ],
    ]
    if turns < len(steps):
        return completion(tool_calls=steps[turns], n=n)
    return completion(
        "A look-alike phishing mail [E1] delivered a JScript dropper that ran on LT-FIN-042 "
        "[E5]; alice.martin then signed in from a new country and data left via 203.0.113.45.",
        n=n,
    )


def _parallel(stage: str, turns: int, repairs: int, n: int) -> Reply:
    if stage == "recommend":
        return completion(opinion(), n=n)
    if turns == 0:
        return completion(
            tool_calls=[
                ("lookup_asset", '{"host": "LT-FIN-042"}'),
                ("lookup_asset", '{"host": "SRV-FS-01"}'),
                ("lookup_identity", '{"user": "alice.martin"}'),
                ("known_scanner", '{"address": "203.0.113.45"}'),
            ],
            n=n,
        )
    return completion("Four lookups done at once; the laptop is a finance workstation [E5].", n=n)


def _malformed(stage: str, turns: int, repairs: int, n: int) -> Reply:
    if stage == "recommend":
        return completion(opinion(), n=n)
    if turns == 0:  # arguments cut off mid-object, as small models sometimes write them
        return completion(tool_calls=[("lookup_asset", '{"host": "LT-FIN-042"')], n=n)
    if turns == 1:
        return completion(tool_calls=[("lookup_asset", '{"host": "LT-FIN-042"}')], n=n)
    return completion("The laptop is a finance workstation [E5].", n=n)


def _hallucinated(stage: str, turns: int, repairs: int, n: int) -> Reply:
    if stage == "recommend":
        return completion(opinion(), n=n)
    if turns == 0:
        return completion(
            tool_calls=[
                ("run_powershell", '{"command": "Get-Process -ComputerName LT-FIN-042"}'),
                ("isolate_host", '{"host": "LT-FIN-042"}'),
            ],
            n=n,
        )
    return completion("Those tools do not exist; from the alerts alone: malware ran [E5].", n=n)


def _truncated(stage: str, turns: int, repairs: int, n: int) -> Reply:
    if stage == "recommend":
        if repairs == 0:
            return completion(opinion()[:70], finish="length", n=n)
        return completion(opinion(), n=n)
    return completion(
        "A look-alike phishing mail [E1] delivered a dropper that ran on LT-FIN-042 [E5] and",
        finish="length",
        n=n,
    )


def _invalid(stage: str, turns: int, repairs: int, n: int) -> Reply:
    if stage == "investigate":
        return completion("Malware ran on LT-FIN-042 [E5].", n=n)
    if repairs == 0:  # cites evidence that does not exist and an action outside the catalog
        return completion(
            opinion(
                evidence=["E999"],
                actions=[{"action": "wipe_disk", "target": "LT-FIN-042", "reason": "clean it"}],
            ),
            n=n,
        )
    if repairs == 1:  # not JSON at all
        return completion("It is definitely malicious; isolate everything.", n=n)
    return completion(opinion(), n=n)


def _invalid_always(body: dict[str, Any], n: int) -> Reply:
    case, stage, turns, repairs = phase(body)
    if case == "C-5" and stage == "recommend":
        return completion('{"verdict": "benign", "confidence": "high"}', n=n)
    if case == "C-4":
        return _invalid(stage, turns, repairs, n)
    return quiet(case, stage, n)


def _rate_limited(body: dict[str, Any], n: int) -> Reply:
    case, stage, turns, repairs = phase(body)
    if case == "C-3" and n == 1:  # the first request of the run: 429, then the retry works
        return rate_limited(n)
    if case == "C-5":  # every attempt: the client gives up after its retries
        return rate_limited(n)
    if case == "C-4":
        return _full(stage, 3, repairs, n) if stage == "investigate" else completion(opinion(), n=n)
    return quiet(case, stage, n)


def _server_error(body: dict[str, Any], n: int) -> Reply:
    case, stage, _, _ = phase(body)
    if case == "C-4":
        return server_error(n)
    return quiet(case, stage, n)


SCENARIOS: dict[str, Scenario] = {
    "full_investigation": scenario(_full),
    "parallel_tool_calls": scenario(_parallel),
    "malformed_arguments": scenario(_malformed),
    "hallucinated_tool": scenario(_hallucinated),
    "truncated_response": scenario(_truncated),
    "invalid_output": _invalid_always,
    "rate_limited": _rate_limited,
    "server_error": _server_error,
    # The timeout itself happens in the client's transport (see the test); the endpoint's
    # side is an ordinary investigation.
    "timeout": scenario(_full),
}
