"""All configuration of one run, loaded and checked together from a config folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero.agents.context import BusinessHours
from tierzero.agents.facts import fact_names
from tierzero.agents.playbooks import Playbook, load_playbooks
from tierzero.agents.triage import TriageConfig
from tierzero.config import config_dir, load_model
from tierzero.correlate.engine import CorrelationConfig
from tierzero.tools.actions import CATALOG
from tierzero.tools.inventory import Inventory

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


@dataclass(frozen=True)
class Settings:
    folder: Path
    organization: Organization
    correlation: CorrelationConfig
    triage: TriageConfig
    playbooks: tuple[Playbook, ...]
    inventory: Inventory

    @classmethod
    def load(cls, folder: Path | None = None) -> Settings:
        """Load every file of the config folder; the first problem raises ConfigError."""
        root = config_dir(folder)
        organization = load_model(root / "organization.yaml", Organization)
        domains = tuple(d.lower() for d in organization.internal_domains)
        correlation = load_model(root / "correlation.yaml", CorrelationConfig).model_copy(
            update={"internal_domains": domains}
        )
        return cls(
            folder=root,
            organization=organization,
            correlation=correlation,
            triage=load_model(root / "triage.yaml", TriageConfig),
            playbooks=load_playbooks(root / "playbooks", fact_names(), set(CATALOG)),
            inventory=Inventory.load(root / "inventory", domains),
        )
