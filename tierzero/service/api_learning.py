"""Learned suppressions through the API: the same use cases as ``tierzero suppressions``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from tierzero.service.deps import Admin, Reader, Running
from tierzero.store.learning import Suppression
from tierzero.usecases.errors import NotFound
from tierzero.usecases.learning import (
    approve_suppression,
    expire_suppression,
    reject_suppression,
    suppression_rows,
)

router = APIRouter(prefix="/api")
RuleId = Annotated[str, Path(pattern=r"^S-[0-9]{1,9}$", description="A rule id, e.g. S-3")]


class Answer(BaseModel):
    """Why: audited with the person the token belongs to."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=1000)


@router.get("/suppressions", tags=["learning"])
def list_suppressions(
    who: Reader, service: Running, everything: Annotated[bool, Query(alias="all")] = False
) -> list[dict[str, Any]]:
    """Proposed and approved rules (``?all=true``: also rejected, expired, disabled), each
    with its phase, the verdicts it was learned from, and the cases it closed."""
    return suppression_rows(service.store(), service.clock.now(), everything)


@router.get("/suppressions/{rule}", tags=["learning"])
def show_suppression(who: Reader, service: Running, rule: RuleId) -> dict[str, Any]:
    """One rule, with its evidence and counts."""
    for row in suppression_rows(service.store(), service.clock.now(), True):
        if row["id"] == rule:
            return row
    raise NotFound(f"no suppression {rule}")


@router.post("/suppressions/{rule}/approve", tags=["learning"])
def approve(who: Admin, service: Running, rule: RuleId, body: Answer) -> dict[str, Any]:
    """Approve a proposal as the token's person (never its only teacher): shadow, then in
    force until it expires."""
    done = approve_suppression(
        service.store(),
        service.settings,
        _number(rule),
        who.person,
        body.reason,
        service.clock.now(),
    )
    return _answered(done)


@router.post("/suppressions/{rule}/reject", tags=["learning"])
def reject(who: Admin, service: Running, rule: RuleId, body: Answer) -> dict[str, Any]:
    """Reject a proposal as the token's person."""
    done = reject_suppression(
        service.store(), _number(rule), who.person, body.reason, service.clock.now()
    )
    return _answered(done)


@router.post("/suppressions/{rule}/expire", tags=["learning"])
def expire(who: Admin, service: Running, rule: RuleId, body: Answer) -> dict[str, Any]:
    """End a proposal or an approved rule now, as the token's person."""
    done = expire_suppression(
        service.store(), _number(rule), who.person, body.reason, service.clock.now()
    )
    return _answered(done)


def _number(rule: str) -> int:
    return int(rule.removeprefix("S-"))


def _answered(rule: Suppression) -> dict[str, Any]:
    return {
        "id": f"S-{rule.id}",
        "status": rule.status,
        "answered_by": rule.answered_by,
        "shadow_until": rule.shadow_until,
        "expires_at": rule.expires_at,
    }
