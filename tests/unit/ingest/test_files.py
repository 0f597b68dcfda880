"""What ingest may open: regular files inside the given paths, nothing that can block."""

from __future__ import annotations

import json
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tierzero.ingest.alert import Alert
from tierzero.ingest.files import NotReadable, open_regular
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import IngestOptions, discover, read, read_file

NOW = datetime(2026, 11, 17, tzinfo=UTC)
SURICATA = {
    "timestamp": "2026-11-16T09:31:02.004417+0000",
    "event_type": "alert",
    "src_ip": "10.0.5.10",
    "dest_ip": "10.10.1.33",
    "alert": {"signature_id": 2010937, "signature": "ET SCAN mySQL", "severity": 2},
}


def _read_within(paths: list[Path], seconds: float = 20) -> list[Alert | QuarantinedRecord]:
    """read() in a thread: a blocking open fails the test instead of hanging it."""
    out: list[Alert | QuarantinedRecord] = []
    worker = threading.Thread(target=lambda: out.extend(read(paths, now=NOW)), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "ingest blocked"
    return out


def _good(folder: Path) -> None:
    (folder / "eve.jsonl").write_text(json.dumps(SURICATA) + "\n", encoding="utf-8")


def test_links_inside_the_roots_are_read_once_links_out_are_reported(tmp_path: Path) -> None:
    root, outside = tmp_path / "in", tmp_path / "out"
    root.mkdir()
    outside.mkdir()
    _good(root)
    (root / "again.jsonl").symlink_to(root / "eve.jsonl")
    secret = outside / "secret.json"
    secret.write_text('{"password": "hunter2"}', encoding="utf-8")
    (root / "leak.json").symlink_to(secret)
    (root / "dangling.jsonl").symlink_to(root / "absent.jsonl")
    (root / "outdir").symlink_to(outside, target_is_directory=True)
    out = _read_within([root])
    alerts = [o for o in out if isinstance(o, Alert)]
    assert len(alerts) == 1  # the in-root link and its target are one file
    reasons = {Path(q.source_file).name: q for q in out if isinstance(q, QuarantinedRecord)}
    assert set(reasons) == {"leak.json", "dangling.jsonl"}
    assert reasons["leak.json"].reason.startswith(f"a symbolic link to {secret}, outside")
    assert all(q.raw == "" and q.record_no == 0 for q in reasons.values())
    assert "hunter2" not in repr(out)


def test_a_file_named_directly_may_be_a_link(tmp_path: Path) -> None:
    _good(tmp_path)
    link = tmp_path / "named.jsonl"
    link.symlink_to(tmp_path / "eve.jsonl")
    assert [type(o) for o in _read_within([link])] == [Alert]


def test_fifos_and_sockets_are_reported_never_opened_for_reading(tmp_path: Path) -> None:
    _good(tmp_path)
    os.mkfifo(tmp_path / "pipe.jsonl")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(tmp_path / "sock.json"))
        out = _read_within([tmp_path])
        named = _read_within([tmp_path / "pipe.jsonl"])
    finally:
        server.close()
    problems = {Path(q.source_file).name: q.reason for q in out if isinstance(q, QuarantinedRecord)}
    assert problems == {
        "pipe.jsonl": "a FIFO (named pipe), not a regular file; not read",
        "sock.json": "a socket, not a regular file; not read",
    }
    assert sum(isinstance(o, Alert) for o in out) == 1
    assert [getattr(q, "reason", None) for q in named] == [problems["pipe.jsonl"]]


def test_open_regular_refuses_a_fifo_swapped_in_after_discovery(tmp_path: Path) -> None:
    fifo = tmp_path / "late.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(NotReadable, match="FIFO"):
        open_regular(fifo)  # returns at once: O_NONBLOCK, then fstat


def test_a_mapping_link_out_of_the_roots_is_not_read(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / "rows.csv").write_text("when,name\n1794825910,Upload\n", encoding="utf-8")
    (tmp_path / "shadow").write_text("root:$6$secret:19000:0:99999:7:::\n", encoding="utf-8")
    (root / "rows.mapping.yaml").symlink_to(tmp_path / "shadow")
    _good(root)
    out = _read_within([root])
    (entry,) = [q for q in out if isinstance(q, QuarantinedRecord)]
    assert entry.reason.startswith("its mapping rows.mapping.yaml is a symbolic link to ")
    assert "secret" not in repr(out)


def test_a_file_swapped_for_a_link_after_discovery_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    _good(root)
    (tmp_path / "secret.jsonl").write_text('{"password": "hunter2"}\n', encoding="utf-8")
    (found,) = discover([root], IngestOptions())
    (root / "eve.jsonl").unlink()
    (root / "eve.jsonl").symlink_to(tmp_path / "secret.jsonl")
    (entry,) = list(read_file(found, IngestOptions(), NOW))
    assert isinstance(entry, QuarantinedRecord) and entry.reason.startswith("cannot be opened")
    assert "hunter2" not in repr(entry)
