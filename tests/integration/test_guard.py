"""The guard node in the real graph: every proposed action gets an audited decision."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from tierzero.cli import app

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def decisions_of(db: str) -> list[dict[str, str]]:
    cases = json.loads(run("cases", "list", "--db", db, "--json"))
    return [d for c in cases for d in c["decisions"]]


def test_every_recommendation_is_decided_and_audited(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    run("triage", str(EXAMPLES), "--db", db)
    decisions = decisions_of(db)
    assert {d["outcome"] for d in decisions} == {"allow", "needs_approval", "deny"}
    denied = {(d["action"], d["target"]): d["rule_id"] for d in decisions if d["outcome"] == "deny"}
    assert denied[("isolate_host", "DC-01")] == "deny_list.asset_role"
    assert denied[("disable_user", "breakglass-admin")] == "deny_list.privilege"
    isolate = {d["target"]: d for d in decisions if d["action"] == "isolate_host"}
    assert isolate["LT-FIN-042"]["outcome"] == "allow"
    assert isolate["SRV-FS-01"]["rule_id"] == "tier.production_disruption"
    audited = [json.loads(x) for x in run("audit", "export", "--db", db).splitlines()]
    assert sum(r["kind"] == "decision" for r in audited) == len(decisions)


def test_kill_switch_sends_everything_to_approval(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    assert "autonomy is off" in run(
        "autonomy", "off", "--as", "soc-lead", "--reason", "drill", "--db", db
    )
    run("triage", str(EXAMPLES), "--db", db)
    decisions = decisions_of(db)
    # Deny lists still deny; everything else waits for a person.
    assert decisions and all(d["outcome"] != "allow" for d in decisions)
    assert {d["rule_id"] for d in decisions if d["outcome"] == "needs_approval"} == {"autonomy.off"}
    assert {d["rule_id"].split(".")[0] for d in decisions if d["outcome"] == "deny"} == {
        "deny_list"
    }
    audited = [json.loads(x) for x in run("audit", "export", "--db", db).splitlines()]
    switch = [r for r in audited if r["kind"] == "autonomy"]
    assert switch[0]["actor"] == "soc-lead" and switch[0]["payload"]["autonomy"] == "off"
