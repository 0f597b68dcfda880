"""All configuration of one run, loaded and checked together from a config folder.

One module per file of the folder, each holding that file's schema: ``organization.yaml``
(:mod:`.organization`), ``priority.yaml`` (:mod:`.priority`), ``playbooks/*.yaml``
(:mod:`.playbooks`), ``model.yaml`` (:mod:`.model`); ``policy.yaml`` is the guardrails' own
(``tierzero.guardrails.policy``), ``correlation.yaml`` correlation's, ``inventory/`` the
inventory tools'. Nothing here imports ``tierzero.agents``: the agents read settings, never the
reverse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tierzero import prompts
from tierzero.config import ConfigError, config_dir, load_model
from tierzero.correlate.engine import CorrelationConfig
from tierzero.correlate.entities import normalize_key
from tierzero.guardrails.policy import PRECISION_FILE, Policy, load_policy
from tierzero.ingest.reader import IngestConfig
from tierzero.settings.learning import LearningConfig
from tierzero.settings.model import ModelConfig, with_timing
from tierzero.settings.organization import Organization
from tierzero.settings.playbooks import Playbook, load_playbooks
from tierzero.settings.priority import PriorityConfig
from tierzero.settings.service import ServiceConfig
from tierzero.tools.inventory import Inventory


@dataclass(frozen=True)
class Settings:
    folder: Path
    organization: Organization
    correlation: CorrelationConfig
    priority: PriorityConfig
    playbooks: tuple[Playbook, ...]
    inventory: Inventory
    policy: Policy
    model: ModelConfig
    fingerprint: str
    ingest: IngestConfig = IngestConfig()
    service: ServiceConfig = ServiceConfig()
    learning: LearningConfig = LearningConfig()

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
            priority=load_model(_priority_file(root), PriorityConfig),
            playbooks=load_playbooks(root / "playbooks", set(policy.catalog)),
            policy=policy,
            inventory=Inventory.load(root / "inventory", domains),
            # Optional: folders written before the LLM agents existed have no model.yaml.
            model=_model_config(root),
            fingerprint=fingerprint(root),
            # Optional: what to do with vendor sample findings (default: ingest, flagged).
            ingest=load_model(root / "ingest.yaml", IngestConfig)
            if (root / "ingest.yaml").is_file()
            else IngestConfig(),
            # Optional: the service's limits and timers (default: ServiceConfig()).
            service=load_model(root / "service.yaml", ServiceConfig)
            if (root / "service.yaml").is_file()
            else ServiceConfig(),
            # Optional: learning suppressions from verdicts (default: LearningConfig()).
            learning=load_model(root / "learning.yaml", LearningConfig)
            if (root / "learning.yaml").is_file()
            else LearningConfig(),
        )


def _model_config(root: Path) -> ModelConfig:
    """``model.yaml`` (optional: folders written before the LLM agents have none) with the
    timing the environment overrides."""
    path = root / "model.yaml"
    config = load_model(path, ModelConfig) if path.is_file() else ModelConfig()
    try:
        return with_timing(config)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _priority_file(root: Path) -> Path:
    """``priority.yaml``; a folder that still has the old name is told what to rename."""
    path = root / "priority.yaml"
    if not path.exists() and (root / "triage.yaml").exists():
        raise ConfigError(f"{root / 'triage.yaml'}: this file is now called priority.yaml")
    return path


def fingerprint(folder: Path) -> str:
    """SHA-256 over every configuration file's path and bytes: any change changes it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


__all__ = ["Organization", "Settings", "fingerprint"]
