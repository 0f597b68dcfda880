"""``tierzero triage``: the whole job on files, and its summary table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table

from tierzero.cli.inputs import MappingOption, PathsArgument, SourceOption, check_source
from tierzero.cli.support import (
    ConfigOption,
    JsonOption,
    ModelDeadlineOption,
    ModelTimeoutOption,
    NewDbOption,
    err,
    fail,
    load_settings,
    model_progress,
    open_store,
    out,
    progress_bar,
    safe,
    safe_cells,
    visible,
)
from tierzero.ingest.adapters.mapped import MappingError
from tierzero.ingest.reader import IngestOptions, InputError
from tierzero.store.cases import CaseRow
from tierzero.store.sqlite import DEFAULT_DB, Store
from tierzero.usecases.cases import case_summary
from tierzero.usecases.triage import TriageReport, triage


def triage_command(
    paths: PathsArgument,
    source: SourceOption = "auto",
    mapping: MappingOption = None,
    db: NewDbOption = DEFAULT_DB,
    config: ConfigOption = None,
    model_timeout: ModelTimeoutOption = None,
    model_deadline: ModelDeadlineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Ingest alert files, correlate them into cases and triage every new or changed case.

    In a folder, .json/.jsonl/.ndjson files are read, and .csv files with the NAME.mapping.yaml
    beside them (or --mapping); everything else is ignored. Records that cannot be read go to
    the quarantine with a reason. Re-running on the same input changes nothing.
    """
    check_source(source, mapping)
    settings = load_settings(config, model_timeout, model_deadline)
    options = IngestOptions(
        source=source,
        mapping=mapping,
        refuse_samples=settings.ingest.vendor_samples == "refuse",
    )
    with (
        open_store(db) as store,
        progress_bar(enabled=not as_json) as progress,
        model_progress(),
    ):
        try:
            report = triage(paths, settings, store, options, progress=progress)
        except (InputError, MappingError) as exc:
            raise fail(str(exc)) from None
        rows = store.cases()
        counts = store.counts()
        if as_json:
            print(json.dumps(_report_json(report, rows, counts, store), indent=2))
        else:
            _print_report(report, rows, counts, db, store)
        for warning in report.warnings:
            err.print(f"[yellow]warning:[/] {safe(warning)}")


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
        "already_stored": report.counts.normalized - report.new_alerts,
        "joins": dict(report.joins),
        "merged_cases": report.merged_cases,
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
        "model": report.model,
        "case_summaries": [case_summary(r, store) for r in rows if r.id in touched],
        "remembered": report.remembered,
        "warnings": report.warnings,
    }


_STATUS_STYLE = {
    "escalated": "bold red",
    "awaiting_approval": "yellow",
    "auto_closed": "green",
    "closed": "green",
}


def _styled(value: str, styles: dict[str, str]) -> str:
    style = styles.get(value)
    return f"[{style}]{safe(value)}[/]" if style else safe(value)


_PRIORITY_STYLE = {"P1": "bold red", "P2": "red", "P3": "yellow", "P4": "dim"}


def _print_actions(cases: list[CaseRow], store: Store) -> None:
    """Per case: what ran in the lab, what waits for a person, what was refused, and why."""
    groups = (
        ("executed", "executed automatically", "green"),
        ("pending_approval", "waiting for approval", "yellow"),
        ("denied", "denied", "red"),
        ("failed", "failed", "red"),
    )
    lines = []
    for case in cases:
        rows = store.actions.rows(case.id)
        for status, label, style in groups:
            chosen = [r for r in rows if r.status == status]
            if chosen:
                items = ", ".join(
                    f"{safe(r.action)} {safe(r.target)} ({safe(r.rule_id)})" for r in chosen
                )
                lines.append(f"  {safe(case.id)} [{style}]{label}[/]: {items}")
    if lines:
        out.print("Actions (through the lab connector, a simulated environment):")
        for line in lines:
            out.print(line)


def _print_report(
    report: TriageReport, rows: list[CaseRow], counts: dict[str, int], db: Path, store: Store
) -> None:
    c = report.counts
    sources = safe(", ".join(f"{n} {s}" for s, n in sorted(c.by_source.items())))
    out.print(
        f"Read {report.files} files: {c.alerts_in} records in = {c.normalized} normalized "
        f"+ {c.quarantined} quarantined." + (f" ({sources})" if sources else "")
    )
    if report.files == 0:
        err.print(
            "[yellow]warning:[/] no alert files found (.json, .jsonl, .ndjson, or .csv "
            "with a NAME.mapping.yaml beside it)"
        )
    already = c.normalized - report.new_alerts
    if already:
        out.print(
            f"{already} of the normalized alerts were already stored (same source and id) "
            "and were not added again."
        )
    joins = report.joins
    out.print(
        f"{report.new_alerts} new alerts -> {joins['new_case']} new cases, "
        f"{joins['joined']} joined, {report.merged_cases} cases merged, "
        f"{joins['duplicate']} duplicates collapsed."
    )
    touched = {s.case_id for s in report.cases_analysed}
    shown = [r for r in rows if r.id in touched]
    if not shown:
        out.print("No new or changed cases. (Re-running on the same input adds nothing.)")
        return
    out.print(
        f"Analysts: offline playbooks + model {safe(report.model)} (see 'tierzero doctor')."
        if report.model
        else "Analyst: offline playbooks (no model endpoint configured; see 'tierzero doctor')."
    )
    rows_out = []
    # Cases waiting for people first, by priority; closed ones after, for the record.
    for row in sorted(
        shown,
        key=lambda r: (
            r.status not in ("escalated", "awaiting_approval"),
            r.priority or "P9",
            r.id,
        ),
    ):
        queue = ((row.analysis or {}).get("prioritization") or {}).get("queue", "")
        rows_out.append(
            tuple(
                visible(value)  # widths below are of what the terminal shows
                for value in (
                    row.id,
                    row.priority or "",
                    row.status,
                    f"{row.verdict} {row.confidence:.2f}" if row.confidence is not None else "",
                    str(row.alert_count),
                    queue if row.status == "escalated" else "-",
                    row.title or "",
                )
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
        styled = [*safe_cells(*values[: len(headers)]), safe(values[6])]
        styled[1] = _styled(values[1], _PRIORITY_STYLE)
        styled[2] = _styled(values[2], _STATUS_STYLE)
        table.add_row(*styled)
    out.print(table)
    _print_actions(shown, store)
    if c.quarantined:
        out.print(
            f"{c.quarantined} records quarantined: see 'tierzero quarantine list --db {safe(db)}'."
        )
    out.print(f"Details: 'tierzero cases show CASE --db {safe(db)}'.")
