"""The triage job: read alert files, store them, correlate new alerts, analyse changed cases.

Each stage streams: ingest writes in batches, correlation reads unassigned alerts in time
order in pages, and the graph runs one case at a time. Re-running on the same input adds no
alerts, no cases and no analyses (alerts are keyed by source and source id).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph

from tierzero.agents.context import ModelRuntime, RunContext
from tierzero.agents.graph import checkpointer, compile_graph, resume_case, run_case
from tierzero.agents.model_config import endpoint_from_env
from tierzero.agents.state import Analysis, CaseState, Recommendation
from tierzero.correlate.engine import Correlator
from tierzero.guardrails.approvals import ApprovalAnswer
from tierzero.guardrails.decisions import Decision
from tierzero.guardrails.model_gate import ChatModel
from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestCounts, IngestOptions, discover, read_file
from tierzero.settings import Settings
from tierzero.store.audit import AuditKind
from tierzero.store.embedding import embedding_from_config
from tierzero.store.memory import CaseMemory, MemoryKeeper, MemoryOpener, memory_path
from tierzero.store.sqlite import Store
from tierzero.tools.connectors import LabConnector

Progress = Callable[[str, int, int | None], None]  # (stage, done, total or None)
BATCH = 1000
_log = logging.getLogger(__name__)
# Which model the LLM agents use: "env" resolves the endpoint from the environment (none set:
# offline), "off" forces the offline analyst, or a ChatModel object (a scripted fake in tests).
ModelChoice = ChatModel | Literal["env", "off"]


def _no_progress(stage: str, done: int, total: int | None) -> None:
    return None


@dataclass
class TriageReport:
    """What one run did. ``alerts_in == normalized + quarantined`` always."""

    counts: IngestCounts = field(default_factory=IngestCounts)
    files: int = 0
    new_alerts: int = 0
    joins: Counter[str] = field(default_factory=Counter)
    merged_cases: int = 0
    cases_analysed: list[CaseState] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    model: str | None = None  # the LLM agents' model, None when the offline analyst ran alone
    remembered: int = 0  # concluded cases written to the similar-case memory
    warnings: list[str] = field(default_factory=list)  # problems that did not stop the run


def ingest(
    paths: Iterable[Path],
    store: Store,
    options: IngestOptions,
    now: datetime,
    progress: Progress = _no_progress,
    report: TriageReport | None = None,
) -> TriageReport:
    """Normalize every record of the inputs into the store; quarantine what cannot be read."""
    report = report or TriageReport()
    started = time.perf_counter()
    files = discover(paths, options)
    report.files = len(files)
    alerts: list[Alert] = []
    rejected: list[QuarantinedRecord] = []

    def flush() -> None:
        if alerts:
            report.new_alerts += store.add_alerts(alerts)
            alerts.clear()
        if rejected:
            store.add_quarantined(rejected)
            rejected.clear()

    for index, input_file in enumerate(files, start=1):
        for item in read_file(input_file, options, now):
            if isinstance(item, Alert):
                alerts.append(item)
                report.counts.normalized += 1
                report.counts.by_source[item.provenance.source] += 1
            else:
                rejected.append(item)
                report.counts.quarantined += 1
            if len(alerts) + len(rejected) >= BATCH:
                flush()
                progress("ingest", report.counts.alerts_in, None)
        flush()
        progress("files", index, len(files))
    report.seconds["ingest"] = time.perf_counter() - started
    return report


def correlate(
    store: Store,
    settings: Settings,
    now: datetime,
    progress: Progress = _no_progress,
    report: TriageReport | None = None,
) -> TriageReport:
    """Assign every unassigned alert to a case, in time order, recording each join."""
    report = report or TriageReport()
    started = time.perf_counter()
    earliest = store.earliest_unassigned()
    if earliest is not None:
        seeds = store.seed_cases(earliest - settings.correlation.join_window)
        correlator = Correlator(settings.correlation, store.case_id_allocator(), seeds)
        batch = []
        done = 0
        for alert in store.unassigned_alerts():
            join = correlator.add(alert)
            report.joins[join.kind] += 1
            report.merged_cases += len(join.merged_case_ids)
            batch.append((join, alert))
            if len(batch) >= BATCH:
                store.record_joins(batch, now)
                done += len(batch)
                batch.clear()
                progress("correlate", done, None)
        store.record_joins(batch, now)
    report.seconds["correlate"] = time.perf_counter() - started
    return report


def chat_model(settings: Settings, choice: ModelChoice = "env") -> ChatModel | None:
    """The model the LLM agents will use, or None for the offline analyst alone."""
    if choice == "off":
        return None
    if choice == "env":
        endpoint = endpoint_from_env(settings.model)
        if endpoint is None:
            return None
        from tierzero.agents.llm import OpenAIChatModel  # imports openai: only when needed

        return OpenAIChatModel(endpoint, settings.model)
    return choice


def configured_memory(settings: Settings) -> MemoryOpener:
    """The similar-case memory ``config/model.yaml`` asks for (``memory.embeddings``)."""
    if settings.model.memory.embeddings == "offline":
        return CaseMemory.for_store

    def open_with_endpoint(store: Store) -> CaseMemory:
        endpoint = endpoint_from_env(settings.model)
        factory = None
        if endpoint is not None:
            from tierzero.agents.llm import EndpointEmbedding, OpenAIChatModel

            def factory() -> Any:
                client = OpenAIChatModel(endpoint, settings.model)
                return EndpointEmbedding(client, settings.model.memory.embedding_model)

        return CaseMemory.for_store(store, embedding_from_config("endpoint", factory))

    return open_with_endpoint


class LazyMemory:
    """A store's similar-case memory, opened on the first query (importing chromadb takes about
    a second, and most runs never ask)."""

    def __init__(self, store: Store, opener: MemoryOpener) -> None:
        self.store = store
        self.opener = opener
        self._memory: CaseMemory | None = None

    def similar(self, text: str, k: int, exclude: str | None = None) -> list[Any]:
        if self._memory is None:
            self._memory = self.opener(self.store)
        return list(self._memory.similar(text, k, exclude))

    def close(self) -> None:
        if self._memory is not None:
            self._memory.close()


def existing_memory(store: Store, settings: Settings) -> LazyMemory | None:
    """The memory beside the store, if cases were remembered (none is created here)."""
    if not memory_path(store.path).is_dir():
        return None
    return LazyMemory(store, configured_memory(settings))


@contextmanager
def graph_session(
    store: Store, settings: Settings, now: datetime, model: ModelChoice = "env"
) -> Iterator[tuple[CompiledStateGraph[Any, Any, Any, Any], RunContext]]:
    """The compiled graph (with its checkpointer on the store's file) and its run context."""
    chosen = chat_model(settings, model)
    ctx = RunContext(
        model=ModelRuntime.of(chosen, settings.model) if chosen is not None else None,
        store=store,
        inventory=settings.inventory,
        triage=settings.triage,
        playbooks=settings.playbooks,
        policy=settings.policy,
        connector=lab_connector(store, settings),
        autonomy_on=store.autonomy_on(),
        now=now,
        hours=settings.organization.hours(),
        internal_domains=settings.correlation.internal_domains,
    )
    # The LLM agents' similar_cases tool reads the memory of earlier runs.
    memory = existing_memory(store, settings) if ctx.model is not None else None
    ctx.memory = memory
    saver = checkpointer(str(store.path))
    try:
        yield compile_graph(saver, settings.triage.close_confidence), ctx
    finally:
        saver.conn.close()
        if memory is not None:
            memory.close()


def analyse_case(
    app: CompiledStateGraph[Any, Any, Any, Any],
    ctx: RunContext,
    case_id: str,
    requests: tuple[Recommendation, ...] = (),
) -> CaseState:
    """Run one case as a new analysis revision and save it with its audit trail. A case the
    graph cannot finish goes to people (one bad case must not stop the queue)."""
    store = ctx.store
    revision = store.next_revision(case_id)
    try:
        state = run_case(app, case_id, revision, ctx, requests)
    except Exception as exc:
        ctx.forget(case_id)
        state = failed_analysis(case_id, exc)
    store.save_analysis(
        case_id, summarize(state, store), revision, ctx.now, audit_trail(state, revision)
    )
    return state


def analyse(
    store: Store,
    settings: Settings,
    now: datetime,
    progress: Progress = _no_progress,
    report: TriageReport | None = None,
    model: ModelChoice = "env",
    memory: MemoryOpener | Literal["config"] | None = "config",
) -> TriageReport:
    """Run the case graph on every case that changed since its last analysis.

    Cases that end concluded go into the similar-case memory that ``memory`` opens (None: no
    memory, e.g. for benchmarks); a memory failure is a warning in the report, not an error.
    """
    report = report or TriageReport()
    keeper = MemoryKeeper(
        store,
        configured_memory(settings) if memory == "config" else memory,
        settings.correlation.internal_domains,
        report.warnings.append,
    )
    started = time.perf_counter()
    case_ids = store.dirty_case_ids()
    if case_ids:
        store.audit("policy", "system", settings.versions(), None, now)
    with graph_session(store, settings, now, model) as (app, ctx), keeper:
        report.model = ctx.model.model.name if ctx.model else None
        for index, case_id in enumerate(case_ids, start=1):
            was = store.case_status(case_id)
            state = analyse_case(app, ctx, case_id)
            keeper.saved(case_id, was, state.status)
            report.cases_analysed.append(state)
            progress("analyse", index, len(case_ids))
    report.remembered = keeper.remembered
    report.seconds["analyse"] = time.perf_counter() - started
    return report


def request_action(
    store: Store,
    settings: Settings,
    case_id: str,
    action: str,
    target: str,
    requested_by: str,
    reason: str,
    now: datetime,
    model: ModelChoice = "env",
) -> tuple[CaseState, Decision | None]:
    """A person's request for an action on a case (analyst chat): the case is analysed again
    as a new revision with the request among the recommendations, so the guard decides on it
    and an approval, if needed, waits in the graph like any other. Returns the new state and
    the decision on the request (None if the action is not in the catalog)."""
    spec = settings.policy.catalog.get(action)
    if store.case(case_id) is None:
        raise ValueError(f"no case {case_id}")
    if spec is None:
        return CaseState(case_id=case_id), None
    asked = Recommendation(
        action=action,
        action_class=spec.action_class,
        target_kind=spec.target,
        target=target[:320],
        reason=reason[:300],
        playbook=requested_by[:120],
    )
    with graph_session(store, settings, now, model) as (app, ctx):
        state = analyse_case(app, ctx, case_id, (asked,))
    decision = next(
        (
            d
            for r, d in zip(state.recommendations, state.decisions, strict=False)
            if r.action == action and r.target == asked.target
        ),
        None,
    )
    return state, decision


def answer_approval(
    store: Store,
    settings: Settings,
    action_id: int,
    *,
    approved: bool | None,
    approver: str,
    reason: str,
    now: datetime,
    memory: MemoryOpener | Literal["config"] | None = "config",
) -> CaseState:
    """Resume the case waiting on this action with a person's (or the timer's) answer.

    A case the answer concludes goes into the similar-case memory (a failure is logged).
    """
    row = store.actions.get(action_id)
    if row is None:
        raise ValueError(f"no action {action_id}")
    case = store.case(row.case_id)
    if case is None:
        raise ValueError(f"no case {row.case_id}")
    answer = ApprovalAnswer.for_row(
        row, approved=approved, approver=approver, reason=reason, at=now
    )
    revision = store.next_revision(row.case_id) - 1  # the analysis that is waiting
    # Resuming an approval never reaches the model (approval, apply_approval, close/escalate).
    with graph_session(store, settings, now, "off") as (app, ctx):
        state = resume_case(app, row.case_id, revision, ctx, answer.model_dump(mode="json"))
    was = store.case_status(row.case_id)
    store.save_analysis(row.case_id, summarize(state, store), revision, now)
    opener = configured_memory(settings) if memory == "config" else memory
    with MemoryKeeper(store, opener, settings.correlation.internal_domains, _log.warning) as keeper:
        keeper.saved(row.case_id, was, state.status)
    return state


def approval_housekeeping(store: Store, settings: Settings, now: datetime) -> list[str]:
    """Remind at half the window (audited, with the escalation path) and expire what is due.

    Expiry fails closed: the request is answered 'no answer in time', the action is never
    executed, and the case is escalated.
    """
    notes: list[str] = []
    share = settings.policy.approvals.escalate_at
    for row in store.actions.pending():
        due = datetime.fromisoformat(row.approval_due) if row.approval_due else now
        opened = datetime.fromisoformat(row.decided_at)
        if due <= now:
            answer_approval(
                store,
                settings,
                row.id,
                approved=None,
                approver="approval-timer",
                reason="approval window ended",
                now=now,
            )
            notes.append(f"expired: action {row.id} {row.action} {row.target} ({row.case_id})")
        elif not row.reminded and now >= opened + (due - opened) * share:
            case = store.case(row.case_id)
            path = (case.analysis or {}).get("escalation_path") if case else None
            store.actions.remind(row, now, escalate_to=path or "SOC tier 2 on-call analyst")
            notes.append(f"reminder: action {row.id} {row.action} {row.target} due {due:%H:%M}")
    return notes


def lab_connector(store: Store, settings: Settings) -> LabConnector:
    """The simulated response environment (the only connector this release ships)."""
    connector = LabConnector(store.conn)
    connector.seed(settings.inventory)
    return connector


def failed_analysis(case_id: str, exc: Exception) -> CaseState:
    """A case the graph could not finish: escalated to a person with the reason, never closed."""
    reason = f"analysis failed ({type(exc).__name__}: {str(exc)[:300]}); a person must look"
    return CaseState(
        case_id=case_id,
        analysis=Analysis(
            analyst="pipeline",
            verdict="needs_review",
            confidence=0.0,
            rationale=(reason,),
            evidence=(),
        ),
        status="escalated",
        next_step="Review the case by hand; the automated analysis did not complete.",
        escalation_path="SOC tier 2 on-call analyst",
        visited=("failed",),
    )


def audit_trail(state: CaseState, revision: int) -> list[tuple[AuditKind, str, dict[str, Any]]]:
    """The audit records of one analysis: its priority and its verdict (with the path taken)."""
    records: list[tuple[AuditKind, str, dict[str, Any]]] = []
    if state.triage is not None:
        records.append(
            (
                "priority",
                "triage",
                {
                    "revision": revision,
                    **state.triage.model_dump(mode="json"),
                },
            )
        )
    for decision in state.decisions:
        payload = {"revision": revision, **decision.model_dump(mode="json")}
        records.append(("decision", "guardrails", payload))
    if state.analysis is not None:
        records.append(
            (
                "verdict",
                state.analysis.analyst,
                {
                    "revision": revision,
                    "status": state.status,
                    "route": list(state.visited),
                    **state.analysis.model_dump(mode="json", exclude={"outcomes"}),
                    "playbook_paths": {o.playbook: list(o.path) for o in state.analysis.outcomes},
                    "recommendations": [r.model_dump(mode="json") for r in state.recommendations],
                    "opinions": [
                        {"analyst": o.analyst, "verdict": o.verdict, "confidence": o.confidence}
                        for o in state.opinions
                    ],
                    "investigation": state.investigation.model_dump(
                        mode="json", exclude={"transcript"}
                    )
                    if state.investigation
                    else None,
                },
            )
        )
    return records


def summarize(state: CaseState, store: Store) -> dict[str, object]:
    """The stored analysis: the final state plus the summary columns the store indexes."""
    analysis = state.analysis
    triage = state.triage
    return {
        # The model conversation is in the audit (model_call records), not in the case row.
        **state.model_dump(mode="json", exclude={"investigation": {"transcript"}}),
        "status": state.status,
        "verdict": analysis.verdict if analysis else "needs_review",
        "confidence": analysis.confidence if analysis else 0.0,
        "priority": triage.priority if triage else "P4",
        "title": store.headline(state.case_id) or state.case_id,
    }


def triage(
    paths: Iterable[Path],
    settings: Settings,
    store: Store,
    options: IngestOptions | None = None,
    now: datetime | None = None,
    progress: Progress = _no_progress,
    model: ModelChoice = "env",
    memory: MemoryOpener | Literal["config"] | None = "config",
) -> TriageReport:
    """The whole job: ingest, correlate, analyse (``memory``: see :func:`analyse`)."""
    when = now or datetime.now(UTC)
    report = ingest(paths, store, options or IngestOptions(), when, progress)
    correlate(store, settings, when, progress, report)
    analyse(store, settings, when, progress, report, model, memory)
    return report
