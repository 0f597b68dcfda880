"""The generic mapped adapter: mapping validation, time formats, CSV rows, the proxy example."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tierzero.ingest.adapters.mapped import MappedAdapter, MappingError
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.base import ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
PROXY_CSV = EXAMPLES / "proxy_export.csv"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
CONTEXT = ParseContext("rows.csv", 2, NOW, "raw")

BASIC_MAPPING = """\
name: test-feed
vendor: Test
product: Test feed
fields:
  time: {column: when, format: FORMAT}
  title: name
  host: host
"""


def _mapping(tmp_path: Path, body: str, name: str = "feed.mapping.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def _adapter(tmp_path: Path, time_format: str) -> MappedAdapter:
    return MappedAdapter.from_file(_mapping(tmp_path, BASIC_MAPPING.replace("FORMAT", time_format)))


# --- mapping validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (BASIC_MAPPING.replace("  host: host", "  hostname: host"), "'fields.hostname'"),
        (BASIC_MAPPING.replace("{column: when,", "{colum: when,"), "'fields.time.colum'"),
        (BASIC_MAPPING + "colour: blue\n", "'colour'"),
        (BASIC_MAPPING.replace("  title: name\n", ""), "'fields.title'"),
        (BASIC_MAPPING.replace("name: test-feed", "name: Test Feed!"), "'name'"),
        (
            BASIC_MAPPING.replace("  host: host", "  host: {column: host, map: [a, b]}"),
            "'fields.host.map'",
        ),
    ],
)
def test_mapping_errors_name_the_key(tmp_path: Path, body: str, key: str) -> None:
    path = _mapping(tmp_path, body.replace("FORMAT", "epoch"))
    with pytest.raises(MappingError) as caught:
        MappedAdapter.from_file(path)
    message = str(caught.value)
    assert key in message
    assert str(path) in message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("- name: x\n", "a mapping file must be a YAML mapping"),
        ("name: [unclosed\n", "cannot read mapping"),
        ("", "a mapping file must be a YAML mapping"),
    ],
)
def test_unreadable_mappings_are_refused(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(MappingError, match=expected):
        MappedAdapter.from_file(_mapping(tmp_path, body))


def test_missing_mapping_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="cannot read mapping"):
        MappedAdapter.from_file(tmp_path / "absent.mapping.yaml")


def test_the_proxy_mapping_loads() -> None:
    adapter = MappedAdapter.from_file(EXAMPLES / "proxy_export.mapping.yaml")
    assert (adapter.name, adapter.vendor, adapter.product) == (
        "proxy",
        "Northwind IT",
        "Web proxy CSV export",
    )
    assert adapter.matches({"timestamp": "1"}) is False


# --- time formats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_format", "value", "expected"),
    [
        ("epoch", "1794825910", datetime(2026, 11, 16, 10, 45, 10, tzinfo=UTC)),
        ("epoch", "1794825910.25", datetime(2026, 11, 16, 10, 45, 10, 250000, tzinfo=UTC)),
        ("epoch_ms", "1794825910250", datetime(2026, 11, 16, 10, 45, 10, 250000, tzinfo=UTC)),
        ("iso8601", "2026-11-16T10:45:10Z", datetime(2026, 11, 16, 10, 45, 10, tzinfo=UTC)),
        ("iso8601", "2026-11-16T11:45:10+01:00", datetime(2026, 11, 16, 10, 45, 10, tzinfo=UTC)),
        (
            "'%d/%b/%Y:%H:%M:%S %z'",
            "16/Nov/2026:11:45:10 +0100",
            datetime(2026, 11, 16, 10, 45, 10, tzinfo=UTC),
        ),
        # a strptime format without a zone is read as UTC: the mapping author chose it
        (
            "'%Y-%m-%d %H:%M:%S'",
            "2026-11-16 10:45:10",
            datetime(2026, 11, 16, 10, 45, 10, tzinfo=UTC),
        ),
    ],
)
def test_time_formats(tmp_path: Path, time_format: str, value: str, expected: datetime) -> None:
    adapter = _adapter(tmp_path, time_format)
    alert = adapter.parse({"when": value, "name": "Rule", "host": "SRV-FS-01"}, CONTEXT)
    assert alert.time == expected
    assert alert.metadata.original_time == value


@pytest.mark.parametrize(
    ("time_format", "value", "expected"),
    [
        ("iso8601", "2026-11-16T10:45:10", "field 'when' has no time zone"),
        ("iso8601", "last tuesday", "field 'when' is not a valid time"),
        ("epoch", "soon", "field 'when' is not a valid time"),
        ("'%Y-%m-%d %H:%M:%S'", "16/11/2026 10:45", "field 'when' is not a valid time"),
        ("epoch", "", "missing required field 'when'"),
    ],
)
def test_bad_times_are_rejected(
    tmp_path: Path, time_format: str, value: str, expected: str
) -> None:
    adapter = _adapter(tmp_path, time_format)
    with pytest.raises(RecordRejected) as caught:
        adapter.parse({"when": value, "name": "Rule"}, CONTEXT)
    assert caught.value.reason.startswith(expected)
    assert not value or repr(value) in caught.value.reason  # the person sees what was read


def test_missing_title_is_rejected(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path, "epoch")
    with pytest.raises(RecordRejected, match="missing required field 'name'"):
        adapter.parse({"when": "1794825910", "name": ""}, CONTEXT)


def test_rows_without_an_id_get_a_stable_digest(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path, "epoch")
    row = {"when": "1794825910", "name": "Rule"}
    first = adapter.parse(row, CONTEXT)
    assert first.source_alert_id.startswith("row-")
    assert adapter.parse(row, CONTEXT).source_alert_id == first.source_alert_id
    other_line = ParseContext("rows.csv", 3, NOW, "raw")
    assert adapter.parse(row, other_line).source_alert_id != first.source_alert_id


# --- CSV rows --------------------------------------------------------------------------------


def test_csv_rows_with_missing_or_extra_columns_are_quarantined_by_line(tmp_path: Path) -> None:
    _mapping(tmp_path, BASIC_MAPPING.replace("FORMAT", "epoch"), "rows.mapping.yaml")
    csv_path = tmp_path / "rows.csv"
    csv_path.write_text(
        "when,name,host\n"
        "1794825910,Large upload,SRV-FS-01\n"  # line 2: fine
        "1794825911\n"  # line 3: name and host missing
        "1794825912,Beacon,LT-FIN-042,extra\n"  # line 4: one field too many
        "\n"  # line 5: blank, not a record
        "1794825913,Scan\n",  # line 6: host missing, still an alert
        encoding="utf-8",
    )
    out = list(read([csv_path], now=NOW))
    assert [type(o).__name__ for o in out] == [
        "Alert",
        "QuarantinedRecord",
        "QuarantinedRecord",
        "Alert",
    ]
    ok, short, long_row, partial = out
    assert isinstance(ok, Alert) and isinstance(partial, Alert)
    assert ok.provenance.record_no == 2 and partial.provenance.record_no == 6
    assert partial.device is None
    assert isinstance(short, QuarantinedRecord) and isinstance(long_row, QuarantinedRecord)
    assert (short.record_no, short.source, short.reason) == (
        3,
        "test-feed",
        "missing required field 'name'",
    )
    assert short.raw == "1794825911"
    assert (long_row.record_no, long_row.reason) == (4, "row has 4 fields, the header has 3")


def test_jsonl_with_an_explicit_mapping(tmp_path: Path) -> None:
    mapping = _mapping(
        tmp_path,
        BASIC_MAPPING.replace("FORMAT", "iso8601").replace("host: host", "host: device.name"),
        "elsewhere.yaml",
    )
    path = tmp_path / "feed.jsonl"
    path.write_text(
        json.dumps({"when": "2026-11-16T10:45:10Z", "name": "Rule", "device": {"name": "H1"}})
        + "\n",
        encoding="utf-8",
    )
    out = list(read([path], IngestOptions(source="mapped", mapping=mapping), now=NOW))
    assert len(out) == 1 and isinstance(out[0], Alert)
    assert out[0].device is not None and out[0].device.hostname == "H1"
    assert out[0].provenance.source == "test-feed"


# --- the proxy example -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxy_alerts() -> list[Alert]:
    out = list(read([PROXY_CSV], now=NOW))
    assert [o for o in out if isinstance(o, QuarantinedRecord)] == []
    return [o for o in out if isinstance(o, Alert)]


def test_proxy_example_rows(proxy_alerts: list[Alert]) -> None:
    assert [a.source_alert_id for a in proxy_alerts] == [
        "PX-20261115-0031907",
        "PX-20261116-0008811",
        "PX-20261116-0012274",
    ]
    assert [a.provenance.record_no for a in proxy_alerts] == [2, 3, 4]
    assert {a.provenance.source for a in proxy_alerts} == {"proxy"}
    assert [a.time for a in proxy_alerts] == [
        datetime(2026, 11, 15, 22, 58, 9, tzinfo=UTC),
        datetime(2026, 11, 16, 9, 4, 15, tzinfo=UTC),
        datetime(2026, 11, 16, 10, 45, 10, tzinfo=UTC),
    ]
    # info -> informational, warning -> medium, alert -> high (the mapping's value map)
    assert [a.severity_id for a in proxy_alerts] == [
        Severity.INFORMATIONAL,
        Severity.MEDIUM,
        Severity.HIGH,
    ]
    assert proxy_alerts[2].detection_id == "proxy:Large upload to uncategorized destination"


def test_proxy_exfil_upload(proxy_alerts: list[Alert]) -> None:
    upload = proxy_alerts[2]
    assert upload.title == "Large upload to uncategorized destination"
    assert upload.device is not None
    assert (upload.device.hostname, upload.device.ip) == ("SRV-FS-01", "10.10.1.15")
    assert upload.actor is not None and upload.actor.name == "NORTHWIND\\alice.martin"
    assert upload.values(EntityKind.IP) == ("10.10.1.15", "198.51.100.77")
    assert upload.values(EntityKind.DOMAIN) == ("cdn-update-check.example",)
    assert upload.values(EntityKind.URL) == ("http://cdn-update-check.example/api/v2/sync?part=1",)


def test_proxy_benign_download_has_no_user(proxy_alerts: list[Alert]) -> None:
    download = proxy_alerts[0]
    assert download.actor is None
    assert download.values(EntityKind.HOST) == ("SRV-APP-03",)
    assert download.values(EntityKind.USER) == ()
