"""Physical lines of a file, read in bounded chunks: no line is ever held whole past a limit.

A line longer than the limit keeps only its first ``limit`` bytes, with its full size and its
SHA-256 (so the quarantine can still say exactly what it was); the rest streams past.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

CHUNK_BYTES = 64 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
_LF = re.compile(rb"\n")
_ANY_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass(frozen=True)
class Line:
    """One physical line. ``data`` has no line ending; it is cut when ``too_long``."""

    no: int
    data: bytes
    ending: bytes
    size: int  # bytes of the whole line, ending excluded
    too_long: bool
    sha256: str | None = None  # of the whole line when ``too_long`` (``data`` cannot give it)


class _Builder:
    """Accumulates one line, keeping at most ``limit`` bytes of it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept = bytearray()
        self.size = 0
        self.hasher: hashlib._Hash | None = None

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.hasher is not None:
            self.hasher.update(piece)
            return
        room = self.limit - len(self.kept)
        if len(piece) <= room:
            self.kept += piece
            return
        # The line just went over the limit: hash what is kept and everything after it.
        self.hasher = hashlib.sha256(self.kept)
        self.hasher.update(piece)
        self.kept += piece[: max(0, room)]

    def line(self, no: int, ending: bytes) -> Line:
        too_long = self.size > self.limit
        digest = self.hasher.hexdigest() if self.hasher is not None else None
        return Line(no, bytes(self.kept), ending, self.size, too_long, digest)


def bounded_lines(
    handle: BinaryIO, limit: int, *, universal: bool = False, strip_bom: bool = True
) -> Iterator[Line]:
    """Yield the lines of ``handle`` (split at ``\\n``; also at ``\\r`` when ``universal``).

    Memory is one chunk plus ``limit`` bytes, whatever the file holds. A UTF-8 byte order mark
    at the very start of the file is dropped: it is an encoding marker, not data.
    """
    eol = _ANY_EOL if universal else _LF
    builder = _Builder(limit)
    no = 0
    first = True
    while chunk := handle.read(CHUNK_BYTES):
        if universal and chunk.endswith(b"\r"):
            chunk += handle.read(1)  # keep a "\r\n" split across chunks together
        if first:
            first = False
            if strip_bom and chunk.startswith(UTF8_BOM):
                chunk = chunk[len(UTF8_BOM) :]
        start = 0
        for match in eol.finditer(chunk):
            builder.add(chunk[start : match.start()])
            no += 1
            yield builder.line(no, match.group())
            builder = _Builder(limit)
            start = match.end()
        builder.add(chunk[start:])
    if builder.size:
        yield builder.line(no + 1, b"")
