"""The guardrail rules: one home for every rule id, its check stage, its place in the fixed
check order, its outcome and what it means.

A :class:`~tierzero.guardrails.decisions.Decision` names the rule that decided it by
``rule_id``; the ids are the values of :class:`RuleId` (they are written to audit records, so
their values never change). The autonomy tier rules of ``policy.yaml`` form one family of
dynamic ids, ``tier.<rule id>`` (:func:`tier_rule_id`), tried in file order once every fixed
rule before them has passed.

:data:`RULES` is the table, in the order ``decide`` checks (pySigma's validators style: each rule
a row with its id and what it does); :func:`rule_listing` is what ``tierzero policy rules``
prints: the table with the tier family expanded to a policy's actual tier rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, NamedTuple

from tierzero.guardrails.policy import Policy

Outcome = Literal["allow", "needs_approval", "deny"]


class Stage(StrEnum):
    """The stages of the fixed check order (the first rule that objects decides)."""

    SCHEMA = "schema"
    """The action is in the catalog and the target is one well-formed value of its kind."""
    PROVENANCE = "provenance"
    """The target is an entity of the case's normalized alert fields and not on a deny list
    (nor, for an indicator block, the company's own)."""
    BOUNDS = "bounds"
    """The action type's circuit breaker is closed and its rate limit not reached."""
    TIER = "tier"
    """Kill switch, unsettled verdict, model-only proposal, detection precision, an indicator
    block without intel, tier rules."""
    EXECUTION = "execution"
    """At execution only: the action row still matches the hash of what was decided (then
    every other stage is decided again, with the kill switch and bounds as they are now)."""


class RuleId(StrEnum):
    """Every fixed rule id (the value is what audit records, tests and docs say)."""

    SCHEMA_UNKNOWN_ACTION = "schema.unknown_action"
    SCHEMA_BAD_TARGET = "schema.bad_target"
    PROVENANCE_NOT_IN_CASE = "provenance.not_in_case"
    DENY_LIST_TARGET = "deny_list.target"
    DENY_LIST_CROWN_JEWEL = "deny_list.crown_jewel"
    DENY_LIST_ASSET_ROLE = "deny_list.asset_role"
    DENY_LIST_PRIVILEGE = "deny_list.privilege"
    DENY_LIST_OWN_INDICATOR = "deny_list.own_indicator"
    BOUNDS_BREAKER_OPEN = "bounds.breaker_open"
    BOUNDS_RATE_LIMIT = "bounds.rate_limit"
    AUTONOMY_OFF = "autonomy.off"
    VERDICT_NEEDS_REVIEW = "verdict.needs_review"
    TIER_MODEL_ONLY = "tier.model_only"
    DETECTION_UNMEASURED = "detection.unmeasured"
    DETECTION_LOW_PRECISION = "detection.low_precision"
    TIER_UNPROVEN_INDICATOR = "tier.unproven_indicator"
    EXECUTION_ROW_ALTERED = "execution.row_altered"


TIER_PREFIX: Final = "tier."
"""The family of the policy's autonomy tier rules: ``tier.<rule id>`` (``tier.default`` ...)."""
TIER_FAMILY: Final = f"{TIER_PREFIX}<rule id>"
"""How the tier family is named in listings."""


def tier_rule_id(policy_rule_id: str) -> str:
    """The rule id a Decision carries when the policy's tier rule ``policy_rule_id`` decided."""
    return f"{TIER_PREFIX}{policy_rule_id}"


class Finding(NamedTuple):
    """A rule that objected, and why (a check's answer before it becomes a Decision)."""

    rule_id: RuleId
    reason: str


@dataclass(frozen=True)
class Rule:
    """One row of the rule table."""

    rule_id: str
    """A :class:`RuleId` value, or :data:`TIER_FAMILY` for the policy's tier rules."""
    stage: Stage
    order: int
    """Place in the fixed check order (1 is checked first)."""
    outcomes: tuple[Outcome, ...]
    """What the rule decides when it fires; the tier family's depends on the rule's tier."""
    description: str


_CHECKS: Final[tuple[tuple[str, Stage, tuple[Outcome, ...], str], ...]] = (
    (
        RuleId.SCHEMA_UNKNOWN_ACTION,
        Stage.SCHEMA,
        ("deny",),
        "the action is not in the policy's action catalog",
    ),
    (
        RuleId.SCHEMA_BAD_TARGET,
        Stage.SCHEMA,
        ("deny",),
        "the target is not one well-formed value of the kind the action acts on",
    ),
    (
        RuleId.PROVENANCE_NOT_IN_CASE,
        Stage.PROVENANCE,
        ("deny",),
        "the target is not an entity of this case's normalized alert fields",
    ),
    (
        RuleId.DENY_LIST_TARGET,
        Stage.PROVENANCE,
        ("deny",),
        "the target is on the policy's deny list of exact values",
    ),
    (
        RuleId.DENY_LIST_CROWN_JEWEL,
        Stage.PROVENANCE,
        ("deny",),
        "the target host is a crown jewel in the inventory (deny.crown_jewels)",
    ),
    (
        RuleId.DENY_LIST_ASSET_ROLE,
        Stage.PROVENANCE,
        ("deny",),
        "the target host has a denied role (deny.asset_roles)",
    ),
    (
        RuleId.DENY_LIST_PRIVILEGE,
        Stage.PROVENANCE,
        ("deny",),
        "the target account has a denied privilege (deny.privileges)",
    ),
    (
        RuleId.DENY_LIST_OWN_INDICATOR,
        Stage.PROVENANCE,
        ("deny",),
        "an indicator block (ip, domain, hash, email) on the company's own: an inventory "
        "asset's address or name, an address in deny.own_networks, an identity's mailbox, a "
        "domain or mailbox under an internal domain",
    ),
    (
        RuleId.BOUNDS_BREAKER_OPEN,
        Stage.BOUNDS,
        ("needs_approval",),
        "the action type's circuit breaker is open after failures "
        "(checked again right before execution)",
    ),
    (
        RuleId.BOUNDS_RATE_LIMIT,
        Stage.BOUNDS,
        ("needs_approval",),
        "the action type's rate limit is reached (checked again right before execution)",
    ),
    (
        RuleId.AUTONOMY_OFF,
        Stage.TIER,
        ("needs_approval",),
        "the global kill switch is on: every action needs approval",
    ),
    (
        RuleId.VERDICT_NEEDS_REVIEW,
        Stage.TIER,
        ("needs_approval",),
        "the verdict is unsettled (needs_review)",
    ),
    (
        RuleId.TIER_MODEL_ONLY,
        Stage.TIER,
        ("needs_approval",),
        "only a model proposed the action (no playbook or person did)",
    ),
    (
        RuleId.DETECTION_UNMEASURED,
        Stage.TIER,
        ("needs_approval",),
        "a detection that fired has no measured precision and detections.unmeasured is manual",
    ),
    (
        RuleId.DETECTION_LOW_PRECISION,
        Stage.TIER,
        ("needs_approval",),
        "a detection that fired has measured precision below detections.min_precision",
    ),
    (
        RuleId.TIER_UNPROVEN_INDICATOR,
        Stage.TIER,
        ("needs_approval",),
        "an indicator block (ip, domain, hash, email) with no threat-intelligence match valid "
        "at decision time: nothing shows the indicator is bad",
    ),
    (
        TIER_FAMILY,
        Stage.TIER,
        ("allow", "needs_approval"),
        "the first of the policy's tier rules whose conditions all hold: tier 1 allows, "
        "tiers 2 and 3 need approval",
    ),
    (
        RuleId.EXECUTION_ROW_ALTERED,
        Stage.EXECUTION,
        ("deny",),
        "at execution: the action row no longer matches the hash of the action and target "
        "that were decided (it was edited); every rule above is then decided again",
    ),
)

RULES: Final[tuple[Rule, ...]] = tuple(
    Rule(rule_id, stage, order, outcomes, description)
    for order, (rule_id, stage, outcomes, description) in enumerate(_CHECKS, start=1)
)
"""Every rule in the order ``decide`` checks them; the first that objects decides."""

_BY_ID: Final[dict[str, Rule]] = {rule.rule_id: rule for rule in RULES}


def rule_of(rule_id: str) -> Rule:
    """The table row of a Decision's ``rule_id`` (any ``tier.<rule id>`` is the tier family)."""
    found = _BY_ID.get(rule_id)
    if found is not None:
        return found
    if rule_id.startswith(TIER_PREFIX):
        return _BY_ID[TIER_FAMILY]
    raise KeyError(rule_id)


class RuleListing(NamedTuple):
    """One line of ``tierzero policy rules``: a fixed rule, or one of the policy's tier rules."""

    rule_id: str
    stage: str
    order: int
    outcome: str
    description: str
    tier: int | None = None
    reason: str | None = None


def rule_listing(policy: Policy) -> list[RuleListing]:
    """Every rule in check order: the fixed rules, with the policy's tier rules in file order
    (each with its tier, the outcome it gives and its reason) right after the tier family's
    row."""
    family = _BY_ID[TIER_FAMILY]
    rows: list[RuleListing] = []
    for rule in RULES:
        rows.append(
            RuleListing(
                rule.rule_id,
                rule.stage.value,
                rule.order,
                " | ".join(rule.outcomes),
                rule.description,
            )
        )
        if rule is family:
            rows.extend(
                RuleListing(
                    rule_id=tier_rule_id(tier.id),
                    stage=family.stage.value,
                    order=family.order,
                    outcome="allow" if tier.tier == 1 else "needs_approval",
                    description=f"tier rule '{tier.id}' of policy {policy.version}",
                    tier=tier.tier,
                    reason=tier.reason,
                )
                for tier in policy.tiers
            )
    return rows
