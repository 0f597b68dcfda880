"""Typed state of the case graph and the typed outputs of each node.

The state holds ids and results, not the alerts themselves: alerts are immutable facts in the
store, loaded through the run context, so checkpoints stay small and a resumed run sees the same
alerts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero.correlate.entities import host_key
from tierzero.guardrails.approvals import ApprovalAnswer
from tierzero.guardrails.decisions import Decision
from tierzero.guardrails.policy import TargetKind
from tierzero.ingest.alert import Alert, EntityKind
from tierzero.settings.playbooks import Verdict
from tierzero.settings.priority import Priority
from tierzero.tools.inventory import Asset, Identity, Indicator, MaintenanceWindow, Scanner
from tierzero.tools.investigation.signins import IdentityStep
from tierzero.tools.registry import ActionClass

CaseStatus = Literal["new", "auto_closed", "closed", "escalated", "awaiting_approval"]
EvidenceKind = Literal[
    "alert", "asset", "identity", "intel", "scanner", "window", "history", "activity"
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Evidence(_Model):
    """One fact a conclusion can cite by id (``E1``, ``E2`` ...)."""

    id: str
    kind: EvidenceKind
    summary: str
    alert_id: str | None = None
    source: str | None = None


class IntelHit(_Model):
    value: str
    kind: str
    indicator: Indicator


class WindowHit(_Model):
    host: str
    alert_id: str
    window: MaintenanceWindow


class Enrichment(_Model):
    """What the inventory says about the case's entities."""

    assets: dict[str, Asset] = Field(default_factory=dict)
    identities: dict[str, Identity] = Field(default_factory=dict)
    scanners: dict[str, Scanner] = Field(default_factory=dict)
    windows: tuple[WindowHit, ...] = ()
    intel: tuple[IntelHit, ...] = ()
    unknown_hosts: tuple[str, ...] = ()
    unknown_users: tuple[str, ...] = ()
    history: dict[str, int] = Field(
        default_factory=dict,
        description="'detection @ host' -> distinct earlier hours it fired in (lookback)",
    )
    activity: tuple[IdentityStep, ...] = Field(
        default=(),
        description="Routine identity-provider steps (not alerts) of the case's accounts",
    )
    tool_calls: int = 0


def history_keys(alert: Alert) -> list[tuple[str, str]]:
    """The (detection, host) baselines an alert belongs to, as ``Enrichment.history`` keys
    ('detection @ host') with the host key each names ('' for an alert without a host)."""
    hosts = sorted({host_key(h) for h in alert.values(EntityKind.HOST)}) or [""]
    return [(f"{alert.detection_id} @ {host or 'no host'}", host) for host in hosts]


class Prioritization(_Model):
    """The prioritize step's result: priority, SLA, queue, and the auto-close rule that fired."""

    priority: Priority
    score: int
    score_parts: tuple[str, ...]
    sla_due: datetime
    queue: str
    auto_close_rule: str | None = None
    auto_close_reason: str | None = None
    auto_close_evidence: tuple[str, ...] = ()
    # Learned suppressions (agents/learned.py): the rules that closed the case, the rules in
    # shadow that would have, and why rules about the case did not close it.
    learned_rules: tuple[str, ...] = ()
    shadow_rules: tuple[str, ...] = ()
    learned_blocked: tuple[str, ...] = ()
    # The second look before any closure (agents/second_look.py): what argues against closing
    # the case without a person; any reason keeps it open. ``held_back`` names the auto-close
    # rule that would otherwise have closed it.
    second_look: tuple[str, ...] = ()
    held_back: str | None = None


class PlaybookOutcome(_Model):
    """One playbook's walk through its decision tree: the path taken is the explanation."""

    playbook: str
    version: int
    title: str
    path: tuple[str, ...]
    verdict: Verdict
    confidence: float
    because: str
    evidence: tuple[str, ...]


class Analysis(_Model):
    """The analyst's conclusion; the same shape whether a playbook or a model produced it."""

    analyst: str
    verdict: Verdict
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: tuple[str, ...]
    evidence: tuple[str, ...]
    outcomes: tuple[PlaybookOutcome, ...] = ()
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()


class Recommendation(_Model):
    """A response action proposed for a human or (later) the guardrails to decide on."""

    action: str
    action_class: ActionClass
    target_kind: TargetKind
    target: str
    reason: str
    requested_by: str = Field(
        description="who proposes it: a playbook id, 'llm:MODEL', or 'analyst:NAME'"
    )
    evidence: tuple[str, ...] = ()


# How the model's tool loop ended.
InvestigationStop = Literal[
    "answered", "step_limit", "tool_budget", "truncated", "context_full", "failed"
]


class ModelInvestigation(_Model):
    """What the model-driven investigation did: its findings and how its loop ended."""

    model: str
    findings: str | None = None
    steps: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    stopped: InvestigationStop = "answered"
    failed: str | None = Field(default=None, description="why the model could not be used")
    # The conversation so far (system, case, tool results): the recommendation continues it.
    transcript: tuple[dict[str, Any], ...] = ()


class CaseState(BaseModel):
    """The graph's state for one case."""

    model_config = ConfigDict(extra="forbid")

    case_id: str
    enrichment: Enrichment | None = None
    evidence: tuple[Evidence, ...] = ()
    prioritization: Prioritization | None = None
    analysis: Analysis | None = None
    investigation: ModelInvestigation | None = None
    opinions: tuple[Analysis, ...] = Field(
        default=(), description="each analyst's own conclusion when more than one ran"
    )
    recommendations: tuple[Recommendation, ...] = ()
    # Actions a person asked for (analyst chat): proposed with the analysts' own, decided by
    # the guard like any other; a case with a request is never auto-closed past it.
    requests: tuple[Recommendation, ...] = ()
    decisions: tuple[Decision, ...] = ()
    action_ids: tuple[int, ...] = ()
    pending_action_ids: tuple[int, ...] = ()
    approval_answers: tuple[ApprovalAnswer, ...] = ()
    next_step: str | None = None
    escalation_path: str | None = None
    status: CaseStatus = "new"
    visited: tuple[str, ...] = ()


# Every class a checkpoint may contain: the checkpointer refuses to revive anything else.
CHECKPOINT_TYPES: tuple[type[BaseModel], ...] = (
    CaseState,
    Evidence,
    IntelHit,
    WindowHit,
    Enrichment,
    Prioritization,
    PlaybookOutcome,
    Analysis,
    ModelInvestigation,
    Recommendation,
    Asset,
    Identity,
    Indicator,
    MaintenanceWindow,
    Scanner,
    Decision,
    ApprovalAnswer,
)
