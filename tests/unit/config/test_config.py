"""Configuration: the bundled config loads; broken files are refused with file, line and key."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tierzero.agents.facts import fact_names
from tierzero.config import ConfigError, default_config_dir
from tierzero.settings import Settings
from tierzero.settings.playbooks import FACT_NAMES
from tierzero.tools.inventory import Inventory, load_stix_bundle


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(default_config_dir(), target)
    return target


def test_bundled_config_loads() -> None:
    settings = Settings.load()
    ids = {p.id for p in settings.playbooks}
    assert {
        "credential_abuse",
        "malware_execution",
        "lateral_movement",
        "data_exfiltration",
        "phishing",
    } <= ids
    assert settings.correlation.internal_domains == ("northwind.example", "corp.northwind.example")


def test_unknown_key_names_file_line_and_key(config_copy: Path) -> None:
    path = config_copy / "correlation.yaml"
    path.write_text(path.read_text() + "join_windwo: PT1H\n")
    with pytest.raises(ConfigError) as caught:
        Settings.load(config_copy)
    line = len(path.read_text().splitlines())
    assert f"correlation.yaml:{line}: 'join_windwo'" in str(caught.value)


def test_bad_value_in_nested_list_names_its_line(config_copy: Path) -> None:
    path = config_copy / "priority.yaml"
    text = path.read_text().replace("{name: P2, min_score: 55", "{name: P2, min_score: -5")
    path.write_text(text)
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if "min_score: -5" in t)
    with pytest.raises(ConfigError, match=rf"priority.yaml:{line}: 'priorities.1.min_score'"):
        Settings.load(config_copy)


def test_yaml_syntax_error_names_line(config_copy: Path) -> None:
    (config_copy / "organization.yaml").write_text("name: x\ninternal_domains: [a, b\n")
    with pytest.raises(ConfigError, match=r"organization.yaml:\d+: not valid YAML"):
        Settings.load(config_copy)


def test_playbook_with_unknown_fact_is_refused(config_copy: Path) -> None:
    path = config_copy / "playbooks" / "phishing.yaml"
    path.write_text(path.read_text().replace("fact: email_involved", "fact: email_invloved"))
    with pytest.raises(ConfigError, match="unknown fact.*email_invloved"):
        Settings.load(config_copy)


def test_playbook_with_action_outside_catalog_is_refused(config_copy: Path) -> None:
    path = config_copy / "playbooks" / "phishing.yaml"
    path.write_text(path.read_text().replace("action: quarantine_email", "action: wipe_laptop"))
    with pytest.raises(ConfigError, match="not in the catalog: wipe_laptop"):
        Settings.load(config_copy)


def test_facts_documented() -> None:
    readme = (default_config_dir() / "playbooks" / "README.md").read_text()
    missing = [name for name in fact_names() if f"`{name}`" not in readme]
    assert missing == []


def test_inventory_lookups_normalize_names() -> None:
    inventory = Settings.load().inventory
    assert inventory.identity("NORTHWIND\\Alice.Martin").user == "alice.martin"  # type: ignore[union-attr]
    assert inventory.identity("alice.martin@northwind.example").user == "alice.martin"  # type: ignore[union-attr]
    assert inventory.asset("lt-fin-042.northwind.example").hostname == "LT-FIN-042"  # type: ignore[union-attr]
    assert inventory.asset("10.10.1.15").hostname == "SRV-FS-01"  # type: ignore[union-attr]
    assert inventory.asset("nope") is None


def test_stix_bundle_indicators_and_validity(tmp_path: Path) -> None:
    indicators = load_stix_bundle(default_config_dir() / "inventory" / "threat_intel.stix.json")
    values = {(i.type, i.value) for i in indicators}
    assert ("ip", "198.51.100.23") in values
    assert ("email", "invoices@northwlnd-billing.example") in values  # from an OR pattern
    inventory = Inventory(indicators=tuple(indicators))
    when = datetime(2026, 11, 16, tzinfo=UTC)
    assert inventory.intel("10.0.5.10", when) == []  # expired in 2024
    assert inventory.intel("10.0.5.10", datetime(2024, 3, 1, tzinfo=UTC))
    broken = tmp_path / "bad.stix.json"
    broken.write_text(
        '{"type": "bundle", "objects": [{"type": "indicator", "id": "indicator--1",'
        ' "pattern": "[ipv4-addr:value = ", "pattern_type": "stix"}]}'
    )
    with pytest.raises(ConfigError, match="bad pattern"):
        load_stix_bundle(broken)


def test_fact_names_are_the_facts_computed() -> None:
    """Playbooks are checked against FACT_NAMES at load; the agents compute exactly those."""
    assert fact_names() == set(FACT_NAMES)
