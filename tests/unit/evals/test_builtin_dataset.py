"""The built-in evaluation dataset: its size and balance, the sanity of its truth, that every
record reads as an alert, and that the committed JSON is exactly what the generator writes."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

import devtools.builtin_suite
from devtools.builtin_suite import suite
from tierzero.evals.dataset import ATTACK_VERDICTS, BUILTIN, Dataset, Scenario, load_dataset
from tierzero.ingest.alert import Alert
from tierzero.ingest.reader import IngestOptions, read
from tierzero.tools.inventory import Inventory

TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")
ATTACK_CATEGORIES = (
    "credential_abuse",
    "malware_execution",
    "lateral_movement",
    "data_exfiltration",
    "phishing",
    "cloud_abuse",
)
USER_ACTIONS = ("revoke_sessions", "reset_password", "disable_user")
# Actions whose target is an indicator value that must appear in the case's own records.
INDICATOR_ACTIONS = ("block_hash", "block_ip", "block_domain", "quarantine_email")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return load_dataset("builtin")


def _inventory(dataset: Dataset, scenario: Scenario) -> Inventory:
    env = dataset.environment_of(scenario)
    return Inventory(
        assets=env.assets,
        identities=env.identities,
        windows=env.windows,
        scanners=env.scanners,
        indicators=env.indicators,
        internal_domains=("northwind.example", "corp.northwind.example"),
    )


def test_size_and_balance(dataset: Dataset) -> None:
    by_category: Counter[str] = Counter(s.category for s in dataset.scenarios)
    assert len(dataset.scenarios) >= 200
    for category in ATTACK_CATEGORIES:
        assert by_category[category] >= 20, category
    assert by_category["benign_lookalike"] >= 40


def test_enough_hard_scenarios(dataset: Dataset) -> None:
    hard = sum(s.difficulty == "hard" for s in dataset.scenarios)
    assert hard / len(dataset.scenarios) >= 0.15


def test_every_scenario_forbids_something(dataset: Dataset) -> None:
    missing = [s.id for s in dataset.scenarios if not s.truth.forbidden_actions]
    assert not missing


def test_attack_cases_name_their_techniques(dataset: Dataset) -> None:
    for scenario in dataset.scenarios:
        for case in scenario.truth.cases:
            assert all(TECHNIQUE.match(t) for t in case.techniques), (scenario.id, case.id)
            if case.verdict in ATTACK_VERDICTS:
                assert case.techniques, (scenario.id, case.id)


def test_truth_matches_the_category(dataset: Dataset) -> None:
    """Attack scenarios contain an attack; benign look-alikes contain none."""
    for scenario in dataset.scenarios:
        attacks = [c for c in scenario.truth.cases if c.verdict in ATTACK_VERDICTS]
        if scenario.category == "benign_lookalike":
            assert not attacks, scenario.id
            assert not any(c.expected_actions for c in scenario.truth.cases), scenario.id
        else:
            assert attacks, scenario.id
        assert all(c.evidence for c in scenario.truth.cases), scenario.id


def test_expected_actions_are_reachable(dataset: Dataset) -> None:
    """Hosts and accounts are in the inventory; indicators appear in the case's records."""
    for scenario in dataset.scenarios:
        inventory = _inventory(dataset, scenario)
        records = {a.ref: json.dumps(a.record).lower() for a in scenario.alerts}
        for case in scenario.truth.cases:
            text = "\n".join(records[ref] for ref in case.alerts)
            for action in case.expected_actions:
                assert action.target, (scenario.id, str(action))
                if action.action == "isolate_host":
                    assert inventory.asset(action.target), (scenario.id, str(action))
                elif action.action in USER_ACTIONS:
                    assert inventory.identity(action.target), (scenario.id, str(action))
                else:
                    assert action.action in INDICATOR_ACTIONS, (scenario.id, str(action))
                    assert action.target.lower() in text, (scenario.id, str(action))


def test_every_record_reads_as_an_alert(dataset: Dataset, tmp_path: Path) -> None:
    """Each record parses (no quarantine but a routine event's "not an alert"), before
    ``now``, in time order, with a unique id. Routine Okta events (a sign-in that succeeded
    after a push storm) are context, not alerts, since issue 12: the scenario keeps them."""
    for scenario in dataset.scenarios:
        path = tmp_path / f"{scenario.id}.jsonl"
        path.write_text("".join(json.dumps(a.record) + "\n" for a in scenario.alerts))
        out = list(read([path], IngestOptions(), scenario.now))
        assert len(out) == len(scenario.alerts), scenario.id
        for item, alert in zip(out, scenario.alerts, strict=True):
            if not isinstance(item, Alert):
                assert item.reason.startswith("not an alert: routine"), (scenario.id, alert.ref)
                continue
            assert item.time < scenario.now, (scenario.id, alert.ref)
        alerts = [o for o in out if isinstance(o, Alert)]
        times = [a.time for a in alerts]
        assert times == sorted(times), scenario.id
        assert len({a.id for a in alerts}) == len(alerts), scenario.id


def test_committed_files_match_the_generator() -> None:
    """The JSON is generated, never edited by hand: rebuilding gives the same bytes."""
    files = suite.render(*suite.build())
    on_disk = {"dataset.json"} | {
        f"scenarios/{p.name}" for p in (BUILTIN / "scenarios").glob("*.json")
    }
    assert on_disk == set(files)
    for name, text in files.items():
        assert (BUILTIN / name).read_text(encoding="utf-8") == text, (
            f"{name} is out of step with devtools/builtin_suite/: run "
            "python -m devtools.builtin_suite"
        )


def test_module_docstring_lists_every_template() -> None:
    doc = devtools.builtin_suite.__doc__ or ""
    for template in suite.TEMPLATES:
        assert f"{template.name} ({template.variants}" in doc, template.name
