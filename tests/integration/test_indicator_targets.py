"""Indicator blocks on the company's own, through the real graph (issue 11, item 2).

The attack: in the example intrusion (its alerts name the domain controller's address
10.10.0.10 and Alice's mailbox), an agent proposed ``block_ip 10.10.0.10`` and
``quarantine_email alice.martin@northwind.example``; both were allowed at tier 1 as "a
known-bad indicator" and executed, though nothing marked them bad. Now targets of every kind
resolve to inventory assets and identities before the deny lists and tiers, and an automatic
indicator block needs a threat-intelligence match.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.conftest import EXAMPLES, NOW
from tierzero.agents.context import RunContext
from tierzero.agents.state import CaseState, Recommendation
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.tools.connectors import LabConnector
from tierzero.usecases.runtime import graph_session
from tierzero.usecases.triage import triage

PROPOSALS = (
    ("block_ip", "10.10.0.10"),  # DC-01's own address
    ("quarantine_email", "alice.martin@northwind.example"),  # all mail from an employee
    ("block_ip", "10.20.4.42"),  # LT-FIN-042's address
    ("block_domain", "mail.northwlnd-billing.example"),  # outside, but no intel names it
    ("block_ip", "198.51.100.77"),  # the loader's C2 server in threat intel
)


class ScriptedRecommender:
    """A scripted fake agent (no model): proposes the same indicator blocks on every case,
    under a playbook-like name, so nothing but the guardrails stands in their way."""

    name = "scripted-blocker"

    def __call__(self, state: CaseState, ctx: RunContext) -> tuple[Recommendation, ...]:
        return tuple(
            Recommendation(
                action=action,
                action_class=ctx.policy.catalog[action].action_class,
                target_kind=ctx.policy.catalog[action].target,
                target=target,
                reason="a known-bad indicator",
                requested_by=self.name,
            )
            for action, target in PROPOSALS
        )


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The examples triaged with the scripted agent (the intrusion is the case naming both)."""
    monkeypatch = pytest.MonkeyPatch()
    real_session = graph_session

    def scripted_session(store, settings, now, model="env"):  # type: ignore[no-untyped-def]
        session = real_session(store, settings, now, model)
        app, ctx = session.__enter__()

        class Wrapped:
            def __enter__(self):  # type: ignore[no-untyped-def]
                return app, replace(ctx, recommender=ScriptedRecommender())

            def __exit__(self, *exc):  # type: ignore[no-untyped-def]
                return session.__exit__(*exc)

        return Wrapped()

    monkeypatch.setattr("tierzero.usecases.triage.graph_session", scripted_session)
    store = Store(tmp_path_factory.mktemp("indicators") / "t.db")
    try:
        triage([EXAMPLES], Settings.load(), store, now=NOW)
    finally:
        monkeypatch.undo()
    yield store
    store.close()


def intrusion(store: Store) -> str:
    """The case whose alerts name the DC's address and Alice's mailbox (in every other case
    the proposals fail provenance: their targets are not entities of that case)."""
    (case_id,) = [
        row.id
        for row in store.cases()
        if any(
            d["target"] == "10.10.0.10" and d["rule_id"] != "provenance.not_in_case"
            for d in (row.analysis or {}).get("decisions", [])
        )
    ]
    return case_id


def intrusion_decisions(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    case = store.case(intrusion(store))
    assert case is not None and case.analysis is not None
    return {(d["action"], d["target"]): d for d in case.analysis["decisions"]}


def outcome(decision: dict[str, Any]) -> tuple[str, str]:
    return decision["outcome"], decision["rule_id"]


def test_blocking_the_domain_controllers_address_is_denied(store: Store) -> None:
    decided = intrusion_decisions(store)
    dc = decided[("block_ip", "10.10.0.10")]
    # The address is DC-01: the domain controller deny list applies, as for isolating it.
    assert outcome(dc) == ("deny", "deny_list.asset_role")
    assert "DC-01" in dc["reason"]
    laptop = decided[("block_ip", "10.20.4.42")]
    assert outcome(laptop) == ("deny", "deny_list.own_indicator")
    assert "LT-FIN-042" in laptop["reason"]


def test_quarantining_an_employees_mailbox_is_denied(store: Store) -> None:
    mailbox = intrusion_decisions(store)[("quarantine_email", "alice.martin@northwind.example")]
    assert outcome(mailbox) == ("deny", "deny_list.own_indicator")
    assert "alice.martin" in mailbox["reason"]


def test_only_intel_backed_blocks_run_alone(store: Store) -> None:
    decided = intrusion_decisions(store)
    assert outcome(decided[("block_ip", "198.51.100.77")]) == ("allow", "tier.indicator_blocks")
    assert outcome(decided[("block_domain", "mail.northwlnd-billing.example")]) == (
        "needs_approval",
        "tier.unproven_indicator",
    )


def test_nothing_of_the_companys_own_reached_the_lab(store: Store) -> None:
    case_id = intrusion(store)
    rows = {(r.action, r.target): r for r in store.actions.rows() if r.case_id == case_id}
    assert not [r for r in store.actions.rows() if r.case_id != case_id and r.executed_at]
    for own in (
        ("block_ip", "10.10.0.10"),
        ("block_ip", "10.20.4.42"),
        ("quarantine_email", "alice.martin@northwind.example"),
    ):
        assert own not in rows or rows[own].status != "executed", own
    assert rows[("block_domain", "mail.northwlnd-billing.example")].status == "pending_approval"
    assert rows[("block_ip", "198.51.100.77")].status == "executed"
    blocklist = LabConnector(store.conn).state()["blocklist"]
    assert "ip:198.51.100.77" in blocklist  # type: ignore[operator]
    leaked = [
        entry
        for entry in blocklist  # type: ignore[attr-defined]
        if entry.endswith(("10.10.0.10", "10.20.4.42", "alice.martin@northwind.example"))
        or "mail.northwlnd-billing.example" in entry
    ]
    assert leaked == []
