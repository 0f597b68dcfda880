"""The precision feed: tierzero writes detections.yaml, the policy loader merges it."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tierzero.config import ConfigError, default_config_dir
from tierzero.evals.precision import write_precision
from tierzero.guardrails.policy import PRECISION_FILE, MeasuredPrecision, load_policy
from tierzero.settings import Settings

WHEN = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)

# Detection ids come from alert fields: each of these must come back exactly as it went in,
# and none may add a key or a detection of its own.
HOSTILE = (
    "x: {precision: 0.0, alerts: 999}",
    "edr:rule\nmeasured: {evil: 1.0}",
    "&anchor *alias !!python/object/apply:os.system ['id']",
    "null",
    "true",
    "1.0",
    "~",
    "'single\"double",
    "# a comment",
    "- a list item",
    "? complex key",
    "line\u2028separator\u0085next",
    "bell\x07escape\x1b[31m",
    "naïve-ünïcode-检测",
    "trailing space ",
    " leading space",
    "%TAG ! tag:evil:",
    "---",
    "...",
    "a" * 2000,
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(default_config_dir(), target)
    return target


def set_detections(config: Path, **values: object) -> None:
    path = config / "policy.yaml"
    document = yaml.safe_load(path.read_text())
    document["detections"].update(values)
    path.write_text(yaml.safe_dump(document))


def test_written_precision_is_merged_into_the_policy(config: Path) -> None:
    figures = {
        "okta:password_spray": (0.97, 140),
        "edr:rare": (0.5, 3),  # too few samples for the policy (min_samples 20)
        "edr:unresolved": (None, 50),  # nothing measured: not written
        "ids:exactly_enough": (0.8, 20),
    }
    written = write_precision(config / PRECISION_FILE, figures, "store t.db, all cases", WHEN)
    assert written == 3
    on_disk = MeasuredPrecision.model_validate(
        yaml.safe_load((config / PRECISION_FILE).read_text())
    )
    assert on_disk.source == "store t.db, all cases"
    assert on_disk.written_at == WHEN
    assert set(on_disk.detections) == {"okta:password_spray", "edr:rare", "ids:exactly_enough"}
    assert on_disk.detections["edr:rare"].alerts == 3
    measured = Settings.load(config).policy.detections.measured
    assert measured == {"okta:password_spray": 0.97, "ids:exactly_enough": 0.8}


def test_min_samples_is_read_from_the_policy(config: Path) -> None:
    set_detections(config, min_samples=3)
    write_precision(config / PRECISION_FILE, {"edr:rare": (0.5, 3), "edr:two": (1.0, 2)}, "s", WHEN)
    assert Settings.load(config).policy.detections.measured == {"edr:rare": 0.5}


def test_a_value_in_policy_yaml_wins_over_the_file(config: Path) -> None:
    set_detections(config, measured={"okta:password_spray": 0.4})
    write_precision(
        config / PRECISION_FILE,
        {"okta:password_spray": (0.99, 500), "okta:other": (0.95, 100)},
        "s",
        WHEN,
    )
    measured = Settings.load(config).policy.detections.measured
    assert measured == {"okta:password_spray": 0.4, "okta:other": 0.95}


def test_no_file_no_measurement_and_fingerprint_covers_it(config: Path) -> None:
    before = Settings.load(config)
    assert before.policy.detections.measured == {}
    assert before.policy.detections.min_samples == 20
    write_precision(config / PRECISION_FILE, {"okta:x": (0.9, 30)}, "s", WHEN)
    after = Settings.load(config)
    assert after.fingerprint != before.fingerprint
    # load_policy alone (no precision file named) ignores it.
    assert load_policy(config / "policy.yaml").detections.measured == {}


def test_hostile_detection_ids_round_trip(config: Path) -> None:
    figures = {d: (round(0.5 + i / 100, 4), 100 + i) for i, d in enumerate(HOSTILE)}
    write_precision(config / PRECISION_FILE, figures, "store 'x'\nevil: 1", WHEN)
    text = (config / PRECISION_FILE).read_text(encoding="utf-8")
    assert text.isascii()  # everything unusual is escaped, nothing raw reaches the file
    document = yaml.safe_load(text)
    assert set(document) == {"source", "written_at", "detections"}
    assert document["source"] == "store 'x'\nevil: 1"
    measured = MeasuredPrecision.model_validate(document).detections
    assert set(measured) == set(HOSTILE)
    for i, detection in enumerate(HOSTILE):
        assert measured[detection].precision == figures[detection][0]
        assert measured[detection].alerts == 100 + i
    merged = Settings.load(config).policy.detections.measured
    assert merged == {d: p for d, (p, _) in figures.items()}


def test_write_is_atomic(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = config / PRECISION_FILE
    write_precision(target, {"okta:x": (0.9, 30)}, "first", WHEN)
    original = target.read_bytes()

    def refuse(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_precision(target, {"okta:x": (0.1, 30)}, "second", WHEN)
    assert target.read_bytes() == original  # the old file is intact
    assert sorted(p.name for p in config.iterdir() if p.name.startswith(".")) == []  # no temp


def test_a_broken_file_is_a_config_error(config: Path) -> None:
    (config / PRECISION_FILE).write_text("detections:\n  okta:x: {precision: 1.7, alerts: 5}\n")
    with pytest.raises(ConfigError, match=r"detections\.yaml:2"):
        Settings.load(config)
