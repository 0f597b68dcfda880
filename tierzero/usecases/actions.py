"""Executed actions after the fact: roll one back now, end the leases whose TTL ran out, and
the global kill switch."""

from __future__ import annotations

from datetime import datetime

from tierzero.guardrails.execution import RollbackRefused, rollback, sweep_leases
from tierzero.settings import Settings
from tierzero.store.actions import ActionConflict, ActionRow
from tierzero.store.sqlite import Store
from tierzero.usecases.errors import NotFound, Refused, usable_actor
from tierzero.usecases.runtime import lab_connector


def rollback_action(
    store: Store, settings: Settings, action_id: int, actor: str, reason: str, now: datetime
) -> ActionRow:
    """Undo an executed action through its inverse, recording who and why (one unit under the
    store's writer lock; a second rollback of the same action is refused)."""
    actor = usable_actor(actor)
    with store.writing(f"roll back action {action_id}"):
        row = store.actions.get(action_id)
        if row is None:
            raise NotFound(f"no action {action_id}")
        try:
            return rollback(
                store.actions,
                lab_connector(store, settings),
                settings.policy,
                row,
                actor=actor,
                reason=reason,
                now=now,
            )
        except (RollbackRefused, ActionConflict) as exc:
            raise Refused(str(exc)) from None


def end_expired_leases(store: Store, settings: Settings, now: datetime) -> list[ActionRow]:
    """Undo every executed action whose lease (TTL) has ended."""
    with store.writing("end expired leases"):
        return sweep_leases(store.actions, lab_connector(store, settings), settings.policy, now)


def set_autonomy(store: Store, state: str, actor: str, reason: str, now: datetime) -> bool:
    """Flip the kill switch ('on' or 'off'; audited); 'off' sends every action to approval."""
    if state not in ("on", "off"):
        raise Refused("say 'on' or 'off'", usage=True)
    actor = usable_actor(actor)
    with store.writing(f"switch autonomy {state}"):
        store.set_autonomy(state == "on", actor, reason, now)
    return state == "on"
