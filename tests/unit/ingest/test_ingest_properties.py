"""Properties of ingest on arbitrary input: read() never crashes and accounts for every record.

Each record of a file yields exactly one Alert or one QuarantinedRecord, so the number of items
read equals the number of records: non-blank lines of a JSON-lines file, elements of a JSON
array, rows of a CSV file.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import read

NOW = datetime(2026, 11, 17, tzinfo=UTC)
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
MAPPING = """\
name: rows
fields:
  time: {column: when, format: epoch}
  title: name
  host: host
  src_ip: ip
"""

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
# Objects with keys that alert formats look for, so some records get past detection.
KEYS = st.sampled_from(
    [
        "timestamp",
        "rule",
        "agent",
        "manager",
        "id",
        "event_type",
        "src_ip",
        "alert",
        "class_uid",
        "metadata",
        "type_uid",
        "finding_info",
        "time",
        "severity_id",
        "data",
        "level",
    ]
) | st.text(max_size=10)
RECORDS = st.dictionaries(KEYS, JSON_VALUES, max_size=8)
# An envelope name or "hits" at the top of a .json document changes what a record is.
PLAIN_OBJECTS = st.dictionaries(
    st.text(max_size=10).filter(
        lambda k: k not in ("value", "Findings", "resources", "events", "alerts", "hits")
    ),
    JSON_VALUES,
    max_size=4,
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ingest-properties")
    (path / "rows.mapping.yaml").write_text(MAPPING, encoding="utf-8")
    return path


def _read_all(path: Path) -> list[Alert | QuarantinedRecord]:
    out = list(read([path], now=NOW))
    positions = []
    for item in out:
        assert isinstance(item, Alert | QuarantinedRecord)
        if isinstance(item, QuarantinedRecord):
            assert item.reason
            positions.append(item.record_no)
        else:
            positions.append(item.provenance.record_no)
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    return out


def _non_blank_lines(data: bytes) -> int:
    data = data.removeprefix(b"\xef\xbb\xbf")  # a leading BOM marks the encoding: not data
    return sum(1 for line in data.split(b"\n") if line.strip())


@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_json_lines(workdir: Path, data: bytes) -> None:
    path = workdir / "bytes.jsonl"
    path.write_bytes(data)
    assert len(_read_all(path)) == _non_blank_lines(data)


@SETTINGS
@given(lines=st.lists(st.binary(max_size=60) | st.text(max_size=60).map(str.encode), max_size=8))
def test_arbitrary_lines_as_json_lines(workdir: Path, lines: list[bytes]) -> None:
    data = b"\n".join(lines)
    path = workdir / "lines.jsonl"
    path.write_bytes(data)
    assert len(_read_all(path)) == _non_blank_lines(data)


@SETTINGS
@given(records=st.lists(RECORDS, max_size=8))
def test_arbitrary_objects_as_json_lines(workdir: Path, records: list[dict[str, Any]]) -> None:
    path = workdir / "objects.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert len(_read_all(path)) == len(records)


@SETTINGS
@given(values=st.lists(JSON_VALUES | RECORDS, max_size=8))
def test_arbitrary_json_array(workdir: Path, values: list[Any]) -> None:
    path = workdir / "array.json"
    path.write_text(json.dumps(values), encoding="utf-8")
    out = _read_all(path)
    assert len(out) == len(values)
    for item, value in zip(out, values, strict=True):
        if not isinstance(value, dict):
            assert isinstance(item, QuarantinedRecord)
            assert item.reason.startswith("not a JSON object")


@SETTINGS
@given(value=SCALARS | PLAIN_OBJECTS)
def test_arbitrary_single_json_document(workdir: Path, value: Any) -> None:
    path = workdir / "single.json"
    path.write_text(json.dumps(value, indent=1), encoding="utf-8")
    assert len(_read_all(path)) == 1


@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_json_file(workdir: Path, data: bytes) -> None:
    path = workdir / "bytes.json"
    path.write_bytes(data)
    out = _read_all(path)
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        # not one document: read as JSON lines when it starts like an object; a list whose
        # brackets balance is read element by element (each bad one quarantined alone);
        # anything else is one record
        start = data.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
        if start == b"{":
            assert len(out) == _non_blank_lines(data)
        elif start == b"[":
            assert out
        else:
            assert len(out) == 1
    else:
        assert out  # a valid document always yields at least its own record or its elements


CELLS = st.text(max_size=20) | st.integers(0, 2_000_000_000).map(str)


@SETTINGS
@given(rows=st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS), max_size=8))
def test_arbitrary_csv_rows(workdir: Path, rows: list[tuple[str, str, str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["when", "name", "host", "ip"])
    writer.writerows(rows)
    path = workdir / "rows.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    assert len(_read_all(path)) == len(rows)


@SETTINGS
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_as_csv_never_crash(workdir: Path, data: bytes) -> None:
    path = workdir / "rows.csv"
    path.write_bytes(b"when,name,host,ip\n" + data)
    out = _read_all(path)
    # a row can span lines (quoted newlines) and only empty lines are skipped, so a file never
    # yields more records than it has non-empty lines
    assert len(out) <= len([line for line in re.split(rb"\r\n|\r|\n", data) if line])
