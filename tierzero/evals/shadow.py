"""Shadow mode: replay stored cases through a candidate policy or playbooks, acting on nothing.

``tierzero shadow --policy NEW.yaml`` answers "what would this change do to the cases we
already had?" before the change goes live:

1. The production store is copied with SQLite's backup API into a temporary folder; every
   replay runs on the copy, which is deleted afterwards. The production store only gains one
   ``shadow`` audit record saying the run happened (candidate version, file digest, counts).
2. Each stored, non-merged, analysed case runs through the case graph compiled with an
   in-memory checkpointer and ``interrupt_before=["act"]``: enrich, triage, the analyst, the
   recommender and the guard run; the act node never does. Auto-closed cases end before it
   anyway. The run context's connector is a :class:`DryRunConnector` that raises if it is
   ever called (it never is: nothing reaches ``act``), so even a mistake here cannot act.
3. Each case is replayed at the time its stored analysis was made (the timestamp of its
   latest ``verdict`` audit record), with the kill switch as it was then, so the clock-
   dependent inputs (maintenance windows, business hours, rate-limit windows) are the same.
4. The analyst is the offline one (model off): replays are deterministic and cost nothing.

**Baseline, not the stored analysis, is what the candidate is compared with.** The stored
decisions may have been made under an older policy, by a model, before later alerts joined
the case, or with a rate-limit window that the replay sees differently (the copy holds the
actions executed since). Comparing the candidate with what is stored would mix all of that
into the diff. So every case is replayed twice with the same machinery, once with the current
settings (the baseline) and once with the candidate, and only baseline -> candidate
differences are reported as changes: the candidate is the only thing that differs between the
two. Where the baseline itself differs from the stored analysis (decisions or verdict), the
case is reported separately as *drift*: a sign the replay is not reproducing history for that
case (older policy, a model analyst, new alerts since), not an effect of the candidate.
Stored statuses are not compared for drift: an approval answered later changes the stored
status without a new analysis. Replayed statuses are projected as the act node would route
them (pending approvals -> ``awaiting_approval``; else ``closed`` or ``escalated``).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph.state import CompiledStateGraph

from tierzero.agents.context import RunContext
from tierzero.agents.graph import build_graph, checkpoint_serde, route_after_act
from tierzero.agents.state import CaseState, Recommendation
from tierzero.clock import FrozenClock
from tierzero.config import ConfigError
from tierzero.guardrails.policy import PRECISION_FILE, load_policy
from tierzero.settings import Settings, fingerprint
from tierzero.settings.playbooks import load_playbooks
from tierzero.store.cases import CaseRow
from tierzero.store.sqlite import Store
from tierzero.tools.connectors import ResponseConnector

ANALYST = "offline analyst (playbooks; model off)"
ShadowKey = tuple[str, str]  # (action, target)
_ROUTED = {"approval": "awaiting_approval", "close": "closed", "escalate": "escalated"}


class DryRunViolation(RuntimeError):
    """Something tried to execute an action during a shadow run (it must never happen)."""


@dataclass
class DryRunConnector:
    """A response connector that refuses everything: shadow runs stop before the act node, so
    this is never called; if it were, the run aborts instead of acting."""

    name: str = "dry-run (shadow mode: executes nothing)"
    calls: list[tuple[str, str]] = field(default_factory=list)

    def apply(self, action: str, target: str, key: str, now: datetime) -> str:
        self.calls.append((action, target))
        raise DryRunViolation(
            f"shadow mode never executes actions (asked to {action} {target[:80]!r})"
        )


@dataclass(frozen=True)
class DecisionView:
    """One decision as shadow mode compares it: outcome and rule (the reason is shown, not
    compared: it quotes counts and names that vary without the decision changing)."""

    outcome: str
    rule_id: str
    reason: str = field(default="", compare=False)

    def as_json(self) -> dict[str, str]:
        return {"outcome": self.outcome, "rule_id": self.rule_id, "reason": self.reason}


@dataclass(frozen=True)
class Outcome:
    """What one analysis concluded: verdict, (projected) status and a decision per proposal."""

    verdict: str | None
    status: str | None
    decisions: dict[ShadowKey, DecisionView]


@dataclass(frozen=True)
class DecisionChange:
    """A decision that differs between two runs of one case (``None``: not proposed)."""

    case_id: str
    action: str
    target: str
    before: DecisionView | None
    after: DecisionView | None

    @property
    def kind(self) -> Literal["changed", "added", "removed"]:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"

    @property
    def transition(self) -> str:
        """``allow->needs_approval``; ``(none)->allow`` for an added proposal, and so on."""
        before = self.before.outcome if self.before else "(none)"
        after = self.after.outcome if self.after else "(none)"
        return f"{before}->{after}"

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "action": self.action,
            "target": self.target,
            "kind": self.kind,
            "before": self.before.as_json() if self.before else None,
            "after": self.after.as_json() if self.after else None,
        }


@dataclass(frozen=True)
class CaseChange:
    """A case-level difference: its verdict or its status."""

    case_id: str
    field: Literal["verdict", "status"]
    before: str | None
    after: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "field": self.field,
            "before": self.before,
            "after": self.after,
        }


@dataclass(frozen=True)
class Candidate:
    """The settings to try, and what they were made from (for the report and the audit)."""

    settings: Settings
    policy_file: Path | None = None
    policy_sha256: str | None = None
    playbooks_dir: Path | None = None
    playbooks_sha256: str | None = None

    def describe(self) -> dict[str, Any]:
        return {
            "policy_file": str(self.policy_file) if self.policy_file else None,
            "policy_version": self.settings.policy.version,
            "policy_sha256": self.policy_sha256,
            "playbooks_dir": str(self.playbooks_dir) if self.playbooks_dir else None,
            "playbooks_sha256": self.playbooks_sha256,
            "playbooks": {p.id: p.version for p in self.settings.playbooks},
        }


def load_candidate(current: Settings, policy: Path | None, playbooks: Path | None) -> Candidate:
    """The current settings with the policy and/or the playbooks replaced.

    The candidate policy gets the same ``detections.yaml`` measurements as the current one
    (from the current config folder), so the two differ only by what the file says. The
    playbooks in force are checked against the candidate's action catalog. A missing or wrong
    file raises ConfigError.
    """
    if policy is None and playbooks is None:
        raise ConfigError("give a candidate --policy FILE and/or --playbooks DIR")
    new_policy = current.policy
    policy_sha = None
    if policy is not None:
        new_policy = load_policy(policy, current.folder / PRECISION_FILE)
        policy_sha = hashlib.sha256(policy.read_bytes()).hexdigest()
    folder = playbooks if playbooks is not None else current.folder / "playbooks"
    if playbooks is not None and not playbooks.is_dir():
        raise ConfigError(f"playbooks folder not found: {playbooks}")
    books = load_playbooks(folder, set(new_policy.catalog))
    settings = replace(current, policy=new_policy, playbooks=books)
    return Candidate(
        settings=settings,
        policy_file=policy,
        policy_sha256=policy_sha,
        playbooks_dir=playbooks,
        playbooks_sha256=fingerprint(playbooks) if playbooks is not None else None,
    )


@dataclass
class ShadowReport:
    """Everything a shadow run found (see the module docstring for what is compared)."""

    candidate: dict[str, Any]
    current: dict[str, Any]
    analyst: str = ANALYST
    cases_replayed: int = 0
    changes: list[DecisionChange] = field(default_factory=list)
    case_changes: list[CaseChange] = field(default_factory=list)
    drift: list[DecisionChange | CaseChange] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the candidate changes anything (what ``--fail-on-change`` tests)."""
        return bool(self.changes or self.case_changes)

    def transitions(self) -> Counter[str]:
        """Changed decisions counted by outcome transition (rule-only changes included)."""
        return Counter(c.transition for c in self.changes if c.kind == "changed")

    def counts(self) -> dict[str, Any]:
        kinds = Counter(c.kind for c in self.changes)
        return {
            "cases_replayed": self.cases_replayed,
            "decisions_changed": kinds["changed"],
            "transitions": dict(sorted(self.transitions().items())),
            "proposals_added": kinds["added"],
            "proposals_removed": kinds["removed"],
            "verdict_changes": sum(c.field == "verdict" for c in self.case_changes),
            "status_changes": sum(c.field == "status" for c in self.case_changes),
            "cases_changed": len(
                {c.case_id for c in self.changes} | {c.case_id for c in self.case_changes}
            ),
            "drift_cases": len({d.case_id for d in self.drift}),
            "errors": len(self.errors),
            "skipped": len(self.skipped),
        }

    def summary_line(self) -> str:
        """``N cases replayed, M decisions would change: a allow->needs_approval, ...``."""
        counts = self.counts()
        moves = ", ".join(f"{n} {t}" for t, n in sorted(self.transitions().items()))
        line = (
            f"{self.cases_replayed} cases replayed, {counts['decisions_changed']} decisions "
            f"would change" + (f": {moves}" if moves else "")
        )
        extra = [
            f"{counts[key]} {one if counts[key] == 1 else many}"
            for key, one, many in (
                ("proposals_added", "proposal added", "proposals added"),
                ("proposals_removed", "proposal removed", "proposals removed"),
                ("verdict_changes", "verdict changed", "verdicts changed"),
                ("status_changes", "status changed", "statuses changed"),
            )
            if counts[key]
        ]
        return line + ("; " + ", ".join(extra) if extra else "") + "."

    def as_json(self) -> dict[str, Any]:
        return {
            "analyst": self.analyst,
            "candidate": self.candidate,
            "current": self.current,
            "changed": self.changed,
            "summary": self.counts(),
            "changes": [c.as_json() for c in self.changes],
            "case_changes": [c.as_json() for c in self.case_changes],
            "drift": [d.as_json() for d in self.drift],
            "errors": [{"case_id": c, "error": e} for c, e in self.errors],
            "skipped": [{"case_id": c, "reason": r} for c, r in self.skipped],
        }


def shadow_run(
    store: Store,
    current: Settings,
    candidate: Candidate,
    now: datetime,
    *,
    limit: int | None = None,
    connector: DryRunConnector | None = None,
    audit: bool = True,
) -> ShadowReport:
    """Replay the store's analysed cases (the newest ``limit`` of them, or all) under the
    current settings and under the candidate, on a temporary copy of the store, and report
    what the candidate would change. ``now`` stamps the one ``shadow`` audit record written
    to ``store`` (skipped with ``audit=False``). Never executes an action."""
    dry = connector if connector is not None else DryRunConnector()
    report = ShadowReport(
        candidate=candidate.describe(),
        current={
            "policy_version": current.policy.version,
            "config_sha256": current.fingerprint,
            "config_folder": str(current.folder),
        },
    )
    with tempfile.TemporaryDirectory(prefix="tierzero-shadow-") as folder:
        path = Path(folder) / "shadow.db"
        target = sqlite3.connect(path)
        try:
            store.conn.backup(target)
        finally:
            target.close()
        copy = Store(path)
        try:
            _replay_all(copy, current, candidate.settings, dry, limit, report)
        finally:
            copy.close()
    if dry.calls:  # unreachable by construction; refuse to report a run that tried to act
        raise DryRunViolation(f"the dry-run connector was called {len(dry.calls)} times")
    if audit:
        payload = {
            **{k: v for k, v in report.candidate.items() if k != "playbooks"},
            "current_policy_version": current.policy.version,
            "analyst": "offline",
            **report.counts(),
        }
        store.audit("shadow", "shadow", payload, None, now)
    return report


def _replay_all(
    copy: Store,
    current: Settings,
    candidate: Settings,
    dry: DryRunConnector,
    limit: int | None,
    report: ShadowReport,
) -> None:
    rows = []
    for row in copy.cases():
        if row.analysis is None:
            report.skipped.append((row.id, "not analysed yet"))
        else:
            rows.append(row)
    if limit is not None:
        rows = rows[-limit:] if limit > 0 else []
    saver = InMemorySaver(serde=checkpoint_serde())
    # Both replays share one graph: only the run context (policy, playbooks) differs.
    close_confidence = current.priority.close_confidence
    app = build_graph(close_confidence).compile(checkpointer=saver, interrupt_before=["act"])
    switches = _autonomy_timeline(copy)
    for row in rows:
        try:
            at = _analysed_at(copy, row)
            autonomy = _autonomy_at(switches, at)
            requests = tuple(  # what people asked for on the case is proposed again
                Recommendation.model_validate(r) for r in (row.analysis or {}).get("requests", [])
            )
            # The same machinery twice: current settings (baseline), then the candidate.
            baseline, trial = [
                _replay(
                    app,
                    _context(copy, settings, dry, at, autonomy),
                    row.id,
                    requests,
                    label,
                    close_confidence,
                )
                for settings, label in ((current, "baseline"), (candidate, "candidate"))
            ]
        except DryRunViolation:
            raise
        except Exception as exc:  # one case that cannot replay must not hide the others
            report.errors.append((row.id, f"{type(exc).__name__}: {str(exc)[:300]}"))
            continue
        report.cases_replayed += 1
        report.changes.extend(_decision_diff(row.id, baseline.decisions, trial.decisions))
        report.case_changes.extend(_case_diff(row.id, baseline, trial, ("verdict", "status")))
        stored = _stored_outcome(row)
        report.drift.extend(_decision_diff(row.id, stored.decisions, baseline.decisions))
        report.drift.extend(_case_diff(row.id, stored, baseline, ("verdict",)))


def _context(
    store: Store, settings: Settings, connector: ResponseConnector, at: datetime, autonomy: bool
) -> RunContext:
    """Like ``usecases.runtime.graph_session``'s context, with no model and a connector that
    refuses."""
    return RunContext(
        model=None,
        store=store,
        inventory=settings.inventory,
        priority=settings.priority,
        playbooks=settings.playbooks,
        policy=settings.policy,
        connector=connector,
        autonomy=autonomy,
        clock=FrozenClock(at),
        hours=settings.organization.hours(),
        internal_domains=settings.correlation.internal_domains,
        learning=settings.learning,
    )


def _replay(
    app: CompiledStateGraph[Any, Any, Any, Any],
    ctx: RunContext,
    case_id: str,
    requests: tuple[Recommendation, ...],
    label: str,
    close_confidence: float,
) -> Outcome:
    """Run one case up to (never into) the act node and read its decisions."""
    config: RunnableConfig = {"configurable": {"thread_id": f"shadow-{label}:{case_id}"}}
    try:
        app.invoke(CaseState(case_id=case_id, requests=requests), config, context=ctx)
        snapshot = app.get_state(config)
    finally:
        ctx.forget(case_id)
    if snapshot.next and tuple(snapshot.next) != ("act",):
        raise RuntimeError(f"the replay stopped before {list(snapshot.next)}, not before act")
    state = CaseState.model_validate(snapshot.values)
    status: str = state.status
    if snapshot.next:  # paused before act: route as act would after deciding afresh
        pending = any(d.outcome == "needs_approval" for d in state.decisions)
        routed = _ROUTED[route_after_act(state, close_confidence)]
        status = "awaiting_approval" if pending else routed
    return Outcome(
        verdict=state.analysis.verdict if state.analysis else None,
        status=status,
        decisions=_views(d.model_dump(mode="json") for d in state.decisions),
    )


def _views(decisions: Iterable[dict[str, Any]]) -> dict[ShadowKey, DecisionView]:
    """Decisions keyed by (action, target); a repeat of the same key keeps the first."""
    out: dict[ShadowKey, DecisionView] = {}
    for d in decisions:
        key = (str(d.get("action", "")), str(d.get("target", "")))
        out.setdefault(
            key,
            DecisionView(str(d.get("outcome")), str(d.get("rule_id")), str(d.get("reason", ""))),
        )
    return out


def _stored_outcome(row: CaseRow) -> Outcome:
    analysis = row.analysis or {}
    return Outcome(
        verdict=analysis.get("verdict"),
        status=analysis.get("status"),
        decisions=_views(analysis.get("decisions") or []),
    )


def _decision_diff(
    case_id: str, before: dict[ShadowKey, DecisionView], after: dict[ShadowKey, DecisionView]
) -> list[DecisionChange]:
    changes = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old != new:
            changes.append(DecisionChange(case_id, key[0], key[1], old, new))
    return changes


def _case_diff(
    case_id: str,
    before: Outcome,
    after: Outcome,
    fields: tuple[Literal["verdict", "status"], ...],
) -> list[CaseChange]:
    return [
        CaseChange(case_id, name, getattr(before, name), getattr(after, name))
        for name in fields
        if getattr(before, name) != getattr(after, name)
    ]


def _analysed_at(store: Store, row: CaseRow) -> datetime:
    """When the stored analysis was made: its latest ``verdict`` audit record (written with
    the run's clock, the ``now`` its decisions saw; not one an approval answer wrote when it
    resumed the case). ``updated_at`` is only a fallback: joins, merges and approval answers
    also move it."""
    found = store.conn.execute(
        "SELECT ts FROM audit WHERE case_id = ? AND kind = 'verdict'"
        " AND json_extract(payload, '$.resumed') IS NULL ORDER BY seq DESC LIMIT 1",
        (row.id,),
    ).fetchone()
    return datetime.fromisoformat(found[0] if found else row.updated_at)


def _autonomy_timeline(store: Store) -> list[tuple[datetime, bool]]:
    """Every flip of the kill switch, in order (from the audit)."""
    rows = store.conn.execute("SELECT ts, payload FROM audit WHERE kind = 'autonomy' ORDER BY seq")
    return [(datetime.fromisoformat(ts), json.loads(p).get("autonomy") != "off") for ts, p in rows]


def _autonomy_at(timeline: list[tuple[datetime, bool]], at: datetime) -> bool:
    """The kill switch as it stood at ``at`` (on when it was never flipped)."""
    state = True
    for when, on in timeline:
        if when > at:
            break
        state = on
    return state
