"""The audit key and the signed head: where the key lives, how it is created and guarded, and
that every append signs its record and moves the head in the same transaction."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tierzero.store import audit, audit_anchor
from tierzero.store.audit_anchor import KEY_ENV, AuditKeyError

TS = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "tierzero" / "audit.key"
    monkeypatch.setenv(KEY_ENV, str(path))
    return path


def conn() -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    audit.install(connection)
    return connection


def append(connection: sqlite3.Connection, case_id: str | None = "C-1") -> dict[str, object]:
    return audit.append(
        connection, kind="policy", actor="system", case_id=case_id, payload={}, ts=TS
    )


def test_key_path_defaults_to_the_user_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert audit_anchor.key_path() == tmp_path / "xdg" / "tierzero" / "audit.key"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert audit_anchor.key_path() == tmp_path / "home" / ".config" / "tierzero" / "audit.key"


def test_the_key_is_created_private_on_first_append(key_file: Path) -> None:
    assert not key_file.exists()
    record = append(conn())
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert len(key_file.read_text().strip()) == 64
    key = audit_anchor.verifying_key()
    assert key is not None and record["mac"] == key.record_mac(str(record["hash"]), 1)
    assert [p.name for p in key_file.parent.iterdir()] == ["audit.key"]  # no temporary left


def _key_id(_: int) -> str:
    return audit_anchor.signing_key().key_id


def test_processes_creating_the_key_at_once_agree_on_one(key_file: Path) -> None:
    with multiprocessing.get_context("fork").Pool(4) as pool:
        ids = set(pool.map(_key_id, range(8)))
    key = audit_anchor.verifying_key()
    assert key is not None and ids == {key.key_id}


def test_verifying_never_creates_a_key(key_file: Path) -> None:
    assert audit_anchor.verifying_key() is None
    assert not key_file.parent.exists()


@pytest.mark.parametrize(
    ("content", "mode", "problem"),
    [
        ("ab" * 32, 0o644, "accessible to other users"),
        ("ab" * 32, 0o660, "accessible to other users"),
        ("not hex at all", 0o600, "not 64 hex digits"),
        ("ab" * 16, 0o600, "not 64 hex digits"),
    ],
)
def test_an_unsafe_or_malformed_key_is_refused(
    key_file: Path, content: str, mode: int, problem: str
) -> None:
    key_file.parent.mkdir(parents=True)
    key_file.write_text(content)
    key_file.chmod(mode)
    with pytest.raises(AuditKeyError, match=problem):
        audit_anchor.verifying_key()


def test_without_a_usable_key_nothing_is_appended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(KEY_ENV, str(blocker / "audit.key"))  # its folder cannot be made
    connection = conn()
    with pytest.raises(audit.AuditWriteError, match="cannot create the audit key"):
        append(connection)
    assert connection.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 0


def test_each_append_moves_the_signed_head(key_file: Path) -> None:
    connection = conn()
    assert audit_anchor.read_head(connection) is None
    for _ in range(3):
        record = append(connection, case_id=None)
        head = audit_anchor.read_head(connection)
        key = audit_anchor.verifying_key()
        assert head is not None and key is not None
        assert (head.seq, head.hash, head.signed_from) == (record["seq"], record["hash"], 1)
        assert head.valid_under(key) and head.key_id == key.key_id


def test_a_rolled_back_append_leaves_the_head_where_it_was(key_file: Path) -> None:
    connection = conn()
    append(connection)
    before = audit_anchor.read_head(connection)
    connection.execute("BEGIN IMMEDIATE")
    append(connection)
    connection.execute("ROLLBACK")
    assert audit_anchor.read_head(connection) == before


def test_appending_with_another_key_is_refused(
    key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = conn()
    append(connection)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "other.key"))
    with pytest.raises(audit.AuditWriteError, match="signed with audit key"):
        append(connection)
    assert connection.execute("SELECT COUNT(*) FROM audit").fetchone()[0] == 1


def test_records_verify_with_their_key_only(
    key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = conn()
    for case in ("C-1", "C-2", None, "C-1"):
        append(connection, case)
    records = list(audit.records(connection))
    key = audit_anchor.verifying_key()
    result = audit.verify(records, key=key)
    assert result.ok and result.signed == 4 and result.signed_from == 1 and result.macs_checked
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "other.key"))
    other = audit_anchor.signing_key()
    assert not audit.verify(records, key=other).ok


def test_a_store_from_before_signing_is_migrated_and_signed_from_then_on(key_file: Path) -> None:
    connection = sqlite3.connect(":memory:", isolation_level=None)
    legacy = audit.SCHEMA.split("CREATE TABLE IF NOT EXISTS audit_head")[0]
    connection.executescript(legacy.replace(",\n    mac TEXT\n", "\n"))
    connection.execute(
        "INSERT INTO audit VALUES (1, ?, NULL, 'policy', 'system', '{}', ?, ?)",
        (TS.isoformat(), audit.genesis(None), "h"),
    )
    audit.install(connection)
    audit.install(connection)  # idempotent
    assert connection.execute("SELECT mac FROM audit").fetchall() == [(None,)]
    record = append(connection)
    head = audit_anchor.read_head(connection)
    assert head is not None and head.signed_from == record["seq"] == 2
