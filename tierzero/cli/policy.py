"""``tierzero policy``: what the guardrail policy says.

``tierzero policy rules`` lists every guardrail rule in the fixed check order, with its stage,
outcome and meaning, and the loaded policy's autonomy tier rules (``tier.<id>``) with their
tier and reason. The data comes from :func:`tierzero.guardrails.rules.rule_listing`; this module
only prints it.
"""

from __future__ import annotations

import json

import typer

from tierzero.cli.support import ConfigOption, JsonOption, load_settings, out, safe
from tierzero.guardrails.rules import rule_listing

policy_app = typer.Typer(help="Inspect the guardrail policy.", no_args_is_help=True)


@policy_app.command("rules")
def policy_rules(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every guardrail rule id in check order (stage, order, outcome, description), then the
    policy's tier rules with their tier and reason; the first rule that objects decides."""
    policy = load_settings(config).policy
    rows = rule_listing(policy)
    if as_json:
        document = {
            "policy_version": policy.version,
            "rules": [row._asdict() for row in rows],
        }
        print(json.dumps(document, indent=2))
        return
    out.print(
        f"Guardrail rules of policy {safe(policy.version)} in check order "
        "(the first that objects decides):"
    )
    for row in rows:
        tier = "" if row.tier is None else f" (tier {row.tier})"
        out.print(
            f"{row.order:>3}  [bold]{safe(row.rule_id)}[/]  stage {safe(row.stage)}  "
            f"{safe(row.outcome)}{tier}"
        )
        out.print(f"     {safe(row.reason if row.reason is not None else row.description)}")
