"""Which files ingest reads, and opening them safely.

Only regular files are read. A symbolic link is read only when what it points to lies inside
one of the paths given (an operator's folder must not become a way to read ``/etc/shadow``);
FIFOs, sockets and devices are never opened in a way that can block. Whatever is not read is
still reported: it becomes an :class:`InputFile` with a ``problem``, which the reader turns
into one quarantined entry naming the file and the reason.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

ALERT_SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
MAPPING_SUFFIX = ".mapping.yaml"
Kind = Literal["json", "jsonl", "csv"]


class InputError(Exception):
    """A problem with what the user asked to read (missing path, no mapping for a CSV)."""


class NotReadable(Exception):
    """A file that is not read: the message says why, for the quarantine."""


@dataclass(frozen=True)
class InputFile:
    """One alert file to read. ``problem`` set: it is not read, only reported."""

    path: Path
    kind: Kind
    mapping: Path | None = None
    problem: str | None = None
    mapping_given: bool = False  # the mapping came from --mapping, not from beside the file
    real: Path | None = None  # what was checked: opened without following links again


def _file_type(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _inside(target: Path, roots: tuple[Path, ...]) -> bool:
    return any(target == root or target.is_relative_to(root) for root in roots)


def check_file(path: Path, roots: tuple[Path, ...]) -> str | None:
    """Why ``path`` (found inside a given folder) must not be read, or None when it may be.

    Nothing is opened: ``lstat`` and ``stat`` only, so a FIFO cannot block here.
    """
    try:
        info = path.lstat()
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISLNK(info.st_mode):
        target = path.resolve()
        if not _inside(target, roots):
            return (
                f"a symbolic link to {target}, outside the paths given; not read "
                "(link files into the folder, or name the target itself)"
            )
        try:
            info = target.stat()
        except OSError:
            return "a symbolic link to nothing (its target does not exist)"
    if not stat.S_ISREG(info.st_mode):
        return f"{_file_type(info.st_mode)}, not a regular file; not read"
    return None


def open_regular(path: Path, follow: bool = True) -> BinaryIO:
    """Open ``path`` for binary reading, refusing anything but a regular file.

    ``O_NONBLOCK`` makes opening a FIFO return at once (it would otherwise wait for a writer)
    and ``fstat`` on the open descriptor checks the file actually opened, so a file swapped
    for a FIFO or device after discovery is refused too; ``follow=False`` (``O_NOFOLLOW``)
    refuses a file swapped for a link. Raises :class:`NotReadable`.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise NotReadable(f"cannot be opened: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotReadable(f"{_file_type(mode)}, not a regular file; not read")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _walk(folder: Path) -> Iterator[tuple[Path, str | None]]:
    """Every entry under ``folder`` that is not a real folder, with a problem for a folder
    that cannot be listed; folder links are not entered (they are checked like any link)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield folder, f"folder cannot be listed: {exc.strerror or exc}"
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(path)
        else:
            yield path, None


def discover(
    paths: Iterable[Path], mapping: Path | None = None, mapped_source: bool = False
) -> list[InputFile]:
    """Expand files and folders to the alert files to read, in a stable order.

    In a folder only ``.json``, ``.jsonl``, ``.ndjson`` and ``.csv`` entries count; mapping
    files and anything else are ignored. An alert file that must not be read (a link out of
    the given paths, a FIFO or device, a CSV without a mapping) is returned with its
    ``problem``, so the rest of the folder is still read. A file named on the command line
    that cannot be an alert file, or a CSV named there without a mapping, is an
    :class:`InputError`: that is the operator's own request.
    """
    given = list(paths)
    for path in given:
        if not os.path.lexists(path):
            raise InputError(f"no such file or folder: {path}")
    roots = tuple(p.resolve() for p in given)
    found: list[InputFile] = []
    seen: set[Path] = set()
    for path in given:
        if path.is_dir():
            entries = sorted(_walk(path))
            # A mapping beside a file must come from the given paths too.
            mapping_roots = roots
        else:
            entries = [(path, None)]
            mapping_roots = (*roots, path.resolve().parent, path.absolute().parent)
        for candidate, unlisted in entries:
            if unlisted is not None:
                found.append(InputFile(candidate, "json", problem=unlisted))
                continue
            kind = ALERT_SUFFIXES.get(candidate.suffix.lower())
            if kind is None or candidate.name.endswith(MAPPING_SUFFIX):
                if candidate is path:
                    raise InputError(
                        f"{candidate}: not an alert file (.json, .jsonl, .ndjson, .csv)"
                    )
                continue
            entry = _input_file(candidate, kind, roots, mapping_roots, mapping, mapped_source)
            if entry.problem is None:
                real = candidate.resolve()
                if real in seen:
                    continue  # the same file named twice is read once
                seen.add(real)
            elif candidate is path and entry.problem.startswith(_NEEDS_MAPPING):
                raise InputError(f"{candidate}: {entry.problem}")
            found.append(entry)
    return found


_NEEDS_MAPPING = "a CSV file needs a field mapping"


def _input_file(
    path: Path,
    kind: str,
    roots: tuple[Path, ...],
    mapping_roots: tuple[Path, ...],
    mapping: Path | None,
    mapped_source: bool,
) -> InputFile:
    typed: Kind = "json" if kind == "json" else "jsonl" if kind == "jsonl" else "csv"
    problem = check_file(path, roots)
    if problem is not None:
        return InputFile(path, typed, problem=problem)
    real = path.resolve()
    sibling = path.with_name(path.name[: -len(path.suffix)] + MAPPING_SUFFIX)
    if os.path.lexists(sibling):
        why = check_file(sibling, mapping_roots)
        if why is not None:
            return InputFile(path, typed, sibling, problem=f"its mapping {sibling.name} is {why}")
        return InputFile(path, typed, sibling, real=real)
    if mapping is not None and (typed == "csv" or mapped_source):
        return InputFile(path, typed, mapping, mapping_given=True, real=real)
    if typed == "csv":
        return InputFile(
            path,
            typed,
            problem=f"{_NEEDS_MAPPING}: put {sibling.name} beside it or pass --mapping FILE",
        )
    return InputFile(path, typed, real=real)
