"""``tierzero doctor``: which mode is active and whether everything it needs works.

Each check returns a :class:`Check` (name, ok, detail); nothing here changes any state. The
endpoint check makes one ``GET /models`` with no retries and a short timeout; the key is never
printed.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

from tierzero import prompts
from tierzero.guardrails.model_gate import (
    OFFLINE_ENCODING,
    ChatRequest,
    ChatResponse,
    ModelError,
    encoding_for,
    with_text_calls,
)
from tierzero.settings import Settings
from tierzero.settings.model import Endpoint, endpoint_from_env


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    # A failed optional check is a warning: it does not make the exit code non-zero.
    required: bool = True

    def as_json(self) -> dict[str, object]:
        return asdict(self)


def mode(settings: Settings, env: Mapping[str, str] | None = None) -> tuple[str, Endpoint | None]:
    """'offline' or 'endpoint', and the endpoint when there is one."""
    endpoint = endpoint_from_env(settings.model, env)
    return ("endpoint" if endpoint else "offline"), endpoint


def run_checks(
    settings: Settings, db: Path, probe: bool = True, env: Mapping[str, str] | None = None
) -> list[Check]:
    """Every check, in the order they are shown."""
    env = os.environ if env is None else env
    checks = [
        Check(
            "tierzero",
            True,
            f"{metadata.version('tierzero')} on Python {platform.python_version()}",
        ),
        Check(
            "configuration",
            True,
            f"{settings.folder} (policy {settings.policy.version}, "
            f"{len(settings.playbooks)} playbooks)",
        ),
        Check(
            "prompts",
            True,
            ", ".join(f"{p.id} v{p.version}" for p in prompts.all_prompts()),
        ),
    ]
    active, endpoint = mode(settings, env)
    if endpoint is None:
        forced = env.get("TIERZERO_LLM", "").lower() in ("off", "0", "false", "offline")
        why = "TIERZERO_LLM=off" if forced else "neither OPENAI_API_KEY nor OPENAI_BASE_URL is set"
        checks.append(Check("mode", True, f"offline: the deterministic analyst runs alone ({why})"))
    else:
        key = "set" if env.get("OPENAI_API_KEY") else "not set (fine for local servers)"
        checks.append(
            Check(
                "mode",
                True,
                f"endpoint: model {endpoint.model} at {endpoint.display_url}; API key {key}",
            )
        )
    model_name = endpoint.model if endpoint else settings.model.model
    encoding = encoding_for(model_name)
    exact = encoding.name != OFFLINE_ENCODING
    checks.append(
        Check(
            "token counting",
            True,
            f"tiktoken {encoding.name}"
            + ("" if exact else f" (offline fallback; {model_name}'s own encoding is not cached)"),
        )
    )
    if endpoint is not None and probe:
        reachable = _probe(endpoint, settings)
        checks.append(reachable)
        if reachable.ok:
            checks.append(_tool_probe(endpoint, settings))
    checks.append(_memory(settings, db))
    return checks


def _probe(endpoint: Endpoint, settings: Settings) -> Check:
    from tierzero.agents.llm import OpenAIChatModel  # imports openai: only when probing

    client = OpenAIChatModel(endpoint, settings.model)
    try:
        models = client.list_models()
    except ModelError as exc:
        return Check("endpoint", False, f"{endpoint.display_url} does not answer: {exc}")
    if endpoint.model in models:
        return Check("endpoint", True, f"answers; serves {endpoint.model}")
    listed = ", ".join(models[:8]) + (" ..." if len(models) > 8 else "")
    return Check(
        "endpoint",
        False,
        f"answers, but does not list {endpoint.model} (it lists: {listed or 'nothing'})",
    )


PROBE_QUESTION = "Look up the asset WS-014. Use the lookup_asset tool; do not answer in prose."


def _tool_probe(endpoint: Endpoint, settings: Settings) -> Check:
    """One real tool call: native, written as text (the fallback reads it), or none. When the
    model's own choice is not native, a second request names the tool, to say whether the
    server could return native calls at all."""
    from tierzero.agents.llm import OpenAIChatModel  # imports openai: only when probing
    from tierzero.tools import enrichment  # noqa: F401  (registers lookup_asset)
    from tierzero.tools.registry import REGISTRY

    client = OpenAIChatModel(endpoint, settings.model)
    tools = [REGISTRY.get("lookup_asset").json_schema()]

    def ask(tool_choice: str) -> ChatResponse:
        request = ChatRequest(
            [{"role": "user", "content": PROBE_QUESTION}],
            tools,
            max_tokens=200,
            tool_choice=tool_choice,
        )
        return with_text_calls(client.complete(request), request)

    try:
        response = ask("auto")
    except ModelError as exc:
        return Check("tool calling", False, f"the tool-call request failed: {exc}", False)
    called = [c.name for c in response.tool_calls]
    if response.tool_call_format == "native" and "lookup_asset" in called:
        return Check("tool calling", True, "native: the server returns tool_calls", False)
    named = (
        _named_probe(ask)
        if settings.model.send_tool_choice
        else "tool_choice is not sent (send_tool_choice off), so naming the tool was not tried"
    )
    if response.tool_call_format == "text" and "lookup_asset" in called:
        return Check(
            "tool calling",
            True,
            "through the text fallback: the model writes its calls in the answer and tierzero "
            f"reads them ({named}; for native calls by the model's own choice, serve a "
            "tool-capable chat template: llama-server --jinja, or llama-cpp-python "
            "--chat_format chatml-function-calling)",
            False,
        )
    said = (response.content or "").strip().replace("\n", " ")[:160] or "nothing"
    return Check(
        "tool calling",
        False,
        f"not at all: asked to call lookup_asset, the model said {said!r} ({named}). The "
        "investigation agent will find nothing; serve a model and chat template with tool "
        "support, and keep send_tool_choice on (config/model.yaml)",
        False,
    )


def _named_probe(ask: Callable[[str], ChatResponse]) -> str:
    """What the server does when the request names the tool it must call."""
    try:
        response = ask("lookup_asset")
    except ModelError as exc:
        return f"naming the tool in tool_choice fails: {exc.kind}"
    if response.tool_call_format == "native":
        return "with the tool named in tool_choice the server returns a native call"
    if response.tool_call_format == "text":
        return "even with the tool named in tool_choice the model writes the call as text"
    return "even with the tool named in tool_choice the model calls nothing"


def _memory(settings: Settings, db: Path) -> Check:
    from tierzero.store.memory import CaseMemory, memory_path

    folder = memory_path(db)
    kind = settings.model.memory.embeddings
    if not folder.exists():
        return Check(
            "similar-case memory",
            True,
            f"empty ({folder} is created when the first case closes); embeddings: {kind}",
            required=False,
        )
    try:
        with CaseMemory(folder) as memory:
            count = memory.count()
    except Exception as exc:  # a broken memory is worth a warning, not a failed doctor
        return Check("similar-case memory", False, f"{folder}: {exc}", required=False)
    return Check(
        "similar-case memory", True, f"{count} cases in {folder}; embeddings: {kind}", False
    )
