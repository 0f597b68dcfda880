"""CSV rows read in bounded memory, each with its raw text, and rows that swallowed others caught.

One stray quote makes a CSV field run on over the following lines until the next quote, so
real rows end up inside one field (and, normalized, in one alert's title). A row whose quoted
field spans lines that are CSV rows of their own is therefore never normalized: when its
quoting is broken (an unterminated quote), only its first line is quarantined and the lines it
swallowed are read again as the rows they are; when the quoting is sound, the row is
quarantined whole, since its text cannot be told apart from a swallowed one.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from tierzero.ingest.lines import Line, bounded_lines


@dataclass(frozen=True)
class Row:
    """One CSV record: values by column, or the problem that keeps it from being read."""

    record_no: int  # the line number of its last line, as ``csv.reader.line_num`` counts
    raw: str
    values: dict[str, Any] | None
    problem: str | None = None
    whole: tuple[int, str] | None = None  # (size, SHA-256) when ``raw`` is only the beginning


class _LineTooLong(Exception):
    """A physical line over the limit: it is never handed to ``csv``."""


class _RecordTooLong(Exception):
    """The lines of one record add up to more than the limit."""


class _Feed:
    """Hands lines to ``csv.reader`` one record at a time, remembering them; lines can be
    pushed back to be read again (the rows an unterminated quote swallowed)."""

    def __init__(self, lines: Iterator[Line], limit: int) -> None:
        self.lines = lines
        self.limit = limit
        self.pending: deque[Line] = deque()
        self.taken: list[Line] = []
        self.texts: list[str] = []
        self.bad_utf8 = False
        self.hit_end = False
        self.size = 0

    def start_record(self) -> None:
        self.taken, self.texts = [], []
        self.bad_utf8 = self.hit_end = False
        self.size = 0

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        if self.pending:
            line = self.pending.popleft()
        else:
            try:
                line = next(self.lines)
            except StopIteration:
                self.hit_end = True
                raise
        self.taken.append(line)
        if line.too_long:
            raise _LineTooLong
        try:
            text = (line.data + line.ending).decode("utf-8")
        except UnicodeDecodeError:
            # Only undecodable bytes are a problem; a genuine U+FFFD in the text is not.
            text = (line.data + line.ending).decode("utf-8", "replace")
            self.bad_utf8 = True
        self.texts.append(text)
        self.size += len(line.data) + len(line.ending)
        if len(self.taken) > 1 and self.size > self.limit:
            raise _RecordTooLong
        return text


def _field_count(text: str) -> int:
    try:
        return len(next(csv.reader([text]), []))
    except csv.Error:
        return 0


def _parses_strictly(text: str) -> bool:
    """True when ``text`` is exactly one well-quoted CSV record."""
    try:
        return len(list(csv.reader(io.StringIO(text), strict=True))) == 1
    except csv.Error:
        return False


def _row_like(texts: list[str], width: int) -> int:
    """How many of ``texts``, read alone, are rows as wide as the header."""
    return sum(1 for t in texts if _field_count(t) == width) if width >= 2 else 0


def csv_rows(handle: BinaryIO, limit: int) -> Iterator[Row]:
    """The data rows of a CSV file (the first row is the header), every line accounted for:
    each becomes part of one yielded :class:`Row`, read or refused with a problem."""
    csv.field_size_limit(limit)
    feed = _Feed(bounded_lines(handle, limit, universal=True), limit)
    reader = csv.reader(feed)
    header: list[str] | None = None
    while True:
        feed.start_record()
        try:
            values = next(reader)
        except StopIteration:
            return
        except (csv.Error, _LineTooLong, _RecordTooLong) as exc:
            yield from _broken(feed, exc, len(header or ()), limit)
            continue
        if not values:
            continue  # a blank line is layout
        if header is None:
            header = values
            continue
        if len(feed.taken) > 1:
            strict = _parses_strictly("".join(feed.texts))
            inner = feed.texts[1:] if feed.hit_end and not strict else feed.texts[1:-1]
            swallowed = _row_like(inner, len(header))
            if swallowed:
                yield from _swallowed(feed, swallowed, recover=not strict)
                continue
        yield _row(feed, header, values, limit)


def _row(feed: _Feed, header: list[str], values: list[str], limit: int) -> Row:
    raw = "".join(feed.texts).rstrip("\r\n")
    record_no = feed.taken[-1].no
    problem = None
    if len(raw.encode()) > limit:
        problem = f"record is {len(raw.encode())} bytes, over the {limit}-byte limit"
    elif feed.bad_utf8:
        problem = "not valid UTF-8 text"
    elif len(values) > len(header):
        problem = f"row has {len(values)} fields, the header has {len(header)}"
    if problem is not None:
        return Row(record_no, raw, None, problem)
    row: dict[str, Any] = dict.fromkeys(header)
    row.update(zip(header, values, strict=False))
    return Row(record_no, raw, row)


def _swallowed(feed: _Feed, count: int, recover: bool) -> Iterator[Row]:
    first = feed.taken[0]
    if recover:
        yield Row(
            first.no,
            feed.texts[0].rstrip("\r\n"),
            None,
            f"unterminated quote: a quoted field starting on this line ran on over {count} "
            "following line(s) that are rows of their own; this line is quarantined and "
            "those lines are read as rows",
        )
        feed.pending.extendleft(reversed(feed.taken[1:]))
        return
    yield Row(
        feed.taken[-1].no,
        "".join(feed.texts).rstrip("\r\n"),
        None,
        f"a quoted field spans {count} line(s) that look like rows of their own; "
        "quarantined rather than read as one alert (check the file's quoting)",
    )


def _broken(feed: _Feed, exc: Exception, width: int, limit: int) -> Iterator[Row]:
    """A record ``csv`` could not finish: recover swallowed rows, else refuse what was taken."""
    taken, texts = feed.taken, feed.texts
    if not taken:
        return
    long_line = taken[-1] if isinstance(exc, _LineTooLong) else None
    if len(taken) > 1:
        swallowed = _row_like(texts[1:], width)
        if swallowed:
            yield from _swallowed(feed, swallowed, recover=True)
            return
    if texts:
        why = (
            f"record runs over {limit} bytes across {len(texts)} lines (an unterminated quote?)"
            if isinstance(exc, _RecordTooLong)
            else "record runs into a line over the limit (an unterminated quote?)"
            if long_line is not None
            else f"unreadable CSV row: {exc}"
        )
        last = taken[len(texts) - 1]
        yield Row(last.no, "".join(texts).rstrip("\r\n"), None, why)
    if long_line is not None:
        yield Row(
            long_line.no,
            long_line.data.decode("utf-8", "backslashreplace"),
            None,
            f"record is {long_line.size} bytes, over the {limit}-byte limit",
            whole=(long_line.size, long_line.sha256 or ""),
        )
