"""``tierzero audit``: the decision trace of a case, the export, verification of the chain (and
of the tables against it), and the signed head for an external witness."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tierzero.cli.support import DbOption, err, fail, open_store, out, refusals, safe, safe_cells
from tierzero.store.audit_anchor import KEY_ENV
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.usecases.audit import export_line, signed_head, verify_export, verify_store

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
        return ("after an approval answer: " if p.get("resumed") else "") + (
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


# Exit code of a chain found intact whose signatures could not be checked (no key file, or
# nothing signed yet): not tampered with as far as can be seen, but not fully verified either.
NOT_AUTHENTICATED = 3


@audit_app.command("verify")
def audit_verify(
    db: DbOption = DEFAULT_DB,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Verify an export (JSON lines) instead of a store."),
    ] = None,
    witness: Annotated[
        Path | None,
        typer.Option(
            "--witness",
            help="A head written earlier by 'audit head --out': the audit must still hold it "
            "(shows a rollback of the whole store to an older copy).",
        ),
    ] = None,
    state: Annotated[
        bool,
        typer.Option(
            "--state",
            help="Also replay the audit and report every difference of the actions, cases, "
            "resolutions, settings and alerts tables from it.",
        ),
    ] = False,
) -> None:
    """Check the audit: exit 0 when intact and signed, 1 naming the first altered, removed,
    inserted or reordered record (or a divergence with --state), 3 when intact but the
    signatures could not be checked (no key file, or nothing signed)."""
    with refusals():
        if file is not None:
            if state:
                raise fail("--state needs the store (--db), not an export", 2)
            check = verify_export(file, witness)
        else:
            with open_store(db, must_exist=True) as store:
                check = verify_store(store, source=str(db), witness=witness, state=state)
    source = safe(check.source)
    if check.authenticated:
        scope = "signed head" if check.anchored else "an export has no signed head"
        out.print(
            f"audit chain intact: {check.checked} records verified in {source} "
            f"(hashes, links, signatures; {scope})"
        )
    else:
        out.print(
            f"audit chain links intact: {check.checked} records in {source} (hashes and links only)"
        )
    if check.unsigned and check.unsigned < check.checked:
        out.print(
            f"{check.unsigned} records written before the store was signed: checked by hash "
            "and link only"
        )
    if check.witness is not None:
        out.print(
            f"witness {safe(witness)}: record seq {check.witness.seq} of "
            f"{safe(check.witness.at)} is still in the audit, unchanged"
        )
    diverging = check.divergences or ()
    if check.divergences is not None and not diverging:
        out.print("state: actions, cases, resolutions, settings and alerts match the audit")
    for divergence in diverging:
        err.print(f"[bold red]divergence:[/] {safe(divergence.describe())}")
    if diverging:
        raise fail(f"the tables differ from the audit in {len(diverging)} places")
    if check.key is None:
        out.print(
            f"MACs not checked: no audit key at {safe(check.key_path)} (set {KEY_ENV}); the "
            "chain alone does not show a rewritten chain, a record added without the key, or "
            "the newest records removed"
        )
        raise typer.Exit(NOT_AUTHENTICATED)
    if not check.authenticated:
        out.print(
            "not authenticated: no record is signed (a store written before records were "
            "signed, signed from its next record on; or one whose signatures were removed)"
        )
        raise typer.Exit(NOT_AUTHENTICATED)


@audit_app.command("head")
def audit_head(
    db: DbOption = DEFAULT_DB,
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write the head to this file instead of printing it."),
    ] = None,
) -> None:
    """The audit's signed head (store id, newest seq and hash, time, MAC) as JSON, for a
    witness to keep outside the store: 'audit verify --witness FILE' later shows whether the
    store still holds it."""
    with refusals(), open_store(db, must_exist=True) as store:
        head = signed_head(store)
    text = json.dumps(head.as_json(), indent=2) + "\n"
    if out_file is None:
        sys.stdout.write(text)
        return
    try:
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {out_file}: {exc}") from None
    out.print(f"signed head (record seq {head.seq}) written to {safe(out_file)}")
