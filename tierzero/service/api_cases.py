"""Cases for the people who work them: the queue, one case, similar past cases, resolving, and
the chat with the investigation agent (streamed)."""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import re
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from tierzero.agents.chat import CaseNotFound
from tierzero.agents.chat.session import ChatReply
from tierzero.guardrails.model_gate import progress_log
from tierzero.service.deps import Analyst, CaseId, Reader, Running
from tierzero.service.runtime import Service, ServiceError
from tierzero.store.sqlite import Store
from tierzero.usecases.cases import (
    case_document,
    case_summary,
    live_case,
    resolve_case,
    similar_cases,
)
from tierzero.usecases.chat import open_chat

router = APIRouter(prefix="/api/cases", tags=["cases"])


class Resolve(BaseModel):
    """An analyst's final verdict (feedback; audited with the token holder's name)."""

    model_config = ConfigDict(extra="forbid")
    verdict: str = Field(max_length=40)
    note: str = Field(default="", max_length=4000)


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=2000)


@router.get("")
def list_cases(
    who: Reader,
    service: Running,
    status: Annotated[str | None, Query(max_length=40)] = None,
    priority: Annotated[str | None, Query(max_length=8)] = None,
    verdict: Annotated[str | None, Query(max_length=40)] = None,
    queue_name: Annotated[str | None, Query(alias="queue", max_length=80)] = None,
    entity: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> dict[str, Any]:
    """Live cases, most urgent first, filtered by exact status, priority, verdict, queue, and
    by an entity one of their alerts names (``kind:value``, or a value of any kind)."""
    given = {
        "status": status,
        "priority": priority,
        "verdict": verdict,
        "queue": queue_name,
        "entity": entity,
    }
    filters = {k: v for k, v in given.items() if v is not None}
    store = service.store()
    rows, total = store.case_page(filters, limit, offset)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "cases": [case_summary(r, store) for r in rows],
    }


@router.get("/{case_id}")
def get_case(who: Reader, service: Running, case_id: CaseId) -> Any:
    """One case: its analysis, joins and alerts (the first 1,000 distinct)."""
    return case_document(service.store(), case_id)[1]


@router.get("/{case_id}/similar")
def get_similar(
    who: Reader, service: Running, case_id: CaseId, k: Annotated[int, Query(ge=1, le=20)] = 5
) -> dict[str, Any]:
    """Concluded past cases most like this one, with their verdicts and shared entities."""
    return similar_cases(service.store(), service.settings, case_id, k).as_json()


@router.post("/{case_id}/resolve")
def resolve(who: Analyst, service: Running, case_id: CaseId, body: Resolve) -> dict[str, Any]:
    """Record the token holder's final verdict on the case (audited as feedback)."""
    result = resolve_case(
        service.store(),
        service.settings,
        case_id,
        body.verdict,
        who.person,
        body.note,
        service.clock.now(),
    )
    return {
        "case_id": result.case_id,
        "verdict": result.verdict,
        "resolved_by": result.actor,
        "machine_verdict": result.machine_verdict,
        "remembered": result.remembered,
        "warnings": result.warnings,
    }


@router.post("/{case_id}/chat")
def chat(who: Analyst, service: Running, case_id: CaseId, body: Message) -> StreamingResponse:
    """Ask the investigation agent about the case, as the token holder. The answer streams as
    server-sent events: ``progress`` while the agent works (each model call), ``answer``
    chunks of the reply, then ``done`` with the whole reply (cited evidence ids, actions it
    proposed with their guardrail decisions), or ``error``."""
    return chat_stream(service, case_id, who.person, body.message)


def chat_stream(service: Service, case_id: str, person: str, message: str) -> StreamingResponse:
    """One chat turn as ``person``, answered in its own thread and streamed as server-sent
    events (the API's chat and the console's). An unknown or merged case is refused before
    streaming; past ``max_concurrent_chats`` answering at once, 429."""
    live_case(service.store(), case_id)
    if not service.chats.acquire(blocking=False):
        limit = service.settings.service.max_concurrent_chats
        raise ServiceError(429, f"{limit} chats are answering already", {"Retry-After": "5"})
    events: queue.Queue[tuple[str, dict[str, Any]] | None] = queue.Queue()
    worker = threading.Thread(
        target=_answer, args=(service, case_id, person, message, events), daemon=True
    )
    worker.start()
    return StreamingResponse(_stream(events), media_type="text/event-stream")


def chat_reply(
    service: Service, store: Store, case_id: str, person: str, message: str
) -> ChatReply:
    """One chat turn as ``person``, on ``store``: the investigation agent's whole reply."""
    with open_chat(
        store,
        service.settings,
        case_id,
        analyst=person,
        model=service.model,
        clock=service.clock.now,
    ) as session:
        return session.ask(message)


def _answer(
    service: Service,
    case_id: str,
    analyst: str,
    message: str,
    events: queue.Queue[tuple[str, dict[str, Any]] | None],
) -> None:
    """One chat turn in its own thread and connection, its progress sent as it happens."""
    handler = _ThreadProgress(events, threading.get_ident())
    progress_log.addHandler(handler)
    if progress_log.getEffectiveLevel() > logging.INFO:
        progress_log.setLevel(logging.INFO)
    store = Store(service.db)
    try:
        reply = chat_reply(service, store, case_id, analyst, message)
        for chunk in answer_chunks(reply.text):
            events.put(("answer", {"text": chunk}))
        events.put(("done", reply.as_json()))
    except CaseNotFound as exc:
        events.put(("error", {"error": str(exc)}))
    except Exception as exc:  # the stream must end with a reason, whatever happened
        events.put(("error", {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}))
    finally:
        progress_log.removeHandler(handler)
        store.close()
        service.chats.release()
        events.put(None)


class _ThreadProgress(logging.Handler):
    """The model progress lines of one thread (other chats and triage log to the same logger)."""

    def __init__(self, events: queue.Queue[tuple[str, dict[str, Any]] | None], thread: int):
        super().__init__(logging.INFO)
        self.events = events
        self.thread = thread

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.events.put(("progress", {"text": record.getMessage()}))


async def _stream(
    events: queue.Queue[tuple[str, dict[str, Any]] | None],
) -> AsyncIterator[str]:
    while True:
        try:
            item = events.get_nowait()
        except queue.Empty:  # polled: a waiting stream holds no thread of the pool
            await asyncio.sleep(0.05)
            continue
        if item is None:
            return
        kind, data = item
        yield f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=True)}\n\n"


_WORDS = re.compile(r"\S+\s*")


def answer_chunks(text: str, words: int = 8) -> Iterator[str]:
    """The reply in chunks of a few words that join back to exactly the text."""
    found = _WORDS.findall(text)
    lead = text[: len(text) - len(text.lstrip())]
    for start in range(0, len(found), words):
        yield (lead if start == 0 else "") + "".join(found[start : start + words])
