"""``tierzero serve`` and ``tierzero tokens``: the always-on service and who may use it."""

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
    NewDbOption,
    actor_option,
    err,
    fail,
    load_settings,
    open_store,
    out,
    refusals,
    safe,
    safe_cells,
)
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.store.tokens import ROLES, TokenError
from tierzero.usecases.errors import usable_actor

tokens_app = typer.Typer(
    help="API tokens of the service: each has a name and one role "
    f"({', '.join(ROLES)}); only a hash of the token is stored.",
    no_args_is_help=True,
)


def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8080,
    db: NewDbOption = DEFAULT_DB,
    config: ConfigOption = None,
    log_level: Annotated[
        str, typer.Option("--log-level", help="debug, info, warning or error.")
    ] = "info",
    reports: Annotated[
        Path,
        typer.Option("--reports", help="Folder of evaluation reports the API lists."),
    ] = Path("tierzero-eval"),
) -> None:
    """Run tierzero as a service: alerts pushed to /api/alerts are stored before the answer,
    correlated and triaged continuously; approvals expire and leases end on time; webhooks in
    config/service.yaml announce approvals and P1/P2 cases. The API is under /api/ (OpenAPI
    at /docs), with /health, /metrics and an MCP server at /mcp. Create a token first with
    'tierzero tokens create'. Stops cleanly on SIGTERM or Ctrl-C."""
    from tierzero.service.app import Service  # imports FastAPI: only when serving
    from tierzero.service.server import serve

    if log_level not in ("debug", "info", "warning", "error"):
        raise fail("--log-level is one of debug, info, warning, error")
    settings = load_settings(config)
    with open_store(db) as store:
        if not store.tokens():
            err.print(
                "warning: no API token exists yet; create one with "
                "'tierzero tokens create --role ingest --name NAME'"
            )
    err.print(f"tierzero serving on http://{safe(host)}:{port} (store {safe(str(db))})")
    serve(Service(settings, db, config=config, reports=reports), host, port, log_level)


@tokens_app.command("create")
def tokens_create(
    role: Annotated[str, typer.Option("--role", help=f"One of: {', '.join(ROLES)}.")],
    name: Annotated[str, typer.Option("--name", help="Who or what uses it (never reused).")],
    actor: Annotated[str, actor_option("Who creates it (recorded in the audit).")],
    person: Annotated[
        str | None,
        typer.Option(
            "--person",
            help="The person who acts with it (default: the name). Give one person's "
            "tokens the same person: requests made with one are never approved with another.",
        ),
    ] = None,
    db: NewDbOption = DEFAULT_DB,
) -> None:
    """Create a token and print it once: it cannot be shown again (only its hash is kept).
    Its person (--person, default the name) is who acts with it: an approver token of alice
    approves as alice, and never approves a request alice made with any of her tokens."""
    if role not in ROLES:
        raise fail(f"--role is one of: {', '.join(ROLES)}", 2)
    with refusals(), open_store(db) as store:
        try:
            token = store.create_token(
                usable_actor(name),
                role,
                actor,
                datetime.now(UTC),
                usable_actor(person) if person else None,
            )
        except TokenError as exc:
            raise fail(str(exc)) from None
    err.print(f"token {safe(name)} ({role}); store it now, it is not shown again:")
    print(token)


@tokens_app.command("list")
def tokens_list(db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """Every token's name, role, creation and revocation (never the token)."""
    with open_store(db, must_exist=True) as store:
        rows = store.tokens()
    if as_json:
        print(json.dumps([r.__dict__ for r in rows], indent=2))
        return
    table = Table(title=f"{len(rows)} tokens", box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("Name", "Role", "Person", "Created (UTC)", "By", "Revoked"):
        table.add_column(header, overflow="fold")
    for r in rows:
        table.add_row(
            *safe_cells(
                r.name, r.role, r.person, r.created_at[:16], r.created_by, r.revoked_at or ""
            )
        )
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
    actor: Annotated[str, actor_option("Who revokes it (recorded in the audit).")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """Revoke a token: the service refuses it from the next request on."""
    with open_store(db, must_exist=True) as store:
        try:
            store.revoke_token(name, actor, datetime.now(UTC))
        except TokenError as exc:
            raise fail(str(exc)) from None
    out.print(f"revoked {safe(name)}")
