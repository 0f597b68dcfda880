"""``tierzero chat``: talk with the investigation agent about one case."""

from __future__ import annotations

import json
import re
from itertools import islice
from typing import Annotated

import typer
from rich.text import Text

from tierzero.cli.support import (
    ConfigOption,
    DbOption,
    ModelDeadlineOption,
    ModelTimeoutOption,
    actor_option,
    fail,
    load_settings,
    model_progress,
    open_store,
    out,
    refusals,
    safe,
    visible,
)
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.usecases.cases import live_case
from tierzero.usecases.chat import open_chat


def chat_command(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-4.")],
    analyst: Annotated[
        str | None,
        actor_option(
            "Your name. Needed to request actions: they are proposed as analyst:NAME "
            "through the guardrails and audited. Without it the chat answers questions only."
        ),
    ] = None,
    messages: Annotated[
        list[str] | None,
        typer.Option(
            "--message",
            "-m",
            help="Ask this, print the answer and exit (repeatable; no interactive prompt).",
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Use the offline analyst even when a model endpoint is configured."
        ),
    ] = False,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    model_timeout: ModelTimeoutOption = None,
    model_deadline: ModelDeadlineOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --message: print the replies as JSON.")
    ] = False,
) -> None:
    """Talk with the investigation agent about one case; answers cite evidence ids (E1 ...).

    With a model endpoint configured the model answers (through the audited model gate) and
    the offline analyst takes over if it fails; otherwise, or with --offline, the offline
    analyst answers from the case's evidence. Ask 'summary', 'why this verdict?', 'timeline',
    'hosts', 'E7', 'actions', 'similar cases' or '/help'. Action requests ('isolate HOST',
    'disable user NAME', 'block ip ADDRESS' ...) go through the guardrails like any other
    (allowed, needs approval, or denied, with the rule) and need --as NAME. The conversation
    is kept with the case ('/history') and every message is audited. Interactive commands:
    /help, /history, /quit (or end of input).
    """
    if as_json and not messages:
        raise fail("--json needs --message (the interactive chat prints text)", 2)
    settings = load_settings(config, model_timeout, model_deadline)
    with open_store(db, must_exist=True) as store, model_progress():
        with refusals():
            row = live_case(store, case_id)
        with open_chat(
            store, settings, case_id, analyst=analyst, model="off" if offline else "env"
        ) as session:
            if messages:
                replies = [(m, session.ask(m)) for m in messages if m.strip()]
                if as_json:
                    document = {
                        "case_id": case_id,
                        "mode": session.mode,
                        "replies": [{"question": q, **r.as_json()} for q, r in replies],
                    }
                    print(json.dumps(document, indent=2))
                    return
                for question, reply in replies:
                    out.print(Text.assemble(("you>", "bold"), " ", _printable(question)))
                    _print_reply(reply.text, reply.answered_by)
                return
            out.print(
                f"Chat on [bold]{safe(case_id)}[/] ({safe(row.verdict)} {row.confidence or 0:.2f}, "
                f"{safe(row.priority)}, {safe(row.status)}): {safe(row.title or '')}"
            )
            who = (
                f"as analyst:{safe(session.analyst)}"
                if session.analyst
                else "no --as NAME: questions only, no actions"
            )
            out.print(f"Answering: {safe(session.mode)}; {who}. /help, /history, /quit.")
            while True:
                try:
                    line = input("you> ")
                except EOFError:
                    out.print()
                    break
                text = line.strip()
                if text in ("/quit", "/exit", "/q"):
                    break
                if text == "/help":
                    _print_reply(session.help(), "")
                elif text == "/history":
                    for message in session.history(40):
                        out.print(
                            f"[dim]{message.created_at:%Y-%m-%d %H:%M}Z {safe(message.author)}:[/]"
                        )
                        for part in message.content[:MAX_SHOWN_CHARS].splitlines()[:8]:
                            out.print(Text("  " + _printable(_cut(part)), style="dim"))
                elif text:
                    reply = session.ask(text)
                    _print_reply(reply.text, reply.answered_by)


# How much of one answer the terminal shows: a chat answer is a few KB (the model is asked for
# 1,000 tokens); past these only a broken or hostile endpoint writes, and Rich spends about
# 0.1 ms per printed line. --json and the chat log keep the whole answer.
MAX_SHOWN_CHARS = 200_000
MAX_SHOWN_LINES = 2_000
MAX_HISTORY_LINE = 500
# What stands out in an answer: the evidence ids it cites and IPv4 addresses. Each alternative
# matches a bounded width with no nested repetition, so finding them is linear in the text;
# Rich's own highlighter backtracks quadratically on long runs (a 100 KB line took a minute),
# and rich.markup.escape does on runs of backslashes, so answers are printed as Text (never
# parsed as markup) and highlighted here only, with at most MAX_HIGHLIGHTS styled spans
# (each costs Rich far more than a plain character).
HIGHLIGHTS = re.compile(
    r"(?<![\w.])(?:(?P<evidence>E\d{1,6})|(?P<address>(?:\d{1,3}\.){3}\d{1,3}))(?!\w|\.\d)"
)
HIGHLIGHT_STYLES = {"evidence": "bold cyan", "address": "magenta"}
MAX_HIGHLIGHTS = 1_000


def highlighted(line: str, limit: int = MAX_HIGHLIGHTS) -> Text:
    """One line of an answer, terminal-safe, with its first ``limit`` evidence ids and
    addresses styled."""
    text = Text(_printable(line))
    for match in islice(HIGHLIGHTS.finditer(text.plain), max(limit, 0)):
        text.stylize(HIGHLIGHT_STYLES[match.lastgroup or ""], match.start(), match.end())
    return text


def _cut(line: str, limit: int = MAX_HISTORY_LINE) -> str:
    return line if len(line) <= limit else line[:limit] + " ..."


def _printable(value: str) -> str:
    """Control, text-direction and invisible characters shown as escapes, as in ``safe``; no
    markup escaping, since Text is never parsed as markup."""
    return visible(value)


def _print_reply(text: str, answered_by: str) -> None:
    """A chat answer line by line (it quotes alert text: each line is made terminal-safe), cut
    to what a terminal can show."""
    lines = text[:MAX_SHOWN_CHARS].splitlines(keepends=True)[:MAX_SHOWN_LINES] or [""]
    prefix = Text.assemble((f"{_printable(answered_by)}>", "cyan"), " ") if answered_by else None
    left = MAX_HIGHLIGHTS
    for index, line in enumerate(lines):
        body = highlighted(line.rstrip("\r\n"), left)
        left -= len(body.spans)
        head = prefix if index == 0 and prefix is not None else Text("  ")
        out.print(head + body)
    hidden = len(text) - sum(len(line) for line in lines)
    if hidden > 0:
        out.print(
            Text(f"  ... {hidden:,} more characters not shown (--json prints them)", style="dim")
        )
