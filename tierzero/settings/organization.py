"""``config/organization.yaml``: the company's name, internal domains and business hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Hours(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = time(7, 0)
    end: time = time(18, 0)
    weekdays: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")


class Organization(BaseModel):
    """``config/organization.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    internal_domains: tuple[str, ...] = Field(default=())
    business_hours: _Hours = _Hours()

    def hours(self) -> BusinessHours:
        h = self.business_hours
        return BusinessHours(h.start, h.end, tuple(h.weekdays))


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessHours:
    """Working hours (UTC): triage tells an admin at work from a 3 a.m. session."""

    start: time = time(7, 0)
    end: time = time(18, 0)
    weekdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")

    def covers(self, when: datetime) -> bool:
        return _WEEKDAYS[when.weekday()] in self.weekdays and self.start <= when.time() < self.end
