"""The reader: files and folders, the quarantine, positions, sizes, encodings and times."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestCounts, IngestOptions, InputError, discover, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BAD = EXAMPLES / "bad_records.jsonl"
NOW = datetime(2026, 11, 17, tzinfo=UTC)

WAZUH = {
    "timestamp": "2026-11-16T09:31:12.077+0000",
    "rule": {"level": 6, "description": "Common web attack.", "id": "31104"},
    "agent": {"id": "007", "name": "SRV-WEB-02", "ip": "10.10.1.22"},
    "manager": {"name": "wazuh-mgr-01"},
    "id": "1794821472.30117742",
    "data": {"srcip": "10.0.5.10", "url": "/etc/passwd"},
}
SURICATA = {
    "timestamp": "2026-11-16T09:31:02.004417+0000",
    "flow_id": 1201994471822290,
    "event_type": "alert",
    "src_ip": "10.0.5.10",
    "src_port": 52210,
    "dest_ip": "10.10.1.33",
    "dest_port": 3306,
    "proto": "TCP",
    "alert": {
        "signature_id": 2010937,
        "signature": "ET SCAN Suspicious inbound to mySQL port 3306",
        "category": "Potentially Bad Traffic",
        "severity": 2,
    },
}
MAPPING = """\
name: rows
fields:
  time: {column: when, format: epoch}
  title: name
"""


def _tally(items: list[Alert | QuarantinedRecord]) -> IngestCounts:
    counts = IngestCounts()
    for item in items:
        if isinstance(item, Alert):
            counts.normalized += 1
            counts.by_source[item.provenance.source] += 1
        else:
            counts.quarantined += 1
    return counts


def _one(items: Iterable[Alert | QuarantinedRecord]) -> Alert | QuarantinedRecord:
    out = list(items)
    assert len(out) == 1
    return out[0]


def _only(items: Iterable[Alert | QuarantinedRecord]) -> QuarantinedRecord:
    item = _one(items)
    assert isinstance(item, QuarantinedRecord)
    return item


# --- the broken-on-purpose example -----------------------------------------------------------

EXPECTED_BAD = [
    (1, "unknown", "not valid JSON: Expecting ',' delimiter"),
    (2, "unknown", "not a JSON object (found list)"),
    (3, "unknown", "format not recognized by any adapter"),
    (4, "wazuh", "missing required field 'rule.description'"),
    (5, "suricata", "impossible time 1970-01-01T00:00:00+00:00 (before 1990)"),
    (6, "wazuh", "impossible time 2099-01-01T00:00:00+00:00"),
    (7, "unknown", "format not recognized by any adapter"),
]


def test_every_bad_record_is_quarantined_with_line_and_reason() -> None:
    out = list(read([BAD], now=NOW))
    assert all(isinstance(o, QuarantinedRecord) for o in out)
    got = [(q.record_no, q.source, q.reason) for q in out if isinstance(q, QuarantinedRecord)]
    assert len(got) == len(EXPECTED_BAD)
    for (line, source, reason), (want_line, want_source, want_reason) in zip(
        got, EXPECTED_BAD, strict=True
    ):
        assert (line, source) == (want_line, want_source)
        assert reason.startswith(want_reason), (line, reason)
    assert "h after it was ingested" in got[5][2]


def test_bad_records_counts_add_up() -> None:
    out = list(read([BAD], now=NOW))
    lines = [line for line in BAD.read_text(encoding="utf-8").splitlines() if line.strip()]
    counts = _tally(out)
    assert (counts.alerts_in, counts.normalized, counts.quarantined) == (len(lines), 0, 7)


def test_quarantine_keeps_the_raw_text_and_its_digest() -> None:
    first = next(iter(read([BAD], now=NOW)))
    assert isinstance(first, QuarantinedRecord)
    raw_line = BAD.read_text(encoding="utf-8").splitlines()[0]
    assert first.raw == raw_line
    assert first.raw_size == len(raw_line.encode())
    assert first.source_file == str(BAD)
    assert first.quarantined_at == NOW


def test_the_example_folder_reads_whole() -> None:
    out = list(read([EXAMPLES], now=NOW))
    counts = _tally(out)
    files = Counter(
        Path(o.provenance.source_file if isinstance(o, Alert) else o.source_file).name for o in out
    )
    assert "README.md" not in files and "proxy_export.mapping.yaml" not in files
    assert files["proxy_export.csv"] == 3
    assert {Path(q.source_file).name for q in out if isinstance(q, QuarantinedRecord)} == {BAD.name}
    assert counts.quarantined == 7
    assert counts.alerts_in == len(out)
    assert {"ocsf", "wazuh", "suricata", "proxy"} <= set(counts.by_source)


# --- folders and files -----------------------------------------------------------------------


def test_folder_read_ignores_readme_mappings_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text('# notes\n{"not": "an alert"}\n', encoding="utf-8")
    (tmp_path / "notes.txt").write_text("hello\n", encoding="utf-8")
    (tmp_path / "rows.mapping.yaml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "rows.csv").write_text("when,name\n1794825910,Upload\n", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "eve.json").write_text(json.dumps(SURICATA) + "\n", encoding="utf-8")
    found = discover([tmp_path], IngestOptions())
    assert [(f.path.name, f.kind) for f in found] == [("rows.csv", "csv"), ("eve.json", "json")]
    assert found[0].mapping == tmp_path / "rows.mapping.yaml"
    out = list(read([tmp_path], now=NOW))
    assert [o.provenance.source for o in out if isinstance(o, Alert)] == ["rows", "suricata"]


def test_csv_named_without_mapping_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text("when,name\n1794825910,Upload\n", encoding="utf-8")
    with pytest.raises(InputError, match="export.csv: a CSV file needs a field mapping"):
        list(read([path], now=NOW))


def test_stray_csv_in_a_folder_is_quarantined_and_the_rest_is_read(tmp_path: Path) -> None:
    (tmp_path / "export.csv").write_text("when,name\n1794825910,Upload\n", encoding="utf-8")
    (tmp_path / "eve.jsonl").write_text(json.dumps(SURICATA) + "\n", encoding="utf-8")
    alert, stray = list(read([tmp_path], now=NOW))  # eve.jsonl sorts first
    assert isinstance(stray, QuarantinedRecord) and isinstance(alert, Alert)
    assert (Path(stray.source_file).name, stray.record_no, stray.raw) == ("export.csv", 0, "")
    assert stray.reason.startswith("a CSV file needs a field mapping: put export.mapping.yaml")


def test_csv_with_explicit_mapping(tmp_path: Path) -> None:
    mapping = tmp_path / "any-name.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    path = tmp_path / "export.csv"
    path.write_text("when,name\n1794825910,Upload\n", encoding="utf-8")
    out = list(read([path], IngestOptions(mapping=mapping), now=NOW))
    assert len(out) == 1 and isinstance(out[0], Alert) and out[0].provenance.record_no == 2


def test_missing_path_and_unknown_suffix_and_unknown_source(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        list(read([tmp_path / "absent.json"], now=NOW))
    notes = tmp_path / "notes.txt"
    notes.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not an alert file"):
        list(read([notes], now=NOW))
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(WAZUH) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown source 'splunk'"):
        list(read([path], IngestOptions(source="splunk"), now=NOW))


# --- records: sizes, encodings, positions ----------------------------------------------------


def test_oversize_records_are_quarantined(tmp_path: Path) -> None:
    big = dict(WAZUH, full_log="A" * 5000)
    options = IngestOptions(max_record_bytes=2048)
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(json.dumps(WAZUH) + "\n" + json.dumps(big) + "\n", encoding="utf-8")
    out = list(read([jsonl], options, now=NOW))
    assert isinstance(out[0], Alert)
    oversize = out[1]
    assert isinstance(oversize, QuarantinedRecord)
    assert oversize.record_no == 2
    assert oversize.reason.startswith("record is ")
    assert oversize.reason.endswith("bytes, over the 2048-byte limit")
    array = tmp_path / "b.json"
    array.write_text(json.dumps([big, WAZUH]), encoding="utf-8")
    out = list(read([array], options, now=NOW))
    assert isinstance(out[0], QuarantinedRecord) and out[0].record_no == 1
    assert isinstance(out[1], Alert) and out[1].provenance.record_no == 2


def test_invalid_utf8_line_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    good = json.dumps(WAZUH).encode()
    path.write_bytes(good + b"\n" + b'{"rule": "\xff\xfe broken"}\n' + good + b"\n")
    out = list(read([path], now=NOW))
    assert [type(o).__name__ for o in out] == ["Alert", "QuarantinedRecord", "Alert"]
    bad = out[1]
    assert isinstance(bad, QuarantinedRecord)
    assert (bad.record_no, bad.reason) == (2, "not valid UTF-8 text")
    assert "\\xff" in bad.raw


def test_invalid_utf8_csv_row_is_quarantined(tmp_path: Path) -> None:
    (tmp_path / "rows.mapping.yaml").write_text(MAPPING, encoding="utf-8")
    path = tmp_path / "rows.csv"
    path.write_bytes(b"when,name\n1794825910,Up\xffload\n1794825911,Fine\n")
    out = list(read([path], now=NOW))
    assert isinstance(out[0], QuarantinedRecord)
    assert (out[0].record_no, out[0].reason) == (2, "not valid UTF-8 text")
    assert isinstance(out[1], Alert)


def test_blank_lines_are_layout_and_positions_are_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(
        "\n" + json.dumps(WAZUH) + "\n\n   \n" + json.dumps(SURICATA) + "\n\n", encoding="utf-8"
    )
    out = list(read([path], now=NOW))
    assert [o.provenance.record_no for o in out if isinstance(o, Alert)] == [2, 5]


def test_envelopes_and_single_documents(tmp_path: Path) -> None:
    for name, document in [
        ("value.json", {"@odata.context": "x", "value": [WAZUH, SURICATA]}),
        ("findings.json", {"Findings": [WAZUH, SURICATA]}),
        ("rest.json", {"findings": [WAZUH, SURICATA], "nextToken": "t0k"}),
        ("hits.json", {"hits": {"hits": [{"_source": WAZUH}, {"_source": SURICATA}]}}),
    ]:
        path = tmp_path / name
        path.write_text(json.dumps(document), encoding="utf-8")
        out = list(read([path], now=NOW))
        assert [o.provenance.source for o in out if isinstance(o, Alert)] == [
            "wazuh",
            "suricata",
        ], name
    single = tmp_path / "one.json"
    single.write_text(json.dumps(WAZUH, indent=2), encoding="utf-8")
    assert isinstance(_one(read([single], now=NOW)), Alert)


def test_a_json_line_that_is_an_envelope_gives_its_records(tmp_path: Path) -> None:
    path = tmp_path / "pages.jsonl"
    path.write_text(
        json.dumps({"findings": [WAZUH, SURICATA]})
        + "\n"
        + json.dumps({"findings": []})
        + "\n"
        + json.dumps({"value": [WAZUH, 7], "@odata.nextLink": "https://x"})
        + "\n"
    )
    out = list(read([path], now=NOW))
    assert [(type(o).__name__, _record_no(o)) for o in out] == [
        ("Alert", 1),
        ("Alert", 1),
        ("Alert", 3),  # line 2 is an empty page: no record was in it
        ("QuarantinedRecord", 3),
    ]
    first = out[0]
    assert isinstance(first, Alert)
    assert first.raw_data == json.dumps(WAZUH, separators=(",", ":"))
    assert _tally(out).alerts_in == 4


def test_a_record_holding_a_list_beside_an_object_is_no_envelope(tmp_path: Path) -> None:
    record = {"alerts": [WAZUH], "detail": {"k": "v"}}
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (only,) = list(read([path], now=NOW))
    assert isinstance(only, QuarantinedRecord)
    assert json.loads(only.raw) == record


def _record_no(item: Alert | QuarantinedRecord) -> int:
    return item.provenance.record_no if isinstance(item, Alert) else item.record_no


def test_a_json_file_that_is_not_json_is_one_quarantined_record(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text("[1, 2,", encoding="utf-8")
    bad = _only(read([path], now=NOW))
    assert bad.reason.startswith("file is not valid JSON")


def test_ambiguous_record_is_quarantined_naming_the_candidates(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({**WAZUH, **SURICATA}) + "\n", encoding="utf-8")
    bad = _only(read([path], now=NOW))
    assert bad.reason.startswith("format is ambiguous (looks like ")
    assert "wazuh" in bad.reason and "suricata" in bad.reason
    chosen = _one(read([path], IngestOptions(source="wazuh"), now=NOW))
    assert isinstance(chosen, Alert) and chosen.provenance.source == "wazuh"


# --- times -----------------------------------------------------------------------------------


def test_clock_skew_is_flagged_not_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    ahead = dict(WAZUH, timestamp="2026-11-17T00:20:00.000+0000", id="2")
    on_time = dict(WAZUH, timestamp="2026-11-17T00:04:00.000+0000", id="3")
    path.write_text(json.dumps(ahead) + "\n" + json.dumps(on_time) + "\n", encoding="utf-8")
    skewed, fine = list(read([path], now=NOW))
    assert isinstance(skewed, Alert) and isinstance(fine, Alert)
    assert skewed.flags == ("clock_skew_future",)
    assert fine.flags == ()
