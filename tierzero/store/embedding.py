"""The offline embedding of the case memory: feature hashing of tokens, no model, no network.

Chroma's own default embedding downloads an ONNX model at run time, which fails offline;
:class:`HashingEmbedding` needs nothing. ``memory.embeddings`` chooses between it and a model
endpoint's embeddings (:func:`embedding_from_config`).

Importing chromadb costs about a second, so this module never imports it at the top (nor
numpy, which only embedding needs).
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space

EmbeddingChoice = Literal["offline", "endpoint"]

_STRUCTURED = re.compile(r"[a-z][a-z0-9_-]{0,31}:\S+")
_TECHNIQUE = re.compile(r"t\d{4}(?:\.\d{3})?")
_WORD = re.compile(r"[^\W_]+")
# A bare name that could be an entity's value: alice.martin, lt-fin-042, 10.10.1.15.
_IDENTIFIER = re.compile(r"[^\W_][\w.@-]*[.@-][\w.@-]*[^\W_]")
# Punctuation a token loses at both ends ("(host:x)," is the token host:x).
TOKEN_PUNCTUATION = "()[]{}<>\"'`,;!?"
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
        token = raw.strip(TOKEN_PUNCTUATION).rstrip(".:")
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
