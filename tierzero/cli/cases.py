"""``tierzero cases``: list, show, resolve, and find similar concluded cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from tierzero.cli.support import (
    ConfigOption,
    DbOption,
    JsonOption,
    actor_option,
    err,
    load_settings,
    open_store,
    out,
    refusals,
    safe,
    safe_cells,
)
from tierzero.store.cases import CaseRow
from tierzero.store.resolutions import RESOLUTION_VERDICTS
from tierzero.store.sqlite import DEFAULT_DB
from tierzero.usecases.cases import case_document, case_summary, resolve_case, similar_cases

cases_app = typer.Typer(help="Inspect cases.", no_args_is_help=True)


@cases_app.command("list")
def cases_list(db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """List every case with its verdict, priority and status."""
    with open_store(db, must_exist=True) as store:
        rows = store.cases()
        if as_json:
            print(json.dumps([case_summary(r, store) for r in rows], indent=2))
            return
        table = Table(title=f"{len(rows)} cases")
        for column in ("Case", "Pri", "Status", "Verdict", "Conf", "Alerts", "Last seen", "Title"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                *safe_cells(
                    r.id,
                    r.priority or "",
                    r.status,
                    r.verdict or "",
                    f"{r.confidence:.2f}" if r.confidence is not None else "",
                    r.alert_count,
                    r.last_seen.strftime("%Y-%m-%d %H:%M"),
                    r.title or "",
                )
            )
        out.print(table)


@cases_app.command("show")
def cases_show(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-1.")],
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Everything about one case: alerts, evidence, enrichment, timeline, joins, verdict."""
    with open_store(db, must_exist=True) as store, refusals():
        row, document = case_document(store, case_id)
    if as_json:
        print(json.dumps(document, indent=2, default=str))
        return
    _print_case(row, document)


def _print_case(row: CaseRow, doc: dict[str, Any]) -> None:
    state = row.analysis or {}
    if row.merged_into:
        out.print(f"{safe(row.id)} was merged into {safe(row.merged_into)}.")
        return
    if not state or row.confidence is None:
        out.print(
            f"{safe(row.id)} has {row.alert_count} alerts and has not been analysed yet: run "
            "'tierzero triage' again to analyse it."
        )
        return
    out.rule(f"{safe(row.id)}: {safe(row.title or '')}")
    triage_info = state.get("prioritization") or {}
    analysis = state.get("analysis") or {}
    out.print(
        f"[bold]{safe(row.status)}[/]  priority {safe(row.priority)} "
        f"(score {safe(triage_info.get('score'))}: "
        f"{safe(', '.join(triage_info.get('score_parts', [])))})"
        f"  queue {safe(triage_info.get('queue'))}  SLA due {safe(triage_info.get('sla_due'))}"
    )
    out.print(
        f"Verdict [bold]{safe(row.verdict)}[/] at confidence {row.confidence:.2f} "
        f"by {safe(analysis.get('analyst'))}"
    )
    for line in analysis.get("rationale", []):
        out.print(f"  - {safe(line)}")
    if analysis.get("techniques"):
        out.print(
            f"ATT&CK: {safe(', '.join(analysis['techniques']))} "
            f"({safe(', '.join(analysis.get('tactics', [])))})"
        )
    out.print("\n[bold]Evidence[/]")
    for item in state.get("evidence", []):
        out.print(
            f"  {safe(item['id']):>4} {safe('[' + item['kind'] + ']')} {safe(item['summary'])}"
        )
    out.print("\n[bold]Timeline[/] (and why each alert joined)")
    joins = {j["alert_id"]: j for j in doc["joins"]}
    for alert in doc["alerts"]:
        join = joins.get(alert["id"], {})
        info = alert["finding_info"]
        out.print(
            f"  {safe(alert['time'][:19])}Z  {safe(alert['provenance']['source']):<11} "
            f"{safe(info['title'])}  [dim]({safe(info['uid'])})[/]"
        )
        if join:
            out.print(f"      [dim]{safe(join['explanation'])}[/]")
    if doc["alerts_listed"] < doc["alerts_total"]:
        left = doc["alerts_total"] - doc["alerts_listed"]
        out.print(f"  [dim]... and {left} more alerts (repeats and later ones) not listed[/]")
    decisions = state.get("decisions", [])
    if decisions:
        out.print(
            "\n[bold]Proposed actions and guardrail decisions[/] (decided, not executed: "
            "response connectors are not wired in yet)"
        )
        styles = {"allow": "green", "needs_approval": "yellow", "deny": "red"}
        for d in decisions:
            out.print(
                f"  {safe(d['action'])} {safe(d['target'])} -> "
                f"[{styles.get(d['outcome'], 'dim')}]{safe(d['outcome'])}[/] "
                f"[dim]({safe(d['rule_id'])}: {safe(d['reason'])})[/]"
            )
    out.print(f"\n[bold]Next step:[/] {safe(state.get('next_step') or '')}")
    if state.get("escalation_path") and row.status == "escalated":
        out.print(f"[bold]Escalation path:[/] {safe(state['escalation_path'])}")


@cases_app.command("resolve")
def cases_resolve(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-1.")],
    verdict: Annotated[
        str,
        typer.Option(
            "--verdict",
            help=f"The final disposition: {', '.join(RESOLUTION_VERDICTS)}.",
            show_default=False,
        ),
    ],
    actor: Annotated[str, actor_option("Who resolves it (audited).")],
    note: Annotated[str, typer.Option(help="Why, in a sentence (audited, remembered).")] = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Record an analyst's final verdict on a case: audited, and remembered with the case as
    feedback for similar cases (and, later, for measuring the automation)."""
    settings = load_settings(config)
    with open_store(db, must_exist=True) as store, refusals():
        result = resolve_case(store, settings, case_id, verdict, actor, note, datetime.now(UTC))
    machine = (
        f" (the analysis said {safe(result.machine_verdict)})" if result.machine_verdict else ""
    )
    out.print(f"case {safe(case_id)} resolved as {safe(verdict)} by {safe(actor)}{machine}")
    if result.remembered:
        out.print("remembered with the analyst's verdict in the similar-case memory")
    for warning in result.warnings:
        err.print(f"[yellow]warning:[/] {safe(warning)}")


@cases_app.command("similar")
def cases_similar(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-4.")],
    k: Annotated[int, typer.Option("--k", help="How many cases to show.", min=1, max=50)] = 5,
    reindex_first: Annotated[
        bool,
        typer.Option(
            "--reindex", help="Rebuild the memory from every concluded case of the store first."
        ),
    ] = False,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Concluded past cases most like this one, from the similar-case memory: their verdicts
    (the analyst's, when resolved), the entities they share, their ATT&CK techniques.

    Cases are remembered when they are closed, auto-closed or resolved. Similarity is
    lexical: shared entity keys, detections, techniques and title words.
    """
    settings = load_settings(config)
    with open_store(db, must_exist=True) as store, refusals():
        found = similar_cases(store, settings, case_id, k, reindex_first)
    if found.reindexed is not None:
        err.print(f"reindexed: {found.reindexed} concluded cases remembered")
    if as_json:
        print(json.dumps(found.as_json(), indent=2))
        return
    size, results = found.remembered_cases, found.similar
    if not size:
        out.print(
            "The similar-case memory is empty: cases are remembered when they are closed, "
            "auto-closed or resolved ('tierzero cases resolve'). '--reindex' rebuilds it from "
            "the store."
        )
        return
    if not results:
        out.print(f"No remembered case besides {safe(case_id)} ({size} in memory).")
        return
    table = Table(
        title=f"Cases most like {safe(case_id)} ({size} remembered)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("Case", "Score", "Verdict", "Status"):
        table.add_column(column, no_wrap=True)
    for column in ("Shared entities", "Techniques", "Title"):
        table.add_column(column, overflow="fold")
    for r in results:
        verdict = r.verdict + (" (analyst)" if r.analyst_verdict else "")
        shared = r.shared_entities
        table.add_row(
            safe(r.case_id),
            f"{r.score:.2f}",
            safe(verdict),
            safe(r.status),
            safe(", ".join(shared[:6]) + (f" +{len(shared) - 6}" if len(shared) > 6 else "")),
            safe(", ".join(r.techniques[:6]) + (" ..." if len(r.techniques) > 6 else "")),
            safe(r.title),
        )
    out.print(table)
