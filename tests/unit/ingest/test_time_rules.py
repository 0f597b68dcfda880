"""Per-source time rules (issue 12): ``base.read_time`` says how a time was interpreted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tierzero.ingest.base import (
    FLAG_TIME_ASSUMED_UTC,
    FLAG_TIME_DT_PREFERRED,
    FLAG_TIME_UNIT_INFERRED,
    RecordRejected,
    read_time,
)

INSTANT = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize("value", [1_700_000_000, 1_700_000_000.0, "1700000000"])
def test_epoch_seconds_where_milliseconds_are_declared_are_read_and_flagged(value: object) -> None:
    read = read_time(value, "time", unit="ms")
    assert read.at == INSTANT
    assert read.flags == (FLAG_TIME_UNIT_INFERRED,)


def test_the_declared_unit_is_not_flagged() -> None:
    assert read_time(1_700_000_000_000, "time", unit="ms").flags == ()
    assert read_time(1_700_000_000, "time", unit="s").flags == ()
    ms_for_seconds = read_time(1_700_000_000_000, "time", unit="s")
    assert ms_for_seconds.at == INSTANT and ms_for_seconds.flags == (FLAG_TIME_UNIT_INFERRED,)


def test_zone_less_time_is_utc_only_where_the_schema_says_so() -> None:
    read = read_time("2023-11-14T22:13:20", "TimeGenerated", zone_less_utc=True)
    assert read.at == INSTANT and read.flags == (FLAG_TIME_ASSUMED_UTC,)
    with pytest.raises(RecordRejected, match="no time zone"):
        read_time("2023-11-14T22:13:20", "timestamp")
    zoned = read_time("2023-11-14T23:13:20+01:00", "TimeGenerated", zone_less_utc=True)
    assert zoned.at == INSTANT and zoned.flags == ()


def test_time_dt_cross_checks_the_number() -> None:
    agreeing = read_time(1_700_000_000, "time", unit="ms", twin="2023-11-14T22:13:20Z")
    assert agreeing.at == INSTANT and agreeing.flags == (FLAG_TIME_UNIT_INFERRED,)
    disagreeing = read_time(1_600_000_000_000, "time", unit="ms", twin="2023-11-14T22:13:20Z")
    assert disagreeing.at == INSTANT and disagreeing.flags == (FLAG_TIME_DT_PREFERRED,)
    only_text = read_time(None, "time", unit="ms", twin="2023-11-14T22:13:20Z")
    assert only_text.at == INSTANT and only_text.flags == ()


def test_nothing_to_read_is_refused_with_the_field_name() -> None:
    with pytest.raises(RecordRejected, match="missing required field 'time'"):
        read_time(None, "time", unit="ms")
    with pytest.raises(RecordRejected, match="not a valid time"):
        read_time("yesterday", "TimeGenerated", zone_less_utc=True)
