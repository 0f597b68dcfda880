"""The case graph and its agents (LangGraph ``StateGraph``, built in ``graph.py``).

The graph's nodes and where each lives:

- ``enrich``: ``enrich.py``, every entity of the case looked up through the read-only tools;
- ``prioritize``: ``prioritize.py``, deterministic priority, SLA, routing and benign
  auto-closure (``config/priority.yaml``);
- ``auto_close``, ``close``, ``escalate``: ``graph.py``, with the routers between nodes;
- ``investigate``: ``investigate.py``, the deterministic offline analyst's verdict
  (``offline_analyst.py``: playbooks over facts from ``facts.py``) and, with a model
  configured, the model's tool loop (``model_investigator.py``);
- ``recommend``: ``recommend.py``, actions from the playbook leaves, a person's requests and
  the model's conclusion (``model_recommender.py``), reconciled with the offline analyst's;
- ``guard``: ``guard.py``, a guardrail decision for every recommended action;
- ``act``: ``act.py``, executes the allowed actions exactly once;
- ``approval``, ``apply_approval``: ``approval.py``, waits for a person's answer and applies it.

Beside the nodes: ``state.py`` (the typed state and node outputs), ``context.py`` (what nodes
use at run time), ``llm.py`` (the only module that imports ``openai``), ``untrusted.py``
(fencing alert data for prompts), and ``chat/`` (the analyst chat on a stored case, outside the
graph). The configuration they read is in ``tierzero.settings``.

Importing this package imports nothing else; import the module you need.
"""
