"""The argument types of the investigation tools: validated before any tool runs.

Their JSON schemas are what a model sees, so their constraints and descriptions are part of the
tools' contract.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, ValidationInfo

from tierzero.correlate.entities import entity_key, normalize_key
from tierzero.ingest.alert import EntityKind
from tierzero.tools.attack import TECHNIQUE_ID

MAX_WINDOW = timedelta(days=30)

_NO_CONTROL = r"^[^\x00-\x1f\x7f]+$"


def _join_key(value: str) -> str:
    if normalize_key(value) is None:
        raise ValueError(
            "not an entity key: use kind:value with kind host, user, email, ip, hash, domain or"
            " cloud and a real value (placeholders such as 'unknown' or 'system' are not keys)"
        )
    return value


def _host(value: str) -> str:
    if entity_key(EntityKind.HOST, value) is None:
        raise ValueError("not a usable host name or IP address")
    return value.strip()


def _account(value: str) -> str:
    if entity_key(EntityKind.USER, value) is None:
        raise ValueError("not a usable account name")
    return value.strip()


def _after_since(value: datetime, info: ValidationInfo) -> datetime:
    since = info.data.get("since")
    if isinstance(since, datetime):
        if value <= since:
            raise ValueError("until must be after since")
        if value - since > MAX_WINDOW:
            raise ValueError(f"the range may span at most {MAX_WINDOW.days} days")
    return value


EntityKey = Annotated[
    str,
    Field(
        min_length=3,
        max_length=300,
        pattern=r"^(host|user|email|ip|hash|domain|cloud):[^\x00-\x1f\x7f]+$",
        description="Entity join key 'kind:value', e.g. 'host:lt-fin-042', 'user:alice.martin',"
        " 'ip:198.51.100.23', 'hash:<sha256>', 'domain:example.org' (as case_alerts lists them)",
    ),
    AfterValidator(_join_key),
]
Since = Annotated[AwareDatetime, Field(description="Range start, ISO 8601 with time zone")]
Until = Annotated[
    AwareDatetime,
    Field(description="Range end, ISO 8601 with time zone; after since, at most 30 days later"),
    AfterValidator(_after_since),
]
AlertId = Annotated[
    str,
    Field(pattern=r"^A-[0-9a-f]{16}$", description="A tierzero alert id, e.g. A-0123456789abcdef"),
]
HostArg = Annotated[
    str,
    Field(min_length=1, max_length=255, pattern=_NO_CONTROL, description="Host name or IP"),
    AfterValidator(_host),
]
UserArg = Annotated[
    str,
    Field(
        min_length=1,
        max_length=320,
        pattern=_NO_CONTROL,
        description="Account: name, DOMAIN\\name or UPN/e-mail",
    ),
    AfterValidator(_account),
]
TechniqueId = Annotated[
    str,
    Field(
        pattern=TECHNIQUE_ID.pattern,
        description="ATT&CK technique id, e.g. T1059 or T1059.001",
    ),
]
