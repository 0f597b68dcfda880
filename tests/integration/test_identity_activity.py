"""Routine identity-provider events as context (issue 12): an Okta sign-in that is not an alert
is kept in the quarantine with its reason *and* read as its account's activity: the case of
the same account shows it, the sign-in tool lists it beside alerted sign-ins with the account's
own baseline of addresses, and MFA fatigue that worked (pushes rejected, then a sign-in that
raised no flag) is concluded a true positive from it.

Records: the bundled Okta example (written to Okta's documented LogEvent shape), with the
approved push, MFA success and session start stripped of every risk flag, so they are routine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from tierzero.cli import app
from tierzero.settings import Settings
from tierzero.store.identity_activity import ACTIVITY_WINDOW
from tierzero.store.sqlite import Store
from tierzero.tools.inventory import Inventory
from tierzero.tools.investigation.signins import signin_history
from tierzero.tools.registry import ToolContext

runner = CliRunner()
ALICE = "alice.martin@northwind.example"
ROUTINE = {
    0: "system.push.send_factor_verify_push",
    3: "user.authentication.auth_via_mfa",
    4: "user.session.start",
}


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _routine(record: dict[str, Any]) -> dict[str, Any]:
    """The record with no flag Okta could raise: low risk, no proxy, no behaviors."""
    debug = record["debugContext"]["debugData"]
    record["debugContext"]["debugData"] = {
        "requestUri": debug.get("requestUri", "/"),
        "risk": "{level=LOW}",
    }
    record["securityContext"]["isProxy"] = False
    return record


@pytest.fixture(scope="module")
def triaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("activity")
    records = [
        json.loads(line)
        for line in (EXAMPLES / "okta_system_log.jsonl").read_text().splitlines()
        if line.strip()
    ]
    assert {i: records[i]["eventType"] for i in ROUTINE} == ROUTINE
    lines = [_routine(r) if i in ROUTINE else r for i, r in enumerate(records)]
    path = folder / "okta.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    db = folder / "t.db"
    report = cli("triage", str(path), "--db", str(db), "--json")
    assert report["normalized"] == 2 and report["quarantined"] == 3
    return path, db


def test_routine_events_stay_in_the_quarantine_with_their_reason(
    triaged: tuple[Path, Path],
) -> None:
    _, db = triaged
    listed = cli("quarantine", "list", "--db", str(db), "--json")
    reasons = sorted(r["reason"].split("'")[1] for r in listed)
    assert reasons == sorted(ROUTINE.values())
    assert all(r["reason"].startswith("not an alert: routine Okta event") for r in listed)
    assert all(r["activity"]["user"] == ALICE for r in listed)


def test_the_case_shows_the_accounts_steps_and_concludes_fatigue_worked(
    triaged: tuple[Path, Path],
) -> None:
    _, db = triaged
    (case,) = cli("cases", "list", "--db", str(db), "--json")
    shown = cli("cases", "show", case["id"], "--db", str(db), "--json")
    state = shown["analysis"]
    (activity,) = [e for e in state["evidence"] if e["kind"] == "activity"]
    assert activity["summary"].startswith(f"{ALICE}: 3 routine identity step(s)")
    assert "user.session.start SUCCESS from 198.51.100.23" in activity["summary"]
    outcomes = state["analysis"]["outcomes"]
    (credential,) = [o for o in outcomes if o["playbook"] == "credential_abuse"]
    assert credential["path"][0].startswith("fatigue_worked: mfa_approved_after_denials is True")
    assert credential["path"][0].endswith("-> yes")
    assert state["analysis"]["verdict"] == "true_positive"
    assert activity["id"] in state["analysis"]["evidence"]


def test_signin_history_lists_routine_steps_with_the_address_baseline(
    triaged: tuple[Path, Path],
) -> None:
    _, db = triaged
    store = Store(db)
    try:
        (row,) = store.cases()
        ctx = ToolContext(
            inventory=Inventory.load(Settings.load().folder / "inventory"),
            alerts=store,
            case_id=row.id,
        )
        history = signin_history(ctx, ALICE)
        routine = [e for e in history.events if e.alert_id is None]
        assert [e.title.rsplit("(", 1)[1] for e in routine] == [f"{t})" for t in ROUTINE.values()]
        assert all(e.matched_by.startswith("routine identity-provider step") for e in routine)
        # The push is sent before any success from that address; the session after one.
        assert routine[0].known_ip is False and routine[-1].known_ip is True
        assert len(store.case_activity(row.id, ACTIVITY_WINDOW, 10)) == 3
    finally:
        store.close()


def test_pushes_sent_after_denials_are_not_a_sign_in(tmp_path: Path) -> None:
    """An attacker who keeps pushing makes Okta 'succeed' at sending pushes: that is not the
    account getting in, so the fatigue did not (yet) work."""
    records = [
        json.loads(line)
        for line in (EXAMPLES / "okta_system_log.jsonl").read_text().splitlines()
        if line.strip()
    ]
    push, deny_1, deny_2 = records[0], records[1], records[2]
    later = _routine(json.loads(json.dumps(push)))
    later["uuid"] = "push-after-denials"
    later["published"] = "2026-11-16T09:45:00.000Z"
    path = tmp_path / "okta.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (deny_1, deny_2, later)))
    db = tmp_path / "t.db"
    cli("triage", str(path), "--db", str(db), "--json")
    (case,) = cli("cases", "list", "--db", str(db), "--json")
    state = cli("cases", "show", case["id"], "--db", str(db), "--json")["analysis"]
    assert any(e["kind"] == "activity" for e in state["evidence"])  # the push is context
    (credential,) = state["analysis"]["outcomes"]
    assert credential["path"][0].endswith("-> no")
