"""Untrusted text on the terminal: every control, text-direction and invisible character is
shown as an escape, nothing is dropped, and the text stays on one line."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from tierzero.cli.support import safe, visible


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x07\x7f\x9b", "\\x07\\x7f\\x9b"),
        ("evil\u202egnp.exe", "evil\\u202egnp.exe"),
        ("a\u2066b\u2069", "a\\u2066b\\u2069"),
        ("a\u200bna", "a\\u200bna"),
        ("x\u2028y", "x\\u2028y"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("José ＡＮＡ C:\\Windows", "José ＡＮＡ C:\\Windows"),  # visible text kept as is
    ],
)
def test_hidden_characters_are_shown_as_escapes(text: str, shown: str) -> None:
    assert visible(text) == shown


def render(markup: str) -> str:
    console = Console(width=400, force_terminal=False, color_system=None, emoji=False)
    with console.capture() as captured:
        console.print(markup, soft_wrap=True)
    return captured.get()


@settings(max_examples=400, deadline=None)
@given(text=st.text(st.characters(codec="utf-8"), max_size=40))
def test_any_text_prints_as_one_inert_line(text: str) -> None:
    printed = render(safe(text))
    assert printed.endswith("\n") and "\n" not in printed[:-1]
    assert not any(0x00 <= ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in printed[:-1])
    assert not set(printed) & set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2069")


def test_markup_in_untrusted_text_is_shown_not_applied() -> None:
    assert render(safe("[red]x[/red] [link=http://evil.example]y[/link]")).rstrip("\n") == (
        "[red]x[/red] [link=http://evil.example]y[/link]"
    )


MARKUP_TEXT = st.text(alphabet="ab[]\\/#@ x=", max_size=40)


@settings(max_examples=400)
@given(MARKUP_TEXT)
def test_escaped_markup_renders_as_the_text_itself(text: str) -> None:
    """Whatever brackets and backslashes alert text holds, rich renders the escape as exactly
    that text followed by a tag of ours, and alone too unless it ends in backslashes (those
    are doubled, so that none can escape the tag that follows)."""
    from rich.text import Text

    from tierzero.cli.support import escape_markup

    assert Text.from_markup(escape_markup(text) + "[bold]!![/bold]").plain == text + "!!"
    trailing = len(text) - len(text.rstrip("\\"))
    assert Text.from_markup(escape_markup(text)).plain == text + "\\" * trailing


@pytest.mark.parametrize(
    "hostile", ["\\" * 1_000_000 + "x", "[" * 1_000_000, "[a" * 500_000, "\\[a]" * 250_000]
)
def test_a_megabyte_of_any_shape_is_escaped_as_its_start_is(hostile: str) -> None:
    """rich.markup.escape took seconds on 20,000 backslashes (quadratic); ours is one forward
    pass (how fast: benchmarks/bench_chat_render.py). Here: a megabyte is escaped as its
    start is, and at most doubles."""
    from rich.text import Text

    from tierzero.cli.support import escape_markup

    escaped = escape_markup(hostile)
    # Rich's own parser is slow on a megabyte of tags: the round trip is checked on a slice.
    assert escaped.startswith(escape_markup(hostile[:4000])[:3000])
    assert Text.from_markup(escape_markup(hostile[:4000]) + "[b]!![/b]").plain == (
        hostile[:4000] + "!!"
    )
    assert len(escaped) <= 2 * len(hostile)
