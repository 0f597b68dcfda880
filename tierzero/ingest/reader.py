"""Read alert files, pick an adapter per record, and yield alerts or quarantined records.

Everything read is accounted for: each record yields exactly one ``Alert`` or one
``QuarantinedRecord``, so ``alerts_in == normalized + quarantined`` holds by construction.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from tierzero.ingest.alert import Alert
from tierzero.ingest.base import Adapter, ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord, quarantine
from tierzero.ingest.registry import ADAPTERS, MAPPED_SOURCE, mapped_adapter

ALERT_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
MAPPING_SUFFIX = ".mapping.yaml"
# Wrappers that vendor APIs and CLIs put around lists of records.
_ENVELOPES = ("value", "Findings", "resources", "events", "alerts")
_EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)


class InputError(Exception):
    """A problem with what the user asked to read (missing path, no mapping for a CSV)."""


@dataclass(frozen=True)
class IngestOptions:
    """How to read. Defaults suit a SOC: 1 MiB per record, clocks may run 5 min ahead."""

    source: str = "auto"
    mapping: Path | None = None
    max_record_bytes: int = 1024 * 1024
    skew_tolerance: timedelta = timedelta(minutes=5)
    max_future: timedelta = timedelta(days=1)


@dataclass(frozen=True)
class InputFile:
    path: Path
    kind: Literal["json", "jsonl", "csv"]
    mapping: Path | None = None


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
    """Expand files and folders to the alert files to read, in a stable order.

    In a folder only ``.json``, ``.jsonl``, ``.ndjson`` and ``.csv`` files are read; mapping
    files and anything else are ignored. A CSV needs a mapping: ``NAME.mapping.yaml`` beside it,
    or ``--mapping``.
    """
    found: list[InputFile] = []
    seen: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise InputError(f"no such file or folder: {path}")
        candidates = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate.resolve() in seen:
                continue  # the same file named twice is read once
            seen.add(candidate.resolve())
            kind = ALERT_SUFFIXES.get(candidate.suffix.lower())
            if kind is None or candidate.name.endswith(MAPPING_SUFFIX):
                if not path.is_dir():
                    raise InputError(
                        f"{candidate}: not an alert file (.json, .jsonl, .ndjson, .csv)"
                    )
                continue
            sibling = candidate.with_name(candidate.name[: -len(candidate.suffix)] + MAPPING_SUFFIX)
            mapping = sibling if sibling.exists() else None
            if mapping is None and (kind == "csv" or options.source == MAPPED_SOURCE):
                mapping = options.mapping
            if kind == "csv" and mapping is None:
                raise InputError(
                    f"{candidate}: a CSV file needs a field mapping: put {sibling.name} beside it "
                    "or pass --mapping FILE"
                )
            found.append(InputFile(candidate, kind, mapping))  # type: ignore[arg-type]
    return found


def read(
    paths: Iterable[Path], options: IngestOptions | None = None, now: datetime | None = None
) -> Iterator[Alert | QuarantinedRecord]:
    """Yield one alert or one quarantined record per source record, file by file."""
    options = options or IngestOptions()
    ingested_at = (now or datetime.now(UTC)).astimezone(UTC)
    for input_file in discover(paths, options):
        yield from read_file(input_file, options, ingested_at)


def read_file(
    input_file: InputFile, options: IngestOptions, ingested_at: datetime
) -> Iterator[Alert | QuarantinedRecord]:
    """Normalize every record of one file."""
    adapter: Adapter | None = None
    if input_file.mapping is not None:
        adapter = mapped_adapter(input_file.mapping)
    elif options.source != "auto":
        if options.source not in ADAPTERS:
            raise InputError(f"unknown source {options.source!r}; known: {', '.join(ADAPTERS)}")
        adapter = ADAPTERS[options.source]
    name = str(input_file.path)
    for record_no, raw, record, problem in _records(input_file, options):
        context = ParseContext(name, record_no, ingested_at, raw)
        if problem is not None or record is None:
            source = adapter.name if adapter else "unknown"
            yield _reject(source, context, problem or "empty record")
            continue
        chosen = adapter or _detect(record)
        if isinstance(chosen, str):
            yield _reject("unknown", context, chosen)
            continue
        try:
            alert = chosen.parse(record, context)
            yield _check_time(alert, options, ingested_at)
        except RecordRejected as exc:
            yield _reject(chosen.name, context, exc.reason)
        except RecursionError:
            yield _reject(chosen.name, context, "record is nested too deeply to read")


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


def _reject(source: str, context: ParseContext, reason: str) -> QuarantinedRecord:
    return quarantine(
        source=source,
        source_file=context.source_file,
        record_no=context.record_no,
        reason=reason,
        raw=context.raw,
        at=context.ingested_at,
    )


# (record_no, raw text, parsed record or None, problem or None)
_Item = tuple[int, str, Mapping[str, Any] | None, str | None]


def _records(input_file: InputFile, options: IngestOptions) -> Iterator[_Item]:
    if input_file.kind == "csv":
        yield from _csv_records(input_file.path, options)
    elif input_file.kind == "jsonl":
        yield from _jsonl_records(input_file.path, options)
    else:
        yield from _json_records(input_file.path, options)


def _oversize(size: int, options: IngestOptions) -> str | None:
    if size > options.max_record_bytes:
        return f"record is {size} bytes, over the {options.max_record_bytes}-byte limit"
    return None


def _parse_object(raw: str) -> tuple[Mapping[str, Any] | None, str | None]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at column {exc.colno}"
    except RecursionError:
        return None, "not valid JSON: nested too deeply"
    if not isinstance(value, dict):
        return None, f"not a JSON object (found {type(value).__name__})"
    return value, None


def _jsonl_records(path: Path, options: IngestOptions) -> Iterator[_Item]:
    with path.open("rb") as handle:
        for line_no, line_bytes in enumerate(handle, start=1):
            stripped = line_bytes.strip()
            if not stripped:
                continue  # blank lines are layout, not records
            try:
                raw = stripped.decode("utf-8")
            except UnicodeDecodeError:
                yield (
                    line_no,
                    stripped.decode("utf-8", "backslashreplace"),
                    None,
                    "not valid UTF-8 text",
                )
                continue
            problem = _oversize(len(stripped), options)
            if problem:
                yield line_no, raw, None, problem
                continue
            record, problem = _parse_object(raw)
            yield line_no, raw, record, problem


def _json_records(path: Path, options: IngestOptions) -> Iterator[_Item]:
    """A ``.json`` file holds one document (object, array, envelope) or, often, JSON lines.

    Wazuh's ``alerts.json`` and Suricata's ``eve.json`` are JSON lines of any size, so they are
    recognized from their first lines and streamed; only real documents are read whole.
    """
    if _is_json_lines(path, options):
        yield from _jsonl_records(path, options)
        return
    data = path.read_bytes()
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        if data.lstrip()[:1] == b"{":
            yield from _jsonl_records(path, options)
        else:
            yield (
                1,
                data.decode("utf-8", "backslashreplace"),
                None,
                f"file is not valid JSON: {exc}",
            )
        return
    for index, item in enumerate(_unwrap(document), start=1):
        raw = json.dumps(item, ensure_ascii=False, separators=(",", ":"))
        problem = _oversize(len(raw.encode()), options)
        if problem is None and not isinstance(item, dict):
            problem = f"not a JSON object (found {type(item).__name__})"
        yield index, raw, item if problem is None else None, problem


def _is_json_lines(path: Path, options: IngestOptions) -> bool:
    """True when the first two non-blank lines are each a whole JSON object."""
    parsed = 0
    with path.open("rb") as handle:
        for line in handle:
            if len(line) > options.max_record_bytes:
                return parsed > 0
            if not line.strip():
                continue
            try:
                if not isinstance(json.loads(line), dict):
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
    if isinstance(document, dict):
        # An envelope is a list plus paging metadata (Graph adds several "@odata.*" keys).
        plain_keys = [k for k in document if not str(k).startswith("@odata.")]
        for key in _ENVELOPES:
            if isinstance(document.get(key), list) and len(plain_keys) <= 3:
                return list(document[key])
        hits = document.get("hits")
        if isinstance(hits, dict) and isinstance(hits.get("hits"), list):
            return [h.get("_source", h) if isinstance(h, dict) else h for h in hits["hits"]]
    return [document]


class _LineTap:
    """Feeds lines to ``csv`` while remembering them, so each row keeps its raw text."""

    def __init__(self, handle: io.TextIOBase) -> None:
        self.handle = handle
        self.taken: list[str] = []

    def __iter__(self) -> _LineTap:
        return self

    def __next__(self) -> str:
        line = next(self.handle)
        self.taken.append(line)
        return line


def _csv_records(path: Path, options: IngestOptions) -> Iterator[_Item]:
    csv.field_size_limit(options.max_record_bytes)
    with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as handle:
        tap = _LineTap(handle)
        reader = csv.DictReader(tap)
        while True:
            tap.taken.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, "".join(tap.taken), None, f"unreadable CSV row: {exc}"
                continue
            raw = "".join(tap.taken).rstrip("\r\n")
            problem = _oversize(len(raw.encode()), options)
            if problem is None and "\ufffd" in raw:
                problem = "not valid UTF-8 text"
            if problem is None and None in row:
                extra = len(row[None])  # csv puts surplus fields under None
                problem = f"row has {len(row) - 1 + extra} fields, the header has {len(row) - 1}"
            yield reader.line_num, raw, row if problem is None else None, problem
