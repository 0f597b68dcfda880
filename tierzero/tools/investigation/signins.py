"""An account's sign-in activity as alerts saw it, with the identity's usual countries
(``signin_history``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import Field

from tierzero.correlate.entities import entity_key
from tierzero.ingest.alert import Alert, EntityKind
from tierzero.store.alerts import MAX_CASE_ALERTS
from tierzero.tools.investigation.arguments import UserArg
from tierzero.tools.investigation.sources import alert_source, alerts_on_keys, index_keys
from tierzero.tools.investigation.views import PER_KIND, Trimmer, View
from tierzero.tools.registry import REGISTRY, ToolContext, ToolError

SIGNIN_FETCH = 500  # alerts read per account key
SIGNIN_EVENTS = 100


Outcome = Literal["success", "failure", "challenge", "unknown"]


class SigninEvent(View):
    alert_id: str
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


def _outcome(alert: Alert) -> Outcome:
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
    country, whether the country is usual. Only alerted sign-ins are here, not every sign-in.

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
    truncated = len(found) >= SIGNIN_FETCH or len(events) > SIGNIN_EVENTS
    events = events[-SIGNIN_EVENTS:]
    identity = ctx.inventory.identity(user)
    usual = tuple(c.upper() for c in identity.usual_countries) if identity else ()
    cases = source.cases_of([a.id for a, _ in events])
    out: list[SigninEvent] = []
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
                outcome=_outcome(alert),
                src_ip=cut.opt(ip, 64),
                country=cut.opt(country, 64),
                usual_country=(
                    country.upper() in usual
                    if identity is not None and country and len(country) == 2
                    else None
                ),
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
        events=tuple(out),
        truncated=truncated,
    )
