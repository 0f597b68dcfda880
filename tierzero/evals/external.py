"""Labelled external data as an evaluation dataset: CSV files, a field mapping, a label column.

Each CSV file becomes one scenario whose alerts are the file's rows, read through the generic
mapped adapter (``--mapping``, the same YAML ``tierzero triage`` uses for CSV exports). The
label column says, per row, what the row is (``false_positive``, an attack phase, ...); the
values in ``benign_labels`` mean "not an attack". Triage never sees the label: the runner
reads a copy of the file without the label column (and without ``drop_columns``, e.g. a
second label column), so the labels are not even in ``raw_data``. Labels are joined back to
alerts by record number (the CSV line, as the ingest reader counts it) for scoring only.

External data has no expected grouping, verdict per case or actions, so it is scored on the
alert-level metrics: benign alerts auto-closed, per-detection precision, and per label the
share auto-closed and whether any of its alerts reached an escalated case.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from tierzero.evals.dataset import AlertFile, Dataset, DatasetError, Scenario, Truth


def external_dataset(
    files: Sequence[Path],
    mapping: Path,
    label_column: str,
    benign_labels: Sequence[str],
    now: datetime,
    drop_columns: Sequence[str] = (),
    name: str = "external",
) -> Dataset:
    """One scenario per CSV file, with per-row labels from ``label_column``."""
    if not mapping.is_file():
        raise DatasetError(f"no such mapping file: {mapping}")
    if not benign_labels:
        raise DatasetError("name at least one benign label (e.g. --benign-label false_positive)")
    scenarios = []
    digest = hashlib.sha256(mapping.read_bytes())
    for path in files:
        labels = read_labels(path, label_column)
        digest.update(path.name.encode() + b"\0" + str(path.stat().st_size).encode())
        file_id = _file_id(path)
        scenarios.append(
            Scenario(
                id=file_id,
                title=f"{path.name} ({len(labels)} labelled rows)",
                category="external",
                now=now,
                files=(
                    AlertFile(
                        id=file_id,
                        path=str(path.resolve()),
                        mapping=str(mapping.resolve()),
                        drop_columns=(label_column, *drop_columns),
                    ),
                ),
                truth=Truth(
                    labels={f"{file_id}#{line}": label for line, label in labels.items()},
                    benign_labels=tuple(benign_labels),
                ),
            )
        )
    if not scenarios:
        raise DatasetError("no CSV files given")
    return Dataset(
        name=name,
        version="0.0.0",
        description=f"external labelled data: {', '.join(p.name for p in files)}",
        scenarios=tuple(scenarios),
        sha256=digest.hexdigest(),
        root=str(Path.cwd()),
    )


def read_labels(path: Path, label_column: str) -> dict[int, str]:
    """Per record number (the CSV line the reader ends the row on): the row's label."""
    if not path.is_file():
        raise DatasetError(f"no such file: {path}")
    labels: dict[int, str] = {}
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.DictReader(handle)
        if label_column not in (reader.fieldnames or ()):
            columns = ", ".join(reader.fieldnames or ())
            raise DatasetError(f"{path}: no column {label_column!r} (columns: {columns})")
        for row in reader:
            labels[reader.line_num] = (row.get(label_column) or "").strip() or "(empty)"
    return labels


def _file_id(path: Path) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "_.-" else "_" for ch in path.stem)
    return (stem or "file")[:80]
