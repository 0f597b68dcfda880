"""``tierzero chat``: talk with the investigation agent about one case."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tierzero.cli.support import (
    ConfigOption,
    DbOption,
    actor_option,
    fail,
    load_settings,
    open_store,
    out,
    refusals,
    safe,
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
    settings = load_settings(config)
    with open_store(db, must_exist=True) as store:
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
                    out.print(f"[bold]you>[/] {safe(question)}")
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
                        for part in message.content.splitlines()[:8]:
                            out.print(f"  [dim]{safe(part)}[/]")
                elif text:
                    reply = session.ask(text)
                    _print_reply(reply.text, reply.answered_by)


def _print_reply(text: str, answered_by: str) -> None:
    """A chat answer line by line (it quotes alert text: each line is made safe)."""
    prefix = f"[cyan]{safe(answered_by)}>[/] " if answered_by else ""
    for index, line in enumerate(text.splitlines() or [""]):
        out.print((prefix if index == 0 else "  ") + safe(line))
