"""The analyst chat about a case, message by message (each one is also in the audit)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tierzero.store import audit as chain
from tierzero.store.connection import Connected

ChatRole = Literal["analyst", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    """One message of the analyst chat about a case (``tierzero chat``)."""

    id: int
    case_id: str
    role: ChatRole
    author: str
    content: str
    created_at: datetime


class ChatLog(Connected):
    """The ``chat_messages`` table."""

    def add_chat_message(
        self,
        case_id: str,
        role: ChatRole,
        author: str,
        content: str,
        now: datetime,
        details: dict[str, Any] | None = None,
    ) -> ChatMessage:
        """Store one chat message and its ``chat`` audit record in one transaction.

        ``details`` (evidence cited, actions proposed, which answerer) go to the audit only.
        """
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO chat_messages (case_id, role, author, content, created_at)"
                " VALUES (?,?,?,?,?)",
                (case_id, role, author, content, now.isoformat()),
            )
            message_id = int(cursor.lastrowid or 0)
            chain.append(
                conn,
                kind="chat",
                actor=author,
                case_id=case_id,
                ts=now,
                payload={
                    **(details or {}),
                    "message_id": message_id,
                    "role": role,
                    "content": content,
                },
            )
        return ChatMessage(message_id, case_id, role, author, content, now)

    def chat_history(self, case_id: str, limit: int = 50) -> list[ChatMessage]:
        """The case's latest ``limit`` chat messages, oldest first."""
        rows = self.conn.execute(
            "SELECT * FROM chat_messages WHERE case_id = ? ORDER BY id DESC LIMIT ?",
            (case_id, max(0, limit)),
        ).fetchall()
        return [
            ChatMessage(
                r["id"],
                r["case_id"],
                r["role"],
                r["author"],
                r["content"],
                datetime.fromisoformat(r["created_at"]),
            )
            for r in reversed(rows)
        ]
