"""Crash safety: a real SIGKILL of a child process at each node boundary and while an
approval is being applied; after resuming, nothing ran twice, no pending approval was lost,
and the end state equals an uninterrupted run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

CHILD = r"""
import functools, json, os, signal, sys
from datetime import datetime
from pathlib import Path
sys.path.insert(0, {repo!r})
from tierzero.usecases.approvals import answer_approval
from tierzero.usecases.triage import triage
import tierzero.agents.graph as graph
from tierzero.settings import Settings
from tierzero.store.sqlite import Store

mode, db, kill_after = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
now = datetime.fromisoformat({now!r})
if kill_after != "-":
    original = getattr(graph, kill_after)
    @functools.wraps(original)  # keeps the signature LangGraph reads to pass the runtime
    def dying(*args, **kwargs):
        original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)  # after the node's work, before its checkpoint
    setattr(graph, kill_after, dying)
store = Store(db)
settings = Settings.load()
if mode == "triage":
    triage([Path({examples!r})], settings, store, now=now)
else:
    row = next(r for r in store.actions.pending() if r.target == "SRV-FS-01")
    answer_approval(store, settings, row.id, approved=True, approver="dana.soc",
                             reason="", now=now)
"""


def child(tmp_path: Path, mode: str, db: Path, kill_after: str = "-") -> int:
    from tests.conftest import EXAMPLES, NOW

    script = tmp_path / "child.py"
    script.write_text(CHILD.format(repo=str(REPO), now=NOW.isoformat(), examples=str(EXAMPLES)))
    return subprocess.run(
        [sys.executable, str(script), mode, str(db), kill_after], capture_output=True, timeout=120
    ).returncode


def end_state(db: Path) -> dict[str, object]:
    import sqlite3

    conn = sqlite3.connect(db)
    actions = sorted(conn.execute("SELECT action, target, status, approved_by FROM actions"))
    cases = sorted(conn.execute("SELECT id, status, verdict, priority FROM cases"))
    applied = conn.execute("SELECT COUNT(*) FROM lab_applied").fetchone()[0]
    starts = conn.execute("SELECT payload FROM audit WHERE kind = 'action'").fetchall()
    executed = [
        json.loads(p)["action_id"] for (p,) in starts if json.loads(p).get("phase") == "done"
    ]
    conn.close()
    return {"actions": actions, "cases": cases, "applied": applied, "executions": sorted(executed)}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("baseline")
    assert child(tmp, "triage", tmp / "t.db") == 0
    assert child(tmp, "approve", tmp / "t.db") == 0
    return end_state(tmp / "t.db")


NODES = [
    "enrich_node",
    "prioritize_node",
    "investigate_node",
    "recommend_node",
    "guard_node",
    "act_node",
]


@pytest.mark.parametrize("node", NODES)
def test_kill_at_each_node_boundary_then_resume(
    tmp_path: Path, node: str, baseline: dict[str, object]
) -> None:
    db = tmp_path / "t.db"
    assert child(tmp_path, "triage", db, node) == -signal.SIGKILL
    assert child(tmp_path, "triage", db) == 0  # resume
    assert child(tmp_path, "approve", db) == 0
    state = end_state(db)
    assert state == baseline
    executions = state["executions"]
    assert isinstance(executions, list) and len(executions) == len(set(executions))


def test_kill_while_applying_an_approval(tmp_path: Path, baseline: dict[str, object]) -> None:
    db = tmp_path / "t.db"
    assert child(tmp_path, "triage", db) == 0
    assert child(tmp_path, "approve", db, "apply_approval_node") == -signal.SIGKILL
    # The approval was applied before the kill: the request is no longer pending, and running
    # the approval again must not execute twice. Resume the case to finish its graph.
    state = end_state(db)
    assert ("isolate_host", "SRV-FS-01", "executed", "dana.soc") in state["actions"]  # type: ignore[operator]
    assert child(tmp_path, "triage", db) == 0
    assert end_state(db)["applied"] == baseline["applied"]
