"""``tierzero eval replay`` on a small labelled file written here: a detection that is noise
every morning, and an intrusion on the last day. With learning approved the noise stops
reaching a person once people taught it; the intrusion still does."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from tierzero.cli import app
from tierzero.evals.replay_report import second_half

runner = CliRunner()
MAPPING = """name: replay-test
fields:
  time: {column: time, format: iso8601}
  title: title
  detection: detection
  host: host
  severity: severity
"""
START = datetime(2026, 2, 2, 9, tzinfo=UTC)


def labelled(folder: Path) -> Path:
    rows = []
    for day in range(6):
        for minute in range(3):
            at = START + timedelta(days=day, minutes=minute)
            rows.append((at, "Backup check failed", "NOISE-1", "web-01", "low", "false_positive"))
    attack = START + timedelta(days=5, hours=6)
    rows.append((attack, "Credential dumping", "LSASS-1", "web-01", "high", "intrusion"))
    path = folder / "labelled.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time", "title", "detection", "host", "severity", "label"])
        for at, *rest in rows:
            writer.writerow([at.isoformat(), *rest])
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    return path


def replay(folder: Path, learn: str) -> dict:
    out = folder / f"out-{learn}"
    result = runner.invoke(
        app,
        [
            "eval",
            "replay",
            str(folder / "labelled.csv"),
            "--mapping",
            str(folder / "mapping.yaml"),
            "--label-column",
            "label",
            "--benign-label",
            "false_positive",
            "--resolve-after",
            "PT2H",
            "--approve-learned",
            learn,
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "learning_curve.png").is_file() and (out / "report.md").is_file()
    return json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_learning_takes_the_noise_off_people_and_leaves_the_intrusion(tmp_path: Path) -> None:
    labelled(tmp_path)
    without, learned = replay(tmp_path, "no"), replay(tmp_path, "yes")
    for report in (without, learned):
        [scenario] = report["scenarios"]
        assert len(scenario["alerts"]) == 19 and scenario["cases"]  # eval run's layout
        days = scenario["replay"]["days"]
        assert [d["day"] for d in days] == [f"2026-02-0{n}" for n in range(2, 8)]
        assert days[-1]["attack_phases_escalated"] == ["intrusion"]
    noisy = [
        d["noise_only_escalated_cases"]
        for d in second_half(without["scenarios"][0]["replay"]["days"])
    ]
    quiet = [
        d["noise_only_escalated_cases"]
        for d in second_half(learned["scenarios"][0]["replay"]["days"])
    ]
    # Without learning the noise reaches a person each morning until triage's own routine
    # rule closes it (six earlier hours); with it, people's verdicts closed it from day four.
    assert (noisy, quiet) == ([1, 1, 0], [0, 0, 0])
    assert learned["scenarios"][0]["replay"]["totals"]["rules_approved"] == 1
    assert "Second half" in (tmp_path / "out-yes" / "report.md").read_text(encoding="utf-8")
