"""The auditor's side: verify a store's audit (chain, signatures, signed head, an external
witness, and optionally the tables against a replay), or an exported file; export the head."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tierzero.store import audit_anchor as anchor
from tierzero.store.audit import Verification, record_at, verify
from tierzero.store.audit_anchor import AuditKey, AuditKeyError, Witness
from tierzero.store.audit_replay import Divergence, divergences
from tierzero.store.sqlite import Store
from tierzero.usecases.errors import Refused


@dataclass(frozen=True)
class ChainCheck:
    """A verified audit: how many records, where from, and how far it could be checked.

    ``key`` is the key the MACs were checked with (None: the key file is missing and only the
    chain was checked); ``unsigned`` counts the records written before the store was signed;
    ``anchored`` says a signed head exists and matched (always False for an export, which has
    none); ``witness`` is the witnessed head the store still contains; ``divergences`` is the
    comparison of the tables with the audit (None when not asked for).
    """

    checked: int
    source: str
    key_path: Path
    key: AuditKey | None
    unsigned: int = 0
    anchored: bool = False
    witness: Witness | None = None
    divergences: tuple[Divergence, ...] | None = None

    @property
    def authenticated(self) -> bool:
        """MACs checked and something signed: the records cannot have been forged without
        the key (an empty store has nothing to forge)."""
        return self.key is not None and (self.checked == 0 or self.checked > self.unsigned)


def verify_store(
    store: Store, source: str | None = None, *, witness: Path | None = None, state: bool = False
) -> ChainCheck:
    """Verify a store's audit: every record's hash, link and MAC, the signed head against the
    last record (tail truncation), the witness if given (a rollback of the whole file), and
    with ``state`` the tables against a replay of the audit. Tampering is refused with the
    first bad record or the head's problem; divergences are returned for the caller to show.
    ``source`` names the store in messages (its path by default)."""
    source = source or str(store.path)
    key = _verifying_key()
    head = anchor.read_head(store.conn)
    if key is not None and (other := anchor.key_mismatch(head, key)) is not None:
        raise Refused(f"cannot check the audit of {source}: {other}")
    result = _checked(store.audit_records(), whole=True, source=source, key=key)
    problem = anchor.head_problem(
        head,
        last_seq=result.last_seq,
        last_hash=result.last_hash,
        signed_from=result.signed_from,
        key=key,
    )
    if problem is None and result.checked == 0:
        problem = _audit_deleted(store)
    if problem is not None:
        raise Refused(f"audit of {source} tampered with: {problem}")
    seen = None
    if witness is not None:
        seen = _witnessed(
            witness,
            lambda seq: record_at(store.conn, seq),
            last_seq=result.last_seq,
            store_id=store.store_id(),
            key=key,
            source=source,
        )
    found = tuple(divergences(store.conn, store.audit_records())) if state else None
    return ChainCheck(
        result.checked,
        source,
        anchor.key_path(),
        key,
        unsigned=result.unsigned,
        anchored=head is not None,
        witness=seen,
        divergences=found,
    )


def verify_export(path: Path, witness: Path | None = None) -> ChainCheck:
    """Verify an ``audit export`` file: the whole log, or one case's chain when every record
    belongs to one case. Any altered, removed, inserted or reordered record is refused, and
    with the key any record not signed by it. An export has no signed head, so removing its
    newest records shows only against a witness (or the store)."""
    records = read_export(path)
    one_case = len({r.get("case_id") for r in records}) == 1 and records[0].get("case_id")
    scope = f"case {records[0]['case_id']}" if one_case else "whole log"
    source = f"{path} ({scope})"
    key = _verifying_key()
    result = _checked(records, whole=not one_case, source=source, key=key)
    seen = None
    if witness is not None:
        by_seq = {r["seq"]: r for r in records}
        seen = _witnessed(
            witness, by_seq.get, last_seq=result.last_seq, store_id=None, key=key, source=source
        )
    return ChainCheck(
        result.checked, source, anchor.key_path(), key, unsigned=result.unsigned, witness=seen
    )


def signed_head(store: Store) -> Witness:
    """The store's signed head with its store id, for an external witness to keep. The head
    is checked first (its MAC, when the key is here, and that it names the last record), so a
    tampered head is never handed out as a witness."""
    head = anchor.read_head(store.conn)
    if head is None:
        raise Refused(
            f"the audit of {store.path} has no signed head yet: nothing was written to it "
            "since records are signed"
        )
    key = _verifying_key()
    last = store.conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    first = store.conn.execute("SELECT MIN(seq) FROM audit WHERE mac IS NOT NULL").fetchone()
    # The head is in the same transaction as every append: its signed_from is the first
    # signed record's seq unless someone changed one of them.
    problem = anchor.head_problem(
        head,
        last_seq=last[0] if last else None,
        last_hash=last[1] if last else None,
        signed_from=first[0],
        key=key,
    )
    if problem is not None:
        raise Refused(f"audit of {store.path} tampered with: {problem}")
    return Witness.of(head, store.store_id())


def _verifying_key() -> AuditKey | None:
    try:
        return anchor.verifying_key()
    except AuditKeyError as exc:
        raise Refused(str(exc)) from None


def _checked(
    records: Iterable[dict[str, Any]], whole: bool, source: str, key: AuditKey | None
) -> Verification:
    result = verify(records, whole=whole, key=key)
    if not result.ok:
        raise Refused(
            f"audit chain broken at record seq {result.bad_seq} (line {result.bad_line}) "
            f"of {source}: {result.reason}"
        )
    return result


def _audit_deleted(store: Store) -> str | None:
    """An empty audit is fine for an empty store; cases without it mean it was deleted (every
    case is opened by an audited correlation)."""
    (cases,) = store.conn.execute("SELECT COUNT(*) FROM cases").fetchone()
    if cases:
        return f"the audit is empty, but the store holds {cases} cases (the audit was deleted)"
    return None


def _witnessed(
    path: Path,
    record_at_seq: Callable[[int], Mapping[str, Any] | None],
    *,
    last_seq: int | None,
    store_id: str | None,
    key: AuditKey | None,
    source: str,
) -> Witness:
    witness = read_witness(path)
    problem = anchor.witness_problem(
        witness, record_at_seq(witness.seq), last_seq=last_seq, store_id=store_id, key=key
    )
    if problem is not None:
        raise Refused(f"audit of {source} does not contain the head witnessed in {path}: {problem}")
    return witness


def read_witness(path: Path) -> Witness:
    """A witness file written by ``tierzero audit head --out``; anything else is refused."""
    try:
        return Witness.parse(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as exc:
        raise Refused(f"cannot read the witness {path}: {exc}", usage=True) from None
    except ValueError as exc:
        raise Refused(f"{path} is not an audit head: {exc}", usage=True) from None


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


def export_line(record: dict[str, Any]) -> str:
    """One record as ASCII JSON: the same record for ``audit verify --file`` (which parses it),
    but no control, text-direction or invisible character reaches a terminal it is printed to
    (the chain's own canonical form keeps UTF-8 as is)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
