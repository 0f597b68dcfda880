"""Issue 11: for any interleaving of approve, deny, rollback, expire and kill-switch operations
from two processes, no denied or expired action ever executes and no action executes twice.

The two "processes" are two store handles on one database file (two connections, two writer
locks: exactly what two tierzero processes hold). Besides the use cases (which serialize on
the writer lock), each process may act on a *stale* copy of a row it read earlier, as a
process that read before the other one wrote would: approve it, or execute it, through the
same functions the graph uses. Hypothesis chooses the operations and their order; the
invariants are checked on the audit chain and the (simulated) connector's ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import copy_store
from tests.integration.many_cases import write_many_cases
from tierzero.agents.context import RunContext
from tierzero.agents.guard import recheck_for
from tierzero.agents.state import Analysis, CaseState
from tierzero.clock import FrozenClock
from tierzero.guardrails.execution import execute
from tierzero.settings import Settings
from tierzero.store.actions import NEXT_STATUS, ActionConflict, ActionRow
from tierzero.store.sqlite import Store
from tierzero.usecases.actions import end_expired_leases, rollback_action, set_autonomy
from tierzero.usecases.approvals import answer_pending, approval_housekeeping
from tierzero.usecases.errors import Refused
from tierzero.usecases.runtime import lab_connector
from tierzero.usecases.triage import triage

PEOPLE = ("ana", "bob")
OPS = (
    "read",
    "approve",
    "deny",
    "rollback",
    "expire",
    "sweep",
    "autonomy_off",
    "autonomy_on",
    "stale_approve",
    "stale_deny",
    "stale_rollback",
    "stale_execute",
)


@dataclass
class World:
    """One database copy, its two processes, and the actions they fight over."""

    db: Path
    settings: Settings
    stores: tuple[Store, Store]
    action_ids: tuple[int, ...]
    now: datetime
    seen: list[dict[int, ActionRow]] = field(default_factory=lambda: [{}, {}])

    def context(self, p: int) -> RunContext:
        s = self.settings
        return RunContext(
            store=self.stores[p],
            inventory=s.inventory,
            priority=s.priority,
            playbooks=s.playbooks,
            policy=s.policy,
            connector=lab_connector(self.stores[p], s),
            clock=FrozenClock(self.now),
            internal_domains=s.correlation.internal_domains,
        )


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Settings]:
    folder = tmp_path_factory.mktemp("interleavings")
    alerts, config = write_many_cases(folder, 6)
    settings = Settings.load(config)
    store = Store(folder / "template.db")
    triage([alerts], settings, store, model="off", memory=None)
    store.close()
    return folder / "template.db", settings


def open_world(template: tuple[Path, Settings], folder: Path) -> World:
    source, settings = template
    db = folder / f"w{len(list(folder.glob('w*.db')))}.db"
    copy_store(source, db)
    stores = (Store(db), Store(db))
    rows = stores[0].actions.rows()
    pending = [r.id for r in rows if r.status == "pending_approval"][:2]
    executed = [r.id for r in rows if r.status == "executed"][:1]
    assert len(pending) == 2 and len(executed) == 1
    return World(db, settings, stores, (*pending, *executed), datetime.now(UTC))


def verdict_state(case_id: str) -> CaseState:
    """A settled, confident analysis of the case (what the graph concluded for these cases)."""
    analysis = Analysis(
        analyst="test", verdict="true_positive", confidence=0.95, rationale=("t",), evidence=()
    )
    return CaseState(case_id=case_id, analysis=analysis)


def run(world: World, p: int, op: str, which: int) -> None:
    store, action_id = world.stores[p], world.action_ids[which]
    later = world.now + timedelta(hours=2)
    try:
        if op == "read":
            row = store.actions.get(action_id)
            assert row is not None
            world.seen[p][action_id] = row
        elif op in ("approve", "deny"):
            answer_pending(
                store,
                world.settings,
                action_id,
                approved=op == "approve",
                approver=PEOPLE[p],
                reason="",
                now=world.now,
            )
        elif op == "rollback":
            rollback_action(store, world.settings, action_id, PEOPLE[p], "test", world.now)
        elif op == "expire":
            approval_housekeeping(store, world.settings, later)
        elif op == "sweep":
            end_expired_leases(store, world.settings, world.now + timedelta(days=30))
        elif op in ("autonomy_off", "autonomy_on"):
            set_autonomy(store, op.removeprefix("autonomy_"), PEOPLE[p], "test", world.now)
        elif op == "stale_approve":
            seen = world.seen[p].get(action_id)
            if seen is not None:
                store.actions.transition(
                    seen,
                    "approved",
                    kind="approval",
                    actor=PEOPLE[p],
                    now=world.now,
                    payload={"stale": True},
                    approved_by=PEOPLE[p],
                )
        elif op in ("stale_deny", "stale_rollback"):
            seen = world.seen[p].get(action_id)
            if seen is not None:
                store.actions.transition(
                    seen,
                    "denied" if op == "stale_deny" else "rolled_back",
                    kind="approval" if op == "stale_deny" else "rollback",
                    actor=PEOPLE[p],
                    now=world.now,
                    payload={"stale": True},
                )
        elif op == "stale_execute":
            seen = world.seen[p].get(action_id)
            spec = world.settings.policy.catalog[seen.action] if seen else None
            if seen is not None and spec is not None:
                ctx = world.context(p)
                execute(
                    store.actions,
                    ctx.connector,
                    ctx.policy,
                    seen,
                    spec,
                    ctx.clock,
                    recheck_for(ctx, verdict_state(seen.case_id)),
                )
    except (Refused, ActionConflict):
        pass  # the loser of a race is told so; nothing was done in its name


def check(world: World) -> None:
    """No action left a terminal status, none was started twice, none ran after a deny or an
    expiry, and the connector carried each out at most once."""
    store = world.stores[0]
    for action_id in world.action_ids:
        row = store.actions.get(action_id)
        assert row is not None
        path = [
            (r["payload"]["from"], r["payload"]["to"])
            for r in store.audit_records(row.case_id)
            if r["payload"].get("action_id") == action_id and "from" in r["payload"]
        ]
        for before, after in path:
            if before != after:  # a reminder keeps the status
                assert after in NEXT_STATUS[before], path
        for (_, to), (nxt, _) in zip(path, path[1:], strict=False):
            assert nxt == to, path  # each change starts where the last one ended
        assert [to for _, to in path].count("executing") <= 1, path
        ended = next((i for i, (_, to) in enumerate(path) if to in ("denied", "expired")), None)
        if ended is not None:
            assert all(to != "executing" for _, to in path[ended:]), path
        for key in (row.idempotency_key, f"rollback:{row.idempotency_key}"):
            ledger = store.conn.execute(
                "SELECT COUNT(*) FROM lab_applied WHERE idempotency_key = ?", (key,)
            ).fetchone()[0]
            assert ledger <= 1, key
        if row.status in ("denied", "expired") and row.executed_at is None:
            assert not any(to == "executing" for _, to in path), path


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from(OPS), st.integers(0, 2)),
        min_size=2,
        max_size=16,
    )
)
def test_no_interleaving_executes_a_refused_action_or_one_action_twice(
    template: tuple[Path, Settings], tmp_path: Path, steps: list[tuple[int, str, int]]
) -> None:
    world = open_world(template, tmp_path)
    try:
        for p, op, which in steps:
            run(world, p, op, which)
        check(world)
    finally:
        for store in world.stores:
            store.close()
