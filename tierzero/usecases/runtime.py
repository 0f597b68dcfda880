"""What every use case runs with: the model choice, the similar-case memory, the compiled
graph with its run context, and the response connector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from langgraph.graph.state import CompiledStateGraph

from tierzero.agents.context import ModelRuntime, RunContext
from tierzero.agents.graph import checkpointer, compile_graph
from tierzero.clock import TimeSource, clock_of
from tierzero.guardrails.model_gate import ChatModel
from tierzero.settings import Settings
from tierzero.settings.model import endpoint_from_env
from tierzero.store.embedding import embedding_from_config
from tierzero.store.memory import CaseMemory, MemoryOpener, memory_path
from tierzero.store.sqlite import Store
from tierzero.tools.connectors import LabConnector

Progress = Callable[[str, int, int | None], None]  # (stage, done, total or None)
# Which model the LLM agents use: "env" resolves the endpoint from the environment (none set:
# offline), "off" forces the offline analyst, or a ChatModel object (a scripted fake in tests).
ModelChoice = ChatModel | Literal["env", "off"]


def no_progress(stage: str, done: int, total: int | None) -> None:
    """The default progress callback: report nothing."""
    return None


def chat_model(settings: Settings, choice: ModelChoice = "env") -> ChatModel | None:
    """The model the LLM agents will use, or None for the offline analyst alone."""
    if choice == "off":
        return None
    if choice == "env":
        endpoint = endpoint_from_env(settings.model)
        if endpoint is None:
            return None
        from tierzero.agents.llm import OpenAIChatModel  # imports openai: only when needed

        return OpenAIChatModel(endpoint, settings.model)
    return choice


def configured_memory(settings: Settings) -> MemoryOpener:
    """The similar-case memory ``config/model.yaml`` asks for (``memory.embeddings``)."""
    if settings.model.memory.embeddings == "offline":
        return CaseMemory.for_store

    def open_with_endpoint(store: Store) -> CaseMemory:
        endpoint = endpoint_from_env(settings.model)
        factory = None
        if endpoint is not None:
            from tierzero.agents.llm import EndpointEmbedding, OpenAIChatModel

            def factory() -> Any:
                client = OpenAIChatModel(endpoint, settings.model)
                return EndpointEmbedding(client, settings.model.memory.embedding_model)

        return CaseMemory.for_store(store, embedding_from_config("endpoint", factory))

    return open_with_endpoint


class LazyMemory:
    """A store's similar-case memory, opened on the first query (importing chromadb takes about
    a second, and most runs never ask)."""

    def __init__(self, store: Store, opener: MemoryOpener) -> None:
        self.store = store
        self.opener = opener
        self._memory: CaseMemory | None = None

    def similar(self, text: str, k: int, exclude: str | None = None) -> list[Any]:
        if self._memory is None:
            self._memory = self.opener(self.store)
        return list(self._memory.similar(text, k, exclude))

    def close(self) -> None:
        if self._memory is not None:
            self._memory.close()


def existing_memory(store: Store, settings: Settings) -> LazyMemory | None:
    """The memory beside the store, if cases were remembered (none is created here)."""
    if not memory_path(store.path).is_dir():
        return None
    return LazyMemory(store, configured_memory(settings))


@contextmanager
def graph_session(
    store: Store, settings: Settings, now: TimeSource | None, model: ModelChoice = "env"
) -> Iterator[tuple[CompiledStateGraph[Any, Any, Any, Any], RunContext]]:
    """The compiled graph (with its checkpointer on the store's file) and its run context
    (``now``: the run's clock, or a fixed time; None is the system clock)."""
    chosen = chat_model(settings, model)
    ctx = RunContext(
        model=ModelRuntime.of(chosen, settings.model) if chosen is not None else None,
        store=store,
        inventory=settings.inventory,
        priority=settings.priority,
        playbooks=settings.playbooks,
        policy=settings.policy,
        connector=lab_connector(store, settings),
        clock=clock_of(now),
        hours=settings.organization.hours(),
        internal_domains=settings.correlation.internal_domains,
        learning=settings.learning,
    )
    # The LLM agents' similar_cases tool reads the memory of earlier runs.
    memory = existing_memory(store, settings) if ctx.model is not None else None
    ctx.memory = memory
    saver = checkpointer(str(store.path))
    try:
        yield compile_graph(saver, settings.priority.close_confidence), ctx
    finally:
        saver.conn.close()
        if memory is not None:
            memory.close()


def lab_connector(store: Store, settings: Settings) -> LabConnector:
    """The simulated response environment (the only connector this release ships)."""
    connector = LabConnector(store.conn)
    connector.seed(settings.inventory)
    return connector
