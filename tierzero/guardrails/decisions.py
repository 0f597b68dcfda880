"""Guardrail decisions: pure functions from a proposed action and its context to a Decision.

Checks run in a fixed order and the first that objects decides:

1. ``schema``: the action is in the catalog and the target is a well-formed value of the kind
   the action acts on (one host, one account, one address ...);
2. ``provenance``: the target is an entity of this case's normalized alert fields (never text
   from a command line, subject, URL or a model), and not on a deny list; an indicator block
   (ip, domain, hash, email) is never aimed at the company's own addresses, names or mailboxes;
3. ``bounds``: the action type's circuit breaker is closed and its rate limit not reached;
4. ``tier``: the global kill switch, an unsettled verdict (``needs_review``), an action only a
   model proposed, the detections' measured precision, an indicator block with no
   threat-intelligence match, then the first matching autonomy tier rule: tier 1 allows,
   tiers 2 and 3 need a person's approval.

The caller resolves the target against the inventory first
(:func:`tierzero.tools.inventory.resolve_target`): an IP of an asset is that asset, a mailbox
its identity, so deny lists and tier rules see what is targeted, whatever its kind or spelling.

Every rule id, its stage and its place in this order are listed once, in
:mod:`tierzero.guardrails.rules`. A needs_approval Decision also carries how long a person has
to answer (:func:`tierzero.guardrails.approvals.approval_window`).

The same inputs always give the same Decision; nothing here reads a clock, a file or a model.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from tierzero.correlate.entities import entity_key
from tierzero.guardrails.approvals import approval_window
from tierzero.guardrails.policy import Policy, TierRule
from tierzero.guardrails.rules import Finding, Outcome, RuleId, tier_rule_id
from tierzero.ingest.alert import EntityKind
from tierzero.tools.inventory import Asset, Identity, Indicator, canonical_ip, under_domain

_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$")
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}$"
)
_HASH = re.compile(r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9.-]{1,253}$")
_USER = re.compile(r"^[A-Za-z0-9._@\\$-]{1,256}$")

# Kinds of target an indicator block acts on (block_ip, block_domain, block_hash,
# quarantine_email): these need intel to run alone and must never be the company's own.
INDICATOR_KINDS: frozenset[EntityKind] = frozenset(
    {EntityKind.IP, EntityKind.DOMAIN, EntityKind.HASH, EntityKind.EMAIL}
)


class Decision(BaseModel):
    """What the guardrails decided about one proposed action, and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcome: Outcome
    rule_id: str
    """A :class:`~tierzero.guardrails.rules.RuleId` value or ``tier.<policy tier rule id>``."""
    reason: str
    action: str
    target: str
    action_hash: str
    tier: int | None = None
    approval_window: timedelta | None = None
    """How long a person has to answer (needs_approval only; see ``approval_window``)."""

    def approval_due(self, policy: Policy, now: datetime) -> datetime | None:
        """When the request for a person's approval expires (None: no approval is asked). A
        needs_approval Decision without a window (one revived from a checkpoint written before
        Decisions carried it) gets the shorter of the two windows: approvals fail closed."""
        if self.outcome != "needs_approval":
            return None
        window = self.approval_window
        if window is None:
            window = min(policy.approvals.window, policy.approvals.production_window)
        return now + window


@dataclass(frozen=True)
class Proposal:
    """An action someone (a playbook, a model, an analyst) wants taken on one target."""

    case_id: str
    action: str
    target: str
    requested_by: str


@dataclass(frozen=True)
class ActionContext:
    """Everything a decision may depend on, gathered by the caller."""

    case_entities: frozenset[str]
    """Join keys (``host:lt-fin-042``) of the case's normalized, non-free-text observables."""
    verdict_confidence: float
    detections: tuple[str, ...]
    asset: Asset | None = None
    """The inventory asset the target resolves to, whatever its kind (a host, an asset's IP,
    an internal FQDN); see :func:`tierzero.tools.inventory.resolve_target`."""
    identity: Identity | None = None
    """The identity the target resolves to (an account in any spelling, or a mailbox)."""
    intel: tuple[Indicator, ...] = ()
    """Threat-intelligence matches of the target valid at decision time: the evidence an
    indicator block needs to run without a person (none: it waits for approval)."""
    in_maintenance_window: bool = False
    autonomy_on: bool = True
    executed_in_window: Mapping[str, int] = field(default_factory=dict)
    open_breakers: frozenset[str] = frozenset()
    internal_domains: tuple[str, ...] = ()
    # An unsettled verdict (the analysts disagree, or none could decide) never acts alone.
    verdict_settled: bool = True
    # False when only a model proposed the action (no playbook or person did): a model is one
    # analyst, never the authority, so what it alone wants done waits for a person.
    corroborated: bool = True


def action_hash(case_id: str, action: str, target_key: str) -> str:
    """Binds an approval to this exact action: approving one host never approves another.

    ``target_key`` is the target's canonical entity key (:func:`target_key`), so every spelling
    of one target (``LT-FIN-042``, ``lt-fin-042.northwind.example``) is one action: one row,
    one lease, one rollback.
    """
    body = json.dumps({"case_id": case_id, "action": action, "target": target_key}, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def target_key(
    action: str, target: str, policy: Policy, internal_domains: tuple[str, ...] = ()
) -> str:
    """The canonical key of an action's target (``host:lt-fin-042``); the raw value when the
    action is unknown or the value is not a joinable entity (such a proposal is denied)."""
    spec = policy.catalog.get(action)
    key = entity_key(spec.target_kind, target, internal_domains) if spec is not None else None
    return key if key is not None else target


def decide(proposal: Proposal, ctx: ActionContext, policy: Policy) -> Decision:
    """The guardrails' answer for one proposal (pure: same inputs, same Decision).

    The checks run in the fixed order of the module docstring (and of
    :data:`tierzero.guardrails.rules.RULES`); the first that objects decides.
    """

    def result(outcome: Outcome, rule_id: str, reason: str, tier: int | None = None) -> Decision:
        known = policy.catalog.get(proposal.action)
        window = None
        if outcome == "needs_approval" and known is not None:
            window = approval_window(policy, known, ctx.asset)
        return Decision(
            outcome=outcome,
            rule_id=rule_id,
            reason=reason,
            action=proposal.action,
            target=proposal.target,
            tier=tier,
            action_hash=action_hash(
                proposal.case_id,
                proposal.action,
                target_key(proposal.action, proposal.target, policy, ctx.internal_domains),
            ),
            approval_window=window,
        )

    # 1. schema
    spec = policy.catalog.get(proposal.action)
    if spec is None:
        return result(
            "deny",
            RuleId.SCHEMA_UNKNOWN_ACTION,
            f"'{proposal.action[:80]}' is not in the action catalog",
        )
    kind = spec.target_kind
    if not well_formed(kind, proposal.target):
        return result(
            "deny",
            RuleId.SCHEMA_BAD_TARGET,
            f"{proposal.target[:80]!r} is not one well-formed {kind.value}",
        )

    # 2. provenance (and the deny lists)
    key = entity_key(kind, proposal.target, ctx.internal_domains)
    if key is None or key not in ctx.case_entities:
        return result(
            "deny",
            RuleId.PROVENANCE_NOT_IN_CASE,
            f"{kind.value} {proposal.target[:80]!r} is not an entity of this case's "
            "normalized alert fields",
        )
    denied = _deny_listed(proposal.target, ctx, policy)
    if denied:
        return result("deny", *denied)
    own = _own_indicator(kind, proposal.target, ctx, policy)
    if own:
        return result("deny", *own)

    # 3. bounds
    bound = bound_reached(proposal.action, policy, ctx.executed_in_window, ctx.open_breakers)
    if bound:
        return result("needs_approval", *bound)

    # 4. tier
    if not ctx.autonomy_on:
        return result(
            "needs_approval",
            RuleId.AUTONOMY_OFF,
            "autonomy is switched off: every action needs approval",
        )
    if not ctx.verdict_settled:
        return result(
            "needs_approval",
            RuleId.VERDICT_NEEDS_REVIEW,
            "the verdict is unsettled (needs_review): a person decides before anything runs",
        )
    if not ctx.corroborated:
        return result(
            "needs_approval",
            RuleId.TIER_MODEL_ONLY,
            "only the model proposed this action; a person confirms before it runs",
        )
    precision = _weakest_detection(ctx.detections, policy)
    if precision is not None:
        return result("needs_approval", *precision)
    unproven = _unproven_indicator(kind, proposal.target, ctx)
    if unproven:
        return result("needs_approval", *unproven)
    rule = first_tier(proposal, ctx, policy)
    if rule.tier == 1:
        return result("allow", tier_rule_id(rule.id), rule.reason, tier=1)
    return result("needs_approval", tier_rule_id(rule.id), rule.reason, tier=rule.tier)


def bound_reached(
    action: str,
    policy: Policy,
    executed_in_window: Mapping[str, int],
    open_breakers: frozenset[str],
) -> Finding | None:
    """The bounds check, at decision time and again right before execution: the action type's
    circuit breaker is open, or its rate limit is reached (``executed_in_window``: executions
    per rate-limited action within its window)."""
    if action in open_breakers:
        return Finding(
            RuleId.BOUNDS_BREAKER_OPEN,
            f"the circuit breaker for {action} is open after failures",
        )
    limit = policy.rate_limits.get(action)
    done = executed_in_window.get(action, 0)
    if limit is not None and done >= limit.max:
        return Finding(
            RuleId.BOUNDS_RATE_LIMIT,
            f"{done} {action} already ran in the last {limit.per}; the limit is {limit.max}",
        )
    return None


def well_formed(kind: EntityKind, value: str) -> bool:
    """One value of the kind, and nothing else (no lists, spaces or control characters)."""
    if not value or value != value.strip() or len(value) > 320:
        return False
    if kind is EntityKind.IP:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            return False
        return True
    pattern = {
        EntityKind.HOST: _HOST,
        EntityKind.DOMAIN: _DOMAIN,
        EntityKind.HASH: _HASH,
        EntityKind.EMAIL: _EMAIL,
        EntityKind.USER: _USER,
    }.get(kind)
    return bool(pattern and pattern.match(value))


def _deny_listed(target: str, ctx: ActionContext, policy: Policy) -> Finding | None:
    deny = policy.deny
    listed = {t.casefold() for t in deny.targets}
    # The target as spelled, and the names of what it resolved to: listing DC-01 also
    # covers its address and FQDN, listing an account also covers its mailbox.
    names = [target]
    if ctx.asset is not None:
        names += [ctx.asset.hostname, *ctx.asset.ips]
    if ctx.identity is not None:
        names += [ctx.identity.user, *([ctx.identity.email] if ctx.identity.email else [])]
    hit = next((name for name in names if name.casefold() in listed), None)
    if hit is not None:
        named = hit if hit == target else f"{target} ({hit})"
        return Finding(RuleId.DENY_LIST_TARGET, f"{named} is on the policy's deny list")
    if ctx.asset is not None:
        if deny.crown_jewels and ctx.asset.crown_jewel:
            return Finding(RuleId.DENY_LIST_CROWN_JEWEL, f"{ctx.asset.hostname} is a crown jewel")
        if ctx.asset.role in deny.asset_roles:
            return Finding(
                RuleId.DENY_LIST_ASSET_ROLE, f"{ctx.asset.hostname} is a {ctx.asset.role}"
            )
    if ctx.identity is not None and ctx.identity.privilege in deny.privileges:
        return Finding(
            RuleId.DENY_LIST_PRIVILEGE,
            f"{ctx.identity.user} is a {ctx.identity.privilege} account",
        )
    return None


def _own_indicator(
    kind: EntityKind, target: str, ctx: ActionContext, policy: Policy
) -> Finding | None:
    """An indicator block aimed at the company itself: an inventory asset's address or name,
    an address in ``deny.own_networks``, a domain or mailbox under an internal domain, an
    identity's mailbox. Blocking these cuts the company off from itself, whatever intel says."""
    if kind not in INDICATOR_KINDS:
        return None
    why: str | None = None
    if ctx.asset is not None:
        why = f"is {ctx.asset.hostname} in the inventory"
    elif ctx.identity is not None:
        why = f"is the mailbox of {ctx.identity.user}"
    elif kind is EntityKind.IP and (ip := canonical_ip(target)) is not None:
        address = ipaddress.ip_address(ip)
        network = next((n for n in policy.deny.own_networks if address in n), None)
        if network is not None:
            why = f"is inside the company's network {network} (deny.own_networks)"
    elif kind in (EntityKind.DOMAIN, EntityKind.EMAIL):
        domain = target.rpartition("@")[2]
        if under_domain(domain, ctx.internal_domains):
            why = f"is under the company's own domain {domain.lower()}"
    if why is None:
        return None
    return Finding(
        RuleId.DENY_LIST_OWN_INDICATOR,
        f"{kind.value} {target[:80]} {why}: the company's own is never blocked as an indicator",
    )


def _unproven_indicator(kind: EntityKind, target: str, ctx: ActionContext) -> Finding | None:
    """An indicator block with no threat-intelligence match: nothing shows the indicator is bad,
    so a person confirms before it runs."""
    if kind not in INDICATOR_KINDS or ctx.intel:
        return None
    return Finding(
        RuleId.TIER_UNPROVEN_INDICATOR,
        f"no threat intelligence marks {kind.value} {target[:80]} as bad; "
        "a person confirms before it is blocked",
    )


def _weakest_detection(detections: tuple[str, ...], policy: Policy) -> Finding | None:
    config = policy.detections
    for detection in sorted(detections):
        measured = config.measured.get(detection)
        if measured is None and config.unmeasured == "manual":
            return Finding(
                RuleId.DETECTION_UNMEASURED,
                f"{detection} has no measured precision; automation needs one",
            )
        if measured is not None and measured < config.min_precision:
            return Finding(
                RuleId.DETECTION_LOW_PRECISION,
                f"{detection} has measured precision {measured:.2f} < {config.min_precision:.2f}",
            )
    return None


def first_tier(proposal: Proposal, ctx: ActionContext, policy: Policy) -> TierRule:
    """The first tier rule whose conditions all hold (the last rule always holds)."""
    spec = policy.catalog[proposal.action]
    for rule in policy.tiers:
        w = rule.when
        checks = (
            not w.action_class or spec.action_class in w.action_class,
            not w.target or spec.target in w.target,
            not w.environment or (ctx.asset is not None and ctx.asset.environment in w.environment),
            w.min_criticality is None
            or (
                ctx.asset is not None
                and policy.criticality_at_least(ctx.asset.criticality, w.min_criticality)
            ),
            not w.privilege or (ctx.identity is not None and ctx.identity.privilege in w.privilege),
            w.in_maintenance_window is None or w.in_maintenance_window == ctx.in_maintenance_window,
            w.confidence_below is None or ctx.verdict_confidence < w.confidence_below,
        )
        if all(checks):
            return rule
    return policy.tiers[-1]
