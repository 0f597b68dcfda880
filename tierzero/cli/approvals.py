"""``tierzero approvals``: what waits for a person, and their answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.table import Table

from tierzero.cli.support import (
    ConfigOption,
    DbOption,
    JsonOption,
    ReasonOption,
    actor_option,
    err,
    load_settings,
    open_store,
    out,
    refusals,
    safe,
    safe_cells,
)
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.usecases.approvals import answer_pending, pending_approvals

approvals_app = typer.Typer(
    help="Actions waiting for a person: list, approve, deny.", no_args_is_help=True
)


@approvals_app.command("list")
def approvals_list(
    db: DbOption = DEFAULT_DB, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Pending approvals with their due time. Reminds at half the window and expires what is
    due first (an expired request is never executed; its case is escalated)."""
    settings = load_settings(config)
    with open_store(db, must_exist=True) as store:
        notes, rows = pending_approvals(store, settings, datetime.now(UTC))
        if as_json:
            print(json.dumps([r.as_json() for r in rows], indent=2))
            return
        for note in notes:
            err.print(safe(note))
        table = Table(title=f"{len(rows)} approvals pending", box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("ID", "Case", "Action", "Due (UTC)"):
            table.add_column(column, no_wrap=True)
        for column in ("Target", "Why approval"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(  # in the order of the columns above
                *safe_cells(
                    r.id,
                    r.case_id,
                    r.action,
                    (r.approval_due or "")[:16],
                    r.target,
                    f"{r.rule_id}: {r.reason}",
                )
            )
        out.print(table)


def _answer(
    action_id: int, approved: bool, actor: str, reason: str, db: Path, config: Path | None
) -> None:
    settings = load_settings(config)
    with open_store(db, must_exist=True) as store, refusals():
        done = answer_pending(
            store,
            settings,
            action_id,
            approved=approved,
            approver=actor,
            reason=reason,
            now=datetime.now(UTC),
        )
    out.print(f"action {done.id} ({safe(done.action)} {safe(done.target)}): {safe(done.status)}")


@approvals_app.command("approve")
def approvals_approve(
    action_id: Annotated[int, typer.Argument(help="Action id (see 'approvals list').")],
    actor: Annotated[str, actor_option("Who approves (not the requester).")],
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Approve one pending action (bound to its exact hash); it executes at once."""
    _answer(action_id, True, actor, reason, db, config)


@approvals_app.command("deny")
def approvals_deny(
    action_id: Annotated[int, typer.Argument(help="Action id (see 'approvals list').")],
    actor: Annotated[str, actor_option("Who denies.")],
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Deny one pending action; it will never run."""
    _answer(action_id, False, actor, reason, db, config)
