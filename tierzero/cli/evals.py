"""``tierzero eval``: run a labelled dataset and write the report; ``eval compare`` gates a change.

``tierzero eval DATASET`` is the same as ``tierzero eval run DATASET``: a group whose first
argument is not one of its commands runs ``run`` (so ``compare`` stays a command).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from tierzero.cli.support import (
    ConfigOption,
    JsonOption,
    err,
    load_settings,
    out,
    progress_bar,
    refusals,
    safe,
    visible,
)
from tierzero.evals.evaluate import EvalRequest, ReplayRequest, compare_runs, evaluate, replay
from tierzero.evals.render import num, pct


class _RunByDefault(TyperGroup):
    """``eval DATASET ...`` means ``eval run DATASET ...``."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=_RunByDefault,
    help="Score tierzero on labelled data: 'tierzero eval run builtin' runs the built-in suite; "
    "'tierzero eval compare A B' fails when a change makes things worse.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@eval_app.command("run")
def eval_run(
    dataset: Annotated[
        str,
        typer.Argument(
            help="'builtin', a dataset folder (dataset.json + scenarios/), a dataset .json "
            "file, or labelled CSV files (with --mapping and --label-column).",
            show_default=False,
        ),
    ],
    more: Annotated[
        list[Path] | None,
        typer.Argument(help="More labelled CSV files (external data).", show_default=False),
    ] = None,
    agent: Annotated[
        str,
        typer.Option(
            help="offline: the deterministic playbook analyst. llm: the LLM agents too, at "
            "the endpoint in OPENAI_BASE_URL / OPENAI_API_KEY / TIERZERO_MODEL."
        ),
    ] = "offline",
    policy: Annotated[
        Path | None,
        typer.Option(help="A candidate policy.yaml to evaluate instead of the configured one."),
    ] = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Report folder (default: tierzero-eval/DATASET-AGENT).",
            show_default=False,
        ),
    ] = None,
    config: ConfigOption = None,
    category: Annotated[
        list[str] | None, typer.Option(help="Only scenarios of this category (repeatable).")
    ] = None,
    scenario: Annotated[
        list[str] | None, typer.Option(help="Only this scenario id (repeatable).")
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option(help="External CSV: the field mapping YAML.")
    ] = None,
    label_column: Annotated[
        str | None, typer.Option(help="External CSV: the column holding each row's label.")
    ] = None,
    benign_label: Annotated[
        list[str] | None,
        typer.Option(help="External CSV: a label value that means 'not an attack' (repeatable)."),
    ] = None,
    drop_column: Annotated[
        list[str] | None,
        typer.Option(help="External CSV: another column triage must not see (repeatable)."),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(help="External CSV: the run's clock, ISO 8601 UTC (default: now)."),
    ] = None,
    write_precision_to: Annotated[
        Path | None,
        typer.Option(
            "--write-precision",
            help="Also write each detection's measured precision to this detections.yaml "
            "(put it in the config folder: policy automates only precise detections).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run every scenario in isolation (a fresh store and lab each) and write report.json,
    report.md and PNG charts. Exits 1 if an action that must never happen was executed or a
    scenario could not run."""
    request = EvalRequest(
        dataset=dataset,
        more=tuple(more or ()),
        agent=agent,
        policy=policy,
        out_dir=out_dir,
        categories=tuple(category or ()),
        scenarios=tuple(scenario or ()),
        mapping=mapping,
        label_column=label_column,
        benign_labels=tuple(benign_label or ()),
        drop_columns=tuple(drop_column or ()),
        now=now,
        write_precision_to=write_precision_to,
    )
    settings = load_settings(config)
    with refusals(), progress_bar() as update:
        result = evaluate(request, settings, update)
    metrics = result.report["metrics"]
    if as_json:
        out.print_json(
            json.dumps({"out": str(result.folder), "metrics": metrics}), ensure_ascii=True
        )
    else:
        _print_summary(result.report)
        out.print(f"report: {safe(', '.join(str(p) for p in result.written))}")
    if result.precision_written is not None:
        out.print(
            f"measured precision of {result.precision_written} detections written to "
            f"{safe(write_precision_to)}"
        )
    for problem in result.problems:
        err.print(f"[red]scenario failed:[/] {safe(problem)}")
    if result.failed:
        raise typer.Exit(1)


def _print_summary(report: dict[str, Any]) -> None:
    m = report["metrics"]
    data = report["dataset"]
    out.print(
        f"{safe(data['name'])} {safe(data['version'])}: {data['scenarios']} scenarios, "
        f"agent {safe(report['agent'])}"
        f"{' (' + safe(report['model']) + ')' if report['model'] else ''}"
        f", {report['seconds']:.1f} s"
    )
    attacks = m["attacks_auto_closed"]
    forbidden = m["forbidden_actions"]
    table = Table(show_header=True, header_style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        (
            "true attacks auto-closed",
            f"{attacks['count']} of {attacks['attack_cases']} ({pct(attacks['share'])})",
        ),
        (
            "forbidden actions executed",
            f"{forbidden['executed']} (blocked attempts {forbidden['blocked']})",
        ),
        (
            "benign alerts auto-closed",
            f"{m['benign_alerts_auto_closed']['count']} of "
            f"{m['benign_alerts_auto_closed']['benign_alerts']} "
            f"({pct(m['benign_alerts_auto_closed']['share'])})",
        ),
        ("verdict macro-F1", num(m["verdict"]["macro_f1"])),
        ("verdict accuracy", pct(m["verdict"]["accuracy"])),
        ("sent to a person (needs_review)", pct(m["verdict"]["needs_review"])),
        (
            "grouping pairwise P / R",
            f"{num(m['grouping']['precision'])} / {num(m['grouping']['recall'])}",
        ),
        ("ATT&CK technique F1", num(m["techniques"]["f1"])),
        ("evidence completeness", pct(m["evidence"]["share"])),
        ("expected actions proposed", pct(m["expected_actions"]["proposed_share"])),
        ("approval requests per benign case", num(m["approvals_on_benign"]["per_benign_case"])),
        (
            "alert -> enriched case, median / p95 s",
            f"{num(m['latency']['alert_to_enriched_s']['median'])} / "
            f"{num(m['latency']['alert_to_enriched_s']['p95'])}",
        ),
        (
            "case -> containment, median / p95 s",
            f"{num(m['latency']['case_to_containment_s']['median'])} / "
            f"{num(m['latency']['case_to_containment_s']['p95'])}",
        ),
        (
            "model calls / tokens per case",
            f"{num(m['model']['calls_per_case'])} / {num(m['model']['tokens_per_case'])}",
        ),
    ]
    for name, value in rows:
        table.add_row(name, safe(value))
    out.print(table)
    if attacks["cases"]:
        out.print(
            "[bold red]attacks auto-closed:[/] " + ", ".join(safe(c) for c in attacks["cases"][:20])
        )


@eval_app.command("compare")
def eval_compare(
    before: Annotated[Path, typer.Argument(help="The baseline report.json (or its folder).")],
    after: Annotated[Path, typer.Argument(help="The candidate report.json (or its folder).")],
    threshold: Annotated[
        list[str] | None,
        typer.Option(
            help="METRIC=VALUE: how much a metric may get worse (repeatable; overrides "
            "config eval.yaml), e.g. verdict.macro_f1=0.01."
        ),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """What changed between two runs, case by case; exits 1 when a metric regresses beyond
    its threshold (so CI can gate a playbook, prompt, model or policy change)."""
    with refusals():
        result = compare_runs(before, after, config, threshold or [])
    if as_json:
        out.print_json(json.dumps(result.to_dict()), ensure_ascii=True)
    else:
        # The report quotes dataset and scenario names: escaped line by line, layout kept.
        report = "\n".join(visible(line) for line in result.to_markdown().split("\n"))
        out.print(report, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(result.exit_code)


__all__ = ["eval_app"]


@eval_app.command("replay")
def eval_replay(
    files: Annotated[
        list[Path],
        typer.Argument(help="Labelled CSV files, each one scenario.", show_default=False),
    ],
    mapping: Annotated[Path, typer.Option(help="The field mapping YAML.", show_default=False)],
    label_column: Annotated[
        str, typer.Option(help="The column holding each row's label.", show_default=False)
    ],
    benign_label: Annotated[
        list[str], typer.Option(help="A label value that means 'not an attack' (repeatable).")
    ],
    drop_column: Annotated[
        list[str] | None,
        typer.Option(help="Another column triage must not see (repeatable)."),
    ] = None,
    step: Annotated[str, typer.Option(help="Data time per step (ISO 8601 duration).")] = "PT1H",
    resolve_after: Annotated[
        str,
        typer.Option(help="How long after an escalation the simulated analyst resolves it."),
    ] = "PT4H",
    approve_learned: Annotated[
        str,
        typer.Option(
            help="yes: a simulated admin approves every suppression tierzero proposes; no: "
            "proposals wait (the baseline to compare with).",
        ),
    ] = "no",
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Report folder (default: tierzero-eval/replay-...)."),
    ] = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Replay labelled data in time order with tierzero's clock at data time. A SIMULATED
    analyst resolves escalated cases from the labels (a case holding any attack-labelled alert
    is a true positive) after --resolve-after; with --approve-learned yes a SIMULATED admin
    approves proposed suppressions. Writes eval run's report plus per-day figures and
    learning_curve.png."""
    if approve_learned not in ("yes", "no"):
        raise typer.BadParameter("yes or no", param_hint="--approve-learned")
    request = ReplayRequest(
        files=tuple(files),
        mapping=mapping,
        label_column=label_column,
        benign_labels=tuple(benign_label),
        drop_columns=tuple(drop_column or ()),
        step=step,
        resolve_after=resolve_after,
        approve_learned=approve_learned == "yes",
        out_dir=out_dir,
    )
    settings = load_settings(config)
    with refusals(), progress_bar() as update:
        result = replay(request, settings, update)
    scenarios = result.report["scenarios"]
    if as_json:
        out.print_json(
            json.dumps({"out": str(result.folder), "replay": [s.get("replay") for s in scenarios]}),
            ensure_ascii=True,
        )
    else:
        _print_replay(scenarios)
        out.print(f"report: {safe(', '.join(str(p) for p in result.written))}")
    for problem in result.problems:
        err.print(f"[red]scenario failed:[/] {safe(problem)}")
    if result.problems:
        raise typer.Exit(1)


def _print_replay(scenarios: list[dict[str, Any]]) -> None:
    """One table per scenario, a row per day (the day never cut short)."""
    for scenario in scenarios:
        table = Table(title=safe(scenario["id"]), show_header=True, header_style="bold")
        table.add_column("day", no_wrap=True)
        for column in ("escalated", "noise only", "phases", "FP alerts closed", "by a rule"):
            table.add_column(column, justify="right")
        for d in (scenario.get("replay") or {}).get("days") or ():
            table.add_row(
                safe(d["day"]),
                str(d["escalated_cases"]),
                str(d["noise_only_escalated_cases"]),
                str(len(d["attack_phases_escalated"])),
                f"{d['benign_alerts_auto_closed']}/{d['benign_alerts']}",
                f"{d['attack_alerts_closed_by_learned_rule']}/{d['attack_alerts']}",
            )
        out.print(table)
    out.print(
        "phases: attack labels reaching an escalated case; by a rule: attack-labelled alerts "
        "a learned suppression closed"
    )
