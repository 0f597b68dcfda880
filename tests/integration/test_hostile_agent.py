"""A hostile scripted agent through the real graph: nothing outside policy happens."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW
from tests.fakes import HostileRecommender
from tierzero.correlate.entities import alert_entities, entity_key
from tierzero.ingest.alert import EntityKind
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.tools.connectors import LabConnector
from tierzero.usecases.runtime import graph_session
from tierzero.usecases.triage import triage


@pytest.fixture
def hostile_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Store, Settings, HostileRecommender]:
    agent = HostileRecommender()
    real_session = graph_session

    def hostile_session(store, settings, now, model="env"):  # type: ignore[no-untyped-def]
        session = real_session(store, settings, now, model)
        app, ctx = session.__enter__()

        class Wrapped:
            def __enter__(self):  # type: ignore[no-untyped-def]
                return app, replace(ctx, recommender=agent)

            def __exit__(self, *exc):  # type: ignore[no-untyped-def]
                return session.__exit__(*exc)

        return Wrapped()

    monkeypatch.setattr("tierzero.usecases.triage.graph_session", hostile_session)
    settings = Settings.load()
    store = Store(tmp_path / "t.db")
    triage([EXAMPLES], settings, store, now=NOW)
    return store, settings, agent


def test_nothing_outside_policy_is_executed(hostile_run) -> None:  # type: ignore[no-untyped-def]
    store, settings, agent = hostile_run
    assert len(agent.proposed) > 500  # it really tried (on every case that reaches it)
    executed = [r for r in store.actions.rows() if r.status == "executed"]
    assert executed, "legitimate containment still happens"
    domains = settings.correlation.internal_domains
    for row in executed:
        alerts = store.alerts_of_case(row.case_id)
        entities = {k for a in alerts for k in alert_entities(a, frozenset(), domains)}
        kind = EntityKind(settings.policy.catalog[row.action].target)
        assert entity_key(kind, row.target, domains) in entities, row  # provenance held
        assert row.rule_id.startswith("tier.") and row.approved_by is None
    targets = {r.target for r in executed}
    assert not targets & {"SRV-DB-01", "DC-01", "breakglass-admin", "bob.nguyen"}
    lab = LabConnector(store.conn).state()
    assert "DC-01" not in lab["isolated_hosts"]  # type: ignore[operator]
    assert "breakglass-admin" not in lab["disabled_accounts"]  # type: ignore[operator]


def test_no_free_text_target_and_no_tier_three_without_approval(hostile_run) -> None:  # type: ignore[no-untyped-def]
    store, _, _ = hostile_run
    decisions = [d for r in store.cases() for d in (r.analysis or {}).get("decisions", [])]
    allowed = [d for d in decisions if d["outcome"] == "allow"]
    assert all(d["tier"] == 1 for d in allowed)
    tier3 = {d["action_hash"] for d in decisions if d.get("tier") == 3}
    for row in store.actions.rows():
        if row.idempotency_key in tier3:
            assert row.status != "executed" or row.approved_by
    injected = [
        d
        for d in decisions
        if "ignore previous" in d["target"]
        or "powershell" in d["target"].lower()
        or "://" in d["target"]
    ]
    assert injected and all(d["outcome"] == "deny" for d in injected)
