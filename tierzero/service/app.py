"""The ``tierzero serve`` application: the API under ``/api/``, ``/health``, ``/metrics`` and the
OpenAPI document (``/openapi.json``, browsable at ``/docs``), on the same use cases the command
line calls.

FastAPI (on Starlette, served by uvicorn) gives the routing, request validation, OpenAPI and
streaming; everything tierzero decides stays in ``tierzero.usecases``. Handlers that touch the
store are plain functions run in the server's thread pool, each thread on its own connection.
The MCP server (:mod:`.mcp_server`) answers at ``/mcp`` on the same tokens; it is not part of
the OpenAPI document.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from tierzero.service import api_actions, api_admin, api_cases, api_intake, api_learning
from tierzero.service.body_limit import BodyLimit
from tierzero.service.console import pages as console
from tierzero.service.console.security import security_headers
from tierzero.service.deps import Running
from tierzero.service.mcp_server import MCP_PATH, mcp_endpoint
from tierzero.service.runtime import Service, ServiceError
from tierzero.usecases.errors import NotFound, Refused
from tierzero.usecases.intake import TooManyRecords

__all__ = ["Service", "create_app"]


def create_app(service: Service) -> FastAPI:
    """The ASGI application of ``service`` (its workers start and stop with the app)."""
    mcp = mcp_endpoint(service)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        try:
            async with mcp.running():  # the MCP transport's tasks live as long as the app
                yield
        finally:
            await run_in_threadpool(service.stop)

    app = FastAPI(
        title="tierzero",
        summary="The automated tier of a SOC: alert intake, cases, approvals, actions, audit.",
        version="1",
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_middleware(BodyLimit)  # before routing: no body is held past its bound unread
    app.middleware("http")(security_headers)
    for module in (api_intake, api_cases, api_actions, api_learning, api_admin):
        app.include_router(module.router)
    console.install(app, service)  # the web console at /
    # A plain route (not a mount, which would answer only under /mcp/), outside the OpenAPI.
    app.router.routes.append(Route(MCP_PATH, mcp.app, name="mcp", include_in_schema=False))

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, exc.status, headers=exc.headers)

    @app.exception_handler(Refused)
    async def refused(_: Request, exc: Refused) -> JSONResponse:
        if isinstance(exc, TooManyRecords):
            status = 413
        elif isinstance(exc, NotFound):
            status = 404
        else:
            status = 400 if exc.usage else 409
        return JSONResponse({"error": str(exc)}, status)

    @app.middleware("http")
    async def timed(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        service.metrics.latency.labels(route).observe(time.perf_counter() - started)
        return response

    @app.get("/health", tags=["operations"])
    def health(running: Running) -> JSONResponse:
        """200 when the store answers and the workers are alive, 503 otherwise (no token)."""
        ok, detail = running.healthy()
        return JSONResponse({"status": "ok" if ok else "unhealthy", **detail}, 200 if ok else 503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    def metrics(running: Running) -> Response:
        """Prometheus text: intake, cases, queue, approvals, actions, model use (no token)."""
        text = generate_latest(running.metrics.registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)

    return app
