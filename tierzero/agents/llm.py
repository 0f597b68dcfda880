"""The OpenAI-compatible model client: the only module that imports ``openai``.

It turns the SDK's types into tierzero's (:class:`ChatResponse`, :class:`ModelError`) and holds
every call to two limits the SDK cannot give (``tierzero.agents.llm_limits``): a wall-clock
deadline for the whole call (``deadline_seconds``: every attempt, the waits between them and
the whole body, however slowly it drips) and a cap on the answer's size
(``max_response_bytes``: reading stops there). The retries are ours, not the SDK's, so that
they stay inside the deadline: timeouts, connection errors, 408/409/429 and 5xx are retried
``max_retries`` times with exponential backoff, honouring ``Retry-After``, unless the wait
would end after the deadline. Every exception of a call (the SDK's, httpx's, a JSON decode
error, a pydantic validation error, a malformed completion) leaves as a :class:`ModelError`.
Budgets and the audit are the gate's (``tierzero.guardrails.model_gate``), which wraps every
call made through this client.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import openai
from openai import DefaultHttpxClient, OpenAI

from tierzero.agents.llm_limits import Deadline, enforce_limits, limits
from tierzero.guardrails.model_gate import (
    ChatRequest,
    ChatResponse,
    ModelError,
    ModelErrorKind,
    ToolCall,
)
from tierzero.settings.model import Endpoint, ModelConfig

T = TypeVar("T")

INITIAL_BACKOFF = 0.5  # seconds before the first retry; doubled for each one after
MAX_BACKOFF = 8.0
RETRIED_STATUSES = frozenset({408, 409, 429})  # and every 5xx
# Model lists of aggregators run to megabytes; an embedding is about 20 bytes per dimension.
MODEL_LIST_MAX_BYTES = 16 << 20
EMBEDDING_MAX_BYTES = 128 << 10


class OpenAIChatModel:
    """Chat Completions with tool calling at any OpenAI-compatible endpoint."""

    def __init__(self, endpoint: Endpoint, config: ModelConfig, transport: Any = None) -> None:
        """``transport`` replaces the HTTP transport (tests: a simulated failure under vcrpy);
        without one the SDK's default client is used (with the environment's proxies)."""
        self._endpoint = endpoint
        self._config = config
        http = DefaultHttpxClient(timeout=config.timeout_seconds, transport=transport)
        self._client = OpenAI(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            timeout=config.timeout_seconds,
            max_retries=0,  # retried in _limited, within the deadline
            http_client=enforce_limits(http),
        )
        field = config.max_tokens_field
        if field == "auto":
            field = "max_completion_tokens" if endpoint.is_openai else "max_tokens"
        self._max_tokens_field = field

    @property
    def name(self) -> str:
        return self._endpoint.model

    def complete(self, request: ChatRequest) -> ChatResponse:
        """One call (retried within its deadline); raises ModelError and nothing else."""
        kwargs: dict[str, Any] = {
            "model": self._endpoint.model,
            "messages": list(request.messages),
            "temperature": (
                self._config.temperature if request.temperature is None else request.temperature
            ),
            self._max_tokens_field: request.max_tokens,
        }
        if request.tools:
            kwargs["tools"] = list(request.tools)
            # Sent explicitly: llama-cpp-python's server ignores the tools without it.
            if self._config.send_tool_choice:
                kwargs["tool_choice"] = wire_tool_choice(request.tool_choice)
        if request.json_output and self._config.json_output == "json_object":
            kwargs["response_format"] = {"type": "json_object"}

        def call() -> ChatResponse:
            return _response(self._client.chat.completions.create(**kwargs))

        return self._limited(call, self._config.max_response_bytes, self._config.max_retries)

    def list_models(self) -> list[str]:
        """Model ids the endpoint serves (``tierzero doctor``); raises ModelError."""

        def call() -> list[str]:
            page = self._client.with_options(timeout=10.0).models.list()
            return [str(m.id) for m in page.data]

        return self._limited(call, MODEL_LIST_MAX_BYTES, retries=0)

    def embed(self, texts: Sequence[str], model: str) -> list[list[float]]:
        """Embeddings from the endpoint (similar-case memory, when configured)."""

        def call() -> list[list[float]]:
            result = self._client.embeddings.create(model=model, input=list(texts))
            return [list(item.embedding) for item in sorted(result.data, key=lambda d: d.index)]

        cap = self._config.max_response_bytes + EMBEDDING_MAX_BYTES * len(texts)
        return self._limited(call, cap, self._config.max_retries)

    def _limited(self, call: Callable[[], T], max_bytes: int, retries: int) -> T:
        """``call()`` under the deadline and the byte cap, retried while retrying can help and
        the wait ends before the deadline; any failure leaves as a ModelError."""
        deadline = Deadline(self._config.deadline_seconds)
        attempt = 0
        while True:
            try:
                with limits(deadline, max_bytes):
                    return call()
            except Exception as exc:
                error, wait = _failure(exc, attempt)
            if wait is None or attempt >= retries or wait >= deadline.remaining():
                raise error
            time.sleep(wait)
            attempt += 1


def _failure(exc: Exception, attempt: int) -> tuple[ModelError, float | None]:
    """The ModelError an exception of a call stands for, and how long to wait before retrying
    (None: retrying cannot help). The original exception is kept as ``__cause__``."""
    wait: float | None = None
    if isinstance(exc, ModelError):  # the limits' own (deadline, size): final
        return exc, None
    if isinstance(exc, openai.APITimeoutError):
        error = ModelError("timeout", _text(exc))
        wait = _backoff(attempt)
    elif isinstance(exc, openai.APIConnectionError):
        error = ModelError("connection", _text(exc))
        wait = _backoff(attempt)
    elif isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        kind: ModelErrorKind = (
            "rate_limited" if status == 429 else "server_error" if status >= 500 else "refused"
        )
        error = ModelError(kind, f"HTTP {status}: {_text(exc.message)}", status)
        if status in RETRIED_STATUSES or status >= 500:
            wait = _retry_after(exc.response.headers)
            wait = _backoff(attempt) if wait is None else wait
    else:  # a body that is not a completion: not JSON, the wrong shape, a bug of the SDK's
        error = ModelError("bad_response", f"{type(exc).__name__}: {_text(exc)}")
    error.__cause__ = exc
    return error, wait


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter (the SDK's own schedule: 0.5 s, 1 s, 2 s ... 8 s)."""
    return min(INITIAL_BACKOFF * 2.0**attempt, MAX_BACKOFF) * (1 - 0.25 * random.random())


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """The wait a 429/5xx asks for (``retry-after-ms``, or ``retry-after`` in seconds or as a
    date), or None when it asks for none or nonsense."""
    try:
        if "retry-after-ms" in headers:
            seconds = float(headers["retry-after-ms"]) / 1000
        elif "retry-after" in headers:
            value = headers["retry-after"]
            try:
                seconds = float(value)
            except ValueError:
                when = email.utils.parsedate_to_datetime(value)
                seconds = when.timestamp() - time.time()
        else:
            return None
    except (TypeError, ValueError, OverflowError):
        return None
    return seconds if 0 <= seconds < float("inf") else None


def _text(value: object) -> str:
    return str(value)[:300]


def _response(completion: Any) -> ChatResponse:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        raise ModelError("bad_response", "the response has no choices")
    choice = choices[0]
    message = choice.message
    calls = tuple(
        ToolCall(
            id=str(call.id or f"call_{index}"),
            name=str(call.function.name or ""),
            arguments=str(call.function.arguments or ""),
        )
        for index, call in enumerate(message.tool_calls or ())
        if getattr(call, "function", None) is not None
    )
    usage = getattr(completion, "usage", None)
    content = message.content
    if content is not None and not isinstance(content, str):
        raise ModelError("bad_response", f"the message content is {type(content).__name__}")
    return ChatResponse(
        content=content,
        tool_calls=calls,
        finish_reason=str(choice.finish_reason or "stop"),
        model=str(getattr(completion, "model", "") or ""),
        prompt_tokens=_count(getattr(usage, "prompt_tokens", None)),
        completion_tokens=_count(getattr(usage, "completion_tokens", None)),
    )


def _count(value: object) -> int | None:
    """A token count from the endpoint's usage, or None when it is missing or not a count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class EndpointEmbedding:
    """The endpoint's embeddings as a Chroma embedding function (``memory.embeddings:
    endpoint``). Implements chromadb's EmbeddingFunction interface without importing chromadb."""

    def __init__(self, client: OpenAIChatModel, model: str) -> None:
        self._client = client
        self.model = model

    def __call__(self, input: Sequence[str]) -> list[Any]:
        import numpy as np

        return [
            np.asarray(v, dtype=np.float32) for v in self._client.embed(list(input), self.model)
        ]

    def embed_query(self, input: Sequence[str]) -> list[Any]:
        return self(input)

    def embed_with_retries(self, input: Sequence[str], **retry_kwargs: Any) -> list[Any]:
        return self(input)  # the client retries itself, within its deadline

    @staticmethod
    def name() -> str:
        return "tierzero-endpoint"

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> EndpointEmbedding:
        raise ValueError("endpoint embeddings are rebuilt from the environment, not from Chroma")

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None

    def validate_config_update(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        if old.get("model") != new.get("model"):
            raise ValueError("a collection's embedding model cannot change")

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine", "l2", "ip"]


def wire_tool_choice(choice: str) -> str | dict[str, Any]:
    """``tool_choice`` as Chat Completions takes it: "auto" and "none" as they are, a tool's
    name as ``{"type": "function", "function": {"name": ...}}``."""
    if choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}
