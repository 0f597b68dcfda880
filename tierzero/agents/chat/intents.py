"""Which question the analyst asks: intents and entity kinds by the words that signal them.

The offline answerer scores each intent by how many of its words occur in the question (a
word matches the start of a longer one: "approv" matches "approvals"); the first listed wins
a tie. Matching is on lower-cased text; nothing here reads the case.
"""

from __future__ import annotations

import re

INTENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("help", ("help", "what can you", "what do you know", "commands", "options")),
    ("similar", ("similar", "seen before", "like this", "past case", "earlier case", "before?")),
    (
        "actions",
        (
            "action",
            "decision",
            "approv",
            "pending",
            "denied",
            "executed",
            "isolat",
            "contain",
            "blocked",
            "guardrail",
            "policy",
            "revoked",
            "disabled",
            "lease",
            "rollback",
        ),
    ),
    ("timeline", ("timeline", "when", "sequence", "order of events", "chronolog", "first alert")),
    (
        "why",
        (
            "why",
            "verdict",
            "rationale",
            "reason",
            "confiden",
            "playbook",
            "true positive",
            "benign",
            "false positive",
            "sure",
        ),
    ),
    ("techniques", ("technique", "att&ck", "attack", "mitre", "tactic", "ttp")),
    (
        "entities",
        (
            "host",
            "user",
            "account",
            "ip",
            "address",
            "entit",
            "who",
            "machine",
            "device",
            "domain",
            "hash",
            "sender",
            "ioc",
            "indicator",
            "asset",
        ),
    ),
    ("next", ("next", "what should", "recommend", "escalat", "to do", "todo")),
    (
        "summary",
        (
            "summary",
            "summar",
            "what happened",
            "overview",
            "tell me",
            "tl;dr",
            "brief",
            "explain",
            "status",
            "about this case",
            "what is this",
        ),
    ),
)
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "host": ("host", "machine", "device", "computer", "server", "workstation", "laptop", "asset"),
    "user": ("user", "account", "identit", "who"),
    "ip": ("ip", "address"),
    "domain": ("domain",),
    "hash": ("hash", "file"),
    "email": ("email", "mail", "sender"),
}


def says(lowered: str, word: str) -> bool:
    """Whether a word (or a word starting with it) occurs: 'approv' matches 'approvals'."""
    return re.search(r"(?<![a-z0-9])" + re.escape(word), lowered) is not None


def intent_of(lowered: str) -> str | None:
    """The intent whose words the lower-cased question says most often; None when none."""
    scores = [
        (sum(says(lowered, w) for w in words), -i, name) for i, (name, words) in enumerate(INTENTS)
    ]
    best = max(scores)
    return best[2] if best[0] > 0 else None
