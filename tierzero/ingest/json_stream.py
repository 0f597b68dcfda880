"""The records of a ``.json`` document, streamed: the document is never loaded whole.

A ``.json`` export is a list of records, an envelope object around one (Graph's
``{"value": [...]}``, GuardDuty's ``GetFindings`` ``{"findings": [...]}``, Elasticsearch's
``{"hits": {"hits": [...]}}``), or one record. An envelope is a list under one of
:data:`ENVELOPES` beside at most a few scalar paging keys (``nextToken``, ``@odata.*``): a key
holding an object or a list makes it a record (an EventBridge event has ``resources`` and a
``detail`` object). An empty envelope holds no record, so it yields none. A first
pass walks the document's structure in constant memory: it checks that the brackets balance,
that nothing follows the document, and where the list of records starts. A second pass cuts
that list into its elements; each element is read, and parsed by ``json``, on its own, and one
larger than the record limit is never read whole. Only strings, brackets and commas are
tracked here: everything else is left to ``json``.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from tierzero.ingest.lines import CHUNK_BYTES, UTF8_BOM

# Wrappers that vendor APIs and CLIs put around lists of records ("findings": GuardDuty
# GetFindings over REST; "Findings": the AWS CLI and Security Hub).
ENVELOPES = ("value", "findings", "Findings", "resources", "events", "alerts")
# At most this many keys besides "@odata.*" ones: the list and its paging metadata.
MAX_ENVELOPE_KEYS = 3
_OUTSIDE = re.compile(rb'["\[\]{},]')
_INSIDE = re.compile(rb'["\\]')
_QUOTE, _BACKSLASH, _COMMA = 0x22, 0x5C, 0x2C
_OPEN = {0x5B: 0x5D, 0x7B: 0x7D}  # [ -> ], { -> }
_CLOSE_STRING = -1
_WHITESPACE = b" \t\r\n"
_MAX_KEYS = 64  # an envelope has a handful of keys; more means a plain record


@dataclass(frozen=True)
class Outline:
    """What a ``.json`` file holds, found without loading it.

    ``list``: records are the elements of the list whose ``[`` is at ``start`` (``unwrap``
    names the key holding each record, for Elasticsearch hits). ``single``: one value spans
    ``start``..``end``. ``lines``: not one document (likely concatenated objects): read it
    as JSON lines. ``invalid``: ``problem`` says why.
    """

    kind: Literal["list", "single", "lines", "invalid"]
    start: int = 0
    end: int = 0
    unwrap: str | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Element:
    """A value's bytes, or only its beginning when ``too_long`` (with the whole one's digest)."""

    data: bytes
    size: int
    too_long: bool
    sha256: str | None = None


def _events(fd: int, start: int) -> Iterator[tuple[int, int]]:
    """(offset, byte) of each bracket, comma and quote outside strings from ``start`` on, and
    (offset, ``_CLOSE_STRING``) for each closing quote."""
    offset, in_string, skip = start, False, 0
    while chunk := os.pread(fd, CHUNK_BYTES, offset):
        pos, skip, size = skip, 0, len(chunk)
        while pos < size:
            if in_string:
                match = _INSIDE.search(chunk, pos)
                if match is None:
                    break
                at = match.start()
                if chunk[at] == _BACKSLASH:  # the next byte is escaped, whatever it is
                    pos = at + 2
                    skip = max(0, pos - size)
                    continue
                in_string = False
                yield offset + at, _CLOSE_STRING
            else:
                match = _OUTSIDE.search(chunk, pos)
                if match is None:
                    break
                at = match.start()
                in_string = chunk[at] == _QUOTE
                yield offset + at, chunk[at]
            pos = at + 1
        offset += size


def _first_byte(fd: int, offset: int) -> tuple[int, int | None]:
    """Offset and value of the first byte at or after ``offset`` that is not whitespace."""
    while chunk := os.pread(fd, CHUNK_BYTES, offset):
        stripped = chunk.lstrip(_WHITESPACE)
        if stripped:
            return offset + len(chunk) - len(stripped), stripped[0]
        offset += len(chunk)
    return offset, None


@dataclass
class _Key:
    start: int  # offset of the opening quote
    end: int  # offset of the closing quote
    parent: int  # index of the depth-1 key it is under (-1 at depth 1)


@dataclass
class _Walk:
    """What the first pass learns about the top-level value."""

    end: int | None = None  # offset just past the top-level value; None: never closed
    mismatch: int | None = None  # offset of a bracket closing the wrong kind of container
    keys: list[_Key] = field(default_factory=list)
    depth1_keys: int = 0


def _walk(fd: int, start: int) -> _Walk:
    """Walk the value at ``start`` (a ``[`` or ``{``); record the keys of the top object and
    of the objects directly inside it (an envelope is found among them)."""
    walk = _Walk()
    stack: list[int] = []  # closing byte expected per open container
    expect_key: list[bool] = []
    key_start: int | None = None
    last_depth1_key = -1
    for at, byte in _events(fd, start):
        if byte == _CLOSE_STRING:
            if key_start is not None:
                walk.keys.append(_Key(key_start, at, -1 if len(stack) == 1 else last_depth1_key))
                if len(stack) == 1:
                    last_depth1_key = len(walk.keys) - 1
                key_start = None
        elif byte == _QUOTE:
            if stack and stack[-1] == 0x7D and expect_key[-1]:
                expect_key[-1] = False
                depth = len(stack)
                if depth == 1:
                    walk.depth1_keys += 1
                if depth <= 2 and len(walk.keys) < _MAX_KEYS:
                    key_start = at
        elif byte in _OPEN:
            stack.append(_OPEN[byte])
            expect_key.append(byte == 0x7B)
        elif byte == _COMMA:
            if stack and stack[-1] == 0x7D:
                expect_key[-1] = True
        else:  # a closing bracket
            if not stack or stack[-1] != byte:
                walk.mismatch = at
                return walk
            stack.pop()
            expect_key.pop()
            if not stack:
                walk.end = at + 1
                return walk
    return walk


def _text(fd: int, start: int, end: int) -> str | None:
    if end - start > 256:
        return None  # no envelope key is that long
    return os.pread(fd, end - start, start).decode("utf-8", "replace")


def _value_start(fd: int, key: _Key) -> tuple[int, int | None]:
    """Offset and first byte of the value after a key (past the colon)."""
    at, byte = _first_byte(fd, key.end + 1)
    if byte != ord(":"):
        return at, None
    return _first_byte(fd, at + 1)


def _envelope(fd: int, walk: _Walk) -> Outline | None:
    """The list inside an envelope object, as the whole-document reading would unwrap it."""
    names = {i: _text(fd, k.start + 1, k.end) for i, k in enumerate(walk.keys)}
    top = {names[i]: k for i, k in enumerate(walk.keys) if k.parent == -1}
    plain = [n for n in top if not (n or "").startswith("@odata.")]
    if walk.depth1_keys > _MAX_KEYS:
        return None
    plain_count = len(plain) + (walk.depth1_keys - len(top))  # keys seen but not kept
    for name in ENVELOPES:
        if name in top and plain_count <= MAX_ENVELOPE_KEYS:
            at, byte = _value_start(fd, top[name])
            others = (key for other, key in top.items() if other != name)
            if byte == ord("[") and all(_value_start(fd, k)[1] not in _OPEN for k in others):
                return Outline("list", at)
    hits = top.get("hits")
    if hits is not None:
        hits_index = walk.keys.index(hits)
        for i, key in enumerate(walk.keys):
            if key.parent == hits_index and names[i] == "hits":
                at, byte = _value_start(fd, key)
                if byte == ord("["):
                    return Outline("list", at, unwrap="_source")
    return None


def _only_whitespace_after(fd: int, offset: int) -> bool:
    return _first_byte(fd, offset)[1] is None


def outline(handle: BinaryIO, limit: int) -> Outline:
    """Find what a ``.json`` file holds (see :class:`Outline`) in one bounded-memory pass.

    An object no larger than ``limit`` is left to be read whole (``single``): that is one
    record, or a small envelope the caller unwraps. A larger one is searched for an envelope.
    """
    fd = handle.fileno()
    head = os.pread(fd, len(UTF8_BOM), 0)
    start, first = _first_byte(fd, len(UTF8_BOM) if head == UTF8_BOM else 0)
    if first is None:
        return Outline("invalid", problem="file is not valid JSON: it is empty")
    if first not in _OPEN:
        return Outline("single", start, os.fstat(fd).st_size)  # a bare value: json decides
    walk = _walk(fd, start)
    is_object = first == 0x7B
    if walk.end is None or not _only_whitespace_after(fd, walk.end):
        if is_object:
            return Outline("lines")  # concatenated objects or JSON lines, not one document
        if walk.mismatch is not None:
            why = f"a bracket at byte {walk.mismatch} closes the wrong kind of container"
        elif walk.end is None:
            why = "the list is never closed (the file may be cut short)"
        else:
            why = f"there is more data after the list ends at byte {walk.end}"
        return Outline("invalid", problem=f"file is not valid JSON: {why}")
    if not is_object:
        return Outline("list", start)
    if walk.end - start > limit:
        found = _envelope(fd, walk)
        if found is not None:
            return found
    return Outline("single", start, walk.end)


def read_span(handle: BinaryIO, start: int, end: int, limit: int) -> Element:
    """Bytes ``start``..``end`` as one element: whole up to ``limit``, else the beginning."""
    fd = handle.fileno()
    size = end - start
    if size <= limit:
        return Element(os.pread(fd, size, start), size, False)
    hasher = hashlib.sha256()
    offset = start
    while offset < end:
        chunk = os.pread(fd, min(CHUNK_BYTES, end - offset), offset)
        if not chunk:
            break
        hasher.update(chunk)
        offset += len(chunk)
    return Element(os.pread(fd, limit, start), size, True, hasher.hexdigest())


def elements(handle: BinaryIO, start: int, limit: int) -> Iterator[Element]:
    """The elements of the list whose ``[`` is at ``start`` (checked by :func:`outline`),
    in order, each stripped of surrounding whitespace (an empty one, as in ``[1,,2]``, is
    given as empty bytes for ``json`` to refuse)."""
    depth = 0
    begin = start + 1
    count = 0
    for at, byte in _events(handle.fileno(), start):
        if byte in _OPEN:
            depth += 1
            continue
        if depth == 1 and (byte == _COMMA or byte in (0x5D, 0x7D)):
            element = _trimmed(handle, begin, at, limit)
            if element is not None or byte == _COMMA or count:
                count += 1
                yield element or Element(b"", 0, False)
            begin = at + 1
        if byte in (0x5D, 0x7D):
            depth -= 1
            if depth == 0:
                return


def _trimmed(handle: BinaryIO, start: int, end: int, limit: int) -> Element | None:
    """The element between two separators, without surrounding whitespace; None if empty."""
    fd = handle.fileno()
    start, first = _first_byte(fd, start)
    if first is None or start >= end:
        return None
    while end > start:
        width = min(CHUNK_BYTES, end - start)
        tail = os.pread(fd, width, end - width).rstrip(_WHITESPACE)
        end -= width - len(tail)
        if tail:
            break
    return read_span(handle, start, end, limit)
