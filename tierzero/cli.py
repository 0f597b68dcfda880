"""The ``tierzero`` command line: triage alert files, inspect cases and the quarantine."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tierzero.config import ConfigError
from tierzero.ingest.adapters.mapped import MappingError
from tierzero.ingest.reader import IngestOptions, InputError
from tierzero.ingest.registry import ADAPTERS, MAPPED_SOURCE
from tierzero.pipeline import TriageReport, triage
from tierzero.settings import Settings
from tierzero.store.sqlite import DEFAULT_DB, CaseRow, Store

app = typer.Typer(
    help="tierzero: the automated tier of a SOC. Normalizes alerts from many tools to OCSF, "
    "correlates them into explained cases, and triages each case with playbooks "
    "(no API key needed).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
cases_app = typer.Typer(help="Inspect cases.", no_args_is_help=True)
quarantine_app = typer.Typer(
    help="Inspect records that could not be normalized.", no_args_is_help=True
)
app.add_typer(cases_app, name="cases")
app.add_typer(quarantine_app, name="quarantine")

out = Console(soft_wrap=False)
err = Console(stderr=True)

DbOption = Annotated[
    Path, typer.Option("--db", help="SQLite store (created if missing).", show_default=True)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of tables.")]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="Config folder (default: the bundled config, or $TIERZERO_CONFIG)."
    ),
]


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


@contextmanager
def _open_store(db: Path, must_exist: bool = False) -> Iterator[Store]:
    if must_exist and not db.exists():
        raise _fail(f"no store at {db}: run 'tierzero triage PATH' first, or pass --db")
    store = Store(db)
    try:
        yield store
    finally:
        store.close()


@app.command("triage")
def triage_command(
    paths: Annotated[list[Path], typer.Argument(help="Alert files or folders to read.")],
    source: Annotated[
        str,
        typer.Option(
            help=f"Format of the input: auto (detect per record), {MAPPED_SOURCE} "
            f"(use --mapping), or one of: {', '.join(ADAPTERS)}."
        ),
    ] = "auto",
    mapping: Annotated[
        Path | None,
        typer.Option(
            help="Field mapping (YAML) for CSV / JSON-lines files without NAME.mapping.yaml."
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest alert files, correlate them into cases and triage every new or changed case.

    In a folder, .json/.jsonl/.ndjson files are read, and .csv files with the NAME.mapping.yaml
    beside them (or --mapping); everything else is ignored. Records that cannot be read go to
    the quarantine with a reason. Re-running on the same input changes nothing.
    """
    if source not in ("auto", MAPPED_SOURCE, *ADAPTERS):
        raise _fail(
            f"unknown --source {source!r}; choose auto, {MAPPED_SOURCE}, or one of: "
            f"{', '.join(ADAPTERS)}",
            2,
        )
    if source == MAPPED_SOURCE and mapping is None:
        raise _fail("--source mapped needs --mapping FILE", 2)
    try:
        settings = Settings.load(config)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    options = IngestOptions(source=source, mapping=mapping)
    with _open_store(db) as store, _progress(enabled=not as_json) as progress:
        try:
            report = triage(paths, settings, store, options, progress=progress)
        except (InputError, MappingError) as exc:
            raise _fail(str(exc)) from None
        rows = store.cases()
        counts = store.counts()
        if as_json:
            print(json.dumps(_report_json(report, rows, counts, store), indent=2))
        else:
            _print_report(report, rows, counts, db)


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A progress bar on stderr for long runs; silent when stderr is not a terminal."""
    if not enabled or not err.is_terminal:
        yield lambda stage, done, total: None
        return
    with Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


def _case_json(row: CaseRow, store: Store) -> dict[str, Any]:
    analysis = row.analysis or {}
    triage_info = analysis.get("triage") or {}
    return {
        "id": row.id,
        "title": row.title,
        "verdict": row.verdict,
        "confidence": row.confidence,
        "priority": row.priority,
        "status": row.status,
        "queue": triage_info.get("queue"),
        "sla_due": triage_info.get("sla_due"),
        "alert_count": row.alert_count,
        "alert_ids": store.source_alert_ids(row.id),
        "first_seen": row.first_seen.isoformat(),
        "last_seen": row.last_seen.isoformat(),
        "techniques": (analysis.get("analysis") or {}).get("techniques", []),
        "next_step": analysis.get("next_step"),
    }


def _report_json(
    report: TriageReport, rows: list[CaseRow], counts: dict[str, int], store: Store
) -> dict[str, Any]:
    touched = {s.case_id for s in report.cases_analysed}
    return {
        "alerts_in": report.counts.alerts_in,
        "normalized": report.counts.normalized,
        "quarantined": report.counts.quarantined,
        "new_alerts": report.new_alerts,
        "cases": counts["cases"],
        "cases_analysed": len(touched),
        "by_source": dict(report.counts.by_source),
        "joins": dict(report.joins),
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
        "case_summaries": [_case_json(r, store) for r in rows if r.id in touched],
    }


_STATUS_STYLE = {"escalated": "bold red", "auto_closed": "green", "closed": "green"}
_PRIORITY_STYLE = {"P1": "bold red", "P2": "red", "P3": "yellow", "P4": "dim"}


def _print_report(
    report: TriageReport, rows: list[CaseRow], counts: dict[str, int], db: Path
) -> None:
    c = report.counts
    sources = ", ".join(f"{n} {s}" for s, n in sorted(c.by_source.items()))
    out.print(
        f"Read {report.files} files: {c.alerts_in} records in = {c.normalized} normalized "
        f"+ {c.quarantined} quarantined." + (f" ({sources})" if sources else "")
    )
    joins = report.joins
    out.print(
        f"{report.new_alerts} new alerts -> {joins['new_case']} new cases, "
        f"{joins['joined']} joined, {joins['merged']} merged cases, "
        f"{joins['duplicate']} duplicates collapsed."
    )
    touched = {s.case_id for s in report.cases_analysed}
    shown = [r for r in rows if r.id in touched]
    if not shown:
        out.print("No new or changed cases. (Re-running on the same input adds nothing.)")
        return
    rows_out = []
    # Cases waiting for people first, by priority; closed ones after, for the record.
    for row in sorted(shown, key=lambda r: (r.status != "escalated", r.priority or "P9", r.id)):
        queue = ((row.analysis or {}).get("triage") or {}).get("queue", "")
        rows_out.append(
            (
                row.id,
                row.priority or "",
                row.status,
                f"{row.verdict} {row.confidence:.2f}" if row.confidence is not None else "",
                str(row.alert_count),
                queue if row.status == "escalated" else "-",
                row.title or "",
            )
        )
    table = Table(title=f"{len(shown)} cases triaged", box=box.SIMPLE_HEAD, pad_edge=False)
    # Short columns never shrink; the title wraps. Narrow terminals drop the queue column.
    headers = ["Case", "Pri", "Status", "Verdict", "Alerts", "Queue"]
    if out.width < 110:
        headers.pop()
    for index, header in enumerate(headers):
        width = max(len(header), *(len(r[index]) for r in rows_out))
        table.add_column(header, no_wrap=True, min_width=width)
    table.add_column("Title", overflow="fold", min_width=20)
    for values in rows_out:
        styled = [*values[: len(headers)], escape(values[6])]
        styled[1] = f"[{_PRIORITY_STYLE.get(values[1], '')}]{values[1]}[/]"
        styled[2] = f"[{_STATUS_STYLE.get(values[2], '')}]{values[2]}[/]"
        table.add_row(*styled)
    out.print(table)
    if c.quarantined:
        out.print(f"{c.quarantined} records quarantined: see 'tierzero quarantine list --db {db}'.")
    out.print(f"Details: 'tierzero cases show CASE --db {db}'.")


@cases_app.command("list")
def cases_list(db: DbOption = DEFAULT_DB, as_json: JsonOption = False) -> None:
    """List every case with its verdict, priority and status."""
    with _open_store(db, must_exist=True) as store:
        rows = store.cases()
        if as_json:
            print(json.dumps([_case_json(r, store) for r in rows], indent=2))
            return
        table = Table(title=f"{len(rows)} cases")
        for column in ("Case", "Pri", "Status", "Verdict", "Conf", "Alerts", "Last seen", "Title"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                r.id,
                r.priority or "",
                r.status,
                r.verdict or "",
                f"{r.confidence:.2f}" if r.confidence is not None else "",
                str(r.alert_count),
                r.last_seen.strftime("%Y-%m-%d %H:%M"),
                escape(r.title or ""),
            )
        out.print(table)


@cases_app.command("show")
def cases_show(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-1.")],
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Everything about one case: alerts, evidence, enrichment, timeline, joins, verdict."""
    with _open_store(db, must_exist=True) as store:
        row = store.case(case_id)
        if row is None:
            raise _fail(f"no case {case_id!r}")
        alerts = store.alerts_of_case(case_id)
        joins = store.joins_of_case(case_id)
        document = {
            **_case_json(row, store),
            "merged_into": row.merged_into,
            "analysis": row.analysis,
            "joins": joins,
            "alerts": [a.model_dump(mode="json", exclude={"raw_data"}) for a in alerts],
        }
        if as_json:
            print(json.dumps(document, indent=2, default=str))
            return
        _print_case(row, document)


def _print_case(row: CaseRow, doc: dict[str, Any]) -> None:
    state = row.analysis or {}
    if row.merged_into:
        out.print(f"{row.id} was merged into {row.merged_into}.")
        return
    out.rule(f"{row.id}: {escape(row.title or '')}")
    triage_info = state.get("triage") or {}
    analysis = state.get("analysis") or {}
    out.print(
        f"[bold]{row.status}[/]  priority {row.priority} (score {triage_info.get('score')}: "
        f"{escape(', '.join(triage_info.get('score_parts', [])))})"
        f"  queue {triage_info.get('queue')}  SLA due {triage_info.get('sla_due')}"
    )
    out.print(
        f"Verdict [bold]{row.verdict}[/] at confidence {row.confidence:.2f} "
        f"by {analysis.get('analyst')}"
    )
    for line in analysis.get("rationale", []):
        out.print(f"  - {escape(line)}")
    if analysis.get("techniques"):
        out.print(
            f"ATT&CK: {', '.join(analysis['techniques'])} "
            f"({', '.join(analysis.get('tactics', []))})"
        )
    out.print("\n[bold]Evidence[/]")
    for item in state.get("evidence", []):
        out.print(f"  {item['id']:>4} [{item['kind']}] {escape(item['summary'])}")
    out.print("\n[bold]Timeline[/] (and why each alert joined)")
    joins = {j["alert_id"]: j for j in doc["joins"]}
    for alert in doc["alerts"]:
        join = joins.get(alert["id"], {})
        out.print(
            f"  {alert['time'][:19]}Z  {alert['provenance']['source']:<11} "
            f"{escape(alert['finding_info']['title'])}  [dim]({alert['finding_info']['uid']})[/]"
        )
        if join:
            out.print(f"      [dim]{escape(join['explanation'])}[/]")
    recommendations = state.get("recommendations", [])
    if recommendations:
        out.print("\n[bold]Recommended actions[/] (recommendations only: nothing was executed)")
        for rec in recommendations:
            out.print(f"  {rec['action']} {escape(rec['target'])}  [dim]({rec['playbook']})[/]")
    out.print(f"\n[bold]Next step:[/] {escape(state.get('next_step') or '')}")
    if state.get("escalation_path") and row.status == "escalated":
        out.print(f"[bold]Escalation path:[/] {escape(state['escalation_path'])}")


@quarantine_app.command("list")
def quarantine_list(
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Show at most this many.")] = 200,
) -> None:
    """Records that could not be normalized, with file, position and reason."""
    with _open_store(db, must_exist=True) as store:
        records = store.quarantined(limit)
        if as_json:
            print(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
            return
        table = Table(title=f"{store.counts()['quarantined']} quarantined records")
        for column in ("File", "Record", "Source", "Reason"):
            table.add_column(column, overflow="fold")
        for r in records:
            table.add_row(escape(r.source_file), str(r.record_no), r.source, escape(r.reason))
        out.print(table)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


__all__ = ["app", "main"]


if __name__ == "__main__":
    main()
