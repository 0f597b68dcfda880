"""The service's per-token rate limit (a token bucket per key)."""

from __future__ import annotations

import pytest

from tierzero.service import access
from tierzero.service.access import RateLimiter


def test_a_bucket_empties_and_refills() -> None:
    limiter = RateLimiter(per_minute=60, burst=2)
    assert [limiter.take("t", now=0.0) for _ in range(3)][:2] == [0.0, 0.0]
    assert limiter.take("t", now=0.0) > 0.9  # about a second until the next token
    assert limiter.take("t", now=2.0) == 0.0
    assert RateLimiter.retry_after(0.2) == "1"


def test_keys_have_their_own_buckets() -> None:
    limiter = RateLimiter(per_minute=60, burst=1)
    assert limiter.take("a", now=0.0) == 0.0
    assert limiter.take("a", now=0.0) > 0
    assert limiter.take("b", now=0.0) == 0.0


def test_refilled_buckets_are_forgotten_past_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "MAX_BUCKETS", 100)
    limiter = RateLimiter(per_minute=60, burst=1)
    for n in range(100):
        limiter.take(f"address:{n}", now=0.0)
    limiter.take("late", now=0.5)  # at the cap, none refilled yet: all kept
    assert len(limiter._buckets) == 101
    limiter.take("later", now=10.0)  # every earlier bucket has refilled by now
    assert set(limiter._buckets) == {"later"}
