"""``config/service.yaml`` (optional): how ``tierzero serve`` takes alerts and keeps time."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

NotificationEvent = Literal[
    "approval_requested", "approval_reminder", "approval_expired", "case_opened"
]
NOTIFICATION_EVENTS: tuple[NotificationEvent, ...] = NotificationEvent.__args__  # type: ignore[attr-defined]


class RateLimit(BaseModel):
    """Per token: a bucket of ``burst`` requests refilled at ``per_minute``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_minute: float = Field(default=600, gt=0, le=1_000_000)
    burst: int = Field(default=60, ge=1, le=100_000)


class Webhook(BaseModel):
    """One outbound webhook: where, in which body format, for which events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    url: str = Field(max_length=2000, description="http(s) URL the notification is POSTed to")
    format: Literal["slack", "json"] = Field(
        default="json",
        description="slack: a Slack-compatible message ({'text': ...}); json: the event as "
        "JSON, signed with HMAC-SHA256 over the timestamp and body",
    )
    secret_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="Environment variable holding the HMAC key (required for json)",
    )
    events: tuple[NotificationEvent, ...] = NOTIFICATION_EVENTS

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not url.startswith(("https://", "http://")):
            raise ValueError("a webhook url starts with https:// (or http://)")
        return url


class Notifications(BaseModel):
    """Outbound webhooks and how deliveries are retried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    webhooks: tuple[Webhook, ...] = ()
    max_attempts: int = Field(default=8, ge=1, le=100)
    backoff_seconds: float = Field(default=5.0, gt=0, le=3600)
    max_backoff_seconds: float = Field(default=900.0, gt=0, le=86400)
    timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # How far back events count when a webhook first runs (older ones are not announced).
    backfill_hours: float = Field(default=1.0, ge=0, le=720)

    @field_validator("webhooks")
    @classmethod
    def _signed(cls, hooks: tuple[Webhook, ...]) -> tuple[Webhook, ...]:
        for hook in hooks:
            if hook.format == "json" and not hook.secret_env:
                raise ValueError(f"webhook {hook.name}: a json webhook needs secret_env")
        if len({h.name for h in hooks}) != len(hooks):
            raise ValueError("webhook names must be unique")
        return hooks


class ServiceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    max_body_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest request body the intake reads; larger ones get 413",
    )
    max_records: int = Field(
        default=5000,
        ge=1,
        le=1_000_000,
        description="Most records in one pushed request; more get 413 with the limit",
    )
    rate_limit: RateLimit = RateLimit()
    triage_interval_seconds: float = Field(
        default=1.0,
        gt=0,
        le=3600,
        description="How often correlation and analysis look for new work when idle",
    )
    analysis_workers: int = Field(
        default=2,
        ge=1,
        le=32,
        description="Cases analysed at once (each waits on its own model calls)",
    )
    timer_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="How often approval reminders, expiries and lease ends are checked",
    )
    max_concurrent_chats: int = Field(
        default=8, ge=1, le=1000, description="Chats answering at once; more get 429"
    )
    public_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Where people reach this service (named in notifications' 'how to answer')",
    )
    notifications: Notifications = Notifications()
