"""``tierzero audit``: the decision trace of a case, the export, and chain verification."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tierzero.cli.support import DbOption, fail, open_store, out, refusals, safe, safe_cells
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.usecases.audit import verify_export, verify_store

audit_app = typer.Typer(
    help="Inspect, export and verify the hash-chained audit log.", no_args_is_help=True
)


@audit_app.command("show")
def audit_show(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-1.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """The decision trace of one case as a readable timeline."""
    with open_store(db, must_exist=True) as store:
        records = list(store.audit_records(case_id))
        if not records:
            raise fail(f"no audit records for case {case_id!r}")
        table = Table(title=f"Audit trail of {safe(case_id)}: {len(records)} records", box=None)
        for column in ("time (UTC)", "seq", "kind"):
            table.add_column(column, no_wrap=True)
        # An actor is whatever a door was given: a long one wraps instead of crowding out "what".
        table.add_column("actor", overflow="fold", max_width=24)
        table.add_column("what", overflow="fold")
        for record in records:
            # Every cell escaped: the actor is any --as a door took, the summary quotes alert text.
            table.add_row(
                *safe_cells(
                    record["ts"][:19],
                    record["seq"],
                    record["kind"],
                    record["actor"],
                    _audit_summary(record),
                )
            )
        out.print(table)


def _audit_summary(record: dict[str, Any]) -> str:
    """One line per record: what happened, in words."""
    p = record["payload"]
    kind = record["kind"]
    if kind == "correlation":
        return f"{p['source']} {p['source_alert_id']}: {p['explanation']}"
    if kind == "tool_call":
        if p.get("phase") == "request":
            args = ", ".join(f"{k}={v}" for k, v in p.get("arguments", {}).items())
            return f"{p['tool']}({args})"
        return (
            f"{p['tool']} -> {'nothing' if p.get('empty') else 'result ' + p['result_sha256'][:12]}"
        )
    if kind == "priority":
        closing = f", auto-close '{p['auto_close_rule']}'" if p.get("auto_close_rule") else ""
        return f"{p['priority']} (score {p['score']}), queue {p['queue']}{closing}"
    if kind == "verdict":
        return (
            f"{p['verdict']} at {p['confidence']:.2f} -> {p['status']} via "
            f"{' > '.join(p['route'])}; evidence {', '.join(p['evidence'][:8])}"
        )
    if kind == "resolution":
        note = f": {p['note']}" if p.get("note") else ""
        return f"resolved {p['verdict']} (the analysis said {p['machine_verdict']}){note}"
    return canonical_text(p)


def canonical_text(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."


@audit_app.command("export")
def audit_export(
    case: Annotated[str | None, typer.Option("--case", help="Only this case's chain.")] = None,
    db: DbOption = DEFAULT_DB,
) -> None:
    """Write audit records as JSON lines on stdout (redirect to a file)."""
    with open_store(db, must_exist=True) as store:
        for record in store.audit_records(case):
            sys.stdout.write(export_line(record) + "\n")


def export_line(record: dict[str, Any]) -> str:
    """One record as ASCII JSON: the same record for ``audit verify --file`` (which parses it),
    but no control, text-direction or invisible character reaches a terminal it is printed to
    (the chain's own canonical form keeps UTF-8 as is)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


@audit_app.command("verify")
def audit_verify(
    db: DbOption = DEFAULT_DB,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Verify an export (JSON lines) instead of a store."),
    ] = None,
) -> None:
    """Check the chain: exit 0 when intact, 1 naming the first altered, removed, inserted or
    reordered record."""
    with refusals():
        if file is not None:
            check = verify_export(file)
        else:
            with open_store(db, must_exist=True) as store:
                check = verify_store(store, source=str(db))
    out.print(f"audit chain intact: {check.checked} records verified in {check.source}")
