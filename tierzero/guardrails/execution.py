"""Bounded execution: run an allowed action as a lease, and undo it (on demand or on expiry).

These are the only functions that call a response connector. Each call is preceded and
followed by an audited state change of the action row, in one transaction each, and
connectors treat a repeated idempotency key as already done: exactly once, even across a
crash and resume.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tierzero.clock import Clock
from tierzero.guardrails.decisions import Decision
from tierzero.guardrails.policy import ActionSpec, Policy
from tierzero.guardrails.rules import RuleId
from tierzero.store.actions import ActionConflict, ActionLog, ActionRow, ActionStatus, ts
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


class RollbackRefused(ValueError):
    """The action cannot be rolled back (not executed, or already undone)."""


Recheck = Callable[[ActionRow], Decision]
"""The guardrails' decision on an action row as things stand now (the kill switch, deny
lists, bounds and the row's own hash read afresh); built by the caller, who has the case."""


def execute(
    log: ActionLog,
    connector: ResponseConnector,
    policy: Policy,
    row: ActionRow,
    spec: ActionSpec,
    clock: Clock,
    recheck: Recheck,
) -> ActionRow:
    """allowed | approved | executing -> executing -> executed (a lease that ends after the
    action's TTL) | failed.

    Right before the connector is called the guardrails decide again, in the same transaction
    that marks the row ``executing`` (see :func:`start_execution`): a row that changed
    meanwhile raises ``ActionConflict``; one the guard now denies never runs; an automatic one
    the guard now wants approved (the kill switch was turned off, a bound was reached) waits
    for a person instead.
    """
    row = start_execution(log, policy, row, connector.name, clock, recheck)
    if row.status != "executing":
        return row
    now = clock.now()
    try:
        result = connector.apply(row.action, row.target, row.idempotency_key, now)
    except ConnectorError as exc:
        now = clock.now()
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
    now = clock.now()
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


def start_execution(
    log: ActionLog,
    policy: Policy,
    row: ActionRow,
    connector_name: str,
    clock: Clock,
    recheck: Recheck,
) -> ActionRow:
    """In one transaction: re-read the row (it must still be as the caller saw it), let the
    guard decide again, and mark it ``executing``, ``denied``, ``failed`` or
    ``pending_approval`` accordingly (each with its audit record)."""
    with log.transaction() as conn:
        now = clock.now()
        current = log.get(row.id)
        if current is None or current.status != row.status:
            raise ActionConflict(
                row.id, row.status, current.status if current else None, "executing"
            )
        decision = recheck(current)
        refusal = refused_at_execution(current, decision)
        if refusal is not None:
            status, rule_id, reason = refusal
            return log.change(
                conn,
                current,
                status,
                kind="decision",
                actor="guardrails",
                now=now,
                payload={"phase": "execution check", "rule_id": rule_id, "reason": reason},
                rule_id=rule_id,
                reason=reason,
                **(
                    {"approval_due": _due(decision, policy, now)}
                    if status == "pending_approval"
                    else {"result": reason}
                    if status == "failed"
                    else {}
                ),
            )
        return log.change(
            conn,
            current,
            "executing",
            kind="action",
            actor="act",
            now=now,
            payload={"phase": "start", "connector": connector_name},
        )


def refused_at_execution(
    row: ActionRow, decision: Decision
) -> tuple[ActionStatus, str, str] | None:
    """Whether the guard's fresh decision stops this row now: (new status, rule id, reason),
    or None when it may run.

    A deny stops everything (an ``executing`` row resumed after a crash becomes ``failed``: it
    may have reached the connector). A row whose hash no longer matches its action and target
    was edited after the decision: denied. An automatic (``allowed``) row runs only on a fresh
    allow; a person's approval (``approved``) stands against anything short of a deny; a
    resumed row runs again only if it was allowed or approved by someone.
    """
    if decision.action_hash != row.idempotency_key:
        reason = "the action row does not match its hash (it was changed after the decision)"
        return (
            ("failed" if row.status == "executing" else "denied"),
            RuleId.EXECUTION_ROW_ALTERED.value,
            reason,
        )
    if decision.outcome == "deny":
        return (
            ("failed" if row.status == "executing" else "denied"),
            decision.rule_id,
            (decision.reason),
        )
    if decision.outcome == "allow":
        return None
    if row.status == "allowed":
        return "pending_approval", decision.rule_id, decision.reason
    if row.status == "executing" and not row.approved_by:
        return "failed", decision.rule_id, f"not resumed: {decision.reason}"
    return None


def _due(decision: Decision, policy: Policy, now: datetime) -> str | None:
    due = decision.approval_due(policy, now)
    return ts(due) if due else None


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
    """Undo every executed action whose lease has run out (one rolled back meanwhile by
    someone else is left to them)."""
    undone: list[ActionRow] = []
    for row in log.leases_due(now):
        try:
            undone.append(
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
            )
        except (ActionConflict, RollbackRefused):
            continue
    return undone
