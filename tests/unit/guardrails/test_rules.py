"""The rule table: one home for every rule id, in the order ``decide`` really checks; the
approval window on the Decision; one bounds check for decision and execution."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from typer.testing import CliRunner

from tierzero.agents.graph import checkpoint_serde
from tierzero.cli import app
from tierzero.config import default_config_dir
from tierzero.guardrails.approvals import approval_window
from tierzero.guardrails.decisions import (
    ActionContext,
    Decision,
    Proposal,
    bound_reached,
    decide,
)
from tierzero.guardrails.policy import Policy, load_policy
from tierzero.guardrails.rules import (
    RULES,
    TIER_FAMILY,
    TIER_PREFIX,
    RuleId,
    Stage,
    rule_listing,
    rule_of,
    tier_rule_id,
)
from tierzero.tools.inventory import Asset, Identity

POLICY = load_policy(default_config_dir() / "policy.yaml")
SERVER = Asset(
    hostname="SRV-FS-01",
    owner="x",
    business_unit="IT",
    criticality="high",
    environment="production",
    role="file_server",
)
LAPTOP = SERVER.model_copy(
    update={"hostname": "LT-FIN-042", "environment": "corporate", "criticality": "medium"}
)
ADMIN = Identity.model_validate(
    {
        "user": "alice.martin",
        "display_name": "A",
        "role": "r",
        "department": "d",
        "privilege": "admin",
        "mfa": True,
        "last_password_change": "2026-01-01",
    }
)
ENTITIES = frozenset({"host:srv-fs-01", "host:lt-fin-042", "user:alice.martin"})
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_every_rule_id_has_one_row_in_check_order() -> None:
    ids = [rule.rule_id for rule in RULES]
    assert len(ids) == len(set(ids))
    assert set(ids) == {*RuleId, TIER_FAMILY}
    assert [rule.order for rule in RULES] == list(range(1, len(RULES) + 1))
    stages = [rule.stage for rule in RULES]
    assert stages == sorted(stages, key=list(Stage).index)  # stages run in their order
    decided = [rule for rule in RULES if rule.stage is not Stage.EXECUTION]
    assert decided[-1].rule_id == TIER_FAMILY  # then, at execution only, the row check
    assert rule_of("tier.default").rule_id == TIER_FAMILY
    assert rule_of("tier.model_only").rule_id == RuleId.TIER_MODEL_ONLY
    assert tier_rule_id("default") == "tier.default"


def test_decide_checks_in_the_order_of_the_table() -> None:
    """Start from a proposal every rule objects to and lift one objection at a time: the rule
    ids come out in the table's order."""
    policy = POLICY.model_copy(
        update={
            "deny": POLICY.deny.model_copy(update={"targets": ("SRV-FS-01",)}),
            "detections": POLICY.detections.model_copy(
                update={"unmeasured": "manual", "measured": {"edr:b": 0.1}}
            ),
        }
    )
    jewel_dc = SERVER.model_copy(update={"crown_jewel": True, "role": "domain_controller"})
    glass = ADMIN.model_copy(update={"privilege": "break_glass"})
    worst = ActionContext(
        case_entities=frozenset({"host:srv-fs-01", "ip:10.10.1.15", "ip:203.0.113.9"}),
        verdict_confidence=0.95,
        detections=("edr:a", "edr:b"),
        asset=jewel_dc,
        identity=glass,
        autonomy_on=False,
        executed_in_window={"isolate_host": 99},
        open_breakers=frozenset({"isolate_host"}),
        verdict_settled=False,
        corroborated=False,
    )
    steps: list[tuple[str, str, ActionContext, Policy]] = [
        ("wipe_disk", "SRV-FS-01", worst, policy),
        ("isolate_host", "SRV-FS-01; rm", worst, policy),
        ("isolate_host", "SRV-OTHER-9", worst, policy),
    ]
    lifted = [
        {},
        {"asset": jewel_dc},  # deny list target lifted by the policy below
        {"asset": jewel_dc.model_copy(update={"crown_jewel": False})},
        {"asset": SERVER},
        {"identity": None},
        {"open_breakers": frozenset()},
        {"executed_in_window": {}},
        {"autonomy_on": True},
        {"verdict_settled": True},
        {"corroborated": True},
        {"detections": ("edr:b",)},
        {"detections": ()},
    ]
    # The indicator rules never object to isolate_host: a block_ip probes each at its place,
    # before the isolation of the same step. The server's own address, once the deny lists
    # pass; an outside address without intel, once everything before the tier rules passes.
    probes = {4: ("10.10.1.15", {}), len(lifted) - 1: ("203.0.113.9", {"asset": None})}
    context = worst
    for i, change in enumerate(lifted):
        context = replace(context, **change)  # type: ignore[arg-type]
        pol = policy if i == 0 else policy.model_copy(update={"deny": POLICY.deny})
        if i in probes:
            address, probe = probes[i]
            steps.append(("block_ip", address, replace(context, **probe), pol))  # type: ignore[arg-type]
        steps.append(("isolate_host", "SRV-FS-01", context, pol))
    seen = [
        decide(Proposal("C-1", action, target, "playbook"), ctx, pol).rule_id
        for action, target, ctx, pol in steps
    ]
    assert [rule_of(rule_id).order for rule_id in seen] == [
        rule.order for rule in RULES if rule.stage is not Stage.EXECUTION
    ]
    assert seen[-1] == "tier.production_disruption"


def test_listing_has_the_fixed_rules_with_the_policys_tier_rules_after_their_family() -> None:
    rows = rule_listing(POLICY)
    assert [r.rule_id for r in rows if r.tier is None] == [r.rule_id for r in RULES]
    family = [r.rule_id for r in rows].index(TIER_FAMILY)
    tiers = rows[family + 1 : family + 1 + len(POLICY.tiers)]
    assert [(r.rule_id, r.tier, r.reason) for r in tiers] == [
        (f"tier.{t.id}", t.tier, t.reason) for t in POLICY.tiers
    ]
    assert {r.outcome for r in tiers if r.tier == 1} == {"allow"}
    assert {r.outcome for r in tiers if r.tier != 1} == {"needs_approval"}


def test_policy_rules_command() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["policy", "rules", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["policy_version"] == POLICY.version
    listed = {r["rule_id"]: r for r in document["rules"]}
    assert set(RuleId) <= set(listed)
    assert listed["bounds.rate_limit"]["stage"] == "bounds"
    assert (listed["tier.default"]["tier"], listed["tier.default"]["outcome"]) == (
        2,
        "needs_approval",
    )
    text = runner.invoke(app, ["policy", "rules", "--config", str(default_config_dir())])
    assert text.exit_code == 0, text.output
    assert "provenance.not_in_case" in text.stdout and "tier.default" in text.stdout


def test_the_approval_window_follows_the_target_not_the_tier() -> None:
    def ask(action: str, target: str, **kw: object) -> Decision:
        base: dict[str, object] = {
            "case_entities": ENTITIES,
            "verdict_confidence": 0.95,
            "detections": (),
        }
        context = ActionContext(**{**base, **kw})  # type: ignore[arg-type]
        return decide(Proposal("C-1", action, target, "playbook"), context, POLICY)

    short, normal = POLICY.approvals.production_window, POLICY.approvals.window
    server = ask("isolate_host", "SRV-FS-01", asset=SERVER)
    assert (server.rule_id, server.tier, server.approval_window) == (
        "tier.production_disruption",
        3,
        short,
    )
    # Short on a production host whatever decided it; normal for an account, even at tier 3.
    assert ask("isolate_host", "SRV-FS-01", asset=SERVER, autonomy_on=False).approval_window == (
        short
    )
    account = ask("disable_user", "alice.martin", identity=ADMIN)
    assert (account.tier, account.approval_window) == (3, normal)
    laptop = ask("isolate_host", "LT-FIN-042", asset=LAPTOP, verdict_confidence=0.5)
    assert (laptop.tier, laptop.approval_window) == (2, normal)
    # Only a request for approval has a window.
    assert ask("isolate_host", "LT-FIN-042", asset=LAPTOP).approval_window is None
    assert ask("isolate_host", "SRV-OTHER-9").approval_window is None
    spec = POLICY.catalog["block_ip"]
    assert approval_window(POLICY, spec, SERVER) == normal  # not a host target

    assert server.approval_due(POLICY, NOW) == NOW + short
    assert ask("isolate_host", "LT-FIN-042", asset=LAPTOP).approval_due(POLICY, NOW) is None
    # A Decision from an older checkpoint (no window): the shorter window, failing closed.
    legacy = laptop.model_copy(update={"approval_window": None})
    assert legacy.approval_due(POLICY, NOW) == NOW + min(short, normal)


def test_decisions_with_a_window_survive_the_checkpoint_serializer() -> None:
    serde = checkpoint_serde()
    decision = decide(
        Proposal("C-1", "isolate_host", "SRV-FS-01", "playbook"),
        ActionContext(case_entities=ENTITIES, verdict_confidence=0.95, detections=(), asset=SERVER),
        POLICY,
    )
    revived = serde.loads_typed(serde.dumps_typed(decision))
    assert revived == decision and revived.approval_window == timedelta(minutes=5)
    assert decision.model_dump(mode="json")["rule_id"] == "tier.production_disruption"
    assert type(decision.rule_id) is str


def test_decision_and_execution_share_one_bounds_check() -> None:
    limit = POLICY.rate_limits["isolate_host"]
    found = bound_reached("isolate_host", POLICY, {"isolate_host": limit.max}, frozenset())
    assert found == (
        RuleId.BOUNDS_RATE_LIMIT,
        f"{limit.max} isolate_host already ran in the last {limit.per}; the limit is {limit.max}",
    )
    assert bound_reached("isolate_host", POLICY, {}, frozenset({"isolate_host"})) == (
        RuleId.BOUNDS_BREAKER_OPEN,
        "the circuit breaker for isolate_host is open after failures",
    )
    assert bound_reached("isolate_host", POLICY, {"isolate_host": 0}, frozenset()) is None
    assert bound_reached("block_ip", POLICY, {"block_ip": 10**6}, frozenset()) is None


def test_no_policy_tier_rule_can_take_a_fixed_rule_id() -> None:
    """`tier.model_only` is a fixed rule; a policy tier rule with id model_only would make two
    rules answer to one audited id."""
    from tierzero.guardrails.policy import RESERVED_TIER_IDS

    fixed_tier_ids = {
        r.value.removeprefix(TIER_PREFIX) for r in RuleId if r.startswith(TIER_PREFIX)
    }
    assert fixed_tier_ids == RESERVED_TIER_IDS
    policy = load_policy(default_config_dir() / "policy.yaml")
    clash = policy.tiers[0].model_copy(update={"id": "model_only"})
    data = policy.model_dump(by_alias=True)
    data["tiers"] = [clash.model_dump(), *data["tiers"]]
    try:
        Policy.model_validate(data)
    except ValueError as exc:
        assert "model_only" in str(exc)
    else:
        raise AssertionError("a tier rule named model_only was accepted")
