"""``tierzero normalize``: tierzero as a converter from vendor alert formats to OCSF.

Every record of the input goes through the same reader and adapters as ``tierzero triage``
(:func:`tierzero.ingest.reader.read_file`, per file, stamped with the time it is read, as the
triage ingest does); nothing is stored, correlated or triaged, and no audit key is needed.

- stdout: one OCSF Detection Finding per line, ``Alert.to_ocsf()`` of each alert: the export of
  exactly what the store keeps for that record, ``raw_data`` included;
- stderr: one JSON object per line, ``{"quarantined": {...}}`` for each record that could not be
  normalized (file, record number, source, reason) and ``{"summary": {...}}`` at the end.

Both streams are JSON written as ASCII: every character of an alert field that could act on a
terminal (ESC, C1 controls, bidi overrides, line separators) is a JSON escape, never the raw
character. Memory does not grow with the
input: records stream through, output leaves in blocks, and the reason counts are bounded.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import typer

from tierzero.cli.inputs import MappingOption, PathsArgument, SourceOption, check_source
from tierzero.cli.support import fail
from tierzero.ingest.adapters.mapped import MappingError
from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, InputError, discover, read_file
from tierzero.ingest.registry import mapped_adapter

# Exit status when the reader of stdout goes away (``| head``): what a shell reports for a
# process ended by SIGPIPE (128 + 13), without the traceback or the signal.
EXIT_BROKEN_PIPE = 141
# Distinct reason kinds counted; further kinds are counted together (attacker text in a reason
# must not grow the summary, or memory, with the input).
MAX_REASON_KINDS = 100
OTHER_REASONS = "(other reasons)"
_BLOCK = 64 * 1024

_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?")
_NUMBER = re.compile(r"\d+")


def reason_kind(reason: str) -> str:
    """What a reason says, without what is particular to the record: the text before the first
    ``": "`` (after it come the offending value or parser detail), with times and numbers
    written as ``<time>`` and ``<n>``. ``"not valid JSON: Expecting value at column 3"`` and
    ``"record is 2000000 bytes, over the 1048576-byte limit"`` count as ``"not valid JSON"``
    and ``"record is <n> bytes, over the <n>-byte limit"``."""
    head = _TIME.sub("<time>", reason).split(": ", 1)[0]
    return _NUMBER.sub("<n>", head)


@dataclass
class Summary:
    """The counts printed at the end; ``records_in == normalized + quarantined``."""

    files: int = 0
    normalized: int = 0
    quarantined: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)

    def add(self, item: Alert | QuarantinedRecord) -> None:
        """Count one record's outcome."""
        if isinstance(item, Alert):
            self.normalized += 1
            self.by_source[item.provenance.source] += 1
            return
        self.quarantined += 1
        kind = reason_kind(item.reason)
        if kind not in self.by_reason and len(self.by_reason) >= MAX_REASON_KINDS:
            kind = OTHER_REASONS
        self.by_reason[kind] += 1

    def as_json(self) -> dict[str, Any]:
        """The summary object of the last stderr line."""
        body: dict[str, Any] = {
            "files": self.files,
            "records_in": self.normalized + self.quarantined,
            "normalized": self.normalized,
            "quarantined": self.quarantined,
            "normalized_by_source": dict(sorted(self.by_source.items())),
            "quarantined_by_reason": dict(self.by_reason.most_common()),
        }
        if self.files == 0:
            body["warning"] = (
                "no alert files found (.json, .jsonl, .ndjson, or .csv with a "
                "NAME.mapping.yaml beside it or --mapping)"
            )
        return body


class Sink(Protocol):
    """Where a :class:`BlockWriter` writes: a binary stream (stdout's buffer, a file)."""

    def write(self, data: bytes, /) -> object: ...

    def flush(self) -> None: ...


class BlockWriter:
    """JSON lines to a binary stream, one ``write`` per block of about 64 KiB.

    A line is ASCII-only JSON (``ensure_ascii``), so it never carries a raw control character
    and always encodes.
    """

    def __init__(self, stream: Sink, block: int = _BLOCK) -> None:
        self._stream = stream
        self._block = block
        self._parts: list[bytes] = []
        self._size = 0

    def write(self, value: Any) -> None:
        """Queue one JSON value as a line; write the block when it is full."""
        line = json.dumps(value, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        self._parts.append(line + b"\n")
        self._size += len(line) + 1
        if self._size >= self._block:
            self.flush()

    def flush(self) -> None:
        """Write what is queued and flush the stream."""
        if self._parts:
            data = b"".join(self._parts)
            self._parts.clear()
            self._size = 0
            self._stream.write(data)
        self._stream.flush()


def quarantine_line(record: QuarantinedRecord) -> dict[str, Any]:
    """A quarantined record as its stderr line: where it is and why, not its content (the
    raw text is named by size and SHA-256; ``tierzero triage`` keeps it in the quarantine)."""
    return {
        "quarantined": {
            "file": record.source_file,
            "record_no": record.record_no,
            "source": record.source,
            "reason": record.reason,
            "raw_size": record.raw_size,
            "raw_sha256": record.raw_sha256,
        }
    }


def normalize(
    paths: list[Path], options: IngestOptions, out: BlockWriter, errors: BlockWriter
) -> Summary:
    """Write every alert of ``paths`` to ``out`` and every quarantined record to ``errors``;
    return the counts. Raises :class:`InputError` (a missing path, a CSV named without a
    mapping) before anything is written, and :class:`MappingError` for a bad ``--mapping``."""
    if options.mapping is not None:
        mapped_adapter(options.mapping)  # a bad --mapping stops the run before any output
    files = discover(paths, options)
    summary = Summary(files=len(files))
    for input_file in files:
        # Stamped per file as the triage ingest does: ``metadata.logged_time`` is when read.
        for item in read_file(input_file, options, datetime.now(UTC)):
            summary.add(item)
            if isinstance(item, Alert):
                out.write(item.to_ocsf())
            else:
                errors.write(quarantine_line(item))
    return summary


def _silence_output() -> None:
    """Point stdout and stderr at /dev/null, so that nothing queued for a closed pipe is
    written (and fails again, noisily) when the interpreter flushes them on exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError, AttributeError):
            continue  # not a real file descriptor (a test's captured stream)
    os.close(devnull)


def normalize_command(
    paths: PathsArgument,
    source: SourceOption = "auto",
    mapping: MappingOption = None,
) -> None:
    """Convert alert files to OCSF Detection Findings, one JSON object per line on stdout.

    Files and folders are read as 'tierzero triage' reads them, through the same adapters, and
    each alert is printed as the OCSF document of what the store would keep (raw_data
    included); nothing is stored or triaged. A record read twice is printed twice (the store
    keeps one alert per source and id).

    stderr carries JSON lines too: {"quarantined": {file, record_no, source, reason, ...}} for
    each record that could not be normalized, and {"summary": {records_in, normalized,
    quarantined, quarantined_by_reason, ...}} at the end. Text is written as ASCII JSON, so no
    alert field reaches the terminal as a raw control character.

    Exit status: 0 when every file was read, also when records were quarantined (they are
    listed and counted); 1 when the input cannot be used (a missing path, a CSV without a
    mapping, a bad --mapping: nothing is printed on stdout); 2 for a wrong option; 141 when
    the reader of stdout stops early (e.g. '| head'), quietly.
    """
    check_source(source, mapping)
    out, errors = BlockWriter(sys.stdout.buffer), BlockWriter(sys.stderr.buffer)
    try:
        try:
            summary = normalize(paths, IngestOptions(source=source, mapping=mapping), out, errors)
        finally:
            out.flush()  # what was converted before a failure still reaches the reader
        errors.write({"summary": summary.as_json()})
        errors.flush()
    except (InputError, MappingError) as exc:
        errors.flush()
        raise fail(str(exc)) from None
    except BrokenPipeError:
        _silence_output()
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
