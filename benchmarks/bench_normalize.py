"""Throughput and memory of ``tierzero normalize`` on large JSON-lines inputs.

For each size N (default 100,000 and 1,000,000 lines) the script writes N Suricata EVE ``alert``
events (the shape of ``examples/suricata_eve.json``, from ``devtools/vendor_records``) to one
``.jsonl`` file, the smaller files being the first lines of the largest, then runs
``python -m tierzero normalize FILE`` as a child process with stdout to ``/dev/null`` and reports:

- lines per second (wall time of the child, start-up included; the start-up alone is measured on
  a one-line file and reported too);
- the child's peak resident memory (``ru_maxrss`` from ``wait4``): flat across N means memory
  does not grow with the input;
- the child's own summary (records in, normalized, quarantined): every line must normalize.

Run ``python benchmarks/bench_normalize.py --help`` for the options. Results are printed and
written to ``benchmarks/results/<UTC date and time>-normalize-<host>.json`` (``--no-write``).
At 1,000,000 lines the input is about 1 GiB and the run takes a few minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from devtools.vendor_records.attack import Mitre  # noqa: E402
from devtools.vendor_records.suricata import eve_alert, eve_metadata  # noqa: E402

DEFAULT_LINES = (100_000, 1_000_000)
DEFAULT_SEED = 20261203
START = datetime(2026, 11, 9, tzinfo=UTC)
RESULTS = Path(__file__).resolve().parent / "results"

# (sid, signature, category, priority, severity, ATT&CK reference or None)
SIGNATURES = (
    (
        2059412,
        "ET MALWARE Observed Cobalt Strike C2 Domain in TLS SNI",
        "Domain Observed Used for C2 Detected",
        1,
        "Major",
        Mitre("TA0011", "Command_and_Control", "T1071.001", "Web_Protocols"),
    ),
    (
        2001219,
        "ET SCAN Potential SSH Scan",
        "Attempted Information Leak",
        2,
        "Minor",
        Mitre("TA0043", "Reconnaissance", "T1595", "Active_Scanning"),
    ),
    (
        2024218,
        "ET POLICY SMB2 NT Create AndX Request For an Executable File",
        "Potential Corporate Privacy Violation",
        2,
        "Major",
        Mitre("TA0008", "Lateral_Movement", "T1021.002", "SMB/Windows_Admin_Shares"),
    ),
    (2013028, "ET POLICY curl User-Agent Outbound", "Attempted Information Leak", 3, "Minor", None),
)


def eve_line(rng: random.Random, index: int) -> str:
    """One EVE alert line; the stream advances 0.25 s per line (1,000,000 lines: ~3 days)."""
    sid, signature, category, priority, severity, mitre = rng.choice(SIGNATURES)
    event = eve_alert(
        START + timedelta(seconds=index / 4),
        flow_id=rng.randrange(10**15, 2 * 10**15),
        src=f"10.20.{rng.randrange(1, 40)}.{rng.randrange(2, 250)}",
        sport=rng.randrange(32768, 65000),
        dst=f"198.51.100.{rng.randrange(1, 250)}",
        dport=rng.choice((443, 22, 445, 80)),
        sid=sid,
        rev=1,
        signature=signature,
        category=category,
        priority=priority,
        metadata=eve_metadata(severity, [mitre] if mitre else []),
        app_proto="tls",
    )
    return json.dumps(event, separators=(",", ":"))


def write_inputs(folder: Path, sizes: Sequence[int], seed: int) -> dict[int, Path]:
    """One file per size; each smaller file is the beginning of the larger ones."""
    ordered = sorted(set(sizes))
    paths = {n: folder / f"eve-{n}.jsonl" for n in ordered}
    handles = {n: paths[n].open("w", encoding="utf-8") for n in ordered}
    rng = random.Random(seed)
    try:
        for index in range(ordered[-1]):
            line = eve_line(rng, index) + "\n"
            for n, handle in handles.items():
                if index < n:
                    handle.write(line)
    finally:
        for handle in handles.values():
            handle.close()
    return paths


def run_normalize(path: Path) -> dict[str, Any]:
    """``python -m tierzero normalize PATH`` with stdout to /dev/null; its time, peak RSS and
    summary."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "tierzero", "normalize", str(path)],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        lines = errors.read().decode("ascii", "replace").splitlines()
    if child.returncode != 0:
        raise RuntimeError(f"normalize exited {child.returncode}: {lines[-5:]}")
    summary = json.loads(lines[-1])["summary"]
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak_kib = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    return {"seconds": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024, 1), **summary}


def _thousands(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def environment() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "git_commit": commit,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lines",
        type=int,
        nargs="+",
        default=list(DEFAULT_LINES),
        help="input sizes in lines (default: 100000 1000000)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--tmp", type=Path, help="folder for the generated input (a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated input")
    parser.add_argument("--no-write", action="store_true", help="do not write a results file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if any(n < 1 for n in args.lines):
        raise SystemExit("--lines: sizes must be positive")
    folder = Path(tempfile.mkdtemp(prefix="bench-normalize-", dir=args.tmp))
    try:
        started = time.perf_counter()
        paths = write_inputs(folder, args.lines, args.seed)
        print(f"generated {max(paths)} lines in {time.perf_counter() - started:.0f} s")
        (folder / "one").mkdir()
        startup = run_normalize(write_inputs(folder / "one", [1], args.seed)[1])
        runs = []
        for n, path in sorted(paths.items()):
            measured = run_normalize(path)
            measured |= {
                "lines": n,
                "input_mib": round(path.stat().st_size / 2**20, 1),
                "lines_per_second": round(n / measured["seconds"]),
                # The rate of the conversion itself, the one-line run's time taken off (only
                # meaningful when the run is much longer than the start-up).
                "lines_per_second_after_startup": round(
                    n / (measured["seconds"] - startup["seconds"])
                )
                if measured["seconds"] > 2 * startup["seconds"]
                else None,
            }
            if measured["normalized"] != n:
                print(f"warning: {n - measured['normalized']} of {n} lines were not normalized")
            runs.append(measured)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"start-up (one line): {startup['seconds']} s, peak RSS {startup['peak_rss_mib']} MiB")
    print(
        f"{'lines':>10} {'input MiB':>10} {'seconds':>8} {'lines/s':>8} "
        f"{'after start-up':>15} {'peak RSS MiB':>13}"
    )
    for r in runs:
        print(
            f"{r['lines']:>10,} {r['input_mib']:>10} {r['seconds']:>8} "
            f"{r['lines_per_second']:>8,} {_thousands(r['lines_per_second_after_startup']):>15} "
            f"{r['peak_rss_mib']:>13}"
        )
    if not args.no_write:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
        out = RESULTS / f"{stamp}-normalize-{socket.gethostname()}.json"
        out.parent.mkdir(exist_ok=True)
        document = {"environment": environment(), "startup": startup, "runs": runs}
        out.write_text(json.dumps(document, indent=2) + "\n")
        print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
