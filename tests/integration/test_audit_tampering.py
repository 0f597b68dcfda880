"""Attacks on a real store's audit (a triage of examples/, then edits with sqlite3 as someone
holding the file would make them): the signed head, the record MACs, the external witness and
the state replay each catch what the hash chain alone let through (issue 11, item 6)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.conftest import EXAMPLES
from tests.factories import copy_store
from tierzero.cli import app
from tierzero.store import audit as chain
from tierzero.store.audit import AuditWriteError
from tierzero.store.audit_anchor import KEY_ENV

runner = CliRunner()


@pytest.fixture(scope="module")
def triaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("anchor") / "t.db"
    result = runner.invoke(app, ["triage", str(EXAMPLES), "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def db(triaged: Path, tmp_path: Path) -> Path:
    """A private copy of the triaged store to tamper with."""
    return copy_store(triaged, tmp_path / "store.db")


def tz(*args: str) -> tuple[int, str]:
    """Run a tierzero command; its exit code and its output on one line (rich wraps)."""
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


def verify(db: Path, *extra: str) -> tuple[int, str]:
    return tz("audit", "verify", "--db", str(db), *extra)


def tamper(db: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    """Run SQL on the file directly, first dropping the guards that make the audit
    append-only (anyone with the file can)."""
    conn = sqlite3.connect(db)
    for trigger in ("audit_no_update", "audit_no_delete", "audit_head_no_delete"):
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for statement in statements:
        conn.execute(statement, params if "?" in statement else ())
    conn.commit()
    conn.close()


def stored_records(db: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(db)
    try:
        return list(chain.records(conn))
    finally:
        conn.close()


def unsigned(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records as the hash chain alone sees them (before records were signed)."""
    return [{k: v for k, v in r.items() if k not in ("mac", "signed_from")} for r in records]


def rewrite_chain(db: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    """Edit records and give every record a fresh, self-consistent hash and prev_hash: the
    chain links again from the first record to the last (MACs are left as they were)."""
    records = stored_records(db)
    heads: dict[str | None, str] = {}
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
    for record in records:
        edit(record)
        record["prev_hash"] = heads.get(record["case_id"], chain.genesis(record["case_id"]))
        record["hash"] = chain.record_hash(record)
        heads[record["case_id"]] = record["hash"]
        conn.execute(
            "UPDATE audit SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (
                chain.canonical(record["payload"]),
                record["prev_hash"],
                record["hash"],
                record["seq"],
            ),
        )
    conn.commit()
    conn.close()


# -- the store as triage left it ----------------------------------------------------------------


def test_untouched_store_verifies_signed(db: Path) -> None:
    code, output = verify(db)
    assert code == 0, output
    assert "audit chain intact" in output and "signatures; signed head" in output
    assert "written before the store was signed" not in output


def test_missing_key_is_said_plainly_not_reported_intact(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "elsewhere" / "audit.key"))
    code, output = verify(db)
    assert code == 3, output
    assert "MACs not checked: no audit key at" in output
    assert "audit chain intact:" not in output
    assert not (tmp_path / "elsewhere").exists()  # verifying never creates a key


def test_a_key_others_can_read_is_refused(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "audit.key"
    shutil.copyfile(os.environ[KEY_ENV], key)
    key.chmod(0o644)
    monkeypatch.setenv(KEY_ENV, str(key))
    code, output = verify(db)
    assert code == 1 and "accessible to other users" in output


def test_another_key_is_named_as_such(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "other.key"))
    # Appending with a fresh key would make every earlier MAC look forged: refused.
    result = runner.invoke(
        app, ["autonomy", "off", "--as", "sam", "--reason", "x", "--db", str(db)]
    )
    assert isinstance(result.exception, AuditWriteError)
    assert "signed with audit key" in str(result.exception)
    code, output = verify(db)
    assert code == 1 and "signed with audit key" in output and "MAC" not in output


# -- attack 1: the newest records deleted -------------------------------------------------------


def test_tail_truncation_is_detected(db: Path) -> None:
    last = stored_records(db)[-1]["seq"]
    tamper(db, f"DELETE FROM audit WHERE seq > {last - 5}")
    code, output = verify(db)
    assert code == 1
    assert f"signed head is record seq {last}" in output and "tail truncated" in output


def test_tail_truncation_with_the_head_moved_back_is_detected(db: Path) -> None:
    records = stored_records(db)
    new_last = records[-6]
    tamper(
        db,
        f"DELETE FROM audit WHERE seq > {new_last['seq']}",
        "UPDATE audit_head SET seq = ?, hash = ?",  # without the key, the old MAC stays
        params=(new_last["seq"], new_last["hash"]),
    )
    code, output = verify(db)
    assert code == 1 and "signed head's MAC does not match" in output


def test_tail_truncation_with_the_head_deleted_is_detected(db: Path) -> None:
    last = stored_records(db)[-1]["seq"]
    tamper(db, f"DELETE FROM audit WHERE seq > {last - 5}", "DELETE FROM audit_head")
    code, output = verify(db)
    assert code == 1 and "signed head is gone" in output


def test_deleting_the_whole_audit_is_detected(db: Path) -> None:
    tamper(db, "DELETE FROM audit", "DELETE FROM audit_head")
    code, output = verify(db)
    assert code == 1 and "the audit was deleted" in output


# -- attack 2: the whole chain rewritten with fresh hashes --------------------------------------


def flip_denials(record: dict[str, Any]) -> None:
    """The attacker's edit: every guardrail denial becomes an allow."""
    if record["kind"] == "decision" and record["payload"].get("outcome") == "deny":
        record["payload"]["outcome"] = "allow"


def test_whole_chain_rewrite_is_caught_by_the_macs(db: Path) -> None:
    rewrite_chain(db, flip_denials)
    assert chain.verify(stored_records(db)).ok  # the hash chain alone is fooled
    code, output = verify(db)
    assert code == 1 and "MAC does not match the record" in output


def test_whole_chain_rewrite_with_macs_stripped_is_caught_by_the_head(db: Path) -> None:
    rewrite_chain(db, flip_denials)
    tamper(db, "UPDATE audit SET mac = NULL")
    code, output = verify(db)
    assert code == 1 and "signed head" in output


def test_whole_chain_rewrite_passed_off_as_unsigned_is_not_called_intact(db: Path) -> None:
    """Strip every MAC and the head: the store looks written before records were signed.
    The key cannot tell (nothing is signed to check); verify says it is not authenticated."""
    rewrite_chain(db, flip_denials)
    tamper(db, "UPDATE audit SET mac = NULL", "DELETE FROM audit_head")
    code, output = verify(db)
    assert code == 3 and "not authenticated: no record is signed" in output


def test_stripping_the_first_macs_is_caught(db: Path) -> None:
    """Passing the oldest records off as written before signing (to edit closed cases)."""
    tamper(db, "UPDATE audit SET mac = NULL WHERE seq <= 40")
    code, output = verify(db)
    assert code == 1 and "their MACs were removed" in output


# -- attack 3: a forged approval appended with a plain INSERT -----------------------------------


def forged_approval(db: Path, mac: str | None) -> dict[str, Any]:
    records = stored_records(db)
    prev = next(r for r in reversed(records) if r["case_id"] == "C-4")
    forged: dict[str, Any] = {
        "seq": records[-1]["seq"] + 1,
        "ts": records[-1]["ts"],
        "case_id": "C-4",
        "kind": "approval",
        "actor": "sam",
        "payload": {"phase": "answered", "verdict": "approve", "why": "looks fine"},
        "prev_hash": prev["hash"],
    }
    forged["hash"] = chain.record_hash(forged)
    tamper(
        db,
        "INSERT INTO audit (seq, ts, case_id, kind, actor, payload, prev_hash, hash, mac)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        params=(
            forged["seq"],
            forged["ts"],
            forged["case_id"],
            forged["kind"],
            forged["actor"],
            chain.canonical(forged["payload"]),
            forged["prev_hash"],
            forged["hash"],
            mac,
        ),
    )
    return forged


def test_forged_insert_without_a_mac_is_detected(db: Path) -> None:
    forged = forged_approval(db, mac=None)
    assert chain.verify(unsigned(stored_records(db))).ok  # hash and link are right
    code, output = verify(db)
    assert code == 1
    assert f"seq {forged['seq']}" in output and "unsigned record after signed ones" in output


def test_forged_insert_with_a_made_up_mac_is_detected(db: Path) -> None:
    forged = forged_approval(db, mac="0" * 64)
    code, output = verify(db)
    assert code == 1
    assert f"seq {forged['seq']}" in output and "MAC does not match" in output


def test_forged_insert_is_detected_even_without_the_key(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the key only the structure is checked; a record after the head still shows."""
    forged_approval(db, mac="0" * 64)
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "none.key"))
    code, output = verify(db)
    assert code == 1 and "added without the audit key" in output


# -- attack 4: the whole database rolled back to an older copy ----------------------------------


def test_rollback_to_an_older_copy_is_caught_only_by_a_witness(db: Path, tmp_path: Path) -> None:
    older = tmp_path / "older.db"
    shutil.copyfile(db, older)  # a backup (no WAL: the copy fixture checkpointed)
    code, output = tz("autonomy", "off", "--as", "sam", "--reason", "test", "--db", str(db))
    assert code == 0, output
    witness = tmp_path / "head.json"
    code, output = tz("audit", "head", "--db", str(db), "--out", str(witness))
    assert code == 0, output
    head = json.loads(witness.read_text())
    assert set(head) == {"store_id", "seq", "hash", "at", "signed_from", "mac"}
    assert verify(db, "--witness", str(witness))[0] == 0

    for suffix in ("", "-wal", "-shm"):  # the newer state is replaced by the older copy
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(older, db)
    code, output = verify(db)
    assert code == 0, output  # every record and the head were genuinely signed
    code, output = verify(db, "--witness", str(witness))
    assert code == 1
    assert f"no record seq {head['seq']}" in output and "rolled back" in output


def test_a_witness_of_another_store_or_a_forged_witness_is_refused(
    db: Path, tmp_path: Path
) -> None:
    witness = tmp_path / "head.json"
    assert tz("audit", "head", "--db", str(db), "--out", str(witness))[0] == 0
    head = json.loads(witness.read_text())
    witness.write_text(json.dumps({**head, "store_id": "0" * 32}))
    code, output = verify(db, "--witness", str(witness))
    assert code == 1 and "the witness is of store" in output
    witness.write_text(json.dumps({**head, "seq": head["seq"] - 1}))
    code, output = verify(db, "--witness", str(witness))
    assert code == 1 and "witness's MAC does not match" in output


def test_a_rewritten_record_at_the_witnessed_seq_is_caught(db: Path, tmp_path: Path) -> None:
    witness = tmp_path / "head.json"
    assert tz("audit", "head", "--db", str(db), "--out", str(witness))[0] == 0
    rewrite_chain(db, flip_denials)
    code, output = verify(db, "--witness", str(witness))
    assert code == 1  # the MACs fail first; the witness would too


def test_exports_carry_their_macs_and_a_witness(db: Path, tmp_path: Path) -> None:
    exported = tmp_path / "audit.jsonl"
    exported.write_text(runner.invoke(app, ["audit", "export", "--db", str(db)]).stdout)
    witness = tmp_path / "head.json"
    assert tz("audit", "head", "--db", str(db), "--out", str(witness))[0] == 0
    code, output = tz("audit", "verify", "--file", str(exported), "--witness", str(witness))
    assert code == 0 and "an export has no signed head" in output, output
    lines = exported.read_text().splitlines()
    exported.write_text("\n".join(lines[:-3]) + "\n")  # the newest records cut off
    code, output = tz("audit", "verify", "--file", str(exported), "--witness", str(witness))
    assert code == 1 and "rolled back to an older copy or truncated" in output
    first = json.loads(lines[0])
    del first["mac"]  # the oldest record passed off as written before signing
    exported.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    code, output = tz("audit", "verify", "--file", str(exported))
    assert code == 1 and "their MACs were removed" in output


# -- a store written before records were signed -------------------------------------------------


def test_a_store_from_before_signing_is_unsigned_not_tampered(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE audit DROP COLUMN mac")
    conn.execute("DROP TABLE audit_head")
    conn.commit()
    conn.close()
    unsigned = len(stored_records_legacy(db))
    code, output = verify(db)  # opening the store adds the column
    assert code == 3 and "not authenticated: no record is signed" in output
    assert tz("autonomy", "off", "--as", "sam", "--reason", "test", "--db", str(db))[0] == 0
    code, output = verify(db)
    assert code == 0, output
    assert f"{unsigned} records written before the store was signed" in output
    # From now on an unsigned record is tampering, not history.
    forged_approval(db, mac=None)
    assert verify(db)[0] == 1


def stored_records_legacy(db: Path) -> list[tuple[int]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT seq FROM audit").fetchall()
    finally:
        conn.close()
