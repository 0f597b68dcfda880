"""``tierzero normalize``: the OCSF the store would keep, on stdout; quarantines on stderr.

The equality checks compare what ``normalize`` prints with the store's alerts exported the same
way (``Alert.to_ocsf()`` of each stored body) after ``tierzero triage`` (or its ingest, for the
AIT-ADS corpus) read the same input. The one field that differs by construction is
``metadata.logged_time``: when the record was read, by each run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES, NOW, REPO
from tierzero.cli import app
from tierzero.cli.normalize import (
    EXIT_BROKEN_PIPE,
    MAX_REASON_KINDS,
    OTHER_REASONS,
    BlockWriter,
    Summary,
    normalize,
    reason_kind,
)
from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import quarantine
from tierzero.ingest.reader import IngestOptions
from tierzero.store.sqlite import Store
from tierzero.usecases.triage import ingest

runner = CliRunner()
AIT_MAPPING = REPO / "tests" / "data" / "ait_ads.mapping.yaml"
SURICATA_LINE = next(
    line for line in (EXAMPLES / "suricata_eve.json").read_text().splitlines() if line.strip()
)


def _comparable(document: dict[str, Any]) -> dict[str, Any]:
    """The document without its read time (each run stamps its own)."""
    document["metadata"].pop("logged_time")
    return document


def _digest(document: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()


def _printed(lines: Iterable[str]) -> dict[str, str]:
    """Alert id -> digest of the first document printed with it (the store keeps the first of
    a repeated id)."""
    found: dict[str, str] = {}
    for line in lines:
        document = _comparable(json.loads(line))
        found.setdefault(document["metadata"]["uid"], _digest(document))
    return found


def _stored(db: Path) -> dict[str, str]:
    """Alert id -> digest of the stored alert's OCSF export."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, body FROM alerts").fetchall()
    found = {}
    for alert_id, body in rows:
        # Through JSON as normalize's output goes (tuples become lists).
        document = json.loads(json.dumps(Alert.model_validate_json(body).to_ocsf()))
        found[alert_id] = _digest(_comparable(document))
    return found


def _stderr_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def examples_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path, dict[str, Any]]:
    """``normalize examples`` and ``triage examples`` into a fresh store."""
    db = tmp_path_factory.mktemp("normalize") / "t.db"
    triaged = runner.invoke(app, ["triage", str(EXAMPLES), "--db", str(db), "--json"])
    assert triaged.exit_code == 0, triaged.output
    converted = runner.invoke(app, ["normalize", str(EXAMPLES)])
    assert converted.exit_code == 0, converted.output
    return converted, db, json.loads(triaged.stdout)


def test_examples_print_what_the_store_keeps(
    examples_run: tuple[Any, Path, dict[str, Any]],
) -> None:
    converted, db, report = examples_run
    lines = converted.stdout.splitlines()
    assert len(lines) == report["normalized"] == 45
    printed = _printed(lines)
    assert printed == _stored(db)
    first = json.loads(lines[0])
    assert first["class_uid"] == 2004 and first["raw_data"]  # raw data included


def test_examples_quarantine_and_counts_on_stderr(
    examples_run: tuple[Any, Path, dict[str, Any]],
) -> None:
    converted, db, report = examples_run
    *quarantined, last = _stderr_lines(converted.stderr)
    summary = last["summary"]
    assert summary["records_in"] == report["alerts_in"] == 52
    assert (summary["normalized"], summary["quarantined"]) == (45, 7)
    assert summary["files"] == 12
    assert summary["normalized_by_source"] == report["by_source"]
    assert sum(summary["quarantined_by_reason"].values()) == 7
    assert summary["quarantined_by_reason"]["not valid JSON"] == 1
    with sqlite3.connect(db) as conn:
        stored = conn.execute(
            "SELECT source_file, record_no, source, reason FROM quarantine"
        ).fetchall()
    printed = [
        (q["file"], q["record_no"], q["source"], q["reason"])
        for q in (line["quarantined"] for line in quarantined)
    ]
    assert sorted(printed) == sorted(tuple(row) for row in stored)
    assert all(q["quarantined"]["raw_sha256"] for q in quarantined)


@pytest.mark.corpus
def test_vendor_samples_print_what_the_store_keeps(corpora: Path, tmp_path: Path) -> None:
    samples = corpora / "vendor-samples"
    db = tmp_path / "t.db"
    store = Store(db)
    try:
        report = ingest([samples], store, IngestOptions())
    finally:
        store.close()
    converted = runner.invoke(app, ["normalize", str(samples)])
    assert converted.exit_code == 0, converted.output
    lines = converted.stdout.splitlines()
    assert len(lines) == report.counts.normalized > 0
    assert _printed(lines) == _stored(db)
    summary = _stderr_lines(converted.stderr)[-1]["summary"]
    assert summary["quarantined"] == report.counts.quarantined


@pytest.mark.corpus
def test_ait_ads_csvs_print_what_the_store_keeps(corpora: Path, tmp_path: Path) -> None:
    """116k real alerts through the CSV mapping: the ingest of ``triage`` into a store, and
    ``python -m tierzero normalize`` as a process, its stdout in a file."""
    csvs = [corpora / "ait-ads" / f"{name}_alerts.csv" for name in ("russellmitchell", "shaw")]
    output = tmp_path / "ait.ocsf.jsonl"
    errors = tmp_path / "ait.stderr"
    with output.open("wb") as handle, errors.open("wb") as error_handle:
        # The converter runs beside the ingest: the two read the same files independently.
        process = subprocess.Popen(
            [sys.executable, "-m", "tierzero", "normalize", *map(str, csvs)]
            + ["--mapping", str(AIT_MAPPING)],
            stdout=handle,
            stderr=error_handle,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        db = tmp_path / "t.db"
        store = Store(db)
        try:
            report = ingest(csvs, store, IngestOptions(mapping=AIT_MAPPING))
        finally:
            store.close()
        returncode = process.wait(timeout=600)
    stderr = errors.read_text(encoding="ascii")
    assert returncode == 0, stderr[-2000:]
    summary = json.loads(stderr.splitlines()[-1])["summary"]
    assert summary["records_in"] == report.counts.alerts_in > 100_000
    assert summary["normalized"] == report.counts.normalized
    with output.open(encoding="ascii") as lines:
        printed = _printed(lines)
    assert printed == _stored(db)


# --- exit status and errors -----------------------------------------------------------------


def test_a_missing_path_is_exit_1_with_nothing_on_stdout(tmp_path: Path) -> None:
    result = runner.invoke(app, ["normalize", str(EXAMPLES), str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "no such file or folder" in result.stderr


def test_a_bad_mapping_is_exit_1_before_any_output(tmp_path: Path) -> None:
    mapping = tmp_path / "bad.mapping.yaml"
    mapping.write_text("fields: [not, a, mapping]\n")
    result = runner.invoke(
        app, ["normalize", str(EXAMPLES), "--source", "mapped", "--mapping", str(mapping)]
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "error:" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "splunk"], "unknown --source"),
        (["--source", "mapped"], "--source mapped needs --mapping FILE"),
    ],
)
def test_wrong_options_are_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["normalize", str(EXAMPLES), *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stdout == ""


def test_quarantined_records_are_exit_0(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"not": "an alert"}\n[1, 2]\n' + SURICATA_LINE + "\n")
    result = runner.invoke(app, ["normalize", str(bad)])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 1
    *quarantined, last = _stderr_lines(result.stderr)
    assert [q["quarantined"]["record_no"] for q in quarantined] == [1, 2]
    assert last["summary"]["records_in"] == 3


def test_an_empty_folder_says_so_in_the_summary(tmp_path: Path) -> None:
    result = runner.invoke(app, ["normalize", str(tmp_path)])
    assert result.exit_code == 0
    summary = _stderr_lines(result.stderr)[-1]["summary"]
    assert summary["files"] == 0 and "no alert files found" in summary["warning"]


def test_help_explains_the_streams_and_exit_status() -> None:
    result = runner.invoke(app, ["normalize", "--help"])
    assert result.exit_code == 0
    for word in ("stdout", "stderr", "quarantined", "summary", "Exit status", "141"):
        assert word in result.stdout


# --- hostile text ---------------------------------------------------------------------------

HOSTILE = "\x1b[2J\x1b]0;owned\x07\u2028\u202eexe.\u0085\u009b31m"


def test_attacker_text_never_reaches_a_terminal_raw(tmp_path: Path) -> None:
    """Control characters, C1 controls, a bidi override and a line separator in an alert field
    and in a file name come out as JSON escapes (ASCII only) and read back unchanged."""
    record = json.loads(SURICATA_LINE)
    record["alert"]["signature"] = "ET " + HOSTILE
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "eve.jsonl").write_text(json.dumps(record, ensure_ascii=False) + "\n")
    named = folder / ("x\x1b[31m\u202e" + ".jsonl")
    named.write_text("{broken\n")
    result = runner.invoke(app, ["normalize", str(folder)])
    assert result.exit_code == 0, result.output
    for stream in (result.stdout_bytes, result.stderr_bytes):
        assert all(32 <= byte < 127 or byte == 10 for byte in stream), stream[:200]
    (line,) = result.stdout.splitlines()
    assert json.loads(line)["finding_info"]["title"] == "ET " + HOSTILE
    quarantined = _stderr_lines(result.stderr)[0]["quarantined"]
    assert quarantined["file"] == str(named)


# --- streaming -------------------------------------------------------------------------------


def _write_lines(path: Path, count: int) -> Path:
    record = json.loads(SURICATA_LINE)
    with path.open("w") as handle:
        for flow in range(count):
            record["flow_id"] = flow
            handle.write(json.dumps(record) + "\n")
    return path


def test_a_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """``| head -1``: the reader goes away; no traceback, the SIGPIPE exit status."""
    source = _write_lines(tmp_path / "eve.jsonl", 3000)  # several MiB of output: past any pipe
    process = subprocess.Popen(
        [sys.executable, "-m", "tierzero", "normalize", str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        # Python ignores SIGPIPE itself; as a shell child would, the writes see EPIPE.
    )
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == EXIT_BROKEN_PIPE == 128 + signal.SIGPIPE
    assert json.loads(first)["class_uid"] == 2004
    assert b"Traceback" not in stderr and b"BrokenPipe" not in stderr, stderr[-2000:]


def _peak_bytes(path: Path) -> int:
    class Discard:
        def write(self, data: bytes) -> int:
            return len(data)

        def flush(self) -> None:
            pass

    out, errors = BlockWriter(Discard()), BlockWriter(Discard())
    tracemalloc.start()
    try:
        summary = normalize([path], IngestOptions(), out, errors)
        out.flush()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary.quarantined == 0
    return peak


def test_memory_does_not_grow_with_the_input(tmp_path: Path) -> None:
    """Four times the records, about the same peak of Python allocations."""
    small = _peak_bytes(_write_lines(tmp_path / "small.jsonl", 500))
    large = _peak_bytes(_write_lines(tmp_path / "large.jsonl", 2000))
    print(f"\npeak of Python allocations: {small} B (500 records), {large} B (2000 records)")
    assert large < small * 1.5 + 256 * 1024, (small, large)


def test_output_leaves_in_blocks() -> None:
    sink = io.BytesIO()
    writer = BlockWriter(sink, block=100)
    writer.write({"a": "x" * 60})
    assert sink.getvalue() == b""  # queued
    writer.write({"a": "y" * 60})
    assert sink.getvalue().count(b"\n") == 2  # the block was full: written
    writer.write({"b": 1})
    writer.flush()
    assert sink.getvalue().splitlines()[-1] == b'{"b":1}'


# --- reason counts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        ("not valid JSON: Expecting ',' delimiter at column 99", "not valid JSON"),
        ("record is 2000000 bytes, over the 1048576-byte limit", "record is <n> bytes, over the "
         "<n>-byte limit"),
        ("impossible time 2099-01-01T00:00:00+00:00: 631840.4 h after it was ingested",
         "impossible time <time>"),
        ("field 'time' has no time zone: '2024-01-01 10:00:00'", "field 'time' has no time zone"),
        ("missing required field 'rule.description'", "missing required field 'rule.description'"),
    ],
)  # fmt: skip
def test_reasons_are_counted_by_kind(reason: str, kind: str) -> None:
    assert reason_kind(reason) == kind


def _quarantined(reasons: Iterator[str]) -> Iterator[Any]:
    for number, reason in enumerate(reasons, start=1):
        yield quarantine(
            source="x", source_file="f", record_no=number, reason=reason, raw="", at=NOW
        )


def test_distinct_reason_kinds_are_bounded() -> None:
    summary = Summary()
    for record in _quarantined(f"Graph object of type 'x{'ab'[n % 2] * n}' is odd" for n in
                               range(MAX_REASON_KINDS + 50)):  # fmt: skip
        summary.add(record)
    counted = summary.as_json()["quarantined_by_reason"]
    assert len(counted) == MAX_REASON_KINDS + 1
    assert counted[OTHER_REASONS] == 50
    assert summary.as_json()["records_in"] == MAX_REASON_KINDS + 50


def test_nothing_but_the_input_is_needed(tmp_path: Path) -> None:
    """normalize needs no store, config or audit key: it runs in an empty folder."""
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    env = {k: v for k, v in os.environ.items() if k != "TIERZERO_AUDIT_KEY_FILE"}
    env["PYTHONPATH"] = str(REPO)
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "tierzero", "normalize", "examples/okta_system_log.jsonl"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ["examples"]  # no store, no key
    assert not (tmp_path / ".config").exists()
