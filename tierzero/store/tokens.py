"""The service's API tokens: a name, a role, and only the SHA-256 of the token itself.

A token is shown once, when it is created; the store cannot give it back. Tokens are random
(256 bits), so an unsalted SHA-256 is enough to look one up without keeping it. Creating and
revoking a token are audited with its name and role, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tierzero.store import audit as chain
from tierzero.store.connection import Connected

Role = Literal["ingest", "analyst", "approver", "auditor", "admin"]
ROLES: tuple[Role, ...] = ("ingest", "analyst", "approver", "auditor", "admin")
TOKEN_PREFIX = "tz_"


class TokenError(ValueError):
    """A token that cannot be created or revoked as asked (the message says why)."""


@dataclass(frozen=True)
class ApiToken:
    """One token's record (never the token itself)."""

    name: str
    role: Role
    person: str  # who acts with it: approvals, chat requests and resolutions are theirs
    created_by: str
    created_at: str
    revoked_at: str | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenTable(Connected):
    """The ``api_tokens`` table."""

    def create_token(
        self, name: str, role: Role, actor: str, now: datetime, person: str | None = None
    ) -> str:
        """A new token ``name`` in ``role`` for ``person`` (default: the name); returns the
        token (the only time it exists outside the caller). A name is never reused, even
        after revocation, so the audit's ``token:NAME`` always means one token. One person's
        tokens share the person, so their analyst token's requests are never approved with
        their approver token."""
        person = person or name
        if role not in ROLES:
            raise TokenError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM api_tokens WHERE name = ?", (name,)).fetchone():
                raise TokenError(f"a token named {name!r} exists (names are never reused)")
            conn.execute(
                "INSERT INTO api_tokens VALUES (?,?,?,?,?,?,NULL,NULL)",
                (name, role, person, token_digest(token), actor, now.isoformat()),
            )
            _audit(
                conn, actor, now, {"event": "created", "name": name, "role": role, "person": person}
            )
        return token

    def revoke_token(self, name: str, actor: str, now: datetime) -> None:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT revoked_at FROM api_tokens WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                raise TokenError(f"no token named {name!r}")
            if row["revoked_at"] is not None:
                raise TokenError(f"token {name!r} was already revoked at {row['revoked_at']}")
            conn.execute(
                "UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE name = ?",
                (now.isoformat(), actor, name),
            )
            _audit(conn, actor, now, {"event": "revoked", "name": name})

    def tokens(self) -> list[ApiToken]:
        rows = self.conn.execute(
            "SELECT name, role, person, created_by, created_at, revoked_at, revoked_by"
            " FROM api_tokens ORDER BY created_at, name"
        ).fetchall()
        return [ApiToken(**dict(r)) for r in rows]

    def token_of(self, token: str) -> ApiToken | None:
        """The active token record ``token`` belongs to, or None (unknown or revoked)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            return None
        digest = token_digest(token)
        row = self.conn.execute(
            "SELECT name, role, person, created_by, created_at, revoked_at, revoked_by,"
            " token_sha256"
            " FROM api_tokens WHERE token_sha256 = ?",
            (digest,),
        ).fetchone()
        if row is None or not hmac.compare_digest(row["token_sha256"], digest):
            return None
        found = ApiToken(**{k: row[k] for k in row.keys() if k != "token_sha256"})
        return found if found.active else None


def _audit(conn: sqlite3.Connection, actor: str, now: datetime, payload: dict[str, str]) -> None:
    chain.append(conn, kind="token", actor=actor, case_id=None, ts=now, payload=payload)
