"""Entity keys: the normalized identities that alerts from different tools share.

``NORTHWIND\\alice.martin``, ``alice.martin@northwind.example`` and ``Alice.Martin`` are the
same person to a SOC; ``LT-FIN-042.northwind.example`` and ``lt-fin-042`` the same laptop.
Keys are ``kind:value`` strings so they are cheap to hash and readable in explanations.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from tierzero.ingest.alert import Alert, EntityKind

# Kinds that identify something an attacker cannot cheaply make collide with unrelated activity.
JOIN_KINDS: tuple[EntityKind, ...] = (
    EntityKind.HOST,
    EntityKind.USER,
    EntityKind.IP,
    EntityKind.HASH,
    EntityKind.DOMAIN,
    EntityKind.EMAIL,
    EntityKind.CLOUD_RESOURCE,
)

_PLACEHOLDERS = frozenset(
    {
        "-",
        "n/a",
        "na",
        "none",
        "null",
        "unknown",
        "localhost",
        "system",
        "local system",
        "nt authority\\system",
        "anonymous",
        "root",
        "administrator",
        "0.0.0.0",
        "::",
    }
)


def host_key(value: str) -> str:
    """Lower-case short host name; IPs stay whole (``10.0.0.1`` is not ``10``)."""
    lowered = value.strip().lower().rstrip(".")
    if _is_ip(lowered):
        return lowered
    return lowered.split(".", 1)[0]


def user_key(value: str, internal_domains: Iterable[str] = ()) -> str:
    """Lower-case account name without a Windows domain or an internal UPN suffix."""
    lowered = value.strip().lower()
    if "\\" in lowered:
        lowered = lowered.rsplit("\\", 1)[1]
    if "@" in lowered:
        name, _, domain = lowered.partition("@")
        if domain in internal_domains:
            return name
    return lowered


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


_INTERNAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "0.0.0.0/8",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
        "::/128",
    )
)


def is_external_ip(value: str) -> bool:
    """True for an address outside private, shared, loopback and link-local ranges.

    Documentation ranges (RFC 5737) count as external: they stand in for internet hosts in
    examples and tests.
    """
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    return not any(address in net for net in _INTERNAL_NETS if net.version == address.version)


def _joinable_ip(value: str) -> bool:
    address = ipaddress.ip_address(value)
    return not (
        address.is_loopback
        or address.is_unspecified
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
    )


def entity_key(kind: EntityKind, value: str, internal_domains: Iterable[str] = ()) -> str | None:
    """The join key for one observable, or None when it must not be joined on."""
    raw = value.strip()
    if not raw or raw.lower() in _PLACEHOLDERS:
        return None
    if kind is EntityKind.HOST:
        return f"host:{host_key(raw)}"
    if kind is EntityKind.IP:
        return f"ip:{raw.lower()}" if _is_ip(raw) and _joinable_ip(raw) else None
    if kind in (EntityKind.USER, EntityKind.EMAIL):
        key = user_key(raw, internal_domains)
        # An internal mailbox is its owner's account; an outside address stays an address.
        return f"user:{key}" if "@" not in key else f"email:{key}"
    if kind is EntityKind.HASH:
        return f"hash:{raw.lower()}"
    if kind is EntityKind.DOMAIN:
        return f"domain:{raw.lower().rstrip('.')}"
    if kind is EntityKind.CLOUD_RESOURCE:
        return f"cloud:{raw}"
    return None


def alert_entities(
    alert: Alert,
    ignore: frozenset[str] = frozenset(),
    internal_domains: Iterable[str] = (),
    kinds: Iterable[EntityKind] = JOIN_KINDS,
) -> tuple[str, ...]:
    """Sorted distinct join keys of an alert, minus those configured to be ignored."""
    wanted = frozenset(kinds)
    domains = tuple(internal_domains)
    keys = {
        key
        for o in alert.observables
        if o.kind in wanted and (key := entity_key(o.kind, o.value, domains)) and key not in ignore
    }
    return tuple(sorted(keys))
