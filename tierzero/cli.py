"""The ``tierzero`` command line: triage alert files, inspect cases and the quarantine."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from tierzero.cli_policy import policy_app
from tierzero.cli_support import (
    ConfigOption,
    DbOption,
    JsonOption,
    NewDbOption,
    err,
    out,
)
from tierzero.cli_support import fail as _fail
from tierzero.cli_support import load_settings as _settings
from tierzero.cli_support import open_store as _open_store
from tierzero.cli_support import progress_bar as _progress
from tierzero.cli_support import safe as _safe
from tierzero.config import ConfigError
from tierzero.evals.cli import eval_app
from tierzero.evals.ops_cli import metrics_command, shadow_command
from tierzero.guardrails.approvals import ApprovalAnswer, rule_on_answer
from tierzero.guardrails.execution import RollbackRefused, rollback, sweep_leases
from tierzero.ingest.adapters.mapped import MappingError
from tierzero.ingest.reader import IngestOptions, InputError
from tierzero.ingest.registry import ADAPTERS, MAPPED_SOURCE
from tierzero.pipeline import (
    TriageReport,
    answer_approval,
    approval_housekeeping,
    configured_memory,
    lab_connector,
    triage,
)
from tierzero.settings import Settings
from tierzero.store.audit import canonical, verify
from tierzero.store.memory import CaseMemory, SimilarCase, record_for, reindex, rememberable
from tierzero.store.sqlite import DEFAULT_DB, RESOLUTION_VERDICTS, CaseRow, Store

app = typer.Typer(
    help="tierzero: the automated tier of a SOC. Normalizes alerts from many tools to OCSF, "
    "correlates them into explained cases, and triages each case with playbooks "
    "(no API key needed).",
    no_args_is_help=True,
    rich_markup_mode=None,
    add_completion=False,
)
cases_app = typer.Typer(help="Inspect cases.", no_args_is_help=True)
quarantine_app = typer.Typer(
    help="Inspect records that could not be normalized.", no_args_is_help=True
)
audit_app = typer.Typer(
    help="Inspect, export and verify the hash-chained audit log.", no_args_is_help=True
)
actions_app = typer.Typer(
    help="Proposed actions: what was decided, executed, rolled back.", no_args_is_help=True
)
leases_app = typer.Typer(help="Executed actions are leases with a TTL.", no_args_is_help=True)
approvals_app = typer.Typer(
    help="Actions waiting for a person: list, approve, deny.", no_args_is_help=True
)
app.add_typer(cases_app, name="cases")
app.add_typer(approvals_app, name="approvals")
app.add_typer(actions_app, name="actions")
app.add_typer(leases_app, name="leases")
app.add_typer(audit_app, name="audit")
app.add_typer(quarantine_app, name="quarantine")
app.add_typer(eval_app, name="eval")
app.add_typer(policy_app, name="policy")


@app.command("triage")
def triage_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Alert files or folders to read.", metavar="PATH", show_default=False),
    ],
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
    db: NewDbOption = DEFAULT_DB,
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
            _print_report(report, rows, counts, db, store)
        for warning in report.warnings:
            err.print(f"[yellow]warning:[/] {_safe(warning)}")


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
        "decisions": [
            {k: d[k] for k in ("action", "target", "outcome", "rule_id", "reason")}
            for d in analysis.get("decisions", [])
        ],
        "actions": [
            {
                "id": a.id,
                "action": a.action,
                "target": a.target,
                "status": a.status,
                "rule_id": a.rule_id,
                "approved_by": a.approved_by,
            }
            for a in store.actions.rows(row.id)
        ],
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
        "already_stored": report.counts.normalized - report.new_alerts,
        "joins": dict(report.joins),
        "merged_cases": report.merged_cases,
        "seconds": {k: round(v, 3) for k, v in report.seconds.items()},
        "model": report.model,
        "case_summaries": [_case_json(r, store) for r in rows if r.id in touched],
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
    return f"[{style}]{_safe(value)}[/]" if style else _safe(value)


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
                items = ", ".join(f"{r.action} {_safe(r.target)} ({r.rule_id})" for r in chosen)
                lines.append(f"  {case.id} [{style}]{label}[/]: {items}")
    if lines:
        out.print("Actions (through the lab connector, a simulated environment):")
        for line in lines:
            out.print(line)


def _print_report(
    report: TriageReport, rows: list[CaseRow], counts: dict[str, int], db: Path, store: Store
) -> None:
    c = report.counts
    sources = ", ".join(f"{n} {s}" for s, n in sorted(c.by_source.items()))
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
        f"Analysts: offline playbooks + model {_safe(report.model)} (see 'tierzero doctor')."
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
        styled = [*values[: len(headers)], _safe(values[6])]
        styled[1] = _styled(values[1], _PRIORITY_STYLE)
        styled[2] = _styled(values[2], _STATUS_STYLE)
        table.add_row(*styled)
    out.print(table)
    _print_actions(shown, store)
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
                _safe(r.title or ""),
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
    if not state or row.confidence is None:
        out.print(
            f"{row.id} has {row.alert_count} alerts and has not been analysed yet: run "
            "'tierzero triage' again to analyse it."
        )
        return
    out.rule(f"{row.id}: {_safe(row.title or '')}")
    triage_info = state.get("triage") or {}
    analysis = state.get("analysis") or {}
    out.print(
        f"[bold]{row.status}[/]  priority {row.priority} (score {triage_info.get('score')}: "
        f"{_safe(', '.join(triage_info.get('score_parts', [])))})"
        f"  queue {triage_info.get('queue')}  SLA due {triage_info.get('sla_due')}"
    )
    out.print(
        f"Verdict [bold]{row.verdict}[/] at confidence {row.confidence:.2f} "
        f"by {analysis.get('analyst')}"
    )
    for line in analysis.get("rationale", []):
        out.print(f"  - {_safe(line)}")
    if analysis.get("techniques"):
        out.print(
            f"ATT&CK: {', '.join(analysis['techniques'])} "
            f"({_safe(', '.join(analysis.get('tactics', [])))})"
        )
    out.print("\n[bold]Evidence[/]")
    for item in state.get("evidence", []):
        out.print(f"  {item['id']:>4} {_safe('[' + item['kind'] + ']')} {_safe(item['summary'])}")
    out.print("\n[bold]Timeline[/] (and why each alert joined)")
    joins = {j["alert_id"]: j for j in doc["joins"]}
    for alert in doc["alerts"]:
        join = joins.get(alert["id"], {})
        info = alert["finding_info"]
        out.print(
            f"  {alert['time'][:19]}Z  {alert['provenance']['source']:<11} "
            f"{_safe(info['title'])}  [dim]({_safe(info['uid'])})[/]"
        )
        if join:
            out.print(f"      [dim]{_safe(join['explanation'])}[/]")
    decisions = state.get("decisions", [])
    if decisions:
        out.print(
            "\n[bold]Proposed actions and guardrail decisions[/] (decided, not executed: "
            "response connectors are not wired in yet)"
        )
        styles = {"allow": "green", "needs_approval": "yellow", "deny": "red"}
        for d in decisions:
            out.print(
                f"  {d['action']} {_safe(d['target'])} -> [{styles[d['outcome']]}]"
                f"{d['outcome']}[/] [dim]({d['rule_id']}: {_safe(d['reason'])})[/]"
            )
    out.print(f"\n[bold]Next step:[/] {_safe(state.get('next_step') or '')}")
    if state.get("escalation_path") and row.status == "escalated":
        out.print(f"[bold]Escalation path:[/] {_safe(state['escalation_path'])}")


def _case_memory(store: Store, settings: Settings) -> CaseMemory:
    """The similar-case memory beside the store, with the embeddings config/model.yaml names."""
    return configured_memory(settings)(store)


def _live_case(store: Store, case_id: str) -> CaseRow:
    row = store.case(case_id)
    if row is None:
        raise _fail(f"no case {case_id!r}")
    if row.merged_into:
        raise _fail(f"case {case_id} was merged into {row.merged_into}: use that one")
    return row


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
    actor: Annotated[str, typer.Option("--as", help="Who resolves it (audited).")],
    note: Annotated[str, typer.Option(help="Why, in a sentence (audited, remembered).")] = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Record an analyst's final verdict on a case: audited, and remembered with the case as
    feedback for similar cases (and, later, for measuring the automation)."""
    if verdict not in RESOLUTION_VERDICTS:
        raise _fail(f"--verdict must be one of: {', '.join(RESOLUTION_VERDICTS)}", 2)
    if not actor.strip():
        raise _fail("--as needs a name", 2)
    settings = _settings(config)
    with _open_store(db, must_exist=True) as store:
        row = _live_case(store, case_id)
        if row.status == "awaiting_approval":
            raise _fail(
                f"case {case_id} is waiting for approvals: answer them first "
                f"('tierzero approvals list --db {db}')"
            )
        try:
            store.resolve_case(case_id, verdict, actor, note, datetime.now(UTC))
        except ValueError as exc:
            raise _fail(str(exc)) from None
        machine = f" (the analysis said {row.verdict})" if row.verdict else ""
        out.print(f"case {case_id} resolved as {verdict} by {_safe(actor)}{machine}")
        if not rememberable(row.status, resolved=True):
            return
        # The resolution is committed and audited; the memory is derived and may lag behind.
        try:
            record = record_for(store, case_id, settings.correlation.internal_domains)
            with _case_memory(store, settings) as memory:
                if record is not None:
                    memory.remember(record)
                    out.print("remembered with the analyst's verdict in the similar-case memory")
        except Exception as exc:
            err.print(
                f"[yellow]warning:[/] similar-case memory not updated: {_safe(exc)} "
                "('tierzero cases similar ID --reindex' rebuilds it)"
            )


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
    settings = _settings(config)
    domains = settings.correlation.internal_domains
    with _open_store(db, must_exist=True) as store:
        _live_case(store, case_id)
        memory = _case_memory(store, settings)
        results: list[SimilarCase] = []
        size = 0
        try:
            with memory:
                if reindex_first:
                    count = reindex(store, memory, domains)
                    err.print(f"reindexed: {count} concluded cases remembered")
                if memory.path.exists():
                    size = memory.count()
                record = record_for(store, case_id, domains)
                if size and record is not None:
                    results = memory.similar_to_record(record, k)
        except Exception as exc:
            raise _fail(f"cannot read the case memory at {memory.path}: {exc}") from None
    if as_json:
        document = {
            "case_id": case_id,
            "remembered_cases": size,
            "similar": [r.model_dump(mode="json") for r in results],
        }
        print(json.dumps(document, indent=2))
        return
    if not size:
        out.print(
            "The similar-case memory is empty: cases are remembered when they are closed, "
            "auto-closed or resolved ('tierzero cases resolve'). '--reindex' rebuilds it from "
            "the store."
        )
        return
    if not results:
        out.print(f"No remembered case besides {case_id} ({size} in memory).")
        return
    table = Table(
        title=f"Cases most like {case_id} ({size} remembered)", box=box.SIMPLE_HEAD, pad_edge=False
    )
    for column in ("Case", "Score", "Verdict", "Status"):
        table.add_column(column, no_wrap=True)
    for column in ("Shared entities", "Techniques", "Title"):
        table.add_column(column, overflow="fold")
    for r in results:
        verdict = r.verdict + (" (analyst)" if r.analyst_verdict else "")
        shared = r.shared_entities
        table.add_row(
            r.case_id,
            f"{r.score:.2f}",
            _safe(verdict),
            _safe(r.status),
            _safe(", ".join(shared[:6]) + (f" +{len(shared) - 6}" if len(shared) > 6 else "")),
            _safe(", ".join(r.techniques[:6]) + (" ..." if len(r.techniques) > 6 else "")),
            _safe(r.title),
        )
    out.print(table)


@quarantine_app.command("list")
def quarantine_list(
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(help="Show at most this many.", min=1)] = 200,
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
            table.add_row(_safe(r.source_file), str(r.record_no), _safe(r.source), _safe(r.reason))
        out.print(table)


@audit_app.command("show")
def audit_show(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-1.")],
    db: DbOption = DEFAULT_DB,
) -> None:
    """The decision trace of one case as a readable timeline."""
    with _open_store(db, must_exist=True) as store:
        records = list(store.audit_records(case_id))
        if not records:
            raise _fail(f"no audit records for case {case_id!r}")
        table = Table(title=f"Audit trail of {case_id}: {len(records)} records", box=None)
        for column in ("time (UTC)", "seq", "kind", "actor"):
            table.add_column(column, no_wrap=True)
        table.add_column("what", overflow="fold")
        for record in records:
            table.add_row(
                record["ts"][:19],
                str(record["seq"]),
                record["kind"],
                record["actor"],
                _safe(_audit_summary(record)),
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
    with _open_store(db, must_exist=True) as store:
        for record in store.audit_records(case):
            sys.stdout.write(canonical(record) + "\n")


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
    if file is not None:
        records, problem = _read_export(file)
        if problem:
            raise _fail(problem)
        one_case = len({r.get("case_id") for r in records}) == 1 and records[0].get("case_id")
        result = verify(records, whole=not one_case)
        source = f"{file} ({'case ' + str(records[0]['case_id']) if one_case else 'whole log'})"
    else:
        with _open_store(db, must_exist=True) as store:
            result = verify(store.audit_records())
        source = str(db)
    if not result.ok:
        raise _fail(
            f"audit chain broken at record seq {result.bad_seq} (line {result.bad_line}) "
            f"of {source}: {result.reason}"
        )
    out.print(f"audit chain intact: {result.checked} records verified in {source}")


def _read_export(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    records: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        return [], f"cannot read {path}: {exc}"
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            return [], f"{path}:{line_no}: not a JSON record ({exc.msg}): the export was altered"
        if not isinstance(record, dict):
            return [], f"{path}:{line_no}: not a JSON object: the export was altered"
        records.append(record)
    if not records:
        return [], f"{path}: no audit records"
    return records, None


@actions_app.command("list")
def actions_list(
    case: Annotated[str | None, typer.Option("--case", help="Only this case's actions.")] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
) -> None:
    """Every proposed action with its status (executed, pending_approval, denied, expired,
    rolled_back, failed), the rule that decided it, and who approved it."""
    with _open_store(db, must_exist=True) as store:
        rows = store.actions.rows(case)
        if as_json:
            print(json.dumps([r.as_json() for r in rows], indent=2))
            return
        table = Table(title=f"{len(rows)} actions", box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("ID", "Case", "Action", "Status"):
            table.add_column(column, no_wrap=True)
        for column in ("Target", "Rule", "Lease ends"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                str(r.id),
                r.case_id,
                r.action,
                _safe(r.target),
                r.status,
                r.rule_id,
                (r.expires_at or "")[:19],
            )
        out.print(table)
        out.print("The lab connector is a simulation: nothing outside tierzero was changed.")


@actions_app.command("rollback")
def actions_rollback(
    action_id: Annotated[int, typer.Argument(help="Action id (see 'actions list').")],
    actor: Annotated[str, typer.Option("--as", help="Who rolls it back (audited).")],
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Undo an executed action now, through its inverse; records who and why."""
    settings = _settings(config)
    with _open_store(db, must_exist=True) as store:
        row = store.actions.get(action_id)
        if row is None:
            raise _fail(f"no action {action_id}")
        try:
            done = rollback(
                store.actions,
                lab_connector(store, settings),
                settings.policy,
                row,
                actor=actor,
                reason=reason,
                now=datetime.now(UTC),
            )
        except RollbackRefused as exc:
            raise _fail(str(exc)) from None
        out.print(f"action {done.id} ({done.action} {_safe(done.target)}) is {done.status}")


@leases_app.command("sweep")
def leases_sweep(db: DbOption = DEFAULT_DB, config: ConfigOption = None) -> None:
    """Undo every executed action whose lease (TTL) has ended."""
    settings = _settings(config)
    with _open_store(db, must_exist=True) as store:
        undone = sweep_leases(
            store.actions, lab_connector(store, settings), settings.policy, datetime.now(UTC)
        )
    for row in undone:
        out.print(f"expired: action {row.id} {row.action} {_safe(row.target)} (case {row.case_id})")
    out.print(f"{len(undone)} leases ended and were rolled back.")


@approvals_app.command("list")
def approvals_list(
    db: DbOption = DEFAULT_DB, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Pending approvals with their due time. Reminds at half the window and expires what is
    due first (an expired request is never executed; its case is escalated)."""
    settings = _settings(config)
    with _open_store(db, must_exist=True) as store:
        notes = approval_housekeeping(store, settings, datetime.now(UTC))
        rows = store.actions.pending()
        if as_json:
            print(json.dumps([r.as_json() for r in rows], indent=2))
            return
        for note in notes:
            err.print(_safe(note))
        table = Table(title=f"{len(rows)} approvals pending", box=box.SIMPLE_HEAD, pad_edge=False)
        for column in ("ID", "Case", "Action", "Due (UTC)"):
            table.add_column(column, no_wrap=True)
        for column in ("Target", "Why approval"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(
                str(r.id),
                r.case_id,
                r.action,
                (r.approval_due or "")[:16],
                _safe(r.target),
                _safe(f"{r.rule_id}: {r.reason}"),
            )
        out.print(table)


def _answer(
    action_id: int, approved: bool, actor: str, reason: str, db: Path, config: Path | None
) -> None:
    settings = _settings(config)
    now = datetime.now(UTC)
    with _open_store(db, must_exist=True) as store:
        approval_housekeeping(store, settings, now)
        row = store.actions.get(action_id)
        if row is None:
            raise _fail(f"no action {action_id}")
        answer = ApprovalAnswer.for_row(
            row, approved=approved, approver=actor, reason=reason, at=now
        )
        verdict, why = rule_on_answer(row, row.case_id, answer)
        if verdict in ("refuse", "expire"):
            raise _fail(why)
        answer_approval(
            store, settings, action_id, approved=approved, approver=actor, reason=reason, now=now
        )
        done = store.actions.get(action_id)
        assert done is not None
        out.print(f"action {done.id} ({done.action} {_safe(done.target)}): {done.status}")


@approvals_app.command("approve")
def approvals_approve(
    action_id: Annotated[int, typer.Argument(help="Action id (see 'approvals list').")],
    actor: Annotated[str, typer.Option("--as", help="Who approves (not the requester).")],
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Approve one pending action (bound to its exact hash); it executes at once."""
    _answer(action_id, True, actor, reason, db, config)


@approvals_app.command("deny")
def approvals_deny(
    action_id: Annotated[int, typer.Argument(help="Action id (see 'approvals list').")],
    actor: Annotated[str, typer.Option("--as", help="Who denies.")],
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
) -> None:
    """Deny one pending action; it will never run."""
    _answer(action_id, False, actor, reason, db, config)


@app.command("doctor")
def doctor(
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    probe: Annotated[
        bool, typer.Option("--probe/--no-probe", help="Ask the endpoint for its models.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Which mode is active (offline analyst, or a model endpoint from OPENAI_BASE_URL /
    OPENAI_API_KEY / TIERZERO_MODEL), whether the endpoint answers, how tokens are counted,
    and the state of the similar-case memory. Exits 1 when a required check fails."""
    from tierzero.doctor import run_checks

    checks = run_checks(_settings(config), db, probe)
    if as_json:
        print(json.dumps([c.as_json() for c in checks], indent=2))
    else:
        for c in checks:
            mark = (
                "[green]ok[/]  " if c.ok else ("[red]FAIL[/]" if c.required else "[yellow]warn[/]")
            )
            out.print(f"{mark} {c.name}: {_safe(c.detail)}")
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(1)


@app.command("chat")
def chat_command(
    case_id: Annotated[str, typer.Argument(help="Case id, e.g. C-4.")],
    analyst: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Your name. Needed to request actions: they are proposed as analyst:NAME "
            "through the guardrails and audited. Without it the chat answers questions only.",
        ),
    ] = None,
    messages: Annotated[
        list[str] | None,
        typer.Option(
            "--message",
            "-m",
            help="Ask this, print the answer and exit (repeatable; no interactive prompt).",
        ),
    ] = None,
    offline: Annotated[
        bool,
        typer.Option(
            "--offline", help="Use the offline analyst even when a model endpoint is configured."
        ),
    ] = False,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="With --message: print the replies as JSON.")
    ] = False,
) -> None:
    """Talk with the investigation agent about one case; answers cite evidence ids (E1 ...).

    With a model endpoint configured the model answers (through the audited model gate) and
    the offline analyst takes over if it fails; otherwise, or with --offline, the offline
    analyst answers from the case's evidence. Ask 'summary', 'why this verdict?', 'timeline',
    'hosts', 'E7', 'actions', 'similar cases' or '/help'. Action requests ('isolate HOST',
    'disable user NAME', 'block ip ADDRESS' ...) go through the guardrails like any other
    (allowed, needs approval, or denied, with the rule) and need --as NAME. The conversation
    is kept with the case ('/history') and every message is audited. Interactive commands:
    /help, /history, /quit (or end of input).
    """
    from tierzero.chat import open_chat

    if as_json and not messages:
        raise _fail("--json needs --message (the interactive chat prints text)", 2)
    settings = _settings(config)
    with _open_store(db, must_exist=True) as store:
        row = store.case(case_id)
        if row is None:
            raise _fail(f"no case {case_id!r} (see 'tierzero cases list')")
        if row.merged_into:
            raise _fail(f"case {case_id} was merged into {row.merged_into}: chat on that one")
        with open_chat(
            store, settings, case_id, analyst=analyst, model="off" if offline else "env"
        ) as session:
            if messages:
                replies = [(m, session.ask(m)) for m in messages if m.strip()]
                if as_json:
                    document = {
                        "case_id": case_id,
                        "mode": session.mode,
                        "replies": [{"question": q, **r.as_json()} for q, r in replies],
                    }
                    print(json.dumps(document, indent=2))
                    return
                for question, reply in replies:
                    out.print(f"[bold]you>[/] {_safe(question)}")
                    _print_reply(reply.text, reply.answered_by)
                return
            out.print(
                f"Chat on [bold]{case_id}[/] ({_safe(row.verdict)} {row.confidence or 0:.2f}, "
                f"{_safe(row.priority)}, {_safe(row.status)}): {_safe(row.title or '')}"
            )
            who = (
                f"as analyst:{_safe(session.analyst)}"
                if session.analyst
                else "no --as NAME: questions only, no actions"
            )
            out.print(f"Answering: {_safe(session.mode)}; {who}. /help, /history, /quit.")
            while True:
                try:
                    line = input("you> ")
                except EOFError:
                    out.print()
                    break
                text = line.strip()
                if text in ("/quit", "/exit", "/q"):
                    break
                if text == "/help":
                    _print_reply(session.help(), "")
                elif text == "/history":
                    for message in session.history(40):
                        out.print(
                            f"[dim]{message.created_at:%Y-%m-%d %H:%M}Z {_safe(message.author)}:[/]"
                        )
                        for part in message.content.splitlines()[:8]:
                            out.print(f"  [dim]{_safe(part)}[/]")
                elif text:
                    reply = session.ask(text)
                    _print_reply(reply.text, reply.answered_by)


def _print_reply(text: str, answered_by: str) -> None:
    """A chat answer line by line (it quotes alert text: each line is made safe)."""
    prefix = f"[cyan]{_safe(answered_by)}>[/] " if answered_by else ""
    for index, line in enumerate(text.splitlines() or [""]):
        out.print((prefix if index == 0 else "  ") + _safe(line))


@app.command("autonomy")
def autonomy(
    state: Annotated[str, typer.Argument(help="'on' or 'off'.", metavar="on|off")],
    actor: Annotated[str, typer.Option("--as", help="Who flips the switch (audited).")],
    reason: Annotated[str, typer.Option(help="Why (audited).")] = "",
    db: NewDbOption = DEFAULT_DB,
) -> None:
    """The global kill switch: 'off' sends every action to approval, whatever the policy says."""
    if state not in ("on", "off"):
        raise _fail("say 'on' or 'off'", 2)
    with _open_store(db) as store:
        store.set_autonomy(state == "on", actor, reason, datetime.now(UTC))
    out.print(
        f"autonomy is {state}"
        + ("" if state == "on" else ": every proposed action now needs a person's approval")
    )


# The evaluation harness's operating commands (tierzero/evals/ops_cli.py).
app.command("shadow")(shadow_command)
app.command("metrics")(metrics_command)


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
