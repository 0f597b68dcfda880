"""The case graph and its agents (LangGraph ``StateGraph``, built in ``graph.py``).

The graph's nodes and where each lives:

- ``enrich``: ``enrich.py``, every entity of the case looked up through the read-only tools;
- ``triage``: ``triage.py``, deterministic priority, SLA, routing and benign auto-closure;
- ``auto_close``, ``close``, ``escalate``: ``graph.py``, with the routers between nodes;
- ``investigate``, ``recommend``: ``analyst.py``, the deterministic offline analyst
  (playbooks from ``playbooks.py`` over facts from ``facts.py``), joined by the model's opinion
  when one is configured (``investigator.py``, the tool loop; ``recommender.py``, its
  conclusion and how it meets the offline analyst's);
- ``guard``: ``guard.py``, a guardrail decision for every recommended action;
- ``act``: ``act.py``, executes the allowed actions exactly once;
- ``approval``, ``apply_approval``: ``approval.py``, waits for a person's answer and applies it.

Beside the nodes: ``state.py`` (the typed state and node outputs), ``context.py`` (what nodes
use at run time), ``llm.py`` (the only module that imports ``openai``), ``model_config.py``,
``untrusted.py`` (fencing alert data for prompts), and ``chat/`` (the analyst chat on a stored
case, outside the graph).

Importing this package imports nothing else; import the module you need.
"""
