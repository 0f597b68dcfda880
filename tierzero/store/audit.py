"""The audit chain: append-only, hash-chained records of everything tierzero decides or does.

Each record is ``{seq, ts, case_id, kind, actor, payload, prev_hash, hash}``. ``hash`` is the
SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of every other field. Records
chain per case: ``prev_hash`` is the hash of the previous record *of the same case* (records
without a case form their own chain under ``case_id = null``), starting from a genesis value
derived from the case id. ``seq`` is global and gap-free. So:

- a whole export (or the database) verifies every link and that ``seq`` runs 1, 2, 3 ... with
  no gap: altering, removing, inserting or reordering any record is detected;
- one case's export verifies on its own (alteration, insertion, reordering and removal of any
  record but the newest are detected; the newest is anchored by the database's copy).

Records are appended on the caller's connection inside the caller's transaction, so a state
change and its audit record commit together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, Literal

# The vocabulary of record kinds (docs/audit.md explains each).
AuditKind = Literal[
    "policy",  # the policy version in force for a run
    "correlation",  # an alert joined, opened or merged a case (with the reason)
    "tool_call",  # a tool was called: arguments and a digest of the result
    "model_call",  # one model request with its response
    "priority",  # triage's priority, SLA, queue and auto-close decision
    "verdict",  # the analyst's verdict with rationale and evidence ids
    "decision",  # a guardrail decision on a proposed action
    "approval",  # an approval requested, granted, denied or expired
    "action",  # an action row recorded, its execution started, done or failed
    "rollback",  # an action reverted (lease expiry or on demand)
    "autonomy",  # the kill switch turned on or off
    "chat",  # one message of the analyst chat about a case (question or answer)
    "resolution",  # an analyst's final verdict on a case (feedback)
    "shadow",  # a shadow run replayed stored cases through a candidate policy (acted on nothing)
]
AUDIT_KINDS: frozenset[str] = frozenset(AuditKind.__args__)  # type: ignore[attr-defined]

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    case_id TEXT,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS audit_case ON audit (case_id, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8 text kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def genesis(case_id: str | None) -> str:
    """The ``prev_hash`` of a chain's first record."""
    return hashlib.sha256(f"tierzero-audit-genesis:{case_id or ''}".encode()).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field but ``hash``."""
    body = {k: record[k] for k in ("seq", "ts", "case_id", "kind", "actor", "payload", "prev_hash")}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


class AuditWriteError(RuntimeError):
    """The audit record could not be written; the change it describes must not happen."""


def append(
    conn: sqlite3.Connection,
    *,
    kind: AuditKind,
    actor: str,
    payload: Mapping[str, Any],
    case_id: str | None,
    ts: datetime,
) -> dict[str, Any]:
    """Append one record on ``conn`` (inside the caller's transaction) and return it."""
    if kind not in AUDIT_KINDS:
        raise AuditWriteError(f"unknown audit kind {kind!r}")
    try:
        last = conn.execute("SELECT MAX(seq) FROM audit").fetchone()[0] or 0
        prev = conn.execute(
            "SELECT hash FROM audit WHERE case_id IS ? ORDER BY seq DESC LIMIT 1", (case_id,)
        ).fetchone()
        record: dict[str, Any] = {
            "seq": last + 1,
            "ts": ts.isoformat(),
            "case_id": case_id,
            "kind": kind,
            "actor": actor,
            # Round-trip through canonical JSON so the stored payload is exactly what was hashed.
            "payload": json.loads(canonical(dict(payload))),
            "prev_hash": prev[0] if prev else genesis(case_id),
        }
        record["hash"] = record_hash(record)
        conn.execute(
            "INSERT INTO audit VALUES (?,?,?,?,?,?,?,?)",
            (
                record["seq"],
                record["ts"],
                case_id,
                kind,
                actor,
                canonical(record["payload"]),
                record["prev_hash"],
                record["hash"],
            ),
        )
    except sqlite3.Error as exc:
        raise AuditWriteError(f"audit write failed: {exc}") from exc
    return record


def records(conn: sqlite3.Connection, case_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Stored records in ``seq`` order, all or one case's."""
    sql = "SELECT * FROM audit" + (" WHERE case_id = ?" if case_id else "") + " ORDER BY seq"
    cursor = conn.execute(sql, (case_id,) if case_id else ())
    for row in cursor:
        yield {
            "seq": row[0],
            "ts": row[1],
            "case_id": row[2],
            "kind": row[3],
            "actor": row[4],
            "payload": json.loads(row[5]),
            "prev_hash": row[6],
            "hash": row[7],
        }


@dataclass(frozen=True)
class Verification:
    """Result of checking a chain: ``ok``, or the first bad record and why."""

    ok: bool
    checked: int
    bad_seq: int | None = None
    bad_line: int | None = None
    reason: str = ""


def verify(items: Iterable[Mapping[str, Any]], whole: bool = True) -> Verification:
    """Check hashes, per-case links and (for a whole log) gap-free ``seq``.

    ``whole=False`` is for one case's export, where other cases' records are absent.
    """
    heads: dict[str | None, str] = {}
    expected_seq = 1
    last_seq = 0
    checked = 0
    for line, record in enumerate(items, start=1):
        seq = record.get("seq")
        bad = partial(_failure, checked, seq, line)
        missing = {"seq", "ts", "case_id", "kind", "actor", "payload", "prev_hash", "hash"} - set(
            record
        )
        if missing:
            return bad(f"missing field(s) {', '.join(sorted(missing))}")
        if not isinstance(seq, int):
            return bad("seq is not an integer")
        if whole and seq != expected_seq:
            return bad(
                f"seq {seq} where {expected_seq} was expected (record removed, inserted "
                "or reordered)"
            )
        if seq <= last_seq:
            return bad(f"seq {seq} after {last_seq} (records reordered)")
        if record_hash(record) != record["hash"]:
            return bad("hash does not match the record's content (record altered)")
        case_id = record["case_id"]
        want = heads.get(case_id, genesis(case_id))
        if record["prev_hash"] != want:
            return bad(
                f"prev_hash does not link to the previous record of case {case_id} "
                "(record removed, inserted or reordered)"
            )
        heads[case_id] = record["hash"]
        last_seq, expected_seq = seq, seq + 1
        checked += 1
    return Verification(True, checked)


def _failure(checked: int, seq: Any, line: int, reason: str) -> Verification:
    return Verification(False, checked, seq if isinstance(seq, int) else None, line, reason)
