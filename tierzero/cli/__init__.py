"""The ``tierzero`` command line: one module per command group, each command a thin door.

A command parses its options, calls one use case (``tierzero.usecases``) and renders the
result for the terminal (every value from an alert made terminal-safe by
:func:`~tierzero.cli.support.safe`); the workflow itself lives in the use case, so the service
calls the same functions.
"""

from __future__ import annotations

import sys

import typer

from tierzero.cli.actions import actions_app, autonomy_command, leases_app
from tierzero.cli.approvals import approvals_app
from tierzero.cli.audit import audit_app
from tierzero.cli.cases import cases_app
from tierzero.cli.chat import chat_command
from tierzero.cli.doctor import doctor_command
from tierzero.cli.evals import eval_app
from tierzero.cli.normalize import normalize_command
from tierzero.cli.ops import metrics_command, shadow_command
from tierzero.cli.policy import policy_app
from tierzero.cli.quarantine import quarantine_app
from tierzero.cli.serve import serve_command, tokens_app
from tierzero.cli.support import err, safe
from tierzero.cli.suppressions import suppressions_app
from tierzero.cli.triage import triage_command
from tierzero.store.audit import AuditWriteError

app = typer.Typer(
    help="tierzero: the automated tier of a SOC. Normalizes alerts from many tools to OCSF, "
    "correlates them into explained cases, and triages each case with playbooks "
    "(no API key needed).",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
)
app.command("triage")(triage_command)
app.command("normalize")(normalize_command)
app.command("doctor")(doctor_command)
app.command("chat")(chat_command)
app.command("autonomy")(autonomy_command)
app.command("shadow")(shadow_command)
app.command("metrics")(metrics_command)
app.command("serve")(serve_command)
app.add_typer(cases_app, name="cases")
app.add_typer(approvals_app, name="approvals")
app.add_typer(actions_app, name="actions")
app.add_typer(leases_app, name="leases")
app.add_typer(audit_app, name="audit")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(eval_app, name="eval")
app.add_typer(policy_app, name="policy")
app.add_typer(tokens_app, name="tokens")
app.add_typer(suppressions_app, name="suppressions")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except AuditWriteError as exc:
        # Nothing was changed (the audit record and its change commit together or not at
        # all): say why plainly (the audit key file, most often), not with a traceback.
        err.print(f"error: {safe(str(exc))}; nothing was changed")
        sys.exit(1)


__all__ = ["app", "main"]
