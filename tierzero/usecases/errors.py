"""The one error a use case raises for a request it will not carry out."""

from __future__ import annotations

from tierzero.guardrails.actors import ActorRefused, require_actor


class Refused(ValueError):
    """The request cannot be carried out as asked; the message says why, for a person.

    ``usage`` marks a request that was malformed (a wrong option value), as opposed to one
    that was well-formed but refused by the state of things (an unknown case, a closed gate).
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


class NotFound(Refused):
    """The request names something that does not exist (a case, an action)."""


def usable_actor(name: str | None) -> str:
    """``name`` when it can stand in the audit as who did something; otherwise ``Refused``
    (empty, control characters, nothing visible ...: see ``guardrails.actors``)."""
    try:
        return require_actor(name)
    except ActorRefused as exc:
        raise Refused(str(exc), usage=True) from None
