"""``POST /api/alerts``: alerts pushed by SIEMs, EDRs and scripts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from tierzero.service.deps import Ingest, Running
from tierzero.service.runtime import Service, ServiceError
from tierzero.store.intake import IntakeAnswer
from tierzero.usecases.errors import Refused
from tierzero.usecases.intake import Push, accept_push

router = APIRouter(prefix="/api", tags=["intake"])


@router.post("/alerts", status_code=202)
async def push_alerts(request: Request, who: Ingest, service: Running) -> JSONResponse:
    """Alerts as a JSON object, a JSON list, JSON lines or a vendor envelope (Graph's
    ``{"value": [...]}``, GuardDuty's ``{"findings": [...]}``, an EventBridge event); each
    record finds its adapter. 202 means every record is stored (committed): the answer lists
    per record ``stored``, ``duplicate`` or ``quarantined`` with the reason. An
    ``Idempotency-Key`` header makes a retry a no-op that gets the first answer again."""
    return await _intake(request, who.name, "auto", service)


@router.post("/alerts/{source}", status_code=202)
async def push_source_alerts(
    request: Request, who: Ingest, service: Running, source: str
) -> JSONResponse:
    """As ``POST /api/alerts``, every record read by the adapter ``source`` names."""
    return await _intake(request, who.name, source, service)


async def _intake(request: Request, token: str, source: str, service: Service) -> JSONResponse:
    body = await bounded_body(request, service.settings.service.max_body_bytes)
    push = Push(body, token, source, request.headers.get("idempotency-key"))

    def accept() -> IntakeAnswer:  # in a pool thread, on that thread's connection
        return accept_push(push, service.store(), service.settings, service.clock.now())

    try:
        answer = await run_in_threadpool(accept)
    except Refused:
        service.metrics.requests.labels("refused").inc()
        raise
    service.metrics.intake(answer)
    service.correlator.wake.set()
    return JSONResponse(answer.as_json(), 202)


async def bounded_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 past ``limit`` bytes (read no further)."""
    too_big = ServiceError(413, f"body over {limit} bytes (max_body_bytes in service.yaml)")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)
