"""The OpenAI-compatible model client: the only module that imports ``openai``.

It turns the SDK's types into tierzero's (:class:`ChatResponse`, :class:`ModelError`) and adds
nothing on top of the SDK's own behaviour: timeouts and bounded retries of 429/5xx responses
honouring ``Retry-After`` are the SDK's (``max_retries`` in ``config/model.yaml``), with no
retry loop of ours stacked on them. Budgets and the audit are the gate's
(``tierzero.guardrails.model_gate``), which wraps every call made through this client.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import openai
from openai import OpenAI

from tierzero.guardrails.model_gate import (
    ChatRequest,
    ChatResponse,
    ModelError,
    ModelErrorKind,
    ToolCall,
)
from tierzero.settings.model import Endpoint, ModelConfig


class OpenAIChatModel:
    """Chat Completions with tool calling at any OpenAI-compatible endpoint."""

    def __init__(
        self, endpoint: Endpoint, config: ModelConfig, http_client: Any | None = None
    ) -> None:
        self._endpoint = endpoint
        self._config = config
        self._client = OpenAI(
            api_key=endpoint.api_key,
            base_url=endpoint.base_url,
            timeout=config.timeout_seconds,
            max_retries=config.max_retries,
            http_client=http_client,
        )
        field = config.max_tokens_field
        if field == "auto":
            field = "max_completion_tokens" if endpoint.is_openai else "max_tokens"
        self._max_tokens_field = field

    @property
    def name(self) -> str:
        return self._endpoint.model

    def complete(self, request: ChatRequest) -> ChatResponse:
        """One request; the SDK retries 429/5xx/timeouts itself, then we map what is left."""
        kwargs: dict[str, Any] = {
            "model": self._endpoint.model,
            "messages": list(request.messages),
            "temperature": self._config.temperature,
            self._max_tokens_field: request.max_tokens,
        }
        if request.tools:
            kwargs["tools"] = list(request.tools)
        if request.json_output and self._config.json_output == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        try:
            completion = self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError as exc:
            raise ModelError("timeout", str(exc)) from exc
        except openai.APIConnectionError as exc:
            raise ModelError("connection", str(exc)) from exc
        except openai.RateLimitError as exc:
            raise ModelError("rate_limited", _status_text(exc), exc.status_code) from exc
        except openai.APIStatusError as exc:
            kind: ModelErrorKind = "server_error" if exc.status_code >= 500 else "refused"
            raise ModelError(kind, _status_text(exc), exc.status_code) from exc
        except openai.APIResponseValidationError as exc:
            raise ModelError("bad_response", str(exc)) from exc
        return _response(completion)

    def list_models(self) -> list[str]:
        """Model ids the endpoint serves (``tierzero doctor``); raises ModelError."""
        try:
            page = self._client.with_options(max_retries=0, timeout=10.0).models.list()
        except openai.APIStatusError as exc:
            raise ModelError("refused", _status_text(exc), exc.status_code) from exc
        except openai.APIConnectionError as exc:
            raise ModelError("connection", str(exc)) from exc
        return [m.id for m in page.data]

    def embed(self, texts: Sequence[str], model: str) -> list[list[float]]:
        """Embeddings from the endpoint (similar-case memory, when configured)."""
        try:
            result = self._client.embeddings.create(model=model, input=list(texts))
        except openai.APIStatusError as exc:
            raise ModelError("refused", _status_text(exc), exc.status_code) from exc
        except openai.APIConnectionError as exc:
            raise ModelError("connection", str(exc)) from exc
        return [list(item.embedding) for item in sorted(result.data, key=lambda d: d.index)]


def _status_text(exc: openai.APIStatusError) -> str:
    return f"HTTP {exc.status_code}: {str(exc.message)[:300]}"


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
    return ChatResponse(
        content=message.content,
        tool_calls=calls,
        finish_reason=str(choice.finish_reason or "stop"),
        model=str(getattr(completion, "model", "") or ""),
        prompt_tokens=getattr(usage, "prompt_tokens", None),
        completion_tokens=getattr(usage, "completion_tokens", None),
    )


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
        return self(input)  # the SDK retries itself

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
