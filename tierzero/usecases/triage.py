"""The triage job: read alert files, store them, correlate new alerts, analyse changed cases.

Each stage streams: ingest writes in batches, correlation reads unassigned alerts in time
order in pages, and the graph runs one case at a time. Re-running on the same input adds no
alerts, no cases and no analyses (alerts are keyed by source and source id).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tierzero.agents.state import CaseState
from tierzero.clock import Clock, TimeSource, clock_of
from tierzero.correlate.engine import Correlator
from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestCounts, IngestOptions, discover, read_file
from tierzero.settings import Settings
from tierzero.store.memory import MemoryKeeper, MemoryOpener
from tierzero.store.sqlite import Store
from tierzero.usecases.analysis import analyse_case
from tierzero.usecases.runtime import (
    ModelChoice,
    Progress,
    configured_memory,
    graph_session,
    no_progress,
)

BATCH = 1000


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
    busy: list[str] = field(default_factory=list)  # cases another worker was analysing (skipped)


def ingest(
    paths: Iterable[Path],
    store: Store,
    options: IngestOptions,
    now: TimeSource | None = None,
    progress: Progress = no_progress,
    report: TriageReport | None = None,
) -> TriageReport:
    """Normalize every record of the inputs into the store; quarantine what cannot be read.

    ``now``: the clock (or a fixed time) that stamps each file's records as they are read.
    """
    clock = clock_of(now)
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
        for item in read_file(input_file, options, clock.now()):
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
    now: TimeSource | None = None,
    progress: Progress = no_progress,
    report: TriageReport | None = None,
) -> TriageReport:
    """Assign every unassigned alert to a case, in time order, recording each join.

    The whole pass holds the store's writer lock: two processes correlating at once would
    each assign the same alerts (and open cases under one id).
    """
    report = report or TriageReport()
    with store.writing("correlate alerts", background=True):
        _correlate(store, settings, clock_of(now), progress, report)
    return report


def _correlate(
    store: Store, settings: Settings, clock: Clock, progress: Progress, report: TriageReport
) -> None:
    started = time.perf_counter()
    earliest = store.earliest_unassigned()
    if earliest is not None:
        cfg = settings.correlation
        seeds = store.seed_cases(earliest - max(cfg.join_window, cfg.recurrence_window))
        correlator = Correlator(cfg, store.case_id_allocator(), seeds)
        # Entity spread and recurring patterns carry over from alerts placed by earlier runs.
        for placed, case_id in store.placed_alerts(earliest - cfg.lookback, earliest):
            correlator.warm(placed, case_id)
        batch = []
        done = 0
        for alert in store.unassigned_alerts():
            join = correlator.add(alert)
            report.joins[join.kind] += 1
            report.merged_cases += len(join.merged_case_ids)
            batch.append((join, alert))
            if len(batch) >= BATCH:
                store.record_joins(batch, clock.now())
                done += len(batch)
                batch.clear()
                progress("correlate", done, None)
        store.record_joins(batch, clock.now())
    report.seconds["correlate"] = time.perf_counter() - started


def analyse(
    store: Store,
    settings: Settings,
    now: TimeSource | None = None,
    progress: Progress = no_progress,
    report: TriageReport | None = None,
    model: ModelChoice = "env",
    memory: MemoryOpener | Literal["config"] | None = "config",
    busy: Literal["wait", "skip"] = "wait",
    keep_going: Callable[[], bool] = lambda: True,
) -> TriageReport:
    """Run the case graph on every case that changed since its last analysis.

    Cases that end concluded go into the similar-case memory that ``memory`` opens (None: no
    memory, e.g. for benchmarks); a memory failure is a warning in the report, not an error.

    Each case is claimed (one analysis per case at a time), then analysed as one unit of work
    under the store's writer lock, if it is still waiting for analysis then (another process may
    have analysed it). The writer lock is let go while the model thinks. A case another worker
    is analysing is waited for (``busy="wait"``) or left for a later pass (``"skip"``, listed in
    ``report.busy``). ``keep_going`` is asked before each case: False ends the run there (a
    service stopping), and the cases left stay waiting. Every record is stamped by ``now``'s
    clock as it is written, and the kill switch is read at each decision: a switch turned off
    mid-run stops the automatic actions of the rest of the run.
    """
    clock = clock_of(now)
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
        store.audit("policy", "system", settings.versions(), None, clock.now())
    with graph_session(store, settings, clock, model) as (app, ctx), keeper:
        report.model = ctx.model.model.name if ctx.model else None
        for index, case_id in enumerate(case_ids, start=1):
            if not keep_going():
                break
            with store.claim_case(case_id, wait=busy == "wait") as claimed:
                if not claimed:
                    report.busy.append(case_id)
                else:
                    with store.writing(f"analyse {case_id}", background=True):
                        if store.awaits_analysis(case_id):
                            was = store.case_status(case_id)
                            state = analyse_case(app, ctx, case_id)
                            keeper.saved(case_id, was, state.status)
                            report.cases_analysed.append(state)
            progress("analyse", index, len(case_ids))
    report.remembered = keeper.remembered
    report.seconds["analyse"] = time.perf_counter() - started
    return report


def triage(
    paths: Iterable[Path],
    settings: Settings,
    store: Store,
    options: IngestOptions | None = None,
    now: TimeSource | None = None,
    progress: Progress = no_progress,
    model: ModelChoice = "env",
    memory: MemoryOpener | Literal["config"] | None = "config",
) -> TriageReport:
    """The whole job: ingest, correlate, analyse (``memory``: see :func:`analyse`; ``now``:
    the clock, or a fixed time for evaluations and tests; None is the system clock)."""
    clock = clock_of(now)
    report = ingest(paths, store, options or IngestOptions(), clock, progress)
    correlate(store, settings, clock, progress, report)
    analyse(store, settings, clock, progress, report, model, memory)
    return report
