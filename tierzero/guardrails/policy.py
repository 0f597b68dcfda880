"""Policy as code: ``config/policy.yaml`` loaded into strict models.

The policy holds the action catalog (class, target kind, inverse, default TTL), the deny
lists, the measured precision of detections, the autonomy tier rules, approval windows and
the rate limits. A wrong file is refused at start with file, line and key (``load_policy``).

Measured precision may also come from ``detections.yaml`` beside the policy, a file tierzero
writes from analysts' verdicts (``tierzero metrics --write-precision``); ``load_policy`` merges
it when asked (``with_precision``), values in ``policy.yaml`` itself winning.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    model_validator,
)

from tierzero.config import ConfigError, load_model
from tierzero.ingest.alert import EntityKind
from tierzero.tools.inventory import Criticality
from tierzero.tools.registry import ActionClass

Environment = Literal["production", "corporate", "staging", "test", "development"]
Privilege = Literal["standard", "elevated", "admin", "service", "break_glass"]
TargetKind = Literal["host", "user", "ip", "domain", "hash", "email"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ActionSpec(_Strict):
    """One catalog entry: what the action does to which kind of entity, and how to undo it."""

    action_class: ActionClass = Field(alias="class")
    target: TargetKind
    inverse: str
    ttl: timedelta = Field(gt=timedelta(0), le=timedelta(days=30))
    description: str

    @property
    def target_kind(self) -> EntityKind:
        return EntityKind(self.target)


class DenyLists(_Strict):
    """Targets never acted on automatically, whatever else holds."""

    crown_jewels: bool = True
    asset_roles: tuple[str, ...] = ("domain_controller",)
    privileges: tuple[Privilege, ...] = ("break_glass",)
    targets: tuple[str, ...] = Field(
        default=(),
        description="Target values (case-insensitive); a host or account listed here is also "
        "denied by its address, FQDN or mailbox",
    )
    own_networks: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="The company's own address ranges: an indicator block (block_ip) on an "
        "address inside is denied, like an inventory asset's address",
    )


class Detections(_Strict):
    """Measured precision per detection id; below ``min_precision`` nothing is automated."""

    min_precision: float = Field(default=0.9, ge=0.0, le=1.0)
    unmeasured: Literal["manual", "automatic"] = Field(
        default="manual", description="What a detection with no measurement allows"
    )
    measured: dict[str, float] = Field(default_factory=dict)
    min_samples: int = Field(
        default=20,
        ge=1,
        description="Resolved alerts a measurement in detections.yaml needs before it counts",
    )


PRECISION_FILE = "detections.yaml"


class MeasuredDetection(_Strict):
    """One detection's precision as measured from resolved alerts, and how many there were."""

    precision: float = Field(ge=0.0, le=1.0)
    alerts: int = Field(ge=0, description="Resolved alerts the precision was measured on")


class MeasuredPrecision(_Strict):
    """``detections.yaml``: measured precision per detection id, written by tierzero."""

    source: str = ""
    written_at: AwareDatetime | None = None
    detections: dict[str, MeasuredDetection] = Field(default_factory=dict)


class TierWhen(_Strict):
    """Conditions of a tier rule; all given ones must hold (an empty rule always holds)."""

    action_class: tuple[ActionClass, ...] = ()
    target: tuple[TargetKind, ...] = ()
    environment: tuple[Environment, ...] = ()
    min_criticality: Literal["low", "medium", "high", "critical"] | None = None
    privilege: tuple[Privilege, ...] = ()
    in_maintenance_window: bool | None = None
    confidence_below: float | None = Field(default=None, ge=0.0, le=1.0)


RESERVED_TIER_IDS: frozenset[str] = frozenset({"model_only", "unproven_indicator"})
"""Tier rule ids the policy may not use: ``tier.<id>`` of these is a fixed rule's id
(:class:`tierzero.guardrails.rules.RuleId`), and an audit record must name one rule."""


class TierRule(_Strict):
    """An autonomy tier rule; the first whose conditions all hold decides, as ``tier.<id>``."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,60}$")
    when: TierWhen
    tier: Literal[1, 2, 3] = Field(
        description=(
            "1: automatic; 2 and 3: needs approval (3 marks the riskier rules). The tier does "
            "not set the approval window: see Approvals"
        )
    )
    reason: str


class Approvals(_Strict):
    """How long an approval request stays open before it expires (and the case escalates).

    The window depends on the target, not on the tier: the short ``production_window`` is for
    an action on a host whose inventory asset is in production, ``window`` for every other
    request (see ``tierzero.guardrails.approvals.approval_window``).
    """

    window: timedelta = Field(
        default=timedelta(minutes=30),
        gt=timedelta(0),
        description="How long a request stays open, unless the target is a production host",
    )
    production_window: timedelta = Field(
        default=timedelta(minutes=5),
        gt=timedelta(0),
        description="How long a request stays open when the target is a production host "
        "(a host whose inventory asset has environment production), whatever the tier",
    )
    escalate_at: float = Field(default=0.5, gt=0.0, lt=1.0, description="Share of the window")


class RateLimit(_Strict):
    max: int = Field(ge=0)
    per: timedelta = Field(gt=timedelta(0))


class Policy(_Strict):
    """``config/policy.yaml``."""

    version: str = Field(min_length=1)
    catalog: dict[str, ActionSpec] = Field(min_length=1)
    deny: DenyLists = DenyLists()
    detections: Detections = Detections()
    tiers: tuple[TierRule, ...] = Field(min_length=1)
    approvals: Approvals = Approvals()
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    breaker_failures: int = Field(default=3, ge=1, description="Failures that open a breaker")
    breaker_window: timedelta = Field(default=timedelta(minutes=10), gt=timedelta(0))

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        unknown = set(self.rate_limits) - set(self.catalog)
        if unknown:
            raise ValueError(f"rate_limits name actions not in the catalog: {sorted(unknown)}")
        taken = sorted({rule.id for rule in self.tiers} & RESERVED_TIER_IDS)
        if taken:
            raise ValueError(
                f"tier rule id(s) {taken} would read as a fixed guardrail rule (tier.<id>); "
                "choose another id"
            )
        if self.tiers[-1].when != TierWhen():
            raise ValueError("the last tier rule must have an empty 'when' (the default)")
        return self

    def criticality_at_least(self, asset_criticality: str, floor: str) -> bool:
        return Criticality[asset_criticality] >= Criticality[floor]


def load_policy(path: Path, with_precision: Path | None = None) -> Policy:
    """Load ``policy.yaml``; any problem is a ConfigError naming file, line and key.

    ``with_precision``: a ``detections.yaml`` whose measurements are merged (see
    :func:`merge_precision`); a missing file is no measurement, a wrong one a ConfigError.
    """
    if not path.exists():
        raise ConfigError(f"{path}: policy file not found")
    policy = load_model(path, Policy)
    if with_precision is not None and with_precision.is_file():
        policy = merge_precision(policy, load_model(with_precision, MeasuredPrecision))
    return policy


def merge_precision(policy: Policy, measured: MeasuredPrecision) -> Policy:
    """The policy with measured precisions added for detections measured on at least
    ``detections.min_samples`` resolved alerts. A value written in ``policy.yaml``'s own
    ``measured`` is a person's override and wins over the file."""
    config = policy.detections
    merged = {
        detection: figure.precision
        for detection, figure in measured.detections.items()
        if figure.alerts >= config.min_samples
    }
    merged.update(config.measured)
    return policy.model_copy(update={"detections": config.model_copy(update={"measured": merged})})
