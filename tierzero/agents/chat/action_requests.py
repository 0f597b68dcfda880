"""Action requests in the analyst's own words: "isolate LT-FIN-042", "disable user alice".

:func:`parse_request` is strict: the message must start (after "please", "can you" ...) with an
action verb or a catalog action name followed by exactly one target; a request that cannot be
mapped onto the catalog comes back with a ``problem`` saying what exists. The offline answerer
proposes only what it parses. :func:`asks_for_action` is the looser test the model path uses:
the model may propose an action only when the analyst's own message asks for one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

_POLITE = re.compile(
    r"^(?:please|pls|kindly|ok(?:ay)?|yes|now|then|so|and|go ahead and|can you|could you|"
    r"would you|will you|i want you to|i'd like you to|i would like you to|let'?s)\b[\s,]*",
    re.IGNORECASE,
)
_QUESTION_WORDS = frozenset(
    "why what which who whom whose when where how should shall is was were are did does do "
    "has have had would could can will".split()
)
# Verbs that map onto the catalog (the object word or the target's form picks the action).
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
_NOT_HERE: dict[str, str] = {
    "approve": "approvals are answered with `tierzero approvals approve ID --as NAME` by "
    "someone other than the requester",
    "release": "executed actions are undone with `tierzero actions rollback ID --as NAME`",
    "unisolate": "executed actions are undone with `tierzero actions rollback ID --as NAME`",
    "unblock": "executed actions are undone with `tierzero actions rollback ID --as NAME`",
    "enable": "executed actions are undone with `tierzero actions rollback ID --as NAME`",
    "restore": "executed actions are undone with `tierzero actions rollback ID --as NAME`",
    "rollback": "executed actions are undone with `tierzero actions rollback ID --as NAME`",
    "undo": "executed actions are undone with `tierzero actions rollback ID --as NAME`",
}
_UNSUPPORTED = frozenset(
    "delete remove wipe kill terminate stop shutdown shut reboot restart uninstall patch scan "
    "run execute lock deny close escalate".split()
)
_FILLER = frozenset(
    "the a an this that host hosts machine device computer endpoint server workstation laptop "
    "user users account accounts identity ip ips address addresses domain domains hash hashes "
    "file sha256 sha1 md5 session sessions all of for from on to password passwords email "
    "emails mail mails message messages sender senders network access its".split()
)
_EMAIL_WORDS = frozenset({"email", "emails", "mail", "mails", "message", "messages", "sender"})
_SPLIT = re.compile(r"\s+(?:because|since|as|due to|reason:?)\s+|\s+-{1,2}\s+|:\s+", re.IGNORECASE)
_TOKEN_EDGE = "\"'`()[]{}<>.,;!?"


@dataclass(frozen=True)
class ActionRequest:
    """An action the analyst asked for, or why the request cannot be proposed."""

    verb: str
    action: str | None = None
    target: str | None = None
    reason: str = ""
    problem: str | None = None


def strip_token(token: str) -> str:
    """A word of a message without quotes, brackets, punctuation or a possessive 's."""
    token = token.strip(_TOKEN_EDGE)
    if token.lower().endswith(("'s", "\u2019s")):
        token = token[:-2]
    return token.strip(_TOKEN_EDGE)


def parse_request(message: str, catalog: Iterable[str]) -> ActionRequest | None:
    """The action the message asks for, if it is an imperative request; None for a question.

    Strict by design: the message must start (after "please", "can you" ...) with an action
    verb or a catalog action name, followed by exactly one target. Anything else that looks
    like a request but cannot be mapped comes back with a ``problem`` saying what exists.
    """
    actions = sorted(catalog)
    text = message.strip()
    while True:
        stripped = _POLITE.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    parts = _SPLIT.split(text, maxsplit=1)
    head, reason = parts[0], (parts[1].strip() if len(parts) > 1 else "")
    words = head.rstrip("?!. ").split()
    if len(words) > 1 and words[0].lower() in ("sign", "log") and words[1].lower() == "out":
        words = [words[0] + "out", *words[2:]]
    if not words:
        return None
    verb = words[0].lower().strip(_TOKEN_EDGE)
    if verb in _QUESTION_WORDS or message.rstrip().endswith("?") and verb not in _VERBS:
        return None
    rest = words[1:]
    known = ", ".join(actions)
    if verb.replace("-", "_") in actions:
        action: str | None = verb.replace("-", "_")
    elif verb in _VERBS:
        action = _VERBS[verb]
    elif verb in _NOT_HERE:
        return ActionRequest(verb, problem=f"I can't {verb} from the chat: {_NOT_HERE[verb]}.")
    elif verb in _UNSUPPORTED:
        return ActionRequest(
            verb,
            problem=f"'{verb}' is not an action tierzero can propose. The actions are: {known} "
            "(e.g. 'isolate HOST', 'disable user NAME', 'revoke sessions for NAME', "
            "'reset password for NAME', 'block ip|domain|hash VALUE', 'quarantine email "
            "from SENDER').",
        )
    else:
        return None
    nouns = {w.lower().strip(_TOKEN_EDGE) for w in rest}
    targets = [t for w in rest if (t := strip_token(w)) and t.lower() not in _FILLER]
    if not targets:
        return ActionRequest(verb, action, problem=f"Name one target, e.g. '{verb} VALUE'.")
    if len(targets) > 1 or any(w.lower() in ("and", "&", "+") for w in rest):
        return ActionRequest(
            verb,
            action,
            problem="One target per request (each action acts on one host or one account): "
            "ask again for each.",
        )
    target = targets[0]
    if verb == "quarantine" and (nouns & _EMAIL_WORDS or "@" in target):
        action = "quarantine_email"
    elif action == "block_*":
        action = _block_action(target, nouns)
    if action is None or action not in actions:
        return ActionRequest(
            verb,
            target=target,
            problem=f"I can't map '{verb} {target}' onto the action catalog: {known}.",
        )
    return ActionRequest(verb, action, target, reason[:300])


def _block_action(target: str, nouns: set[str]) -> str | None:
    """block_ip / block_domain / block_hash by the object word, else by the target's form."""
    if nouns & {"ip", "ips", "address", "addresses"}:
        return "block_ip"
    if nouns & {"domain", "domains"}:
        return "block_domain"
    if nouns & {"hash", "hashes", "file", "sha256", "sha1", "md5"}:
        return "block_hash"
    if nouns & _EMAIL_WORDS or "@" in target:
        return None  # senders are quarantined, not blocked: say what exists
    try:
        ipaddress.ip_address(target)
        return "block_ip"
    except ValueError:
        pass
    if re.fullmatch(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}", target):
        return "block_hash"
    return "block_domain" if "." in target else None


_ACTION_WORDS = re.compile(
    r"\b(?:" + "|".join(sorted({*_VERBS, "sign out", "log out"})) + r")", re.IGNORECASE
)


def asks_for_action(message: str, catalog: Iterable[str]) -> bool:
    """Whether the analyst's message asks for an action in any wording (for the model path)."""
    if parse_request(message, catalog) is not None:
        return True
    lowered = message.lower()
    return bool(_ACTION_WORDS.search(message)) or any(a in lowered for a in catalog)
