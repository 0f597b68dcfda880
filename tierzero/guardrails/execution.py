"""Bounded execution: run an allowed action as a lease, and undo it (on demand or on expiry).

These are the only functions that call a response connector. Each call is preceded and
followed by an audited state change of the action row, in one transaction each, and
connectors treat a repeated idempotency key as already done: exactly once, even across a
crash and resume.
"""

from __future__ import annotations

from datetime import datetime

from tierzero.guardrails.decisions import bound_reached
from tierzero.guardrails.policy import ActionSpec, Policy
from tierzero.guardrails.rules import Finding
from tierzero.store.actions import ActionLog, ActionRow, ts
from tierzero.tools.connectors import ConnectorError, ResponseConnector


def current_bounds(
    log: ActionLog, policy: Policy, now: datetime
) -> tuple[dict[str, int], frozenset[str]]:
    """Executions per rate-limited action within its window, and the open circuit breakers."""
    executed = {
        name: log.executed_since(name, now - limit.per)
        for name, limit in policy.rate_limits.items()
    }
    breakers = frozenset(
        name
        for name in policy.catalog
        if log.failures_since(name, now - policy.breaker_window) >= policy.breaker_failures
    )
    return executed, breakers


def bounds_violation(log: ActionLog, policy: Policy, action: str, now: datetime) -> Finding | None:
    """Re-checked right before executing: earlier actions of the same run may have used the
    rate limit up or tripped the breaker since the decision (the same check as ``decide``'s)."""
    executed, breakers = current_bounds(log, policy, now)
    return bound_reached(action, policy, executed, breakers)


class RollbackRefused(ValueError):
    """The action cannot be rolled back (not executed, or already undone)."""


def execute(
    log: ActionLog,
    connector: ResponseConnector,
    policy: Policy,
    row: ActionRow,
    spec: ActionSpec,
    now: datetime,
) -> ActionRow:
    """executing -> executed (a lease that ends after the action's TTL) | failed; or
    pending_approval when a bound was reached after the decision."""
    if row.status == "allowed":
        violated = bounds_violation(log, policy, row.action, now)
        if violated is not None:
            return log.transition(
                row,
                "pending_approval",
                kind="decision",
                actor="guardrails",
                now=now,
                payload={"rule_id": violated.rule_id.value, "reason": violated.reason},
                rule_id=violated.rule_id.value,
                reason=violated.reason,
            )
    row = log.transition(
        row,
        "executing",
        kind="action",
        actor="act",
        now=now,
        payload={"phase": "start", "connector": connector.name},
    )
    try:
        result = connector.apply(row.action, row.target, row.idempotency_key, now)
    except ConnectorError as exc:
        return log.transition(
            row,
            "failed",
            kind="action",
            actor="act",
            now=now,
            payload={"phase": "failed", "error": str(exc)},
            executed_at=ts(now),
            result=str(exc),
        )
    return log.transition(
        row,
        "executed",
        kind="action",
        actor="act",
        now=now,
        payload={"phase": "done", "result": result, "expires_at": ts(now + spec.ttl)},
        executed_at=ts(now),
        expires_at=ts(now + spec.ttl),
        result=result,
    )


def rollback(
    log: ActionLog,
    connector: ResponseConnector,
    policy: Policy,
    row: ActionRow,
    *,
    actor: str,
    reason: str,
    now: datetime,
    expired: bool = False,
) -> ActionRow:
    """Apply the action's inverse and mark it rolled back (or expired, for a lease sweep)."""
    if row.status != "executed":
        raise RollbackRefused(f"action {row.id} is {row.status}; only executed actions roll back")
    spec = policy.catalog.get(row.action)
    if spec is None:
        raise RollbackRefused(f"action {row.id}: {row.action} is no longer in the catalog")
    result = connector.apply(spec.inverse, row.target, f"rollback:{row.idempotency_key}", now)
    return log.transition(
        row,
        "expired" if expired else "rolled_back",
        kind="rollback",
        actor=actor,
        now=now,
        payload={"inverse": spec.inverse, "reason": reason, "result": result},
        rolled_back_by=actor,
        rollback_reason=reason,
    )


def sweep_leases(
    log: ActionLog, connector: ResponseConnector, policy: Policy, now: datetime
) -> list[ActionRow]:
    """Undo every executed action whose lease has run out."""
    return [
        rollback(
            log,
            connector,
            policy,
            row,
            actor="lease-sweeper",
            now=now,
            expired=True,
            reason=f"lease ended at {row.expires_at}",
        )
        for row in log.leases_due(now)
    ]
