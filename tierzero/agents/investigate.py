"""Investigate node: the offline analyst's verdict and, with a model, the LLM's tool loop."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from tierzero.agents.context import RunContext
from tierzero.agents.facts import facts_for
from tierzero.agents.model_investigator import investigate
from tierzero.agents.offline_analyst import run_playbooks
from tierzero.agents.state import CaseState


def investigate_node(state: CaseState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Reach a verdict with the playbooks; with a model configured, the LLM investigation
    agent also runs its tool loop (its conclusion is asked for in the recommend node)."""
    ctx = runtime.context
    analysis, _ = run_playbooks(facts_for(state, ctx), ctx.playbooks)
    update: dict[str, Any] = {"analysis": analysis, "visited": (*state.visited, "investigate")}
    if ctx.model is not None:
        update["investigation"] = investigate(state, ctx)
    return update
