"""``tierzero actions``, ``leases`` and ``autonomy``: what was decided and executed, undoing
it, and the global kill switch."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from tierzero.cli.support import (
    ConfigOption,
    DbOption,
    JsonOption,
    NewDbOption,
    ReasonOption,
    actor_option,
    fail,
    load_settings,
    open_store,
    out,
    refusals,
    safe,
    safe_cells,
)
from tierzero.store.actions import ActionRow
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.usecases.actions import end_expired_leases, rollback_action, set_autonomy

actions_app = typer.Typer(
    help="Proposed actions: what was decided, executed, rolled back.", no_args_is_help=True
)
leases_app = typer.Typer(help="Executed actions are leases with a TTL.", no_args_is_help=True)


@actions_app.command("list")
def actions_list(
    case: Annotated[str | None, typer.Option("--case", help="Only this case's actions.")] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Every proposed action with its status (executed, pending_approval, denied, expired,
    rolled_back, failed), the rule that decided it, and who approved it."""
    with open_store(db, must_exist=True) as store:
        rows = store.actions.rows(case)
        if as_json:
            print(json.dumps([r.as_json() for r in rows], indent=2))
            return
        out.print(_actions_table(rows))
        out.print("The lab connector is a simulation: nothing outside tierzero was changed.")


def _actions_table(rows: list[ActionRow]) -> Table:
    """One row per action. Each column is declared with the value it shows, so a header and
    its values cannot drift apart; every value is escaped (targets and names are untrusted)."""
    columns: list[tuple[str, Callable[[ActionRow], object], bool]] = [  # header, value, wraps
        ("ID", lambda r: r.id, False),
        ("Case", lambda r: r.case_id, False),
        ("Action", lambda r: r.action, False),
        ("Status", lambda r: r.status, False),
        ("Target", lambda r: r.target, True),
        ("Rule", lambda r: r.rule_id, True),
        ("Lease ends (UTC)", lambda r: (r.expires_at or "")[:16].replace("T", " "), False),
    ]
    if any(r.approved_by for r in rows):
        columns.append(("Approved by", lambda r: r.approved_by or "", True))
    table = Table(title=f"{len(rows)} actions", box=box.SIMPLE_HEAD, pad_edge=False)
    for header, _, wraps in columns:
        table.add_column(header, no_wrap=not wraps, overflow="fold")
    for row in rows:
        table.add_row(*safe_cells(*(value(row) for _, value, _ in columns)))
    return table


@actions_app.command("rollback")
def actions_rollback(
    action_id: Annotated[int, typer.Argument(help="Action id (see 'actions list').")],
    actor: Annotated[str, actor_option("Who rolls it back (audited).")],
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Undo an executed action now, through its inverse; records who and why."""
    settings = load_settings(config)
    with open_store(db, must_exist=True) as store, refusals():
        done = rollback_action(store, settings, action_id, actor, reason, datetime.now(UTC))
    out.print(f"action {done.id} ({safe(done.action)} {safe(done.target)}) is {safe(done.status)}")


@leases_app.command("sweep")
def leases_sweep(db: DbOption = DEFAULT_DB, config: ConfigOption = None) -> None:
    """Undo every executed action whose lease (TTL) has ended."""
    settings = load_settings(config)
    with open_store(db, must_exist=True) as store:
        undone = end_expired_leases(store, settings, datetime.now(UTC))
    for row in undone:
        out.print(
            f"expired: action {row.id} {safe(row.action)} {safe(row.target)} "
            f"(case {safe(row.case_id)})"
        )
    out.print(f"{len(undone)} leases ended and were rolled back.")


def autonomy_command(
    state: Annotated[str, typer.Argument(help="'on' or 'off'.", metavar="on|off")],
    actor: Annotated[str, actor_option("Who flips the switch (audited).")],
    reason: ReasonOption = "",
    db: NewDbOption = DEFAULT_DB,
) -> None:
    """The global kill switch: 'off' sends every action to approval, whatever the policy says."""
    if state not in ("on", "off"):  # refused before a store is created for it
        raise fail("say 'on' or 'off'", 2)
    with open_store(db) as store, refusals():
        on = set_autonomy(store, state, actor, reason, datetime.now(UTC))
    out.print(
        f"autonomy is {state}"
        + ("" if on else ": every proposed action now needs a person's approval")
    )
