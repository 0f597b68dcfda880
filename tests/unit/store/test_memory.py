"""Similar-case memory: the offline embedding, the Chroma collection, the run-time keeper."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import NOW
from tests.factories import make_alert
from tierzero.store.embedding import HashingEmbedding, embedding_from_config, features
from tierzero.store.memory import CaseMemory, MemoryKeeper, memory_path
from tierzero.store.memory_records import AlertProfile, CaseMemoryRecord, rememberable
from tierzero.store.sqlite import Store


def record(
    case_id: str, *, verdict: str = "benign_positive", **profile: tuple[str, ...]
) -> CaseMemoryRecord:
    """A concluded case with the given titles, detections, techniques and entities."""
    return CaseMemoryRecord(
        case_id=case_id,
        title=f"{case_id} title",
        summary=f"{case_id}: {verdict}",
        verdict=verdict,
        status="closed",
        closed_at=NOW,
        **profile,  # type: ignore[arg-type]
    )


PHISH = record(
    "C-1",
    verdict="true_positive",
    titles=("Suspicious PowerShell after Office macro",),
    detections=("crowdstrike:ldt-ps-office",),
    techniques=("T1059.001", "T1566.001"),
    entities=("host:lt-fin-042", "user:alice.martin", "domain:northwlnd-billing.example"),
)
PHISH_AGAIN = record(
    "C-2",
    verdict="true_positive",
    titles=("PowerShell spawned by Word",),
    detections=("crowdstrike:ldt-ps-office",),
    techniques=("T1059.001", "T1566.001"),
    entities=("host:lt-fin-042", "user:alice.martin", "ip:203.0.113.45"),
)
SCANNER = record(
    "C-3",
    titles=("ET SCAN Nmap Scripting Engine",),
    detections=("suricata:2009358",),
    techniques=("T1595.002",),
    entities=("ip:10.10.1.15", "host:srv-web-02"),
)
PATCHING = record(
    "C-4",
    titles=("File added to the system",),
    detections=("wazuh:554",),
    techniques=("T1543.003",),
    entities=("host:srv-app-03", "ip:10.10.1.33"),
)


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[CaseMemory]:
    with CaseMemory(tmp_path / "memory") as m:
        m.remember_many([PHISH, SCANNER, PATCHING])
        yield m


# -- embedding -----------------------------------------------------------------------------


def test_embedding_is_deterministic_normalized_and_offline() -> None:
    texts = ["host:lt-fin-042 user:alice.martin T1059.001 PowerShell", "", "nothing at all"]
    first = HashingEmbedding()(texts)
    again = HashingEmbedding.build_from_config(HashingEmbedding().get_config())(texts)
    assert len(first) == 3
    for a, b in zip(first, again, strict=True):
        assert a.shape == (512,) and a.dtype == np.float32
        assert np.array_equal(a, b)
        assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-5)


def test_embedding_declares_itself_to_chromadb() -> None:
    ef = HashingEmbedding(dims=256)
    assert ef.name() == "tierzero-hashing"
    assert ef.get_config() == {"dims": 256, "version": 1}
    assert ef.default_space() == "cosine" and not ef.is_legacy()
    assert ef.embed_query(["x"])[0].shape == (256,)
    with pytest.raises(ValueError):
        ef.validate_config_update({"dims": 256}, {"dims": 512})
    with pytest.raises(ValueError):
        HashingEmbedding(dims=3)


def test_features_weigh_structured_tokens_above_words() -> None:
    found = features("On host:LT-FIN-042, the Word ran T1059.001 (again) and the word again.")
    assert found["s:host:lt-fin-042"] == 3.0
    assert found["t:t1059.001"] == 2.0
    assert found["t:t1059"] == 1.0  # the parent technique, lightly
    assert found["v:lt-fin-042"] == 1.0  # the bare value, so a query naming it matches
    assert found["w:word"] > 1.0  # repeated: grows, but only logarithmically
    assert found["w:word"] < 2.0
    assert not {"w:the", "w:on", "w:and"} & set(found)


def cosine(a: str, b: str) -> float:
    x, y = HashingEmbedding()([a, b])
    return float(np.dot(x, y))


def test_shared_entities_and_techniques_score_higher_than_unrelated() -> None:
    related = cosine(PHISH.document(), PHISH_AGAIN.document())
    unrelated = cosine(PHISH.document(), SCANNER.document())
    assert related > 0.4
    assert unrelated < 0.1
    assert cosine(PHISH.document(), PHISH.document()) == pytest.approx(1.0, abs=1e-5)


def test_embedding_choice() -> None:
    assert isinstance(embedding_from_config("offline", None), HashingEmbedding)
    with pytest.raises(ValueError, match="no model endpoint is configured"):
        embedding_from_config("endpoint", None)
    chosen = HashingEmbedding(dims=64)
    assert embedding_from_config("endpoint", lambda: chosen) is chosen
    with pytest.raises(ValueError, match="'offline' or 'endpoint'"):
        embedding_from_config("semantic", None)


# -- the collection --------------------------------------------------------------------------


def test_similar_ranks_shared_entities_first(memory: CaseMemory) -> None:
    results = memory.similar_to_record(PHISH_AGAIN, k=3)
    assert [r.case_id for r in results][0] == "C-1"
    best = results[0]
    assert best.verdict == "true_positive"
    assert best.shared_entities == ("host:lt-fin-042", "user:alice.martin")
    assert best.techniques == ("T1059.001", "T1566.001")
    assert all(0.0 <= r.score <= 1.0 for r in results)
    assert results[0].score > results[1].score


def test_free_text_query_and_exclude(memory: CaseMemory) -> None:
    hits = memory.similar("alice.martin ran powershell on host:lt-fin-042", k=2)
    assert hits[0].case_id == "C-1"
    assert hits[0].shared_entities == ("host:lt-fin-042",)
    assert "C-1" not in [r.case_id for r in memory.similar("host:lt-fin-042", 5, exclude="C-1")]
    left = memory.similar("host:lt-fin-042", 5, exclude=["C-1", "C-3"])
    assert [r.case_id for r in left] == ["C-4"]
    assert memory.similar("anything", k=0) == []


def test_similar_to_a_remembered_case(memory: CaseMemory) -> None:
    memory.remember(PHISH_AGAIN)
    results = memory.similar_to_case("C-2", k=2)
    assert results[0].case_id == "C-1" and "C-2" not in [r.case_id for r in results]
    with pytest.raises(KeyError):
        memory.similar_to_case("C-99")


def test_upsert_replaces_and_forget_removes(memory: CaseMemory) -> None:
    memory.remember(record("C-3", verdict="false_positive", entities=("ip:10.10.1.15",)))
    assert memory.count() == 3
    [hit] = memory.similar("ip:10.10.1.15", k=1)
    assert hit.case_id == "C-3" and hit.verdict == "false_positive"
    memory.forget(["C-3", "C-404"])
    assert memory.count() == 2 and not memory.contains("C-3")


def test_analyst_feedback_is_the_final_verdict(memory: CaseMemory) -> None:
    resolved = PATCHING.model_copy(
        update={"feedback_verdict": "false_positive", "feedback_by": "alice"}
    )
    memory.remember(resolved)
    [hit] = memory.similar("host:srv-app-03", k=1)
    assert (hit.verdict, hit.machine_verdict, hit.analyst_verdict) == (
        "false_positive",
        "benign_positive",
        "false_positive",
    )


def test_persists_across_instances(tmp_path: Path) -> None:
    with CaseMemory(tmp_path / "m") as first:
        first.remember_many([PHISH, SCANNER])
    with CaseMemory(tmp_path / "m") as second:
        assert second.count() == 2
        assert second.similar_to_record(PHISH_AGAIN, 1)[0].case_id == "C-1"
        # Telemetry is off: nothing phones home (the test suite also refuses every socket).
        assert second._client is not None
        assert second._client.get_settings().anonymized_telemetry is False


def test_a_memory_of_another_store_is_emptied(tmp_path: Path) -> None:
    with CaseMemory(tmp_path / "m", owner="store-a") as a:
        a.remember(PHISH)
    with CaseMemory(tmp_path / "m", owner="store-a") as same:
        assert same.count() == 1
    with CaseMemory(tmp_path / "m", owner="store-b") as other:
        assert other.count() == 0


def test_each_embedding_has_its_own_collection(tmp_path: Path) -> None:
    with CaseMemory(tmp_path / "m") as offline:
        offline.remember(PHISH)
        assert offline.collection_name == "cases"
    with CaseMemory(tmp_path / "m", HashingEmbedding(dims=64)) as other:
        assert other.collection_name.startswith("cases-tierzero-hashing-")
        assert other.count() == 0  # never mixes vectors of another space
        other.remember(PHISH)
        assert other.similar_to_record(PHISH_AGAIN, 1)[0].case_id == "C-1"


def test_memory_lives_beside_its_store(tmp_path: Path) -> None:
    assert memory_path(tmp_path / "tierzero.db") == tmp_path / "tierzero.memory"
    assert memory_path(tmp_path / "a.db") != memory_path(tmp_path / "b.db")


def test_what_is_remembered() -> None:
    assert rememberable("closed", resolved=False)
    assert rememberable("auto_closed", resolved=False)
    assert rememberable("escalated", resolved=True)
    assert not rememberable("escalated", resolved=False)
    assert not rememberable("awaiting_approval", resolved=True)


def test_profile_takes_normalized_fields_only() -> None:
    alert = make_alert(
        hosts=("LT-FIN-042.northwind.example",),
        users=("NORTHWIND\\Alice.Martin",),
        techniques=("T1059.001",),
        detection="ps-office",
    )
    profile = AlertProfile.of([alert], ("northwind.example",))
    assert profile.entities == ("host:lt-fin-042", "user:alice.martin")
    assert profile.detections == ("test:ps-office",)
    assert "host:lt-fin-042" in profile.document().split()


# -- the keeper (what a triage run uses) -----------------------------------------------------


def opener_failing(calls: list[str]) -> Callable[[Store], CaseMemory]:
    def opener(store: Store) -> CaseMemory:
        calls.append("opened")
        raise RuntimeError("disk full")

    return opener


def test_keeper_opens_nothing_when_nothing_concluded(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    calls: list[str] = []
    warnings: list[str] = []
    with MemoryKeeper(store, opener_failing(calls), warn=warnings.append) as keeper:
        keeper.saved("C-1", None, "escalated")
        keeper.saved("C-2", "new", "awaiting_approval")
    assert calls == [] and warnings == []
    store.close()


def test_keeper_turns_a_failure_into_one_warning(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    calls: list[str] = []
    warnings: list[str] = []
    with MemoryKeeper(store, opener_failing(calls), warn=warnings.append, batch=1) as keeper:
        keeper.saved("C-1", None, "closed")
        keeper.saved("C-2", None, "auto_closed")
        assert not keeper.enabled
    assert calls == ["opened"]  # tried once, then left alone for the rest of the run
    assert len(warnings) == 1 and "disk full" in warnings[0]
    store.close()


def test_importing_tierzero_does_not_import_chromadb() -> None:
    # chromadb costs about a second to import: only commands that use the memory pay for it.
    code = (
        "import sys, tierzero.cli, tierzero.usecases.triage, tierzero.tools; "
        "assert 'chromadb' not in sys.modules and 'numpy' not in sys.modules"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_keeper_forgets_a_concluded_case_that_reopened(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.db")
    with CaseMemory.for_store(store) as memory:
        memory.remember_many([PHISH, SCANNER])
    with MemoryKeeper(store, CaseMemory.for_store) as keeper:
        keeper.saved("C-1", "closed", "escalated")  # new alerts reopened it: not memory now
        keeper.saved("C-3", "new", "escalated")  # never concluded: nothing to forget
    assert keeper.forgotten == 1
    with CaseMemory.for_store(store) as memory:
        assert not memory.contains("C-1") and memory.contains("C-3")
    store.close()
