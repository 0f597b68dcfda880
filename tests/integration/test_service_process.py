"""``tierzero serve`` as a real process on loopback (issue 14): every acknowledged record
survives SIGKILL during intake, SIGTERM stops it cleanly, and tokens are made by the CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from devtools.alert_stream import detection_lines, ids_of
from devtools.loopback import free_port
from tierzero.store.sqlite import Store
from tierzero.usecases.audit import verify_store

pytestmark = pytest.mark.loopback


def tierzero(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tierzero", *args], capture_output=True, text=True, timeout=120
    )


@contextmanager
def served(db: Path, log: Path, *options: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "tierzero", "serve"),
                *("--port", str(port), "--db", str(db), *options),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the service did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield process, base
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def test_tokens_are_made_by_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    made = tierzero(
        "tokens", "create", "--role", "ingest", "--name", "siem", "--as", "ops", "--db", str(db)
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("tz_") and "not shown again" in made.stderr
    listed = tierzero("tokens", "list", "--db", str(db), "--json")
    assert '"siem"' in listed.stdout and token not in listed.stdout
    again = tierzero(
        "tokens", "create", "--role", "ingest", "--name", "siem", "--as", "ops", "--db", str(db)
    )
    assert again.returncode == 1 and "never reused" in again.stderr
    bad = tierzero(
        "tokens", "create", "--role", "root", "--name", "x", "--as", "ops", "--db", str(db)
    )
    assert bad.returncode == 2
    assert tierzero("tokens", "revoke", "siem", "--as", "ops", "--db", str(db)).returncode == 0
    assert token not in db.read_bytes().decode("latin-1")


def test_every_acknowledged_record_survives_sigkill(tmp_path: Path) -> None:
    db, log = tmp_path / "t.db", tmp_path / "serve.log"
    token = tierzero(
        "tokens", "create", "--role", "ingest", "--name", "s", "--as", "ops", "--db", str(db)
    ).stdout.strip()
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def pusher(worker: int, base: str) -> None:
        n = worker * 1_000_000
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as client:
            while not stop.is_set():
                body = "\n".join(detection_lines(20, n)).encode()
                n += 20
                try:
                    answer = client.post("/api/alerts", content=body, timeout=30)
                except httpx.TransportError:
                    return  # the service is gone: this push was never acknowledged
                if answer.status_code == 202:
                    with lock:
                        acknowledged.extend(ids_of(answer.json()))

    # A config whose rate limit does not hold the pushers back (the test is about durability).
    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    (config / "service.yaml").write_text("rate_limit: {per_minute: 1000000, burst: 100000}\n")
    with served(db, log, "--config", str(config)) as (process, base):
        threads = [threading.Thread(target=pusher, args=(w, base)) for w in range(4)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 400 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)  # in the middle of intake
        process.wait(30)
        stop.set()
        for thread in threads:
            thread.join(60)
    assert len(acknowledged) >= 400
    with served(db, log) as (_, base):  # it starts again on the same store
        assert httpx.get(f"{base}/health", timeout=5).json()["status"] == "ok"
    store = Store(db)
    stored = {r[0] for r in store.conn.execute("SELECT id FROM alerts")}
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged alerts lost"
    verify_store(store)  # the audit chain is whole (raises on a broken chain)
    intake = [r for r in store.audit_records() if r["kind"] == "intake"]
    assert sum(r["payload"]["stored"] for r in intake) == len(stored)
    store.close()


def test_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    db, log = tmp_path / "t.db", tmp_path / "serve.log"
    with served(db, log) as (process, _):
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down and then re-raises the signal it caught (exit status -15).
        assert process.wait(60) in (0, -signal.SIGTERM)
    text = log.read_text()
    assert "Application shutdown complete" in text
    assert "Traceback" not in text


def test_the_readme_curl_lines(tmp_path: Path) -> None:
    """The README's "Run as a service" curl lines, exactly as written but for the port, against
    a served store with the README's two tokens."""
    from tests.integration.test_readme_commands import CURL_LINES

    curl = shutil.which("curl")
    assert curl, "curl is needed to run the README's curl lines (.ci/run installs it)"
    assert len(CURL_LINES) == 3
    shutil.copytree(Path(__file__).resolve().parents[2] / "examples", tmp_path / "examples")
    db, log = tmp_path / ".tierzero" / "tierzero.db", tmp_path / "serve.log"
    made = {
        role: tierzero(
            "tokens", "create", "--role", role, "--name", name, "--as", "dana", "--db", str(db)
        ).stdout.strip()
        for role, name in (("ingest", "siem"), ("analyst", "dana"))
    }
    env = {**os.environ, "INGEST_TOKEN": made["ingest"], "ANALYST_TOKEN": made["analyst"]}
    with served(db, log) as (_, base):
        port = base.rsplit(":", 1)[1]
        answers = []
        for line in CURL_LINES:
            done = subprocess.run(
                ["bash", "-c", line.replace("127.0.0.1:8080", f"127.0.0.1:{port}")],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
            answers.append(json.loads(done.stdout))
    pushed, cases, health = answers
    assert (pushed["stored"], pushed["quarantined"]) == (5, 0)
    assert "cases" in cases and "total" in cases
    assert health["status"] == "ok"


def test_the_wazuh_integration_script_pushes_one_alert(tmp_path: Path) -> None:
    """contrib/wazuh/custom-tierzero as Wazuh's integrator runs it: the alert file (one
    alert, as Wazuh writes it), the api_key and the hook_url."""
    script = Path(__file__).resolve().parents[2] / "contrib" / "wazuh" / "custom-tierzero"
    wazuh = Path(__file__).resolve().parents[2] / "examples" / "wazuh_alerts.json"
    alert = tmp_path / "alert.json"
    alert.write_text(wazuh.read_text().splitlines()[0])
    db, log = tmp_path / "t.db", tmp_path / "serve.log"
    token = tierzero(
        "tokens", "create", "--role", "ingest", "--name", "wazuh", "--as", "ops", "--db", str(db)
    ).stdout.strip()
    with served(db, log) as (_, base):
        hook = f"{base}/api/alerts/wazuh"
        done = subprocess.run(
            [sys.executable, str(script), str(alert), token, hook],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        wrong = subprocess.run(
            [sys.executable, str(script), str(alert), "tz_wrong", hook],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert wrong.returncode == 1 and "401" in wrong.stderr
    store = Store(db)
    assert store.counts()["alerts"] == 1
    store.close()
