"""Where tierzero's notion of "now" comes from: a clock read for every record, never one
timestamp taken at the start of a run.

A triage of thousands of cases takes minutes; records stamped with the run's start time would
put actions before the kill switch that stopped them, and approval windows and lease ends
computed from that start would already be over. So the long-running use cases take a
:class:`Clock` and read it each time they write something.

- :class:`SystemClock` is the real time (every command's default);
- :class:`FrozenClock` always says the same time (evaluations replay a scenario "as of" its
  time, and tests want the same answer every run);
- :class:`ManualClock` is a frozen clock a test moves on by hand (a kill switch flipped, an
  approval window passed mid-run).

A plain ``datetime`` where a clock is expected means a frozen clock at that time
(:func:`clock_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Something that tells the current time (timezone-aware, UTC)."""

    def now(self) -> datetime:
        """The current time."""
        ...


class SystemClock:
    """The machine's real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """Always the same instant."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("a clock's time must be timezone-aware")
        self._at = at

    def now(self) -> datetime:
        return self._at


class ManualClock(FrozenClock):
    """A frozen clock that a test moves on by hand."""

    def advance(self, by: timedelta) -> datetime:
        """Move the clock forward and return the new time."""
        self._at = self._at + by
        return self._at

    def set(self, at: datetime) -> None:
        """Put the clock at a given time."""
        self._at = at


class CallableClock:
    """A clock read through a function (code that keeps time as ``Callable[[], datetime]``)."""

    def __init__(self, read: Callable[[], datetime]) -> None:
        self._read = read

    def now(self) -> datetime:
        return self._read()


TimeSource = Clock | datetime
"""A clock, or a fixed time (a frozen clock at that time)."""


def clock_of(source: TimeSource | None) -> Clock:
    """The clock a use case runs on: the system's when none is given, a frozen one for a
    fixed time."""
    if source is None:
        return SystemClock()
    if isinstance(source, datetime):
        return FrozenClock(source)
    return source
