"""Replay labelled data in time order, with people in the loop (``tierzero eval replay``).

``eval run`` hands tierzero a whole scenario at once, at one clock. A SOC sees alerts arrive
over days, and people's verdicts on yesterday's cases shape what tierzero does today. The
replay plays that out: each labelled CSV file is cut into steps of data time (``step``, an
hour by default), and each step is ingested, correlated and analysed with tierzero's clock at
the step's end. The store only ever holds what has arrived, so nothing learns from the future.

Two people are SIMULATED, from the labels (which tierzero itself never sees):

- the **analyst** resolves each case that reached a person, ``resolve_after`` its
  escalation: ``true_positive`` when any of its alerts carries an attack label, else
  ``false_positive``. The resolution goes through the same use case as
  ``tierzero cases resolve``, so it is feedback like any person's.
- the **admin** (only with ``approve_learned``) approves every suppression tierzero proposes
  from that feedback, through the same use case as ``tierzero suppressions approve``.

A case *escalates* when an analysis leaves it open for a person (``metrics.ESCALATED``) while
no person owes it a look yet; a case a person resolved escalates again when new alerts send
it back. Each escalation is counted on the day it happened, as *noise-only* when every alert
the case holds then is labelled benign.

The outcome has the layout of ``eval run``'s (per-case and per-alert, so one scorer reads
both), plus ``replay``: the per-day figures and every escalation.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tierzero.evals.dataset import Dataset, DatasetError, Scenario
from tierzero.evals.metrics import ESCALATED
from tierzero.evals.runner import (
    EvalRun,
    alert_outcomes,
    case_outcome,
    scenario_header,
    scenario_settings,
    scenario_workdir,
)
from tierzero.ingest.adapters.mapped import MappedAdapter
from tierzero.ingest.base import RecordRejected, get, parse_time
from tierzero.ingest.reader import IngestOptions
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.cases import resolve_case
from tierzero.usecases.errors import Refused
from tierzero.usecases.learning import approve_suppression, propose_suppressions
from tierzero.usecases.triage import TriageReport, analyse, correlate, ingest

ANALYST = "replay-analyst"  # the SIMULATED analyst: resolves from the labels
ADMIN = "replay-admin"  # the SIMULATED admin: approves what tierzero proposes to learn
LEARNED_PREFIX = "learned:"  # an auto-close rule id of a learned suppression

StepProgress = Callable[[str, datetime, dict[str, Any]], None]


@dataclass(frozen=True)
class ReplayOptions:
    """How the replay moves: data time per step, the analyst's delay, the admin's answer."""

    step: timedelta = timedelta(hours=1)
    resolve_after: timedelta = timedelta(hours=4)
    approve_learned: bool = False


@dataclass
class _Row:
    time: datetime | None  # None: the time cannot be read (the reader quarantines the row)
    line: int  # the record number in the labelled file (what the labels are keyed by)
    text: str  # the row as CSV text, without the label columns


@dataclass
class _Tracked:
    """One case as the replay follows it: when it last reached a person, still unanswered."""

    pending_since: datetime | None = None
    escalations: int = 0


@dataclass
class _Day:
    escalated_cases: set[str] = field(default_factory=set)
    noise_only_cases: set[str] = field(default_factory=set)
    phases_escalated: set[str] = field(default_factory=set)
    benign_alerts: int = 0
    benign_auto_closed: int = 0
    attack_alerts: int = 0
    attack_closed_by_learned_rule: int = 0
    resolved: int = 0
    rules_proposed: int = 0
    rules_approved: int = 0


def replay_dataset(
    dataset: Dataset,
    settings: Settings,
    options: ReplayOptions,
    progress: StepProgress | None = None,
) -> EvalRun:
    """Replay every scenario (each a labelled CSV file) alone, in a fresh store."""
    run = EvalRun(dataset, "offline", None, settings)
    started = time.perf_counter()
    for scenario in dataset.scenarios:
        run.outcomes.append(replay_scenario(dataset, scenario, settings, options, progress))
    run.seconds = time.perf_counter() - started
    return run


def replay_scenario(
    dataset: Dataset,
    scenario: Scenario,
    settings: Settings,
    options: ReplayOptions,
    progress: StepProgress | None = None,
) -> dict[str, Any]:
    """Replay one labelled file step by step; its outcome (``eval run``'s layout + ``replay``)."""
    if len(scenario.files) != 1 or scenario.alerts:
        raise DatasetError(f"{scenario.id}: a replay reads one labelled CSV file per scenario")
    with scenario_workdir(scenario.id) as folder:
        store = Store(folder / "replay.db")
        try:
            return _Replay(dataset, scenario, settings, options, store, folder, progress).run()
        finally:
            store.close()


class _Replay:
    def __init__(
        self,
        dataset: Dataset,
        scenario: Scenario,
        settings: Settings,
        options: ReplayOptions,
        store: Store,
        folder: Path,
        progress: StepProgress | None,
    ) -> None:
        self.spec = scenario.files[0]
        self.scenario = scenario
        self.settings = scenario_settings(dataset, scenario, settings)
        self.options = options
        self.store = store
        self.folder = folder
        self.progress = progress
        self.labels = scenario.truth.labels
        self.benign = set(scenario.truth.benign_labels)
        self.root = Path(dataset.root)
        self.ref_of: dict[tuple[str, int], str] = {}
        self.cases: dict[str, _Tracked] = defaultdict(_Tracked)
        self.days: dict[str, _Day] = defaultdict(_Day)
        self.escalations: list[dict[str, Any]] = []
        self.report = TriageReport()
        self.seen_rules: set[int] = set()

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        header, rows = self._rows()
        last_day = max((_day(r.time) for r in rows if r.time is not None), default="")
        for index, (end, batch) in enumerate(self._steps(rows)):
            # The day the step falls in; the steps after the data (the analyst catching up)
            # count on its last day.
            day = min(_day(end - timedelta(microseconds=1)), last_day or "9999")
            self._step(index, end, day, header, batch)
        outcome = {
            **scenario_header(self.scenario),
            "error": None,
            "seconds": round(time.perf_counter() - started, 4),
            "model": None,
            "counts": {
                "alerts_in": self.report.counts.alerts_in,
                "normalized": self.report.counts.normalized,
                "quarantined": self.report.counts.quarantined,
            },
            "alerts": alert_outcomes(self.store, self.ref_of),
            "cases": [],
            "lab": {},
            "replay": self._summary(),
        }
        alert_ref = {a["alert"]: ref for ref, a in outcome["alerts"].items() if a["alert"]}
        case_of_alert = {a["alert"]: a["case"] for a in outcome["alerts"].values() if a["alert"]}
        for row in self.store.cases():
            refs = sorted(r for a, r in alert_ref.items() if case_of_alert.get(a) == row.id)
            case = case_outcome(row.id, row.status, row.analysis or {}, refs, alert_ref, self.store)
            case["model_calls"], case["tokens"] = 0, 0
            case["enriched_s"] = case["contained_s"] = None
            case["escalations"] = self.cases[row.id].escalations if row.id in self.cases else 0
            outcome["cases"].append(case)
        return outcome

    def _step(self, index: int, end: datetime, day: str, header: str, batch: list[_Row]) -> None:
        figures = self.days[day]
        if batch:
            path = self._chunk(index, header, batch)
            ingest(
                [path], self.store, IngestOptions(mapping=self._mapping()), end, report=self.report
            )
            correlate(self.store, self.settings, end, report=self.report)
        analysed = analyse(
            self.store, self.settings, end, report=TriageReport(), model="off", memory=None
        )
        for state in analysed.cases_analysed:
            self._follow(state.case_id, state.status, end, day)
        if batch:
            self._arrivals(batch, index, figures)
        figures.resolved += self._analyst(end)
        proposed = [
            *propose_suppressions(self.store, self.settings, end),
            *self.store.suppressions(("proposed",)),
        ]
        figures.rules_proposed += len({r.id for r in proposed} - self.seen_rules)
        self.seen_rules.update(r.id for r in proposed)
        if self.options.approve_learned:
            for rule in {r.id: r for r in proposed if r.status == "proposed"}.values():
                approve_suppression(self.store, self.settings, rule.id, ADMIN, "replay", end)
                figures.rules_approved += 1
        if self.progress is not None:
            self.progress(self.scenario.id, end, {"day": day, "alerts": len(batch)})

    # -- reading the file in data-time order ----------------------------------------------------

    def _mapping(self) -> Path | None:
        if not self.spec.mapping:
            return None
        mapping = Path(self.spec.mapping)
        return mapping if mapping.is_absolute() else self.root / mapping

    def _rows(self) -> tuple[str, list[_Row]]:
        """The file's rows without the label columns, in data-time order (stable); a row
        whose time cannot be read comes first, so the reader quarantines it at once."""
        spec = self.spec
        source = Path(spec.path) if Path(spec.path).is_absolute() else self.root / spec.path
        mapping = self._mapping()
        if mapping is None:
            raise DatasetError(f"{spec.id}: a replay needs the CSV file's field mapping")
        fields = MappedAdapter.from_file(mapping).spec.fields
        column, fmt = fields.time.column or "time", fields.time.format
        rows: list[_Row] = []
        with source.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            reader = csv.DictReader(handle)
            kept = [c for c in reader.fieldnames or () if c not in spec.drop_columns]
            for record in reader:
                try:
                    when: datetime | None = parse_time(get(record, column), column, fmt)
                except (ValueError, RecordRejected):
                    when = None
                rows.append(_Row(when, reader.line_num, _csv_line(kept, record)))
        rows.sort(key=lambda r: (r.time is not None, r.time or datetime.min.replace(tzinfo=UTC)))
        return _csv_line(kept, {c: c for c in kept}), rows

    def _steps(self, rows: list[_Row]) -> Iterator[tuple[datetime, list[_Row]]]:
        """(step end, the rows of the step), from the first row's step to the last row's,
        then on until the analyst has answered what the last step escalated."""
        step = self.options.step
        timed = [r for r in rows if r.time is not None]
        if not timed:
            yield datetime.now(UTC), rows
            return
        first, last = timed[0].time, timed[-1].time
        assert first is not None and last is not None
        start = _floor(first, step)
        end = start + step
        at = 0
        while at < len(rows) or end <= last + self.options.resolve_after + step:
            batch = []
            while at < len(rows):
                when = rows[at].time
                if when is not None and when >= end:
                    break
                batch.append(rows[at])
                at += 1
            yield end, batch
            end += step

    def _chunk(self, index: int, header: str, batch: list[_Row]) -> Path:
        """The step's rows as a CSV file of their own; remembers which line is which row."""
        path = self.folder / f"{self.spec.id}-{index:05d}.csv"
        line = 1
        with path.open("w", encoding="utf-8", newline="") as handle:
            handle.write(header)
            for row in batch:
                handle.write(row.text)
                line += row.text.count("\n")
                self.ref_of[(str(path), line)] = f"{self.spec.id}#{row.line}"
        return path

    # -- following cases, the simulated people ------------------------------------------------

    def _labels_of_case(self, case_id: str) -> set[str]:
        rows = self.store.conn.execute(
            "SELECT source_file, record_no FROM alerts WHERE case_id = ?", (case_id,)
        )
        return {
            self.labels.get(self.ref_of.get((f, n), ""), "(unknown)") for f, n in rows.fetchall()
        }

    def _follow(self, case_id: str, status: str, now: datetime, day: str) -> None:
        tracked = self.cases[case_id]
        if status not in ESCALATED:
            tracked.pending_since = None  # closed again by tierzero: nobody owes it a look
            return
        if tracked.pending_since is not None:
            return
        tracked.pending_since = now
        tracked.escalations += 1
        labels = self._labels_of_case(case_id)
        attacks = sorted(labels - self.benign)
        figures = self.days[day]
        figures.escalated_cases.add(case_id)
        figures.phases_escalated.update(attacks)
        if not attacks:
            figures.noise_only_cases.add(case_id)
        prioritization = self._prioritization(case_id)
        self.escalations.append(
            {
                "case": case_id,
                "at": now.isoformat(),
                "day": day,
                "attack_labels": attacks,
                # Why learned rules about the case did not close it (guards, shadow, gaps).
                "learned_blocked": list(prioritization.get("learned_blocked") or ()),
            }
        )

    def _prioritization(self, case_id: str) -> dict[str, Any]:
        row = self.store.conn.execute(
            "SELECT analysis FROM cases WHERE id = ?", (case_id,)
        ).fetchone()
        state = json.loads(row[0]) if row and row[0] else {}
        return dict(state.get("prioritization") or {})

    def _arrivals(self, batch: list[_Row], index: int, figures: _Day) -> None:
        """What happened to the step's alerts on arrival: closed, and by which rule."""
        path = str(self.folder / f"{self.spec.id}-{index:05d}.csv")
        rows = self.store.conn.execute(
            "SELECT a.record_no, c.status, c.analysis FROM alerts a"
            " LEFT JOIN cases c ON c.id = a.case_id WHERE a.source_file = ?",
            (path,),
        ).fetchall()
        for record_no, status, analysis in rows:
            label = self.labels.get(self.ref_of.get((path, record_no), ""), "(unknown)")
            closed = status == "auto_closed"
            rule = _closing_rule(analysis) if closed else None
            if label in self.benign:
                figures.benign_alerts += 1
                figures.benign_auto_closed += closed
            else:
                figures.attack_alerts += 1
                figures.attack_closed_by_learned_rule += bool(
                    rule and rule.startswith(LEARNED_PREFIX)
                )

    def _analyst(self, now: datetime) -> int:
        """The SIMULATED analyst answers every case that has waited ``resolve_after``."""
        done = 0
        for case_id, tracked in self.cases.items():
            since = tracked.pending_since
            if since is None or now - since < self.options.resolve_after:
                continue
            attacks = self._labels_of_case(case_id) - self.benign
            verdict = "true_positive" if attacks else "false_positive"
            try:
                resolve_case(
                    self.store, self.settings, case_id, verdict, ANALYST, "replay (labels)", now
                )
            except Refused:
                continue  # waiting for approvals, or merged away: answered later or never
            tracked.pending_since = None
            done += 1
        return done

    def _summary(self) -> dict[str, Any]:
        days = []
        for day in sorted(self.days):
            f = self.days[day]
            days.append(
                {
                    "day": day,
                    "escalated_cases": len(f.escalated_cases),
                    "noise_only_escalated_cases": len(f.noise_only_cases),
                    "attack_phases_escalated": sorted(f.phases_escalated),
                    "benign_alerts": f.benign_alerts,
                    "benign_alerts_auto_closed": f.benign_auto_closed,
                    "attack_alerts": f.attack_alerts,
                    "attack_alerts_closed_by_learned_rule": f.attack_closed_by_learned_rule,
                    "resolved_by_analyst": f.resolved,
                    "rules_proposed": f.rules_proposed,
                    "rules_approved": f.rules_approved,
                }
            )
        return {
            "options": {
                "step_s": self.options.step.total_seconds(),
                "resolve_after_s": self.options.resolve_after.total_seconds(),
                "approve_learned": self.options.approve_learned,
            },
            "days": days,
            "escalations": self.escalations,
        }


def _csv_line(columns: list[str], record: dict[str, Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([record.get(c, "") for c in columns])
    return out.getvalue()


def _floor(moment: datetime, step: timedelta) -> datetime:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    seconds = step.total_seconds()
    return epoch + timedelta(seconds=(moment - epoch).total_seconds() // seconds * seconds)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).date().isoformat()


def _closing_rule(analysis: str | None) -> str | None:
    if not analysis:
        return None
    state = json.loads(analysis)
    return (state.get("prioritization") or {}).get("auto_close_rule")
