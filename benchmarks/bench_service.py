"""``tierzero serve`` under steady load: intake throughput and latency, and how long an accepted
alert takes to become an analysed case.

It starts ``tierzero serve`` as its own process on loopback (a fresh store, the offline analyst,
a config whose rate limit does not hold the load back), creates an ingest token, and pushes
distinct alerts (``devtools/alert_stream.py``: CrowdStrike detections spread over 50 hosts) from
``--threads`` threads of this process, each sending a ``--batch``-record request every
``1/--rate`` seconds for ``--seconds``. Meanwhile it polls the store (read only) for the
moment each acknowledged alert's case has been analysed. It reports:

- accepted alerts per second, requests, errors (any answer but 202, or no answer);
- request latency p50/p95/max (client side, loopback);
- acceptance to correlated alert (in a case) and to analysed case, p50/p95/max (the poll runs
  every 0.2 s: that is the resolution);
- the kill switch's answer time (an admin's ``PUT /api/autonomy`` every 2 s while the load
  runs and drains), which waits for the store's writer lock as approval answers and timers do;
- whether the count stored equals the count acknowledged.

With ``--model-delay S`` the service analyses with a model: a simulated slow endpoint
(``devtools/slow_model.py``, not a model) that answers nothing after S seconds, so every case
waits on its model calls and then abstains. That measures what waits while a model thinks.

    python benchmarks/bench_service.py [--seconds 60] [--threads 4] [--rate 5] [--batch 20]
        [--model-delay S] [--analysis-workers 2]

Results are printed and written to ``benchmarks/results/<UTC time>-service-<host>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from devtools.alert_stream import detection_lines, ids_of  # noqa: E402
from devtools.loopback import free_port  # noqa: E402
from devtools.slow_model import SlowModel  # noqa: E402


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(values: list[float]) -> dict[str, float | None]:
    return {
        "p50": percentile(values, 0.50),
        "p95": percentile(values, 0.95),
        "max": max(values) if values else None,
        "mean": statistics.fmean(values) if values else None,
    }


def start_service(
    folder: Path, model: SlowModel | None, analysts: int | None
) -> tuple[subprocess.Popen[bytes], str, str, str]:
    """The service on a fresh store: (process, base URL, ingest token, admin token)."""
    db = folder / "bench.db"
    config = folder / "config"
    shutil.copytree(REPO / "config", config)
    service = "rate_limit: {per_minute: 1000000, burst: 100000}\n"
    if analysts is not None:
        service += f"analysis_workers: {analysts}\n"
    (config / "service.yaml").write_text(service)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TIERZERO_MODEL"))}
    env["TIERZERO_AUDIT_KEY_FILE"] = str(folder / "audit.key")
    if model is not None:
        env.update(OPENAI_BASE_URL=model.url, OPENAI_API_KEY="bench", TIERZERO_MODEL="slow-model")
    tokens = [
        subprocess.run(
            [sys.executable, "-m", "tierzero", "tokens", "create", "--role", role]
            + ["--name", f"bench-{role}", "--as", "bench", "--db", str(db)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout.strip()
        for role in ("ingest", "admin")
    ]
    port = free_port()
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "tierzero", "serve", "--port", str(port), "--db", str(db)]
        + ["--config", str(config), "--log-level", "warning"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return process, base, tokens[0], tokens[1]
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the service did not start; see {folder / 'serve.log'}")
        time.sleep(0.2)


class Load:
    """The pushing threads and what they saw."""

    def __init__(self, base: str, token: str, args: argparse.Namespace) -> None:
        self.base, self.token, self.args = base, token, args
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.accepted_at: dict[str, float] = {}  # alert id -> when its push was answered
        self.stored = 0
        self.quarantined = 0
        self.errors: list[str] = []
        self.requests = 0

    def run(self) -> float:
        stop_at = time.monotonic() + self.args.seconds
        threads = [
            threading.Thread(target=self._push, args=(n, stop_at)) for n in range(self.args.threads)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - started

    def _push(self, worker: int, stop_at: float) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        n = worker * 10_000_000
        interval = 1.0 / self.args.rate
        with httpx.Client(base_url=self.base, headers=headers, timeout=60) as client:
            next_at = time.monotonic()
            while time.monotonic() < stop_at:  # a slot missed under overload is skipped
                body = "\n".join(detection_lines(self.args.batch, n)).encode()
                n += self.args.batch
                sent = time.monotonic()
                try:
                    answer = client.post("/api/alerts", content=body)
                except httpx.HTTPError as exc:
                    with self.lock:
                        self.errors.append(type(exc).__name__)
                        self.requests += 1
                    next_at += interval
                    continue
                done = time.monotonic()
                with self.lock:
                    self.requests += 1
                    self.latencies.append(done - sent)
                    if answer.status_code == 202:
                        document = answer.json()
                        self.stored += document["stored"]
                        self.quarantined += document["quarantined"]
                        for alert_id in ids_of(document):
                            self.accepted_at.setdefault(alert_id, done)
                    else:
                        self.errors.append(f"HTTP {answer.status_code}")
                next_at = max(next_at + interval, time.monotonic())
                time.sleep(max(0.0, next_at - time.monotonic()))


def watch_analysis(
    db: Path,
    load: Load,
    until: threading.Event,
    correlated: dict[str, float],
    analysed: dict[str, float],
) -> None:
    """Poll the store (read only) for accepted alerts now in a case, and in an analysed one."""
    while not until.is_set():
        try:
            conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
            rows = conn.execute(
                "SELECT a.id, c.dirty = 0 AND c.status != 'new' FROM alerts a"
                " JOIN cases c ON c.id = a.case_id"
            ).fetchall()
            conn.close()
        except sqlite3.Error:
            rows = []
        now = time.monotonic()
        with load.lock:
            for alert_id, done in rows:
                if alert_id in load.accepted_at:
                    correlated.setdefault(alert_id, now)
                    if done:
                        analysed.setdefault(alert_id, now)
        time.sleep(0.2)


def probe_kill_switch(
    base: str, token: str, until: threading.Event, took: list[float], failed: list[str]
) -> None:
    """An admin turns autonomy on (it already is) every 2 s: how long each answer takes
    (an answer that is not 200, or none within 10 minutes, is a failure)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        while not until.wait(2.0):
            sent = time.monotonic()
            try:
                answer = client.put("/api/autonomy", json={"state": "on", "reason": "bench"})
            except httpx.HTTPError as exc:
                failed.append(type(exc).__name__)
                continue
            if answer.status_code == 200:
                took.append(time.monotonic() - sent)
            else:
                failed.append(f"HTTP {answer.status_code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to push")
    parser.add_argument("--threads", type=int, default=4, help="pushing threads")
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second per thread")
    parser.add_argument("--batch", type=int, default=20, help="alerts per request")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait for analysis")
    parser.add_argument(
        "--model-delay",
        type=float,
        default=None,
        help="analyse with a simulated model endpoint that answers nothing after this many "
        "seconds per call (default: the offline analyst alone)",
    )
    parser.add_argument(
        "--analysis-workers",
        type=int,
        default=None,
        help="the service's analysis_workers (default: config/service.yaml's)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write a results file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tierzero-bench-service-"))
    model = SlowModel(args.model_delay).start() if args.model_delay is not None else None
    process, base, token, admin = start_service(folder, model, args.analysis_workers)
    try:
        load = Load(base, token, args)
        correlated: dict[str, float] = {}
        seen: dict[str, float] = {}
        switch_seconds: list[float] = []
        switch_failures: list[str] = []
        stop_watch = threading.Event()
        watchers = [
            threading.Thread(
                target=watch_analysis,
                args=(folder / "bench.db", load, stop_watch, correlated, seen),
            ),
            threading.Thread(
                target=probe_kill_switch,
                args=(base, admin, stop_watch, switch_seconds, switch_failures),
            ),
        ]
        for watcher in watchers:
            watcher.start()
        pushed_for = load.run()
        drain_until = time.monotonic() + args.drain
        while len(seen) < len(load.accepted_at) and time.monotonic() < drain_until:
            time.sleep(0.2)
        stop_watch.set()
        for watcher in watchers:
            watcher.join()
        stored = (
            sqlite3.connect(f"file:{folder / 'bench.db'}?mode=ro", uri=True)
            .execute("SELECT COUNT(*) FROM alerts")
            .fetchone()[0]
        )
        model_calls = model.calls if model is not None else 0
    finally:
        stopping = time.monotonic()
        process.terminate()
        try:
            process.wait(120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutdown_seconds = time.monotonic() - stopping
        if model is not None:
            model.stop()
    to_case = [seen[a] - load.accepted_at[a] for a in seen]
    to_correlated = [correlated[a] - load.accepted_at[a] for a in correlated]
    result: dict[str, Any] = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
        },
        "load": vars(args),
        "pushed_seconds": round(pushed_for, 2),
        "requests": load.requests,
        "errors": len(load.errors),
        "error_kinds": sorted(set(load.errors)),
        "acknowledged_alerts": len(load.accepted_at),
        "quarantined_records": load.quarantined,
        "accepted_alerts_per_second": round(len(load.accepted_at) / pushed_for, 1),
        "request_seconds": summary(load.latencies),
        "model": "offline analyst" if model is None else f"simulated, {args.model_delay} s a call",
        "model_calls": model_calls,
        "correlated": len(correlated),
        "acceptance_to_correlated_seconds": summary(to_correlated),
        "analysed": len(seen),
        "acceptance_to_analysed_case_seconds": summary(to_case),
        "kill_switch_answer_seconds": summary(switch_seconds),
        "kill_switch_failures": switch_failures,
        "stored_in_store": stored,
        "stored_equals_acknowledged": stored == len(load.accepted_at) == load.stored,
        "sigterm_to_exit_seconds": round(shutdown_seconds, 1),
    }
    print(json.dumps(result, indent=1))
    if not args.no_write:
        out = REPO / "benchmarks" / "results"
        out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H%M%SZ")
        path = out / f"{stamp}-service-{platform.node()}.json"
        path.write_text(json.dumps(result, indent=1) + "\n")
        print(f"written: {path}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
