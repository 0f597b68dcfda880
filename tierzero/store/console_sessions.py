"""Signed-in web console sessions: a random session id in an HttpOnly cookie, kept here only
as its SHA-256, tied to the API token the person signed in with.

A session lives until it expires, its person signs out, or its token is revoked (every read
checks the token again, so revoking a token ends its sessions at once). Each session has its
own CSRF secret, which every form of the console sends back.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from tierzero.store.connection import Connected
from tierzero.store.tokens import ApiToken


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()


class ConsoleSessionTable(Connected):
    """The ``console_sessions`` table."""

    def open_session(self, token_name: str, now: datetime, ttl: timedelta) -> tuple[str, str]:
        """A new session for the token ``token_name``: ``(session id, CSRF secret)``. Only
        the id's digest is stored; sessions that expired are removed on the way."""
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with self.transaction() as conn:
            conn.execute("DELETE FROM console_sessions WHERE expires_at <= ?", (now.isoformat(),))
            conn.execute(
                "INSERT INTO console_sessions VALUES (?,?,?,?,?)",
                (_digest(session_id), token_name, csrf, now.isoformat(), (now + ttl).isoformat()),
            )
        return session_id, csrf

    def console_session(self, session_id: str, now: datetime) -> tuple[ApiToken, str] | None:
        """The active token and CSRF secret of a live session, or None (unknown, expired, or
        its token revoked)."""
        if not session_id or len(session_id) > 200:
            return None
        row = self.conn.execute(
            "SELECT t.name, t.role, t.person, t.created_by, t.created_at, t.revoked_at,"
            " t.revoked_by, s.csrf FROM console_sessions s"
            " JOIN api_tokens t ON t.name = s.token_name"
            " WHERE s.session_sha256 = ? AND s.expires_at > ?",
            (_digest(session_id), now.isoformat()),
        ).fetchone()
        if row is None:
            return None
        token = ApiToken(**{k: row[k] for k in row.keys() if k != "csrf"})
        return (token, row["csrf"]) if token.active else None

    def close_session(self, session_id: str) -> None:
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM console_sessions WHERE session_sha256 = ?", (_digest(session_id),)
            )
