"""Bounded execution in the real graph: the lab (a simulation) before and after, exactly once,
leases, rollback, rate limits, circuit breakers, and no action without its audit record."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, NOW
from tests.factories import edited_config
from tierzero.guardrails.execution import RollbackRefused, rollback, sweep_leases
from tierzero.settings import Settings
from tierzero.store import audit as chain
from tierzero.store.sqlite import Store
from tierzero.tools.connectors import ConnectorError, LabConnector
from tierzero.usecases.triage import triage as run_triage


def triage(
    tmp_path: Path, settings: Settings | None = None, paths: list[Path] | None = None, now=NOW
) -> Store:
    store = Store(tmp_path / "t.db")
    run_triage(paths or [EXAMPLES], settings or Settings.load(), store, now=now)
    return store


def lab(store: Store) -> dict[str, object]:
    return LabConnector(store.conn).state()


def test_demo_changes_the_lab_as_decided(tmp_path: Path) -> None:
    store = triage(tmp_path)
    rows = {(r.action, r.target): r for r in store.actions.rows()}
    assert rows[("isolate_host", "LT-FIN-042")].status == "executed"
    assert rows[("isolate_host", "SRV-FS-01")].status == "pending_approval"
    state = lab(store)
    assert state["isolated_hosts"] == ["LT-FIN-042"]
    assert "ip:198.51.100.77" in state["blocklist"]  # type: ignore[operator]
    assert state["disabled_accounts"] == []  # needs approval: not done
    assert chain.verify(store.audit_records()).ok


def test_no_action_runs_twice_when_a_case_is_analysed_again(tmp_path: Path) -> None:
    store = triage(tmp_path, paths=[EXAMPLES / "defender_alerts_v2.json"])
    first = {r.idempotency_key: r for r in store.actions.rows()}
    applied = store.conn.execute("SELECT COUNT(*) FROM lab_applied").fetchone()[0]
    run_triage([EXAMPLES], Settings.load(), store, now=NOW)  # C-1 grows and is re-analysed
    again = {r.idempotency_key: r for r in store.actions.rows()}
    for key, row in first.items():
        assert again[key].executed_at == row.executed_at
    starts = [
        r
        for r in store.audit_records()
        if r["kind"] == "action" and r["payload"].get("phase") == "start"
    ]
    executed = [r for r in again.values() if r.executed_at]
    assert len(starts) == len(executed)
    assert store.conn.execute("SELECT COUNT(*) FROM lab_applied").fetchone()[0] >= applied


def test_leases_expire_and_roll_back(tmp_path: Path) -> None:
    store = triage(tmp_path)
    settings = Settings.load()
    connector = LabConnector(store.conn)
    assert sweep_leases(store.actions, connector, settings.policy, NOW + timedelta(hours=1)) == []
    undone = sweep_leases(store.actions, connector, settings.policy, NOW + timedelta(hours=5))
    assert {r.action for r in undone} == {"isolate_host"}  # 4 h TTL; blocks last longer
    assert lab(store)["isolated_hosts"] == []
    assert all(r.status == "expired" and r.rolled_back_by == "lease-sweeper" for r in undone)
    later = sweep_leases(store.actions, connector, settings.policy, NOW + timedelta(days=8))
    assert "block_hash" in {r.action for r in later}
    assert lab(store)["blocklist"] == []


def test_rollback_on_demand_records_who_and_why(tmp_path: Path) -> None:
    store = triage(tmp_path)
    settings = Settings.load()
    row = next(
        r for r in store.actions.rows() if r.action == "isolate_host" and r.status == "executed"
    )
    done = rollback(
        store.actions,
        LabConnector(store.conn),
        settings.policy,
        row,
        actor="dana.soc",
        reason="false alarm",
        now=NOW,
    )
    assert (done.status, done.rolled_back_by, done.rollback_reason) == (
        "rolled_back",
        "dana.soc",
        "false alarm",
    )
    with pytest.raises(RollbackRefused):
        rollback(
            store.actions,
            LabConnector(store.conn),
            settings.policy,
            done,
            actor="x",
            reason="",
            now=NOW,
        )
    record = [r for r in store.audit_records() if r["kind"] == "rollback"][-1]
    assert record["actor"] == "dana.soc" and record["payload"]["reason"] == "false alarm"


def test_rate_limit_sends_the_excess_to_approval(tmp_path: Path) -> None:
    config = edited_config(
        tmp_path,
        "policy.yaml",
        "rate_limits:\n",
        "rate_limits:\n  block_ip: {max: 2, per: PT10M}\n",
    )
    store = triage(tmp_path, Settings.load(config))
    blocks = [r for r in store.actions.rows() if r.action == "block_ip"]
    assert [r.status for r in blocks].count("executed") == 2
    assert [r.rule_id for r in blocks if r.status == "pending_approval"] == ["bounds.rate_limit"]


class FailingLab(LabConnector):
    """A lab whose firewall is down: every block_ip fails (simulated outage)."""

    def apply(self, action: str, target: str, key: str, now):  # type: ignore[no-untyped-def]
        if action == "block_ip":
            raise ConnectorError("firewall API unreachable (simulated)")
        return super().apply(action, target, key, now)


def test_failures_open_the_breaker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(store: Store, settings: Settings) -> LabConnector:
        connector = FailingLab(store.conn)
        connector.seed(settings.inventory)
        return connector

    config = edited_config(tmp_path, "policy.yaml", "breaker_failures: 3", "breaker_failures: 2")
    monkeypatch.setattr("tierzero.usecases.runtime.lab_connector", failing)
    store = triage(tmp_path, Settings.load(config))
    blocks = [r for r in store.actions.rows() if r.action == "block_ip"]
    assert [r.status for r in blocks] == ["failed", "failed", "pending_approval"]
    assert blocks[2].rule_id == "bounds.breaker_open"
    # Other action types are unaffected by the block_ip breaker.
    assert any(r.status == "executed" for r in store.actions.rows())


def test_no_execution_without_its_audit_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_append = chain.append

    def broken(conn, **kw):  # type: ignore[no-untyped-def]
        if kw["kind"] == "action":
            raise chain.AuditWriteError("disk full (simulated)")
        return real_append(conn, **kw)

    monkeypatch.setattr(chain, "append", broken)
    store = triage(tmp_path)
    assert lab(store)["isolated_hosts"] == [] and lab(store)["blocklist"] == []
    assert all(r.status != "executed" for r in store.actions.rows())
    statuses = {r.status for r in store.cases()}
    assert "escalated" in statuses  # the case went to people, with the reason


def test_every_spelling_of_a_host_is_one_action_lease_and_rollback(tmp_path: Path) -> None:
    """Issue 11, item 10: `isolate lt-fin-042` and its FQDN became two actions, two leases and
    two rollbacks, and the FQDN failed in the lab (feeding the circuit breaker)."""
    from tierzero.usecases.analysis import request_action

    store = triage(tmp_path)
    settings = Settings.load()
    before = [r for r in store.actions.rows() if r.action == "isolate_host"]
    for spelling in ("lt-fin-042.northwind.example", "LT-FIN-042.", "lt-fin-042"):
        _, decision = request_action(
            store,
            settings,
            "C-4",
            "isolate_host",
            spelling,
            "analyst:ana",
            "contain",
            NOW,
            model="off",
        )
        assert decision is not None and decision.target == "LT-FIN-042"
    after = [r for r in store.actions.rows() if r.action == "isolate_host"]
    assert [(r.id, r.target, r.status) for r in after] == [
        (r.id, r.target, r.status) for r in before
    ]
    assert not [r for r in store.actions.rows() if r.status == "failed"]
    assert lab(store)["isolated_hosts"] == ["LT-FIN-042"]
