"""Analyst chat: questions and action requests about one case, answered from its evidence.

The modules, from the session down:

- ``session``: :class:`ChatSession` (one analyst's conversation about one case; stores and
  audits every message) and :class:`~.session.ChatReply` (one answer);
- ``model_loop``: the model's turn, with the case fenced as data, the read-only tools and the
  ``propose_action`` tool, the checks a proposal by the model must pass, and whose it is (the
  analyst's only when it is exactly their parsed request; otherwise the model's own);
- ``offline``: :class:`~.offline.OfflineChatAnswerer`, deterministic answers citing evidence
  ids when no model answers (not the graph's offline analyst in ``tierzero.agents.analyst``);
- ``intents``: which question is asked, by the words that signal each intent;
- ``action_requests``: action requests in the analyst's own words, parsed deterministically
  (:func:`parse_request`, :func:`asks_for_action`), and the comparison of a model's proposal
  with them by canonical entity key (:func:`not_the_request`);
- ``results``: :class:`ActionResult` (what became of a requested action), the injected
  :data:`Proposer`, and actions and decisions in words;
- ``case_view``: :class:`~.case_view.CaseView` (the stored case as the chat reads it), its
  entities, :class:`CaseNotFound`, and how evidence is cited.

Outside callers (``tierzero.chat`` wires a session to the pipeline) need only what is
exported here: the session, the case-not-found error, the :data:`Proposer` they inject with
the :class:`ActionResult` it returns, and the name offline answers are recorded under.
"""

from tierzero.agents.chat.case_view import CaseNotFound
from tierzero.agents.chat.offline import OFFLINE_ANSWERER
from tierzero.agents.chat.results import ActionResult, Proposer
from tierzero.agents.chat.session import ChatSession

__all__ = ["OFFLINE_ANSWERER", "ActionResult", "CaseNotFound", "ChatSession", "Proposer"]
