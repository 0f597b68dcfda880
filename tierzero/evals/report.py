"""The evaluation report: ``report.json`` (everything), ``report.md`` and PNG charts.

``report.json`` is the contract ``tierzero eval compare`` reads: the run's identity (dataset
name, version and digest, tierzero version, agent, model, configuration fingerprint and
versions), the metrics from ``metrics.score``, one row per truth case and the raw outcome of
every scenario. Keys are sorted and nothing in it depends on the machine except the measured
seconds, so two offline runs of the same inputs differ only in timings.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from tierzero.config import write_atomically
from tierzero.evals.metrics import score
from tierzero.evals.runner import EvalRun

REPORT_FORMAT = 1


def tierzero_version() -> str:
    try:
        return version("tierzero")
    except PackageNotFoundError:
        return "unknown"


def build_report(run: EvalRun, policy_file: Path | None = None) -> dict[str, Any]:
    """The whole report of one run as a JSON-ready dict."""
    scored = score(run.dataset.scenarios, run.outcomes)
    return {
        "format": REPORT_FORMAT,
        "tierzero": tierzero_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": {
            "name": run.dataset.name,
            "version": run.dataset.version,
            "sha256": run.dataset.sha256,
            "scenarios": len(run.outcomes),
        },
        "agent": run.agent,
        "model": run.model,
        "config": run.settings.versions(),
        "policy_file": str(policy_file) if policy_file else None,
        "seconds": round(run.seconds, 3),
        "metrics": scored["metrics"],
        "cases": scored["cases"],
        "scenarios": run.outcomes,
    }


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write JSON atomically (a reader never sees half a report)."""
    text = json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False)
    write_atomically(path, text + "\n")


def load_report(path: Path) -> dict[str, Any]:
    """Read a ``report.json`` (or the folder holding one); ValueError if it is not one."""
    file = path / "report.json" if path.is_dir() else path
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{file}: cannot read: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not valid JSON: {exc.msg}") from exc
    if not isinstance(document, dict) or document.get("format") != REPORT_FORMAT:
        raise ValueError(f"{file}: not a tierzero evaluation report (format {REPORT_FORMAT})")
    return document


# A report's folder name as the service accepts it in a URL: no separators, no dot first.
REPORT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def list_reports(folder: Path) -> list[dict[str, Any]]:
    """The reports under ``folder`` (one per sub-folder), newest first: name, dataset, agent,
    time. A folder holding no readable report is left out."""
    found = []
    for path in sorted(folder.glob("*/report.json")) if folder.is_dir() else []:
        try:
            report = load_report(path)
        except ValueError:
            continue
        found.append(
            {
                "name": path.parent.name,
                "dataset": report.get("dataset", {}).get("name"),
                "agent": report.get("agent"),
                "model": report.get("model"),
                "created_at": report.get("created_at"),
            }
        )
    return sorted(found, key=lambda r: str(r["created_at"]), reverse=True)


def named_report(folder: Path, name: str) -> Path | None:
    """The folder of the report ``name`` under ``folder``, or None (a name that is not a
    plain folder name, or no report there)."""
    if not REPORT_NAME.match(name):
        return None
    path = folder / name
    return path if (path / "report.json").is_file() else None
