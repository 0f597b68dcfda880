"""The console's defences: every alert field is attacker-controlled, and the console is a page
people keep open while signed in.

- **Headers** on every answer of the service (the API's too): a Content-Security-Policy that
  allows scripts and styles from the service itself only (no inline script, no inline style,
  no ``eval``), no framing (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), no
  MIME sniffing, no referrer sent to other sites. Violations are reported to ``/csp-report``
  and kept (:class:`tierzero.service.csp.CspReports`). FastAPI's ``/docs`` page, which needs
  inline script, is the only page without the policy.
- **Sessions**: signing in with an API token opens a server-side session; the browser holds
  only a random id in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure`` over HTTPS).
- **CSRF**: every form that changes something carries the session's own CSRF secret, checked
  in constant time, and a request whose ``Origin`` or ``Sec-Fetch-Site`` says it came from
  another site is refused before that.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response

from tierzero.service.access import Permission, Principal
from tierzero.service.runtime import Service

SESSION_COOKIE = "tierzero_session"
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "report-uri /csp-report",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# FastAPI's API browser is inline script from a CDN: it keeps FastAPI's own headers.
_UNGUARDED = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})


async def security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Middleware: the headers above on every answer but the API browser's."""
    response = await call_next(request)
    headers = {"X-Content-Type-Options": "nosniff"} if request.url.path in _UNGUARDED else HEADERS
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    return response


@dataclass(frozen=True)
class Visitor:
    """A signed-in person: who (the token's principal) and the session's CSRF secret."""

    principal: Principal
    csrf: str

    def may(self, permission: Permission) -> bool:
        return self.principal.may(permission)


class SignInNeeded(Exception):
    """No live session: the page answers with the sign-in form."""


class Forbidden(Exception):
    """A signed-in person whose role may not do this, or a request that failed a CSRF or
    same-origin check (the message says which)."""


def visitor_of(service: Service, request: Request) -> Visitor | None:
    """The signed-in person of the request's session cookie, if any."""
    session = request.cookies.get(SESSION_COOKIE, "")
    found = service.store().console_session(session, service.clock.now()) if session else None
    if found is None:
        return None
    token, csrf = found
    return Visitor(Principal(token.name, token.role, token.person), csrf)


def require(service: Service, request: Request, permission: Permission | None) -> Visitor:
    """The signed-in person, if their role has ``permission`` (None: any role)."""
    visitor = visitor_of(service, request)
    if visitor is None:
        raise SignInNeeded
    if permission is not None and not visitor.may(permission):
        raise Forbidden(f"the {visitor.principal.role} role may not do this")
    return visitor


def same_site(request: Request) -> bool:
    """False when the browser says the request came from another site: ``Sec-Fetch-Site``
    (sent by current browsers) other than same-origin or a typed URL, or an ``Origin`` that
    is not this service's (``null`` counts as foreign unless ``Sec-Fetch-Site`` vouches for
    the request). A client that sends neither is not a browser; the CSRF secret still
    guards every form."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None or (origin == "null" and fetch_site is not None):
        return True
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def require_form(
    service: Service, request: Request, permission: Permission | None, csrf: str
) -> Visitor:
    """The signed-in person posting a changing form, if their role has ``permission``; a
    post that is cross-site or lacks the session's CSRF secret is refused."""
    visitor = require(service, request, permission)
    if not same_site(request):
        raise Forbidden("refused: the request came from another site")
    if not hmac.compare_digest(csrf.encode(), visitor.csrf.encode()):
        raise Forbidden("refused: the form is stale or forged; reload the page and try again")
    return visitor
