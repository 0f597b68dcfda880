"""The response-action catalog: what tierzero may ever recommend, and what each one targets.

In this release actions are only recommended; executing them goes through the guardrail layer
and the response connectors. Targets are always entities taken from normalized alert fields or
the inventory, never free text.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierzero.ingest.alert import EntityKind
from tierzero.tools.registry import ActionClass


@dataclass(frozen=True)
class ActionSpec:
    name: str
    action_class: ActionClass
    target_kind: EntityKind
    inverse: str | None
    description: str


CATALOG: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        ActionSpec(
            "block_hash",
            "contain",
            EntityKind.HASH,
            "unblock_hash",
            "Block a file hash on every endpoint",
        ),
        ActionSpec(
            "block_ip",
            "contain",
            EntityKind.IP,
            "unblock_ip",
            "Block an IP address at the perimeter",
        ),
        ActionSpec(
            "block_domain",
            "contain",
            EntityKind.DOMAIN,
            "unblock_domain",
            "Block a domain at the DNS resolver and proxy",
        ),
        ActionSpec(
            "quarantine_email",
            "contain",
            EntityKind.EMAIL,
            "release_email",
            "Quarantine the messages of a sender in every mailbox",
        ),
        ActionSpec(
            "revoke_sessions",
            "contain",
            EntityKind.USER,
            None,
            "Revoke a user's sign-in sessions and refresh tokens",
        ),
        ActionSpec(
            "reset_password",
            "disrupt",
            EntityKind.USER,
            None,
            "Force a password reset at next sign-in",
        ),
        ActionSpec(
            "disable_user", "disrupt", EntityKind.USER, "enable_user", "Disable a user account"
        ),
        ActionSpec(
            "isolate_host",
            "disrupt",
            EntityKind.HOST,
            "release_host",
            "Isolate a host from the network (EDR network containment)",
        ),
    )
}
