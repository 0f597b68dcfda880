"""Similar-case memory: concluded cases in an embedded Chroma collection on local disk.

A case is remembered once it has a final disposition: closed or auto-closed by the graph, or
resolved by an analyst (``tierzero cases resolve``). Cases still waiting for a person are not
memory yet. Each remembered case is one document (its titles, products, detections, ATT&CK
techniques and tactics, entity keys, and why it was concluded) with the verdict, status and the
analyst's feedback as metadata. ``similar`` answers "which past cases looked like this one, and
how did they end?" for the ``similar_cases`` tool and ``tierzero cases similar``.

No attacker-written free text (command lines, mail subjects, URLs, user agents, descriptions)
goes into a document: only titles, product names, detection ids, entity keys and techniques
taken from normalized fields, and text tierzero or an analyst wrote.

Importing chromadb costs about a second, so this module never imports it at the top:
:class:`CaseMemory` opens the collection on first use, and commands that never touch the memory
never pay for it. Chroma's telemetry is switched off; nothing here opens a network connection
unless an endpoint embedding function is configured.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tierzero.store.embedding import TOKEN_PUNCTUATION, HashingEmbedding
from tierzero.store.memory_records import CaseMemoryRecord, SimilarCase, record_for, rememberable

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Documents, EmbeddingFunction

    from tierzero.store.sqlite import Store

COLLECTION = "cases"
_SUMMARY_CHARS = 300


def memory_path(db: Path) -> Path:
    """Where a store's memory lives: beside it, named after it (``tierzero.db`` ->
    ``tierzero.memory/``), so two stores in one folder never share a memory."""
    return db.with_name(db.stem + ".memory")


# -- the collection ----------------------------------------------------------------------------


class CaseMemory:
    """Concluded cases in a Chroma collection on local disk (opened on first use).

    ``owner`` ties the memory to one store (:meth:`Store.store_id`): a collection written for
    another store (the database was deleted and created again) is emptied instead of answering
    with case ids that now mean different cases. Each embedding function gets its own
    collection, so switching ``memory.embeddings`` never mixes vectors of different spaces (the
    new collection fills as cases are concluded, or at once with ``cases similar --reindex``).
    """

    def __init__(
        self,
        path: Path,
        embedding: EmbeddingFunction[Documents] | None = None,
        owner: str | None = None,
    ) -> None:
        self.path = path
        self.embedding: EmbeddingFunction[Documents] = embedding or HashingEmbedding()
        self.owner = owner
        self._client: ClientAPI | None = None
        self._collection: Collection | None = None

    @classmethod
    def for_store(
        cls, store: Store, embedding: EmbeddingFunction[Documents] | None = None
    ) -> CaseMemory:
        """The memory beside a store, owned by it."""
        return cls(memory_path(store.path), embedding, owner=store.store_id())

    @property
    def collection_name(self) -> str:
        """``cases`` for the offline embedding; ``cases-NAME-DIGEST`` for any other."""
        ef = self.embedding
        if isinstance(ef, HashingEmbedding) and ef.dims == 512:
            return COLLECTION
        config = json.dumps(ef.get_config(), sort_keys=True, default=str)
        digest = hashlib.sha256(f"{ef.name()}\0{config}".encode()).hexdigest()[:10]
        slug = re.sub(r"[^a-zA-Z0-9_-]+", "-", ef.name()).strip("-_")[:40] or "ef"
        return f"{COLLECTION}-{slug}-{digest}"

    def _cases(self) -> Collection:
        if self._collection is not None:
            return self._collection
        import chromadb
        from chromadb.config import Settings
        from chromadb.utils.embedding_functions import (
            known_embedding_functions,
            register_embedding_function,
        )

        if HashingEmbedding.name() not in known_embedding_functions:
            register_embedding_function(HashingEmbedding)  # type: ignore[no-untyped-call]
        self.path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(self.path), settings=Settings(anonymized_telemetry=False)
        )
        self._client = client
        name = self.collection_name
        metadata: dict[str, str | int | float | bool] = {"embedding": self.embedding.name()}
        if self.owner is not None:
            metadata["owner"] = self.owner
            existing = {c.name: c for c in client.list_collections()}
            found = existing.get(name)
            if found is not None and (found.metadata or {}).get("owner") != self.owner:
                client.delete_collection(name)
        self._collection = client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata=metadata,
            # chromadb types the parameter over every Embeddable; its own default function
            # (over Documents, like this one) needs the same ignore there.
            embedding_function=self.embedding,  # type: ignore[arg-type]
        )
        return self._collection

    def remember(self, record: CaseMemoryRecord) -> None:
        """Add or replace one case (keyed by case id)."""
        self.remember_many([record])

    def remember_many(self, records: Sequence[CaseMemoryRecord]) -> None:
        """Add or replace several cases in one write."""
        latest = {r.case_id: r for r in records}  # one entry per id: upsert refuses repeats
        if not latest:
            return
        self._cases().upsert(
            ids=list(latest),
            documents=[r.document() for r in latest.values()],
            metadatas=[r.metadata() for r in latest.values()],
        )

    def forget(self, case_ids: Iterable[str]) -> None:
        """Drop cases that are no longer concluded (reopened by new alerts)."""
        ids = list(dict.fromkeys(case_ids))
        if ids:
            self._cases().delete(ids=ids)

    def clear(self) -> None:
        """Forget every case (the collection is dropped and created again)."""
        self._cases()
        assert self._client is not None
        self._client.delete_collection(self.collection_name)
        self._collection = None

    def count(self) -> int:
        """How many cases are remembered."""
        return self._cases().count()

    def contains(self, case_id: str) -> bool:
        """Whether a case is remembered."""
        return bool(self._cases().get(ids=[case_id], include=[])["ids"])

    def similar(
        self, text: str, k: int = 5, exclude: str | Iterable[str] | None = None
    ) -> list[SimilarCase]:
        """The ``k`` remembered cases most like ``text``, best first, minus ``exclude``.

        Entity keys in ``text`` (``host:...``, ``user:...``) are matched exactly against each
        result to report the shared entities.
        """
        wanted = {t.strip(TOKEN_PUNCTUATION).rstrip(".") for t in text.split() if _is_entity_key(t)}
        return self._query(text, k, _ids(exclude), frozenset(wanted))

    def similar_to_record(self, record: CaseMemoryRecord, k: int = 5) -> list[SimilarCase]:
        """Cases like this one (itself excluded), with the entities they share."""
        return self._query(record.document(), k, [record.case_id], frozenset(record.entities))

    def similar_to_case(self, case_id: str, k: int = 5) -> list[SimilarCase]:
        """Cases like a remembered case; KeyError when the case is not remembered."""
        found = self._cases().get(ids=[case_id], include=["documents", "metadatas"])
        if not found["ids"]:
            raise KeyError(case_id)
        document = (found["documents"] or [""])[0] or ""
        meta = (found["metadatas"] or [{}])[0] or {}
        entities = frozenset(_json_list(meta.get("entities")))
        return self._query(document, k, [case_id], entities)

    def _query(
        self, text: str, k: int, exclude: list[str], entities: frozenset[str]
    ) -> list[SimilarCase]:
        if k < 1:
            return []
        cases = self._cases()
        total = cases.count()
        if total == 0:
            return []
        where: Any = None
        if len(exclude) == 1:
            where = {"case_id": {"$ne": exclude[0]}}
        elif exclude:
            where = {"case_id": {"$nin": exclude}}
        found = cases.query(
            query_texts=[text],
            n_results=min(k, total),
            where=where,
            include=["metadatas", "distances"],
        )
        ids = found["ids"][0]
        metadatas = (found["metadatas"] or [[]])[0]
        distances = (found["distances"] or [[]])[0]
        results = []
        for case_id, meta, distance in zip(ids, metadatas, distances, strict=True):
            stored = _json_list(meta.get("entities"))
            results.append(
                SimilarCase(
                    case_id=case_id,
                    score=round(min(1.0, max(0.0, 1.0 - float(distance))), 3),
                    verdict=str(meta.get("final_verdict") or meta.get("verdict") or ""),
                    machine_verdict=str(meta.get("verdict") or ""),
                    analyst_verdict=str(meta.get("feedback_verdict") or "") or None,
                    status=str(meta.get("status") or ""),
                    title=str(meta.get("title") or "")[:200],
                    summary=_truncate(str(meta.get("summary") or ""), _SUMMARY_CHARS),
                    techniques=tuple(_json_list(meta.get("techniques"))),
                    shared_entities=tuple(e for e in stored if e in entities),
                    closed_at=str(meta.get("closed_at") or ""),
                )
            )
        return results

    def close(self) -> None:
        """Release the client (Chroma keeps one shared system per folder until closed)."""
        close = getattr(self._client, "close", None)  # Client.close; not on the ClientAPI type
        if close is not None:
            close()
        self._client = None
        self._collection = None

    def __enter__(self) -> CaseMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_ENTITY_PREFIXES = ("host:", "user:", "ip:", "hash:", "domain:", "email:", "cloud:")


def _is_entity_key(token: str) -> bool:
    return token.strip(TOKEN_PUNCTUATION).startswith(_ENTITY_PREFIXES)


def _ids(exclude: str | Iterable[str] | None) -> list[str]:
    if exclude is None:
        return []
    if isinstance(exclude, str):
        return [exclude]
    return list(dict.fromkeys(exclude))


def _json_list(value: object) -> list[str]:
    if not isinstance(value, str) or not value:
        return []
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        return []
    return [str(i) for i in items] if isinstance(items, list) else []


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


MemoryOpener = Callable[["Store"], CaseMemory]


class MemoryKeeper:
    """Keeps a store's case memory in step with its cases during one run.

    The triage job reports each saved analysis with :meth:`saved`; concluded cases are
    remembered (and cases that were concluded but reopened are forgotten) in batches. The
    memory is opened only when the first batch is written, so a run that concludes nothing
    never imports chromadb. The memory is derived data: a failure becomes one warning (and no
    further attempts this run), never a failed triage.
    """

    def __init__(
        self,
        store: Store,
        opener: MemoryOpener | None,
        internal_domains: Iterable[str] = (),
        warn: Callable[[str], None] = lambda message: None,
        batch: int = 200,
    ) -> None:
        self.store = store
        self.opener = opener
        self.internal_domains = tuple(internal_domains)
        self.warn = warn
        self.batch = batch
        self.remembered = 0
        self.forgotten = 0
        self._memory: CaseMemory | None = None
        self._remember: list[str] = []
        self._forget: list[str] = []

    @property
    def enabled(self) -> bool:
        """False when no memory is configured, or it failed earlier in this run."""
        return self.opener is not None

    def saved(self, case_id: str, was: str | None, status: str) -> None:
        """A case's analysis was saved: ``was`` is its status before, ``status`` after."""
        if not self.enabled:
            return
        resolved = self.store.resolution(case_id) is not None
        if rememberable(status, resolved):
            self._remember.append(case_id)
        elif was is not None and rememberable(was, resolved):
            self._forget.append(case_id)
        if len(self._remember) + len(self._forget) >= self.batch:
            self.flush()

    def flush(self) -> None:
        """Write what is pending (a failure becomes a warning and disables the keeper)."""
        remember, forget = self._remember, self._forget
        self._remember, self._forget = [], []
        if not (remember or forget) or self.opener is None:
            return
        try:
            if self._memory is None:
                self._memory = self.opener(self.store)
            records = [
                r for c in remember if (r := record_for(self.store, c, self.internal_domains))
            ]
            self._memory.remember_many(records)
            self._memory.forget(forget)
            self.remembered += len(records)
            self.forgotten += len(forget)
        except Exception as exc:  # derived data: never let it fail the triage
            self.opener = None
            self.warn(
                f"similar-case memory not updated ({type(exc).__name__}: {str(exc)[:300]}); "
                "triage is unaffected; 'tierzero cases similar ID --reindex' rebuilds it"
            )

    def close(self) -> None:
        """Flush, then release the memory."""
        self.flush()
        if self._memory is not None:
            try:
                self._memory.close()
            except Exception as exc:
                self.warn(f"similar-case memory did not close cleanly ({type(exc).__name__})")
            self._memory = None

    def __enter__(self) -> MemoryKeeper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def reindex(
    store: Store, memory: CaseMemory, internal_domains: Iterable[str] = (), batch: int = 200
) -> int:
    """Rebuild the memory from the store: every concluded case, and nothing else (after
    switching embeddings, for a store older than the memory, or after a failure). Returns how
    many cases are remembered."""
    memory.clear()
    pending: list[CaseMemoryRecord] = []
    total = 0
    for row in store.cases():
        resolved = store.resolution(row.id) is not None
        if not rememberable(row.status, resolved):
            continue
        record = record_for(store, row.id, internal_domains)
        if record is not None:
            pending.append(record)
        if len(pending) >= batch:
            memory.remember_many(pending)
            total += len(pending)
            pending.clear()
    memory.remember_many(pending)
    return total + len(pending)
