"""What every ``tierzero`` command shares: the consoles, common options, terminal-safe text,
errors that exit, opening the store and loading the settings."""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tierzero.config import ConfigError
from tierzero.guardrails.actors import ActorRefused, is_hidden, require_actor
from tierzero.settings import Settings
from tierzero.settings.model import with_timing
from tierzero.store.sqlite import Store
from tierzero.usecases.errors import Refused

# No emoji codes: ":warning:" in alert text is shown as typed, not replaced.
# No automatic highlighting either: rich's default highlighter backtracks quadratically on long
# untrusted text (a megabyte of one word took minutes), and styles nothing an analyst needs.
out = Console(soft_wrap=False, emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)

DbOption = Annotated[Path, typer.Option("--db", help="The SQLite store to read.")]
NewDbOption = Annotated[Path, typer.Option("--db", help="The SQLite store (created if missing).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of tables.")]
ReasonOption = Annotated[str, typer.Option(help="Why (audited).")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Config folder (default: the bundled config, or $TIERZERO_CONFIG)."
    ),
]

ModelTimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--model-timeout",
        min=0.001,
        help="Seconds per network read of a model call (default: config, or "
        "$TIERZERO_MODEL_TIMEOUT). Raise it for CPU inference.",
    ),
]
ModelDeadlineOption = Annotated[
    float | None,
    typer.Option(
        "--model-deadline",
        min=0.001,
        help="Seconds of wall clock for one whole model call, retries included (default: "
        "config, or $TIERZERO_MODEL_DEADLINE).",
    ),
]


def visible(value: object) -> str:
    """Untrusted text with every character that could act on the terminal or hide from its
    reader written out as an escape: ESC as ``\\x1b``, newline as ``\\n``, a right-to-left
    override as ``\\u202e``, a zero-width space as ``\\u200b``. Nothing is dropped, so an
    auditor sees that it was there, and the text stays on one line, so it cannot forge one."""
    return "".join(_escaped(char) if is_hidden(char) else char for char in str(value))


def safe(value: object) -> str:
    """Untrusted text for a rich console: :func:`visible`, with rich markup escaped. Every
    value a command prints that is not a literal of its own goes through this."""
    return escape_markup(visible(value))


_TAG_START = frozenset("abcdefghijklmnopqrstuvwxyz#/@")


def escape_markup(text: str) -> str:
    """``text`` as rich markup that renders as exactly ``text``, in linear time.

    The same rules as ``rich.markup.escape`` (every ``[`` escaped; backslashes right before a
    tag-like ``[...]`` doubled, since rich halves those; trailing backslashes doubled, so that
    none escapes a tag that follows: alone, they show doubled),
    which is quadratic on long runs of backslashes: 20,000 of them in an alert field took
    seconds. Here every ``[`` is looked at once and the next ``]`` is found by a pointer that
    only moves forward.
    """
    out: list[str] = []
    start = 0  # text[start:] is not written yet
    close = -1  # the next "]" after the "[" looked at (len(text): there is none)
    i = text.find("[")
    while i != -1:
        nxt = text.find("[", i + 1)
        if close <= i + 1:
            found = text.find("]", i + 2)
            close = len(text) if found == -1 else found
        # A tag is "[" + a letter, #, / or @ + anything but "[" up to "]".
        tag = (
            i + 1 < len(text)
            and text[i + 1] in _TAG_START
            and close < len(text)
            and (nxt == -1 or close < nxt)
        )
        before = text[start:i]
        if tag:
            stripped = before.rstrip("\\")
            before = stripped + "\\" * (2 * (len(before) - len(stripped)))
        out.append(before)
        out.append("\\[")
        start = i + 1
        i = nxt
    rest = text[start:]
    stripped = rest.rstrip("\\")
    # Trailing backslashes doubled: whatever tag of ours follows, none of them escapes it.
    out.append(stripped + "\\" * (2 * (len(rest) - len(stripped))))
    return "".join(out)


def safe_cells(*values: object) -> list[str]:
    """One table row of untrusted values, each made :func:`safe`."""
    return [safe(value) for value in values]


def _escaped(char: str) -> str:
    named = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}.get(char)
    if named:
        return named
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def actor_option(help: str) -> Any:
    """The ``--as NAME`` option: the name is checked before the command runs (see
    :func:`tierzero.guardrails.actors.require_actor`), so a refused name records nothing."""
    return typer.Option("--as", help=help, callback=_checked_actor, show_default=False)


def _checked_actor(value: str | None) -> str | None:
    if value is None:  # an optional --as that was not given (chat without actions)
        return None
    try:
        return require_actor(value)
    except ActorRefused as exc:
        raise fail(f"--as: {exc}", 2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the error (terminal-safe) and return the exit to raise: 1 refused, 2 usage."""
    err.print(f"[bold red]error:[/] {safe(message)}")
    return typer.Exit(code)


@contextmanager
def refusals() -> Iterator[None]:
    """A use case's :class:`Refused` becomes an error message and exit code 2 (a malformed
    request) or 1 (a refused one)."""
    try:
        yield
    except Refused as exc:
        raise fail(str(exc), 2 if exc.usage else 1) from None


@contextmanager
def open_store(db: Path, must_exist: bool = False) -> Iterator[Store]:
    """The store at ``db`` (closed after); a missing one, when it must exist, is an error."""
    if must_exist and not db.exists():
        raise fail(f"no store at {db}: run 'tierzero triage PATH' first, or pass --db")
    try:
        store = Store(db)
    except (sqlite3.Error, OSError) as exc:
        raise fail(f"cannot open the store {db}: {exc}") from None
    try:
        yield store
    finally:
        store.close()


def load_settings(
    config: Path | None, model_timeout: float | None = None, model_deadline: float | None = None
) -> Settings:
    """The settings of ``--config`` (or the defaults), with the model timing of the flags;
    a wrong file or value is an error naming it."""
    try:
        settings = Settings.load(config)
        if model_timeout is None and model_deadline is None:
            return settings
        timed = with_timing(settings.model, timeout=model_timeout, deadline=model_deadline)
        return replace(settings, model=timed)
    except (ConfigError, ValueError) as exc:
        raise fail(str(exc)) from None


@contextmanager
def model_progress() -> Iterator[None]:
    """Print the model calls' progress lines (``tierzero.model``) on stderr meanwhile: with CPU
    inference a call can take minutes, and a run that says nothing looks hung."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s model: %(message)s", "%H:%M:%S"))
    logger = logging.getLogger("tierzero.model")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Any]:
    """A progress bar on stderr for long runs; silent when stderr is not a terminal."""
    if not enabled or not err.is_terminal:
        yield lambda stage, done, total: None
        return
    with Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update
