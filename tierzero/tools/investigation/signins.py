"""An account's sign-in activity, alerted and routine, with the identity's usual countries
(``signin_history``), and the routine identity steps around a case (``case_identity_activity``).

Routine steps are the identity provider's events that were not alerts (a sign-in, a push
sent, a session started: see :mod:`tierzero.ingest.activity`); they are the context a
case needs (did the account sign in after rejecting the pushes, from where) and the baseline
an address is judged against (has this account signed in from it before).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field

from tierzero.correlate.entities import entity_key
from tierzero.ingest.activity import IdentityActivity
from tierzero.ingest.alert import Alert, EntityKind
from tierzero.store.alerts import MAX_CASE_ALERTS
from tierzero.store.identity_activity import ACTIVITY_HOURS
from tierzero.tools.investigation.arguments import UserArg
from tierzero.tools.investigation.sources import (
    alert_source,
    alerts_on_keys,
    case_in_scope,
    index_keys,
)
from tierzero.tools.investigation.views import PER_KIND, Trimmer, View
from tierzero.tools.registry import REGISTRY, ToolContext, ToolError

SIGNIN_FETCH = 500  # alerts read per account key
SIGNIN_EVENTS = 100
CASE_STEPS = 200  # routine identity steps shown around one case


Outcome = Literal["success", "failure", "challenge", "unknown"]


class SigninEvent(View):
    alert_id: str | None = Field(description="None: a routine step that was not an alert")
    case_id: str | None
    time: datetime
    source: str
    product: str
    title: str
    outcome: Outcome
    src_ip: str | None
    country: str | None
    usual_country: bool | None = Field(
        description="Country is one of the identity's usual ones; None: unknown or not an ISO code"
    )
    techniques: tuple[str, ...]
    matched_by: str = Field(description="Why this alert counts as authentication activity")
    known_ip: bool | None = Field(
        default=None,
        description="The account succeeded from this address earlier in the window; None: no "
        "address",
    )


class SigninHistory(View):
    user: str = Field(description="The account's normalized join key")
    since: datetime
    until: datetime
    identity_known: bool
    display_name: str | None
    privilege: str | None
    mfa: bool | None
    usual_countries: tuple[str, ...]
    events: tuple[SigninEvent, ...]
    truncated: bool


# tampering with authentication).
_SIGNIN_TECHNIQUES = frozenset({"T1078", "T1110", "T1621", "T1556"})
# Identity-provider event types (Okta System Log eventType) that are sign-in steps.
_SIGNIN_EVENT_PREFIXES = (
    "user.authentication.",
    "user.session.",
    "user.mfa.",
    "system.push.",
    "policy.evaluate_sign_on",
    "user.account.lock",
    "security.threat.detected",
)
_SIGNIN_WORDS = (
    "sign-in",
    "signin",
    "sign in",
    "logon",
    "log on",
    "login",
    "log-in",
    "authentication",
    "consolelogin",
    "mfa",
    "multi-factor",
    "travel",
    "password spray",
    "brute force",
)
_FAILURE_WORDS = ("fail", "denied", "deny", "reject", "invalid", "locked", "lockout")
_SUCCESS_WORDS = ("success", "succeeded")


def _signin_reason(alert: Alert) -> str | None:
    for technique in alert.techniques:
        if technique.split(".", 1)[0] in _SIGNIN_TECHNIQUES:
            return f"technique {technique}"
    event_type = alert.finding_info.analytic.uid or ""
    if alert.provenance.source == "okta" and event_type.startswith(_SIGNIN_EVENT_PREFIXES):
        return "identity provider sign-in event"
    text = " ".join((alert.title, *alert.finding_info.types)).lower()
    for word in _SIGNIN_WORDS:
        if word in text:
            return f"sign-in wording ({word})"
    return None


def signin_outcome(alert: Alert) -> Outcome:
    """Success, failure or challenge of a sign-in alert, from the provider's outcome or the
    alert's wording."""
    message = alert.message or ""
    if alert.provenance.source == "okta" and message.startswith("Outcome: "):
        # The adapter's rendering of Okta's own outcome.result.
        result = message.removeprefix("Outcome: ").split(" ", 1)[0].upper()
        if result == "SUCCESS":
            return "success"
        if result in ("FAILURE", "DENY"):
            return "failure"
        if result == "CHALLENGE":
            return "challenge"
    text = " ".join((alert.title, *alert.finding_info.types)).lower()
    if any(word in text for word in _FAILURE_WORDS):
        return "failure"
    if any(word in text for word in _SUCCESS_WORDS):
        return "success"
    return "unknown"


@REGISTRY.register(action_class="read")
def signin_history(
    ctx: ToolContext,
    user: UserArg,
    days: Annotated[int, Field(ge=1, le=30, description="Days to look back")] = 7,
) -> SigninHistory:
    """Sign-in activity of one account seen in alerts, oldest first, with the identity's usual
    countries, MFA and privilege from the inventory. Counted: alerts of identity-provider
    sign-in events, with techniques T1078, T1110, T1621 or T1556, or with sign-in wording,
    in the given days before this case's last alert (to one day after it, not past now).
    Each: time, product, title, outcome (success/failure/challenge/unknown), source IP,
    country, whether the country is usual, whether the account had succeeded from that
    address earlier in the window. Routine identity-provider steps that were not alerts
    (sign-ins, MFA pushes, sessions) are listed too, with no alert id.

    usual_country is decided only for ISO alpha-2 country values (the inventory's form).
    """
    source = alert_source(ctx)
    domains = ctx.inventory.internal_domains
    key = entity_key(EntityKind.USER, user, domains)
    if key is None:  # validated already; only a direct call reaches this
        raise ToolError("not a usable account name")
    # The case's first MAX_CASE_ALERTS alerts anchor the window (a flood is never all read).
    case_alerts = source.alerts_of_case(ctx.case_id, MAX_CASE_ALERTS) if ctx.case_id else []
    case_times = [a.time for a in case_alerts]
    anchor = max(case_times) if case_times else ctx.now
    if anchor is None:
        raise ToolError("no case time and no clock in this run to anchor the window")
    since = anchor - timedelta(days=days)
    until = anchor + timedelta(days=1)
    if ctx.now is not None and anchor <= ctx.now < until:
        until = ctx.now
    found = alerts_on_keys(source, index_keys(key, domains), since, until, SIGNIN_FETCH)
    events: list[tuple[Alert, str]] = []
    for alert in found:
        reason = _signin_reason(alert)
        if reason is not None:
            events.append((alert, reason))
    routine = source.activity_on_keys(index_keys(key, domains), since, until, SIGNIN_FETCH)
    truncated = (
        len(found) >= SIGNIN_FETCH
        or len(routine) >= SIGNIN_FETCH
        or len(events) + len(routine) > SIGNIN_EVENTS
    )
    identity = ctx.inventory.identity(user)
    usual = tuple(c.upper() for c in identity.usual_countries) if identity else ()
    cases = source.cases_of([a.id for a, _ in events])

    def usual_country(country: str | None) -> bool | None:
        if identity is None or not country or len(country) != 2:
            return None
        return country.upper() in usual

    out: list[SigninEvent] = [_routine_event(step, usual_country) for step in routine]
    for alert, reason in events:
        cut = Trimmer()
        endpoint = alert.src_endpoint
        ip = (endpoint.ip if endpoint else None) or next(
            (o.value for o in alert.observables if o.name == "src_endpoint.ip"), None
        )
        country = (endpoint.country if endpoint else None) or next(
            iter(alert.values(EntityKind.COUNTRY)), None
        )
        out.append(
            SigninEvent(
                alert_id=alert.id,
                case_id=cases.get(alert.id),
                time=alert.time,
                source=alert.provenance.source,
                product=cut.text(alert.metadata.product.name),
                title=cut.text(alert.title),
                outcome=signin_outcome(alert),
                src_ip=cut.opt(ip, 64),
                country=cut.opt(country, 64),
                usual_country=usual_country(country),
                techniques=cut.items(alert.techniques, PER_KIND),
                matched_by=reason,
            )
        )
    return SigninHistory(
        user=key,
        since=since,
        until=until,
        identity_known=identity is not None,
        display_name=identity.display_name if identity else None,
        privilege=identity.privilege if identity else None,
        mfa=identity.mfa if identity else None,
        usual_countries=usual,
        events=tuple(_with_known_ips(out)[-SIGNIN_EVENTS:]),
        truncated=truncated,
    )


def _routine_event(
    step: IdentityActivity, usual: Callable[[str | None], bool | None]
) -> SigninEvent:
    cut = Trimmer()
    result = (step.outcome or "").upper()
    # Success means the account got in: a push sent or a policy evaluated "succeeds" too.
    outcome: Outcome = (
        "success"
        if step.authenticated
        else "failure"
        if result in ("FAILURE", "DENY")
        else "challenge"
        if result == "CHALLENGE"
        else "unknown"
    )
    return SigninEvent(
        alert_id=None,
        case_id=None,
        time=step.time,
        source=step.source,
        product=step.source,
        title=cut.text(f"{step.summary} ({step.event_type})"),
        outcome=outcome,
        src_ip=step.ip,
        country=step.country,
        usual_country=usual(step.country),
        techniques=(),
        matched_by="routine identity-provider step (not an alert)",
    )


def _with_known_ips(events: list[SigninEvent]) -> list[SigninEvent]:
    """Oldest first, each marked with whether its address had a successful sign-in before it
    in the window (the account's own baseline of places)."""
    succeeded: set[str] = set()
    out = []
    for event in sorted(events, key=lambda e: (e.time, e.alert_id or "")):
        known = None if event.src_ip is None else event.src_ip in succeeded
        out.append(event.model_copy(update={"known_ip": known}))
        if event.src_ip is not None and event.outcome == "success":
            succeeded.add(event.src_ip)
    return out


class IdentityStep(View):
    """One routine identity-provider event of an account named by the case (not an alert)."""

    time: datetime
    source: str
    user: str
    event_type: str
    outcome: str | None
    src_ip: str | None
    country: str | None
    summary: str
    authenticated: bool = Field(
        description="The account got in (sign-in or MFA passed, session started)"
    )


class CaseIdentityActivity(View):
    hours: int
    steps: tuple[IdentityStep, ...]
    truncated: bool


@REGISTRY.register(action_class="read")
def case_identity_activity(
    ctx: ToolContext,
    hours: Annotated[
        int, Field(ge=1, le=24, description="Hours either side of each of the case's alerts")
    ] = ACTIVITY_HOURS,
) -> CaseIdentityActivity:
    """Routine identity-provider steps (sign-ins, MFA pushes and answers, sessions: events
    that were not alerts) of the accounts this case's alerts name, within the given hours of
    one of those alerts, oldest first. Shows what an account did around the alerts, e.g. a
    successful sign-in right after rejected pushes."""
    source = alert_source(ctx)
    case_id = case_in_scope(ctx)
    found = source.case_activity(case_id, timedelta(hours=hours), CASE_STEPS + 1)
    cut = Trimmer()
    steps = tuple(
        IdentityStep(
            time=step.time,
            source=step.source,
            user=cut.text(step.user),
            event_type=cut.text(step.event_type),
            outcome=step.outcome,
            src_ip=step.ip,
            country=step.country,
            summary=cut.text(step.summary),
            authenticated=step.authenticated,
        )
        for step in found[:CASE_STEPS]
    )
    return CaseIdentityActivity(
        hours=hours, steps=steps, truncated=cut.cut or len(found) > CASE_STEPS
    )
