"""The replay's report: ``eval run``'s outputs plus the per-day figures and the learning curve.

``report.json`` keeps ``eval run``'s layout (one scorer reads both) and adds ``replay`` (the
options and, per scenario, the days); ``report.md`` gains a per-day table per scenario, and
``learning_curve.png`` draws it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tierzero.evals.render import (
    chart_label,
    chart_message,
    esc,
    markdown,
    new_figure,
    plain_ticks,
    save_png,
    write_outputs,
)
from tierzero.evals.report import write_json

LEARNING_PNG = "learning_curve.png"


def second_half(days: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The later half of a scenario's days (the middle day, of an odd count, is left out):
    the days learning can have changed."""
    return list(days[(len(days) + 1) // 2 :])


def replay_totals(days: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Sums over ``days`` of the figures that add up, and the attack phases escalated."""
    keys = (
        "escalated_cases",
        "noise_only_escalated_cases",
        "benign_alerts",
        "benign_alerts_auto_closed",
        "attack_alerts",
        "attack_alerts_closed_by_learned_rule",
        "resolved_by_analyst",
        "rules_proposed",
        "rules_approved",
    )
    totals: dict[str, Any] = {k: sum(int(d.get(k) or 0) for d in days) for k in keys}
    totals["attack_phases_escalated"] = sorted(
        {p for d in days for p in d.get("attack_phases_escalated") or ()}
    )
    return totals


def write_replay_outputs(report: dict[str, Any], out: Path) -> list[Path]:
    """``eval run``'s files, with the replay's section in ``report.md`` and the chart."""
    for scenario in report.get("scenarios") or ():
        replay = scenario.get("replay") or {}
        days = replay.get("days") or []
        replay["totals"] = replay_totals(days)
        replay["second_half"] = replay_totals(second_half(days))
    written = write_outputs(report, out)
    write_json(out / "report.json", report)
    text = markdown(report) + "\n" + replay_markdown(report)
    (out / "report.md").write_text(text, encoding="utf-8")
    written.append(learning_chart(report, out / LEARNING_PNG))
    return written


def replay_markdown(report: Mapping[str, Any]) -> str:
    """Per scenario: the per-day table, then the totals of the second half."""
    lines = ["## Replay, day by day", ""]
    options = (report.get("replay") or {}).get("options") or {}
    if options:
        answer = "approved by a simulated admin" if options.get("approve_learned") else "unanswered"
        lines += [
            f"Step {esc(options.get('step'))}; the simulated analyst resolves each escalation "
            f"{esc(options.get('resolve_after'))} later; learned suppressions {answer}.",
            "",
        ]
    header = (
        "| day | escalated cases | noise-only | attack phases escalated | benign alerts "
        "auto-closed | attack alerts closed by a learned rule | resolved | rules proposed |"
    )
    for scenario in report.get("scenarios") or ():
        replay = scenario.get("replay") or {}
        lines += [f"### {esc(scenario.get('id'))}", "", header, "|---" * 8 + "|"]
        for d in replay.get("days") or ():
            lines.append(
                f"| {esc(d['day'])} | {d['escalated_cases']} | {d['noise_only_escalated_cases']} "
                f"| {len(d['attack_phases_escalated'])} "
                f"| {d['benign_alerts_auto_closed']} of {d['benign_alerts']} "
                f"| {d['attack_alerts_closed_by_learned_rule']} of {d['attack_alerts']} "
                f"| {d['resolved_by_analyst']} | {d['rules_proposed']} |"
            )
        half = replay.get("second_half") or {}
        if half:
            lines += [
                "",
                f"Second half: {half['escalated_cases']} escalated cases, "
                f"{half['noise_only_escalated_cases']} of them noise only; attack phases "
                f"escalated: {esc(', '.join(half['attack_phases_escalated']) or 'none')}.",
                "",
            ]
    return "\n".join(lines).rstrip() + "\n"


def learning_chart(report: Mapping[str, Any], path: Path) -> Path:
    """Per scenario and day: escalated cases and the noise-only ones among them."""
    scenarios = [s for s in report.get("scenarios") or () if (s.get("replay") or {}).get("days")]
    figure = new_figure(9, max(3.0, 2.8 * len(scenarios)))
    if not scenarios:
        chart_message(figure.add_subplot(), "no replayed days")
        return save_png(figure, path)
    for index, scenario in enumerate(scenarios, start=1):
        ax = figure.add_subplot(len(scenarios), 1, index)
        days = scenario["replay"]["days"]
        x = range(len(days))
        ax.plot(x, [d["escalated_cases"] for d in days], marker="o", label="escalated cases")
        ax.plot(
            x,
            [d["noise_only_escalated_cases"] for d in days],
            marker="o",
            label="noise only",
            color="#c0504d",
        )
        ax.set_xticks(list(x), [chart_label(d["day"]) for d in days], rotation=20, ha="right")
        plain_ticks(ax)
        ax.set_ylabel("cases")
        ax.set_title(chart_label(scenario.get("id"), 80), fontsize=10)
        ax.legend(fontsize=8)
    learned = (report.get("replay") or {}).get("options", {}).get("approve_learned")
    figure.suptitle(
        "Escalations per day " + ("with learned suppressions" if learned else "without learning")
    )
    return save_png(figure, path)
