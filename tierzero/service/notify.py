"""Outbound notifications: approval requests, reminders, expiries and new P1/P2 cases, sent to
the webhooks of ``config/service.yaml`` by a worker of their own, so a slow or dead receiver
never holds up triage.

Events are read from the store (actions waiting or expired, cases by priority) and queued once
per webhook in the store's outbox; deliveries are retried with exponential backoff, and every
attempt is audited. A ``slack`` webhook gets a Slack-compatible ``{"text": ...}`` message; a
``json`` webhook gets the event as JSON, signed: ``X-Tierzero-Signature: sha256=<hex>`` is the
HMAC-SHA256, under the webhook's secret, of ``<X-Tierzero-Timestamp>.<body>``.

Every value from an alert (targets, titles, reasons) is attacker-controlled: a Slack message is
one line of plain text (``mrkdwn`` off, no unfurling) with ``&``, ``<`` and ``>`` escaped, so a
value can never become a link, a mention or a line of its own. Delivery is at least once: each
notification carries its key (``X-Tierzero-Delivery`` and ``key``) for receivers to drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tierzero.clock import Clock
from tierzero.service.workers import Worker
from tierzero.settings import Settings
from tierzero.settings.service import Notifications, Webhook
from tierzero.store.actions import ActionRow
from tierzero.store.cases import CaseRow
from tierzero.store.notifications import Notification, Queued
from tierzero.store.sqlite import Store

SIGNATURE_HEADER = "X-Tierzero-Signature"
TIMESTAMP_HEADER = "X-Tierzero-Timestamp"
EVENT_HEADER = "X-Tierzero-Event"
DELIVERY_HEADER = "X-Tierzero-Delivery"  # the same for every attempt of one notification
ANNOUNCED_PRIORITIES = ("P1", "P2")


def events(store: Store, settings: Settings, since: datetime, now: datetime) -> list[Queued]:
    """Everything announceable since ``since``, once per subscribed webhook."""
    hooks = settings.service.notifications.webhooks
    if not hooks:
        return []
    found: list[tuple[str, str, str | None, dict[str, Any]]] = []  # event, key, case, message
    for row in store.actions.decided_since(since):
        if row.status == "pending_approval":
            found.append(_approval("approval_requested", row, settings, now))
            if row.reminded:
                found.append(_approval("approval_reminder", row, settings, now))
        elif row.status == "expired" and row.executed_at is None:
            found.append(_approval("approval_expired", row, settings, now))
    for case in store.cases_updated_since(since, ANNOUNCED_PRIORITIES):
        found.append(_case_opened(case, settings))
    return [
        Queued(f"{hook.name}:{key}", hook.name, event, case_id, message)
        for hook in hooks
        for event, key, case_id, message in found
        if event in hook.events
    ]


def approval_facts(row: ActionRow, settings: Settings, now: datetime) -> dict[str, Any]:
    """What a person deciding on a pending action needs: what it does, to which entity, for
    how long, how it is undone, who asked and why, the rule, and the time left."""
    spec = settings.policy.catalog.get(row.action)
    due = row.due()
    left = max(int((due - now).total_seconds() // 60), 0) if due else None
    return {
        "action_id": row.id,
        "case_id": row.case_id,
        "action": row.action,
        "does": spec.description if spec else row.action,
        "target": row.target,
        "lease": _duration(spec.ttl) if spec else None,
        "rollback": spec.inverse if spec else None,
        "requested_by": row.requested_by,
        "reason": row.reason,
        "rule_id": row.rule_id,
        "approval_due": row.approval_due,
        "minutes_left": left,
        "how_to_answer": _how_to_answer(row, settings.service.public_url),
    }


def _approval(
    event: str, row: ActionRow, settings: Settings, now: datetime
) -> tuple[str, str, str | None, dict[str, Any]]:
    facts = approval_facts(row, settings, now)
    left, answer = facts["minutes_left"], facts["how_to_answer"]
    if event == "approval_expired":
        text = (
            f"Approval expired, nothing was done: {facts['does']} on {row.target} "
            f"(action {row.id}, case {row.case_id}) got no answer by {row.approval_due}; "
            "the case was escalated."
        )
    else:
        lead = "Reminder, approval needed" if event == "approval_reminder" else "Approval needed"
        text = (
            f"{lead}: {facts['does']} ({row.action}) on {row.target}, case {row.case_id}. "
            f"If approved it holds for {facts['lease']}, then {facts['rollback']} undoes it "
            f"(or a rollback at any time). Requested by {row.requested_by}: {row.reason} "
            f"[{row.rule_id}]. Time left: {left} min (until {row.approval_due}); with no "
            f"answer it expires and nothing is done. Answer: {answer}"
        )
    return event, f"{event}:{row.id}", row.case_id, {**facts, "text": text}


def _case_opened(case: CaseRow, settings: Settings) -> tuple[str, str, str | None, dict[str, Any]]:
    where = settings.service.public_url
    link = f"{where.rstrip('/')}/api/cases/{case.id}" if where else f"tierzero cases show {case.id}"
    text = (
        f"New {case.priority} case {case.id}: {case.title} ({case.alert_count} alerts, "
        f"verdict {case.verdict}, status {case.status}). See {link}"
    )
    facts = {
        "case_id": case.id,
        "priority": case.priority,
        "title": case.title,
        "verdict": case.verdict,
        "status": case.status,
        "alert_count": case.alert_count,
        "text": text,
    }
    return "case_opened", f"case_opened:{case.id}:{case.priority}", case.id, facts


def _how_to_answer(row: ActionRow, public_url: str | None) -> str:
    cli = f"tierzero approvals approve {row.id} --as NAME (or deny)"
    if not public_url:
        return cli
    return f"POST {public_url.rstrip('/')}/api/approvals/{row.id}/approve (or /deny), or {cli}"


def _duration(value: timedelta) -> str:
    hours = value.total_seconds() / 3600
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"


# -- rendering and delivery ----------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack's own escaping: ``&``, ``<``, ``>`` (so no value becomes a link or a mention)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def request_of(
    item: Notification, hook: Webhook, env: Mapping[str, str], at: datetime
) -> tuple[bytes, dict[str, str]]:
    """The body and headers one delivery sends."""
    if hook.format == "slack":
        message = {
            "text": slack_escape(" ".join(str(item.message["text"]).split())),
            # Plain text, no previews: a value from an alert cannot format the message, start
            # a line of its own, or have its link unfurled.
            "mrkdwn": False,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        return json.dumps(message).encode(), {"Content-Type": "application/json"}
    document = {"event": item.event, "key": item.key, "sent_at": at.isoformat(), **item.message}
    body = json.dumps(document, sort_keys=True).encode()
    stamp = str(int(at.timestamp()))
    secret = env.get(hook.secret_env or "", "")
    if not secret:
        raise ValueError(f"the environment variable {hook.secret_env} (the HMAC key) is not set")
    return body, {
        "Content-Type": "application/json",
        # Delivery is at least once (a crash between the POST and its record resends it):
        # a receiver drops a key it has seen.
        DELIVERY_HEADER: item.key,
        EVENT_HEADER: item.event,
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: "sha256=" + signature(secret, stamp, body),
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 of ``timestamp.body`` under ``secret``, hex (what a receiver recomputes)."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def backoff(attempt: int, config: Notifications) -> timedelta:
    """Wait after the ``attempt``-th failure: doubling from ``backoff_seconds`` to the cap."""
    seconds = min(config.backoff_seconds * 2 ** (attempt - 1), config.max_backoff_seconds)
    return timedelta(seconds=seconds)


class NotifierWorker(Worker):
    """Queues new events and delivers what is due, one webhook request at a time."""

    def __init__(
        self,
        db: Path,
        settings: Callable[[], Settings],
        clock: Clock,
        started: datetime,
        env: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__("notifier", settings().service.timer_interval_seconds, db)
        self.settings = settings
        self.clock = clock
        backfill = settings().service.notifications.backfill_hours
        self.since = started - timedelta(hours=backfill)
        self.env = os.environ if env is None else env
        self.transport = transport  # tests pass a mock transport; None: the network

    def one_pass(self, store: Store) -> None:
        settings = self.settings()
        config = settings.service.notifications
        if not config.webhooks:
            return
        now = self.clock.now()
        # Approvals last minutes and a case is announced when saved: a day back is plenty.
        since = max(self.since, now - timedelta(days=1))
        store.queue_notifications(events(store, settings, since, now), now)
        hooks = {h.name: h for h in config.webhooks}
        with httpx.Client(timeout=config.timeout_seconds, transport=self.transport) as client:
            for item in store.notifications_due(self.clock.now()):
                hook = hooks.get(item.webhook)
                if hook is None:  # the webhook was removed from the config: give up on it
                    store.record_delivery(
                        item,
                        outcome="failed",
                        detail="webhook no longer configured",
                        now=self.clock.now(),
                        retry_at=None,
                    )
                    continue
                self._deliver(store, client, item, hook, config)

    def _deliver(
        self,
        store: Store,
        client: httpx.Client,
        item: Notification,
        hook: Webhook,
        config: Notifications,
    ) -> None:
        now = self.clock.now()
        started = time.perf_counter()
        try:
            body, headers = request_of(item, hook, self.env, now)
            answer = client.post(hook.url, content=body, headers=headers)
            ok = 200 <= answer.status_code < 300
            detail = f"HTTP {answer.status_code} in {time.perf_counter() - started:.2f} s"
        except (httpx.HTTPError, ValueError) as exc:
            ok, detail = False, f"{type(exc).__name__}: {str(exc)[:200]}"
        if ok:
            store.record_delivery(item, outcome="delivered", detail=detail, now=now, retry_at=None)
        elif item.attempts + 1 >= config.max_attempts:
            store.record_delivery(item, outcome="failed", detail=detail, now=now, retry_at=None)
        else:
            wait = backoff(item.attempts + 1, config)
            store.record_delivery(
                item, outcome="retry", detail=detail, now=now, retry_at=now + wait
            )
