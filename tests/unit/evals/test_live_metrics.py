"""Live metrics on a small store built with the real pipeline, checked against figures worked
out by hand from the schedule below.

The store (the examples, in stages, with the offline analyst):

- T0: every example file but Okta's is ingested and correlated (cases C-1..C-5 open at T0);
  analysed at T0+120s: the intrusion case (C-4) gets its containment actions executed then.
- T0+150s: carol denies one pending approval; T0+160s: bob asks a question in the chat.
- T1 = T0+1h: the approval timer expires the remaining requests; Okta's 7 alerts (6 + 1
  repeat) are ingested and correlated into C-4, analysed at T1+300s.
- T1+600s: one new GuardDuty finding (another detection on the port-probed instance) joins the
  closed C-3; it is not analysed.
- T1+700s: dave rolls back one IP block; T0+5h: the lease sweeper ends the 4h isolation.
- T0+6h: erin resolves C-4 true_positive, C-1 false_positive, C-3 benign_positive.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES, NOW
from tierzero.cli import app
from tierzero.evals.live import (
    AlertRecord,
    LiveMetrics,
    detection_precision,
    evidence_problem,
    human_touch,
    live_metrics,
    parse_since,
)
from tierzero.guardrails.execution import rollback, sweep_leases
from tierzero.ingest.reader import IngestOptions
from tierzero.settings import Settings
from tierzero.store.sqlite import Store
from tierzero.usecases.approvals import answer_approval, approval_housekeeping
from tierzero.usecases.runtime import lab_connector
from tierzero.usecases.triage import analyse, correlate, ingest

runner = CliRunner()
T0 = NOW
T1 = NOW + timedelta(hours=1)


def _new_guardduty_finding(folder: Path) -> Path:
    document = json.loads((EXAMPLES / "guardduty_findings.json").read_text())
    (probe,) = [f for f in document["Findings"] if f["Type"].startswith("Recon:")]
    probe = {**probe, "Id": "f00dfeedf00dfeedf00dfeedf00dfeed", "Type": "Recon:EC2/Portscan"}
    path = folder / "guardduty_late.json"
    path.write_text(json.dumps({"Findings": [probe]}))
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The store of the module docstring; returns its path and the case ids by role."""
    folder = tmp_path_factory.mktemp("live")
    settings = Settings.load()
    store = Store(folder / "t.db")
    options = IngestOptions()
    first = [
        p
        for p in sorted(EXAMPLES.iterdir())
        if p.suffix in (".json", ".jsonl", ".ndjson", ".csv") and not p.name.startswith("okta")
    ]
    ingest(first, store, options, T0)
    correlate(store, settings, T0)
    analyse(store, settings, T0 + timedelta(seconds=120), model="off", memory=None)
    by_target = {f"{r.action} {r.target}": r for r in store.actions.rows()}
    intrusion = by_target["isolate_host LT-FIN-042"].case_id
    answer_approval(
        store,
        settings,
        by_target["reset_password alice.martin"].id,
        approved=False,
        approver="carol",
        reason="not yet",
        now=T0 + timedelta(seconds=150),
        memory=None,
    )
    store.add_chat_message(intrusion, "analyst", "analyst:bob", "why?", T0 + timedelta(seconds=160))
    store.add_chat_message(
        intrusion, "assistant", "offline-analyst", "because", T0 + timedelta(seconds=161)
    )
    assert approval_housekeeping(store, settings, T1)  # the timer expires the rest
    ingest([EXAMPLES / "okta_system_log.jsonl"], store, options, T1)
    correlate(store, settings, T1)
    analyse(store, settings, T1 + timedelta(seconds=300), model="off", memory=None)
    ingest([_new_guardduty_finding(folder)], store, options, T1 + timedelta(seconds=600))
    correlate(store, settings, T1 + timedelta(seconds=600))
    connector = lab_connector(store, settings)
    block = by_target["block_ip 203.0.113.45"]
    rollback(
        store.actions,
        connector,
        settings.policy,
        store.actions.get(block.id),  # type: ignore[arg-type]
        actor="dave",
        reason="shared address",
        now=T1 + timedelta(seconds=700),
    )
    swept = sweep_leases(store.actions, connector, settings.policy, T0 + timedelta(hours=5))
    assert [f"{r.action} {r.target}" for r in swept] == ["isolate_host LT-FIN-042"]
    (probe,) = [r.id for r in store.cases() if r.status == "closed"]  # the port probe
    (noise, _) = [r.id for r in store.cases() if r.status == "auto_closed"]
    roles = {"intrusion": intrusion, "probe": probe, "noise": noise}
    later = T0 + timedelta(hours=6)
    store.resolve_case(roles["intrusion"], "true_positive", "erin", "", later)
    store.resolve_case(roles["noise"], "false_positive", "erin", "", later)
    store.resolve_case(roles["probe"], "benign_positive", "erin", "", later)
    store.close()
    return folder / "t.db", roles


@pytest.fixture
def metrics(built: tuple[Path, dict[str, str]]) -> LiveMetrics:
    store = Store(built[0])
    try:
        return live_metrics(store)
    finally:
        store.close()


def test_the_store_is_as_described(built: tuple[Path, dict[str, str]]) -> None:
    store = Store(built[0])
    try:
        rows = {r.id: r for r in store.cases()}
        roles = built[1]
        assert len(rows) == 5
        assert rows[roles["intrusion"]].alert_count == 31  # 24 + 7 Okta (one a repeat)
        assert rows[roles["probe"]].alert_count == 2 and rows[roles["probe"]].dirty
        assert {r.created_at for r in rows.values()} == {T0.isoformat()}
    finally:
        store.close()


def test_alert_to_analysis(metrics: LiveMetrics) -> None:
    # 38 alerts of the first batch wait 120 s, the 7 Okta alerts 300 s; the late finding has
    # no analysis yet. Nearest-rank p95 of 45 values is the 43rd smallest: 300.
    assert metrics.alerts == 46
    assert metrics.alerts_not_analysed == 1
    assert metrics.alert_to_analysis.count == 45
    assert metrics.alert_to_analysis.median == 120.0
    assert metrics.alert_to_analysis.p95 == 300.0


def test_case_to_containment(metrics: LiveMetrics) -> None:
    # Only the intrusion was contained, 120 s after it opened; rolling back one block and the
    # lease ending on the isolation do not undo that it ran.
    assert metrics.case_to_containment.count == 1
    assert metrics.case_to_containment.median == 120.0
    assert metrics.case_to_containment.p95 == 120.0


def test_precision_per_detection(metrics: LiveMetrics) -> None:
    figures = {d.detection_id: d for d in metrics.detections}
    spray = figures["okta:user.mfa.okta_verify.deny_push"]  # two alerts, one a repeat
    assert (spray.alerts, spray.resolved, spray.true_positive, spray.precision) == (1, 1, 1, 1.0)
    noise = figures["wazuh:554"]  # in the case resolved false_positive
    assert (noise.resolved, noise.fp_rate, noise.precision) == (1, 1.0, 0.0)
    late = figures["guardduty:Recon:EC2/Portscan"]  # joined the case resolved benign
    assert (late.resolved, late.true_positive, late.precision) == (1, 0, 0.0)
    unresolved = figures["suricata:2009358"]  # in an auto-closed case nobody resolved
    assert (unresolved.resolved, unresolved.unresolved, unresolved.precision) == (0, 1, None)
    assert unresolved.fp_rate is None
    # Primary alerts: 30 in the intrusion, 6 + 6 in the two noise cases, 2 in the probe case,
    # 1 in the last; resolved: 30 + 6 + 2; true positives: the intrusion's 30.
    assert sum(d.alerts for d in metrics.detections) == 45
    assert sum(d.resolved for d in metrics.detections) == 38
    assert sum(d.true_positive for d in metrics.detections) == 30
    assert metrics.resolved_cases == 3
    feed = metrics.precision_figures()
    assert feed["wazuh:554"] == (0.0, 1) and feed["suricata:2009358"] == (None, 0)
    assert all(p is None for p, _ in metrics.precision_figures(min_samples=2).values())


def test_mixed_detection_precision() -> None:
    def alert(n: int, case_id: str, primary: bool = True) -> AlertRecord:
        return AlertRecord(f"a{n}", case_id, primary, "edr:x", None, ())

    alerts = [
        *(alert(n, "C-1") for n in range(3)),  # resolved true_positive
        alert(3, "C-2"),  # resolved false_positive
        alert(4, "C-3"),
        alert(5, "C-3"),  # unresolved
        alert(6, "C-1", primary=False),  # a repeat: not a sample
    ]
    (figure,) = detection_precision(alerts, {"C-1": "true_positive", "C-2": "false_positive"})
    assert (figure.alerts, figure.resolved, figure.true_positive, figure.unresolved) == (6, 4, 3, 2)
    assert figure.fp_rate == 0.25 and figure.precision == 0.75


def test_analyst_touches(metrics: LiveMetrics) -> None:
    # Intrusion: bob's question, carol's denial, dave's rollback, erin's resolution = 4;
    # the two other resolved cases 1 each; the timer's expiries, the chat answer and the lease
    # sweeper are not people. Per case [4, 1, 1, 0, 0]: median 1, mean 6 / 5.
    t = metrics.touches
    assert (t.cases, t.touches, t.touched_cases) == (5, 6, 3)
    assert t.per_case_median == 1.0 and t.per_case_mean == 1.2
    assert t.untouched_share == 0.4
    assert t.by_kind == {"approval": 1, "chat": 1, "resolution": 3, "rollback": 1}


def test_human_touch_rules() -> None:
    assert human_touch("chat", "analyst:bob", {"role": "analyst"})
    assert not human_touch("chat", "offline-analyst", {"role": "assistant"})
    assert human_touch("approval", "carol", {"answer": {}, "verdict": "deny"})
    assert not human_touch("approval", "approval-timer", {"answer": {}, "verdict": "expire"})
    assert not human_touch("approval", "credential_abuse", {"phase": "requested"})
    assert human_touch("rollback", "dave", {})
    assert not human_touch("rollback", "lease-sweeper", {})
    assert not human_touch("verdict", "offline-playbooks", {})


def test_complete_evidence(metrics: LiveMetrics, built: tuple[Path, dict[str, str]]) -> None:
    # Concluded: the two auto-closed noise cases, the probe case (closed, resolved) and the
    # intrusion (resolved). The probe case's conclusion predates the late finding.
    e = metrics.evidence
    assert (e.concluded, e.complete, e.share) == (4, 3, 0.75)
    assert e.incomplete == ((built[1]["probe"], "1 alert(s) of the case are not in the evidence"),)


def test_evidence_problem_definition() -> None:
    items = [{"id": "E1", "alert_id": "a1"}, {"id": "E2", "alert_id": None}]
    ok = {"analysis": {"evidence": ["E1", "E2"]}, "evidence": items}
    assert evidence_problem(ok, {"a1"}) is None
    assert evidence_problem(None, set()) == "no analysis"
    uncited = {"analysis": {"evidence": []}, "evidence": items}
    assert evidence_problem(uncited, {"a1"}) == "the conclusion cites no evidence"
    dangling = {"analysis": {"evidence": ["E1", "E9"]}, "evidence": items}
    assert evidence_problem(dangling, {"a1"}) == "cites evidence the case does not have: E9"
    assert evidence_problem(ok, {"a1", "a2"}) == "1 alert(s) of the case are not in the evidence"


def test_attack_coverage(metrics: LiveMetrics, built: tuple[Path, dict[str, str]]) -> None:
    store = Store(built[0])
    try:
        per_case = {
            r.id: {t for a in store.alerts_of_case(r.id) for t in a.techniques}
            | set(((r.analysis or {}).get("analysis") or {}).get("techniques") or [])
            for r in store.cases()
        }
    finally:
        store.close()
    k = metrics.attack
    assert set(k.techniques) == set().union(*per_case.values())
    assert k.cases == 5 and k.cases_with_technique == sum(bool(t) for t in per_case.values())
    assert k.share == k.cases_with_technique / 5
    assert "T1621" in k.by_tactic["Credential Access"]  # MFA fatigue, from the Okta alerts
    assert set().union(*k.by_tactic.values()) == set(k.techniques)


def test_since_filters_by_case_creation(built: tuple[Path, dict[str, str]]) -> None:
    store = Store(built[0])
    try:
        assert live_metrics(store, T0).cases == 5  # inclusive
        later = live_metrics(store, T0 + timedelta(seconds=1))
    finally:
        store.close()
    assert (later.cases, later.alerts, later.detections) == (0, 0, ())
    assert later.alert_to_analysis.median is None and later.case_to_containment.p95 is None
    assert later.touches.per_case_median is None and later.evidence.share is None


def test_empty_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "empty.db")
    try:
        m = live_metrics(store)
    finally:
        store.close()
    assert (m.cases, m.alerts, m.resolved_cases, m.alerts_not_analysed) == (0, 0, 0, 0)
    assert (m.alert_to_analysis.count, m.alert_to_analysis.median, m.alert_to_analysis.p95) == (
        0,
        None,
        None,
    )
    assert m.case_to_containment.median is None
    assert m.touches.per_case_mean is None and m.touches.untouched_share is None
    assert m.evidence.share is None and m.attack.share is None and m.attack.techniques == ()
    assert m.precision_figures() == {}
    result = runner.invoke(app, ["metrics", "--db", str(tmp_path / "empty.db")])
    assert result.exit_code == 0, result.output
    assert "n/a" in result.stdout


def test_parse_since() -> None:
    assert parse_since("2026-10-01").isoformat() == "2026-10-01T00:00:00+00:00"
    assert parse_since("2026-10-01T08:00:00Z").isoformat() == "2026-10-01T08:00:00+00:00"
    assert parse_since("2026-10-01T08:00:00+02:00").isoformat() == "2026-10-01T06:00:00+00:00"
    assert parse_since("2026-10-01T08:00").isoformat() == "2026-10-01T08:00:00+00:00"
    for bad in ("yesterday", "2026-13-01", ""):
        with pytest.raises(ValueError, match="not an ISO date"):
            parse_since(bad)


def test_cli(built: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    db = str(built[0])
    result = runner.invoke(app, ["metrics", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    assert document["alert_to_analysis"]["median_seconds"] == 120.0
    assert document["touches"]["touches"] == 6
    shown = runner.invoke(app, ["metrics", "--db", db])
    assert shown.exit_code == 0, shown.output
    assert "Precision per detection" in shown.stdout
    bad = runner.invoke(app, ["metrics", "--db", db, "--since", "last week"])
    assert bad.exit_code == 2 and "--since" in bad.output
    target = tmp_path / "config" / "detections.yaml"
    wrote = runner.invoke(app, ["metrics", "--db", db, "--write-precision", str(target)])
    assert wrote.exit_code == 0, wrote.output
    assert "38 detections" in wrote.stdout.replace("\n", " ")
    assert "okta:user.mfa.okta_verify.deny_push" in target.read_text()
