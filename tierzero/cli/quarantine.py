"""``tierzero quarantine``: the records that could not be normalized, and why."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from tierzero.cli.support import DbOption, JsonOption, open_store, out, safe
from tierzero.store.sqlite import DEFAULT_DB

quarantine_app = typer.Typer(
    help="Inspect records that could not be normalized.", no_args_is_help=True
)


@quarantine_app.command("list")
def quarantine_list(
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Show at most this many.", min=1)] = 200,
) -> None:
    """Records that could not be normalized, with file, position and reason."""
    with open_store(db, must_exist=True) as store:
        records = store.quarantined(limit)
        if as_json:
            print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
            return
        table = Table(title=f"{store.counts()['quarantined']} quarantined records")
        for column in ("File", "Record", "Source", "Reason"):
            table.add_column(column, overflow="fold")
        for r in records:
            table.add_row(safe(r.source_file), str(r.record_no), safe(r.source), safe(r.reason))
        out.print(table)
