"""``config/priority.yaml``: priority levels with SLAs, score weights, routing, auto-close rules.

The prioritize step of the case graph (``tierzero/agents/prioritize.py``) applies them: the
score is a sum of named parts, so a priority can always be explained, and routing and
auto-closure are conditions over the same facts playbooks use.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero.settings.playbooks import Condition

Priority = Literal["P1", "P2", "P3", "P4"]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PriorityLevel(_Config):
    name: Priority
    min_score: int = Field(ge=0)
    sla: timedelta


class Weights(_Config):
    severity: dict[int, int]
    criticality: dict[int, int]
    intel_match: int = 20
    crown_jewel: int = 10
    privileged_user: int = 10
    new_country: int = 10
    novel_detection: int = 10
    baseline_surge: int = 15  # a detection on a host far above its busiest earlier hour
    off_rhythm: int = 10  # a detection on a host outside its daily rhythm
    per_extra_tactic: int = 5
    max_tactic_bonus: int = 15
    per_extra_source: int = 3
    max_source_bonus: int = 9


class Route(_Config):
    when: Condition
    queue: str


class AutoCloseRule(_Config):
    id: str
    when: Condition
    reason: str


class PriorityConfig(_Config):
    """``config/priority.yaml``: how the prioritize step scores, routes and auto-closes."""

    priorities: tuple[PriorityLevel, ...] = Field(min_length=1)
    weights: Weights
    routing: tuple[Route, ...] = ()
    default_queue: str = "soc-tier1"
    auto_close: tuple[AutoCloseRule, ...] = ()
    history_lookback_days: int = Field(
        default=7, ge=1, le=90, description="How far back detection baselines look"
    )
    close_confidence: float = Field(
        default=0.8,
        ge=0.5,
        le=1.0,
        description="A benign verdict closes the case only at or above this confidence",
    )

    def level(self, score: int) -> PriorityLevel:
        ranked = sorted(self.priorities, key=lambda p: p.min_score, reverse=True)
        return next((p for p in ranked if score >= p.min_score), ranked[-1])
