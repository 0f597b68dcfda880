"""All configuration of one run, loaded and checked together from a config folder."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero import prompts
from tierzero.agents.context import BusinessHours
from tierzero.agents.facts import fact_names
from tierzero.agents.model_config import ModelConfig
from tierzero.agents.playbooks import Playbook, load_playbooks
from tierzero.agents.triage import TriageConfig
from tierzero.config import ConfigError, config_dir, load_model
from tierzero.correlate.engine import CorrelationConfig
from tierzero.correlate.entities import normalize_key
from tierzero.guardrails.policy import PRECISION_FILE, Policy, load_policy
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
    policy: Policy
    model: ModelConfig
    fingerprint: str

    def versions(self) -> dict[str, object]:
        """What the audit records as the configuration in force."""
        return {
            "config_sha256": self.fingerprint,
            "config_folder": str(self.folder),
            "playbooks": {p.id: p.version for p in self.playbooks},
            "policy_version": self.policy.version,
            "prompts": {p.id: p.version for p in prompts.all_prompts()},
        }

    @classmethod
    def load(cls, folder: Path | None = None) -> Settings:
        """Load every file of the config folder; the first problem raises ConfigError."""
        root = config_dir(folder)
        organization = load_model(root / "organization.yaml", Organization)
        domains = tuple(d.lower() for d in organization.internal_domains)
        # Optional detections.yaml: precision measured from analysts' verdicts (written by
        # tierzero); policy.yaml's own values win over it.
        policy = load_policy(root / "policy.yaml", root / PRECISION_FILE)
        correlation = load_model(root / "correlation.yaml", CorrelationConfig)
        ignored = set()
        for entry in correlation.ignore_entities:
            key = normalize_key(entry, domains)
            if key is None:
                raise ConfigError(
                    f"{root / 'correlation.yaml'}: ignore_entities entry {entry!r} is not a join "
                    "key (host:, ip:, user:, email:, hash:, domain:, cloud:)"
                )
            ignored.add(key)
        correlation = correlation.model_copy(
            update={"internal_domains": domains, "ignore_entities": frozenset(ignored)}
        )
        return cls(
            folder=root,
            organization=organization,
            correlation=correlation,
            triage=load_model(root / "triage.yaml", TriageConfig),
            playbooks=load_playbooks(root / "playbooks", fact_names(), set(policy.catalog)),
            policy=policy,
            inventory=Inventory.load(root / "inventory", domains),
            # Optional: folders written before the LLM agents existed have no model.yaml.
            model=load_model(root / "model.yaml", ModelConfig)
            if (root / "model.yaml").is_file()
            else ModelConfig(),
            fingerprint=fingerprint(root),
        )


def fingerprint(folder: Path) -> str:
    """SHA-256 over every configuration file's path and bytes: any change changes it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()
