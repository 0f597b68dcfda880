"""``tierzero suppressions``: what tierzero learned from people's verdicts, and their answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from tierzero.cli.support import (
    ConfigOption,
    DbOption,
    JsonOption,
    actor_option,
    fail,
    load_settings,
    open_store,
    out,
    refusals,
    safe,
    safe_cells,
)
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.usecases.learning import (
    approve_suppression,
    expire_suppression,
    propose_suppressions,
    reject_suppression,
    suppression_rows,
)

suppressions_app = typer.Typer(
    help="Suppressions learned from analysts' verdicts: each is proposed from cases people "
    "resolved as benign (several cases, more than one day, no contrary verdict), approved by a "
    "person, runs in shadow first, and never closes a case a guard objects to.",
    no_args_is_help=True,
)

RuleArgument = Annotated[str, typer.Argument(help="Rule id, e.g. S-3.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (audited).")]


@suppressions_app.command("list")
def suppressions_list(
    everything: Annotated[
        bool, typer.Option("--all", help="Also rejected, expired and disabled rules.")
    ] = False,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Proposed and approved rules: phase (proposed, shadow, in force), evidence, closures.
    New proposals are made first from the verdicts recorded so far."""
    settings = load_settings(config)
    now = datetime.now(UTC)
    with open_store(db, must_exist=True) as store:
        with store.writing("propose suppressions"):
            propose_suppressions(store, settings, now)
        rows = suppression_rows(store, now, everything)
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    table = Table(title=f"{len(rows)} suppressions")
    for column in (
        "Rule",
        "Detection",
        "Host",
        "Phase",
        "Cases",
        "People",
        "Days",
        "Closed",
        "Shadow",
    ):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            *safe_cells(
                r["id"],
                r["detection"],
                r["host"],
                r["phase"],
                r["cases"],
                len(r["people"] or ()),
                len(r["days"] or ()),
                r["closed_cases"],
                r["shadow_matches"],
            )
        )
    out.print(table)


@suppressions_app.command("show")
def suppressions_show(
    rule: RuleArgument, db: DbOption = DEFAULT_DB, as_json: JsonOption = False
) -> None:
    """One rule: what it covers, the verdicts it was learned from, its answers and counts."""
    number = _number(rule)
    with open_store(db, must_exist=True) as store:
        rows = [r for r in suppression_rows(store, datetime.now(UTC), True) if r["id"] == rule]
    if not rows:
        raise fail(f"no suppression {rule}")
    row = rows[0]
    if as_json:
        print(json.dumps(row, indent=2))
        return
    out.print(
        f"[bold]S-{number}[/]: {safe(row['detection'])} on {safe(row['host'])}, "
        f"severity up to {row['max_severity']} ({safe(row['phase'])})"
    )
    _print_fields(row)


def _print_fields(row: dict[str, Any]) -> None:
    out.print(
        f"learned from {row['verdicts']} benign verdicts on {row['cases']} cases by "
        f"{safe(', '.join(row['people']))} on {safe(', '.join(row['days']))}"
    )
    out.print(f"cases: {safe(', '.join(row['evidence_cases'] or ()))}")
    out.print(f"proposed {safe(row['proposed_at'])}; expires {safe(row['expires_at'])}")
    if row["answered_by"]:
        out.print(
            f"{safe(row['phase'])}: {safe(row['answered_by'])} at {safe(row['answered_at'])}"
            f" ({safe(row['reason'] or '')})"
        )
    if row["shadow_until"]:
        out.print(f"shadow until {safe(row['shadow_until'])}")
    out.print(
        f"closed {row['closed_cases']} cases; in shadow would have closed {row['shadow_matches']}"
    )


@suppressions_app.command("approve")
def suppressions_approve(
    rule: RuleArgument,
    actor: Annotated[str, actor_option("Who approves it (audited; not its only teacher).")],
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Approve a proposed rule: it runs in shadow, then closes what it covers until it expires."""
    settings = load_settings(config)
    with open_store(db, must_exist=True) as store, refusals(), store.writing("suppression"):
        done = approve_suppression(store, settings, _number(rule), actor, reason, datetime.now(UTC))
    out.print(
        f"S-{done.id} approved by {safe(actor)}: in shadow until {safe(done.shadow_until or '')}, "
        f"expires {safe(done.expires_at)}"
    )


@suppressions_app.command("reject")
def suppressions_reject(
    rule: RuleArgument,
    actor: Annotated[str, actor_option("Who rejects it (audited).")],
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
) -> None:
    """Reject a proposed rule (the pair is not proposed again within the lookback)."""
    with open_store(db, must_exist=True) as store, refusals(), store.writing("suppression"):
        done = reject_suppression(store, _number(rule), actor, reason, datetime.now(UTC))
    out.print(f"S-{done.id} rejected by {safe(actor)}")


@suppressions_app.command("expire")
def suppressions_expire(
    rule: RuleArgument,
    actor: Annotated[str, actor_option("Who ends it (audited).")],
    reason: ReasonOption = "",
    db: DbOption = DEFAULT_DB,
) -> None:
    """End a proposed or approved rule now."""
    with open_store(db, must_exist=True) as store, refusals(), store.writing("suppression"):
        done = expire_suppression(store, _number(rule), actor, reason, datetime.now(UTC))
    out.print(f"S-{done.id} expired by {safe(actor)}")


def _number(rule: str) -> int:
    text = rule.strip().upper().removeprefix("S-")
    if not text.isdigit():
        raise fail(f"a rule id looks like S-3, not {rule!r}")
    return int(text)
