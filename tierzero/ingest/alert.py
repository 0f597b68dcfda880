"""The normalized alert: an OCSF Detection Finding (class_uid 2004) plus tierzero provenance.

Every adapter produces this shape; everything downstream (correlation, enrichment, triage,
agents) reads only this shape. All text in it is attacker-controlled unless stated otherwise.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

OCSF_VERSION = "1.3.0"
DETECTION_FINDING_CLASS_UID = 2004
FINDINGS_CATEGORY_UID = 2


class Severity(IntEnum):
    """OCSF ``severity_id``."""

    UNKNOWN = 0
    INFORMATIONAL = 1
    LOW = 2
    MEDIUM = 3
    HIGH = 4
    CRITICAL = 5
    FATAL = 6
    OTHER = 99


class EntityKind(StrEnum):
    """Kinds of observable that tierzero correlates, enriches and (later) acts on."""

    HOST = "host"
    USER = "user"
    IP = "ip"
    DOMAIN = "domain"
    URL = "url"
    HASH = "hash"
    PROCESS = "process"
    COMMAND_LINE = "command_line"
    FILE = "file"
    EMAIL = "email"
    EMAIL_SUBJECT = "email_subject"
    CLOUD_RESOURCE = "cloud_resource"
    USER_AGENT = "user_agent"
    COUNTRY = "country"


# OCSF observable.type_id for each kind (schema 1.x enum).
OCSF_OBSERVABLE_TYPE_ID: dict[EntityKind, int] = {
    EntityKind.HOST: 1,
    EntityKind.IP: 2,
    EntityKind.USER: 4,
    EntityKind.EMAIL: 5,
    EntityKind.URL: 6,
    EntityKind.FILE: 7,
    EntityKind.HASH: 8,
    EntityKind.PROCESS: 9,
    EntityKind.CLOUD_RESOURCE: 10,
    EntityKind.COMMAND_LINE: 13,
    EntityKind.COUNTRY: 14,
    EntityKind.USER_AGENT: 16,
    EntityKind.EMAIL_SUBJECT: 40,
    EntityKind.DOMAIN: 99,
}

# Kinds whose values are free text an attacker writes. They are evidence, never join keys and
# never action targets.
FREE_TEXT_KINDS: frozenset[EntityKind] = frozenset(
    {EntityKind.COMMAND_LINE, EntityKind.EMAIL_SUBJECT, EntityKind.USER_AGENT, EntityKind.URL}
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Observable(_Frozen):
    """One entity seen in the alert. ``name`` is the OCSF attribute path it came from."""

    kind: EntityKind
    value: str = Field(min_length=1, max_length=8192)
    name: str = Field(description="OCSF path of the field, e.g. device.hostname")

    @property
    def type_id(self) -> int:
        return OCSF_OBSERVABLE_TYPE_ID[self.kind]


class Attack(_Frozen):
    """One ATT&CK mapping (OCSF ``attack``)."""

    technique_uid: str | None = None
    technique_name: str | None = None
    tactic_uid: str | None = None
    tactic_name: str | None = None


class Analytic(_Frozen):
    """The detection that fired (OCSF ``analytic``): its id is what precision is measured on."""

    uid: str | None = None
    name: str | None = None


class FindingInfo(_Frozen):
    uid: str = Field(description="The source's own alert id, as the source wrote it")
    title: str
    desc: str | None = None
    types: tuple[str, ...] = ()
    analytic: Analytic = Analytic()
    attacks: tuple[Attack, ...] = ()
    first_seen_time: datetime | None = None
    last_seen_time: datetime | None = None
    src_url: str | None = None


class Product(_Frozen):
    name: str
    vendor_name: str


class Metadata(_Frozen):
    product: Product
    version: str = OCSF_VERSION
    original_time: str | None = Field(
        default=None, description="The time text as the source wrote it"
    )


class FileInfo(_Frozen):
    """OCSF ``file``: ``path`` is the full path (folder and name), ``parent_folder`` the folder.
    Build it with ``ingest.base.file_info``, which composes them the same way for every source."""

    name: str | None = None
    path: str | None = None
    parent_folder: str | None = None
    sha256: str | None = None
    sha1: str | None = None
    md5: str | None = None


class ProcessInfo(_Frozen):
    name: str | None = None
    pid: int | None = None
    cmd_line: str | None = None
    file: FileInfo | None = None
    user: str | None = None
    parent_process: ProcessInfo | None = None


class Device(_Frozen):
    hostname: str | None = None
    ip: str | None = None
    uid: str | None = None
    os: str | None = None


class UserInfo(_Frozen):
    name: str | None = None
    uid: str | None = None
    email: str | None = None
    domain: str | None = None


class Endpoint(_Frozen):
    ip: str | None = None
    port: int | None = None
    hostname: str | None = None
    domain: str | None = None
    country: str | None = None


class CloudInfo(_Frozen):
    provider: str
    account_uid: str | None = None
    region: str | None = None


class Provenance(_Frozen):
    """Where the record came from. Set by the reader, never by a source field."""

    source: str = Field(description="Adapter name, e.g. 'sentinel'")
    source_file: str
    record_no: int = Field(ge=1, description="1-based line (JSON lines/CSV) or array index")
    ingested_at: datetime


class Alert(_Frozen):
    """An OCSF Detection Finding with provenance. Frozen: alerts are facts, not state."""

    id: str = Field(description="tierzero's stable id: a digest of source and source alert id")
    class_uid: int = DETECTION_FINDING_CLASS_UID
    category_uid: int = FINDINGS_CATEGORY_UID
    activity_id: int = 1
    time: datetime
    severity_id: Severity
    message: str | None = None
    finding_info: FindingInfo
    metadata: Metadata
    device: Device | None = None
    actor: UserInfo | None = None
    process: ProcessInfo | None = None
    file: FileInfo | None = None
    src_endpoint: Endpoint | None = None
    dst_endpoint: Endpoint | None = None
    cloud: CloudInfo | None = None
    observables: tuple[Observable, ...] = ()
    raw_data: str = Field(description="The source record verbatim")
    provenance: Provenance
    flags: tuple[str, ...] = Field(default=(), description="Data-quality flags, e.g. clock_skew")

    @field_validator("time")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("alert time must be timezone-aware")
        return value.astimezone(UTC)

    @property
    def type_uid(self) -> int:
        return self.class_uid * 100 + self.activity_id

    @property
    def source_alert_id(self) -> str:
        return self.finding_info.uid

    @property
    def title(self) -> str:
        return self.finding_info.title

    @property
    def detection_id(self) -> str:
        """The detection (rule/analytic) that fired, keyed by product so ids never collide."""
        analytic = self.finding_info.analytic
        key = analytic.uid or analytic.name or self.finding_info.title
        return f"{self.provenance.source}:{key}"

    @property
    def techniques(self) -> tuple[str, ...]:
        return tuple(
            sorted({a.technique_uid for a in self.finding_info.attacks if a.technique_uid})
        )

    @property
    def tactics(self) -> tuple[str, ...]:
        return tuple(sorted({a.tactic_name for a in self.finding_info.attacks if a.tactic_name}))

    def values(self, kind: EntityKind) -> tuple[str, ...]:
        """Distinct observable values of one kind, in first-seen order."""
        return tuple(dict.fromkeys(o.value for o in self.observables if o.kind is kind))

    def to_ocsf(self) -> dict[str, Any]:
        """Export as an OCSF Detection Finding document shaped by the OCSF schema.

        Process, file and network details go into ``evidences[]`` (they are not attributes of
        the class itself); times are epoch milliseconds with ``*_dt`` twins.
        """
        info = self.finding_info
        finding: dict[str, Any] = {
            "uid": info.uid,
            "title": info.title,
            # OCSF's analytic needs a name or uid: with neither, it is left out.
            "analytic": _prune(
                {"uid": info.analytic.uid, "name": info.analytic.name, "type_id": 1, "type": "Rule"}
            )
            if info.analytic.uid or info.analytic.name
            else None,
            "attacks": [_ocsf_attack(a) for a in info.attacks],
            "types": list(info.types) or None,
            "desc": info.desc,
            "src_url": info.src_url,
        }
        for key in ("first_seen_time", "last_seen_time"):
            stamp = getattr(info, key)
            if stamp is not None:
                finding[key] = _epoch_ms(stamp)
        evidence = _prune(
            {
                "process": _ocsf_process(self.process),
                "file": _ocsf_file(self.file),
                "src_endpoint": _ocsf_endpoint(self.src_endpoint),
                "dst_endpoint": _ocsf_endpoint(self.dst_endpoint),
            }
        )
        body: dict[str, Any] = {
            "class_uid": self.class_uid,
            "class_name": "Detection Finding",
            "category_uid": self.category_uid,
            "category_name": "Findings",
            "activity_id": self.activity_id,
            "activity_name": _ACTIVITY_NAMES.get(self.activity_id, "Other"),
            "type_uid": self.type_uid,
            "time": _epoch_ms(self.time),
            "time_dt": self.time.isoformat(),
            "severity_id": int(self.severity_id),
            "severity": self.severity_id.name.title(),
            "message": self.message,
            "finding_info": _prune(finding),
            "metadata": _prune(
                {
                    "version": self.metadata.version,
                    "product": {
                        "name": self.metadata.product.name,
                        "vendor_name": self.metadata.product.vendor_name,
                    },
                    "uid": self.id,
                    "logged_time": _epoch_ms(self.provenance.ingested_at),
                    "original_time": self.metadata.original_time,
                }
            ),
            "device": _ocsf_device(self.device),
            "actor": {"user": _ocsf_user(self.actor)} if self.actor else None,
            "cloud": _prune(
                {
                    "provider": self.cloud.provider,
                    "region": self.cloud.region,
                    "account": {"uid": self.cloud.account_uid} if self.cloud.account_uid else None,
                }
            )
            if self.cloud
            else None,
            "evidences": [evidence] if evidence else None,
            "observables": [
                {"name": o.name, "type_id": o.type_id, "value": o.value} for o in self.observables
            ],
            "raw_data": self.raw_data,
            "unmapped": {
                "tierzero": _prune(
                    {
                        "source": self.provenance.source,
                        "flags": list(self.flags),
                        "process_ancestors": _unexported_ancestors(self.process) or None,
                    }
                )
            },
        }
        return _prune(body)


_ACTIVITY_NAMES = {0: "Unknown", 1: "Create", 2: "Update", 3: "Close", 99: "Other"}


def _prune(value: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None (OCSF omits unknown attributes)."""
    return {k: v for k, v in value.items() if v is not None}


def _epoch_ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _ocsf_attack(attack: Attack) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if attack.technique_uid:
        out["technique"] = _prune({"uid": attack.technique_uid, "name": attack.technique_name})
    if attack.tactic_uid or attack.tactic_name:
        out["tactic"] = _prune({"uid": attack.tactic_uid, "name": attack.tactic_name})
    return out


def _ocsf_user(user: UserInfo | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return _prune(
        {"name": user.name, "uid": user.uid, "email_addr": user.email, "domain": user.domain}
    )


def _ocsf_file(file: FileInfo | None) -> dict[str, Any] | None:
    if file is None:
        return None
    hashes = [
        {"algorithm_id": algorithm_id, "algorithm": name, "value": value}
        for algorithm_id, name, value in (
            (3, "SHA-256", file.sha256),
            (2, "SHA-1", file.sha1),
            (1, "MD5", file.md5),
        )
        if value
    ]
    name = file.name or (file.path.replace("\\", "/").rsplit("/", 1)[-1] if file.path else None)
    return _prune(
        {
            "name": name or "unknown",
            "path": file.path,
            "parent_folder": file.parent_folder,
            "type_id": 1,
            "type": "Regular File",
            "hashes": hashes or None,
        }
    )


def _ocsf_process(process: ProcessInfo | None, depth: int = 0) -> dict[str, Any] | None:
    """OCSF process; ancestors without a pid (OCSF needs pid or uid) are left to ``unmapped``."""
    if process is None or (depth and process.pid is None):
        return None
    return _prune(
        {
            "name": process.name,
            "pid": process.pid,
            "cmd_line": process.cmd_line,
            "file": _ocsf_file(process.file),
            "user": {"name": process.user} if process.user else None,
            "parent_process": _ocsf_process(process.parent_process, depth + 1),
        }
    )


def _unexported_ancestors(process: ProcessInfo | None) -> list[str]:
    names: list[str] = []
    depth = 0
    while process is not None:
        if depth and process.pid is None:
            names.append(process.name or process.cmd_line or "unknown")
        process, depth = process.parent_process, depth + 1
    return names


def _ocsf_endpoint(endpoint: Endpoint | None) -> dict[str, Any] | None:
    if endpoint is None:
        return None
    # OCSF endpoints need a name or uid: the best name we have is host, domain, then address.
    # A port alone (its address unknown, or 0.0.0.0) names no endpoint: raw_data keeps it.
    name = endpoint.hostname or endpoint.domain or endpoint.ip
    if name is None:
        return None
    out = _prune(
        {
            "name": name,
            "ip": endpoint.ip,
            "port": endpoint.port,
            "hostname": endpoint.hostname,
            "domain": endpoint.domain,
            "location": {"country": endpoint.country} if endpoint.country else None,
        }
    )
    return out or None


def _ocsf_device(device: Device | None) -> dict[str, Any] | None:
    if device is None:
        return None
    return _prune(
        {
            "hostname": device.hostname,
            "name": device.hostname,
            "ip": device.ip,
            "uid": device.uid,
            "type_id": 0,
            "type": "Unknown",
            "os": {"name": device.os, "type_id": 0} if device.os else None,
        }
    )


def alert_id(source: str, source_alert_id: str, product: str | None = None) -> str:
    """Stable tierzero id: re-ingesting the same record yields the same id."""
    seed = f"{source}\x00{source_alert_id}" + (f"\x00{product}" if product else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"A-{digest[:16]}"
