"""Where the investigation tools read: the alert store and the case in scope, both from the
injected :class:`~tierzero.tools.registry.ToolContext`, and how an entity is searched there."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from tierzero.ingest.alert import Alert
from tierzero.tools.registry import AlertSource, ToolContext, ToolError


def alert_source(ctx: ToolContext) -> AlertSource:
    """The run's alert store; ToolError when there is none."""
    if ctx.alerts is None:
        raise ToolError("no alert store is available in this run")
    return ctx.alerts


def case_in_scope(ctx: ToolContext) -> str:
    """The id of the case under investigation; ToolError when no case is in scope."""
    if ctx.case_id is None:
        raise ToolError("no case is in scope for this call")
    return ctx.case_id


def index_keys(key: str, domains: Sequence[str]) -> list[str]:
    """The keys the store indexes an entity under (it keys with no internal domains).

    An internal account is ``user:name`` in correlation but may sit in the index as
    ``email:name@internal.domain`` too, so both are searched.
    """
    kind, _, value = key.partition(":")
    if kind not in ("user", "email"):
        return [key]
    if "@" in value:
        return [key]
    return [key, *(f"email:{value}@{d}" for d in domains)]


def alerts_on_keys(
    source: AlertSource, keys: Iterable[str], since: datetime, until: datetime, limit: int
) -> list[Alert]:
    """Alerts on any of the keys in the range, oldest first, deduplicated, at most ``limit``."""
    found: dict[str, Alert] = {}
    for key in keys:
        for alert in source.alerts_on_entity(key, since, until, limit):
            found.setdefault(alert.id, alert)
    return sorted(found.values(), key=lambda a: (a.time, a.id))[:limit]
