"""``tierzero doctor``: which mode is active and whether everything it needs works."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from tierzero.cli.support import ConfigOption, DbOption, JsonOption, load_settings, out, safe
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.usecases.doctor import run_checks


def doctor_command(
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="Ask the endpoint for its models.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Which mode is active (offline analyst, or a model endpoint from OPENAI_BASE_URL /
    OPENAI_API_KEY / TIERZERO_MODEL), whether the endpoint answers, how tokens are counted,
    and the state of the similar-case memory. Exits 1 when a required check fails."""
    checks = run_checks(load_settings(config), db, probe)
    if as_json:
        print(json.dumps([c.as_json() for c in checks], indent=2))
    else:
        for c in checks:
            mark = (
                "[green]ok[/]  " if c.ok else ("[red]FAIL[/]" if c.required else "[yellow]warn[/]")
            )
            out.print(f"{mark} {safe(c.name)}: {safe(c.detail)}")
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(1)
