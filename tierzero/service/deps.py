"""What a handler is given: the running service, and the token holder with the permission the
route needs. Declared at module level because FastAPI resolves handlers' annotations by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Path, Request

from tierzero.service.access import Permission, Principal
from tierzero.service.runtime import Service


def current_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def needs(permission: Permission | None) -> Callable[[Request], Principal]:
    """A dependency: the request's token holder, if their role has ``permission`` (None: any
    valid token)."""

    def check(request: Request) -> Principal:
        return current_service(request).principal(request, permission)

    return check


Running = Annotated[Service, Depends(current_service)]
Anyone = Annotated[Principal, Depends(needs(None))]
Ingest = Annotated[Principal, Depends(needs("ingest"))]
Reader = Annotated[Principal, Depends(needs("read_cases"))]
Analyst = Annotated[Principal, Depends(needs("analyse"))]
Approver = Annotated[Principal, Depends(needs("approve"))]
RollingBack = Annotated[Principal, Depends(needs("rollback"))]
Auditor = Annotated[Principal, Depends(needs("read_audit"))]
Admin = Annotated[Principal, Depends(needs("administer"))]
CaseId = Annotated[str, Path(max_length=64)]
ActionId = Annotated[int, Path(ge=1, le=2**62)]
