"""The case graph: routers, and each route taken end to end on small stored cases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import NOW
from tests.factories import T0, make_alert
from tierzero.agents.graph import route_after_act, route_after_prioritize
from tierzero.agents.state import Analysis, CaseState, Prioritization
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.triage import analyse, correlate


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings.load()


def _prioritization(rule: str | None) -> Prioritization:
    return Prioritization(
        priority="P3",
        score=30,
        score_parts=(),
        sla_due=NOW,
        queue="q",
        auto_close_rule=rule,
        auto_close_reason="r" if rule else None,
    )


def _analysis(verdict: str, confidence: float) -> Analysis:
    return Analysis(
        analyst="t",
        verdict=verdict,
        confidence=confidence,  # type: ignore[arg-type]
        rationale=(),
        evidence=(),
    )


def test_prioritize_router() -> None:
    assert (
        route_after_prioritize(CaseState(case_id="C-1", prioritization=_prioritization("scanner")))
        == "auto_close"
    )
    assert (
        route_after_prioritize(CaseState(case_id="C-1", prioritization=_prioritization(None)))
        == "investigate"
    )


@pytest.mark.parametrize(
    ("verdict", "confidence", "route"),
    [
        ("benign_positive", 0.9, "close"),
        ("false_positive", 0.8, "close"),
        ("benign_positive", 0.79, "escalate"),
        ("true_positive", 0.99, "escalate"),
        ("needs_review", 0.99, "escalate"),
    ],
)
def test_router_after_act(verdict: str, confidence: float, route: str) -> None:
    state = CaseState(case_id="C-1", analysis=_analysis(verdict, confidence))
    assert route_after_act(state, close_confidence=0.8) == route
    waiting = state.model_copy(update={"pending_action_ids": (3,)})
    assert route_after_act(waiting, close_confidence=0.8) == "approval"


def test_an_expired_approval_always_escalates() -> None:
    from tierzero.guardrails.approvals import ApprovalAnswer

    expired = ApprovalAnswer(action_id=1, action_hash="x", approved=None, approver="timer", at=NOW)
    state = CaseState(
        case_id="C-1", analysis=_analysis("benign_positive", 0.99), approval_answers=(expired,)
    )
    assert route_after_act(state, close_confidence=0.8) == "escalate"


def run(tmp_path: Path, settings: Settings, alerts: list[Alert]) -> list[CaseState]:
    store = Store(tmp_path / "t.db")
    store.add_alerts(alerts)
    correlate(store, settings, NOW)
    report = analyse(store, settings, NOW)
    store.close()
    return report.cases_analysed


def test_scanner_case_is_auto_closed(tmp_path: Path, settings: Settings) -> None:
    alerts = [
        make_alert(
            minutes=i,
            detection=f"scan-{i}",
            ips=("10.0.5.10", "10.10.1.22"),
            severity=Severity.MEDIUM,
        )
        for i in range(3)
    ]
    (state,) = run(tmp_path, settings, alerts)
    assert state.visited == ("enrich", "prioritize", "auto_close")
    assert state.status == "auto_closed"
    assert (
        state.prioritization is not None
        and state.prioritization.auto_close_rule == "approved_scanner"
    )
    assert state.analysis is not None and state.analysis.verdict == "benign_positive"
    assert state.analysis.evidence  # cites the scanner evidence


def test_window_change_is_auto_closed(tmp_path: Path, settings: Settings) -> None:
    # SRV-APP-03's window is 2026-11-15 22:00 to 2026-11-16 02:00 UTC.
    start = T0.replace(year=2026, month=11, day=15, hour=23, minute=0)
    alerts = [
        make_alert(
            at=start + timedelta(minutes=i),
            detection=f"patch-{i}",
            hosts=("SRV-APP-03",),
            severity=Severity.LOW,
        )
        for i in range(2)
    ]
    (state,) = run(tmp_path, settings, alerts)
    assert state.status == "auto_closed"
    assert (
        state.prioritization
        and state.prioritization.auto_close_rule == "change_in_maintenance_window"
    )


def test_same_change_outside_window_is_investigated(tmp_path: Path, settings: Settings) -> None:
    late = T0.replace(year=2026, month=11, day=16, hour=3, minute=0)
    alerts = [make_alert(at=late, detection="patch", hosts=("SRV-APP-03",), severity=Severity.LOW)]
    (state,) = run(tmp_path, settings, alerts)
    assert "investigate" in state.visited
    assert state.status == "escalated"


def test_threat_intel_hash_makes_true_positive_with_targets_from_alert_fields(
    tmp_path: Path, settings: Settings
) -> None:
    bad = "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc"
    alerts = [
        make_alert(
            minutes=0,
            detection="malware",
            hosts=("LT-FIN-042",),
            users=("alice.martin",),
            hashes=(bad,),
            severity=Severity.HIGH,
            techniques=("T1204.002",),
        )
    ]
    (state,) = run(tmp_path, settings, alerts)
    assert state.visited == (
        "enrich",
        "prioritize",
        "investigate",
        "recommend",
        "guard",
        "act",
        "escalate",
    )
    assert state.analysis and state.analysis.verdict == "true_positive"
    actions = {(r.action, r.target) for r in state.recommendations}
    assert ("isolate_host", "LT-FIN-042") in actions
    assert ("block_hash", bad) in actions
    intel_evidence = [e.id for e in state.evidence if e.kind == "intel"]
    assert set(intel_evidence) <= set(state.analysis.evidence)


def test_admin_at_work_is_benign_but_left_for_a_person(tmp_path: Path, settings: Settings) -> None:
    at = T0.replace(year=2026, month=11, day=16, hour=11, minute=20)  # a Monday
    alert = make_alert(
        at=at,
        detection="interactive-logon",
        hosts=("SRV-APP-03",),
        users=("bob.nguyen",),
        severity=Severity.LOW,
        techniques=("T1078",),
    )
    (state,) = run(tmp_path, settings, [alert])
    assert state.analysis and state.analysis.verdict == "benign_positive"
    assert state.analysis.confidence < settings.priority.close_confidence
    assert (
        state.status == "escalated"
        and state.prioritization
        and state.prioritization.priority == "P3"
    )


def test_unknown_pattern_goes_to_a_person(tmp_path: Path, settings: Settings) -> None:
    (state,) = run(tmp_path, settings, [make_alert(minutes=0, hosts=("UNKNOWN-9",))])
    assert state.analysis and state.analysis.verdict == "needs_review"
    assert state.analysis.outcomes[0].playbook == "generic"
    assert state.status == "escalated"


def test_every_step_is_checkpointed_in_the_store(tmp_path: Path, settings: Settings) -> None:
    from tierzero.agents.graph import checkpointer

    (state,) = run(tmp_path, settings, [make_alert(minutes=0, hosts=("UNKNOWN-9",))])
    saver = checkpointer(str(tmp_path / "t.db"))
    try:
        config = {"configurable": {"thread_id": f"{state.case_id}#1"}}
        history = list(saver.list(config))  # type: ignore[arg-type]
        last = saver.get_tuple(config)  # type: ignore[arg-type]
    finally:
        saver.conn.close()
    # the input, the start step, and one per node (enrich, triage, investigate, recommend,
    # guard, act, escalate)
    assert len(history) == 1 + len(state.visited) + 1
    assert last is not None
    assert last.checkpoint["channel_values"]["status"] == "escalated"


def test_scanner_as_destination_does_not_close_a_crown_jewel_case(
    tmp_path: Path, settings: Settings
) -> None:
    from tierzero.ingest.alert import Observable

    alert = make_alert(
        minutes=0, detection="db-exfil", hosts=("SRV-DB-01",), severity=Severity.HIGH
    )
    decoy = Observable(kind=EntityKind.IP, value="10.0.5.10", name="dst_endpoint.ip")
    alert = alert.model_copy(update={"observables": (*alert.observables, decoy)})
    (state,) = run(tmp_path, settings, [alert])
    assert state.status != "auto_closed"
    assert state.prioritization is not None and state.prioritization.auto_close_rule is None


def test_hostile_entity_values_do_not_stop_the_analysis(tmp_path: Path, settings: Settings) -> None:
    hostile = make_alert(minutes=0, detection="x", hosts=("h" * 300,), users=("u" * 400,))
    normal = make_alert(minutes=0, detection="y", hosts=("LT-FIN-042",))
    states = run(tmp_path, settings, [hostile, normal])
    assert len(states) == 2 and all(s.analysis is not None for s in states)


def test_one_target_per_host_named_as_the_inventory_names_it(
    tmp_path: Path, settings: Settings
) -> None:
    bad = "5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc"
    alerts = [
        make_alert(
            minutes=i,
            detection=f"m{i}",
            hosts=(name,),
            hashes=(bad,),
            severity=Severity.HIGH,
            techniques=("T1204",),
        )
        for i, name in enumerate(("LT-FIN-042", "lt-fin-042.northwind.example", "evil host [red]"))
    ]
    (state,) = run(tmp_path, settings, alerts)
    isolate = [r.target for r in state.recommendations if r.action == "isolate_host"]
    assert isolate == ["LT-FIN-042"]
