"""``config/learning.yaml`` (optional): how tierzero learns suppressions from people's verdicts.

What no configuration can loosen is not here: a learned rule never closes a case with a
threat-intelligence match, a high or critical alert, a crown jewel, a privileged identity, a
technique new for the host, a rate far above the baseline, or an alert it does not cover
(``tierzero.guardrails.suppression``). The floors below (two days, three verdicts, an hour of
shadow) are enforced by the schema.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field


class LearningConfig(BaseModel):
    """Proposals from feedback, their shadow period and lifetime, and the rate baseline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    propose: bool = Field(default=True, description="Propose suppressions from verdicts")
    lookback: timedelta = Field(
        default=timedelta(days=30), description="Verdicts older than this teach nothing"
    )
    min_verdicts: int = Field(
        default=3,
        ge=3,
        le=1000,
        description="Benign verdicts a rule needs (at least 3; a case resolved again after new "
        "alerts joined it counts again)",
    )
    min_days: int = Field(
        default=2,
        ge=2,
        le=365,
        description="Distinct days those verdicts were given on (at least 2: one person's "
        "verdicts on one day never make a rule)",
    )
    shadow: timedelta = Field(
        default=timedelta(hours=12),
        ge=timedelta(hours=1),
        description="After approval a rule only counts what it would close for this long",
    )
    rule_lifetime: timedelta = Field(
        default=timedelta(days=30), gt=timedelta(0), description="An approved rule expires"
    )
    proposal_lifetime: timedelta = Field(
        default=timedelta(days=7), gt=timedelta(0), description="An unanswered proposal expires"
    )
    baseline_warmup: timedelta = Field(
        default=timedelta(hours=24),
        ge=timedelta(hours=6),
        description="History a (detection, host) needs before its rate is a baseline; until "
        "then no learned rule closes its alerts",
    )
    rate_factor: float = Field(
        default=3.0,
        ge=1.5,
        description="An hour with more than this times the busiest earlier hour is far above "
        "the baseline",
    )
    second_look_window: timedelta = Field(
        default=timedelta(hours=2),
        ge=timedelta(0),
        description="Before closing a case, another case on one of its hosts waiting for a "
        "person within this long before it keeps it open",
    )
    recent_true_positive: timedelta = Field(
        default=timedelta(days=1),
        ge=timedelta(0),
        description="A host in a case people resolved true_positive this recently keeps "
        "cases on it open",
    )
    rate_floor: int = Field(
        default=5, ge=1, description="Below this many alerts an hour is never called a surge"
    )
