"""Complete mediation of tool calls: validate, budget, audit, and only then run.

Agents never call a tool function or ``REGISTRY.call`` directly; they get a :class:`Mediator`
for their case. Every call is checked in a fixed order (argument schema, then budget), written
to the audit chain *before* it runs, and its result digest written after.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel

from tierzero.tools.registry import (
    REGISTRY,
    ToolArgumentError,
    ToolContext,
    ToolRegistry,
    UnknownToolError,
)


class AuditSink(Protocol):
    """Where mediation writes its records (the store)."""

    def audit(
        self,
        kind: Any,
        actor: str,
        payload: dict[str, Any],
        case_id: str | None,
        now: datetime,
    ) -> dict[str, Any]: ...


class BudgetExceeded(RuntimeError):
    """A case used up its tool-call budget; the call was not made."""


def digest(value: Any) -> str:
    """SHA-256 of a result's canonical JSON (results can be large; the audit keeps the digest)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list | tuple):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


@dataclass
class Mediator:
    """The one door to the tools for one case and one actor."""

    sink: AuditSink
    tools: ToolContext
    actor: str
    now: datetime
    max_calls: int = 200
    registry: ToolRegistry = REGISTRY
    calls: int = field(default=0, init=False)

    def call(self, name: str, arguments: Mapping[str, Any]) -> Any:
        """Run one tool call through the checks; raises on a bad call (nothing is run)."""
        try:
            spec, parsed = self.registry.validate(name, arguments)
        except (ToolArgumentError, UnknownToolError) as exc:
            problems = exc.problems if isinstance(exc, ToolArgumentError) else ["unknown tool"]
            self.reject(name, problems)
            raise
        if self.calls >= self.max_calls:
            raise BudgetExceeded(
                f"{self.tools.case_id}: tool-call budget of {self.max_calls} used up"
            )
        self.calls += 1
        case_id = self.tools.case_id
        self.sink.audit(
            "tool_call",
            self.actor,
            {
                "tool": name,
                "action_class": spec.action_class,
                "phase": "request",
                "arguments": parsed.model_dump(mode="json"),
            },
            case_id,
            self.now,
        )
        try:
            result = self.registry.run(spec, self.tools, parsed)
        except Exception as exc:
            # A tool's own refusal (out of scope, not found) or failure: audited, then raised.
            self.sink.audit(
                "tool_call",
                self.actor,
                {
                    "tool": name,
                    "phase": "error",
                    "error": type(exc).__name__,
                    "message": str(exc)[:300],
                },
                case_id,
                self.now,
            )
            raise
        self.sink.audit(
            "tool_call",
            self.actor,
            {
                "tool": name,
                "phase": "result",
                "result_sha256": digest(result),
                "empty": result is None or result == [],
            },
            case_id,
            self.now,
        )
        return result

    def reject(self, name: str, problems: list[str]) -> None:
        """Audit a call that was refused before reaching a tool (bad name or arguments)."""
        self.sink.audit(
            "tool_call",
            self.actor,
            {"tool": str(name)[:200], "phase": "rejected", "problems": problems},
            self.tools.case_id,
            self.now,
        )
