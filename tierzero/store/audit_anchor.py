"""The audit chain's anchor: a secret key kept outside the database, the MACs made with it, and
the signed head of the chain.

The hash chain alone proves only that the records agree with each other: whoever holds the
database file can delete the newest records, rewrite every record with fresh hashes, or append
a record with a plain INSERT, and the chain still links. So:

- every record carries a MAC, HMAC-SHA256 of its hash under a key that lives in a file outside
  the database (``TIERZERO_AUDIT_KEY_FILE``, by default ``~/.config/tierzero/audit.key``);
- a one-row table keeps the **signed head**: the newest record's seq and hash, MACed, updated in
  the same transaction as every append. Deleting the newest records leaves the head pointing
  past the end, and only the key can move it back.

What the key cannot show is the whole file rolled back to an older copy: its records and head
were genuinely signed. A head exported now and kept elsewhere (a *witness*) shows that later.

One key serves every store of a user. It is created on first use (0600, in a 0700 folder) and
read once per process: appends are hot, verification always reads the file afresh.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

KEY_ENV = "TIERZERO_AUDIT_KEY_FILE"
_KEY_BYTES = 32

HEAD_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    signed_from INTEGER NOT NULL,
    key_id TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head
BEGIN SELECT RAISE(ABORT, 'the audit head is never deleted'); END;
"""


class AuditKeyError(RuntimeError):
    """The audit key file cannot be created or read, or is unsafe to use."""


def key_path() -> Path:
    """Where the audit key lives: ``$TIERZERO_AUDIT_KEY_FILE``, else the user's config folder
    (``${XDG_CONFIG_HOME:-~/.config}/tierzero/audit.key``)."""
    explicit = os.environ.get(KEY_ENV)
    if explicit:
        return Path(explicit).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "tierzero" / "audit.key"


def _key_location() -> tuple[str | None, str | None, str | None]:
    """What :func:`key_path` depends on, cheap to read on every append (a cache key)."""
    env = os.environ
    return env.get(KEY_ENV), env.get("XDG_CONFIG_HOME"), env.get("HOME")


@dataclass(frozen=True)
class AuditKey:
    """The secret and what is made with it. ``key_id`` names the key without revealing it (it
    is stored in the head, so a store signed with another key is recognised as such)."""

    path: Path
    secret: bytes = field(repr=False)
    key_id: str

    @classmethod
    def of(cls, path: Path, secret: bytes) -> AuditKey:
        key_id = hashlib.sha256(b"tierzero-audit-key-id\0" + secret).hexdigest()[:16]
        return cls(path, secret, key_id)

    def record_mac(self, record_hash: str, signed_from: int) -> str:
        """The MAC of one record: HMAC-SHA256 of its hash and of the seq its store is signed
        from. Binding ``signed_from`` means the MACs of the first signed records cannot be
        stripped to pass them off as written before the store was signed: the next signed
        record still says signing began earlier."""
        return self._mac(f"tierzero-audit-record\0{signed_from}\0{record_hash}")

    def head_mac(self, seq: int, record_hash: str, at: str, signed_from: int) -> str:
        """The MAC of a head. It covers ``signed_from`` so that stripping the MACs of the first
        signed records (to pass them off as written before the key existed) is detected."""
        # NUL cannot occur in any field (numbers, hex, an ISO time): the message is unambiguous.
        return self._mac(f"tierzero-audit-head\0{seq}\0{record_hash}\0{at}\0{signed_from}")

    def _mac(self, message: str) -> str:
        return hmac.digest(self.secret, message.encode(), "sha256").hex()


def same_mac(expected: str, found: object) -> bool:
    """Constant-time comparison of a computed MAC with a stored one (which may be anything,
    once someone has edited the file)."""
    return isinstance(found, str) and hmac.compare_digest(
        expected.encode(), found.encode("utf-8", "replace")
    )


# Appends read the key once per process (per location: tests point the variable elsewhere).
_signing_keys: dict[tuple[str | None, str | None, str | None], AuditKey] = {}


def signing_key() -> AuditKey:
    """The key appends sign with: created on first use, then cached for the process."""
    location = _key_location()
    key = _signing_keys.get(location)
    if key is None:
        path = key_path()
        key = _signing_keys[location] = _read(path) if path.exists() else _create(path)
    return key


def verifying_key() -> AuditKey | None:
    """The key as it is on disk now (never created, never cached), or None if there is none."""
    path = key_path()
    return _read(path) if path.exists() else None


def _create(path: Path) -> AuditKey:
    """Write a fresh key without ever exposing a partial file or replacing another process's:
    the key goes to a private temporary file that is hard-linked into place (atomic, and it
    fails if the key appeared meanwhile, in which case that key is used)."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_bytes(_KEY_BYTES).hex() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process created it first: use theirs
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as exc:
        raise AuditKeyError(
            f"cannot create the audit key {path}: {exc} (set {KEY_ENV} to a writable path)"
        ) from exc
    return _read(path)


def _read(path: Path) -> AuditKey:
    """Load a key file; refuse one that others may read or write (like ssh does its keys)."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(f"cannot read the audit key {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(
            f"the audit key {path} is accessible to other users (mode {stat.filemode(mode)}): "
            f"anyone who can read it can forge audit records; run chmod 600 {path}"
        )
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) != _KEY_BYTES:
        raise AuditKeyError(f"the audit key {path} is not {_KEY_BYTES * 2} hex digits")
    return AuditKey.of(path, secret)


# -- the signed head ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Head:
    """The newest record as of the last append (``at`` is its time), the first signed seq, the
    signing key's id, and the MAC over ``seq, hash, at, signed_from``."""

    seq: int
    hash: str
    at: str
    signed_from: int
    key_id: str
    mac: str

    def valid_under(self, key: AuditKey) -> bool:
        return same_mac(key.head_mac(self.seq, self.hash, self.at, self.signed_from), self.mac)


def read_head(conn: sqlite3.Connection) -> Head | None:
    """The stored head, or None for a store never signed."""
    row = conn.execute(
        "SELECT seq, hash, at, signed_from, key_id, mac FROM audit_head WHERE id = 1"
    ).fetchone()
    return Head(*row) if row else None


def write_head(
    conn: sqlite3.Connection, key: AuditKey, seq: int, record_hash: str, at: str, signed_from: int
) -> None:
    """Move the head to a record just appended (one single-row UPSERT, in the append's
    transaction)."""
    conn.execute(
        "INSERT INTO audit_head VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET"
        " seq = excluded.seq, hash = excluded.hash, at = excluded.at,"
        " signed_from = excluded.signed_from, key_id = excluded.key_id, mac = excluded.mac",
        (
            seq,
            record_hash,
            at,
            signed_from,
            key.key_id,
            key.head_mac(seq, record_hash, at, signed_from),
        ),
    )


def key_mismatch(head: Head | None, key: AuditKey) -> str | None:
    """Said before any MAC is checked: with another key, every MAC would look forged."""
    if head is None or head.key_id == key.key_id:
        return None
    return (
        f"the store is signed with audit key {head.key_id}, not with the key at {key.path} "
        f"({key.key_id}): point {KEY_ENV} at the store's key (if it is the right key, the "
        "head was altered)"
    )


def head_problem(
    head: Head | None,
    *,
    last_seq: int | None,
    last_hash: str | None,
    signed_from: int | None,
    key: AuditKey | None,
) -> str | None:
    """What is wrong between the signed head and a verified chain (its last record, and the seq
    its signed records say signing began at), or None. Without ``key`` only their agreement is
    checked, not the head's MAC."""
    if head is None:
        if signed_from is not None:
            return "records are signed but the signed head is gone (it was deleted)"
        return None  # never signed: reported as unsigned, not as tampered
    if key is not None:
        if (other := key_mismatch(head, key)) is not None:
            return other
        if not head.valid_under(key):
            return "the signed head's MAC does not match (the head was altered or forged)"
    if last_seq is None or head.seq > last_seq:
        return (
            f"the newest records were removed: the signed head is record seq {head.seq}, but "
            f"the audit ends at seq {last_seq or 0} (tail truncated)"
        )
    if head.seq < last_seq:
        return (
            f"records after the signed head (seq {head.seq}) up to seq {last_seq}: added "
            "without the audit key"
        )
    if head.hash != last_hash:
        return f"record seq {head.seq} is not the one the signed head names (record replaced)"
    if head.signed_from != signed_from:
        return (
            f"the signed head says records are signed from seq {head.signed_from}, but the "
            f"records say {signed_from} (MACs removed or added)"
        )
    return None


# -- the witness: a head exported and kept elsewhere -------------------------------------------


@dataclass(frozen=True)
class Witness:
    """A signed head as exported by ``tierzero audit head``, with the id of its store."""

    store_id: str | None
    seq: int
    hash: str
    at: str
    signed_from: int
    mac: str

    @classmethod
    def of(cls, head: Head, store_id: str | None) -> Witness:
        return cls(store_id, head.seq, head.hash, head.at, head.signed_from, head.mac)

    @classmethod
    def parse(cls, data: object) -> Witness:
        """A witness from its JSON object; ValueError naming what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        types = {
            "seq": int,
            "hash": str,
            "at": str,
            "signed_from": int,
            "mac": str,
        }
        for name, kind in types.items():
            value = data.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"'{name}' missing or not a {kind.__name__}")
        store_id = data.get("store_id")
        if store_id is not None and not isinstance(store_id, str):
            raise ValueError("'store_id' is not a string")
        return cls(
            store_id, data["seq"], data["hash"], data["at"], data["signed_from"], data["mac"]
        )

    def as_json(self) -> dict[str, object]:
        return {
            "store_id": self.store_id,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "signed_from": self.signed_from,
            "mac": self.mac,
        }


def witness_problem(
    witness: Witness,
    record: Mapping[str, object] | None,
    *,
    last_seq: int | None,
    store_id: str | None,
    key: AuditKey | None,
) -> str | None:
    """What shows the store is not a later state of the witnessed one, or None.

    ``record`` is the store's record at the witness's ``seq``; ``store_id`` is None when the
    store's id is not known (an export file).
    """
    if store_id is not None and witness.store_id is not None and witness.store_id != store_id:
        return f"the witness is of store {witness.store_id}, not of this one ({store_id})"
    if key is not None:
        expected = key.head_mac(witness.seq, witness.hash, witness.at, witness.signed_from)
        if not same_mac(expected, witness.mac):
            return "the witness's MAC does not match under this key (not a head of this key)"
    if record is None:
        return (
            f"the audit has no record seq {witness.seq}, which the witness of {witness.at} "
            f"names (it ends at seq {last_seq or 0}): the store was rolled back to an older "
            "copy or truncated"
        )
    if record.get("hash") != witness.hash:
        return (
            f"record seq {witness.seq} is not the one witnessed at {witness.at}: the audit "
            "was rewritten or the store replaced"
        )
    return None
