"""Response connectors: the only code that changes anything outside tierzero.

Connectors are called only by the act node (and by rollback), after the guardrails decided.
Every call carries an idempotency key; a connector must treat a second call with the same key
as already done, so a crash between "executed" and "recorded" never acts twice.

``LabConnector`` is a **simulation**: a small company environment (hosts, accounts,
blocklists) kept in SQLite tables of the store, seeded from the inventory. It stands in for
an EDR, an identity provider, a mail gateway and a firewall so the demo and the evaluation can
check the environment before and after. It touches nothing real.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from tierzero.tools.inventory import Inventory

LAB_SCHEMA = """
CREATE TABLE IF NOT EXISTS lab_hosts (
    hostname TEXT PRIMARY KEY, isolated INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS lab_accounts (
    user TEXT PRIMARY KEY,
    disabled INTEGER NOT NULL DEFAULT 0,
    sessions_revoked INTEGER NOT NULL DEFAULT 0,
    must_reset_password INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS lab_blocklist (
    kind TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (kind, value)
);
CREATE TABLE IF NOT EXISTS lab_applied (
    idempotency_key TEXT PRIMARY KEY, applied_at TEXT NOT NULL
);
"""


class ConnectorError(RuntimeError):
    """The connector could not carry the action out (counts towards the circuit breaker)."""


class ResponseConnector(Protocol):
    """One interface for every response system."""

    name: str

    def apply(self, action: str, target: str, key: str, now: datetime) -> str:
        """Carry the action out (idempotent per key); returns what changed, in words."""
        ...


@dataclass
class LabConnector:
    """SIMULATED environment in the store's SQLite file (see module docstring)."""

    conn: sqlite3.Connection
    name: str = "lab (simulated environment)"

    def seed(self, inventory: Inventory) -> None:
        """Create the simulated hosts and accounts from the inventory (once)."""
        self.conn.executescript(LAB_SCHEMA)
        self.conn.executemany(
            "INSERT OR IGNORE INTO lab_hosts (hostname) VALUES (?)",
            [(a.hostname,) for a in inventory.assets],
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO lab_accounts (user) VALUES (?)",
            [(i.user,) for i in inventory.identities],
        )

    def preset(
        self,
        isolated_hosts: tuple[str, ...] = (),
        disabled_accounts: tuple[str, ...] = (),
        blocklist: tuple[str, ...] = (),
    ) -> None:
        """Start from a given state (an evaluation scenario's hosts already isolated, accounts
        already disabled, indicators already blocked as ``kind:value``)."""
        self.conn.executemany(
            "INSERT INTO lab_hosts (hostname, isolated) VALUES (?, 1)"
            " ON CONFLICT(hostname) DO UPDATE SET isolated = 1",
            [(h,) for h in isolated_hosts],
        )
        self.conn.executemany(
            "INSERT INTO lab_accounts (user, disabled) VALUES (?, 1)"
            " ON CONFLICT(user) DO UPDATE SET disabled = 1",
            [(u,) for u in disabled_accounts],
        )
        self.conn.executemany(
            "INSERT OR IGNORE INTO lab_blocklist VALUES (?, ?)",
            [tuple(entry.split(":", 1)) for entry in blocklist if ":" in entry],
        )

    def apply(self, action: str, target: str, key: str, now: datetime) -> str:
        done = self.conn.execute(
            "SELECT 1 FROM lab_applied WHERE idempotency_key = ?", (key,)
        ).fetchone()
        if done:
            return f"{action} {target}: already applied (idempotency key {key[:12]})"
        change = _CHANGES.get(action)
        if change is None:
            raise ConnectorError(f"the lab cannot {action}")
        table, column, value, kind = change
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            if table == "lab_blocklist":
                if value:
                    self.conn.execute(
                        "INSERT OR IGNORE INTO lab_blocklist VALUES (?, ?)", (kind, target)
                    )
                else:
                    self.conn.execute(
                        "DELETE FROM lab_blocklist WHERE kind = ? AND value = ?", (kind, target)
                    )
            else:
                ident = "hostname" if table == "lab_hosts" else "user"
                updated = self.conn.execute(
                    f"UPDATE {table} SET {column} = ? WHERE lower({ident}) = lower(?)",
                    (value, target),
                ).rowcount
                if not updated:
                    raise ConnectorError(f"the lab has no {ident} {target!r}")
            self.conn.execute("INSERT INTO lab_applied VALUES (?, ?)", (key, now.isoformat()))
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
        return f"{action} {target}: done in the lab (simulated)"

    def state(self) -> dict[str, object]:
        """The whole simulated environment, for before/after checks."""
        return {
            "isolated_hosts": sorted(
                r[0] for r in self.conn.execute("SELECT hostname FROM lab_hosts WHERE isolated = 1")
            ),
            "disabled_accounts": sorted(
                r[0] for r in self.conn.execute("SELECT user FROM lab_accounts WHERE disabled = 1")
            ),
            "revoked_sessions": sorted(
                r[0]
                for r in self.conn.execute(
                    "SELECT user FROM lab_accounts WHERE sessions_revoked = 1"
                )
            ),
            "password_resets": sorted(
                r[0]
                for r in self.conn.execute(
                    "SELECT user FROM lab_accounts WHERE must_reset_password = 1"
                )
            ),
            "blocklist": sorted(
                f"{k}:{v}" for k, v in self.conn.execute("SELECT kind, value FROM lab_blocklist")
            ),
        }


# action -> (table, column, new value, blocklist kind)
_CHANGES: dict[str, tuple[str, str, int, str]] = {
    "isolate_host": ("lab_hosts", "isolated", 1, ""),
    "release_host": ("lab_hosts", "isolated", 0, ""),
    "disable_user": ("lab_accounts", "disabled", 1, ""),
    "enable_user": ("lab_accounts", "disabled", 0, ""),
    "revoke_sessions": ("lab_accounts", "sessions_revoked", 1, ""),
    "restore_sessions": ("lab_accounts", "sessions_revoked", 0, ""),
    "reset_password": ("lab_accounts", "must_reset_password", 1, ""),
    "cancel_password_reset": ("lab_accounts", "must_reset_password", 0, ""),
    "block_hash": ("lab_blocklist", "", 1, "hash"),
    "unblock_hash": ("lab_blocklist", "", 0, "hash"),
    "block_ip": ("lab_blocklist", "", 1, "ip"),
    "unblock_ip": ("lab_blocklist", "", 0, "ip"),
    "block_domain": ("lab_blocklist", "", 1, "domain"),
    "unblock_domain": ("lab_blocklist", "", 0, "domain"),
    "quarantine_email": ("lab_blocklist", "", 1, "sender"),
    "release_email": ("lab_blocklist", "", 0, "sender"),
}
