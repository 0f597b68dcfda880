"""Score an evaluation run against its truth. Every metric is defined in docs/evaluation.md.

The functions below the entry point ``score`` each compute one metric from plain inputs, so
tests can check them on hand-computed examples. Ratios with nothing to divide by are None
("n/a"), never 0 or 1 (see ``stats``).

Matching: each truth case is scored against the predicted case holding most of its alerts
(ties: the lowest case number). An alert that was quarantined or a scenario that failed leaves
the truth case with no prediction ("missing"), which counts as a miss everywhere.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from math import comb
from typing import Any

from tierzero.evals.dataset import ATTACK_VERDICTS, ActionPattern, Scenario, TruthCase
from tierzero.evals.stats import mean, median, percentile, ratio, set_scores

TRUTH_CLASSES = ("true_positive", "benign_positive", "false_positive")
PREDICTED_CLASSES = (*TRUTH_CLASSES, "needs_review", "missing")
CLOSED = frozenset({"auto_closed", "closed"})  # concluded with no person deciding
ESCALATED = frozenset({"escalated", "awaiting_approval"})  # left open for a person
EXECUTED = frozenset({"executed", "rolled_back", "expired"})
_SUBTECHNIQUE = re.compile(r"^(T\d{4})(\.\d{3})?$")


@dataclass(frozen=True)
class CaseMatch:
    """One truth case and what tierzero made of it."""

    key: str  # "scenario/truth case"
    truth: TruthCase
    predicted: Mapping[str, Any] | None  # the predicted case holding most of its alerts
    statuses: tuple[str, ...]  # status of every predicted case holding any of its alerts

    @property
    def verdict(self) -> str:
        return str(self.predicted["verdict"]) if self.predicted else "missing"

    @property
    def attack(self) -> bool:
        return self.truth.verdict in ATTACK_VERDICTS


@dataclass
class Scored:
    """Intermediate tallies gathered over all scenarios."""

    matches: list[CaseMatch] = field(default_factory=list)
    group_cells: list[Counter[tuple[str, str]]] = field(default_factory=list)
    benign_alerts: int = 0
    benign_alerts_closed: int = 0
    detections: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    forbidden_executed: list[str] = field(default_factory=list)
    forbidden_blocked: list[str] = field(default_factory=list)
    expected_taken: int = 0
    expected_proposed: int = 0
    expected_total: int = 0
    approvals_on_benign: int = 0
    benign_cases: int = 0
    enriched: list[float] = field(default_factory=list)
    contained: list[float] = field(default_factory=list)
    model_cases: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    evidence: list[tuple[int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def score(scenarios: Sequence[Scenario], outcomes: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """All metrics of a run, plus the per-truth-case rows that ``compare`` diffs."""
    by_id = {s.id: s for s in scenarios}
    tally = Scored()
    rows: list[dict[str, Any]] = []
    for outcome in outcomes:
        scenario = by_id[outcome["id"]]
        if outcome.get("error"):
            tally.errors.append(f"{scenario.id}: {outcome['error']}")
        rows.extend(_score_scenario(scenario, outcome, tally))
    metrics = _metrics(tally)
    metrics["by_category"] = category_breakdown(rows)
    return {"metrics": metrics, "cases": rows}


def _score_scenario(
    scenario: Scenario, outcome: Mapping[str, Any], tally: Scored
) -> list[dict[str, Any]]:
    alerts: Mapping[str, Mapping[str, Any]] = outcome.get("alerts") or {}
    cases = {c["id"]: c for c in outcome.get("cases") or ()}
    case_of = {ref: a["case"] for ref, a in alerts.items() if a.get("case")}
    truth_of = {ref: t for t in scenario.truth.cases for ref in t.alerts}
    labels = scenario.truth.labels
    benign_labels = set(scenario.truth.benign_labels)

    def is_attack(ref: str) -> bool | None:
        if ref in truth_of:
            return truth_of[ref].verdict in ATTACK_VERDICTS
        if ref in labels:
            return labels[ref] not in benign_labels
        return None

    # Alert-level tallies: workload saved, per-detection precision, external labels.
    cells: Counter[tuple[str, str]] = Counter()
    for ref, alert in alerts.items():
        attack = is_attack(ref)
        case = cases.get(alert.get("case") or "")
        status = case["status"] if case else "missing"
        if ref in truth_of and case is not None:
            cells[(truth_of[ref].id, case["id"])] += 1
        if attack is None or alert.get("detection") is None:
            continue
        if not alert.get("duplicate_of"):  # a repeat is the same event, not another sample
            counts = tally.detections[alert["detection"]]
            counts[0] += 1
            counts[1] += attack
        if not attack:
            tally.benign_alerts += 1
            tally.benign_alerts_closed += status in CLOSED
        if ref in labels:
            label = tally.labels[labels[ref]]
            label[0] += 1
            label[1] += status in CLOSED
            label[2] += status in ESCALATED
    tally.group_cells.append(cells)

    # Actions: what was executed or decided, against what must never happen.
    executed = [
        (a["action"], a["target"])
        for c in cases.values()
        for a in c["actions"]
        if a["status"] in EXECUTED
    ]
    decided = [
        (d["action"], d["target"], d["outcome"]) for c in cases.values() for d in c["decisions"]
    ]
    for pattern in scenario.truth.forbidden_actions:
        for action, target in executed:
            if pattern.matches(action, target):
                tally.forbidden_executed.append(f"{scenario.id}: {action} {target}")
        for action, target, result in decided:
            if result != "allow" and pattern.matches(action, target):
                tally.forbidden_blocked.append(f"{scenario.id}: {action} {target} ({result})")

    # Predicted cases holding only benign alerts: the approvals they ask for are reviewer load.
    for case in cases.values():
        kinds = {is_attack(ref) for ref in case["refs"]}
        if kinds == {False}:
            tally.approvals_on_benign += sum(
                d["outcome"] == "needs_approval" for d in case["decisions"]
            )
        if case.get("enriched_s") is not None:
            tally.enriched.append(case["enriched_s"])
        if case.get("contained_s") is not None:
            tally.contained.append(case["contained_s"])
        tally.model_cases.append(
            {
                "case": f"{scenario.id}/{case['id']}",
                "calls": case.get("model_calls", 0),
                "tokens": case.get("tokens", 0),
            }
        )

    rows = []
    for truth in scenario.truth.cases:
        match = _match(scenario.id, truth, alerts, cases, case_of)
        tally.matches.append(match)
        if not match.attack:
            tally.benign_cases += 1
        taken, proposed = expected_actions(truth.expected_actions, executed, decided)
        tally.expected_taken += taken
        tally.expected_proposed += proposed
        tally.expected_total += len(truth.expected_actions)
        row = _row(match, alerts, taken, proposed)
        tally.evidence.append(
            (len(truth.evidence), len(truth.evidence) - len(row["missing_evidence"]))
        )
        rows.append({"category": scenario.category, "difficulty": scenario.difficulty, **row})
    return rows


def _match(
    scenario_id: str,
    truth: TruthCase,
    alerts: Mapping[str, Mapping[str, Any]],
    cases: Mapping[str, Mapping[str, Any]],
    case_of: Mapping[str, str],
) -> CaseMatch:
    held = Counter(case_of[ref] for ref in truth.alerts if ref in case_of)
    predicted = None
    if held:
        best = max(held.values())
        chosen = min((c for c, n in held.items() if n == best), key=_case_number)
        predicted = cases.get(chosen)
    statuses = tuple(sorted(cases[c]["status"] for c in held if c in cases))
    return CaseMatch(f"{scenario_id}/{truth.id}", truth, predicted, statuses)


def _case_number(case_id: str) -> tuple[int, str]:
    digits = "".join(ch for ch in case_id if ch.isdigit())
    return (int(digits) if digits else 0, case_id)


def _row(
    match: CaseMatch, alerts: Mapping[str, Mapping[str, Any]], taken: int, proposed: int
) -> dict[str, Any]:
    predicted = match.predicted or {}
    cited = set(predicted.get("cited") or ())
    missing_evidence = [ref for ref in match.truth.evidence if not _cited(ref, cited, alerts)]
    return {
        "key": match.key,
        "expected": match.truth.verdict,
        "verdict": match.verdict,
        "status": predicted.get("status", "missing"),
        "closed_any": bool(set(match.statuses) & CLOSED),
        "case": predicted.get("id"),
        "confidence": predicted.get("confidence"),
        "techniques": {
            "expected": sorted(match.truth.techniques),
            "predicted": list(predicted.get("techniques") or ()),
        },
        "missing_evidence": missing_evidence,
        "evidence_required": len(match.truth.evidence),
        "expected_actions": {
            "expected": len(match.truth.expected_actions),
            "taken": taken,
            "proposed": proposed,
        },
        "executed": sorted(
            f"{a['action']} {a['target']}"
            for a in predicted.get("actions") or ()
            if a["status"] in EXECUTED
        ),
    }


def _cited(ref: str, cited: set[str], alerts: Mapping[str, Mapping[str, Any]]) -> bool:
    """A required alert counts as cited if it, or the alert it repeats, is cited."""
    return ref in cited or (alerts.get(ref) or {}).get("duplicate_of") in cited


# -- the metrics, each from plain inputs ------------------------------------------------------


def verdict_scores(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Per-class precision/recall/F1, macro-F1 and the confusion matrix of (truth, predicted)
    verdict pairs. ``needs_review`` and ``missing`` predictions are misses for recall and
    count towards no class's precision. Macro-F1 averages the classes whose F1 is defined."""
    matrix: Counter[tuple[str, str]] = Counter(pairs)
    classes: dict[str, dict[str, Any]] = {}
    for cls in TRUTH_CLASSES:
        tp = matrix[(cls, cls)]
        predicted = sum(n for (_, p), n in matrix.items() if p == cls)
        support = sum(n for (t, _), n in matrix.items() if t == cls)
        classes[cls] = {
            **set_scores(tp, predicted, support),
            "support": support,
            "predicted": predicted,
        }
    return {
        "classes": classes,
        "macro_f1": mean(c["f1"] for c in classes.values()),
        "accuracy": ratio(sum(n for (t, p), n in matrix.items() if t == p), sum(matrix.values())),
        "needs_review": ratio(
            sum(n for (_, p), n in matrix.items() if p == "needs_review"), sum(matrix.values())
        ),
        "confusion": {
            "truth": list(TRUTH_CLASSES),
            "predicted": list(PREDICTED_CLASSES),
            "matrix": [[matrix[(t, p)] for p in PREDICTED_CLASSES] for t in TRUTH_CLASSES],
        },
    }


def pairwise_grouping(cells: Iterable[Mapping[tuple[str, str], int]]) -> dict[str, Any]:
    """Pairwise precision/recall of case grouping: over every pair of alerts in a scenario,
    a pair is predicted if both alerts landed in one case and expected if the truth puts them
    in one case. ``cells`` counts alerts per (truth case, predicted case) for each scenario,
    so pairs are counted without listing them (external data has tens of thousands)."""
    both = predicted = expected = 0
    for table in cells:
        per_truth: Counter[str] = Counter()
        per_pred: Counter[str] = Counter()
        for (truth, pred), n in table.items():
            both += comb(n, 2)
            per_truth[truth] += n
            per_pred[pred] += n
        expected += sum(comb(n, 2) for n in per_truth.values())
        predicted += sum(comb(n, 2) for n in per_pred.values())
    return {
        **set_scores(both, predicted, expected),
        "true_pairs": both,
        "predicted_pairs": predicted,
        "expected_pairs": expected,
    }


def technique_scores(pairs: Iterable[tuple[Iterable[str], Iterable[str]]]) -> dict[str, Any]:
    """Micro-averaged ATT&CK technique P/R/F1 over (expected, predicted) id sets per truth
    case, compared at technique level (T1110.003 and T1110 both count as T1110)."""
    tp = n_pred = n_exp = 0
    for expected, predicted in pairs:
        want, got = _techniques(expected), _techniques(predicted)
        tp += len(want & got)
        n_pred += len(got)
        n_exp += len(want)
    return {**set_scores(tp, n_pred, n_exp), "tp": tp, "predicted": n_pred, "expected": n_exp}


def _techniques(ids: Iterable[str]) -> set[str]:
    return {m.group(1) for i in ids if (m := _SUBTECHNIQUE.match(i.strip().upper()))}


def required_evidence_cited(rows: Iterable[tuple[int, int]]) -> dict[str, Any]:
    """From (required, cited) counts per truth case with required evidence: the share of
    required alerts cited, and the share of cases that cite all of theirs."""
    required = cited = cases = complete = 0
    for need, have in rows:
        if need == 0:
            continue
        required += need
        cited += have
        cases += 1
        complete += have == need
    return {
        "share": ratio(cited, required),
        "complete_cases": ratio(complete, cases),
        "required": required,
        "cited": cited,
        "cases": cases,
    }


def expected_actions(
    patterns: Iterable[ActionPattern],
    executed: Sequence[tuple[str, str]],
    decided: Sequence[tuple[str, str, str]],
) -> tuple[int, int]:
    """How many expected actions were executed, and how many were at least proposed (allowed
    or sent to approval; a denied proposal is not a response)."""
    taken = proposed = 0
    for pattern in patterns:
        if any(pattern.matches(a, t) for a, t in executed):
            taken += 1
            proposed += 1
        elif any(pattern.matches(a, t) for a, t, o in decided if o != "deny"):
            proposed += 1
    return taken, proposed


def category_breakdown(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per scenario category: truth cases, verdict accuracy, attacks closed, sent to review."""
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[str(row["category"])].append(row)
        if row.get("difficulty") == "hard":
            groups["(hard)"].append(row)
    breakdown = {}
    for category, members in sorted(groups.items()):
        attacks = [r for r in members if r["expected"] in ATTACK_VERDICTS]
        correct = sum(r["verdict"] == r["expected"] for r in members)
        breakdown[category] = {
            "cases": len(members),
            "correct": correct,
            "accuracy": ratio(correct, len(members)),
            "needs_review": sum(r["verdict"] == "needs_review" for r in members),
            "attacks": len(attacks),
            "attacks_auto_closed": sum(r["closed_any"] for r in attacks),
        }
    return breakdown


def latency(seconds: Sequence[float]) -> dict[str, Any]:
    return {"median": median(seconds), "p95": percentile(seconds, 0.95), "n": len(seconds)}


def detection_rates(counts: Mapping[str, Sequence[int]]) -> dict[str, dict[str, Any]]:
    """Per detection: alerts scored (repeats collapsed by dedup are not counted again),
    true-positive alerts, precision and false-positive rate. An alert is a true positive if
    its truth is an attack; benign positives (the scanner really scanned) count against
    precision, since automation keyed on the detection would act on them."""
    rates = {}
    for detection, (alerts, attacks) in sorted(counts.items()):
        precision = ratio(attacks, alerts)
        rates[detection] = {
            "alerts": alerts,
            "true_positive": attacks,
            "precision": precision,
            "false_positive_rate": None if precision is None else 1 - precision,
        }
    return rates


def _metrics(t: Scored) -> dict[str, Any]:
    attacks = [m for m in t.matches if m.attack]
    closed = [m.key for m in attacks if set(m.statuses) & CLOSED]
    calls = sum(c["calls"] for c in t.model_cases)
    tokens = sum(c["tokens"] for c in t.model_cases)
    return {
        "attacks_auto_closed": {
            "count": len(closed),
            "attack_cases": len(attacks),
            "share": ratio(len(closed), len(attacks)),
            "cases": closed,
        },
        "benign_alerts_auto_closed": {
            "count": t.benign_alerts_closed,
            "benign_alerts": t.benign_alerts,
            "share": ratio(t.benign_alerts_closed, t.benign_alerts),
        },
        "verdict": verdict_scores((m.truth.verdict, m.verdict) for m in t.matches),
        "grouping": pairwise_grouping(t.group_cells),
        "techniques": technique_scores(
            (m.truth.techniques, (m.predicted or {}).get("techniques") or ()) for m in t.matches
        ),
        "evidence": required_evidence_cited(t.evidence),
        "forbidden_actions": {
            "executed": len(t.forbidden_executed),
            "blocked": len(t.forbidden_blocked),
            "executed_list": t.forbidden_executed,
            "blocked_list": t.forbidden_blocked[:200],
        },
        "expected_actions": {
            "expected": t.expected_total,
            "taken": t.expected_taken,
            "proposed": t.expected_proposed,
            "taken_share": ratio(t.expected_taken, t.expected_total),
            "proposed_share": ratio(t.expected_proposed, t.expected_total),
        },
        "approvals_on_benign": {
            "requests": t.approvals_on_benign,
            "benign_cases": t.benign_cases,
            "per_benign_case": ratio(t.approvals_on_benign, t.benign_cases),
        },
        "latency": {
            "alert_to_enriched_s": latency(t.enriched),
            "case_to_containment_s": latency(t.contained),
        },
        "model": {
            "calls": calls,
            "tokens": tokens,
            "cases": len(t.model_cases),
            "calls_per_case": ratio(calls, len(t.model_cases)),
            "tokens_per_case": ratio(tokens, len(t.model_cases)),
            "per_case": [c for c in t.model_cases if c["calls"] or c["tokens"]],
        },
        "detections": detection_rates(t.detections),
        "labels": {
            label: {
                "alerts": n,
                "auto_closed": closed_n,
                "auto_closed_share": ratio(closed_n, n),
                "escalated_alerts": escalated,
                "reached_escalated_case": escalated > 0,
            }
            for label, (n, closed_n, escalated) in sorted(t.labels.items())
        },
        "errors": t.errors,
    }
