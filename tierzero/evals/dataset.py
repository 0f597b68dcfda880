"""Evaluation datasets: labelled scenarios with their environment and ground truth.

A dataset is a folder holding ``dataset.json`` (name, version, the environment every scenario
shares) and ``scenarios/*.json`` (each a JSON list of scenarios), or one JSON file with the
scenarios inline. ``schema/*.schema.json`` beside the built-in suite is generated from these
models (``python -m tierzero.evals.dataset``) and a test keeps it in step.

A scenario's alerts are vendor records in any format tierzero reads (the adapter is detected
per record), or alert files on disk with a field mapping (external labelled data, see
``tierzero.evals.external``). The truth is either expected cases (grouping, verdict, ATT&CK
techniques, evidence, expected actions) or, for external data, one label per alert. Actions that
must never happen are listed per scenario.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from tierzero.tools.inventory import Asset, Identity, Indicator, MaintenanceWindow, Scanner

SCHEMA_VERSION: Literal[1] = 1
BUILTIN = Path(__file__).parent / "datasets" / "builtin"
SCHEMA_DIR = Path(__file__).parent / "datasets" / "schema"

Category = Literal[
    "credential_abuse",
    "malware_execution",
    "lateral_movement",
    "data_exfiltration",
    "phishing",
    "cloud_abuse",
    "benign_lookalike",
    "external",
]
TruthVerdict = Literal["true_positive", "benign_positive", "false_positive"]
ATTACK_VERDICTS: frozenset[str] = frozenset({"true_positive"})
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,79}$"


class DatasetError(ValueError):
    """A dataset cannot be loaded; the message names the file and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabState(_Strict):
    """The simulated response environment before the scenario runs (already contained)."""

    isolated_hosts: tuple[str, ...] = ()
    disabled_accounts: tuple[str, ...] = ()
    blocklist: tuple[str, ...] = Field(
        default=(), description="'kind:value' entries already blocked, e.g. 'ip:198.51.100.7'"
    )


class Environment(_Strict):
    """Inventory and lab state; a scenario's environment extends the dataset's."""

    assets: tuple[Asset, ...] = ()
    identities: tuple[Identity, ...] = ()
    windows: tuple[MaintenanceWindow, ...] = ()
    scanners: tuple[Scanner, ...] = ()
    indicators: tuple[Indicator, ...] = ()
    lab: LabState = LabState()

    def extended_by(self, other: Environment) -> Environment:
        """This environment with ``other``'s entries added (same-named entries replaced)."""

        def merged(mine: tuple[Any, ...], theirs: tuple[Any, ...], key: str) -> tuple[Any, ...]:
            replaced = {getattr(item, key) for item in theirs}
            return tuple(i for i in mine if getattr(i, key) not in replaced) + theirs

        return Environment(
            assets=merged(self.assets, other.assets, "hostname"),
            identities=merged(self.identities, other.identities, "user"),
            windows=merged(self.windows, other.windows, "id"),
            scanners=merged(self.scanners, other.scanners, "name"),
            indicators=self.indicators + other.indicators,
            lab=LabState(
                isolated_hosts=self.lab.isolated_hosts + other.lab.isolated_hosts,
                disabled_accounts=self.lab.disabled_accounts + other.lab.disabled_accounts,
                blocklist=self.lab.blocklist + other.lab.blocklist,
            ),
        )


class ScenarioAlert(_Strict):
    """One vendor record; ``ref`` is how the truth names it."""

    ref: str = Field(pattern=_ID)
    record: dict[str, Any]


class AlertFile(_Strict):
    """Alert records in a file (external data); refs are ``FILE_ID#RECORD_NO``."""

    id: str = Field(pattern=_ID)
    path: str = Field(description="absolute, or relative to the dataset")
    mapping: str | None = Field(default=None, description="field mapping YAML for CSV files")
    drop_columns: tuple[str, ...] = Field(
        default=(), description="columns removed before triage sees the file (the labels)"
    )


class ActionPattern(_Strict):
    """An action, on one target or (``target`` omitted) on any."""

    action: str
    target: str | None = None

    def matches(self, action: str, target: str) -> bool:
        return action == self.action and (
            self.target is None or self.target.lower() == target.lower()
        )

    def __str__(self) -> str:
        return f"{self.action} {self.target or '*'}"


class TruthCase(_Strict):
    """One case the alerts should form, and what a correct analysis concludes about it."""

    id: str = Field(pattern=_ID)
    alerts: tuple[str, ...] = Field(min_length=1, description="refs of the alerts in the case")
    verdict: TruthVerdict
    techniques: tuple[Annotated[str, Field(pattern=r"^T\d{4}(\.\d{3})?$")], ...] = Field(
        default=(), description="ATT&CK ids, e.g. T1110.003"
    )
    evidence: tuple[str, ...] = Field(
        default=(), description="refs of alerts a correct conclusion must cite"
    )
    expected_actions: tuple[ActionPattern, ...] = ()


class Truth(_Strict):
    cases: tuple[TruthCase, ...] = ()
    forbidden_actions: tuple[ActionPattern, ...] = Field(
        default=(), description="actions that must never be executed in this scenario"
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="per-alert labels (external data): ref -> label"
    )
    benign_labels: tuple[str, ...] = Field(
        default=(), description="label values that mean 'not an attack'"
    )


class Scenario(_Strict):
    """One isolated run: alerts in, an environment, and what should come out."""

    id: str = Field(pattern=_ID)
    title: str
    category: Category
    difficulty: Literal["standard", "hard"] = "standard"
    description: str = ""
    now: AwareDatetime = Field(description="the run's clock (decisions and windows use it)")
    alerts: tuple[ScenarioAlert, ...] = ()
    files: tuple[AlertFile, ...] = ()
    environment: Environment = Environment()
    truth: Truth

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        if not self.alerts and not self.files:
            raise ValueError("a scenario needs alerts or files")
        refs = [a.ref for a in self.alerts]
        doubled = [r for r, n in Counter(refs).items() if n > 1]
        if doubled:
            raise ValueError(f"alert refs used twice: {doubled[:5]}")
        known = set(refs)
        grouped: Counter[str] = Counter()
        for case in self.truth.cases:
            grouped.update(case.alerts)
            for ref in (*case.alerts, *case.evidence):
                if ref not in known and not self.files:
                    raise ValueError(f"truth case {case.id} names unknown alert {ref!r}")
            if not set(case.evidence) <= set(case.alerts):
                raise ValueError(f"truth case {case.id}: evidence must be alerts of the case")
        twice = [r for r, n in grouped.items() if n > 1]
        if twice:
            raise ValueError(f"alerts in two truth cases: {twice[:5]}")
        if self.truth.cases and not self.files and grouped.keys() != known:
            missing = sorted(known - grouped.keys())[:5]
            raise ValueError(f"every alert must belong to one truth case; missing {missing}")
        return self


class DatasetHeader(_Strict):
    """``dataset.json`` of a dataset folder."""

    schema_version: Literal[1] = SCHEMA_VERSION
    name: str = Field(pattern=_ID)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    description: str = ""
    environment: Environment = Environment()


class Dataset(DatasetHeader):
    """A whole dataset: the header plus its scenarios."""

    scenarios: tuple[Scenario, ...] = Field(min_length=1)
    sha256: str = Field(default="", description="digest of the files it was loaded from")
    root: str = Field(default="", description="folder relative paths resolve against")

    @model_validator(mode="after")
    def _unique(self) -> Dataset:
        doubled = [s for s, n in Counter(s.id for s in self.scenarios).items() if n > 1]
        if doubled:
            raise ValueError(f"scenario ids used twice: {doubled[:5]}")
        return self

    def environment_of(self, scenario: Scenario) -> Environment:
        return self.environment.extended_by(scenario.environment)


def load_dataset(location: str | Path) -> Dataset:
    """Load ``builtin``, a dataset folder or a single dataset JSON file."""
    path = BUILTIN if str(location) == "builtin" else Path(location)
    if path.is_dir():
        header_path = path / "dataset.json"
        if not header_path.is_file():
            raise DatasetError(f"{path}: not a dataset folder (no dataset.json)")
        files = [header_path, *sorted((path / "scenarios").glob("*.json"))]
        header = _read_json(header_path)
        if not isinstance(header, dict):
            raise DatasetError(f"{header_path}: expected a JSON object")
        scenarios: list[Any] = []
        for file in files[1:]:
            chunk = _read_json(file)
            if not isinstance(chunk, list):
                raise DatasetError(f"{file}: expected a JSON list of scenarios")
            for index, item in enumerate(chunk):
                scenarios.append(_scenario(item, f"{file}[{index}]"))
        document = {**header, "scenarios": scenarios}
    elif path.is_file():
        files = [path]
        document = _read_json(path)
        if not isinstance(document, dict):
            raise DatasetError(f"{path}: expected a JSON object with 'scenarios'")
    else:
        raise DatasetError(f"no such dataset: {location} (a folder, a .json file or 'builtin')")
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    try:
        return Dataset.model_validate(
            {
                **document,
                "sha256": digest.hexdigest(),
                "root": str(path if path.is_dir() else path.parent),
            }
        )
    except ValidationError as exc:
        raise DatasetError(f"{path}: {_first_error(exc)}") from exc


def _scenario(item: Any, where: str) -> Scenario:
    try:
        return Scenario.model_validate(item)
    except ValidationError as exc:
        name = item.get("id", "?") if isinstance(item, dict) else "?"
        raise DatasetError(f"{where} (scenario {name}): {_first_error(exc)}") from exc


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from exc


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"'{key}': {first['msg']}"


def json_schemas() -> dict[str, dict[str, Any]]:
    """The JSON schemas of ``dataset.json`` and of one scenario (published beside the suite)."""
    return {
        "dataset.schema.json": DatasetHeader.model_json_schema(),
        "scenario.schema.json": Scenario.model_json_schema(),
    }


def write_schemas(folder: Path = SCHEMA_DIR) -> None:
    """Regenerate the published schemas."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (folder / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    write_schemas()
