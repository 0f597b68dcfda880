"""Bounded reading: lines in chunks, ``.json`` lists streamed, CSV rows that swallowed others."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.alert import Alert
from tierzero.ingest.csv_rows import csv_rows
from tierzero.ingest.lines import CHUNK_BYTES, bounded_lines
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, read

NOW = datetime(2026, 11, 17, tzinfo=UTC)
WAZUH = {
    "timestamp": "2026-11-16T09:31:12.077+0000",
    "rule": {"level": 6, "description": "Common web attack.", "id": "31104"},
    "agent": {"id": "007", "name": "SRV-WEB-02", "ip": "10.10.1.22"},
    "manager": {"name": "wazuh-mgr-01"},
    "id": "1794821472.30117742",
    "data": {"srcip": "10.0.5.10", "url": "/etc/passwd"},
}
MAPPING = """\
name: rows
fields:
  time: {column: when, format: epoch}
  title: name
  host: host
"""


def _wazuh(i: int, **extra: Any) -> dict[str, Any]:
    return {**WAZUH, "id": f"1794821472.{i}", **extra}


def _kinds(items: list[Alert | QuarantinedRecord]) -> list[str]:
    return ["A" if isinstance(i, Alert) else "Q" for i in items]


# --- lines -----------------------------------------------------------------------------------


def test_lines_over_the_limit_keep_their_size_and_digest_not_their_bytes() -> None:
    long = b"y" * (3 * CHUNK_BYTES + 5)
    data = b"\xef\xbb\xbfshort\r\n" + long + b"\nlast"
    lines = list(bounded_lines(io.BytesIO(data), limit=1000))
    assert [(ln.no, ln.data, ln.ending) for ln in (lines[0], lines[2])] == [
        (1, b"short\r", b"\n"),
        (3, b"last", b""),
    ]
    cut = lines[1]
    assert cut.too_long and cut.size == len(long) and len(cut.data) == 1000
    assert cut.sha256 == hashlib.sha256(long).hexdigest()


def test_universal_lines_keep_crlf_split_across_chunks_together() -> None:
    data = b"a" * (CHUNK_BYTES - 1) + b"\r\nb\rc\n"
    lines = list(bounded_lines(io.BytesIO(data), limit=10 * CHUNK_BYTES, universal=True))
    assert [ln.ending for ln in lines] == [b"\r\n", b"\r", b"\n"]
    assert [ln.data[-1:] for ln in lines] == [b"a", b"b", b"c"]


# --- .json documents -------------------------------------------------------------------------

DOCS = st.lists(st.integers(0, 10_000), max_size=6).map(lambda ids: [_wazuh(i) for i in ids])
FILLER = st.text(alphabet='[]{},"\\ :x\n\u00e9', max_size=30)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(docs=DOCS, filler=FILLER, indent=st.none() | st.integers(0, 3))
def test_streamed_lists_and_envelopes_read_like_the_whole_document(
    tmp_path: Path, docs: list[dict[str, Any]], filler: str, indent: int | None
) -> None:
    """Brackets, quotes and backslashes inside strings never cut a record, whatever the
    layout; an envelope larger than the record limit is still unwrapped."""
    records = [{**d, "full_log": filler} for d in docs]
    limit = max((len(json.dumps(r)) for r in records), default=0) + 400
    shapes = {
        "list.json": records,
        "value.json": {"@odata.context": filler, "value": records},
        "hits.json": {"took": 3, "hits": {"total": 1, "hits": [{"_source": r} for r in records]}},
    }
    for name, document in shapes.items():
        path = tmp_path / name
        path.write_text(json.dumps(document, indent=indent), encoding="utf-8")
        out = list(read([path], IngestOptions(max_record_bytes=limit), now=NOW))
        assert [o.raw_data for o in out if isinstance(o, Alert)] == [
            json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in records
        ], name


def test_one_bad_element_is_quarantined_alone(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_bytes(
        b"["
        + json.dumps(_wazuh(1)).encode()
        + b', {"x": tru}, {"y": "\xff"}, 7, '
        + json.dumps(_wazuh(2)).encode()
        + b"]"
    )
    out = list(read([path], now=NOW))
    assert _kinds(out) == ["A", "Q", "Q", "Q", "A"]
    reasons = [o.reason for o in out if isinstance(o, QuarantinedRecord)]
    assert reasons[0].startswith("not valid JSON")
    assert reasons[1] == "not valid UTF-8 text"
    assert reasons[2] == "not a JSON object (found int)"


def test_a_truncated_list_is_one_quarantined_record(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text("[" + json.dumps(_wazuh(1)) + ", " + json.dumps(_wazuh(2))[:40])
    (bad,) = list(read([path], now=NOW))
    assert isinstance(bad, QuarantinedRecord)
    assert (
        bad.reason == "file is not valid JSON: the list is never closed (the file may be cut short)"
    )


def test_an_object_over_the_limit_that_is_no_envelope_is_one_oversize_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(_wazuh(1, full_log="z" * 5000)))
    (bad,) = list(read([path], IngestOptions(max_record_bytes=2048), now=NOW))
    assert isinstance(bad, QuarantinedRecord)
    assert bad.reason.endswith("bytes, over the 2048-byte limit")
    assert bad.raw_size == path.stat().st_size


def test_a_large_envelope_with_paging_token_is_streamed_but_a_list_beside_an_object_is_not(
    tmp_path: Path,
) -> None:
    """An envelope is a list beside scalar paging keys, streamed or read whole alike; a key
    holding an object (an EventBridge event's ``detail``) makes the document one record."""
    records = [_wazuh(i, full_log="z" * 600) for i in range(4)]
    limit = 2048
    envelope = tmp_path / "page.json"
    envelope.write_text(json.dumps({"findings": records, "nextToken": "t0k"}))
    out = list(read([envelope], IngestOptions(max_record_bytes=limit), now=NOW))
    assert _kinds(out) == ["A"] * 4
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"resources": records, "detail": {"x": 1}}))
    (one,) = list(read([event], IngestOptions(max_record_bytes=limit), now=NOW))
    assert isinstance(one, QuarantinedRecord) and one.reason.endswith("-byte limit")


# --- CSV -------------------------------------------------------------------------------------


def _rows(text: str, limit: int = 1 << 20) -> list[tuple[int, str | None]]:
    return [(r.record_no, r.problem) for r in csv_rows(io.BytesIO(text.encode()), limit)]


def test_a_legit_multiline_field_is_read() -> None:
    rows = _rows('when,name,host\n1,"two\nlines",WS-1\n2,b,WS-2\n')
    assert rows == [(3, None), (4, None)]


def test_a_sound_quoted_field_holding_row_like_lines_is_quarantined_whole() -> None:
    rows = _rows('when,name,host\n1,"x\n2,b,WS-2\n3,c,WS-3\n4",WS-1\n5,d,WS-5\n')
    assert rows[0][0] == 5 and (rows[0][1] or "").startswith("a quoted field spans 2 line(s)")
    assert rows[1] == (6, None)


def test_an_unterminated_quote_loses_one_line_not_the_rows_after_it() -> None:
    text = 'when,name,host\n1,"broken,WS-1\n' + "".join(f"{i},t{i},WS-{i}\n" for i in range(2, 6))
    rows = _rows(text)
    assert rows[0][0] == 2 and (rows[0][1] or "").startswith("unterminated quote")
    assert rows[1:] == [(n, None) for n in range(3, 7)]


def test_an_unterminated_quote_past_the_limit_still_recovers_the_rows() -> None:
    body = "".join(f"{i},title {i},WS-{i}\n" for i in range(2, 400))
    rows = _rows('when,name,host\n1,"broken,WS-1\n' + body, limit=2000)
    assert rows[0][0] == 2 and (rows[0][1] or "").startswith("unterminated quote")
    assert all(problem is None for _, problem in rows[1:])
    assert len(rows) == 1 + 398


def test_a_csv_line_over_the_limit_is_quarantined_and_the_next_rows_read() -> None:
    rows = _rows("when,name\n1," + "x" * 5000 + "\n2,ok\n", limit=1000)
    assert rows[0][0] == 2 and (rows[0][1] or "").startswith("record is 5002 bytes")
    assert rows[1] == (3, None)


def test_bom_u_fffd_and_undecodable_bytes_in_csv(tmp_path: Path) -> None:
    (tmp_path / "rows.mapping.yaml").write_text(MAPPING, encoding="utf-8")
    path = tmp_path / "rows.csv"
    path.write_bytes(
        b"\xef\xbb\xbfwhen,name,host\n1794825910,Caf\xef\xbf\xbd,WS-1\n1794825911,Up\xffx,WS-1\n"
    )
    good, bad = list(read([path], now=NOW))
    assert isinstance(good, Alert) and good.title == "Caf\ufffd"
    assert isinstance(bad, QuarantinedRecord) and bad.reason == "not valid UTF-8 text"
