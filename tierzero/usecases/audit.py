"""The auditor's side: verify the hash chain of a store or of an exported file."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierzero.store.audit import verify
from tierzero.store.sqlite import Store
from tierzero.usecases.errors import Refused


@dataclass(frozen=True)
class ChainCheck:
    """A verified chain: how many records, and where they came from."""

    checked: int
    source: str


def verify_store(store: Store, source: str | None = None) -> ChainCheck:
    """Verify the whole audit chain of a store; a broken chain is refused with its first bad
    record (``source`` names the store in messages; its path by default)."""
    return _checked(store.audit_records(), whole=True, source=source or str(store.path))


def verify_export(path: Path) -> ChainCheck:
    """Verify an ``audit export`` file: the whole log, or one case's chain when every record
    belongs to one case. Any altered, removed, inserted or reordered record is refused."""
    records = read_export(path)
    one_case = len({r.get("case_id") for r in records}) == 1 and records[0].get("case_id")
    scope = f"case {records[0]['case_id']}" if one_case else "whole log"
    return _checked(records, whole=not one_case, source=f"{path} ({scope})")


def _checked(records: Iterable[dict[str, Any]], whole: bool, source: str) -> ChainCheck:
    result = verify(records, whole=whole)
    if not result.ok:
        raise Refused(
            f"audit chain broken at record seq {result.bad_seq} (line {result.bad_line}) "
            f"of {source}: {result.reason}"
        )
    return ChainCheck(result.checked, source)


def read_export(path: Path) -> list[dict[str, Any]]:
    """The records of an export file (JSON lines); anything unreadable is refused."""
    records: list[dict[str, Any]] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"cannot read {path}: {exc}") from None
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise Refused(
                f"{path}:{line_no}: not a JSON record ({exc.msg}): the export was altered"
            ) from None
        if not isinstance(record, dict):
            raise Refused(f"{path}:{line_no}: not a JSON object: the export was altered")
        records.append(record)
    if not records:
        raise Refused(f"{path}: no audit records")
    return records
