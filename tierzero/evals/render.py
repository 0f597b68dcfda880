"""Human-readable outputs of an evaluation report: ``report.md`` and three PNG charts.

The Markdown is what a SOC lead reads first, so it opens with the error that matters most (true
attacks closed with no person deciding), then the safety check (forbidden actions), then the
quality metrics. Every string taken from the report (detection ids, case keys, labels, error
messages) comes from alert data and is escaped before it reaches Markdown, so a crafted value
cannot break a table, start a link or smuggle HTML.

Charts use matplotlib's Agg canvas directly (no pyplot, so no global figure state and no GUI
backend); matplotlib is imported only when a chart is drawn, because importing it is slow.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierzero.evals.report import write_json
from tierzero.evals.stats import median, percentile

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

CONFUSION_PNG = "confusion_matrix.png"
DETECTIONS_PNG = "detection_fp_rates.png"
TOKENS_PNG = "tokens_per_case.png"
WRONG_CASES_SHOWN = 50
TOP_DETECTIONS_MD = 15
TOP_DETECTIONS_CHART = 25
_NA = "n/a"


def write_outputs(report: Mapping[str, Any], out: Path) -> list[Path]:
    """Write ``report.json``, ``report.md`` and the three charts into ``out``; return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "report.json", out / "report.md"]
    write_json(written[0], dict(report))
    written[1].write_text(markdown(report), encoding="utf-8")
    written.append(confusion_chart(report, out / CONFUSION_PNG))
    written.append(detection_chart(report, out / DETECTIONS_PNG))
    written.append(tokens_chart(report, out / TOKENS_PNG))
    return written


# -- formatting -----------------------------------------------------------------------------

# Characters with Markdown meaning anywhere in a paragraph or table cell. "(" and "!" only
# matter next to "[" or "]", which are escaped, so "(hard)" stays readable; so does
# "true_positive": an underscore between two letters cannot start emphasis.
_MD_SPECIAL = re.compile(r"[\\`*\[\]|~]")
_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# GFM's extended autolinks start at "scheme://", "mailto:", "xmpp:" and "www.": escaping that
# ':' or '.' stops them ("okta:user.login" is left alone).
_AUTOLINK = re.compile(r"(?i)(?::(?=//)|(?<=mailto):|(?<=xmpp):|(?<=\bwww)\.)")


def esc(value: object, limit: int = 160) -> str:
    """Untrusted text as inert Markdown (safe in a table cell, list item or heading).

    Control and format characters (newlines, bidi overrides) become spaces, Markdown
    punctuation is backslash-escaped, autolink starts are broken and ``& < >`` become
    entities (so no raw HTML in any renderer). Bare e-mail addresses may still be auto-linked
    by GitHub; such a link shows its own target, so it cannot disguise where it points.
    """
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = _MD_SPECIAL.sub(r"\\\g<0>", text)
    text = _UNDERSCORE.sub(r"\\_", text)
    text = _AUTOLINK.sub(r"\\\g<0>", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # At the start of a list item these would open a nested list, a heading or a rule.
    text = re.sub(r"^(\d{1,9})([.)])(?=\s|$)", r"\1\\\2", text)
    text = re.sub(r"^[-+#]", r"\\\g<0>", text)
    return text or '""'


def pct(value: float | None) -> str:
    """A share (0..1) as a percentage with one decimal; None is "n/a"."""
    return _NA if value is None else f"{value * 100:.1f}%"


def num(value: float | None, digits: int = 3) -> str:
    """A score with ``digits`` decimals (integers as they are); None is "n/a"."""
    if value is None:
        return _NA
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}f}"


def _get(document: Any, path: str) -> Any:
    """``document[a][b]...`` for path "a.b..."; None when any step is missing."""
    for key in path.split("."):
        if not isinstance(document, Mapping) or key not in document:
            return None
        document = document[key]
    return document


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A GFM table; cells must already be formatted (and escaped where untrusted)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines


def _bold_count(label: str, count: Any, total: Any, share: float | None) -> str:
    return f"**{label}: {count if count is not None else _NA} of {total} ({pct(share)})**"


# -- Markdown -------------------------------------------------------------------------------


def markdown(report: Mapping[str, Any]) -> str:
    """The run summary as Markdown, worst error first (see the module docstring)."""
    m: Mapping[str, Any] = report.get("metrics") or {}
    lines: list[str] = []
    lines += _title(report)
    lines += _attacks_closed(m)
    lines += _forbidden(m)
    lines += _benign_closed(m)
    lines += _verdicts(m)
    lines += _confusion(m)
    lines += _grouping_techniques_evidence(m)
    lines += _actions(m)
    lines += _latency(m)
    lines += _model(m)
    lines += _categories(m)
    lines += _detections(m)
    lines += _labels(m)
    lines += _errors(m)
    lines += _wrong_cases(report.get("cases") or [])
    return "\n".join(lines).rstrip() + "\n"


def _title(report: Mapping[str, Any]) -> list[str]:
    ds: Mapping[str, Any] = report.get("dataset") or {}
    name = esc(ds.get("name") or "?")
    version = esc(ds.get("version") or "?")
    agent = esc(report.get("agent") or "?")
    model = esc(report.get("model")) if report.get("model") else "none"
    digest = esc(str(ds["sha256"])[:16]) + "…" if ds.get("sha256") else _NA
    config_sha = _get(report, "config.config_sha256")
    config = esc(str(config_sha)[:16]) + "…" if config_sha else _NA
    return [
        f"# tierzero evaluation: {name} {version} (agent {agent}, model {model})",
        "",
        f"- Dataset: {name} {version}, {ds.get('scenarios', _NA)} scenarios, sha256 {digest}",
        f"- tierzero {esc(report.get('tierzero') or '?')}, configuration sha256 {config}, "
        f"policy version {esc(_get(report, 'config.policy_version') or _NA)}",
        f"- Run at {esc(report.get('created_at') or _NA)}, "
        f"{num(report.get('seconds'), 1)} s wall-clock",
        "",
    ]


def _attacks_closed(m: Mapping[str, Any]) -> list[str]:
    closed: Mapping[str, Any] = m.get("attacks_auto_closed") or {}
    keys = closed.get("cases") or []
    lines = [
        "## True attacks auto-closed",
        "",
        _bold_count(
            "True attacks auto-closed",
            closed.get("count"),
            closed.get("attack_cases", _NA),
            closed.get("share"),
        ),
        "",
        "A true attack whose alerts landed in a case that was closed with no person deciding: "
        "the worst error an automated tier can make.",
        "",
    ]
    lines += [f"- {esc(key)}" for key in keys]
    return [*lines, ""] if keys else lines


def _forbidden(m: Mapping[str, Any]) -> list[str]:
    forbidden: Mapping[str, Any] = m.get("forbidden_actions") or {}
    executed = forbidden.get("executed") or 0
    blocked = forbidden.get("blocked") or 0
    lines = ["## Forbidden actions", ""]
    if executed:
        lines.append(f"**FAIL: {executed} forbidden action(s) EXECUTED (must be 0).**")
        lines += ["", *(f"- {esc(item)}" for item in forbidden.get("executed_list") or [])]
    else:
        lines.append("**PASS: 0 forbidden actions executed.**")
    lines += ["", f"Blocked attempts (a forbidden action proposed and stopped): {blocked}", ""]
    shown = forbidden.get("blocked_list") or []
    lines += [f"- {esc(item)}" for item in shown[:20]]
    if len(shown) > 20 or blocked > len(shown):
        lines.append(f"- … and {blocked - min(len(shown), 20)} more")
    return [*lines, ""] if shown else lines


def _benign_closed(m: Mapping[str, Any]) -> list[str]:
    benign: Mapping[str, Any] = m.get("benign_alerts_auto_closed") or {}
    return [
        "## Benign alerts auto-closed (workload saved)",
        "",
        _bold_count(
            "Benign alerts auto-closed",
            benign.get("count"),
            benign.get("benign_alerts", _NA),
            benign.get("share"),
        ),
        "",
    ]


def _verdicts(m: Mapping[str, Any]) -> list[str]:
    verdict: Mapping[str, Any] = m.get("verdict") or {}
    classes: Mapping[str, Mapping[str, Any]] = verdict.get("classes") or {}
    rows = [
        [
            esc(cls),
            num(c.get("precision")),
            num(c.get("recall")),
            num(c.get("f1")),
            str(c.get("support", _NA)),
            str(c.get("predicted", _NA)),
        ]
        for cls, c in classes.items()
    ]
    return [
        "## Verdicts",
        "",
        *_table(["class", "precision", "recall", "F1", "support", "predicted"], rows),
        "",
        f"- Macro-F1: {num(verdict.get('macro_f1'))}",
        f"- Accuracy: {pct(verdict.get('accuracy'))}",
        f"- Sent to review (needs_review): {pct(verdict.get('needs_review'))}",
        "",
    ]


def _confusion(m: Mapping[str, Any]) -> list[str]:
    confusion: Mapping[str, Any] = _get(m, "verdict.confusion") or {}
    truth = confusion.get("truth") or []
    predicted = confusion.get("predicted") or []
    matrix = confusion.get("matrix") or []
    if not truth or not predicted:
        return []
    rows = [
        [f"**{esc(t)}**", *(str(n) for n in row)] for t, row in zip(truth, matrix, strict=False)
    ]
    return [
        "## Confusion matrix",
        "",
        "Rows: the truth; columns: tierzero's verdict.",
        "",
        *_table(["truth \\\\ predicted", *(esc(p) for p in predicted)], rows),
        "",
    ]


def _prf(section: Mapping[str, Any]) -> str:
    return (
        f"precision {num(section.get('precision'))}, recall {num(section.get('recall'))}, "
        f"F1 {num(section.get('f1'))}"
    )


def _grouping_techniques_evidence(m: Mapping[str, Any]) -> list[str]:
    grouping: Mapping[str, Any] = m.get("grouping") or {}
    techniques: Mapping[str, Any] = m.get("techniques") or {}
    evidence: Mapping[str, Any] = m.get("evidence") or {}
    return [
        "## Case grouping (pairwise)",
        "",
        f"{_prf(grouping)} ({grouping.get('true_pairs', _NA)} alert pairs grouped correctly, "
        f"{grouping.get('predicted_pairs', _NA)} grouped, "
        f"{grouping.get('expected_pairs', _NA)} expected)",
        "",
        "## ATT&CK techniques",
        "",
        f"{_prf(techniques)} ({techniques.get('tp', _NA)} correct of "
        f"{techniques.get('predicted', _NA)} predicted, {techniques.get('expected', _NA)} "
        "expected; sub-techniques count as their technique)",
        "",
        "## Evidence completeness",
        "",
        f"- Required alerts cited: {evidence.get('cited', _NA)} of "
        f"{evidence.get('required', _NA)} ({pct(evidence.get('share'))})",
        f"- Cases citing all their required alerts: {pct(evidence.get('complete_cases'))} "
        f"of {evidence.get('cases', _NA)}",
        "",
    ]


def _actions(m: Mapping[str, Any]) -> list[str]:
    expected: Mapping[str, Any] = m.get("expected_actions") or {}
    approvals: Mapping[str, Any] = m.get("approvals_on_benign") or {}
    total = expected.get("expected", _NA)
    return [
        "## Expected response actions",
        "",
        f"- Taken (executed): {expected.get('taken', _NA)} of {total} "
        f"({pct(expected.get('taken_share'))})",
        f"- Proposed (executed or sent for approval): {expected.get('proposed', _NA)} of "
        f"{total} ({pct(expected.get('proposed_share'))})",
        "",
        "## Approval requests on benign cases",
        "",
        f"{approvals.get('requests', _NA)} approval requests on "
        f"{approvals.get('benign_cases', _NA)} benign cases "
        f"({num(approvals.get('per_benign_case'), 2)} per benign case): reviewer load that "
        "bought nothing.",
        "",
    ]


def _latency(m: Mapping[str, Any]) -> list[str]:
    rows = []
    for key, label in (
        ("alert_to_enriched_s", "alert handed in → case analysed"),
        ("case_to_containment_s", "case created → containment executed"),
    ):
        entry: Mapping[str, Any] = _get(m, f"latency.{key}") or {}
        rows.append(
            [label, num(entry.get("median")), num(entry.get("p95")), str(entry.get("n", _NA))]
        )
    return [
        "## Latency",
        "",
        "Wall-clock seconds measured on this machine (the lab is simulated; compare runs on "
        "the same machine only).",
        "",
        *_table(["interval", "median s", "p95 s", "cases"], rows),
        "",
    ]


def _model(m: Mapping[str, Any]) -> list[str]:
    model: Mapping[str, Any] = m.get("model") or {}
    lines = ["## Model usage", ""]
    if not model.get("calls") and not model.get("tokens"):
        return [*lines, "No model calls (offline analyst).", ""]
    return [
        *lines,
        f"- Model calls: {model.get('calls', _NA)} "
        f"({num(model.get('calls_per_case'), 2)} per case over {model.get('cases', _NA)} cases)",
        f"- Tokens: {model.get('tokens', _NA)} ({num(model.get('tokens_per_case'), 1)} per case)",
        "",
    ]


def _categories(m: Mapping[str, Any]) -> list[str]:
    categories: Mapping[str, Mapping[str, Any]] = m.get("by_category") or {}
    if not categories:
        return []
    rows = [
        [
            esc(name),
            str(c.get("cases", _NA)),
            str(c.get("correct", _NA)),
            pct(c.get("accuracy")),
            str(c.get("needs_review", _NA)),
            str(c.get("attacks", _NA)),
            str(c.get("attacks_auto_closed", _NA)),
        ]
        for name, c in categories.items()
    ]
    header = ["category", "truth cases", "correct", "accuracy", "needs review", "attacks"]
    return [
        "## By category",
        "",
        "(hard) collects the hard scenarios of every category.",
        "",
        *_table([*header, "attacks auto-closed"], rows),
        "",
    ]


def top_detections(
    detections: Mapping[str, Mapping[str, Any]], limit: int
) -> list[tuple[str, Mapping[str, Any]]]:
    """Detections with a defined FP rate, highest first (ties: more alerts first)."""
    rated = [(d, r) for d, r in detections.items() if r.get("false_positive_rate") is not None]
    rated.sort(key=lambda item: (-item[1]["false_positive_rate"], -item[1].get("alerts", 0)))
    return rated[:limit]


def _detections(m: Mapping[str, Any]) -> list[str]:
    detections: Mapping[str, Mapping[str, Any]] = m.get("detections") or {}
    top = top_detections(detections, TOP_DETECTIONS_MD)
    if not top:
        return []
    rows = [
        [
            esc(name),
            str(r.get("alerts", _NA)),
            str(r.get("true_positive", _NA)),
            num(r.get("precision")),
            pct(r.get("false_positive_rate")),
        ]
        for name, r in top
    ]
    return [
        f"## Detections by false-positive rate (top {len(top)} of {len(detections)})",
        "",
        "Benign positives count as false positives here: automation keyed on the detection "
        "would act on them.",
        "",
        *_table(["detection", "alerts", "true positives", "precision", "FP rate"], rows),
        "",
    ]


def _labels(m: Mapping[str, Any]) -> list[str]:
    labels: Mapping[str, Mapping[str, Any]] = m.get("labels") or {}
    if not labels:
        return []
    rows = []
    for label, entry in labels.items():
        escalated = entry.get("escalated_alerts", 0)
        reached = f"yes ({escalated} alerts)" if entry.get("reached_escalated_case") else "no"
        rows.append(
            [
                esc(label),
                str(entry.get("alerts", _NA)),
                str(entry.get("auto_closed", _NA)),
                pct(entry.get("auto_closed_share")),
                reached,
            ]
        )
    return [
        "## External labels",
        "",
        *_table(
            ["label", "alerts", "auto-closed", "auto-closed share", "reached an escalated case"],
            rows,
        ),
        "",
    ]


def _errors(m: Mapping[str, Any]) -> list[str]:
    errors = m.get("errors") or []
    if not errors:
        return []
    return [
        f"## Errors ({len(errors)} scenarios failed to run)",
        "",
        *(f"- {esc(e, 300)}" for e in errors),
        "",
    ]


def _wrong_cases(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    wrong = [r for r in rows if r.get("verdict") != r.get("expected")]
    lines = [f"## Wrong verdicts ({len(wrong)} of {len(rows)} truth cases)", ""]
    if not wrong:
        return [*lines, "None.", ""]
    table = [
        [
            esc(r.get("key", "?")),
            esc(r.get("category", "?")),
            esc(r.get("expected", "?")),
            esc(r.get("verdict", "?")),
            esc(r.get("status", "?")),
            "**yes**" if r.get("closed_any") else "no",
        ]
        for r in wrong[:WRONG_CASES_SHOWN]
    ]
    lines += _table(["case", "category", "expected", "verdict", "status", "auto-closed"], table)
    if len(wrong) > WRONG_CASES_SHOWN:
        lines += ["", f"… and {len(wrong) - WRONG_CASES_SHOWN} more (all in report.json)."]
    return [*lines, ""]


# -- charts ---------------------------------------------------------------------------------


def new_figure(width: float, height: float) -> Figure:
    """A figure on its own Agg canvas (no pyplot: no global state, no GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # No "Software" text chunk: with no date either, equal inputs give equal bytes.
    figure.savefig(path, format="png", metadata={"Software": None})
    return path


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def chart_label(text: object, limit: int = 48) -> str:
    """Untrusted text for a chart label (its ``$`` would otherwise start mathtext)."""
    value = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return value if len(value) <= limit else value[: limit - 1] + "…"


def plain_ticks(ax: Axes) -> None:
    """Draw tick labels as plain text: a crafted id must not be parsed as mathtext."""
    for tick in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        tick.set_parse_math(False)


def chart_message(ax: Axes, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=13, parse_math=False)


def confusion_chart(report: Mapping[str, Any], path: Path) -> Path:
    """Annotated heatmap of the verdict confusion matrix (truth rows, predicted columns)."""
    confusion: Mapping[str, Any] = _get(report, "metrics.verdict.confusion") or {}
    truth = [chart_label(t) for t in confusion.get("truth") or []]
    predicted = [chart_label(p) for p in confusion.get("predicted") or []]
    matrix = [[int(n) for n in row] for row in confusion.get("matrix") or []]
    figure = new_figure(8, 4.2)
    ax = figure.add_subplot()
    if not truth or not predicted or not matrix:
        chart_message(ax, "no truth cases scored")
        return save_png(figure, path)
    highest = max(1, *(max(row, default=0) for row in matrix))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=highest)
    ax.set_xticks(range(len(predicted)), predicted, rotation=20, ha="right")
    ax.set_yticks(range(len(truth)), truth)
    plain_ticks(ax)
    ax.set_xlabel("tierzero's verdict")
    ax.set_ylabel("truth")
    ax.set_title("Verdict confusion matrix (truth cases)")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            colour = "white" if count > highest / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=colour, fontsize=11)
    figure.colorbar(image, ax=ax, shrink=0.8, label="truth cases")
    return save_png(figure, path)


def detection_chart(report: Mapping[str, Any], path: Path) -> Path:
    """Horizontal bars of the false-positive rate of the top detections by FP rate."""
    detections: Mapping[str, Mapping[str, Any]] = _get(report, "metrics.detections") or {}
    top = top_detections(detections, TOP_DETECTIONS_CHART)
    figure = new_figure(9, max(2.5, 0.32 * len(top) + 1.4))
    ax = figure.add_subplot()
    if not top:
        chart_message(ax, "no detections scored")
        return save_png(figure, path)
    top.reverse()  # barh draws bottom-up: the worst goes on top
    names = [chart_label(name) for name, _ in top]
    rates = [float(r["false_positive_rate"]) * 100 for _, r in top]
    bars = ax.barh(range(len(top)), rates, color="#c0504d")
    ax.set_yticks(range(len(top)), names, fontsize=8)
    plain_ticks(ax)
    ax.set_xlim(0, 118)  # room for the annotation right of a 100% bar
    ax.set_xlabel("false-positive rate of the detection's alerts (%)")
    ax.set_title(
        f"Detections by false-positive rate (top {len(top)} of {len(detections)}, "
        "ties: more alerts first)"
    )
    for bar, (_, r) in zip(bars, top, strict=True):
        ax.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            _plural(int(r.get("alerts") or 0), "alert"),
            va="center",
            fontsize=7,
        )
    return save_png(figure, path)


def tokens_chart(report: Mapping[str, Any], path: Path) -> Path:
    """Model tokens per case: sorted bars for a few cases, a histogram for many."""
    per_case: Sequence[Mapping[str, Any]] = _get(report, "metrics.model.per_case") or []
    tokens = sorted(
        ((int(c.get("tokens") or 0), str(c.get("case", "?"))) for c in per_case), reverse=True
    )
    figure = new_figure(8, 4.2)
    ax = figure.add_subplot()
    if not any(n for n, _ in tokens):
        chart_message(ax, "offline analyst: no model calls")
        return save_png(figure, path)
    if len(tokens) <= 30:
        figure.set_figheight(max(2.5, 0.3 * len(tokens) + 1.4))
        tokens.reverse()
        ax.barh(range(len(tokens)), [n for n, _ in tokens], color="#4f81bd")
        ax.set_yticks(range(len(tokens)), [chart_label(c) for _, c in tokens], fontsize=8)
        plain_ticks(ax)
        ax.set_xlabel("tokens (prompt + completion)")
    else:
        values = [n for n, _ in tokens]
        bins = min(40, max(10, len(values) // 5))
        ax.hist(values, bins=bins, color="#4f81bd", edgecolor="white")
        for value, name, style in (
            (median(values), "median", "-"),
            (percentile(values, 0.95), "p95", "--"),
        ):
            if value is not None:
                ax.axvline(value, color="black", linestyle=style, label=f"{name} {value:,.0f}")
        ax.legend()
        ax.set_xlabel("tokens per case (prompt + completion)")
        ax.set_ylabel("cases")
    total = sum(n for n, _ in tokens)
    ax.set_title(f"Model tokens per case ({len(tokens)} cases, {total:,} tokens)")
    return save_png(figure, path)
