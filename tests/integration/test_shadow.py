"""Shadow mode on the examples: a stricter candidate reports exactly the decisions it changes,
acts on nothing, and leaves the production store as it was but for one audit record."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import EXAMPLES, NOW
from tests.factories import copy_store
from tierzero.cli import app
from tierzero.config import ConfigError, default_config_dir
from tierzero.evals.shadow import (
    DecisionChange,
    DryRunConnector,
    DryRunViolation,
    load_candidate,
    shadow_run,
)
from tierzero.settings import Settings
from tierzero.store.audit import verify
from tierzero.store.sqlite import Store
from tierzero.usecases.triage import triage

runner = CliRunner()
LATER = NOW + timedelta(days=3)  # when the shadow run happens (after the analyses)
INDICATOR_ACTIONS = ("block_ip", "block_domain", "block_hash", "quarantine_email")


@pytest.fixture(scope="module")
def triaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with the examples triaged at NOW by the offline analyst (never modified)."""
    db = tmp_path_factory.mktemp("shadow") / "prod.db"
    store = Store(db)
    try:
        triage([EXAMPLES], Settings.load(), store, now=NOW, model="off", memory=None)
    finally:
        store.close()
    return db


@pytest.fixture
def db(triaged: Path, tmp_path: Path) -> Path:
    """A private copy of the triaged store for one test."""
    target = copy_store(triaged, tmp_path / "prod.db")
    return target


def strict_policy(folder: Path) -> Path:
    """The bundled policy without the indicator-block tier rule and with LT-FIN-042 denied."""
    document = yaml.safe_load((default_config_dir() / "policy.yaml").read_text())
    document["version"] = "shadow-test.1"
    document["tiers"] = [t for t in document["tiers"] if t["id"] != "indicator_blocks"]
    document["deny"]["targets"] = ["LT-FIN-042"]
    path = folder / "strict.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def content(db: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Every table's rows as SQL (the audit and its signed head apart) and the audit records."""
    audit_rows = ('INSERT INTO "audit"', 'INSERT INTO "audit_head"')
    conn = sqlite3.connect(db)
    try:
        dump = [line for line in conn.iterdump() if not line.startswith(audit_rows)]
        store_rows = conn.execute("SELECT seq, kind, actor, payload FROM audit ORDER BY seq")
        audit = [
            {"seq": s, "kind": k, "actor": a, "payload": json.loads(p)}
            for s, k, a, p in store_rows.fetchall()
        ]
    finally:
        conn.close()
    return dump, audit


def intrusion_case(store: Store) -> str:
    """The case whose stored decisions include isolating LT-FIN-042 (the intrusion)."""
    (case_id,) = [
        row.id
        for row in store.cases()
        if any(
            d["action"] == "isolate_host" and d["target"] == "LT-FIN-042"
            for d in (row.analysis or {}).get("decisions", [])
        )
    ]
    return case_id


def test_stricter_policy_reports_exactly_the_changed_decisions(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the copy is made
    before_dump, before_audit = content(db)
    settings = Settings.load()
    candidate = load_candidate(settings, strict_policy(tmp_path), None)
    spy = DryRunConnector()
    store = Store(db)
    try:
        case_id = intrusion_case(store)
        stored = {
            (d["action"], d["target"]): d
            for d in (store.case(case_id).analysis or {})["decisions"]  # type: ignore[union-attr]
        }
        report = shadow_run(store, settings, candidate, LATER, connector=spy)
    finally:
        store.close()

    # Expected by hand: every indicator block that tier 1 allowed falls through to the default
    # rule (approval); the isolation of LT-FIN-042 hits the new deny-list entry.
    expected = {
        (case_id, action, target, "allow", "needs_approval", "tier.default")
        for (action, target), d in stored.items()
        if action in INDICATOR_ACTIONS and d["outcome"] == "allow"
    } | {(case_id, "isolate_host", "LT-FIN-042", "allow", "deny", "deny_list.target")}
    assert len(expected) == 8
    got = {
        (c.case_id, c.action, c.target, c.before.outcome, c.after.outcome, c.after.rule_id)
        for c in report.changes
        if c.before is not None and c.after is not None
    }
    assert got == expected
    assert all(c.kind == "changed" for c in report.changes)
    assert {c.before.rule_id for c in report.changes if c.before is not None} == {
        "tier.indicator_blocks",
        "tier.workstation_containment",
    }
    assert report.case_changes == []  # the intrusion case was waiting for approval already
    assert report.drift == [] and report.errors == []  # the baseline reproduces what is stored
    assert report.cases_replayed == 5
    assert report.counts()["transitions"] == {"allow->deny": 1, "allow->needs_approval": 7}
    assert report.summary_line().startswith(
        "5 cases replayed, 8 decisions would change: 1 allow->deny, 7 allow->needs_approval"
    )
    assert report.changed

    # Nothing was executed, and the production store only gained the shadow record.
    assert spy.calls == []
    after_dump, after_audit = content(db)
    assert after_dump == before_dump
    assert after_audit[:-1] == before_audit
    record = after_audit[-1]
    assert (record["kind"], record["actor"]) == ("shadow", "shadow")
    assert record["payload"]["policy_version"] == "shadow-test.1"
    assert record["payload"]["policy_sha256"] == candidate.policy_sha256
    assert record["payload"]["decisions_changed"] == 8
    assert record["payload"]["cases_replayed"] == 5
    store = Store(db)
    try:
        assert verify(store.audit_records()).ok
    finally:
        store.close()
    assert list(scratch.iterdir()) == []  # the copy was deleted


def test_identical_candidate_reports_no_change(db: Path) -> None:
    settings = Settings.load()
    candidate = load_candidate(settings, default_config_dir() / "policy.yaml", None)
    store = Store(db)
    try:
        report = shadow_run(store, settings, candidate, LATER)
    finally:
        store.close()
    assert report.cases_replayed == 5
    assert report.changes == [] and report.case_changes == [] and report.drift == []
    assert not report.changed
    assert report.summary_line() == "5 cases replayed, 0 decisions would change."


def test_candidate_playbooks_change_verdict_and_status(db: Path, tmp_path: Path) -> None:
    """A playbook change shows as a verdict and status change (internet noise no longer
    closes as benign: it is escalated for review)."""
    books = tmp_path / "playbooks"
    shutil.copytree(default_config_dir() / "playbooks", books)
    recon = books / "reconnaissance.yaml"
    document = yaml.safe_load(recon.read_text())
    document["version"] = 2
    document["tree"]["otherwise"]["then"]["verdict"] = "needs_review"
    recon.write_text(yaml.safe_dump(document, sort_keys=False))
    settings = Settings.load()
    store = Store(db)
    try:
        closed = [r.id for r in store.cases() if r.status == "closed"]
        report = shadow_run(store, settings, load_candidate(settings, None, books), LATER)
    finally:
        store.close()
    assert len(closed) == 1
    assert {(c.case_id, c.field, c.before, c.after) for c in report.case_changes} == {
        (closed[0], "verdict", "benign_positive", "needs_review"),
        (closed[0], "status", "closed", "escalated"),
    }
    assert report.changes == [] and report.drift == []


def test_dry_run_connector_refuses_everything() -> None:
    spy = DryRunConnector()
    with pytest.raises(DryRunViolation):
        spy.apply("isolate_host", "LT-FIN-042", "key", NOW)
    assert spy.calls == [("isolate_host", "LT-FIN-042")]


def test_limit_and_bad_candidates(db: Path, tmp_path: Path) -> None:
    settings = Settings.load()
    store = Store(db)
    try:
        candidate = load_candidate(settings, strict_policy(tmp_path), None)
        report = shadow_run(store, settings, candidate, LATER, limit=1, audit=False)
    finally:
        store.close()
    assert report.cases_replayed == 1
    with pytest.raises(ConfigError):
        load_candidate(settings, None, None)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: x\ncatalog: {}\n")
    with pytest.raises(ConfigError):
        load_candidate(settings, bad, None)
    # A catalog without an action the playbooks use is refused (checked against the candidate).
    document = yaml.safe_load((default_config_dir() / "policy.yaml").read_text())
    del document["catalog"]["isolate_host"]
    no_isolation = tmp_path / "no_isolation.yaml"
    no_isolation.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match="not in the catalog"):
        load_candidate(settings, no_isolation, None)


def test_cli(db: Path, tmp_path: Path) -> None:
    strict = strict_policy(tmp_path)
    shown = runner.invoke(app, ["shadow", "--policy", str(strict), "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "8 decisions would change" in shown.stdout
    assert "offline analyst" in shown.stdout
    gated = runner.invoke(
        app, ["shadow", "--policy", str(strict), "--db", str(db), "--json", "--fail-on-change"]
    )
    assert gated.exit_code == 1
    document = json.loads(gated.stdout)
    assert document["summary"]["decisions_changed"] == 8
    assert document["candidate"]["policy_version"] == "shadow-test.1"
    same = runner.invoke(
        app,
        [
            "shadow",
            "--policy",
            str(default_config_dir() / "policy.yaml"),
            "--db",
            str(db),
            "--fail-on-change",
        ],
    )
    assert same.exit_code == 0, same.output
    missing = runner.invoke(
        app, ["shadow", "--policy", str(tmp_path / "nope.yaml"), "--db", str(db)]
    )
    assert missing.exit_code == 2
    assert "policy file not found" in missing.output
    nothing = runner.invoke(app, ["shadow", "--db", str(db)])
    assert nothing.exit_code == 2


def test_drift_is_reported_apart_from_changes(tmp_path: Path) -> None:
    """Cases analysed under an older (here: stricter) policy: the baseline replay under the
    current policy differs from what is stored. That is drift, reported on its own; the
    candidate (the old policy again) is compared with the baseline, not with the store."""
    current = Settings.load()
    strict = load_candidate(current, strict_policy(tmp_path), None)
    store = Store(tmp_path / "old.db")
    try:
        triage([EXAMPLES], strict.settings, store, now=NOW, model="off", memory=None)
        report = shadow_run(store, current, strict, LATER, audit=False)
    finally:
        store.close()
    drifted = [d for d in report.drift if isinstance(d, DecisionChange)]
    assert len(drifted) == 8 and len(report.changes) == 8
    assert {(d.action, d.target) for d in drifted} == {(c.action, c.target) for c in report.changes}
    # Drift goes stored -> baseline (strict -> current); changes baseline -> candidate.
    assert {d.transition for d in drifted} == {"needs_approval->allow", "deny->allow"}
    assert {c.transition for c in report.changes} == {"allow->needs_approval", "allow->deny"}


def test_replay_uses_the_kill_switch_as_it_was_at_analysis_time(db: Path) -> None:
    """Autonomy switched off after the analyses: the replay still sees it on (no drift), so
    the report is about the candidate, not about today's switch."""
    settings = Settings.load()
    store = Store(db)
    try:
        store.set_autonomy(False, "ops-lead", "incident freeze", NOW + timedelta(hours=1))
        report = shadow_run(
            store,
            settings,
            load_candidate(settings, default_config_dir() / "policy.yaml", None),
            LATER,
            audit=False,
        )
    finally:
        store.close()
    assert report.drift == [] and report.changes == []
