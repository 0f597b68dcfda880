"""``tierzero shadow`` and ``tierzero metrics``: the operating side of the evaluation harness.

The commands are registered on the main app in ``tierzero/cli/__init__.py``; the helpers they
share with the other commands are in ``tierzero/cli/support.py``.
"""

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
    err,
    fail,
    load_settings,
    open_store,
    out,
    safe,
)
from tierzero.config import ConfigError
from tierzero.evals.live import LiveMetrics, live_metrics, parse_since
from tierzero.evals.precision import write_precision
from tierzero.evals.shadow import ShadowReport, load_candidate, shadow_run
from tierzero.store.sqlite import DEFAULT_DB

MAX_DETECTION_ROWS = 40  # the most resolved first; --json has every detection


def shadow_command(
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Candidate policy file (policy.yaml format)."),
    ] = None,
    playbooks: Annotated[
        Path | None,
        typer.Option("--playbooks", help="Candidate playbooks folder (*.yaml)."),
    ] = None,
    db: DbOption = DEFAULT_DB,
    config: ConfigOption = None,
    as_json: JsonOption = False,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Replay only the newest N cases.", min=1)
    ] = None,
    fail_on_change: Annotated[
        bool,
        typer.Option("--fail-on-change", help="Exit 1 when any decision would change (for CI)."),
    ] = False,
) -> None:
    """Replay stored cases through a candidate policy and/or playbooks and report every
    decision that would change. Nothing is executed and the store is not changed: the replay
    runs on a temporary copy, stops before the act node, and only one 'shadow' audit record
    is added. Each case is replayed at the time of its stored analysis, with the offline
    analyst, under the current settings (baseline) and the candidate; only differences
    between those two are changes. Cases whose baseline differs from what is stored are
    listed as drift."""
    if policy is None and playbooks is None:
        raise fail("give a candidate: --policy FILE and/or --playbooks DIR", 2)
    current = load_settings(config)
    try:
        candidate = load_candidate(current, policy, playbooks)
    except ConfigError as exc:
        raise fail(f"candidate refused: {exc}", 2) from None
    with open_store(db, must_exist=True) as store:
        report = shadow_run(store, current, candidate, datetime.now(UTC), limit=limit)
    if as_json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        _print_shadow(report)
    if fail_on_change and report.changed:
        raise typer.Exit(1)


def _print_shadow(report: ShadowReport) -> None:

    cand = report.candidate
    what = []
    if cand["policy_file"]:
        what.append(
            f"policy {safe(cand['policy_version'])} ({safe(cand['policy_file'])}, "
            f"sha256 {cand['policy_sha256'][:12]})"
        )
    if cand["playbooks_dir"]:
        what.append(f"playbooks {safe(cand['playbooks_dir'])}")
    out.print(
        f"Shadow run: candidate {' + '.join(what)} against the current policy "
        f"{safe(report.current['policy_version'])}."
    )
    out.print(
        f"Analyst: {report.analyst}. Nothing was executed; the replay ran on a copy of the "
        "store at each case's analysis time."
    )
    styles = {"allow": "green", "needs_approval": "yellow", "deny": "red"}

    def outcome(view: object) -> str:
        name = getattr(view, "outcome", None)
        return f"[{styles.get(name, 'dim')}]{safe(name)}[/]" if name else "[dim](none)[/]"

    if report.changes:
        table = Table(
            title=f"{len(report.changes)} decisions would change",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for column in ("Case", "Action"):
            table.add_column(column, no_wrap=True)
        table.add_column("Target", overflow="fold", min_width=15)
        table.add_column("Before -> after", no_wrap=True)
        table.add_column("Rule (was)", overflow="fold")
        for c in report.changes:
            before_rule = c.before.rule_id if c.before else "-"
            after_rule = c.after.rule_id if c.after else "-"
            table.add_row(
                safe(c.case_id),
                safe(c.action),
                safe(c.target),
                f"{outcome(c.before)} -> {outcome(c.after)}",
                safe(after_rule if before_rule == after_rule else f"{after_rule} ({before_rule})"),
            )
        out.print(table)
    for change in report.case_changes:
        out.print(
            f"  {safe(change.case_id)} {safe(change.field)}: "
            f"{safe(change.before)} -> {safe(change.after)}"
        )
    out.print(report.summary_line())
    drifted = sorted({d.case_id for d in report.drift}, key=_case_order)
    if drifted:
        out.print(
            f"[yellow]drift:[/] the baseline replay differs from the stored analysis in "
            f"{len(drifted)} case(s) ({safe(', '.join(drifted[:12]))}"
            f"{' ...' if len(drifted) > 12 else ''}): older policy, a model analyst or new "
            "alerts since; not caused by the candidate (see --json 'drift')."
        )
    for case_id, problem in report.errors:
        err.print(f"[yellow]warning:[/] {safe(case_id)} could not be replayed: {safe(problem)}")


def _case_order(case_id: str) -> tuple[int, str]:
    number = case_id.removeprefix("C-")
    return (int(number), "") if number.isdigit() else (1 << 62, case_id)


def metrics_command(
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Only cases created at or after this ISO date or date-time (UTC).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = DEFAULT_DB,
    as_json: JsonOption = False,
    write_precision_to: Annotated[
        Path | None,
        typer.Option(
            "--write-precision",
            help="Write each detection's measured precision to this file (detections.yaml in "
            "the config folder feeds the policy).",
        ),
    ] = None,
    min_samples: Annotated[
        int,
        typer.Option(
            "--min-samples",
            help="Report and write a detection's precision only from this many resolved alerts "
            "on (the policy also applies its own detections.min_samples).",
            min=1,
        ),
    ] = 1,
) -> None:
    """Operating metrics from the store: time from alert to analysed case and from case to
    containment (median, p95), false-positive rate and precision per detection from analysts'
    resolutions, analyst touches per case, the share of concluded cases with complete
    evidence, and ATT&CK technique coverage. 'n/a' means nothing to measure."""

    try:
        start = parse_since(since) if since is not None else None
    except ValueError as exc:
        raise fail(f"--since: {exc}", 2) from None
    with open_store(db, must_exist=True) as store:
        metrics = live_metrics(store, start)
    document = {**metrics.as_json(), "min_samples": min_samples}
    if not as_json:
        _print_metrics(metrics, min_samples)
    if write_precision_to is not None:
        scope = f"cases since {start.isoformat()}" if start else "all cases"
        try:
            written = write_precision(
                write_precision_to,
                metrics.precision_figures(min_samples),
                f"store {db}, {scope}",
                datetime.now(UTC),
            )
        except OSError as exc:
            raise fail(f"cannot write {write_precision_to}: {exc}") from None
        document["precision_written"] = {"file": str(write_precision_to), "detections": written}
        if not as_json:
            out.print(
                safe(
                    f"wrote the measured precision of {written} detections to "
                    f"{write_precision_to} (from {min_samples}+ resolved alerts each; the policy "
                    "uses those with detections.min_samples or more)"
                )
            )
    if as_json:
        print(json.dumps(document, indent=2))


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value < 120:
        return f"{value:.0f}s"
    if value < 7200:
        return f"{value / 60:.1f}m"
    if value < 172800:
        return f"{value / 3600:.1f}h"
    return f"{value / 86400:.1f}d"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _number(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _print_metrics(m: LiveMetrics, min_samples: int) -> None:

    scope = f"cases created since {m.since.isoformat()}" if m.since else "all cases"
    out.print(
        f"Live metrics over {m.cases} cases ({safe(scope)}): {m.alerts} alerts, "
        f"{m.resolved_cases} cases resolved by analysts."
    )
    summary = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("Metric", "Median", "p95"):
        summary.add_column(column, no_wrap=True)
    summary.add_column("Over", overflow="fold")
    a, c = m.alert_to_analysis, m.case_to_containment
    summary.add_row(
        "Alert ingested -> case analysed",
        _seconds(a.median),
        _seconds(a.p95),
        f"{a.count} alerts"
        + (f"; {m.alerts_not_analysed} not analysed yet" if m.alerts_not_analysed else ""),
    )
    summary.add_row(
        "Case opened -> first containment",
        _seconds(c.median),
        _seconds(c.p95),
        f"{c.count} contained cases of {m.cases}",
    )
    t = m.touches
    kinds = safe(", ".join(f"{n} {k}" for k, n in t.by_kind.items()) or "none")
    summary.add_row(
        "Analyst touches per case",
        _number(t.per_case_median, 1),
        "",
        f"mean {_number(t.per_case_mean)}; {t.touched_cases} of {t.cases} cases touched, "
        f"{_share(t.untouched_share)} untouched ({kinds})",
    )
    e = m.evidence
    summary.add_row(
        "Concluded with complete evidence",
        _share(e.share),
        "",
        f"{e.complete} of {e.concluded} concluded cases",
    )
    k = m.attack
    summary.add_row(
        "ATT&CK coverage",
        f"{len(k.techniques)} techn.",
        "",
        f"{k.cases_with_technique} of {k.cases} cases ({_share(k.share)}) have a technique; "
        f"{len(k.by_tactic)} tactics",
    )
    out.print(summary)
    for case_id, problem in e.incomplete[:20]:
        out.print(f"  incomplete evidence: {safe(case_id)}: {safe(problem)}")
    if k.by_tactic:
        out.print(
            "Techniques by tactic: "
            + "; ".join(
                f"{safe(tactic)} {safe(', '.join(ids))}" for tactic, ids in k.by_tactic.items()
            )
        )
    if not m.detections:
        return
    shown_rows = sorted(m.detections, key=lambda d: (-d.resolved, -d.alerts, d.detection_id))
    title = f"Precision per detection, from analysts' resolutions ({len(m.detections)} detections"
    if min_samples > 1:
        title += f"; shown from {min_samples} resolved alerts"
    table = Table(title=title + ")", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("Detection", overflow="fold", min_width=24)
    for column in ("Alerts", "Resolved", "TP", "FP rate", "Precision", "Unresolved"):
        table.add_column(column, no_wrap=True, justify="right")
    for d in shown_rows[:MAX_DETECTION_ROWS]:
        shown = d.resolved >= min_samples
        table.add_row(
            safe(d.detection_id),
            str(d.alerts),
            str(d.resolved),
            str(d.true_positive),
            _number(d.fp_rate) if shown else "n/a",
            _number(d.precision) if shown else "n/a",
            str(d.unresolved),
        )
    out.print(table)
    if len(shown_rows) > MAX_DETECTION_ROWS:
        out.print(f"  ... {len(shown_rows) - MAX_DETECTION_ROWS} more detections (see --json)")
