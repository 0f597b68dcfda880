"""Who may do what through the service: roles, the permission each endpoint needs, and the
per-token rate limit.

A request names its token in ``Authorization: Bearer``; the token's role decides. The identity
of whoever acts (an approver, an analyst proposing an action) is the token's name, never a
name in the body. Tokens are never accepted in a URL (URLs end up in logs).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Literal

from tierzero.store.tokens import Role

Permission = Literal[
    "ingest",  # push alerts
    "read_cases",  # cases, evidence, similar cases, actions, approvals (reading)
    "analyse",  # chat, propose actions, resolve cases
    "approve",  # answer approvals (never one's own request)
    "rollback",  # undo an executed action
    "read_audit",  # audit trail, export, verify
    "administer",  # tokens, kill switch, policy reload
]

# Each role's permissions, and nothing else: an ingest token only pushes alerts.
GRANTS: dict[Role, frozenset[Permission]] = {
    "ingest": frozenset({"ingest"}),
    "analyst": frozenset({"read_cases", "analyse", "rollback"}),
    "approver": frozenset({"read_cases", "approve", "rollback"}),
    "auditor": frozenset({"read_cases", "read_audit"}),
    "admin": frozenset({"read_cases", "read_audit", "administer"}),
}


@dataclass(frozen=True)
class Principal:
    """Whoever a request's token belongs to: the token's ``name`` (``actor`` in the audit of
    intake and access) and the ``person`` who acts with it (approvals, chat requests and
    resolutions are recorded under the person, so nobody approves their own request with a
    second token)."""

    name: str
    role: Role
    person: str

    @property
    def actor(self) -> str:
        return f"token:{self.name}"

    def may(self, permission: Permission) -> bool:
        return permission in GRANTS[self.role]


MAX_BUCKETS = 10_000  # past this many keys, refilled buckets are forgotten


class RateLimiter:
    """A token bucket per key (a token's name; an address for failed sign-ins)."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, key: str, now: float | None = None) -> float:
        """Take one request from ``key``'s bucket: 0.0 when allowed, else the seconds until
        one is available (the ``Retry-After``)."""
        at = time.monotonic() if now is None else now
        with self._lock:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(at)
            tokens, then = self._buckets.get(key, (self.burst, at))
            tokens = min(self.burst, tokens + (at - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, at)
                return 0.0
            self._buckets[key] = (tokens, at)
            return (1.0 - tokens) / self.rate

    def _forget_full(self, at: float) -> None:
        """Drop the buckets that have refilled (they equal a new one): failed sign-ins from
        many addresses must not grow memory without bound."""
        self._buckets = {
            key: (tokens, then)
            for key, (tokens, then) in self._buckets.items()
            if tokens + (at - then) * self.rate < self.burst
        }

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
