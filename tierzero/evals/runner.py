"""Run a dataset: every scenario alone, in a fresh store and lab, through the real pipeline.

Each scenario gets its own temporary folder with a new SQLite store (alerts, cases, audit,
checkpoints and the SIMULATED lab), an inventory built from the dataset's environment, and the
run clock ``scenario.now``. Nothing carries over between scenarios (no similar-case memory, no
sightings baseline, no rate-limit state), so a scenario's outcome does not depend on the order
the suite runs in. The outcome records what tierzero did, keyed by the scenario's alert refs;
``tierzero.evals.metrics`` scores it against the truth.

With the offline analyst the outcome is deterministic (case ids, verdicts, decisions, actions);
only the measured seconds vary between runs.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from tierzero.evals.dataset import AlertFile, Dataset, Scenario
from tierzero.ingest.reader import IngestOptions
from tierzero.settings import Settings
from tierzero.store.identity_activity import ACTIVITY_WINDOW
from tierzero.store.sqlite import Store
from tierzero.tools.inventory import Inventory
from tierzero.usecases.runtime import ModelChoice, lab_connector
from tierzero.usecases.triage import TriageReport, analyse, correlate, ingest

Agent = Literal["offline", "llm"]
ScenarioProgress = Callable[[Scenario, dict[str, Any]], None]
_EXECUTED = frozenset({"executed", "rolled_back", "expired"})  # it happened, whatever came later


@dataclass
class EvalRun:
    """The raw outcome of running a dataset (scored by ``metrics.score``)."""

    dataset: Dataset
    agent: Agent
    model: str | None
    settings: Settings
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0


def run_dataset(
    dataset: Dataset,
    settings: Settings,
    agent: Agent = "offline",
    model: ModelChoice | None = None,
    progress: ScenarioProgress | None = None,
    only: Callable[[Scenario], bool] | None = None,
) -> EvalRun:
    """Run every scenario (or those ``only`` selects) in isolation, in dataset order.

    ``model`` overrides the model the ``llm`` agent uses (a scripted fake in tests); by
    default ``llm`` takes the endpoint from the environment and ``offline`` uses none.
    """
    choice: ModelChoice = model if model is not None else ("env" if agent == "llm" else "off")
    run = EvalRun(dataset, agent, None, settings)
    started = time.perf_counter()
    for scenario in dataset.scenarios:
        if only is not None and not only(scenario):
            continue
        outcome = run_scenario(dataset, scenario, settings, choice)
        run.model = run.model or outcome.get("model")
        run.outcomes.append(outcome)
        if progress is not None:
            progress(scenario, outcome)
    run.seconds = time.perf_counter() - started
    return run


def run_scenario(
    dataset: Dataset, scenario: Scenario, settings: Settings, model: ModelChoice = "off"
) -> dict[str, Any]:
    """Run one scenario in a fresh temporary store and describe what tierzero did.

    A scenario that fails to run is an outcome with ``error`` set (scored as nothing found),
    never an exception that stops the suite.
    """
    with scenario_workdir(scenario.id) as folder:
        store = Store(folder / "eval.db")
        try:
            return _run(dataset, scenario, settings, model, store, folder)
        except Exception as exc:
            return {
                **scenario_header(scenario),
                "error": f"{type(exc).__name__}: {str(exc)[:500]}",
                "seconds": 0.0,
                "alerts": {},
                "cases": [],
                "lab": {},
                "model": None,
            }
        finally:
            store.close()


@contextmanager
def scenario_workdir(scenario_id: str) -> Iterator[Path]:
    """A temporary folder for one scenario's store and inputs, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix=f"tierzero-eval-{scenario_id[:40]}-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def scenario_header(scenario: Scenario) -> dict[str, Any]:
    """The fields every scenario outcome starts with."""
    return {
        "id": scenario.id,
        "title": scenario.title,
        "category": scenario.category,
        "difficulty": scenario.difficulty,
    }


def scenario_settings(dataset: Dataset, scenario: Scenario, settings: Settings) -> Settings:
    """The configuration under test with the scenario's environment as the inventory."""
    env = dataset.environment_of(scenario)
    inventory = Inventory(
        assets=env.assets,
        identities=env.identities,
        windows=env.windows,
        scanners=env.scanners,
        indicators=env.indicators,
        internal_domains=settings.correlation.internal_domains,
    )
    return replace(settings, inventory=inventory)


def _inputs(
    dataset: Dataset, scenario: Scenario, folder: Path
) -> list[tuple[Path, IngestOptions, Callable[[int], str]]]:
    """Write the scenario's inputs into ``folder``: (file, how to read it, record_no -> ref)."""
    inputs: list[tuple[Path, IngestOptions, Callable[[int], str]]] = []
    if scenario.alerts:
        path = folder / "alerts.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for alert in scenario.alerts:
                handle.write(json.dumps(alert.record, separators=(",", ":")) + "\n")
        refs = [a.ref for a in scenario.alerts]
        inputs.append((path, IngestOptions(), lambda n: refs[n - 1]))
    for spec in scenario.files:
        inputs.append(_external_input(dataset, spec, folder))
    return inputs


def _external_input(
    dataset: Dataset, spec: AlertFile, folder: Path
) -> tuple[Path, IngestOptions, Callable[[int], str]]:
    root = Path(dataset.root)
    source = Path(spec.path) if Path(spec.path).is_absolute() else root / spec.path
    mapping = None
    if spec.mapping:
        mapping = Path(spec.mapping) if Path(spec.mapping).is_absolute() else root / spec.mapping
    path = source
    if spec.drop_columns:
        # Triage must not see the labels, not even in raw_data: read a copy without them.
        path = folder / f"{spec.id}{source.suffix}"
        with (
            source.open(newline="", encoding="utf-8-sig", errors="replace") as src,
            path.open("w", newline="", encoding="utf-8") as dst,
        ):
            reader = csv.DictReader(src)
            kept = [c for c in reader.fieldnames or () if c not in spec.drop_columns]
            writer = csv.DictWriter(dst, kept, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(reader)
    return path, IngestOptions(mapping=mapping), lambda n: f"{spec.id}#{n}"


def _run(
    dataset: Dataset,
    scenario: Scenario,
    base: Settings,
    model: ModelChoice,
    store: Store,
    folder: Path,
) -> dict[str, Any]:
    settings = scenario_settings(dataset, scenario, base)
    lab = lab_connector(store, settings)
    env = dataset.environment_of(scenario)
    lab.preset(env.lab.isolated_hosts, env.lab.disabled_accounts, env.lab.blocklist)
    report = TriageReport()
    ref_of: dict[tuple[str, int], str] = {}
    started = time.perf_counter()
    for path, options, ref in _inputs(dataset, scenario, folder):
        ingest([path], store, options, scenario.now, report=report)
        ref_of.update(_refs_of_file(store, path, ref))
    correlate(store, settings, scenario.now, report=report)
    correlated = time.perf_counter()
    finished: dict[str, float] = {}
    order = store.dirty_case_ids()

    def tick(stage: str, done: int, total: int | None) -> None:
        if stage == "analyse":
            finished[order[done - 1]] = time.perf_counter()

    analyse(store, settings, scenario.now, tick, report, model=model, memory=None)
    outcome = {
        **scenario_header(scenario),
        "error": None,
        "seconds": round(time.perf_counter() - started, 4),
        "model": report.model,
        "counts": {
            "alerts_in": report.counts.alerts_in,
            "normalized": report.counts.normalized,
            "quarantined": report.counts.quarantined,
        },
        "alerts": alert_outcomes(store, ref_of),
        "cases": [],
        "lab": lab.state(),
    }
    case_of_alert = {a["alert"]: a["case"] for a in outcome["alerts"].values() if a["alert"]}
    alert_ref = {a["alert"]: ref for ref, a in outcome["alerts"].items() if a["alert"]}
    usage = _model_usage(store)
    for row in store.cases():
        refs = sorted(r for a, r in alert_ref.items() if case_of_alert.get(a) == row.id)
        done_at = finished.get(row.id)
        case = case_outcome(row.id, row.status, row.analysis or {}, refs, alert_ref, store)
        case["model_calls"], case["tokens"] = usage.get(row.id, (0, 0))
        # Seconds from the alerts being handed in until the case's analysis was saved, and
        # from the case's creation (end of correlation) until then when something executed.
        case["enriched_s"] = round(done_at - started, 4) if done_at else None
        contained = any(a["status"] in _EXECUTED for a in case["actions"] if a["containment"])
        case["contained_s"] = round(done_at - correlated, 4) if done_at and contained else None
        outcome["cases"].append(case)
    return outcome


def _refs_of_file(
    store: Store, path: Path, ref: Callable[[int], str]
) -> dict[tuple[str, int], str]:
    name = str(path)
    rows = store.conn.execute(
        "SELECT record_no FROM alerts WHERE source_file = ? UNION "
        "SELECT record_no FROM quarantine WHERE source_file = ?",
        (name, name),
    ).fetchall()
    return {(name, r[0]): ref(r[0]) for r in rows}


def alert_outcomes(store: Store, ref_of: dict[tuple[str, int], str]) -> dict[str, dict[str, Any]]:
    """Per ref: the stored alert, its case, detection and whether it repeats another.

    A record refused as routine identity activity has no alert, but its case is the one it is
    read with as context (the nearest alert naming its account within ``ACTIVITY_WINDOW``):
    that is where an analyst sees it, so grouping counts it there.
    """
    alerts: dict[str, dict[str, Any]] = {}
    id_to_ref: dict[str, str] = {}
    rows = store.conn.execute(
        "SELECT id, source_file, record_no, case_id, detection_id, duplicate_of FROM alerts"
    ).fetchall()
    for alert_id, source_file, record_no, case_id, detection, duplicate_of in rows:
        ref = ref_of.get((source_file, record_no))
        if ref is None:
            continue
        id_to_ref[alert_id] = ref
        alerts[ref] = {
            "alert": alert_id,
            "case": case_id,
            "detection": detection,
            "duplicate_of": duplicate_of,
            "quarantined": None,
        }
    for entry in alerts.values():
        if entry["duplicate_of"]:
            entry["duplicate_of"] = id_to_ref.get(entry["duplicate_of"], entry["duplicate_of"])
    for source_file, record_no, reason in store.conn.execute(
        "SELECT source_file, record_no, reason FROM quarantine"
    ):
        ref = ref_of.get((source_file, record_no))
        if ref is not None:
            alerts[ref] = {
                "alert": None,
                "case": store.activity_case(source_file, record_no, ACTIVITY_WINDOW),
                "detection": None,
                "duplicate_of": None,
                "quarantined": reason,
            }
    return alerts


def case_outcome(
    case_id: str,
    status: str,
    analysis: dict[str, Any],
    refs: list[str],
    alert_ref: dict[str, str],
    store: Store,
) -> dict[str, Any]:
    """One predicted case: verdict, techniques, cited alerts, decisions and actions."""
    conclusion = analysis.get("analysis") or {}
    evidence = {e["id"]: e.get("alert_id") for e in analysis.get("evidence") or ()}
    cited = sorted(
        {
            alert_ref[a]
            for e in conclusion.get("evidence") or ()
            if (a := evidence.get(e)) in alert_ref
        }
    )
    techniques = set(conclusion.get("techniques") or ())
    for alert in store.alerts_of_case(case_id):
        techniques.update(alert.techniques)
    # The guard decides on each recommendation in order: decision i is about recommendation i.
    recommendations = analysis.get("recommendations") or []
    decisions = [
        {
            "action": d["action"],
            "target": d["target"],
            "outcome": d["outcome"],
            "rule_id": d["rule_id"],
            "requested_by": recommendations[i].get("requested_by", "")
            if i < len(recommendations)
            else "",
        }
        for i, d in enumerate(analysis.get("decisions") or [])
    ]
    actions = [
        {
            "action": row.action,
            "target": row.target,
            "status": row.status,
            "rule_id": row.rule_id,
            "containment": row.action_class in ("contain", "disrupt"),
        }
        for row in store.actions.rows(case_id)
    ]
    return {
        "id": case_id,
        "status": status,
        "verdict": analysis.get("verdict", "needs_review"),
        "confidence": analysis.get("confidence", 0.0),
        "priority": analysis.get("priority"),
        "refs": refs,
        "techniques": sorted(techniques),
        "cited": cited,
        "decisions": decisions,
        "actions": actions,
        "analyst": conclusion.get("analyst"),
    }


def _model_usage(store: Store) -> dict[str, tuple[int, int]]:
    """Per case: model calls made and tokens spent (prompt + completion), from the audit."""
    usage: dict[str, tuple[int, int]] = {}
    for record in store.conn.execute(
        "SELECT case_id, payload FROM audit WHERE kind = 'model_call' AND case_id IS NOT NULL"
    ):
        case_id, payload = record[0], json.loads(record[1])
        calls, tokens = usage.get(case_id, (0, 0))
        phase = payload.get("phase")
        if phase == "request":
            calls += 1
        elif phase == "response":
            used = payload.get("usage") or {}
            prompt = used.get("prompt_tokens") or payload.get("prompt_tokens") or 0
            tokens += prompt + (used.get("counted_completion_tokens") or 0)
        elif phase == "error":
            tokens += payload.get("prompt_tokens") or 0
        usage[case_id] = (calls, tokens)
    return usage
