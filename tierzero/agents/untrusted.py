"""Untrusted data reaches a model only inside fenced data blocks.

Everything derived from an alert (titles, command lines, file names, subjects, URLs, user
agents, DNS names, host and account names) or from a tool result is attacker-influenced. It is
serialized as JSON with every non-ASCII character escaped (homoglyphs and zero-width characters
become visible ``\\uXXXX`` escapes) and wrapped in ``<data-NONCE>`` ... ``</data-NONCE>``,
where NONCE is random per conversation and declared in the system prompt. Data cannot close
the fence early: it never sees the nonce in advance, and any occurrence of the fence's tag
name inside the data is defused before wrapping.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

_TAG = re.compile(r"<\s*/?\s*data-", re.IGNORECASE)


class DataFence:
    """The delimiters of one conversation's data blocks."""

    def __init__(self, nonce: str | None = None) -> None:
        self.nonce = nonce or secrets.token_hex(8)

    @property
    def name(self) -> str:
        return self.nonce

    def wrap(self, label: str, value: Any, max_chars: int | None = None) -> str:
        """One data block holding ``value`` as JSON (truncated to ``max_chars`` if given)."""
        text = json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)
        text = _TAG.sub("<defused-", text.replace(self.nonce, "[fence]"))
        if max_chars is not None and len(text) > max_chars:
            text = text[:max_chars] + f" ... [truncated: {len(text) - max_chars} more chars]"
        safe_label = re.sub(r"[^A-Za-z0-9_.:-]", "_", label)[:60]
        return f'<data-{self.nonce} label="{safe_label}">\n{text}\n</data-{self.nonce}>'
