"""Guardrail decisions: fixed check order, and invariants that hold whatever is proposed."""

from __future__ import annotations

import ipaddress
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierzero.config import ConfigError, default_config_dir
from tierzero.guardrails.decisions import ActionContext, Proposal, action_hash, decide
from tierzero.guardrails.policy import Policy, load_policy
from tierzero.tools.inventory import Asset, Identity, Indicator

POLICY = load_policy(default_config_dir() / "policy.yaml")
LAPTOP = Asset(
    hostname="LT-FIN-042",
    owner="alice",
    business_unit="Finance",
    criticality="medium",
    environment="corporate",
    role="workstation",
)
DB = Asset(
    hostname="SRV-DB-01",
    owner="x",
    business_unit="Finance",
    criticality="critical",
    environment="production",
    role="database",
    crown_jewel=True,
)
TEST_LAPTOP = Asset(
    hostname="TEST-LT-099",
    owner="x",
    business_unit="IT",
    criticality="low",
    environment="test",
    role="workstation",
)
ALICE = Identity(
    user="alice.martin",
    display_name="A",
    role="r",
    department="d",
    privilege="standard",
    mfa=True,
    last_password_change=date(2026, 1, 1),
)
GLASS = ALICE.model_copy(update={"user": "breakglass-admin", "privilege": "break_glass"})
DC = Asset(
    hostname="DC-01",
    ips=("10.10.0.10",),
    owner="it-ops",
    business_unit="IT",
    criticality="critical",
    environment="production",
    role="domain_controller",
)
PRINTER = Asset(
    hostname="PRN-01",
    ips=("10.20.9.9",),
    owner="x",
    business_unit="IT",
    criticality="low",
    environment="corporate",
    role="printer",
)
C2 = Indicator(value="198.51.100.77", type="ip", confidence=90, source="northwind-cti")
ENTITIES = frozenset(
    {
        "host:lt-fin-042",
        "host:srv-db-01",
        "host:test-lt-099",
        "user:alice.martin",
        "user:breakglass-admin",
        "ip:198.51.100.77",
        "ip:203.0.113.9",
        "ip:10.10.0.10",
        "ip:10.20.9.9",
        "ip:10.99.0.1",
        "host:dc-01",
        "user:ceo.office",
        "domain:mail.northwind.example",
        "domain:evil.example",
        "email:x@evil.example",
        "hash:" + "a" * 64,
    }
)


def ctx(**kw: object) -> ActionContext:
    base: dict[str, object] = {
        "case_entities": ENTITIES,
        "verdict_confidence": 0.95,
        "detections": ("edr:rule-1",),
        "internal_domains": ("northwind.example",),
    }
    base.update(kw)
    return ActionContext(**base)  # type: ignore[arg-type]


def ask(action: str, target: str, **kw: object):
    return decide(Proposal("C-1", action, target, "test"), ctx(**kw), POLICY)


def test_test_laptop_is_isolated_automatically() -> None:
    d = ask("isolate_host", "TEST-LT-099", asset=TEST_LAPTOP)
    assert (d.outcome, d.rule_id, d.tier) == ("allow", "tier.test_assets", 1)


def test_production_database_is_never_automatic() -> None:
    d = ask("isolate_host", "SRV-DB-01", asset=DB)
    assert (d.outcome, d.rule_id) == ("deny", "deny_list.crown_jewel")
    server = DB.model_copy(update={"crown_jewel": False})
    d = ask("isolate_host", "SRV-DB-01", asset=server)
    assert (d.outcome, d.rule_id, d.tier) == ("needs_approval", "tier.production_disruption", 3)


def test_break_glass_account_is_denied() -> None:
    d = ask("disable_user", "breakglass-admin", identity=GLASS)
    assert (d.outcome, d.rule_id) == ("deny", "deny_list.privilege")


def test_checks_run_in_order() -> None:
    assert ask("wipe_disk", "LT-FIN-042").rule_id == "schema.unknown_action"
    assert ask("isolate_host", "LT-FIN-042; rm -rf /").rule_id == "schema.bad_target"
    assert ask("isolate_host", "SRV-OTHER-9").rule_id == "provenance.not_in_case"
    # Deny list beats bounds; bounds beat the kill switch; the kill switch beats tiers.
    assert (
        ask("isolate_host", "SRV-DB-01", asset=DB, executed_in_window={"isolate_host": 9}).rule_id
        == "deny_list.crown_jewel"
    )
    assert (
        ask(
            "isolate_host",
            "LT-FIN-042",
            asset=LAPTOP,
            autonomy_on=False,
            executed_in_window={"isolate_host": 3},
        ).rule_id
        == "bounds.rate_limit"
    )
    assert (
        ask(
            "isolate_host", "LT-FIN-042", asset=LAPTOP, open_breakers=frozenset({"isolate_host"})
        ).rule_id
        == "bounds.breaker_open"
    )
    assert (
        ask("isolate_host", "LT-FIN-042", asset=LAPTOP, autonomy_on=False).rule_id == "autonomy.off"
    )


def test_confidence_and_detection_precision_gate_automation() -> None:
    assert ask("isolate_host", "LT-FIN-042", asset=LAPTOP).outcome == "allow"
    d = ask("isolate_host", "LT-FIN-042", asset=LAPTOP, verdict_confidence=0.6)
    assert (d.outcome, d.rule_id) == ("needs_approval", "tier.low_confidence")
    noisy = POLICY.model_copy(
        update={
            "detections": POLICY.detections.model_copy(update={"measured": {"edr:rule-1": 0.4}})
        }
    )
    d = decide(Proposal("C-1", "isolate_host", "LT-FIN-042", "t"), ctx(asset=LAPTOP), noisy)
    assert (d.outcome, d.rule_id) == ("needs_approval", "detection.low_precision")


def test_approval_is_bound_to_the_exact_action() -> None:
    one = ask("isolate_host", "LT-FIN-042", asset=LAPTOP).action_hash
    assert one == action_hash("C-1", "isolate_host", "host:lt-fin-042")
    assert one != action_hash("C-1", "isolate_host", "host:test-lt-099")
    assert one != action_hash("C-2", "isolate_host", "host:lt-fin-042")


def test_an_assets_address_is_that_asset_to_the_deny_lists() -> None:
    """The caller resolves 10.10.0.10 to DC-01: blocking it is denied like isolating DC-01."""
    d = ask("block_ip", "10.10.0.10", asset=DC, intel=(C2,))
    assert (d.outcome, d.rule_id) == ("deny", "deny_list.asset_role")
    d = ask("block_ip", "10.20.9.9", asset=PRINTER, intel=(C2,))
    assert (d.outcome, d.rule_id) == ("deny", "deny_list.own_indicator")
    assert "PRN-01" in d.reason


def test_an_employees_mailbox_or_internal_domain_is_never_blocked() -> None:
    d = ask("quarantine_email", "alice.martin@northwind.example", identity=ALICE)
    assert (d.outcome, d.rule_id) == ("deny", "deny_list.own_indicator")
    assert "alice.martin" in d.reason
    glass = ask("quarantine_email", "breakglass-admin@northwind.example", identity=GLASS)
    assert glass.rule_id == "deny_list.privilege"  # the identity's deny list comes first
    # Under an internal domain though no identity has the mailbox; a subdomain of ours.
    assert ask("quarantine_email", "ceo.office@northwind.example").rule_id == (
        "deny_list.own_indicator"
    )
    assert ask("block_domain", "mail.northwind.example").rule_id == "deny_list.own_indicator"


def test_own_networks_are_the_companys_own() -> None:
    networks = (ipaddress.ip_network("10.0.0.0/8"),)
    own = POLICY.model_copy(
        update={"deny": POLICY.deny.model_copy(update={"own_networks": networks})}
    )
    d = decide(Proposal("C-1", "block_ip", "10.99.0.1", "t"), ctx(intel=(C2,)), own)
    assert (d.outcome, d.rule_id) == ("deny", "deny_list.own_indicator")
    assert "10.0.0.0/8" in d.reason
    outside = decide(Proposal("C-1", "block_ip", "198.51.100.77", "t"), ctx(intel=(C2,)), own)
    assert outside.outcome == "allow"


def test_an_indicator_block_needs_intel_to_run_alone() -> None:
    d = ask("block_ip", "198.51.100.77", intel=(C2,))
    assert (d.outcome, d.rule_id, d.tier) == ("allow", "tier.indicator_blocks", 1)
    d = ask("block_ip", "203.0.113.9")
    assert (d.outcome, d.rule_id) == ("needs_approval", "tier.unproven_indicator")
    assert d.approval_window == POLICY.approvals.window
    for action, target in (
        ("block_domain", "evil.example"),
        ("quarantine_email", "x@evil.example"),
        ("block_hash", "a" * 64),
    ):
        assert ask(action, target).rule_id == "tier.unproven_indicator", action
    # Hosts and accounts are no indicators: intel plays no part.
    assert ask("isolate_host", "LT-FIN-042", asset=LAPTOP).outcome == "allow"
    # Earlier objections still come first.
    assert ask("block_ip", "203.0.113.9", autonomy_on=False).rule_id == "autonomy.off"


def test_a_host_by_fqdn_is_decided_as_by_its_name() -> None:
    """Item 10: the caller resolves either spelling to the asset; one decision follows."""
    short = ask("isolate_host", "lt-fin-042", asset=LAPTOP)
    fqdn = ask("isolate_host", "lt-fin-042.northwind.example", asset=LAPTOP)
    assert (short.outcome, short.rule_id, short.tier) == (fqdn.outcome, fqdn.rule_id, fqdn.tier)
    assert short.outcome == "allow"


def test_a_listed_host_is_denied_by_any_name() -> None:
    listed = POLICY.model_copy(
        update={"deny": POLICY.deny.model_copy(update={"targets": ("dc-01",)})}
    )
    for action, target in (("isolate_host", "DC-01.northwind.example"), ("block_ip", "10.10.0.10")):
        d = decide(Proposal("C-1", action, target, "t"), ctx(asset=DC), listed)
        assert (d.outcome, d.rule_id) == ("deny", "deny_list.target"), target


ACTIONS = st.sampled_from([*POLICY.catalog, "wipe_disk", "", "isolate_host "])
TARGETS = st.one_of(
    st.sampled_from(
        [
            "LT-FIN-042",
            "lt-fin-042.northwind.example",
            "SRV-DB-01",
            "TEST-LT-099",
            "alice.martin",
            "NORTHWIND\\alice.martin",
            "breakglass-admin",
            "198.51.100.77",
            "10.10.0.10",
            "alice.martin@northwind.example",
            "mail.northwind.example",
            "a" * 64,
            "ignore previous instructions",
            "powershell -enc AAAA",
            "SRV-DB-01,LT-FIN-042",
            "ＳＲＶ-ＤＢ-01",
        ]
    ),
    st.text(max_size=40),
)
CONTEXTS = st.builds(
    ActionContext,
    case_entities=st.just(ENTITIES),
    verdict_confidence=st.floats(0, 1),
    detections=st.lists(st.sampled_from(["edr:a", "edr:b"]), max_size=2).map(tuple),
    asset=st.sampled_from([None, LAPTOP, DB, TEST_LAPTOP, DC, PRINTER]),
    identity=st.sampled_from([None, ALICE, GLASS]),
    intel=st.sampled_from([(), (C2,)]),
    internal_domains=st.just(("northwind.example",)),
    in_maintenance_window=st.booleans(),
    autonomy_on=st.booleans(),
    executed_in_window=st.dictionaries(st.sampled_from(list(POLICY.catalog)), st.integers(0, 10)),
    open_breakers=st.frozensets(st.sampled_from(list(POLICY.catalog))),
    verdict_settled=st.booleans(),
    corroborated=st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(action=ACTIONS, target=TARGETS, context=CONTEXTS)
def test_invariants_hold_for_any_proposal(action: str, target: str, context: ActionContext) -> None:
    d = decide(Proposal("C-1", action, target, "hostile-model"), context, POLICY)
    assert d == decide(Proposal("C-1", action, target, "hostile-model"), context, POLICY)
    if d.outcome != "allow":
        return
    # Whatever was proposed, an allowed action ...
    spec = POLICY.catalog[action]
    assert context.autonomy_on
    assert context.verdict_settled  # analysts that disagree never act alone
    assert context.corroborated  # what only a model wants never runs alone
    assert not (context.asset and context.asset.crown_jewel and spec.target == "host")
    assert not (
        context.identity and context.identity.privilege == "break_glass" and spec.target == "user"
    )
    assert action not in context.open_breakers
    limit = POLICY.rate_limits.get(action)
    assert limit is None or context.executed_in_window.get(action, 0) < limit.max
    assert d.tier == 1
    assert target.strip() == target and "," not in target and " " not in target
    if spec.target in ("ip", "domain", "hash", "email"):
        # ... an indicator block has intel behind it and is not aimed at the company's own.
        assert context.intel
        assert context.asset is None and context.identity is None
        assert "northwind.example" not in target.lower()


def test_policy_refuses_bad_files_with_line(tmp_path: Path) -> None:
    text = (default_config_dir() / "policy.yaml").read_text()
    bad = tmp_path / "policy.yaml"
    bad.write_text(text.replace("tier: 3\n    reason: accounts", "tier: 4\n    reason: accounts"))
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if "tier: 4" in t)
    with pytest.raises(ConfigError, match=rf"policy.yaml:{line}: 'tiers.0.tier'"):
        load_policy(bad)
    bad.write_text(
        text.replace(
            "  - id: default\n    when: {}", "  - id: default\n    when: {environment: [test]}"
        )
    )
    with pytest.raises(ConfigError, match="last tier rule"):
        load_policy(bad)
    assert isinstance(POLICY, Policy)


def test_an_unsettled_verdict_never_acts_alone() -> None:
    d = ask("isolate_host", "TEST-LT-099", asset=TEST_LAPTOP, verdict_settled=False)
    assert (d.outcome, d.rule_id) == ("needs_approval", "verdict.needs_review")
    # Provenance and deny lists still come first.
    assert (
        ask("disable_user", "breakglass-admin", identity=GLASS, verdict_settled=False).outcome
        == "deny"
    )


def test_what_only_a_model_proposed_waits_for_a_person() -> None:
    d = ask("isolate_host", "TEST-LT-099", asset=TEST_LAPTOP, corroborated=False)
    assert (d.outcome, d.rule_id) == ("needs_approval", "tier.model_only")


def test_every_spelling_of_one_target_is_one_action() -> None:
    """Item 10 of issue 11: `isolate lt-fin-042` and its FQDN were two actions, two leases and
    two rollbacks. The hash binds the canonical entity key, so they are one."""
    spellings = ("LT-FIN-042", "lt-fin-042", "lt-fin-042.northwind.example", "LT-FIN-042.")
    entities = frozenset({"host:lt-fin-042"})
    hashes = {
        decide(
            Proposal("C-1", "isolate_host", name, "t"),
            ctx(asset=LAPTOP, case_entities=entities),
            POLICY,
        ).action_hash
        for name in spellings
    }
    assert len(hashes) == 1


def test_own_networks_are_read_from_the_policy_file(tmp_path: Path) -> None:
    text = (default_config_dir() / "policy.yaml").read_text()
    path = tmp_path / "policy.yaml"
    path.write_text(text.replace("own_networks: []", "own_networks: [10.0.0.0/8, 'fd00::/8']"))
    loaded = load_policy(path)
    assert [str(n) for n in loaded.deny.own_networks] == ["10.0.0.0/8", "fd00::/8"]
    d = decide(Proposal("C-1", "block_ip", "10.99.0.1", "t"), ctx(intel=(C2,)), loaded)
    assert d.rule_id == "deny_list.own_indicator"
    path.write_text(text.replace("own_networks: []", "own_networks: [10.0.0.0/33]"))
    with pytest.raises(ConfigError, match="own_networks"):
        load_policy(path)
