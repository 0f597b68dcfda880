"""Model configuration (``config/model.yaml``) and which mode is active: offline or endpoint.

The endpoint is any OpenAI-compatible Chat Completions server, configured the standard way:
``OPENAI_BASE_URL`` and ``OPENAI_API_KEY``, plus ``TIERZERO_MODEL`` (or ``model:`` in the
file). With neither a key nor a base URL, tierzero runs the deterministic offline analyst.
``TIERZERO_LLM=off`` forces offline mode even when the variables are set. This module does not
import ``openai``: offline runs never load it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from tierzero.guardrails.model_gate import DEFAULT_MAX_RESPONSE_BYTES, ModelBudget


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InvestigationLimits(_Strict):
    """Bounds on the investigation agent's tool loop."""

    max_steps: int = Field(default=6, ge=1, le=30, description="model turns with tool calls")
    max_tool_calls: int = Field(default=16, ge=1, le=100, description="incl. rejected ones")
    max_tool_result_chars: int = Field(default=6_000, ge=500, le=50_000)
    max_validation_retries: int = Field(default=2, ge=0, le=2)


class MemoryConfig(_Strict):
    """Similar-case memory: which embedding function indexes closed cases."""

    embeddings: Literal["offline", "endpoint"] = "offline"
    embedding_model: str = "text-embedding-3-small"


class ModelConfig(_Strict):
    """``config/model.yaml``."""

    model: str = "gpt-4o-mini"
    # Per network operation (connect, each read, each write): a slow-drip answer keeps every
    # read short, so this alone does not bound a call; deadline_seconds does.
    # The caps leave room for CPU inference (a 16k-token prompt can take minutes to read).
    timeout_seconds: float = Field(default=60.0, gt=0, le=7200)
    # Wall clock for one whole call: every attempt, the waits between them and the whole body.
    deadline_seconds: float = Field(default=120.0, gt=0, le=14400)
    # The most bytes one answer may take on the wire (headers included); reading stops there.
    max_response_bytes: int = Field(default=DEFAULT_MAX_RESPONSE_BYTES, ge=16_384, le=64 << 20)
    max_retries: int = Field(
        default=2, ge=0, le=5, description="retries of timeouts, connection errors, 429 and 5xx"
    )
    temperature: float = Field(default=0.0, ge=0, le=2)
    # A re-ask of a conclusion that failed validation: at temperature 0 a small model answers
    # a re-ask with the same text word for word, so re-asks sample a little.
    repair_temperature: float = Field(default=0.4, ge=0, le=2)
    # json_object asks the server for JSON mode (OpenAI, vLLM, Ollama, llama.cpp support it);
    # prompt_only relies on the prompt and validation alone, for servers that reject the field.
    json_output: Literal["json_object", "prompt_only"] = "json_object"
    # OpenAI's newer models take max_completion_tokens; many compatible servers only know
    # max_tokens. "auto": the former for api.openai.com, the latter elsewhere.
    max_tokens_field: Literal["auto", "max_tokens", "max_completion_tokens"] = "auto"
    # tool_choice ("auto", or "none" for a conclusion) goes with every request that has tools:
    # some servers (llama-cpp-python) drop the tools without it. Off for a server that rejects it.
    send_tool_choice: bool = True
    # A model that errors, times out or never gives a valid conclusion has no opinion:
    # "abstain" lets the case proceed on the offline analyst's decision exactly as with no
    # model (the case says the model abstained and why); "review" sends it to a person.
    # Either way only a valid opinion that differs is a disagreement.
    on_model_failure: Literal["abstain", "review"] = "abstain"
    # The served model's context window in tokens (llama-server -c, vLLM --max-model-len).
    # Every call's prompt must leave room for its answer inside it; the case shown to the
    # model is compacted to fit. None: OpenAI-sized models, only the budgets below apply.
    context_window: int | None = Field(default=None, ge=1024, le=10_000_000)
    # tiktoken counts with an OpenAI encoding; for a model whose tokenizer it does not know
    # (not an OpenAI model), counts are raised by this factor (Qwen2.5's ran 7-12% above
    # cl100k_base).
    token_margin: float = Field(default=1.15, ge=1.0, le=2.0)
    # How the tools are described to the model: "full" descriptions, "compact" (each tool's
    # first sentence, about 700 tokens fewer for the investigation tools), or "auto": compact
    # when the context window is known and at most COMPACT_TOOLS_CONTEXT tokens.
    tool_schemas: Literal["auto", "full", "compact"] = "auto"
    budgets: ModelBudget = ModelBudget()
    investigation: InvestigationLimits = InvestigationLimits()
    memory: MemoryConfig = MemoryConfig()


def prompt_limit(config: ModelConfig, max_tokens: int) -> int:
    """The most prompt tokens one call may send: the per-call budget, and what the context
    window leaves after the answer's ``max_tokens``."""
    limit = config.budgets.per_call_prompt_tokens
    if config.context_window is not None:
        limit = min(limit, config.context_window - max_tokens)
    return max(limit, 0)


COMPACT_TOOLS_CONTEXT = 16_384  # "auto" tool schemas are compact at or below this window


def compact_tools(config: ModelConfig) -> bool:
    """Whether the model gets the compact tool schemas (see ``tool_schemas``)."""
    if config.tool_schemas != "auto":
        return config.tool_schemas == "compact"
    return config.context_window is not None and config.context_window <= COMPACT_TOOLS_CONTEXT


# Environment variables that override config/model.yaml's timing without copying the folder.
TIMEOUT_ENV = "TIERZERO_MODEL_TIMEOUT"
DEADLINE_ENV = "TIERZERO_MODEL_DEADLINE"
CONTEXT_ENV = "TIERZERO_MODEL_CONTEXT"  # the served model's context window, in tokens


def with_timing(
    config: ModelConfig,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    deadline: float | None = None,
) -> ModelConfig:
    """``config`` with its timeout and deadline from the flags, else the environment
    (``TIERZERO_MODEL_TIMEOUT``, ``TIERZERO_MODEL_DEADLINE``, in seconds), else the file; and
    the context window from ``TIERZERO_MODEL_CONTEXT`` (tokens) when it is set.

    A deadline shorter than the timeout is raised to it (a call could not use its timeout).
    Raises ValueError naming the variable for a value that is not a positive number in range.
    """
    env = os.environ if env is None else env
    update: dict[str, float | int] = {}
    for field, flag, variable in (
        ("timeout_seconds", timeout, TIMEOUT_ENV),
        ("deadline_seconds", deadline, DEADLINE_ENV),
    ):
        value: float | None = flag
        if value is None and env.get(variable, "").strip():
            try:
                value = float(env[variable])
            except ValueError:
                raise ValueError(
                    f"{variable}={env[variable]!r} is not a number of seconds"
                ) from None
        if value is not None:
            update[field] = value
    if env.get(CONTEXT_ENV, "").strip():
        try:
            update["context_window"] = int(env[CONTEXT_ENV])
        except ValueError:
            raise ValueError(
                f"{CONTEXT_ENV}={env[CONTEXT_ENV]!r} is not a number of tokens"
            ) from None
    if not update:
        return config
    merged = {**config.model_dump(), **update}
    if "deadline_seconds" not in update:
        merged["deadline_seconds"] = max(merged["deadline_seconds"], merged["timeout_seconds"])
    try:
        return ModelConfig.model_validate(merged)
    except ValueError as exc:
        raise ValueError(
            f"model timing out of range ({TIMEOUT_ENV}/{DEADLINE_ENV} or flags): "
            f"{str(exc).splitlines()[-1][:200]}"
        ) from None


@dataclass(frozen=True)
class Endpoint:
    """Where the model is, from the environment. ``api_key`` is never printed or audited."""

    base_url: str | None
    api_key: str
    model: str

    @property
    def display_url(self) -> str:
        """The base URL without credentials or query (safe to print and audit)."""
        if not self.base_url:
            return "https://api.openai.com/v1 (OpenAI default)"
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}{parts.path}"

    @property
    def is_openai(self) -> bool:
        return not self.base_url or (urlsplit(self.base_url).hostname or "").endswith(
            "api.openai.com"
        )


def endpoint_from_env(config: ModelConfig, env: Mapping[str, str] | None = None) -> Endpoint | None:
    """The configured endpoint, or None for offline mode."""
    env = os.environ if env is None else env
    if env.get("TIERZERO_LLM", "").lower() in ("off", "0", "false", "offline"):
        return None
    key = env.get("OPENAI_API_KEY", "").strip()
    base = env.get("OPENAI_BASE_URL", "").strip()
    if not key and not base:
        return None
    # Local servers (vLLM, Ollama, llama.cpp) need no key, but the SDK insists on one.
    return Endpoint(base or None, key or "not-needed", env.get("TIERZERO_MODEL") or config.model)
