"""The local inventory enrichment reads: assets, identities, change windows, scanners, intel.

Loaded from ``config/inventory/`` (YAML, plus threat intelligence as CSV or STIX 2.1 bundles).
Lookups normalize names the way correlation does, so ``NORTHWIND\\alice.martin`` finds
``alice.martin``, ``lt-fin-042.northwind.example`` finds ``LT-FIN-042`` and ``::ffff:10.10.0.10``
finds the asset with address ``10.10.0.10``. :func:`resolve_target` gathers what the inventory
knows about one action target of any kind, for the guardrails.
"""

from __future__ import annotations

import csv
import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tierzero.config import ConfigError, load_model
from tierzero.correlate.entities import host_key, user_key
from tierzero.ingest.alert import EntityKind


class Criticality(IntEnum):
    """Asset criticality tier; comparisons follow business impact."""

    low = 1
    medium = 2
    high = 3
    critical = 4


Environment = Literal["production", "corporate", "staging", "test", "development"]
Privilege = Literal["standard", "elevated", "admin", "service", "break_glass"]
IndicatorType = Literal["ip", "domain", "url", "sha256", "sha1", "md5", "email"]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Asset(_Config):
    hostname: str
    ips: tuple[str, ...] = ()
    owner: str
    business_unit: str
    criticality: Literal["low", "medium", "high", "critical"]
    environment: Environment
    role: str
    os: str | None = None
    admins: tuple[str, ...] = ()
    crown_jewel: bool = False

    @property
    def criticality_rank(self) -> int:
        return int(Criticality[self.criticality])


class Identity(_Config):
    user: str
    display_name: str
    email: str | None = None
    role: str
    department: str
    privilege: Privilege
    mfa: bool
    last_password_change: date
    usual_countries: tuple[str, ...] = ()

    @property
    def privileged(self) -> bool:
        return self.privilege in ("elevated", "admin", "break_glass")


class MaintenanceWindow(_Config):
    id: str
    description: str
    hosts: tuple[str, ...]
    start: AwareDatetime
    end: AwareDatetime


class Scanner(_Config):
    name: str
    ips: tuple[str, ...] = ()
    hostnames: tuple[str, ...] = ()
    approved_by: str


class Indicator(_Config):
    """One threat-intelligence indicator, with where it came from."""

    value: str
    type: IndicatorType
    confidence: int = Field(ge=0, le=100)
    source: str
    description: str = ""
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None

    def valid_at(self, when: datetime) -> bool:
        return (self.valid_from is None or self.valid_from <= when) and (
            self.valid_until is None or when < self.valid_until
        )


class _Assets(_Config):
    assets: tuple[Asset, ...] = ()


class _Identities(_Config):
    identities: tuple[Identity, ...] = ()


class _Windows(_Config):
    windows: tuple[MaintenanceWindow, ...] = ()


class _Scanners(_Config):
    scanners: tuple[Scanner, ...] = ()


@dataclass
class Inventory:
    """Indexed inventory. Build with :meth:`load`; all lookups are O(1) dict reads."""

    assets: tuple[Asset, ...] = ()
    identities: tuple[Identity, ...] = ()
    windows: tuple[MaintenanceWindow, ...] = ()
    scanners: tuple[Scanner, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    internal_domains: tuple[str, ...] = ()
    _by_host: dict[str, Asset] = field(default_factory=dict, repr=False)
    _by_ip: dict[str, Asset] = field(default_factory=dict, repr=False)
    _by_user: dict[str, Identity] = field(default_factory=dict, repr=False)
    _scanner_ips: dict[str, Scanner] = field(default_factory=dict, repr=False)
    _scanner_hosts: dict[str, Scanner] = field(default_factory=dict, repr=False)
    _intel: dict[str, list[Indicator]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for asset in self.assets:
            self._by_host[host_key(asset.hostname)] = asset
            for ip in asset.ips:
                self._by_ip[canonical_ip(ip) or ip] = asset
        for identity in self.identities:
            self._by_user[user_key(identity.user)] = identity
            if identity.email:
                self._by_user[identity.email.lower()] = identity
        for scanner in self.scanners:
            self._scanner_ips.update(dict.fromkeys(scanner.ips, scanner))
            self._scanner_hosts.update({host_key(h): scanner for h in scanner.hostnames})
        for indicator in self.indicators:
            self._intel.setdefault(_intel_key(indicator.value), []).append(indicator)

    @classmethod
    def load(cls, folder: Path, internal_domains: Iterable[str] = ()) -> Inventory:
        """Read every inventory file present in ``folder`` (each is optional)."""

        def model(name: str, kind: type[_Config]) -> _Config | None:
            path = folder / name
            return load_model(path, kind) if path.exists() else None

        assets = model("assets.yaml", _Assets)
        identities = model("identities.yaml", _Identities)
        windows = model("maintenance_windows.yaml", _Windows)
        scanners = model("scanners.yaml", _Scanners)
        indicators: list[Indicator] = []
        for path in sorted(folder.glob("*.csv")):
            indicators.extend(load_indicator_csv(path))
        for path in sorted(folder.glob("*.stix.json")):
            indicators.extend(load_stix_bundle(path))
        return cls(
            assets=assets.assets if isinstance(assets, _Assets) else (),
            identities=identities.identities if isinstance(identities, _Identities) else (),
            windows=windows.windows if isinstance(windows, _Windows) else (),
            scanners=scanners.scanners if isinstance(scanners, _Scanners) else (),
            indicators=tuple(indicators),
            internal_domains=tuple(internal_domains),
        )

    def asset(self, host_or_ip: str) -> Asset | None:
        value = host_or_ip.strip()
        ip = canonical_ip(value)
        return (self._by_ip.get(ip) if ip else None) or self._by_host.get(host_key(value))

    def identity(self, user: str) -> Identity | None:
        lowered = user.strip().lower()
        return self._by_user.get(lowered) or self._by_user.get(
            user_key(lowered, self.internal_domains)
        )

    def scanner(self, ip_or_host: str) -> Scanner | None:
        value = ip_or_host.strip()
        return self._scanner_ips.get(value) or self._scanner_hosts.get(host_key(value))

    def windows_for(self, host: str, when: datetime) -> list[MaintenanceWindow]:
        key = host_key(host)
        return [
            w
            for w in self.windows
            if w.start <= when <= w.end and key in {host_key(h) for h in w.hosts}
        ]

    def intel(self, value: str, when: datetime) -> list[Indicator]:
        return [i for i in self._intel.get(_intel_key(value), []) if i.valid_at(when)]


def canonical_ip(value: str) -> str | None:
    """One spelling per address (``::ffff:10.10.0.10`` is ``10.10.0.10``); None if not one."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def _intel_key(value: str) -> str:
    return canonical_ip(value) or value.strip().lower()


def under_domain(name: str, domains: Iterable[str]) -> bool:
    """True when ``name`` (a domain, or a mailbox's domain part) is one of ``domains`` or a
    subdomain of one: ``mail.northwind.example`` is under ``northwind.example``."""
    name = name.strip().lower().rstrip(".")
    return any(name == d or name.endswith(f".{d}") for d in (d.lower() for d in domains))


@dataclass(frozen=True)
class ResolvedTarget:
    """What the inventory knows about one action target, whatever its kind and spelling."""

    asset: Asset | None = None
    identity: Identity | None = None
    windows: tuple[MaintenanceWindow, ...] = ()
    """Change windows open at the time on the asset (or on the host, as named)."""
    intel: tuple[Indicator, ...] = ()
    """Threat-intelligence indicators of the target's kind matching it, valid at the time."""


# The indicator types that count as a threat-intelligence match for a target of each kind.
_INTEL_TYPES: dict[EntityKind, frozenset[str]] = {
    EntityKind.IP: frozenset({"ip"}),
    EntityKind.DOMAIN: frozenset({"domain"}),
    EntityKind.HASH: frozenset({"sha256", "sha1", "md5"}),
    EntityKind.EMAIL: frozenset({"email"}),
}


def resolve_target(
    inventory: Inventory, kind: EntityKind, value: str, when: datetime
) -> ResolvedTarget:
    """The inventory records an action target names, so that deny lists and tier rules see
    what is targeted rather than how it is spelled (the caller passes the result to
    ``decide``; ``when`` is the decision time):

    - a host by short name, FQDN or address is its asset;
    - an IP that is an asset's address is that asset (the DC's IP is the DC);
    - a domain under an internal domain that names an asset (its FQDN) is that asset;
    - a mailbox of an identity, or a user in any spelling (``DOMAIN\\user``,
      ``user@internal-domain``), is that identity.

    Indicators (ip, domain, hash, email) also get their intel matches valid at ``when``.
    """
    asset: Asset | None = None
    identity: Identity | None = None
    if kind is EntityKind.HOST:
        asset = inventory.asset(value)
    elif kind is EntityKind.IP:
        ip = canonical_ip(value)
        asset = inventory.asset(ip) if ip else None
    elif kind is EntityKind.DOMAIN and under_domain(value, inventory.internal_domains):
        # Only an internal name: an outside domain's first label may spell a host of ours.
        asset = inventory.asset(value)
    elif kind in (EntityKind.USER, EntityKind.EMAIL):
        identity = inventory.identity(value)
    windows: list[MaintenanceWindow] = []
    if asset is not None or kind is EntityKind.HOST:
        windows = inventory.windows_for(asset.hostname if asset else value, when)
    types = _INTEL_TYPES.get(kind, frozenset())
    intel = [i for i in inventory.intel(value, when) if i.type in types] if types else []
    return ResolvedTarget(asset, identity, tuple(windows), tuple(intel))


def load_indicator_csv(path: Path) -> list[Indicator]:
    """Indicators from a CSV with columns indicator, type, confidence, source, description."""
    out: list[Indicator] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line_no, row in enumerate(csv.DictReader(handle), start=2):
            try:
                out.append(
                    Indicator(
                        value=row["indicator"].strip(),
                        type=row["type"].strip().lower(),
                        confidence=int(row.get("confidence") or 50),
                        source=(row.get("source") or path.stem).strip(),
                        description=(row.get("description") or "").strip(),
                    )
                )
            except (KeyError, ValueError, AttributeError) as exc:
                raise ConfigError(f"{path}:{line_no}: bad indicator row: {exc}") from exc
    return out


# STIX object paths that name an indicator value tierzero can match on.
_STIX_PATHS: dict[tuple[str, tuple[str, ...]], IndicatorType] = {
    ("ipv4-addr", ("value",)): "ip",
    ("ipv6-addr", ("value",)): "ip",
    ("domain-name", ("value",)): "domain",
    ("url", ("value",)): "url",
    ("email-addr", ("value",)): "email",
    ("file", ("hashes", "SHA-256")): "sha256",
    ("file", ("hashes", "SHA-1")): "sha1",
    ("file", ("hashes", "MD5")): "md5",
}


def load_stix_bundle(path: Path) -> list[Indicator]:
    """Indicators from a STIX 2.1 bundle: each equality comparison in a pattern becomes one.

    Patterns are parsed with OASIS's ``stix2-patterns``; comparisons other than ``=`` (ranges,
    regexes) cannot be looked up by value and are skipped.
    """
    from stix2patterns.pattern import ParseException, Pattern

    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable STIX bundle: {exc}") from exc
    objects = bundle.get("objects") if isinstance(bundle, dict) else None
    if not isinstance(objects, list):
        raise ConfigError(f"{path}: a STIX bundle needs an 'objects' list")
    names = {o.get("id"): o.get("name") for o in objects if isinstance(o, dict)}
    out: list[Indicator] = []
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") != "indicator":
            continue
        if obj.get("pattern_type", "stix") != "stix" or obj.get("revoked"):
            continue
        try:
            comparisons = Pattern(str(obj.get("pattern", ""))).inspect().comparisons
        except ParseException as exc:
            raise ConfigError(f"{path}: indicator {obj.get('id')}: bad pattern: {exc}") from exc
        for object_type, tests in comparisons.items():
            for property_path, operator, literal in tests:
                path_key = tuple(str(p).strip("'") for p in property_path)
                kind = _STIX_PATHS.get((object_type, path_key))
                if kind is None or operator != "=":
                    continue
                out.append(
                    Indicator(
                        value=str(literal).strip("'"),
                        type=kind,
                        confidence=int(obj.get("confidence", 50)),
                        source=str(names.get(obj.get("created_by_ref")) or path.stem),
                        description=str(obj.get("name") or obj.get("description") or ""),
                        valid_from=obj.get("valid_from"),
                        valid_until=obj.get("valid_until"),
                    )
                )
    return out
