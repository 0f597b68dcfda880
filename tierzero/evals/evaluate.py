"""Evaluation as a use case: run a labelled dataset and write its report; compare two runs.

The rest of ``tierzero.evals`` is the harness (datasets, the isolated runner, metrics,
reports); this module is what a door calls: it checks the request, loads the data, runs, writes
the report and, when asked, the measured precision of each detection. (The harness drives the
use cases of ``tierzero.usecases`` scenario by scenario, so it sits above them.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tierzero.config import ConfigError
from tierzero.evals.compare import Comparison, Thresholds, compare
from tierzero.evals.dataset import Dataset, DatasetError, Scenario, load_dataset
from tierzero.evals.external import external_dataset
from tierzero.evals.live import parse_since
from tierzero.evals.precision import write_precision
from tierzero.evals.render import write_outputs
from tierzero.evals.report import build_report, load_report
from tierzero.evals.runner import run_dataset
from tierzero.guardrails.policy import PRECISION_FILE, load_policy
from tierzero.settings import Settings
from tierzero.usecases.errors import Refused
from tierzero.usecases.runtime import Progress, chat_model, no_progress

Agent = Literal["offline", "llm"]


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate and where to write it (the options of ``tierzero eval run``)."""

    dataset: str
    more: tuple[Path, ...] = ()
    agent: str = "offline"
    policy: Path | None = None
    out_dir: Path | None = None
    categories: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    mapping: Path | None = None
    label_column: str | None = None
    benign_labels: tuple[str, ...] = ()
    drop_columns: tuple[str, ...] = ()
    now: str | None = None
    write_precision_to: Path | None = None


@dataclass
class EvalResult:
    """The report, the files written, and the detections whose precision was written."""

    report: dict[str, Any]
    folder: Path
    written: list[Path]
    precision_written: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """A forbidden action was executed or a scenario could not run."""
        metrics = self.report["metrics"]
        return bool(metrics["forbidden_actions"]["executed"] or metrics["errors"])


def evaluate(
    request: EvalRequest, settings: Settings, progress: Progress = no_progress
) -> EvalResult:
    """Run every chosen scenario in isolation and write report.json, report.md and charts."""
    if request.agent not in ("offline", "llm"):
        raise Refused("--agent must be offline or llm", usage=True)
    agent: Agent = "llm" if request.agent == "llm" else "offline"
    if request.policy is not None:
        try:
            measured = settings.folder / PRECISION_FILE  # the same measurements as the current
            candidate = load_policy(request.policy, with_precision=measured)
        except ConfigError as exc:
            raise Refused(str(exc), usage=True) from None
        settings = replace(settings, policy=candidate)
    if agent == "llm" and chat_model(settings, "env") is None:
        raise Refused(
            "--agent llm needs a model endpoint: set OPENAI_API_KEY (and OPENAI_BASE_URL for a "
            "local server) and TIERZERO_MODEL; 'tierzero doctor' checks it",
            usage=True,
        )
    data = _load(request)
    chosen = _selector(data, request.categories, request.scenarios)
    total = sum(1 for s in data.scenarios if chosen(s))
    if total == 0:
        raise Refused("no scenario matches --category/--scenario", usage=True)
    folder = request.out_dir or Path("tierzero-eval") / f"{data.name}-{agent}"
    done = iter(range(1, total + 1))
    run = run_dataset(
        data,
        settings,
        agent,
        progress=lambda scenario, outcome: progress("scenarios", next(done), total),
        only=chosen,
    )
    report = build_report(run, request.policy)
    result = EvalResult(report, folder, write_outputs(report, folder))
    metrics = report["metrics"]
    if request.write_precision_to is not None:
        figures = {d: (v["precision"], v["alerts"]) for d, v in metrics["detections"].items()}
        source = f"tierzero eval {data.name} {data.version} ({agent})"
        result.precision_written = write_precision(
            request.write_precision_to, figures, source, datetime.now(UTC)
        )
    result.problems = list(metrics["errors"])
    return result


def compare_runs(
    before: Path, after: Path, config: Path | None, thresholds: list[str]
) -> Comparison:
    """What changed between two runs, case by case, against the regression thresholds."""
    try:
        a, b = load_report(before), load_report(after)
        limits = Thresholds.load(config, thresholds)
    except (ValueError, ConfigError) as exc:
        raise Refused(str(exc), usage=True) from None
    return compare(a, b, limits)


def _load(request: EvalRequest) -> Dataset:
    try:
        if request.dataset.lower().endswith(".csv"):
            if request.mapping is None or request.label_column is None:
                raise Refused(
                    "labelled CSV data needs --mapping FILE and --label-column NAME", usage=True
                )
            return external_dataset(
                [Path(request.dataset), *request.more],
                request.mapping,
                request.label_column,
                list(request.benign_labels),
                _clock(request.now),
                request.drop_columns,
            )
        if request.more:
            raise Refused("only labelled CSV data takes more than one file", usage=True)
        return load_dataset(request.dataset)
    except DatasetError as exc:
        raise Refused(str(exc), usage=True) from None


def _clock(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        return parse_since(value)
    except ValueError as exc:
        raise Refused(f"--now: {exc}", usage=True) from None


def _selector(
    data: Dataset, categories: tuple[str, ...], ids: tuple[str, ...]
) -> Callable[[Scenario], bool]:
    unknown = set(ids) - {s.id for s in data.scenarios}
    if unknown:
        raise Refused(f"no scenario {sorted(unknown)[0]!r} in {data.name}", usage=True)

    def chosen(s: Scenario) -> bool:
        return (not categories or s.category in categories) and (not ids or s.id in ids)

    return chosen
