"""How ``tierzero chat`` prints an answer: terminal-safe, highlighted in linear time, and cut
to what a terminal can show, whatever the endpoint sends (issue 11: a 1 MB reply hung chat)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from rich.console import Console
from rich.text import Text

from tierzero.cli import chat

MB = 1 << 20
# Shapes that made Rich's own highlighter (or its markup escaping) backtrack quadratically,
# and the ones that are most expensive for ours (a span every few characters, many lines).
HOSTILE = {
    "one word": "a" * MB,
    "backslashes": "\\" * MB,
    "evidence ids": "E1 " * (MB // 3),
    "addresses": "10.0.0.1 " * (MB // 9),
    "almost addresses": "1." * (MB // 2),
    "brackets": "[a" * (MB // 2),
    "quotes": '"' * MB,
    "tags": "<" * MB,
    "calls": "f(" * (MB // 2),
    "newlines": "\n" * MB,
    "short lines": "x\n" * (MB // 2),
}


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What chat prints, as text (no colour codes)."""
    file = io.StringIO()
    monkeypatch.setattr(chat, "out", Console(file=file, width=100, color_system=None))
    yield file


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What chat prints to a colour terminal (styles rendered: the costly part)."""
    file = io.StringIO()
    monkeypatch.setattr(chat, "out", Console(file=file, width=100, color_system="truecolor"))
    yield file


def test_highlighting_has_bounded_work_per_position() -> None:
    """Every alternative matches at most a few characters and nothing repeats inside a
    repetition: a match attempt costs the same at any position, so a scan is linear."""
    low, high = re._parser.parse(chat.HIGHLIGHTS.pattern).getwidth()  # type: ignore[attr-defined]
    assert 2 <= low and high <= 15


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_megabyte_answer_is_cut_before_it_is_highlighted(
    terminal: io.StringIO, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Work is bounded by construction: the highlighter (linear, see above) is handed at most
    what a terminal shows, whatever arrives. How fast it is: benchmarks/bench_chat_render.py."""
    text = HOSTILE[name]
    seen: list[str] = []
    original = chat.highlighted

    def spy(line: str, limit: int = chat.MAX_HIGHLIGHTS) -> Text:
        seen.append(line)
        return original(line, limit)

    monkeypatch.setattr(chat, "highlighted", spy)
    chat._print_reply(text, "gpt-4o-mini")
    assert len(seen) <= chat.MAX_SHOWN_LINES
    assert sum(len(line) for line in seen) <= chat.MAX_SHOWN_CHARS
    printed = terminal.getvalue()
    assert "gpt-4o-mini>" in printed[:200]
    assert len(printed) < 2 * (chat.MAX_SHOWN_CHARS + 8 * chat.MAX_SHOWN_LINES)


def test_what_is_cut_is_said_and_small_answers_are_whole(screen: io.StringIO) -> None:
    chat._print_reply("The laptop ran malware [E1]; it beaconed to 203.0.113.45.\nIsolate.", "m")
    small = screen.getvalue()
    assert "[E1]" in small and "203.0.113.45." in small and "Isolate." in small
    assert "not shown" not in small
    chat._print_reply("y" * (chat.MAX_SHOWN_CHARS + 5), "m")
    assert "5 more characters not shown (--json prints them)" in screen.getvalue()


def test_evidence_ids_and_addresses_are_styled_and_nothing_else() -> None:
    line = chat.highlighted("see E7, E12 and 10.1.2.3; not XE7, E7x, 1.2.3.4.5 or v10.1.2.3")
    styled = sorted(line.plain[s.start : s.end] for s in line.spans)
    assert styled == ["10.1.2.3", "E12", "E7"]
    assert len(chat.highlighted("E1 " * 5_000).spans) == chat.MAX_HIGHLIGHTS


def test_answers_stay_inert(screen: io.StringIO) -> None:
    chat._print_reply("[red]x[/red] \x1b]0;owned\x07 [link=http://evil.example]y[/link]", "m")
    printed = screen.getvalue()
    assert "\x1b]0;" not in printed and "\x07" not in printed
    assert "[red]x[/red]" in printed and "[link=http://evil.example]" in printed
