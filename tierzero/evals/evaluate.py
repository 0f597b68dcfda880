"""Evaluation as a use case: run a labelled dataset and write its report; compare two runs.

The rest of ``tierzero.evals`` is the harness (datasets, the isolated runner, metrics,
reports); this module is what a door calls: it checks the request, loads the data, runs, writes
the report and, when asked, the measured precision of each detection. (The harness drives the
use cases of ``tierzero.usecases`` scenario by scenario, so it sits above them.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from tierzero.config import ConfigError
from tierzero.evals.compare import Comparison, Thresholds, compare
from tierzero.evals.dataset import Dataset, DatasetError, Scenario, load_dataset
from tierzero.evals.external import external_dataset
from tierzero.evals.live import parse_since
from tierzero.evals.precision import write_precision
from tierzero.evals.render import write_outputs
from tierzero.evals.replay import ReplayOptions, replay_dataset
from tierzero.evals.replay_report import write_replay_outputs
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


@dataclass(frozen=True)
class ReplayRequest:
    """What to replay and how (the options of ``tierzero eval replay``)."""

    files: tuple[Path, ...]
    mapping: Path
    label_column: str
    benign_labels: tuple[str, ...]
    drop_columns: tuple[str, ...] = ()
    step: str = "PT1H"
    resolve_after: str = "PT4H"
    approve_learned: bool = False
    out_dir: Path | None = None


def replay(
    request: ReplayRequest, settings: Settings, progress: Progress = no_progress
) -> EvalResult:
    """Replay labelled CSV files in data-time order with a simulated analyst (and admin) and
    write ``eval run``'s report plus the per-day figures and the learning curve."""
    try:
        step = _duration("--step", request.step)
        resolve_after = _duration("--resolve-after", request.resolve_after)
        data = external_dataset(
            list(request.files),
            request.mapping,
            request.label_column,
            list(request.benign_labels),
            datetime.now(UTC),
            request.drop_columns,
            name="replay",
        )
    except DatasetError as exc:
        raise Refused(str(exc), usage=True) from None
    if step < timedelta(minutes=1) or step > timedelta(days=1):
        raise Refused("--step must be between PT1M and P1D", usage=True)
    options = ReplayOptions(step, resolve_after, request.approve_learned)
    learned = "learning" if request.approve_learned else "no-learning"
    folder = request.out_dir or Path("tierzero-eval") / f"replay-{learned}"
    done = [0]

    def stepped(scenario: str, end: datetime, figures: dict[str, Any]) -> None:
        done[0] += 1
        progress(f"replay {scenario} {end:%Y-%m-%d %H:%M}", done[0], None)

    try:
        run = replay_dataset(data, settings, options, stepped)
    except DatasetError as exc:
        raise Refused(str(exc), usage=True) from None
    report = build_report(run)
    report["replay"] = {
        "options": {
            "step": request.step,
            "resolve_after": request.resolve_after,
            "approve_learned": request.approve_learned,
        }
    }
    result = EvalResult(report, folder, write_replay_outputs(report, folder))
    result.problems = list(report["metrics"]["errors"])
    return result


_DURATION = TypeAdapter(timedelta)


def _duration(option: str, value: str) -> timedelta:
    """An ISO 8601 duration (``PT1H``, ``P1D``), read by pydantic as the config files are."""
    try:
        return _DURATION.validate_python(value)
    except ValidationError:
        raise Refused(
            f"{option}: an ISO 8601 duration such as PT1H, not {value!r}", usage=True
        ) from None


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
