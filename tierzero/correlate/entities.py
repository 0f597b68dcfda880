"""Entity keys: the normalized identities that alerts from different tools share.

``NORTHWIND\\alice.martin``, ``alice.martin@northwind.example`` and ``Alice.Martin`` are the
same person to a SOC; ``LT-FIN-042.northwind.example`` and ``lt-fin-042`` the same laptop.
Keys are ``kind:value`` strings so they are cheap to hash and readable in explanations.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from tierzero.ingest.alert import Alert, EntityKind
from tierzero.ingest.base import is_ip

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
    lowered = unicodedata.normalize("NFKC", value).strip().casefold().rstrip(".")
    if is_ip(lowered):
        return lowered
    return lowered.split(".", 1)[0]


def user_key(value: str, internal_domains: Iterable[str] = ()) -> str:
    """Lower-case account name without a Windows domain or an internal UPN suffix."""
    lowered = unicodedata.normalize("NFKC", value).strip().casefold()
    if "\\" in lowered:
        lowered = lowered.rsplit("\\", 1)[1]
    if "@" in lowered:
        name, _, domain = lowered.partition("@")
        if domain in internal_domains:
            return name
    return lowered


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


@lru_cache(maxsize=65_536)  # correlation asks about the same addresses again and again
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
    """The join key for one observable, or None when it must not be joined on.

    Placeholders are checked after normalization, so ``CORP\\SYSTEM`` or
    ``localhost.localdomain`` cannot become a key that glues unrelated alerts together.
    """
    domains = internal_domains if isinstance(internal_domains, tuple) else tuple(internal_domains)
    return _entity_key(kind, value, domains)


@lru_cache(maxsize=262_144)  # pure; correlation's warm-up reads the same values many times
def _entity_key(kind: EntityKind, value: str, internal_domains: tuple[str, ...]) -> str | None:
    raw = value.strip()
    if not raw:
        return None
    if kind is EntityKind.HOST and is_ip(raw):
        kind = EntityKind.IP  # an address in a host field is an address
    key: str
    if kind is EntityKind.HOST:
        prefix, key = "host", host_key(raw)
    elif kind is EntityKind.IP:
        if not (is_ip(raw) and _joinable_ip(raw)):
            return None
        prefix, key = "ip", str(ipaddress.ip_address(raw))
    elif kind in (EntityKind.USER, EntityKind.EMAIL):
        key = user_key(raw, internal_domains)
        # An internal mailbox is its owner's account; an outside address stays an address.
        prefix = "email" if "@" in key else "user"
    elif kind is EntityKind.HASH:
        prefix, key = "hash", raw.lower()
    elif kind is EntityKind.DOMAIN:
        prefix, key = "domain", raw.lower().rstrip(".")
    elif kind is EntityKind.CLOUD_RESOURCE:
        prefix, key = "cloud", raw
    else:
        return None
    if not key or key in _PLACEHOLDERS or key.split("@", 1)[0] in _PLACEHOLDERS:
        return None
    return f"{prefix}:{key}"


def normalize_key(key: str, internal_domains: Iterable[str] = ()) -> str | None:
    """Normalize a configured join key such as ``host:PROXY-01`` the way alerts' keys are."""
    prefix, _, value = key.partition(":")
    kinds = {
        "host": EntityKind.HOST,
        "ip": EntityKind.IP,
        "user": EntityKind.USER,
        "email": EntityKind.EMAIL,
        "hash": EntityKind.HASH,
        "domain": EntityKind.DOMAIN,
        "cloud": EntityKind.CLOUD_RESOURCE,
    }
    if prefix not in kinds or not value:
        return None
    return entity_key(kinds[prefix], value, internal_domains)


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
