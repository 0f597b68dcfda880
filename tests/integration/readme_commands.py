"""Read the command lines README.md shows, and expand their placeholders and optional parts.

Used by ``test_readme_commands.py``. The README writes a command line as a template:

- ``UPPER`` words are placeholders (``ID``, ``NAME``, ``PATH...`` for one or more paths,
  ``NEW.yaml``, ``METRIC=VALUE``), and ``...`` alone is free text (``[--reason ...]``);
- ``[ ... ]`` is an optional part, ``[ ... ]...`` a repeatable one, and ``[--a X | --b Y]`` a
  choice between optional parts;
- ``a|b`` is a choice between words (``on|off``).

Lower-case words and options are literal. Nothing here runs a command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

# --- where the README shows commands ---------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """One command line (or a quoted output block) as the README shows it."""

    text: str
    line: int  # 1-based line in README.md
    where: str  # "fence", "table", "prose" or "output"
    block: int = -1  # index of the fenced block, for "fence" and "output"
    position: int = -1  # line index inside that block


@dataclass(frozen=True)
class OutputBlock:
    """A fenced block without a language: output the README quotes."""

    line: int
    lines: tuple[str, ...]


@dataclass
class Readme:
    commands: list[Shown] = field(default_factory=list)
    outputs: list[OutputBlock] = field(default_factory=list)
    fences: list[tuple[str, int, list[str]]] = field(default_factory=list)  # lang, line, body


_SPAN = re.compile(r"`([^`]+)`")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def _spans(text: str) -> list[str]:
    # A code span may wrap onto the next line: its line break reads as one space.
    return [" ".join(span.split()) for span in _SPAN.findall(text)]


def parse_readme(text: str) -> Readme:
    readme = Readme()
    lines = text.splitlines()
    section = ""
    paragraph: list[tuple[int, str]] = []

    def flush() -> None:
        if paragraph:
            first = paragraph[0][0]
            joined = "\n".join(line for _, line in paragraph)
            for span in _spans(joined):
                if span.startswith("tierzero "):
                    readme.commands.append(Shown(span, first, "prose"))
            paragraph.clear()

    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("```"):
            flush()
            lang = line[3:].strip()
            start = index + 1
            index += 1
            body: list[str] = []
            while index < len(lines) and not lines[index].startswith("```"):
                body.append(lines[index])
                index += 1
            block = len(readme.fences)
            readme.fences.append((lang, start + 1, body))
            if lang in ("bash", "sh", "shell", "console"):
                # Every line of a shell block is a command line (the test decides which it
                # runs); a trailing "# comment" is not part of it.
                for position, raw in enumerate(body):
                    command = re.sub(r"(^|\s+)#.*$", "", raw).strip()
                    if command:
                        readme.commands.append(
                            Shown(command, start + 1 + position, "fence", block, position)
                        )
            elif not lang:
                readme.outputs.append(OutputBlock(start + 1, tuple(body)))
            # A block in another language (xml, json, yaml) is a configuration snippet.
            index += 1
            continue
        if line.startswith("#"):
            flush()
            section = line.lstrip("#").strip()
        elif line.startswith("|"):
            flush()
            cells = _CELL_SPLIT.split(line.strip().strip("|"))
            for number, cell in enumerate(cells):
                for span in _spans(cell):
                    # In the Commands table every span of the first column is a command, also
                    # the continuations written without their "tierzero " (`audit export ...`).
                    if number == 0 and section == "Commands" and not span.startswith("-"):
                        command = span if span.startswith("tierzero ") else f"tierzero {span}"
                        readme.commands.append(Shown(command, index + 1, "table"))
                    elif span.startswith("tierzero "):
                        readme.commands.append(Shown(span, index + 1, "table"))
        elif not line.strip():
            flush()
        else:
            paragraph.append((index + 1, line))
        index += 1
    flush()
    return readme


# --- the template grammar --------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    choices: tuple[str, ...]  # one, or the alternatives of "a|b"


@dataclass(frozen=True)
class Opt:
    alternatives: tuple[tuple[Word | Opt, ...], ...]  # "[x | y]": two alternatives
    repeatable: bool


Node = Word | Opt


class TemplateError(ValueError):
    pass


_TOKEN = re.compile(r"\[|\]|[^\s\[\]]+")
PLACEHOLDER = re.compile(r"^(?:\.\.\.|[A-Z][A-Z0-9_]*(?:\.\.\.|\.[a-z]+|=[A-Z][A-Z0-9_]*)?)$")


def parse_template(text: str) -> tuple[Node, ...]:
    tokens = _TOKEN.findall(text.replace("\\|", "|"))
    nodes, rest = _parse_seq(tokens, 0, text)
    if rest != len(tokens):
        raise TemplateError(f"unbalanced ']' in {text!r}")
    return nodes


def _parse_seq(tokens: list[str], at: int, text: str) -> tuple[tuple[Node, ...], int]:
    seq: list[Node] = []
    while at < len(tokens) and tokens[at] not in ("]", "|"):
        token = tokens[at]
        if token == "[":
            alternatives = []
            at += 1
            while True:
                inner, at = _parse_seq(tokens, at, text)
                if not inner:
                    raise TemplateError(f"empty optional part in {text!r}")
                alternatives.append(inner)
                if at >= len(tokens):
                    raise TemplateError(f"unclosed '[' in {text!r}")
                if tokens[at] == "]":
                    break
                at += 1  # "|"
            at += 1
            repeatable = at < len(tokens) and tokens[at] == "..."
            at += repeatable
            seq.append(Opt(tuple(alternatives), repeatable))
        else:
            seq.append(Word(tuple(token.split("|")) if token != "|" else (token,)))
            at += 1
    return tuple(seq), at


def command_words(text: str) -> tuple[str, ...]:
    """The literal sub-command words a template starts with: `tierzero eval run DATASET` ->
    (tierzero, eval, run)."""
    words = []
    for token in text.split():
        if not re.fullmatch(r"[a-z][a-z-]*", token):
            break
        words.append(token)
    return tuple(words)


@dataclass(frozen=True)
class Variant:
    """One way to fill a template: optional parts all out ("bare") or all in ("full"), and one
    alternative per choice point."""

    name: str
    tokens: tuple[tuple[str, str], ...]  # (token, option it follows or "")


def _choice_points(nodes: tuple[Node, ...]) -> Iterator[Node]:
    for node in nodes:
        if isinstance(node, Word):
            if len(node.choices) > 1:
                yield node
        else:
            if len(node.alternatives) > 1:
                yield node
            for alternative in node.alternatives:
                yield from _choice_points(alternative)


def _render(nodes: tuple[Node, ...], full: bool, pick: dict[int, int], out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, Word):
            out.append(node.choices[pick.get(id(node), 0)])
        elif full:
            _render(node.alternatives[pick.get(id(node), 0)], full, pick, out)


def _label(node: Node) -> str:
    if isinstance(node, Word):
        return "|".join(node.choices)
    return " | ".join(" ".join(_flat(a)) for a in node.alternatives)


def _flat(nodes: tuple[Node, ...]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Word):
            out.append("|".join(node.choices))
        else:
            out.append("[" + _label(node) + "]" + ("..." if node.repeatable else ""))
    return out


def variants(text: str, every_alternative: frozenset[str]) -> list[Variant]:
    """Bare and full variants with the first alternative of each choice, plus one full variant
    per further alternative of the choices named in ``every_alternative``."""
    nodes = parse_template(text)
    plans: list[tuple[str, bool, dict[int, int]]] = [("bare", False, {}), ("full", True, {})]
    for point in _choice_points(nodes):
        label = _label(point)
        if label in every_alternative:
            count = len(point.choices) if isinstance(point, Word) else len(point.alternatives)
            for index in range(1, count):
                plans.append((f"full, {label} -> #{index + 1}", True, {id(point): index}))
    result: list[Variant] = []
    seen: set[tuple[str, ...]] = set()
    for name, full, pick in plans:
        out: list[str] = []
        _render(nodes, full, pick, out)
        if tuple(out) in seen:
            continue
        seen.add(tuple(out))
        tokens = []
        previous = ""
        for token in out:
            tokens.append((token, previous if PLACEHOLDER.match(token) else ""))
            previous = token if token.startswith("-") else ""
        result.append(Variant(name, tuple(tokens)))
    return result


# --- comparing quoted output -----------------------------------------------------------------

_WILDCARD = re.compile(r"\.\.\.|…")
_RULE = re.compile(r"^[\s─━═┃│|+-]*$")


def quoted_line_pattern(line: str) -> re.Pattern[str]:
    """A quoted output line as a pattern: `...`/`…` match anything, any run of spaces matches
    any whitespace (the terminal wraps lines and pads table cells differently)."""
    fragments = _WILDCARD.split(line.strip())
    parts = [r"\s+".join(re.escape(word) for word in f.split()) for f in fragments]
    return re.compile(r"[\s\S]*?".join(p for p in parts if p))


def missing_lines(quoted: list[str], output: str) -> list[str]:
    """The quoted lines that do not appear in ``output`` (in order); rule lines are skipped."""
    missing = []
    at = 0
    for line in quoted:
        if _RULE.match(line):
            continue
        found = quoted_line_pattern(line).search(output, at)
        if found is None:
            missing.append(line.strip())
        else:
            at = found.end()
    return missing
