"""The learned-suppression decision: a case closes only when every alert is covered by a rule
in force and no guard objects (each guard alone keeps it open)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tierzero.guardrails.suppression import (
    CaseSignals,
    PairFacts,
    RuleView,
    SuppressionCheck,
    check_suppression,
    covering,
)

QUIET = CaseSignals(
    intel_match=False,
    max_severity=2,
    crown_jewel=False,
    privileged_user=False,
    new_techniques=(),
    uncovered_alerts=0,
)
PAIR = PairFacts(
    "D-1", "web-01", alerts=4, max_severity=2, baseline_ready=True, surge=False, days_seen=3
)
RULE = RuleView("learned:S-1", "D-1", "web-01", max_severity=2, in_force=True)


def test_a_covered_quiet_case_closes_citing_its_rules() -> None:
    other = replace(PAIR, detection_id="D-2")
    second = replace(RULE, rule_id="learned:S-2", detection_id="D-2")
    assert check_suppression(QUIET, [PAIR, other], [RULE, second]) == SuppressionCheck(
        closing=("learned:S-1", "learned:S-2")
    )


def test_no_rule_about_the_case_says_nothing() -> None:
    assert check_suppression(QUIET, [replace(PAIR, host="db-01")], [RULE]) == SuppressionCheck()
    assert check_suppression(QUIET, [PAIR], []) == SuppressionCheck()


def test_a_rule_in_shadow_only_counts() -> None:
    check = check_suppression(QUIET, [PAIR], [replace(RULE, in_force=False)])
    assert not check.closes and check.shadow == ("learned:S-1",)


GUARDED = {
    "intel": (replace(QUIET, intel_match=True), PAIR, "threat intelligence"),
    "high": (replace(QUIET, max_severity=4), PAIR, "high or critical"),
    "critical": (replace(QUIET, max_severity=5), PAIR, "high or critical"),
    "crown jewel": (replace(QUIET, crown_jewel=True), PAIR, "crown jewel"),
    "privileged": (replace(QUIET, privileged_user=True), PAIR, "privileged identity"),
    "technique": (replace(QUIET, new_techniques=("T1059",)), PAIR, "technique new"),
    "new detection": (QUIET, replace(PAIR, baseline_ready=False), "new for the host"),
    "surge": (QUIET, replace(PAIR, surge=True), "far above its baseline"),
    "odd hour": (QUIET, replace(PAIR, odd_hour=3), "fires at 03h UTC, an hour of the day"),
    "severity above the rule": (QUIET, replace(PAIR, max_severity=3), "no learned rule covers"),
    "hostless alert": (replace(QUIET, uncovered_alerts=2), PAIR, "name no host"),
    "unread alerts": (replace(QUIET, unread_alerts=7), PAIR, "7 alerts of the case were not read"),
}


@pytest.mark.parametrize("name", sorted(GUARDED))
def test_each_guard_alone_keeps_the_case_open(name: str) -> None:
    signals, pair, reason = GUARDED[name]
    check = check_suppression(signals, [pair], [RULE])
    assert not check.closes and check.shadow == ()
    assert any(reason in b for b in check.blocked), check.blocked


def test_one_uncovered_pair_keeps_the_case_open() -> None:
    other = replace(PAIR, detection_id="D-2")
    check = check_suppression(QUIET, [PAIR, other], [RULE])
    assert not check.closes and check.blocked == ("no learned rule covers D-2 on web-01",)


def test_a_group_rule_covers_its_detection_on_any_host_and_a_host_rule_wins() -> None:
    group = replace(RULE, rule_id="learned:S-7", host="*")
    elsewhere = replace(PAIR, host="db-02")
    assert check_suppression(QUIET, [elsewhere], [group]).closing == ("learned:S-7",)
    assert check_suppression(QUIET, [PAIR], [group, RULE]).closing == ("learned:S-1",)
    assert covering([group], "D-2", "db-02") is None
    # Where the detection fired on one day only, people never saw its routine there.
    once = replace(elsewhere, days_seen=1)
    assert (
        "no learned rule covers D-1 on db-02" in check_suppression(QUIET, [once], [group]).blocked
    )
