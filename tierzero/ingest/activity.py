"""Identity activity: routine identity-provider events kept as context, not as alerts.

An identity provider's log is an event stream: most events (a sign-in, an MFA push, a sign-out)
are not alerts, but they are what an analyst reads around one: did the account sign in after
rejecting five pushes, and from where; has it used that address before. An adapter that
refuses such an event as :class:`~tierzero.ingest.base.NotAnAlert` attaches one of these; the
record itself stays in the quarantine with its reason (nothing is lost), and the store indexes
this summary by account so cases and the sign-in tools can read it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class IdentityActivity(BaseModel):
    """One routine identity-provider event of one account (attacker-controlled text: every
    field is shown to people and models as data, never as instructions)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field(description="Adapter name, e.g. 'okta'")
    event_id: str = Field(max_length=256)
    time: datetime
    event_type: str = Field(max_length=256, description="The provider's event type")
    outcome: str | None = Field(default=None, max_length=64, description="SUCCESS, FAILURE...")
    user: str = Field(min_length=1, max_length=512, description="The account the event is about")
    ip: str | None = Field(default=None, max_length=64)
    country: str | None = Field(default=None, max_length=64)
    summary: str = Field(max_length=512, description="The provider's own one-line message")
    authenticated: bool = Field(
        default=False,
        description="The account got in: a sign-in or MFA challenge passed, or a session "
        "started (a push merely sent, or a policy evaluated, is not)",
    )
