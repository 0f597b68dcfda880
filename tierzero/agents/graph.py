"""The case graph (LangGraph ``StateGraph``): enrich -> prioritize -> investigate -> recommend.

::

    START -> enrich -> prioritize --(auto-close rule fired)--> auto_close -> END
                                  \\-> investigate -> recommend -> guard -> act --(benign)--> close
                                                                             |  \\-> escalate -> END
                                            (pending approvals) approval <-> apply_approval

Each node lives in the module named after it (``agents/enrich.py``, ``prioritize.py``,
``investigate.py``, ``recommend.py``, ``guard.py``, ``act.py``, ``approval.py``); the small
terminal nodes (auto_close, close, escalate) are here. Routers are pure functions of the state
returning node names. The guard node decides on every recommended action (allow /
needs_approval / deny); the act node executes the allowed ones through the response connector;
the approval node waits (interrupt, durable checkpoint) for a person's answer on each pending
one, which apply_approval applies.
"""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Command

from tierzero.agents.act import act_node
from tierzero.agents.approval import apply_approval_node, approval_node
from tierzero.agents.context import RunContext
from tierzero.agents.enrich import enrich_node
from tierzero.agents.guard import guard_node
from tierzero.agents.investigate import investigate_node
from tierzero.agents.offline_analyst import ANALYST_ID
from tierzero.agents.prioritize import prioritize_node
from tierzero.agents.recommend import recommend_node
from tierzero.agents.state import CHECKPOINT_TYPES, Analysis, CaseState, Recommendation

BENIGN = ("benign_positive", "false_positive")


def route_after_prioritize(state: CaseState) -> Literal["auto_close", "investigate"]:
    """Clearly benign cases (an auto-close rule fired) skip investigation, unless a person asked
    for an action on the case (that request must reach the guard)."""
    if state.requests:
        return "investigate"
    if state.prioritization is not None and state.prioritization.auto_close_rule is not None:
        return "auto_close"
    return "investigate"


def route_after_act(
    state: CaseState, close_confidence: float = 0.8
) -> Literal["approval", "close", "escalate"]:
    """Wait for approvals while any are pending; then close only benign verdicts held with
    enough confidence and nothing against them at the second look. A request that expired
    always escalates (approvals fail closed)."""
    if state.pending_action_ids:
        return "approval"
    if any(a.approved is None for a in state.approval_answers):
        return "escalate"
    analysis = state.analysis
    if analysis and analysis.verdict in BENIGN and analysis.confidence >= close_confidence:
        # The second look found something against closing: a person decides.
        looked = state.prioritization
        return "escalate" if looked is not None and looked.second_look else "close"
    return "escalate"


def auto_close_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Close as benign on the auto-close rule's word, citing the evidence the rule stood on."""
    assert state.prioritization is not None
    cited = state.prioritization.auto_close_evidence
    analysis = Analysis(
        analyst="auto-close-rules",
        verdict="benign_positive",
        confidence=0.9,
        rationale=(
            f"Auto-closed by rule '{state.prioritization.auto_close_rule}': "
            f"{state.prioritization.auto_close_reason}",
        ),
        evidence=cited,
    )
    return {
        "analysis": analysis,
        "status": "auto_closed",
        "next_step": "None: closed automatically; reopen if new evidence arrives.",
        "visited": (*state.visited, "auto_close"),
    }


def close_node(state: CaseState) -> dict[str, Any]:
    return {"status": "closed", "visited": (*state.visited, "close")}


def escalate_node(state: CaseState) -> dict[str, Any]:
    return {"status": "escalated", "visited": (*state.visited, "escalate")}


def build_graph(close_confidence: float = 0.8) -> StateGraph[CaseState, RunContext, Any, Any]:
    """The uncompiled graph; compile it with a checkpointer to run."""
    graph: StateGraph[CaseState, RunContext, Any, Any] = StateGraph(
        CaseState, context_schema=RunContext
    )
    graph.add_node("enrich", enrich_node)
    graph.add_node("prioritize", prioritize_node)
    graph.add_node("auto_close", auto_close_node)
    graph.add_node("investigate", investigate_node)
    graph.add_node("recommend", recommend_node)
    graph.add_node("close", close_node)
    graph.add_node("escalate", escalate_node)
    graph.add_edge(START, "enrich")
    graph.add_edge("enrich", "prioritize")
    graph.add_conditional_edges("prioritize", route_after_prioritize, ["auto_close", "investigate"])
    graph.add_edge("investigate", "recommend")
    graph.add_node("guard", guard_node)
    graph.add_node("act", act_node)
    graph.add_edge("recommend", "guard")
    graph.add_edge("guard", "act")
    graph.add_node("approval", approval_node)
    graph.add_node("apply_approval", apply_approval_node)
    router = partial(route_after_act, close_confidence=close_confidence)
    graph.add_conditional_edges("act", router, ["approval", "close", "escalate"])
    graph.add_edge("approval", "apply_approval")
    graph.add_conditional_edges("apply_approval", router, ["approval", "close", "escalate"])
    for last in ("auto_close", "close", "escalate"):
        graph.add_edge(last, END)
    return graph


def checkpoint_serde() -> JsonPlusSerializer:
    """The checkpoint serializer: it revives tierzero's state types and nothing else."""
    return JsonPlusSerializer(
        allowed_msgpack_modules=[(t.__module__, t.__name__) for t in CHECKPOINT_TYPES]
    )


def checkpointer(db_path: str) -> SqliteSaver:
    """LangGraph's SQLite checkpointer on the store's file, reviving only tierzero's types."""
    conn = sqlite3.connect(db_path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    saver = SqliteSaver(conn, serde=checkpoint_serde())
    saver.setup()
    return saver


def compile_graph(
    saver: SqliteSaver, close_confidence: float = 0.8
) -> CompiledStateGraph[Any, Any, Any, Any]:
    return build_graph(close_confidence).compile(checkpointer=saver)


def run_case(
    app: CompiledStateGraph[Any, Any, Any, Any],
    case_id: str,
    revision: int,
    ctx: RunContext,
    requests: tuple[Recommendation, ...] = (),
) -> CaseState:
    """Run one case until it ends or waits for approval; each analysis revision is its own
    checkpoint thread.

    If this revision's thread already has checkpoints (the process died mid-run), it resumes
    from the last one instead of starting over; if it is waiting for an approval, it keeps
    waiting.
    """
    config = _thread(case_id, revision)
    saved = app.get_state(config)
    if saved.next:
        if saved.interrupts:
            values = dict(saved.values)
            values["__interrupt__"] = saved.interrupts
            return _finish(values, case_id, ctx)
        return _finish(app.invoke(None, config, context=ctx), case_id, ctx)
    start = CaseState(case_id=case_id, requests=requests)
    return _finish(app.invoke(start, config, context=ctx), case_id, ctx)


def resume_case(
    app: CompiledStateGraph[Any, Any, Any, Any],
    case_id: str,
    revision: int,
    ctx: RunContext,
    answer: dict[str, Any],
) -> CaseState:
    """Resume a case waiting in the approval node with one answer."""
    return _finish(
        app.invoke(Command(resume=answer), _thread(case_id, revision), context=ctx), case_id, ctx
    )


def _thread(case_id: str, revision: int) -> RunnableConfig:
    return {"configurable": {"thread_id": f"{case_id}#{revision}"}}


def _finish(result: dict[str, Any], case_id: str, ctx: RunContext) -> CaseState:
    ctx.forget(case_id)
    waiting = bool(result.pop("__interrupt__", None))
    state = CaseState.model_validate(result)
    return state.model_copy(update={"status": "awaiting_approval"}) if waiting else state


__all__ = [
    "ANALYST_ID",
    "build_graph",
    "checkpoint_serde",
    "checkpointer",
    "compile_graph",
    "resume_case",
    "run_case",
]
