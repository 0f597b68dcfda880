"""The web console's pages, served by ``tierzero serve`` at ``/``: sign-in, the queue, a case,
the approvals inbox. Server-rendered (Jinja2, autoescaped), working without JavaScript; htmx
(vendored, see ``static/VENDORED.md``) refreshes the queue in place, and ``console.js`` counts
time left down. Every change is a form post with the session's CSRF secret, answered by a
redirect back (post/redirect/get) with a one-time note.

What a page shows and which buttons it has follow the signed-in person's role; the use cases
it calls check again (an approver's own request is refused by the approval gate, not only
hidden).
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi import Path as FastApiPath
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from tierzero.agents.chat import CaseNotFound
from tierzero.evals.render import CONFUSION_PNG, DETECTIONS_PNG, TOKENS_PNG
from tierzero.evals.report import list_reports, named_report
from tierzero.service.api_cases import chat_reply, chat_stream
from tierzero.service.console.security import (
    SESSION_COOKIE,
    Forbidden,
    SignInNeeded,
    Visitor,
    require,
    require_form,
    same_site,
)
from tierzero.service.console.views import (
    FILTERS,
    PRIORITIES,
    STATUSES,
    VERDICTS,
    approvals_view,
    case_view,
    duration,
    operations_view,
    queue_view,
    when,
)
from tierzero.service.deps import CaseId, Running
from tierzero.service.runtime import Service, ServiceError
from tierzero.store.resolutions import RESOLUTION_VERDICTS
from tierzero.usecases.actions import rollback_action, set_autonomy
from tierzero.usecases.approvals import answer_pending
from tierzero.usecases.audit import verify_store
from tierzero.usecases.cases import resolve_case, similar_cases
from tierzero.usecases.errors import NotFound, Refused

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.autoescape = True  # every value, whatever the file name
templates.env.filters["words"] = lambda value: str(value or "").replace("_", " ")
templates.env.filters["when"] = when
templates.env.filters["duration"] = duration
SESSION_HOURS = 12
CHARTS = (CONFUSION_PNG, DETECTIONS_PNG, TOKENS_PNG)
router = APIRouter(include_in_schema=False)

Text = Annotated[str, Form(max_length=1000)]
Csrf = Annotated[str, Form(max_length=200)]


class Notes:
    """One-time notes shown on the page a form post redirects to, per session (kept in
    memory, at most ``keep`` sessions' worth): never taken from the URL, so a crafted link
    cannot put words on the page."""

    def __init__(self, keep: int = 1000) -> None:
        self._notes: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.keep = keep

    def put(self, request: Request, kind: str, text: str) -> None:
        with self._lock:
            self._notes[request.cookies.get(SESSION_COOKIE, "")] = (kind, text)
            while len(self._notes) > self.keep:
                self._notes.popitem(last=False)

    def take(self, request: Request) -> tuple[str, str] | None:
        with self._lock:
            return self._notes.pop(request.cookies.get(SESSION_COOKIE, ""), None)


NOTES = Notes()


def render(
    request: Request, name: str, visitor: Visitor | None, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page, with who is signed in, their CSRF secret and the one-time note, if any (a
    fragment, ``_name.html``, leaves the note for the page it is loaded into)."""
    note = NOTES.take(request) if visitor is not None and not name.startswith("_") else None
    return templates.TemplateResponse(
        request, name, {"me": visitor, "note": note, **context}, status_code=status
    )


def back(to: str) -> RedirectResponse:
    return RedirectResponse(to, status_code=303)


_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9/_.~%=&?#-]*")


def _local(path: str) -> str:
    """Only a path on this site (``/x``), never ``//host``, ``/\\host`` or a URL: else the
    queue (a sign-in link must not send anyone elsewhere)."""
    return path if _LOCAL_PATH.fullmatch(path) else "/queue"


# -- signing in and out ---------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, service: Running) -> Response:
    try:
        require(service, request, None)
    except SignInNeeded:
        return back("/sign-in")
    return back("/queue")


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(
    request: Request, next: Annotated[str, Query(max_length=500)] = "/queue"
) -> Response:
    return render(request, "sign_in.html", None, next=_local(next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    service: Running,
    token: Annotated[str, Form(max_length=300)],
    next: Annotated[str, Form(max_length=500)] = "/queue",
) -> Response:
    """Check the token like any API request (a wrong one is audited and rate-limited per
    address), then open a session: the browser keeps only the session id."""
    if not same_site(request):
        return render(request, "sign_in.html", None, 403, error="refused: cross-site sign-in")
    address = request.client.host if request.client else "unknown"
    try:
        who = service.authorize(f"Bearer {token.strip()}", None, route="/sign-in", address=address)
    except ServiceError as exc:
        return render(request, "sign_in.html", None, exc.status, error=str(exc), next=next)
    if who.role == "ingest":
        return render(
            request, "sign_in.html", None, 403, error="an ingest token pushes alerts only"
        )
    now = service.clock.now()
    session, _ = service.store().open_session(who.name, now, timedelta(hours=SESSION_HOURS))
    service.store().audit(
        "access", who.actor, {"event": "console sign-in", "address": address}, None, now
    )
    response = back(_local(next))
    response.set_cookie(
        SESSION_COOKIE,
        session,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/sign-out")
def sign_out(request: Request, service: Running, csrf: Csrf = "") -> Response:
    require_form(service, request, None, csrf)
    service.store().close_session(request.cookies.get(SESSION_COOKIE, ""))
    response = back("/sign-in")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- the queue -------------------------------------------------------------------------------


def _filters(request: Request) -> dict[str, str]:
    return {
        name: value[:120]
        for name in FILTERS
        if (value := request.query_params.get(name, "").strip())
    }


@router.get("/queue", response_class=HTMLResponse)
def queue(
    request: Request, service: Running, page: Annotated[int, Query(ge=1, le=10**6)] = 1
) -> Response:
    visitor = require(service, request, "read_cases")
    view = queue_view(service.store(), _filters(request), page, service.clock.now())
    return render(
        request,
        "queue.html",
        visitor,
        view=view,
        query=urlencode(view.filters),
        statuses=STATUSES,
        priorities=PRIORITIES,
        verdicts=VERDICTS,
    )


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(
    request: Request, service: Running, page: Annotated[int, Query(ge=1, le=10**6)] = 1
) -> Response:
    """The queue's rows alone: what htmx swaps in every few seconds."""
    visitor = require(service, request, "read_cases")
    view = queue_view(service.store(), _filters(request), page, service.clock.now())
    return render(request, "_queue_rows.html", visitor, view=view)


# -- a case ----------------------------------------------------------------------------------


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(request: Request, service: Running, case_id: CaseId) -> Response:
    visitor = require(service, request, "read_cases")
    store = service.store()
    try:
        view = case_view(store, case_id, service.clock.now())
    except NotFound as exc:
        return render(request, "error.html", visitor, 404, error=str(exc))
    trace = list(store.audit_records(case_id))[-200:] if visitor.may("read_audit") else []
    return render(
        request,
        "case.html",
        visitor,
        case=view,
        trace=trace,
        resolution_verdicts=RESOLUTION_VERDICTS,
    )


@router.get("/cases/{case_id}/similar", response_class=HTMLResponse)
def similar(request: Request, service: Running, case_id: CaseId) -> Response:
    """Concluded past cases most like this one (the similar-case memory), as a fragment the
    case page loads after it is shown (the memory may take a moment to open)."""
    visitor = require(service, request, "read_cases")
    try:
        found = similar_cases(service.store(), service.settings, case_id, 5)
        return render(request, "_similar.html", visitor, found=found, error=None)
    except (NotFound, Refused) as exc:
        return render(request, "_similar.html", visitor, found=None, error=str(exc))


@router.post("/cases/{case_id}/resolve")
def resolve(
    request: Request,
    service: Running,
    case_id: CaseId,
    verdict: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=4000)] = "",
    csrf: Csrf = "",
) -> Response:
    visitor = require_form(service, request, "analyse", csrf)
    try:
        done = resolve_case(
            service.store(),
            service.settings,
            case_id,
            verdict,
            visitor.principal.person,
            note,
            service.clock.now(),
        )
        NOTES.put(request, "ok", f"{case_id} resolved as {done.verdict}")
    except (NotFound, Refused) as exc:
        NOTES.put(request, "error", str(exc))
    return back(f"/cases/{case_id}")


@router.post("/cases/{case_id}/verify")
def verify(request: Request, service: Running, case_id: CaseId, csrf: Csrf = "") -> Response:
    """Verify the audit chain (hashes, links, signatures, the signed head) and that the
    tables are what it replays to; the result is the page's note."""
    require_form(service, request, "read_audit", csrf)
    try:
        check = verify_store(service.store(), "the service's store", state=True)
        problems = len(check.divergences or ())
        text = (
            f"audit verified: {check.checked} records intact"
            + (", signed" if check.authenticated else ", not signed (no audit key)")
            + ("; the tables match the audit" if not problems else f"; {problems} divergences")
        )
        NOTES.put(request, "ok" if not problems else "error", text)
    except Refused as exc:
        NOTES.put(request, "error", f"audit verification failed: {exc}")
    return back(f"/cases/{case_id}#trace")


@router.post("/cases/{case_id}/chat")
def chat(
    request: Request,
    service: Running,
    case_id: CaseId,
    message: Annotated[str, Form(min_length=1, max_length=2000)],
    csrf: Csrf = "",
) -> Response:
    """Ask the investigation agent, as the signed-in person. ``console.js`` asks for the
    answer as a stream (server-sent events, as the API's chat); without JavaScript the form
    waits for the whole answer and shows it as the page's note."""
    visitor = require_form(service, request, "analyse", csrf)
    if "text/event-stream" in request.headers.get("accept", ""):
        return chat_stream(service, case_id, visitor.principal.person, message)
    try:
        reply = chat_reply(service, service.store(), case_id, visitor.principal.person, message)
        NOTES.put(request, "ok", f"tierzero ({reply.answered_by}): {reply.text}")
    except (NotFound, Refused, CaseNotFound) as exc:
        NOTES.put(request, "error", str(exc))
    return back(f"/cases/{case_id}#chat")


@router.post("/actions/{action_id}/rollback")
def rollback(
    request: Request,
    service: Running,
    action_id: int,
    reason: Text = "rolled back from the console",
    csrf: Csrf = "",
    case_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    visitor = require_form(service, request, "rollback", csrf)
    try:
        row = rollback_action(
            service.store(),
            service.settings,
            action_id,
            visitor.principal.person,
            reason or "rolled back from the console",
            service.clock.now(),
        )
        NOTES.put(request, "ok", f"action {row.id} {row.action} {row.target}: {row.status}")
    except (NotFound, Refused) as exc:
        NOTES.put(request, "error", str(exc))
    return back(f"/cases/{case_id}" if case_id else "/queue")


# -- operations and the kill switch ---------------------------------------------------------


@router.get("/operations", response_class=HTMLResponse)
def operations(request: Request, service: Running) -> Response:
    visitor = require(service, request, "read_cases")
    ops = operations_view(service.store(), service.metrics.model_use)
    return render(request, "operations.html", visitor, ops=ops)


@router.post("/operations/autonomy")
def autonomy(
    request: Request,
    service: Running,
    state: Annotated[str, Form(max_length=3)],
    reason: Text,
    confirm: Annotated[str, Form(max_length=10)] = "",
    csrf: Csrf = "",
) -> Response:
    """The kill switch (admins): 'off' sends every action to a person. The form asks for a
    reason and an explicit confirmation; both are audited with the person."""
    visitor = require_form(service, request, "administer", csrf)
    if confirm != "yes":
        NOTES.put(request, "error", "not switched: tick the confirmation first")
        return back("/operations")
    try:
        on = set_autonomy(
            service.store(), state, visitor.principal.person, reason, service.clock.now()
        )
        NOTES.put(
            request,
            "ok",
            "autonomy on: allowed actions run automatically"
            if on
            else "autonomy off: every action now waits for a person",
        )
    except Refused as exc:
        NOTES.put(request, "error", str(exc))
    return back("/operations")


# -- evaluation reports ----------------------------------------------------------------------


@router.get("/evaluations", response_class=HTMLResponse)
def evaluations(request: Request, service: Running) -> Response:
    visitor = require(service, request, "read_cases")
    return render(request, "evaluations.html", visitor, reports=list_reports(service.reports))


@router.get("/evaluations/{name}", response_class=HTMLResponse)
def evaluation(
    request: Request, service: Running, name: Annotated[str, FastApiPath(max_length=100)]
) -> Response:
    """One report: its summary (``report.md``, shown as text: the report escapes it for
    Markdown, and the console never renders Markdown) and its charts."""
    visitor = require(service, request, "read_cases")
    folder = named_report(service.reports, name)
    if folder is None:
        return render(request, "error.html", visitor, 404, error=f"no evaluation report {name!r}")
    summary = folder / "report.md"
    return render(
        request,
        "evaluation.html",
        visitor,
        report=name,
        summary=summary.read_text("utf-8", "replace") if summary.is_file() else "",
        charts=[c for c in CHARTS if (folder / c).is_file()],
    )


@router.get("/evaluations/{name}/{chart}")
def evaluation_chart(
    request: Request,
    service: Running,
    name: Annotated[str, FastApiPath(max_length=100)],
    chart: Annotated[str, FastApiPath(max_length=40)],
) -> Response:
    """One of a report's charts (only the three it writes, by their fixed names)."""
    require(service, request, "read_cases")
    folder = named_report(service.reports, name)
    if folder is None or chart not in CHARTS or not (folder / chart).is_file():
        return Response(status_code=404)
    return FileResponse(folder / chart, media_type="image/png")


# -- approvals -------------------------------------------------------------------------------


@router.get("/approvals", response_class=HTMLResponse)
def approvals(request: Request, service: Running) -> Response:
    visitor = require(service, request, "read_cases")
    pending = approvals_view(
        service.store(), service.settings, service.clock.now(), visitor.principal.person
    )
    return render(request, "approvals.html", visitor, pending=pending)


@router.post("/approvals/{action_id}/{answer}")
def answer(
    request: Request,
    service: Running,
    action_id: int,
    answer: str,
    reason: Text,
    csrf: Csrf = "",
) -> Response:
    visitor = require_form(service, request, "approve", csrf)
    if answer not in ("approve", "deny"):
        return render(request, "error.html", visitor, 404, error="answer approve or deny")
    try:
        row = answer_pending(
            service.store(),
            service.settings,
            action_id,
            approved=answer == "approve",
            approver=visitor.principal.person,
            reason=reason,
            now=service.clock.now(),
        )
        NOTES.put(request, "ok", f"action {row.id} {row.action} {row.target}: {row.status}")
    except (NotFound, Refused) as exc:
        NOTES.put(request, "error", str(exc))
    return back("/approvals")


def install(app: FastAPI, service: Service) -> None:
    """Add the console to the service's application: pages, static files, error pages, and
    the endpoint browsers send Content-Security-Policy violation reports to."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.post("/csp-report", include_in_schema=False)
    async def csp_report(request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        if service.limiter.take(f"csp-report:{address}"):
            return Response(status_code=429)  # reports are kept and logged: not a flood
        body = await request.body()
        try:
            report = json.loads(body[:65536] or b"{}")
        except ValueError:
            report = {"unreadable": body[:200].decode("utf-8", "replace")}
        service.csp_reports.add(report if isinstance(report, dict) else {"report": report})
        return Response(status_code=204)

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, _: SignInNeeded) -> Response:
        return back("/sign-in?" + urlencode({"next": request.url.path}))

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return render(request, "error.html", None, 403, error=str(exc))
