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

The chain only shows that records agree with each other. Each record is also signed (``mac``)
with a key kept outside the database, and a signed head names the newest record
(:mod:`tierzero.store.audit_anchor`): together they show a whole-chain rewrite, a record added
without the key, and the newest records removed.
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

from tierzero.store import audit_anchor as anchor
from tierzero.store.audit_anchor import AuditKey, AuditKeyError, same_mac

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
    "feedback",  # a person's disposition of a case and what it covered (learning's input)
    "suppression",  # a learned suppression rule proposed, answered, expired or disabled
    "shadow",  # a shadow run replayed stored cases through a candidate policy (acted on nothing)
    "intake",  # alerts pushed to the service: who, which request, how many stored/quarantined
    "access",  # a service request refused for its token (401) or role (403)
    "token",  # a service token created or revoked (its name and role, never the token)
    "notification",  # one delivery attempt of an outbound webhook, and its outcome
]
AUDIT_KINDS: frozenset[str] = frozenset(AuditKind.__args__)  # type: ignore[attr-defined]

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    case_id TEXT,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    mac TEXT
);
CREATE INDEX IF NOT EXISTS audit_case ON audit (case_id, seq);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
    + anchor.HEAD_SCHEMA
)

FIELDS = ("seq", "ts", "case_id", "kind", "actor", "payload", "prev_hash", "hash", "mac")


def install(conn: sqlite3.Connection) -> None:
    """Create the audit tables, or bring a store written before records were signed up to
    date (its records keep ``mac`` NULL: they are reported as unsigned, not as tampered)."""
    conn.executescript(SCHEMA)
    if _has_mac_column(conn):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        if not _has_mac_column(conn):  # another process may have migrated it meanwhile
            conn.execute("ALTER TABLE audit ADD COLUMN mac TEXT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _has_mac_column(conn: sqlite3.Connection) -> bool:
    return any(row[1] == "mac" for row in conn.execute("PRAGMA table_info(audit)"))


def canonical(value: Any) -> str:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8 text kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def genesis(case_id: str | None) -> str:
    """The ``prev_hash`` of a chain's first record."""
    return hashlib.sha256(f"tierzero-audit-genesis:{case_id or ''}".encode()).hexdigest()


def record_hash(record: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON of every field but ``hash`` and ``mac``."""
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
    """Append one signed record on ``conn`` (inside the caller's transaction), move the signed
    head to it, and return it."""
    if kind not in AUDIT_KINDS:
        raise AuditWriteError(f"unknown audit kind {kind!r}")
    try:
        key = anchor.signing_key()
    except AuditKeyError as exc:
        raise AuditWriteError(f"audit write failed: {exc}") from exc
    try:
        head = anchor.read_head(conn)
        if head is not None and head.key_id != key.key_id:
            # A fresh key would make every earlier MAC look forged: refuse instead.
            raise AuditWriteError(
                f"audit write failed: this store is signed with audit key {head.key_id}, but "
                f"the key at {key.path} is {key.key_id}; point {anchor.KEY_ENV} at the "
                "store's key"
            )
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
        # A store written before records were signed is signed from this record on.
        signed_from = head.signed_from if head is not None else record["seq"]
        record["mac"] = key.record_mac(record["hash"], signed_from)
        conn.execute(
            f"INSERT INTO audit ({', '.join(FIELDS)}) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                record["seq"],
                record["ts"],
                case_id,
                kind,
                actor,
                canonical(record["payload"]),
                record["prev_hash"],
                record["hash"],
                record["mac"],
            ),
        )
        anchor.write_head(conn, key, record["seq"], record["hash"], record["ts"], signed_from)
    except sqlite3.Error as exc:
        raise AuditWriteError(f"audit write failed: {exc}") from exc
    record["signed_from"] = signed_from
    return record


def records(
    conn: sqlite3.Connection, case_id: str | None = None, kind: str | None = None
) -> Iterator[dict[str, Any]]:
    """Stored records in ``seq`` order, all or one case's, all or one ``kind``'s. A signed
    record also carries the seq its store is signed from (its MAC covers it; an export needs
    it to check the MAC); a record written before the store was signed has ``mac`` and
    ``signed_from`` None."""
    signed_from = _signed_from(conn)
    where = [(column, value) for column, value in (("case_id", case_id), ("kind", kind)) if value]
    sql = f"SELECT {', '.join(FIELDS)} FROM audit"
    if where:
        sql += " WHERE " + " AND ".join(f"{column} = ?" for column, _ in where)
    for row in conn.execute(sql + " ORDER BY seq", [value for _, value in where]):
        yield _record(row, signed_from)


def record_at(conn: sqlite3.Connection, seq: int) -> dict[str, Any] | None:
    """The stored record with this ``seq``, if any."""
    row = conn.execute(f"SELECT {', '.join(FIELDS)} FROM audit WHERE seq = ?", (seq,)).fetchone()
    return _record(row, _signed_from(conn)) if row is not None else None


def _signed_from(conn: sqlite3.Connection) -> int | None:
    """The seq the store is signed from: the head's, or without one (deleted) the first
    signed record's, so that verification can still name the head as the problem."""
    head = anchor.read_head(conn)
    if head is not None:
        return head.signed_from
    first = conn.execute("SELECT MIN(seq) FROM audit WHERE mac IS NOT NULL").fetchone()[0]
    return int(first) if first is not None else None


def _record(row: Iterable[Any], signed_from: int | None) -> dict[str, Any]:
    record = dict(zip(FIELDS, row, strict=True))
    record["payload"] = json.loads(record["payload"])
    record["signed_from"] = signed_from if record["mac"] is not None else None
    return record


@dataclass(frozen=True)
class Verification:
    """Result of checking a chain: ``ok``, or the first bad record and why.

    Also what the anchor checks need: how many records were signed and unsigned, the seq the
    signed records say signing began at, the last record's ``seq`` and hash, and whether MACs
    were checked (a key was given) or only their presence and order.
    """

    ok: bool
    checked: int
    bad_seq: int | None = None
    bad_line: int | None = None
    reason: str = ""
    signed: int = 0
    unsigned: int = 0
    signed_from: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    macs_checked: bool = False


def verify(
    items: Iterable[Mapping[str, Any]], whole: bool = True, key: AuditKey | None = None
) -> Verification:
    """Check hashes, per-case links, (for a whole log) gap-free ``seq``, and signatures.

    ``whole=False`` is for one case's export, where other cases' records are absent. Records
    may be unsigned only before the seq signing began at (a store written before records were
    signed), which every signed record names; with ``key`` every MAC must match.
    """
    heads: dict[str | None, str] = {}
    expected_seq = 1
    last_seq = 0
    last_hash: str | None = None
    checked = signed = unsigned = 0
    signed_from: int | None = None
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
        mac, claim = record.get("mac"), record.get("signed_from")
        if mac is None:
            if signed_from is not None:
                return bad(
                    f"unsigned record after signed ones (signed from seq {signed_from}): "
                    "added without the audit key, or its MAC was removed"
                )
            unsigned += 1
        else:
            if not isinstance(claim, int) or isinstance(claim, bool) or claim > seq:
                return bad(f"signed record with a wrong signed_from ({claim!r})")
            if signed_from is None and unsigned and last_seq >= claim:
                return bad(
                    f"the records before seq {seq} are unsigned, but signing began at seq "
                    f"{claim} (their MACs were removed)"
                )
            if signed_from is not None and claim != signed_from:
                return bad(f"signed_from {claim} where the records before say {signed_from}")
            signed_from = claim
            if not isinstance(mac, str) or (
                key is not None and not same_mac(key.record_mac(record["hash"], claim), mac)
            ):
                return bad(
                    "MAC does not match the record (record rewritten or added without the "
                    "audit key)"
                )
            signed += 1
        heads[case_id] = record["hash"]
        last_seq, expected_seq, last_hash = seq, seq + 1, record["hash"]
        checked += 1
    return Verification(
        True,
        checked,
        signed=signed,
        unsigned=unsigned,
        signed_from=signed_from,
        last_seq=last_seq or None,
        last_hash=last_hash,
        macs_checked=key is not None,
    )


def _failure(checked: int, seq: Any, line: int, reason: str) -> Verification:
    return Verification(False, checked, seq if isinstance(seq, int) else None, line, reason)
