"""How much an entity identifies: its spread over the lookback.

A value that many hosts share (the hash of ``powershell.exe``, an account used on every
machine, a gateway or proxy address, an address several hosts report as their own) says
nothing about which incident an alert belongs to: two alerts sharing it are no more related
than two alerts picked at random. The correlator never joins on such a *common* entity alone.

What is weighed, and why only these:

- hashes and accounts: by the hosts they are seen on. A rare hash or a user on two hosts
  joins; a hash or account on ``threshold`` hosts is fleet background;
- internal addresses: by the hosts seen with them (a gateway is seen with every host), and an
  address two machines report as their *own* (DHCP reuse, NAT, a VM template) names neither;
- external addresses, domains, mailboxes, cloud resources and hosts are not weighed: an
  attacker's address or domain seen by many hosts is one campaign, the strongest join there is.

Spread is counted from the alerts themselves, in time order, so it needs no inventory and
follows the fleet. Memory is bounded: an entity keeps at most ``threshold`` hosts (enough to
decide), and sightings older than the lookback are dropped as time advances.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tierzero.correlate.entities import entity_key, is_external_ip
from tierzero.ingest.alert import Alert, EntityKind

_DEVICE_IP_FIELDS = frozenset({"device.ip"})


@dataclass
class _Spread:
    hosts: dict[str, datetime] = field(default_factory=dict)  # hosts seen with it
    owners: dict[str, datetime] = field(default_factory=dict)  # hosts reporting it as theirs


def weighed(key: str) -> bool:
    """Whether a join key's spread is counted (see the module docstring)."""
    kind, _, value = key.partition(":")
    if kind == "ip":
        return not is_external_ip(value)
    return kind in ("hash", "user", "email")


class EntityWeights:
    """Spread of join keys over a sliding lookback window."""

    def __init__(self, lookback: timedelta, threshold: int) -> None:
        self.lookback = lookback
        self.threshold = threshold
        self._spread: dict[str, _Spread] = {}
        self._expiry: list[tuple[datetime, int, str]] = []
        self._tick = 0

    def observe(self, alert: Alert, keys: tuple[str, ...]) -> None:
        """Count the hosts each of the alert's weighed keys was seen with."""
        hosts = [k for k in keys if k.startswith("host:")]
        if not hosts:
            return
        device_ips = _device_ip_keys(alert, keys)
        for key in keys:
            if not weighed(key):
                continue
            spread = self._spread.setdefault(key, _Spread())
            self._note(spread.hosts, hosts, alert.time)
            if key in device_ips:
                self._note(spread.owners, hosts, alert.time)
            self._tick += 1
            heapq.heappush(self._expiry, (alert.time + self.lookback, self._tick, key))

    def _note(self, seen: dict[str, datetime], values: list[str], when: datetime) -> None:
        for value in values:
            if value in seen or len(seen) < self.threshold:
                seen[value] = max(when, seen.get(value, when))

    def is_common(self, key: str) -> bool:
        """True when the key cannot identify an incident on its own."""
        spread = self._spread.get(key)
        if spread is None:
            return False
        return len(spread.hosts) >= self.threshold or len(spread.owners) >= 2

    def describe(self, key: str) -> str:
        """Why a key identifies, in words, for join explanations."""
        if not weighed(key):
            kind = key.partition(":")[0]
            return "an external address" if kind == "ip" else f"a {_KIND_WORDS.get(kind, kind)}"
        spread = self._spread.get(key)
        hosts = len(spread.hosts) if spread else 0
        plural = "" if hosts == 1 else "s"
        return f"seen on {hosts} host{plural} in the lookback, under {self.threshold}"

    def evict(self, now: datetime) -> None:
        """Forget sightings older than the lookback."""
        horizon = now - self.lookback
        while self._expiry and self._expiry[0][0] < now:
            _, _, key = heapq.heappop(self._expiry)
            spread = self._spread.get(key)
            if spread is None:
                continue
            for seen in (spread.hosts, spread.owners):
                for value in [v for v, when in seen.items() if when < horizon]:
                    del seen[value]
            if not spread.hosts and not spread.owners:
                del self._spread[key]

    @property
    def tracked(self) -> int:
        """Entities currently tracked, for memory checks."""
        return len(self._spread)


_KIND_WORDS = {"host": "host", "domain": "domain", "cloud": "cloud resource", "email": "mailbox"}


def _device_ip_keys(alert: Alert, keys: tuple[str, ...]) -> set[str]:
    ips = {
        entity_key(EntityKind.IP, o.value) for o in alert.observables if o.name in _DEVICE_IP_FIELDS
    }
    return {ip for ip in ips if ip} & set(keys)
