"""The one error a use case raises for a request it will not carry out."""

from __future__ import annotations


class Refused(ValueError):
    """The request cannot be carried out as asked; the message says why, for a person.

    ``usage`` marks a request that was malformed (a wrong option value), as opposed to one
    that was well-formed but refused by the state of things (an unknown case, a closed gate).
    """

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage
