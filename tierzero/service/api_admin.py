"""What auditors and administrators use: the audit trail, its export and verification,
evaluation reports, tokens, the kill switch and a policy reload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from tierzero.config import ConfigError
from tierzero.evals.report import list_reports, load_report, named_report
from tierzero.service.deps import Admin, Anyone, Auditor, CaseId, Reader, Running
from tierzero.service.runtime import ServiceError
from tierzero.store.sqlite import Store
from tierzero.store.tokens import Role, TokenError
from tierzero.usecases.actions import set_autonomy
from tierzero.usecases.audit import export_line, verify_store
from tierzero.usecases.errors import NotFound, Refused, usable_actor

router = APIRouter(prefix="/api")


class Autonomy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["on", "off"]
    reason: str = Field(min_length=1, max_length=1000)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    role: Role
    person: str | None = Field(default=None, max_length=100)


# -- audit ------------------------------------------------------------------------------------


@router.get("/audit/cases/{case_id}", tags=["audit"])
def case_trace(who: Auditor, service: Running, case_id: CaseId) -> list[dict[str, Any]]:
    """The case's decision trace: its audit records in order."""
    store = service.store()
    if store.case(case_id) is None:
        raise NotFound(f"no case {case_id!r}")
    return list(store.audit_records(case_id))


@router.get("/audit/export", tags=["audit"])
def export(
    who: Auditor, service: Running, case: Annotated[str | None, Query(max_length=64)] = None
) -> StreamingResponse:
    """Audit records as JSON lines (what ``tierzero audit verify --file`` checks)."""

    def lines() -> Iterator[str]:
        store = Store(service.db)  # its own connection: the stream outlives the handler
        try:
            for record in store.audit_records(case):
                yield export_line(record) + "\n"
        finally:
            store.close()

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@router.post("/audit/verify", tags=["audit"])
def verify(who: Auditor, service: Running) -> dict[str, Any]:
    """Verify the whole audit chain (hashes, links, MACs, the signed head) and the tables
    against a replay of it; a broken chain is ``ok: false`` with the first problem."""
    try:
        check = verify_store(service.store(), "the service's store", state=True)
    except Refused as exc:
        return {"ok": False, "problem": str(exc)}
    divergences = [d.describe() for d in check.divergences or ()]
    return {
        "ok": not divergences,
        "records": check.checked,
        "authenticated": check.authenticated,
        "anchored": check.anchored,
        "unsigned": check.unsigned,
        "divergences": divergences,
    }


# -- evaluation reports -------------------------------------------------------------------------


@router.get("/evaluations", tags=["evaluations"])
def list_evaluations(who: Reader, service: Running) -> list[dict[str, Any]]:
    """The reports ``tierzero eval run`` wrote under the reports folder, newest first."""
    return list_reports(service.reports)


@router.get("/evaluations/{name}", tags=["evaluations"])
def read_report(
    who: Reader, service: Running, name: Annotated[str, Path(max_length=100)]
) -> dict[str, Any]:
    """One evaluation report (``report.json``) by its folder name."""
    folder = named_report(service.reports, name)
    if folder is None:
        raise NotFound(f"no evaluation report {name!r}")
    path = folder / "report.json"
    try:
        return load_report(path)
    except ValueError as exc:
        raise Refused(str(exc)) from None


# -- administration -----------------------------------------------------------------------------


@router.get("/whoami", tags=["administration"])
def whoami(who: Anyone) -> dict[str, Any]:
    """The token's name, role and person."""
    return {"name": who.name, "role": who.role, "person": who.person}


@router.put("/autonomy", tags=["administration"])
def autonomy(who: Admin, service: Running, body: Autonomy) -> dict[str, Any]:
    """The kill switch: 'off' sends every action to approval (audited with the reason)."""
    on = set_autonomy(service.store(), body.state, who.person, body.reason, service.clock.now())
    return {"autonomy": "on" if on else "off"}


@router.post("/policy/reload", tags=["administration"])
def reload_policy(who: Admin, service: Running) -> dict[str, Any]:
    """Read the configuration folder again; a broken one is refused and nothing changes."""
    try:
        fresh = service.reload_settings(who.actor)
    except ConfigError as exc:
        raise ServiceError(422, f"configuration refused, nothing changed: {exc}") from None
    return fresh.versions()


@router.get("/tokens", tags=["administration"])
def list_tokens(who: Admin, service: Running) -> list[dict[str, Any]]:
    """Every token's name, role, person, creation and revocation (never the token)."""
    return [t.__dict__ for t in service.store().tokens()]


@router.post("/tokens", tags=["administration"], status_code=201)
def create_token(who: Admin, service: Running, body: NewToken) -> dict[str, Any]:
    """A new token, returned once (only its hash is kept)."""
    try:
        token = service.store().create_token(
            usable_actor(body.name),
            body.role,
            who.actor,
            service.clock.now(),
            usable_actor(body.person) if body.person else None,
        )
    except TokenError as exc:
        raise Refused(str(exc)) from None
    return {"name": body.name, "role": body.role, "token": token}


@router.delete("/tokens/{name}", tags=["administration"])
def revoke_token(
    who: Admin, service: Running, name: Annotated[str, Path(max_length=100)]
) -> dict[str, Any]:
    """Revoke a token: refused from the next request on."""
    try:
        service.store().revoke_token(name, who.actor, service.clock.now())
    except TokenError as exc:
        raise Refused(str(exc)) from None
    return {"revoked": name}
