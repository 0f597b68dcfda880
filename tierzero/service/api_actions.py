"""Approvals and actions: what waits for a person, answering it, and undoing what ran."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from tierzero.service.access import Principal
from tierzero.service.deps import ActionId, Approver, Reader, RollingBack, Running
from tierzero.service.runtime import Service
from tierzero.usecases.actions import rollback_action
from tierzero.usecases.approvals import answer_pending

router = APIRouter(prefix="/api")


class Reason(BaseModel):
    """Why: audited with the person the token belongs to."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


@router.get("/approvals", tags=["approvals"])
def list_approvals(who: Reader, service: Running) -> dict[str, Any]:
    """Every action waiting for a person, with its due time. Read only: the timer expires
    what is due (within ``timer_interval_seconds``), and an answer to a request past its due
    time is refused as expired, so a reader never waits for the store's writer."""
    now = service.clock.now()
    pending = []
    for row in service.store().actions.pending():
        due = row.due()
        left = None if due is None else max(int((due - now).total_seconds()), 0)
        pending.append({**row.as_json(), "seconds_left": left})
    return {"pending": pending}


@router.post("/approvals/{action_id}/approve", tags=["approvals"])
def approve(who: Approver, service: Running, action_id: ActionId, body: Reason) -> dict[str, Any]:
    """Approve a pending action as the token's person (never their own request): it runs
    at once if the guardrails, deciding again, still allow it."""
    return _answer(service, who, action_id, True, body)


@router.post("/approvals/{action_id}/deny", tags=["approvals"])
def deny(who: Approver, service: Running, action_id: ActionId, body: Reason) -> dict[str, Any]:
    """Deny a pending action as the token's person."""
    return _answer(service, who, action_id, False, body)


def _answer(
    service: Service, who: Principal, action_id: int, approved: bool, body: Reason
) -> dict[str, Any]:
    row = answer_pending(
        service.store(),
        service.settings,
        action_id,
        approved=approved,
        approver=who.person,
        reason=body.reason,
        now=service.clock.now(),
    )
    return row.as_json()


@router.get("/actions", tags=["actions"])
def list_actions(
    who: Reader, service: Running, case: Annotated[str | None, Query(max_length=64)] = None
) -> list[dict[str, Any]]:
    """Every proposed action with its status and the rule that decided it."""
    return [r.as_json() for r in service.store().actions.rows(case)]


@router.post("/actions/{action_id}/rollback", tags=["actions"])
def rollback(
    who: RollingBack, service: Running, action_id: ActionId, body: Reason
) -> dict[str, Any]:
    """Undo an executed action through its inverse, as the token's person."""
    row = rollback_action(
        service.store(), service.settings, action_id, who.person, body.reason, service.clock.now()
    )
    return row.as_json()
