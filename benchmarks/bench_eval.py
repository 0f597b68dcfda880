"""How long the built-in evaluation suite takes, and how much memory it needs.

Runs ``tierzero eval builtin``'s work in this process (load the dataset, run every scenario
in its own fresh store and lab, score, write the report and charts into a temporary folder)
with the offline analyst, and reports the wall time of each stage, seconds per scenario
(median, p95, max) and the peak resident memory. Results are printed and written to
``benchmarks/results/<UTC date and time>-eval-<host>.json``.

    python benchmarks/bench_eval.py [--dataset builtin] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from tierzero.evals.dataset import load_dataset  # noqa: E402
from tierzero.evals.render import write_outputs  # noqa: E402
from tierzero.evals.report import build_report  # noqa: E402
from tierzero.evals.runner import run_dataset  # noqa: E402
from tierzero.evals.stats import median, percentile  # noqa: E402
from tierzero.settings import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="builtin", help="dataset to run (default: builtin)")
    parser.add_argument("--no-write", action="store_true", help="do not write a results file")
    args = parser.parse_args()

    stages: dict[str, float] = {}
    started = time.perf_counter()
    data = load_dataset(args.dataset)
    settings = Settings.load()
    stages["load"] = time.perf_counter() - started
    mark = time.perf_counter()
    run = run_dataset(data, settings)
    stages["run"] = time.perf_counter() - mark
    mark = time.perf_counter()
    report = build_report(run)
    with tempfile.TemporaryDirectory() as folder:
        write_outputs(report, Path(folder))
    stages["report"] = time.perf_counter() - mark
    stages["total"] = time.perf_counter() - started
    per_scenario = [o["seconds"] for o in run.outcomes]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result = {
        "benchmark": "eval",
        "dataset": {"name": data.name, "version": data.version, "scenarios": len(run.outcomes)},
        "seconds": {k: round(v, 2) for k, v in stages.items()},
        "scenario_seconds": {
            "median": median(per_scenario),
            "p95": percentile(per_scenario, 0.95),
            "max": max(per_scenario, default=None),
        },
        "peak_rss_mib": round(peak_mib, 1),
        "errors": len(report["metrics"]["errors"]),
        "machine": {
            "host": socket.gethostname(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(json.dumps(result, indent=2))
    if not args.no_write:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
        path = REPO / "benchmarks" / "results" / f"{stamp}-eval-{socket.gethostname()}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"written to {path}")


if __name__ == "__main__":
    main()
