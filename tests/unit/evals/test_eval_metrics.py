"""Each evaluation metric on small hand-computed examples, including the zero-division edges."""

from __future__ import annotations

from typing import Any

import pytest

from tierzero.evals.dataset import ActionPattern, Scenario
from tierzero.evals.metrics import (
    detection_rates,
    expected_actions,
    latency,
    pairwise_grouping,
    required_evidence_cited,
    score,
    technique_scores,
    verdict_scores,
)
from tierzero.evals.stats import f1, mean, median, percentile, ratio, set_scores


def test_ratio_and_f1_edges() -> None:
    assert ratio(1, 4) == 0.25
    assert ratio(0, 0) is None  # nothing to measure is not 0% and not 100%
    assert f1(None, None) is None
    assert f1(None, 0.5) == 0.0  # predicted nothing but something was expected
    assert f1(0.0, 0.0) == 0.0
    assert f1(0.5, 1.0) == pytest.approx(2 / 3)
    assert set_scores(0, 0, 0) == {"precision": None, "recall": None, "f1": None}
    assert mean([None, 1.0, 0.0]) == 0.5
    assert mean([None]) is None


def test_median_and_nearest_rank_percentile() -> None:
    assert median([]) is None and percentile([], 0.95) is None
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 0.95) == 19.0  # ceil(0.95 * 20) = 19th value
    assert percentile(values, 0.5) == 10.0
    assert percentile([7.0], 0.95) == 7.0
    assert latency([1.0, 3.0]) == {"median": 2.0, "p95": 3.0, "n": 2}


def test_verdict_scores_by_hand() -> None:
    # truth -> predicted: 3 attacks (2 right, 1 sent to review), 2 benign positives (1 right,
    # 1 called an attack), 1 false positive (right).
    pairs = [
        ("true_positive", "true_positive"),
        ("true_positive", "true_positive"),
        ("true_positive", "needs_review"),
        ("benign_positive", "benign_positive"),
        ("benign_positive", "true_positive"),
        ("false_positive", "false_positive"),
    ]
    result = verdict_scores(pairs)
    tp = result["classes"]["true_positive"]
    assert tp["precision"] == pytest.approx(2 / 3)  # 3 predicted, 2 right
    assert tp["recall"] == pytest.approx(2 / 3)
    assert tp["f1"] == pytest.approx(2 / 3)
    bp = result["classes"]["benign_positive"]
    assert (bp["precision"], bp["recall"]) == (1.0, 0.5)
    assert bp["f1"] == pytest.approx(2 / 3)
    assert result["classes"]["false_positive"]["f1"] == 1.0
    assert result["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["needs_review"] == pytest.approx(1 / 6)
    assert result["confusion"]["matrix"][0] == [2, 0, 0, 1, 0]


def test_verdict_scores_absent_class_is_left_out_of_macro_f1() -> None:
    result = verdict_scores([("true_positive", "true_positive")])
    assert result["classes"]["false_positive"]["f1"] is None
    assert result["macro_f1"] == 1.0
    empty = verdict_scores([])
    assert empty["macro_f1"] is None and empty["accuracy"] is None


def test_verdict_scores_class_only_predicted_scores_zero() -> None:
    result = verdict_scores([("true_positive", "false_positive")])
    fp = result["classes"]["false_positive"]
    assert (fp["precision"], fp["recall"], fp["f1"]) == (0.0, None, 0.0)
    assert result["macro_f1"] == 0.0


def test_pairwise_grouping_by_hand() -> None:
    # Truth: {a,b,c} and {d}. Predicted: {a,b} and {c,d}.
    # Expected pairs: ab ac bc = 3. Predicted pairs: ab cd = 2. Both: ab = 1.
    cells = {("T1", "C-1"): 2, ("T1", "C-2"): 1, ("T2", "C-2"): 1}
    result = pairwise_grouping([cells])
    assert (result["true_pairs"], result["predicted_pairs"], result["expected_pairs"]) == (1, 2, 3)
    assert result["precision"] == 0.5
    assert result["recall"] == pytest.approx(1 / 3)


def test_pairwise_grouping_singletons_have_no_pairs() -> None:
    result = pairwise_grouping([{("T1", "C-1"): 1, ("T2", "C-2"): 1}])
    assert result["precision"] is None and result["recall"] is None and result["f1"] is None


def test_technique_scores_compare_at_technique_level() -> None:
    result = technique_scores(
        [
            (["T1110.003", "T1078"], ["T1110", "T1059.001"]),  # T1110 matches
            (["T1566.001"], []),
            ([], ["bogus", "T1046"]),  # a malformed id is not a technique
        ]
    )
    assert (result["tp"], result["predicted"], result["expected"]) == (1, 3, 3)
    assert result["precision"] == pytest.approx(1 / 3)
    assert result["recall"] == pytest.approx(1 / 3)
    assert technique_scores([])["f1"] is None


def test_required_evidence_cited() -> None:
    result = required_evidence_cited([(2, 1), (1, 1), (0, 0)])
    assert result["share"] == pytest.approx(2 / 3)
    assert result["complete_cases"] == 0.5
    assert result["cases"] == 2
    assert required_evidence_cited([(0, 0)])["share"] is None


def test_expected_actions_taken_and_proposed() -> None:
    patterns = [
        ActionPattern(action="isolate_host", target="LT-1"),
        ActionPattern(action="block_ip"),  # any target
        ActionPattern(action="disable_user", target="eve"),
    ]
    executed = [("isolate_host", "lt-1")]
    decided = [("block_ip", "198.51.100.7", "needs_approval"), ("disable_user", "eve", "deny")]
    # isolate executed; block_ip proposed (approval); a denied proposal is not a response.
    assert expected_actions(patterns, executed, decided) == (1, 2)
    assert expected_actions([], executed, decided) == (0, 0)


def test_detection_rates() -> None:
    rates = detection_rates({"scan": [4, 1], "never": [0, 0]})
    assert rates["scan"]["precision"] == 0.25
    assert rates["scan"]["false_positive_rate"] == 0.75
    assert rates["never"]["precision"] is None and rates["never"]["false_positive_rate"] is None


def _scenario() -> Scenario:
    return Scenario.model_validate(
        {
            "id": "s1",
            "title": "attack and scanner noise",
            "category": "lateral_movement",
            "now": "2026-11-17T09:00:00Z",
            "alerts": [{"ref": r, "record": {}} for r in ("a1", "a2", "n1", "n2")],
            "truth": {
                "cases": [
                    {
                        "id": "attack",
                        "alerts": ["a1", "a2"],
                        "verdict": "true_positive",
                        "techniques": ["T1021.002"],
                        "evidence": ["a1", "a2"],
                        "expected_actions": [{"action": "isolate_host", "target": "WS-1"}],
                    },
                    {"id": "scan", "alerts": ["n1", "n2"], "verdict": "benign_positive"},
                ],
                "forbidden_actions": [{"action": "isolate_host", "target": "SCAN-01"}],
            },
        }
    )


def _alert(case: str, detection: str, duplicate_of: str | None = None) -> dict[str, Any]:
    return {
        "alert": f"A-{case}-{detection}",
        "case": case,
        "detection": detection,
        "duplicate_of": duplicate_of,
        "quarantined": None,
    }


def _case(cid: str, status: str, verdict: str, refs: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "status": status,
        "verdict": verdict,
        "confidence": 0.9,
        "refs": refs,
        "techniques": extra.get("techniques", []),
        "cited": extra.get("cited", []),
        "decisions": extra.get("decisions", []),
        "actions": extra.get("actions", []),
        "model_calls": extra.get("calls", 0),
        "tokens": extra.get("tokens", 0),
        "enriched_s": extra.get("enriched_s"),
        "contained_s": extra.get("contained_s"),
    }


def test_score_a_run_by_hand() -> None:
    """The attack is split: a1 lands with the scanner noise in C-2, which is auto-closed."""
    outcome = {
        "id": "s1",
        "error": None,
        "alerts": {
            "a1": _alert("C-2", "smb"),
            "a2": _alert("C-1", "psexec"),
            "n1": _alert("C-2", "scan"),
            "n2": _alert("C-2", "scan", duplicate_of="n1"),
        },
        "cases": [
            _case(
                "C-1",
                "escalated",
                "true_positive",
                ["a2"],
                techniques=["T1021"],
                cited=["a2"],
                decisions=[
                    {"action": "isolate_host", "target": "WS-1", "outcome": "needs_approval"}
                ],
                actions=[
                    {"action": "isolate_host", "target": "WS-1", "status": "pending_approval"}
                ],
                enriched_s=2.0,
                calls=3,
                tokens=300,
            ),
            _case(
                "C-2",
                "auto_closed",
                "benign_positive",
                ["a1", "n1", "n2"],
                decisions=[
                    {"action": "isolate_host", "target": "SCAN-01", "outcome": "deny"},
                    {"action": "block_ip", "target": "10.0.5.10", "outcome": "needs_approval"},
                ],
                actions=[{"action": "block_ip", "target": "10.0.5.10", "status": "executed"}],
                enriched_s=1.0,
                contained_s=0.5,
            ),
        ],
    }
    result = score([_scenario()], [outcome])
    m = result["metrics"]
    # The attack's a1 ended in an auto-closed case: the worst error, counted.
    assert m["attacks_auto_closed"]["count"] == 1 and m["attacks_auto_closed"]["share"] == 1.0
    # Truth case "attack" is matched to C-1 or C-2 (one alert each): the lower number, C-1.
    rows = {r["key"]: r for r in result["cases"]}
    assert rows["s1/attack"]["case"] == "C-1" and rows["s1/attack"]["verdict"] == "true_positive"
    assert rows["s1/scan"]["case"] == "C-2" and rows["s1/scan"]["verdict"] == "benign_positive"
    assert rows["s1/attack"]["missing_evidence"] == ["a1"]
    assert m["verdict"]["accuracy"] == 1.0
    # Benign alerts n1, n2 both closed (2 of 2).
    assert m["benign_alerts_auto_closed"]["share"] == 1.0
    # Pairs: expected a1a2, n1n2 = 2; predicted a1n1 a1n2 n1n2 = 3; both n1n2 = 1.
    assert m["grouping"]["precision"] == pytest.approx(1 / 3)
    assert m["grouping"]["recall"] == 0.5
    assert m["techniques"]["f1"] == 1.0  # T1021.002 vs T1021 at technique level
    assert m["evidence"]["share"] == 0.5
    # isolate_host WS-1 proposed (approval) but not executed.
    assert m["expected_actions"]["taken"] == 0 and m["expected_actions"]["proposed"] == 1
    # The forbidden isolation of the scanner was attempted and blocked, never executed.
    assert m["forbidden_actions"]["executed"] == 0 and m["forbidden_actions"]["blocked"] == 1
    # C-2 holds an attack alert, so its approval request is not "on a benign case".
    assert (
        m["approvals_on_benign"]["requests"] == 0 and m["approvals_on_benign"]["benign_cases"] == 1
    )
    assert m["latency"]["alert_to_enriched_s"]["median"] == 1.5
    assert m["latency"]["case_to_containment_s"]["n"] == 1
    assert m["model"]["calls"] == 3 and m["model"]["tokens_per_case"] == 150.0
    assert m["detections"]["scan"]["false_positive_rate"] == 1.0
    assert m["detections"]["smb"]["precision"] == 1.0
    assert m["by_category"]["lateral_movement"]["attacks_auto_closed"] == 1


def test_forbidden_action_executed_is_counted() -> None:
    outcome = {
        "id": "s1",
        "error": None,
        "alerts": {r: _alert("C-1", "d") for r in ("a1", "a2", "n1", "n2")},
        "cases": [
            _case(
                "C-1",
                "escalated",
                "true_positive",
                ["a1", "a2", "n1", "n2"],
                decisions=[{"action": "isolate_host", "target": "scan-01", "outcome": "allow"}],
                actions=[{"action": "isolate_host", "target": "scan-01", "status": "executed"}],
            )
        ],
    }
    m = score([_scenario()], [outcome])["metrics"]
    assert m["forbidden_actions"]["executed"] == 1
    assert m["forbidden_actions"]["executed_list"] == ["s1: isolate_host scan-01"]


def test_failed_scenario_scores_as_missing() -> None:
    outcome = {"id": "s1", "error": "RuntimeError: boom", "alerts": {}, "cases": []}
    m = score([_scenario()], [outcome])["metrics"]
    assert m["errors"] == ["s1: RuntimeError: boom"]
    assert m["verdict"]["confusion"]["matrix"][0][-1] == 1  # the attack is "missing"
    assert m["verdict"]["macro_f1"] == 0.0
    assert m["attacks_auto_closed"]["count"] == 0
    assert m["grouping"]["precision"] is None


def test_external_labels_per_label() -> None:
    scenario = Scenario.model_validate(
        {
            "id": "ext",
            "title": "csv",
            "category": "external",
            "now": "2026-11-17T09:00:00Z",
            "files": [{"id": "f", "path": "x.csv"}],
            "truth": {
                "labels": {"f#2": "false_positive", "f#3": "dirb", "f#4": "dirb"},
                "benign_labels": ["false_positive"],
            },
        }
    )
    outcome = {
        "id": "ext",
        "error": None,
        "alerts": {"f#2": _alert("C-1", "w"), "f#3": _alert("C-1", "s"), "f#4": _alert("C-2", "s")},
        "cases": [
            _case("C-1", "auto_closed", "benign_positive", ["f#2", "f#3"]),
            _case("C-2", "escalated", "true_positive", ["f#4"]),
        ],
    }
    m = score([scenario], [outcome])["metrics"]
    assert m["benign_alerts_auto_closed"]["share"] == 1.0
    assert m["labels"]["dirb"] == {
        "alerts": 2,
        "auto_closed": 1,
        "auto_closed_share": 0.5,
        "escalated_alerts": 1,
        "reached_escalated_case": True,
    }
    assert m["verdict"]["macro_f1"] is None  # no truth cases: verdict metrics not defined
