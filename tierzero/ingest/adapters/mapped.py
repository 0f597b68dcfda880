"""Generic CSV or JSON-lines alerts, described by a declarative mapping file (YAML).

A mapping names, for each alert attribute, the column (CSV) or dotted path (JSON) to read it
from. Example::

    name: ait-ads                 # the source name recorded in provenance
    vendor: AIT
    product: AIT Alert Data Set
    fields:
      time: {column: time, format: epoch}   # epoch | epoch_ms | iso8601 | a strptime format
      title: name
      detection: short
      host: host
      src_ip: ip
      severity: {value: medium}             # a constant, or {column: ..., map: {...}}

Unknown keys are refused when the file is loaded, naming the key, so a typo never silently
drops a field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tierzero.ingest.alert import (
    Alert,
    Analytic,
    Device,
    Endpoint,
    EntityKind,
    FileInfo,
    ProcessInfo,
    Severity,
    UserInfo,
)
from tierzero.ingest.base import (
    Observables,
    ParseContext,
    RecordRejected,
    build_alert,
    get,
    parse_time,
    severity_from_word,
    technique,
    text,
)


class MappingError(ValueError):
    """The mapping file itself is wrong; raised at load time, before any record is read."""


class Column(BaseModel):
    """Where one attribute comes from: a column/path, a constant, or a value map."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: str | None = None
    value: str | None = Field(default=None, description="Constant used when no column is given")
    format: str | None = Field(default=None, description="Time format, only for 'time'")
    map: dict[str, str] | None = Field(default=None, description="Source value -> tierzero value")
    split: str | None = Field(default=None, description="Separator for multi-valued columns")


def _column(value: Any) -> Any:
    return {"column": value} if isinstance(value, str) else value


class Fields(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    time: Column
    title: Column
    id: Column | None = None
    detection: Column | None = None
    description: Column | None = None
    severity: Column | None = None
    host: Column | None = None
    host_ip: Column | None = None
    user: Column | None = None
    src_ip: Column | None = None
    dst_ip: Column | None = None
    domain: Column | None = None
    url: Column | None = None
    file_name: Column | None = None
    file_hash: Column | None = None
    process: Column | None = None
    command_line: Column | None = None
    parent_process: Column | None = None
    techniques: Column | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return _column(value)


class Mapping_(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,40}$")
    vendor: str = "unknown"
    product: str = "generic"
    fields: Fields

    @field_validator("fields")
    @classmethod
    def _time_format_works(cls, fields: Fields) -> Fields:
        fmt = fields.time.format
        if fmt in (None, "iso8601", "epoch", "epoch_s", "epoch_ms"):
            return fields
        sample = datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
        try:
            datetime.strptime(sample.strftime(fmt), fmt)  # noqa: DTZ007  (format check only)
        except ValueError as exc:
            raise ValueError(f"time format {fmt!r} cannot be parsed back: {exc}") from exc
        return fields


class MappedAdapter:
    """Reads records through a mapping. Instances are per mapping file."""

    matches_nothing_automatically: ClassVar[bool] = True

    def __init__(self, spec: Mapping_) -> None:
        self.spec = spec
        self.name = spec.name
        self.vendor = spec.vendor
        self.product = spec.product

    @classmethod
    def from_file(cls, path: Path) -> MappedAdapter:
        """Load and validate a mapping file; errors name the file and the offending key."""
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise MappingError(f"{path}: cannot read mapping: {exc}") from exc
        if not isinstance(document, dict):
            raise MappingError(f"{path}: a mapping file must be a YAML mapping")
        try:
            return cls(Mapping_.model_validate(document))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise MappingError(f"{path}: '{where}': {first['msg']}") from exc

    def matches(self, record: Mapping[str, Any]) -> bool:
        return False  # never auto-detected: a mapping is always chosen explicitly

    def _read(self, record: Mapping[str, Any], key: str) -> str | None:
        column: Column | None = getattr(self.spec.fields, key)
        if column is None:
            return None
        raw = get(record, column.column) if column.column else column.value
        if raw is None and column.column and column.column in record:
            raw = record[column.column]
        value = text(raw, column.column or key)
        if value is not None and column.map is not None:
            value = column.map.get(value, column.map.get("*", value))
        return value

    def _many(self, record: Mapping[str, Any], key: str) -> list[str]:
        value = self._read(record, key)
        column: Column | None = getattr(self.spec.fields, key)
        if not value or column is None:
            return []
        parts = value.split(column.split) if column.split else re.split(r"[,;\s]+", value)
        return [p.strip() for p in parts if p.strip()]

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        fields = self.spec.fields
        time_column = fields.time.column or "time"
        time_value = get(record, time_column)
        time = parse_time(time_value, time_column, fields.time.format)
        title = self._read(record, "title")
        if not title:
            raise RecordRejected(f"missing required field '{fields.title.column}'")
        source_id = self._read(record, "id") or _row_digest(context)
        detection = self._read(record, "detection")
        severity_word = self._read(record, "severity")
        severity = severity_from_word(severity_word) if severity_word else Severity.UNKNOWN

        obs = Observables()
        host, host_ip, user = (self._read(record, k) for k in ("host", "host_ip", "user"))
        src_ip, dst_ip = self._read(record, "src_ip"), self._read(record, "dst_ip")
        obs.add(EntityKind.HOST, host, "device.hostname")
        obs.add(EntityKind.IP, host_ip, "device.ip")
        obs.add(EntityKind.USER, user, "actor.user.name")
        obs.add(EntityKind.IP, src_ip, "src_endpoint.ip")
        obs.add(EntityKind.IP, dst_ip, "dst_endpoint.ip")
        domain, file_name = self._read(record, "domain"), self._read(record, "file_name")
        obs.add(EntityKind.DOMAIN, domain, "dst_endpoint.domain")
        obs.add(EntityKind.URL, self._read(record, "url"), "url.url_string")
        obs.add(EntityKind.FILE, file_name, "file.name")
        file_hash = self._read(record, "file_hash")
        obs.add(EntityKind.HASH, file_hash, "file.hashes.value")
        process, cmd = self._read(record, "process"), self._read(record, "command_line")
        parent = self._read(record, "parent_process")
        obs.add(EntityKind.PROCESS, process, "process.name")
        obs.add(EntityKind.COMMAND_LINE, cmd, "process.cmd_line")
        obs.add(EntityKind.PROCESS, parent, "process.parent_process.name")
        attacks = tuple(a for t in self._many(record, "techniques") if (a := technique(t)))
        return build_alert(
            self,
            context,
            source_alert_id=source_id,
            title=title,
            time=time,
            severity=severity,
            observables=obs,
            original_time=time_value,
            device=Device(hostname=host, ip=host_ip) if host or host_ip else None,
            actor=UserInfo(name=user) if user else None,
            src_endpoint=Endpoint(ip=src_ip) if src_ip else None,
            dst_endpoint=Endpoint(ip=dst_ip, domain=domain) if dst_ip or domain else None,
            file=FileInfo(name=file_name, sha256=file_hash) if file_name or file_hash else None,
            process=ProcessInfo(
                name=process,
                cmd_line=cmd,
                parent_process=ProcessInfo(name=parent) if parent else None,
            )
            if process or cmd
            else None,
            finding_desc=self._read(record, "description"),
            finding_analytic=Analytic(uid=detection, name=detection or title),
            finding_attacks=attacks,
        )


def _row_digest(context: ParseContext) -> str:
    """Id for sources without one: file name, position and content, stable across re-runs."""
    seed = f"{Path(context.source_file).name}\x00{context.record_no}\x00{context.raw}"
    return "row-" + hashlib.sha256(seed.encode()).hexdigest()[:20]
