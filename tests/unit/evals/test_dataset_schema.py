"""The published dataset JSON schemas match the models, and loading errors name the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tierzero.evals.dataset import SCHEMA_DIR, DatasetError, json_schemas, load_dataset


def test_published_schemas_are_generated_from_the_models() -> None:
    for name, schema in json_schemas().items():
        published = json.loads((SCHEMA_DIR / name).read_text())
        assert published == schema, f"{name} is stale: run python -m tierzero.evals.dataset"


def test_loading_errors_name_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    (folder / "scenarios").mkdir(parents=True)
    (folder / "dataset.json").write_text('{"name": "d", "version": "1.0.0"}')
    (folder / "scenarios" / "a.json").write_text(
        json.dumps(
            [
                {
                    "id": "s1",
                    "title": "t",
                    "category": "phishing",
                    "now": "2026-11-17T09:00:00Z",
                    "alerts": [{"ref": "a", "record": {}}],
                    "truth": {
                        "cases": [
                            {
                                "id": "c",
                                "alerts": ["a"],
                                "verdict": "true_positive",
                                "techniques": ["T1566.1"],
                            }
                        ]
                    },
                }
            ]
        )
    )
    with pytest.raises(DatasetError, match=r"a\.json\[0\] \(scenario s1\).*techniques"):
        load_dataset(folder)
    (folder / "scenarios" / "a.json").write_text("[{")
    with pytest.raises(DatasetError, match=r"a\.json:1: not valid JSON"):
        load_dataset(folder)
    with pytest.raises(DatasetError, match="no dataset.json"):
        load_dataset(folder / "scenarios")


def test_builtin_loads_with_a_digest() -> None:
    data = load_dataset("builtin")
    assert len(data.sha256) == 64 and data.name == "builtin"
