"""Action requests in the analyst's own words: "isolate LT-FIN-042", "disable user alice".

:func:`parse_request` is strict and deterministic: the message must start (after "please",
"can you" ...) with one action word or a catalog action name, followed by exactly one target,
a whole whitespace-separated token that is one well-formed value of the kind the action acts on
(:func:`~tierzero.guardrails.decisions.well_formed`). The request carries the target's canonical
entity key (:func:`~tierzero.correlate.entities.entity_key`), so a model's proposal is compared
with it by key, never by substring: ``10.10.0.10`` is not ``10.10.0.100``. Each action word maps
onto one action; the two words that name a family ("block", "quarantine") pick the member by
the object word or the target's form, never by guessing. A request that cannot be mapped comes
back with a ``problem`` saying what exists.

:func:`asks_for_action` is the looser test the model path uses: the model may propose anything
only when the analyst's message uses an action word (as a whole word) at all.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tierzero.correlate.entities import entity_key
from tierzero.guardrails.decisions import well_formed
from tierzero.guardrails.policy import ActionSpec

Catalog = Mapping[str, ActionSpec]

_POLITE = re.compile(
    r"^(?:please|pls|kindly|ok(?:ay)?|yes|now|then|so|and|go ahead and|can you|could you|"
    r"would you|will you|i want you to|i'd like you to|i would like you to|let'?s)\b[\s,]*",
    re.IGNORECASE,
)
_QUESTION_WORDS = frozenset(
    "why what which who whom whose when where how should shall is was were are did does do "
    "has have had would could can will".split()
)
# Each action word maps onto one catalog action, or onto one family ("block_*") whose member
# the object word or the target's form picks. "revoke" is never "disable": a word that could
# mean two different actions is not listed.
_VERBS: dict[str, str] = {
    "isolate": "isolate_host",
    "contain": "isolate_host",
    "quarantine": "isolate_host",  # a host; "quarantine email/mail/sender" is quarantine_email
    "disable": "disable_user",
    "deactivate": "disable_user",
    "suspend": "disable_user",
    "revoke": "revoke_sessions",
    "signout": "revoke_sessions",  # also "sign out" / "log out"
    "logout": "revoke_sessions",
    "reset": "reset_password",
    "block": "block_*",
    "blocklist": "block_*",
    "blacklist": "block_*",
}
# Verbs an analyst might use that tierzero cannot do from a chat: each gets a pointer.
_ROLLBACK = "executed actions are undone with `tierzero actions rollback ID --as NAME`"
_NOT_HERE: dict[str, str] = {
    "approve": "approvals are answered with `tierzero approvals approve ID --as NAME` by "
    "someone other than the requester",
    **dict.fromkeys(
        ("release", "unisolate", "unblock", "enable", "restore", "rollback", "undo"), _ROLLBACK
    ),
}
_UNSUPPORTED = frozenset(
    "delete remove wipe kill terminate stop shutdown shut reboot restart uninstall patch scan "
    "run execute lock deny close escalate".split()
)
# Object words: each says which kind of entity the analyst means. A request whose object word
# names another kind than its action acts on ("isolate user alice") is refused, not guessed.
_KIND_NOUNS: dict[str, str] = {
    **dict.fromkeys(
        "host hosts machine device computer endpoint server workstation laptop".split(), "host"
    ),
    **dict.fromkeys("user users account accounts identity".split(), "user"),
    **dict.fromkeys("ip ips address addresses".split(), "ip"),
    **dict.fromkeys("domain domains".split(), "domain"),
    **dict.fromkeys("hash hashes file sha256 sha1 md5".split(), "hash"),
    **dict.fromkeys("email emails mail mails message messages sender senders".split(), "email"),
}
_FILLER = frozenset(
    {
        *_KIND_NOUNS,
        *"the a an this that session sessions all of for from on to password passwords "
        "network access its".split(),
    }
)
_SPLIT = re.compile(r"\s+(?:because|since|as|due to|reason:?)\s+|\s+-{1,2}\s+|:\s+", re.IGNORECASE)
# A word that may be another target (a value) or joins a list: a comma before it is no reason.
_LIST_OR_VALUE = re.compile(r"[0-9.@\\]|^(?:and|or|&|\+|)$", re.IGNORECASE)
_TOKEN_EDGE = "\"'`()[]{}<>.,;!?"
_HASH = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class ActionRequest:
    """An action the analyst asked for, or why the request cannot be proposed.

    Without a ``problem``, ``action`` is a catalog action, ``target`` the analyst's own token
    (one well-formed value of the action's target kind) and ``key`` its canonical entity key.
    """

    verb: str
    action: str | None = None
    target: str | None = None
    reason: str = ""
    problem: str | None = None
    key: str | None = None

    @property
    def usable(self) -> bool:
        """Whether this is one parsed (action, target) that may be proposed."""
        return self.problem is None and self.key is not None


def strip_token(token: str) -> str:
    """A word of a message without quotes, brackets, punctuation or a possessive 's."""
    token = token.strip(_TOKEN_EDGE)
    if token.lower().endswith(("'s", "\u2019s")):
        token = token[:-2]
    return token.strip(_TOKEN_EDGE)


def target_key(
    action: str, target: str, catalog: Catalog, internal_domains: Iterable[str] = ()
) -> str | None:
    """The canonical entity key of ``target`` as the target of ``action``; None when it is not
    one well-formed value of the kind the action acts on (or not a value that can be acted on).
    """
    spec = catalog.get(action)
    if spec is None or not well_formed(spec.target_kind, target):
        return None
    return entity_key(spec.target_kind, target, internal_domains)


def parse_request(
    message: str, catalog: Catalog, internal_domains: Iterable[str] = ()
) -> ActionRequest | None:
    """The action the message asks for, if it is an imperative request; None for a question.

    Strict by design: the message must start (after "please", "can you" ...) with an action
    verb or a catalog action name, followed by exactly one target. Anything else that looks
    like a request but cannot be mapped comes back with a ``problem`` saying what exists.
    """
    text = message.strip()
    while True:
        stripped = _POLITE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    head, reason = _split_reason(text)
    words = head.rstrip("?!. ").split()
    if len(words) > 1 and words[0].lower() in ("sign", "log") and words[1].lower() == "out":
        words = [words[0] + "out", *words[2:]]
    if not words:
        return None
    verb = words[0].lower().strip(_TOKEN_EDGE)
    if verb in _QUESTION_WORDS or message.rstrip().endswith("?") and verb not in _VERBS:
        return None
    mapped = _action_of(verb, catalog)
    if mapped is None or isinstance(mapped, ActionRequest):
        return mapped
    rest = words[1:]
    nouns = {w.lower().strip(_TOKEN_EDGE) for w in rest}
    targets = [t for w in rest if (t := strip_token(w)) and t.lower() not in _FILLER]
    if not targets:
        return ActionRequest(verb, mapped, problem=f"Name one target, e.g. '{verb} VALUE'.")
    if len(targets) > 1 or any(w.lower() in ("and", "&", "+") for w in rest):
        return ActionRequest(
            verb,
            mapped,
            problem="One target per request (each action acts on one host or one account): "
            "ask again for each.",
        )
    return _checked(verb, mapped, targets[0], nouns, reason[:300], catalog, internal_domains)


def _split_reason(text: str) -> tuple[str, str]:
    """The request and its reason: "isolate X because ...", "isolate X: ...", "isolate X, ...".

    A comma ends the request only before a clause ("isolate X, it beacons out"), never before
    what may be more targets ("isolate X, Y", "disable bob, alice and carol"): those stay in the
    request, which then asks for one target per request.
    """
    parts = _SPLIT.split(text, maxsplit=1)
    head, reason = parts[0], (parts[1].strip() if len(parts) > 1 else "")
    first, comma, rest = head.partition(", ")
    clause = rest.split()
    if (
        comma
        and len(clause) >= 2
        and not any(_LIST_OR_VALUE.search(strip_token(w)) for w in clause)
    ):
        head, reason = first, f"{rest} {reason}".strip()
    return head, reason


def _action_of(verb: str, catalog: Catalog) -> str | ActionRequest | None:
    """The action (or family) a verb names, a refusal saying what exists, or None (no verb)."""
    if verb.replace("-", "_") in catalog:
        return verb.replace("-", "_")
    if verb in _VERBS:
        return _VERBS[verb]
    if verb in _NOT_HERE:
        return ActionRequest(verb, problem=f"I can't {verb} from the chat: {_NOT_HERE[verb]}.")
    if verb in _UNSUPPORTED:
        return ActionRequest(
            verb,
            problem=f"'{verb}' is not an action tierzero can propose. The actions are: "
            f"{', '.join(sorted(catalog))} (e.g. 'isolate HOST', 'disable user NAME', "
            "'revoke sessions for NAME', 'reset password for NAME', 'block ip|domain|hash "
            "VALUE', 'quarantine email from SENDER').",
        )
    return None


def _checked(
    verb: str,
    action: str,
    target: str,
    nouns: set[str],
    reason: str,
    catalog: Catalog,
    internal_domains: Iterable[str],
) -> ActionRequest:
    """The request for one target: its action resolved, the target's kind and form checked."""
    named = {_KIND_NOUNS[n] for n in nouns if n in _KIND_NOUNS}
    if verb == "quarantine" and ("email" in named or "@" in target):
        action = "quarantine_email"
    elif action == "block_*":
        action = _block_action(target, named) or action
    spec = catalog.get(action)
    if spec is None:
        return ActionRequest(
            verb,
            target=target,
            problem=f"I can't map '{verb} {target[:80]}' onto the action catalog: "
            f"{', '.join(sorted(catalog))}.",
        )
    kind = spec.target
    if named - {kind}:
        return ActionRequest(
            verb,
            action,
            target,
            problem=f"{action} acts on a {kind}, but the request names a "
            f"{' and a '.join(sorted(named - {kind}))}: ask for one action on one {kind}.",
        )
    key = target_key(action, target, catalog, internal_domains)
    if key is None:
        return ActionRequest(
            verb,
            action,
            target,
            problem=f"{target[:80]!r} is not one well-formed {kind} that can be acted on: name "
            f"it exactly as the case shows it, e.g. '{verb} VALUE'.",
        )
    return ActionRequest(verb, action, target, reason, key=key)


def _block_action(target: str, named: set[str]) -> str | None:
    """block_ip / block_domain / block_hash by the object word, else by the target's form."""
    for kind in ("ip", "domain", "hash"):
        if kind in named:
            return f"block_{kind}"
    if "email" in named or "@" in target:
        return None  # senders are quarantined, not blocked: say what exists
    try:
        ipaddress.ip_address(target)
        return "block_ip"
    except ValueError:
        pass
    if _HASH.fullmatch(target):
        return "block_hash"
    return "block_domain" if "." in target else None


def asks_for_action(message: str, catalog: Iterable[str]) -> bool:
    """Whether the analyst's message asks for an action in any wording (for the model path).

    Whole words only: "was it blocked?" and "isolated" ask for nothing.
    """
    words = [w.replace("-", "_") for w in re.findall(r"[a-z_-]+", message.lower())]
    verbs = {*_VERBS, *catalog}
    pairs = {f"{a}{b}" for a, b in zip(words, words[1:], strict=False) if b == "out"}
    return any(w in verbs for w in words) or bool(pairs & {"signout", "logout"})


def not_the_request(
    asked: ActionRequest | None,
    action: str,
    target: str,
    catalog: Catalog,
    internal_domains: Iterable[str] = (),
) -> str | None:
    """Why a model's ``(action, target)`` is not the analyst's parsed request; None when it is
    exactly that: the same catalog action and the same canonical target key (so
    ``LT-FIN-042.northwind.example`` is ``lt-fin-042``, but ``10.10.0.10`` is never
    ``10.10.0.100``, and ``disable_user`` is never ``revoke_sessions``)."""
    if asked is None or not asked.usable:
        return (
            "your message names no single action and target I can parse "
            "(e.g. 'block ip VALUE', 'revoke sessions for NAME')"
        )
    if action == asked.action and target_key(action, target, catalog, internal_domains) == (
        asked.key
    ):
        return None
    return f"you asked for {asked.action} {asked.target}"
