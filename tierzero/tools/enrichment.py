"""Read-only enrichment tools over the local inventory (assets, identities, windows, intel)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import Field

from tierzero.tools.inventory import Asset, Identity, Indicator, MaintenanceWindow, Scanner
from tierzero.tools.registry import REGISTRY, ToolContext

HostName = Annotated[str, Field(min_length=1, max_length=255, description="Host name or IP")]
UserName = Annotated[
    str, Field(min_length=1, max_length=320, description="Account name, DOMAIN\\user or UPN")
]
When = Annotated[datetime, Field(description="Time to evaluate at (ISO 8601 with zone)")]


@REGISTRY.register(action_class="read")
def lookup_asset(ctx: ToolContext, host: HostName) -> Asset | None:
    """Asset record for a host name or IP: owner, business unit, criticality, environment."""
    return ctx.inventory.asset(host)


@REGISTRY.register(action_class="read")
def lookup_identity(ctx: ToolContext, user: UserName) -> Identity | None:
    """Identity record for an account: role, privilege, MFA, last password change."""
    return ctx.inventory.identity(user)


@REGISTRY.register(action_class="read")
def maintenance_windows(ctx: ToolContext, host: HostName, at: When) -> list[MaintenanceWindow]:
    """Approved change windows covering a host at a given time."""
    return ctx.inventory.windows_for(host, at)


@REGISTRY.register(action_class="read")
def known_scanner(
    ctx: ToolContext,
    address: Annotated[str, Field(min_length=1, max_length=255, description="IP or host name")],
) -> Scanner | None:
    """The approved vulnerability scanner at this address, if it is one."""
    return ctx.inventory.scanner(address)


@REGISTRY.register(action_class="read")
def threat_intel(
    ctx: ToolContext,
    indicator: Annotated[
        str, Field(min_length=1, max_length=2048, description="IP, domain, URL, hash or email")
    ],
    at: When,
) -> list[Indicator]:
    """Threat-intelligence indicators matching a value that were valid at the given time."""
    return ctx.inventory.intel(indicator, at)


@REGISTRY.register(action_class="read")
def detection_history(
    ctx: ToolContext,
    detection_id: Annotated[str, Field(min_length=1, max_length=512, description="Detection id")],
    host: Annotated[str, Field(max_length=255, description="Host key ('' for none)")],
    before: When,
    lookback_days: Annotated[int, Field(ge=1, le=90, description="How far back to look")] = 7,
) -> int:
    """In how many distinct earlier hours this detection fired on this host (the baseline)."""
    if ctx.history is None:
        return 0
    since = before - timedelta(days=lookback_days)
    return ctx.history.active_hours(detection_id, host, since, before)
