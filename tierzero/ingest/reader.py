"""Read alert files, pick an adapter per record, and yield alerts or quarantined records.

Everything read is accounted for: each record yields exactly one ``Alert`` or one
``QuarantinedRecord``, so ``alerts_in == normalized + quarantined`` holds by construction. A
file that is not read at all (a link out of the given paths, a FIFO, a CSV with no mapping)
is one quarantined entry with record number 0 and the reason. An envelope (a GuardDuty
``GetFindings`` response ``{"findings": [...]}``, Graph's ``{"value": [...]}``: see
:mod:`json_stream`) is not a record but a container of records, in a ``.json`` document and on
a JSON line alike: its N records are read, each carrying the envelope's line number, and an
empty envelope yields no record (nothing in it is lost). Memory is bounded per record,
not per file: lines are read in chunks up to the record limit and ``.json`` lists are
streamed element by element.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero.ingest.activity import IdentityActivity
from tierzero.ingest.adapters.mapped import MappingError
from tierzero.ingest.alert import Alert
from tierzero.ingest.base import (
    FLAG_SAMPLE,
    Adapter,
    NotAnAlert,
    ParseContext,
    RecordRejected,
    load_json,
)
from tierzero.ingest.csv_rows import csv_rows
from tierzero.ingest.files import (
    ALERT_SUFFIXES,
    MAPPING_SUFFIX,
    InputError,
    InputFile,
    NotReadable,
    open_regular,
)
from tierzero.ingest.files import discover as discover_files
from tierzero.ingest.json_stream import (
    ENVELOPES,
    MAX_ENVELOPE_KEYS,
    Element,
    elements,
    outline,
    read_span,
)
from tierzero.ingest.lines import Line, bounded_lines
from tierzero.ingest.quarantine import QuarantinedRecord, quarantine
from tierzero.ingest.registry import ADAPTERS, MAPPED_SOURCE, mapped_adapter

__all__ = [
    "ALERT_SUFFIXES",
    "IngestConfig",
    "MAPPING_SUFFIX",
    "IngestCounts",
    "IngestOptions",
    "InputError",
    "InputFile",
    "discover",
    "read",
    "read_body",
    "read_file",
]
_EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
OKTA_EVENT_HOOK = "com.okta.event_hook"
SAMPLE_REFUSED = "a vendor-generated sample finding (ingest.yaml says vendor_samples: refuse)"


@dataclass(frozen=True)
class IngestOptions:
    """How to read. Defaults suit a SOC: 1 MiB per record, clocks may run 5 min ahead."""

    source: str = "auto"
    mapping: Path | None = None
    max_record_bytes: int = 1024 * 1024
    skew_tolerance: timedelta = timedelta(minutes=5)
    max_future: timedelta = timedelta(days=1)
    refuse_samples: bool = False  # ingest.yaml "vendor_samples: refuse"


class IngestConfig(BaseModel):
    """``config/ingest.yaml`` (optional): what to do with what is not a real detection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    vendor_samples: Literal["ingest", "refuse"] = Field(
        default="ingest",
        description="Vendor-generated sample findings (GuardDuty 'Generate sample findings', "
        "Security Hub samples): ingest them flagged 'sample' (a triage rule closes them, "
        "saying so) or refuse them into the quarantine",
    )


@dataclass
class IngestCounts:
    """Running totals; ``alerts_in`` always equals ``normalized + quarantined``."""

    normalized: int = 0
    quarantined: int = 0
    by_source: Counter[str] = field(default_factory=Counter)

    @property
    def alerts_in(self) -> int:
        return self.normalized + self.quarantined


def discover(paths: Iterable[Path], options: IngestOptions) -> list[InputFile]:
    """Expand files and folders to the alert files to read (see :func:`files.discover`)."""
    return discover_files(paths, options.mapping, options.source == MAPPED_SOURCE)


def read(
    paths: Iterable[Path], options: IngestOptions | None = None, now: datetime | None = None
) -> Iterator[Alert | QuarantinedRecord]:
    """Yield one alert or one quarantined record per source record, file by file."""
    options = options or IngestOptions()
    ingested_at = (now or datetime.now(UTC)).astimezone(UTC)
    for input_file in discover(paths, options):
        yield from read_file(input_file, options, ingested_at)


def read_body(
    body: bytes, name: str, options: IngestOptions, ingested_at: datetime
) -> Iterator[Alert | QuarantinedRecord]:
    """Normalize the records of one pushed body (the service's intake): a JSON object, a JSON
    list, JSON lines or an envelope, read exactly as a ``.json`` file is; ``name`` stands for
    the file name in provenance and quarantine entries."""
    adapter = _named_adapter(options)
    # The streaming readers work on a file descriptor (pread): the body is spooled to an
    # anonymous temporary file, which is gone when closed.
    with tempfile.TemporaryFile() as handle:
        handle.write(body)
        handle.flush()
        handle.seek(0)
        items = _json_records(handle, options.max_record_bytes)
        yield from _each_record(items, name, adapter, options, ingested_at)


def _named_adapter(options: IngestOptions) -> Adapter | None:
    """The adapter ``--source`` names (None: "auto", each record finds its own)."""
    if options.source == "auto":
        return None
    if options.source not in ADAPTERS:
        raise InputError(f"unknown source {options.source!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[options.source]


def _file_entry(input_file: InputFile, reason: str, at: datetime) -> QuarantinedRecord:
    """The quarantine entry of a file that is not read: position 0, nothing of its content."""
    return quarantine(
        source="unknown",
        source_file=str(input_file.path),
        record_no=0,
        reason=reason,
        raw="",
        at=at,
    )


def read_file(
    input_file: InputFile, options: IngestOptions, ingested_at: datetime
) -> Iterator[Alert | QuarantinedRecord]:
    """Normalize every record of one file; a file that cannot be read is one quarantine entry."""
    if input_file.problem is not None:
        yield _file_entry(input_file, input_file.problem, ingested_at)
        return
    adapter: Adapter | None = None
    if input_file.mapping is not None:
        try:
            adapter = mapped_adapter(input_file.mapping)
        except MappingError as exc:
            if input_file.mapping_given:
                raise  # the operator's own --mapping: stop and say so
            yield _file_entry(input_file, f"its mapping cannot be used: {exc}", ingested_at)
            return
    else:
        adapter = _named_adapter(options)
    try:
        # The checked target itself, not the name again: a name swapped for a link since
        # discovery is refused rather than followed.
        if input_file.real is not None:
            handle = open_regular(input_file.real, follow=False)
        else:
            handle = open_regular(input_file.path)
    except NotReadable as exc:
        yield _file_entry(input_file, str(exc), ingested_at)
        return
    name = str(input_file.path)
    with handle:
        items = _records(input_file, handle, options)
        yield from _each_record(items, name, adapter, options, ingested_at)


def _each_record(
    items: Iterable[_Item],
    name: str,
    adapter: Adapter | None,
    options: IngestOptions,
    ingested_at: datetime,
) -> Iterator[Alert | QuarantinedRecord]:
    """Each record read, normalized or quarantined (a record that could not be read at all is
    quarantined with what was wrong)."""
    for record_no, raw, record, problem, whole in items:
        context = ParseContext(name, record_no, ingested_at, raw)
        if problem is not None or record is None:
            source = adapter.name if adapter else "unknown"
            yield _reject(source, context, problem or "empty record", whole)
            continue
        yield _normalize(adapter, record, context, options, ingested_at)


def _normalize(
    adapter: Adapter | None,
    record: Mapping[str, Any],
    context: ParseContext,
    options: IngestOptions,
    ingested_at: datetime,
) -> Alert | QuarantinedRecord:
    """One record through its adapter. Any failure quarantines the record, never the run:
    fields are attacker-controlled, and an adapter's unforeseen error is still one bad record."""
    chosen = adapter or _detect(record)
    if isinstance(chosen, str):
        return _reject("unknown", context, chosen)
    try:
        alert = chosen.parse(record, context)
        if options.refuse_samples and FLAG_SAMPLE in alert.flags:
            raise RecordRejected(SAMPLE_REFUSED)
        return _check_time(alert, options, ingested_at)
    except NotAnAlert as exc:
        return _reject(chosen.name, context, exc.reason, activity=exc.activity)
    except RecordRejected as exc:
        return _reject(chosen.name, context, exc.reason)
    except RecursionError:
        return _reject(chosen.name, context, "record is nested too deeply to read")
    except Exception as exc:  # an adapter bug on hostile input: quarantine, keep going
        return _reject(
            chosen.name,
            context,
            f"record could not be normalized ({type(exc).__name__}: {str(exc)[:200]})",
        )


def _detect(record: Mapping[str, Any]) -> Adapter | str:
    matches = [a for a in ADAPTERS.values() if a.matches(record)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        return "format not recognized by any adapter; pass --source NAME or a --mapping file"
    names = ", ".join(a.name for a in matches)
    return f"format is ambiguous (looks like {names}); pass --source NAME"


def _check_time(alert: Alert, options: IngestOptions, ingested_at: datetime) -> Alert:
    if alert.time < _EARLIEST_PLAUSIBLE:
        raise RecordRejected(f"impossible time {alert.time.isoformat()} (before 1990)")
    ahead = alert.time - ingested_at
    if ahead > options.max_future:
        hours = ahead.total_seconds() / 3600
        raise RecordRejected(
            f"impossible time {alert.time.isoformat()}: {hours:.1f} h after it was ingested"
        )
    if ahead > options.skew_tolerance:
        return alert.model_copy(update={"flags": (*alert.flags, "clock_skew_future")})
    return alert


def _reject(
    source: str,
    context: ParseContext,
    reason: str,
    whole: tuple[int, str] | None = None,
    activity: IdentityActivity | None = None,
) -> QuarantinedRecord:
    return quarantine(
        source=source,
        source_file=context.source_file,
        record_no=context.record_no,
        reason=reason,
        raw=context.raw,
        at=context.ingested_at,
        whole=whole,
        activity=activity,
    )


# (record_no, raw text, parsed record or None, problem or None, (size, sha256) of a record
# whose raw text is only its beginning, else None)
_Item = tuple[int, str, Mapping[str, Any] | None, str | None, tuple[int, str] | None]


def _records(input_file: InputFile, handle: BinaryIO, options: IngestOptions) -> Iterator[_Item]:
    limit = options.max_record_bytes
    if input_file.kind == "csv":
        for row in csv_rows(handle, limit):
            yield row.record_no, row.raw, row.values, row.problem, row.whole
    elif input_file.kind == "jsonl":
        yield from _jsonl_records(handle, limit)
    else:
        yield from _json_records(handle, limit)


def _oversize(size: int, limit: int) -> str:
    return f"record is {size} bytes, over the {limit}-byte limit"


def _parse_object(raw: str) -> tuple[Mapping[str, Any] | None, str | None]:
    value, problem = _parse_value(raw)
    if problem is None and not isinstance(value, dict):
        return None, f"not a JSON object (found {type(value).__name__})"
    return value, problem


def _parse_value(raw: str) -> tuple[Any, str | None]:
    try:
        return load_json(raw), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at column {exc.colno}"
    except RecordRejected as exc:
        return None, f"not read: {exc.reason}"
    except RecursionError:
        return None, "not valid JSON: nested too deeply"


def _line_item(line: Line, limit: int) -> _Item | None:
    """A JSON line as a record, a problem, or None for a blank line."""
    stripped = line.data.strip()
    if line.too_long:
        raw = stripped.decode("utf-8", "backslashreplace")
        return line.no, raw, None, _oversize(line.size, limit), (line.size, line.sha256 or "")
    if not stripped:
        return None  # blank lines are layout, not records
    try:
        raw = stripped.decode("utf-8")
    except UnicodeDecodeError:
        return line.no, stripped.decode("utf-8", "backslashreplace"), None, _BAD_UTF8, None
    record, problem = _parse_object(raw)
    return line.no, raw, record, problem, None


_BAD_UTF8 = "not valid UTF-8 text"


def _jsonl_records(handle: BinaryIO, limit: int) -> Iterator[_Item]:
    """One record per line, each line read in bounded chunks (a leading BOM is dropped); a
    line that is an envelope gives its records, numbered by the line."""
    for line in bounded_lines(handle, limit):
        item = _line_item(line, limit)
        if item is None:
            continue
        inner = _envelope(item[2]) if item[2] is not None else None
        if inner is None:
            yield item
            continue
        for value in inner:
            yield _item(item[0], value, limit)


def _json_records(handle: BinaryIO, limit: int) -> Iterator[_Item]:
    """A ``.json`` file holds one document (list, envelope, object) or, often, JSON lines.

    Wazuh's ``alerts.json`` and Suricata's ``eve.json`` are JSON lines of any size, so they are
    recognized from their first lines and streamed. Documents are streamed too: a list's
    elements are read one at a time (:mod:`json_stream`); only an object within the record
    limit is read whole, as one record or as a small envelope around a list.
    """
    if _is_json_lines(handle, limit):
        handle.seek(0)
        yield from _jsonl_records(handle, limit)
        return
    shape = outline(handle, limit)
    if shape.kind == "lines":
        handle.seek(0)
        yield from _jsonl_records(handle, limit)
    elif shape.kind == "invalid":
        head = read_span(handle, 0, handle.seek(0, 2), min(limit, 64 * 1024))
        raw = head.data.decode("utf-8", "backslashreplace")
        yield 1, raw, None, shape.problem, (head.size, head.sha256) if head.sha256 else None
    elif shape.kind == "list":
        for index, element in enumerate(elements(handle, shape.start, limit), start=1):
            yield _element_item(index, element, limit, shape.unwrap)
    else:
        span = read_span(handle, shape.start, shape.end, limit)
        try:
            document, problem = _parse_value(span.data.decode("utf-8"))
        except UnicodeDecodeError:
            problem = _BAD_UTF8
        if span.too_long or problem is not None:
            yield _element_item(1, span, limit, None)  # says what is wrong with it
            return
        for index, item in enumerate(_unwrap(document), start=1):
            yield _item(index, item, limit)


def _element_item(index: int, element: Element, limit: int, unwrap: str | None) -> _Item:
    """One streamed list element as a record (``unwrap``: take the record from that key)."""
    if element.too_long:
        raw = element.data.decode("utf-8", "backslashreplace")
        whole = (element.size, element.sha256 or "")
        return index, raw, None, _oversize(element.size, limit), whole
    try:
        text = element.data.decode("utf-8")
    except UnicodeDecodeError:
        return index, element.data.decode("utf-8", "backslashreplace"), None, _BAD_UTF8, None
    value, problem = _parse_value(text)
    if problem is not None:
        return index, text, None, problem, None
    if unwrap is not None and isinstance(value, dict):
        value = value.get(unwrap, value)
    return _item(index, value, limit)


def _item(index: int, item: Any, limit: int) -> _Item:
    """A parsed list item as a record; its raw text is its compact JSON (as stored before
    streaming, so re-runs over older stores find the same records)."""
    raw = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > limit:
        return index, raw, None, _oversize(size, limit), None
    if not isinstance(item, dict):
        return index, raw, None, f"not a JSON object (found {type(item).__name__})", None
    return index, raw, item, None, None


def _is_json_lines(handle: BinaryIO, limit: int) -> bool:
    """True when the first two non-blank lines are each a whole JSON object."""
    parsed = 0
    for line in bounded_lines(handle, limit):
        if line.too_long:
            return parsed > 0
        if not line.data.strip():
            continue
        try:
            if not isinstance(load_json(line.data.decode("utf-8")), dict):
                return False
        except (ValueError, RecursionError):
            return False
        parsed += 1
        if parsed == 2:
            return True
    return False


def _unwrap(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    inner = _envelope(document)
    return [document] if inner is None else inner


def _envelope(document: Any) -> list[Any] | None:
    """The records of an envelope object, or None when ``document`` is no envelope.

    An envelope is a list plus scalar paging metadata (Graph adds several "@odata.*" keys,
    GuardDuty a ``nextToken``); another key holding an object or a list makes the document a
    record (an EventBridge event has a ``resources`` list beside its ``detail`` object).
    """
    if not isinstance(document, Mapping):
        return None
    plain_keys = [k for k in document if not str(k).startswith("@odata.")]
    for key in ENVELOPES:
        if isinstance(document.get(key), list) and len(plain_keys) <= MAX_ENVELOPE_KEYS:
            others = (v for k, v in document.items() if k != key)
            if not any(isinstance(v, dict | list) for v in others):
                return list(document[key])
    hits = document.get("hits")
    if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
        return [h.get("_source", h) if isinstance(h, dict) else h for h in hits["hits"]]
    # An Okta event hook delivery: its System Log events under data.events. Gated on the
    # delivery's own eventType, so that no other record with a data.events list is unwrapped.
    data = document.get("data")
    if document.get("eventType") == OKTA_EVENT_HOOK and isinstance(data, Mapping):
        events = data.get("events")
        if isinstance(events, list):
            return list(events)
    return None
