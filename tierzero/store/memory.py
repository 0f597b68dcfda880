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
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tierzero.correlate.entities import alert_entities
from tierzero.ingest.alert import Alert

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space

    from tierzero.store.sqlite import Store

COLLECTION = "cases"
FINAL_STATUSES: frozenset[str] = frozenset({"closed", "auto_closed"})
EmbeddingChoice = Literal["offline", "endpoint"]

# Bounds on what one case contributes: a huge case (or an attacker spraying entities) must not
# make one document, or one metadata value, unbounded.
_MAX_ENTITIES = 200
_MAX_TECHNIQUES = 64
_MAX_DETECTIONS = 64
_MAX_TITLES = 20
_MAX_TEXT = 2_000
_SUMMARY_CHARS = 300


# -- the offline embedding ---------------------------------------------------------------------

_STRUCTURED = re.compile(r"[a-z][a-z0-9_-]{0,31}:\S+")
_TECHNIQUE = re.compile(r"t\d{4}(?:\.\d{3})?")
_WORD = re.compile(r"[^\W_]+")
# A bare name that could be an entity's value: alice.martin, lt-fin-042, 10.10.1.15.
_IDENTIFIER = re.compile(r"[^\W_][\w.@-]*[.@-][\w.@-]*[^\W_]")
_STRIP = "()[]{}<>\"'`,;!?"
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in into is it its of on or that the this to "
    "was were with no not nothing".split()
)
# Weights: an exact entity key or detection id shared by two cases says far more than a shared
# word in a title; a shared sub-technique says more than a shared parent technique.
STRUCTURED_WEIGHT = 3.0
TECHNIQUE_WEIGHT = 2.0
PARENT_TECHNIQUE_WEIGHT = 1.0
WORD_WEIGHT = 1.0
VALUE_WEIGHT = 1.0


def features(text: str) -> Counter[str]:
    """The weighted features of a text: structured tokens, ATT&CK techniques, word unigrams.

    Text is NFKC-normalized and case-folded. A token shaped ``kind:value`` (``host:lt-fin-042``,
    ``user:alice.martin``, ``crowdstrike:ldt-7``) is kept whole; ``T1059.001`` counts as itself
    and, more lightly, as ``T1059``; everything else becomes word unigrams without stop words.
    Repeats grow a feature's weight logarithmically, so one word repeated in twenty titles does
    not drown the entity keys.
    """
    counts: Counter[str] = Counter()
    weights: dict[str, float] = {}
    normalized = unicodedata.normalize("NFKC", text).casefold()
    for raw in normalized.split():
        token = raw.strip(_STRIP).rstrip(".:")
        if not token:
            continue
        if _TECHNIQUE.fullmatch(token):
            counts["t:" + token] += 1
            weights["t:" + token] = TECHNIQUE_WEIGHT
            if "." in token:
                parent = "t:" + token.split(".", 1)[0]
                counts[parent] += 1
                weights[parent] = max(weights.get(parent, 0.0), PARENT_TECHNIQUE_WEIGHT)
            continue
        if _STRUCTURED.fullmatch(token):
            counts["s:" + token] += 1
            weights["s:" + token] = STRUCTURED_WEIGHT
            # The bare value too, lightly: a query saying "alice.martin" finds user:alice.martin.
            counts["v:" + token.split(":", 1)[1]] += 1
            weights["v:" + token.split(":", 1)[1]] = VALUE_WEIGHT
            continue
        if _IDENTIFIER.fullmatch(token):
            counts["v:" + token] += 1
            weights["v:" + token] = VALUE_WEIGHT
        for word in _WORD.findall(token):
            if len(word) > 1 and word not in _STOPWORDS:
                counts["w:" + word] += 1
                weights["w:" + word] = WORD_WEIGHT
    return Counter(
        {name: weights[name] * (1.0 + math.log(count)) for name, count in counts.items()}
    )


class HashingEmbedding:
    """An offline, deterministic Chroma embedding function: feature hashing of tokens.

    Each feature of :func:`features` is hashed with BLAKE2b into one of ``dims`` buckets with a
    sign bit (so colliding features tend to cancel rather than pile up), weighted, and the
    vector is L2-normalized, so cosine similarity is a weighted overlap of the two texts.

    This is *lexical* similarity, not semantic: "credential stuffing" and "password spraying"
    share nothing here. It is the default because it needs no model: Chroma's own default
    downloads an ONNX model at run time, which fails offline and would make results depend on
    a download. For case memory lexical overlap is most of the signal anyway: two cases are
    alike when they share hosts, accounts, hashes, domains, detections and ATT&CK techniques.
    With an endpoint configured, ``memory.embeddings: endpoint`` swaps in the endpoint's
    embeddings (:func:`embedding_from_config`).

    It implements the members of chromadb's ``EmbeddingFunction`` protocol without subclassing
    it, so that defining it does not import chromadb.
    """

    VERSION = 1

    def __init__(self, dims: int = 512) -> None:
        if not 16 <= dims <= 8192:
            raise ValueError(f"dims must be between 16 and 8192, not {dims}")
        self.dims = dims

    def __call__(self, input: Documents) -> Embeddings:
        """One L2-normalized vector per text (numpy float32 arrays, as chromadb expects)."""
        import numpy as np

        vectors: Embeddings = []
        for text in input:
            vector = np.zeros(self.dims, dtype=np.float64)
            for name, weight in features(text).items():
                digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest, "little")
                vector[bucket % self.dims] += weight if bucket >> 63 else -weight
            norm = float(np.linalg.norm(vector))
            if norm == 0.0:
                # An empty text still needs a direction: cosine of a zero vector is undefined.
                vector[0] = 1.0
                norm = 1.0
            vectors.append((vector / norm).astype(np.float32))
        return vectors

    def embed_query(self, input: Documents) -> Embeddings:
        """Queries embed like documents."""
        return self(input)

    def embed_with_retries(self, input: Documents, **retry_kwargs: dict[str, Any]) -> Embeddings:
        """Nothing to retry: no network is involved."""
        return self(input)

    @staticmethod
    def name() -> str:
        """The name chromadb records in the collection's configuration."""
        return "tierzero-hashing"

    def get_config(self) -> dict[str, Any]:
        """What rebuilds this function (chromadb stores it with the collection)."""
        return {"dims": self.dims, "version": self.VERSION}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashingEmbedding:
        """The inverse of :meth:`get_config`."""
        return HashingEmbedding(int(config.get("dims", 512)))

    def default_space(self) -> Space:
        """Vectors are normalized: cosine is the natural metric."""
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        """Every Chroma space works on normalized vectors."""
        return ["cosine", "l2", "ip"]

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        """Refuse a config this version cannot rebuild."""
        if int(config.get("version", 1)) != HashingEmbedding.VERSION:
            raise ValueError(f"unsupported {HashingEmbedding.name()} config {config}")

    def validate_config_update(
        self, old_config: dict[str, Any], new_config: dict[str, Any]
    ) -> None:
        """Stored vectors only compare with vectors of the same size."""
        if old_config.get("dims") != new_config.get("dims"):
            raise ValueError("the number of dimensions of a collection cannot change")

    def is_legacy(self) -> bool:
        """Not a pre-1.0 embedding function (it has a name and a config)."""
        return False


def embedding_from_config(
    name: str, endpoint_factory: Callable[[], EmbeddingFunction[Documents]] | None = None
) -> EmbeddingFunction[Documents]:
    """The embedding function ``memory.embeddings`` names: ``offline`` or ``endpoint``.

    ``endpoint_factory`` builds the endpoint's embedding function; it is None when no endpoint
    is configured, and then asking for ``endpoint`` is an error rather than a silent fallback
    (vectors from two functions must never mix in one collection).
    """
    if name == "offline":
        return HashingEmbedding()
    if name == "endpoint":
        if endpoint_factory is None:
            raise ValueError(
                "memory.embeddings is 'endpoint' but no model endpoint is configured "
                "(set OPENAI_API_KEY or OPENAI_BASE_URL, or use memory.embeddings: offline)"
            )
        return endpoint_factory()
    raise ValueError(f"memory.embeddings must be 'offline' or 'endpoint', not {name!r}")


# -- what is remembered ------------------------------------------------------------------------


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AlertProfile(_Frozen):
    """What a set of alerts says about a case, from normalized fields only."""

    titles: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    detections: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()

    @classmethod
    def of(cls, alerts: Iterable[Alert], internal_domains: Iterable[str] = ()) -> AlertProfile:
        """Profile of alerts: entity keys as correlation normalizes them, techniques, titles."""
        domains = tuple(internal_domains)
        titles: dict[str, None] = {}
        products: set[str] = set()
        detections: set[str] = set()
        techniques: set[str] = set()
        tactics: set[str] = set()
        entities: set[str] = set()
        for alert in alerts:
            titles.setdefault(alert.title[:200], None)
            products.add(alert.metadata.product.name)
            detections.add(alert.detection_id)
            techniques.update(alert.techniques)
            tactics.update(t.casefold() for t in alert.tactics)
            entities.update(alert_entities(alert, internal_domains=domains))
        return cls(
            titles=tuple(list(titles)[:_MAX_TITLES]),
            products=tuple(sorted(products)),
            detections=tuple(sorted(detections)[:_MAX_DETECTIONS]),
            techniques=tuple(sorted(techniques)[:_MAX_TECHNIQUES]),
            tactics=tuple(sorted(tactics)),
            entities=tuple(sorted(entities)[:_MAX_ENTITIES]),
        )

    def document(self, *extra: str) -> str:
        """The text that is embedded: one token per entity key, detection and technique."""
        return _document(
            self.titles,
            self.products,
            self.detections,
            self.techniques,
            self.tactics,
            self.entities,
            extra,
        )


def _token(value: str) -> str:
    # Keys and detection ids must stay one whitespace-free token for the embedding.
    return re.sub(r"\s+", "_", value.strip())


def _document(
    titles: Iterable[str],
    products: Iterable[str],
    detections: Iterable[str],
    techniques: Iterable[str],
    tactics: Iterable[str],
    entities: Iterable[str],
    extra: Iterable[str],
) -> str:
    lines = [
        *titles,
        " ".join(products),
        " ".join(_token(d) for d in detections),
        " ".join(techniques),
        " ".join(tactics),
        " ".join(_token(e) for e in entities),
        *(e[:_MAX_TEXT] for e in extra if e),
    ]
    return "\n".join(line for line in lines if line)


class CaseMemoryRecord(_Frozen):
    """One concluded case as the memory keeps it."""

    case_id: str
    title: str
    summary: str = Field(description="Headline, verdict and why; no attacker-written text")
    because: str = ""
    titles: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    detections: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    tactics: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    verdict: str
    status: str
    feedback_verdict: str | None = None
    feedback_by: str | None = None
    feedback_note: str | None = None
    closed_at: datetime

    @property
    def final_verdict(self) -> str:
        """The analyst's word when there is one, else the machine's."""
        return self.feedback_verdict or self.verdict

    def document(self) -> str:
        """The text that is embedded (the verdict is metadata, not text: a new case has none)."""
        return _document(
            self.titles,
            self.products,
            self.detections,
            self.techniques,
            self.tactics,
            self.entities,
            (self.because, self.feedback_note or ""),
        )

    def metadata(self) -> dict[str, str | int | float | bool]:
        """Chroma metadata: scalars only, so lists are stored as JSON strings."""
        return {
            "case_id": self.case_id,
            "title": self.title,
            "summary": self.summary,
            "verdict": self.verdict,
            "final_verdict": self.final_verdict,
            "status": self.status,
            "feedback_verdict": self.feedback_verdict or "",
            "feedback_by": self.feedback_by or "",
            "closed_at": self.closed_at.isoformat(),
            "techniques": json.dumps(list(self.techniques)),
            "entities": json.dumps(list(self.entities)),
        }


class SimilarCase(_Frozen):
    """A remembered case that resembles the query, and how it ended."""

    case_id: str
    score: float = Field(ge=0.0, le=1.0, description="Cosine similarity, 1 = same features")
    verdict: str = Field(description="The final verdict: the analyst's when they resolved it")
    machine_verdict: str
    analyst_verdict: str | None = None
    status: str
    title: str
    summary: str
    techniques: tuple[str, ...] = ()
    shared_entities: tuple[str, ...] = ()
    closed_at: str = ""


def rememberable(status: str, resolved: bool) -> bool:
    """Whether a case belongs in memory: a final status, or an analyst's resolution (but never
    while it waits for an approval: its outcome is not known yet)."""
    return status != "awaiting_approval" and (status in FINAL_STATUSES or resolved)


def record_for(
    store: Store, case_id: str, internal_domains: Iterable[str] = ()
) -> CaseMemoryRecord | None:
    """The memory record of a stored case (None when there is no such live case).

    Built from normalized alert fields, the stored analysis (verdict, the reason it was
    concluded, techniques) and the analyst's resolution, if any. Whether the case *should* be
    remembered is :func:`rememberable`'s question; this also serves as the query for a case
    that is still open.
    """
    row = store.case(case_id)
    if row is None or row.merged_into is not None:
        return None
    profile = AlertProfile.of(store.alerts_of_case(case_id), internal_domains)
    state = row.analysis or {}
    analysis = state.get("analysis") or {}
    techniques = sorted({*profile.techniques, *analysis.get("techniques", ())})
    tactics = sorted({*profile.tactics, *(t.casefold() for t in analysis.get("tactics", ()))})
    verdict = row.verdict or "needs_review"
    because = _because(state, verdict)
    resolution = store.resolution(case_id)
    title = (row.title or case_id)[:200]
    summary = f"{title}: {verdict} ({row.status})" + (f", {because}" if because else "")
    if resolution is not None:
        summary += f"; analyst {resolution.analyst}: {resolution.verdict}"
        if resolution.note:
            summary += f" ({resolution.note})"
    return CaseMemoryRecord(
        case_id=case_id,
        title=title,
        summary=summary[:_MAX_TEXT],
        because=because,
        titles=profile.titles,
        products=profile.products,
        detections=profile.detections,
        techniques=tuple(techniques[:_MAX_TECHNIQUES]),
        tactics=tuple(tactics),
        entities=profile.entities,
        verdict=verdict,
        status=row.status,
        feedback_verdict=resolution.verdict if resolution else None,
        feedback_by=resolution.analyst if resolution else None,
        feedback_note=(resolution.note[:_MAX_TEXT] or None) if resolution else None,
        closed_at=resolution.resolved_at if resolution else datetime.fromisoformat(row.updated_at),
    )


def _because(state: dict[str, Any], verdict: str) -> str:
    """Why the case was concluded, in tierzero's words (auto-close rule or playbook reasons)."""
    triage = state.get("prioritization") or {}
    if state.get("status") == "auto_closed" and triage.get("auto_close_reason"):
        return f"auto-closed ({triage.get('auto_close_rule')}): {triage['auto_close_reason']}"
    outcomes = (state.get("analysis") or {}).get("outcomes") or []
    reasons = [
        f"{o.get('title')}: {o.get('because')}" for o in outcomes if o.get("verdict") == verdict
    ]
    return "; ".join(reasons)[:_MAX_TEXT]


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
        wanted = {t.strip(_STRIP).rstrip(".") for t in text.split() if _is_entity_key(t)}
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
    return token.strip(_STRIP).startswith(_ENTITY_PREFIXES)


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
