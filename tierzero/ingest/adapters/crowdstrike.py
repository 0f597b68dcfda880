"""CrowdStrike Falcon detection events from the Event Streams API / Falcon SIEM Connector.

Schema: CrowdStrike "Streaming API Event Dictionary" (Falcon docs), as mirrored by Elastic's
``crowdstrike`` integration (fields.yml and pipeline test events for ``DetectionSummaryEvent``
and ``EppDetectionSummaryEvent``). Every event is ``{"metadata": {customerIDString, offset,
eventType, eventCreationTime (epoch ms), version}, "event": {...}}``.

- ``DetectionSummaryEvent`` (legacy): DetectId, ComputerName, SensorId, DetectName,
  DetectDescription, Severity 1-5, GrandparentImageFileName; ParentImageFileName is a path.
- ``EppDetectionSummaryEvent`` (also seen as ``EPPDetectionSummaryEvent``): CompositeId,
  Hostname, AgentId, Name, Description, Severity 1-100, LogonDomain, GrandParentImageFileName.

Both carry SeverityName, Tactic/Technique (Falcon's own names, ATT&CK names for IOA
detections), optional TacticId/TechniqueId and MitreAttack[{Tactic, TacticID, Technique,
TechniqueID}], file hashes, command lines and NetworkAccesses. Other event types (audit, auth,
incidents, firewall) are not detections and are rejected.

What a detection is about:

- EPP ``Type`` says which kind of endpoint detection it is (fields.yml: "ldt" Legacy Endpoint
  Detection, "ofp" Office Prevention Macro Detection; "ods" is an on-demand scan, as in the
  integration's fixture). An on-demand scan found a *file* on disk: nothing ran, so the alert
  carries ``file`` (full path, hashes) and no ``process`` a response could try to kill. A
  detection with no process evidence at all (no process id, command line or parent) is read
  the same way.
- Custom IOA detections (Tactic "Custom Intelligence") name the customer's rule in
  ``IOARuleName`` and ``IOARuleInstanceID`` (with ``IOARuleGroupName``): they become the
  analytic, so precision is measured per rule rather than for Falcon's one custom-IOA pattern.
- Paths: EPP ``FilePath`` is the full path; legacy ``FilePath`` is the folder with the name in
  ``FileName``. ``ingest.base.file_info`` gives OCSF ``path`` (full) and ``parent_folder``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import ValidationError

from tierzero.ingest.alert import (
    Alert,
    Analytic,
    Attack,
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
    basename,
    build_alert,
    file_info,
    is_ip,
    read_time,
    severity_from_number,
    severity_from_word,
    technique,
    text,
)

_DETECTION_TYPES = {"detectionsummaryevent", "eppdetectionsummaryevent"}
# Legacy Severity is 1-5; EPP Severity is 1-100 (30 = Low, 70 = High in Falcon's own events).
_LEGACY_SCALE = (
    (5, Severity.CRITICAL),
    (4, Severity.HIGH),
    (3, Severity.MEDIUM),
    (2, Severity.LOW),
    (1, Severity.INFORMATIONAL),
)
_EPP_SCALE = (
    (80, Severity.CRITICAL),
    (60, Severity.HIGH),
    (40, Severity.MEDIUM),
    (20, Severity.LOW),
    (1, Severity.INFORMATIONAL),
)
_HASH_LENGTHS = {"SHA256String": 64, "SHA1String": 40, "MD5String": 32}
_HEX = re.compile(r"^[0-9a-fA-F]+$")
_TACTIC_ID = re.compile(r"^TA\d{4}$")
_MAX_NETWORK_ACCESSES = 32
_PLACEHOLDERS = frozenset({"n/a", "-", "none", "null", "unknown"})
# EPP Type values for a detection on a file at rest (an on-demand or scheduled scan).
_FILE_SCAN_TYPES = frozenset({"ods"})
_SCAN_ID_KEYS = frozenset({"scanid", "hostscanid"})
# Any of these says a process ran (absent all of them and process ids, a file was scanned).
_PROCESS_EVIDENCE = (
    "CommandLine",
    "ParentCommandLine",
    "ParentImageFileName",
    "ParentImageFilePath",
    "GrandparentCommandLine",
    "GrandParentCommandLine",
)
# IOCType -> (kind, OCSF path of the observable).
_IOC_KINDS: dict[str, tuple[EntityKind, str]] = {
    "hash_sha256": (EntityKind.HASH, "file.hashes.value"),
    "hash_sha1": (EntityKind.HASH, "file.hashes.value"),
    "hash_md5": (EntityKind.HASH, "file.hashes.value"),
    "domain": (EntityKind.DOMAIN, "dst_endpoint.domain"),
    "ipv4": (EntityKind.IP, "dst_endpoint.ip"),
    "ipv6": (EntityKind.IP, "dst_endpoint.ip"),
    "filename": (EntityKind.FILE, "file.name"),
}


class CrowdStrikeAdapter:
    """Falcon ``DetectionSummaryEvent`` and ``EppDetectionSummaryEvent`` records."""

    name: ClassVar[str] = "crowdstrike"
    vendor: ClassVar[str] = "CrowdStrike"
    product: ClassVar[str] = "Falcon"

    def matches(self, record: Mapping[str, Any]) -> bool:
        # Claims every Falcon stream event so parse() can say why a non-detection is refused.
        metadata = record.get("metadata")
        return (
            isinstance(metadata, Mapping)
            and "eventType" in metadata
            and "customerIDString" in metadata
            and "event" in record
        )

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        try:
            return self._parse(record, context)
        except ValidationError as exc:  # e.g. a lone surrogate in a text field
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or exc.title
            raise RecordRejected(f"invalid value for '{where}': {first['msg']}") from exc
        except UnicodeEncodeError as exc:  # the alert id digest cannot hash a lone surrogate
            raise RecordRejected("a text field is not valid Unicode (lone surrogate)") from exc

    def _parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        metadata, event = record.get("metadata"), record.get("event")
        if not isinstance(metadata, Mapping):
            raise RecordRejected("field 'metadata' should be an object")
        event_type = text(metadata.get("eventType"), "metadata.eventType")
        if not event_type:
            raise RecordRejected("missing required field 'metadata.eventType'")
        if event_type.lower() not in _DETECTION_TYPES:
            raise RecordRejected(
                f"CrowdStrike eventType {event_type[:60]!r} is not a detection "
                "(only DetectionSummaryEvent and EppDetectionSummaryEvent are alerts)"
            )
        if not isinstance(event, Mapping):
            raise RecordRejected("field 'event' should be an object")
        epp = event_type.lower().startswith("epp")

        def field(*names: str) -> str | None:
            return _field(event, *names)

        uid = field("CompositeId", "DetectId") if epp else field("DetectId", "CompositeId")
        if not uid:
            raise RecordRejected("missing required field 'event.DetectId' (or 'event.CompositeId')")
        stamp = metadata.get("eventCreationTime")
        if stamp is None or stamp == "":
            raise RecordRejected("missing required field 'metadata.eventCreationTime'")
        if isinstance(stamp, bool) or not isinstance(stamp, int | float | str):
            raise RecordRejected(
                f"field 'metadata.eventCreationTime' should be epoch milliseconds, "
                f"got {type(stamp).__name__}"
            )
        when = read_time(stamp, "metadata.eventCreationTime", unit="ms")

        detect_name = field("DetectName", "Name")
        tactic, tech = field("Tactic"), field("Technique")
        if not detect_name and not (tactic and tech):
            raise RecordRejected("missing required field 'event.DetectName' (or 'event.Name')")
        rule = _custom_ioa_rule(event)
        via = f"{tactic} via {tech}" if tactic and tech else None
        what = rule.name if rule and rule.name else via
        title = f"{detect_name}: {what}" if detect_name and what else detect_name or what

        hostname = _meaningful(field("ComputerName", "Hostname"))
        local_ip = _host_ip(field("LocalIP"))
        user = _meaningful(field("UserName"))
        image = _image(event)
        process = None if _is_file_scan(event) else _process_tree(event, image, user)
        obs = _observables(hostname, local_ip, user, process, image)
        obs.add(EntityKind.IP, _host_ip(field("LocalIPv6")), "device.ip")
        _add_ioc(obs, field("IOCType"), field("IOCValue"))
        src, dst = _network(event.get("NetworkAccesses"), obs)

        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=title,
            time=when.at,
            flags=when.flags,
            severity=_severity(event, epp),
            observables=obs,
            original_time=stamp,
            message=field("PatternDispositionDescription"),
            device=Device(
                hostname=hostname,
                ip=local_ip,
                uid=field("SensorId", "AgentId", "AgentIdString"),
                os=field("PlatformName"),
            ),
            actor=UserInfo(name=user, domain=field("MachineDomain", "LogonDomain"))
            if user
            else None,
            process=process,
            file=image,
            src_endpoint=src,
            dst_endpoint=dst,
            finding_desc=field("DetectDescription", "Description"),
            finding_types=(tactic,) if tactic else (),
            finding_src_url=field("FalconHostLink"),
            finding_analytic=rule
            or Analytic(
                uid=field("PatternId") or (f"{tactic}/{tech}" if tactic and tech else None),
                name=detect_name or via,
            ),
            finding_attacks=_attacks(event, tactic, tech),
        )


def _field(event: Mapping[str, Any], *names: str) -> str | None:
    """The first non-empty of ``names`` (legacy and EPP spellings of one field)."""
    for key in names:
        value = text(event.get(key), f"event.{key}")
        if value:
            return value
    return None


def _meaningful(value: str | None) -> str | None:
    """None for Falcon's placeholders ("N/A", "-"), which name no host or account."""
    return None if value is None or value.casefold() in _PLACEHOLDERS else value


def _host_ip(value: str | None) -> str | None:
    """A host address that identifies the host: not unspecified, loopback or link-local."""
    if not value or not is_ip(value):
        return None
    address = ipaddress.ip_address(value)
    if address.is_unspecified or address.is_loopback or address.is_link_local:
        return None
    return value


def _custom_ioa_rule(event: Mapping[str, Any]) -> Analytic | None:
    """The customer's own IOA rule, when a custom IOA fired (else Falcon's pattern is used)."""
    name = _field(event, "IOARuleName")
    rule_id = _field(event, "IOARuleInstanceID", "IOARuleInstanceId")
    if not (name or rule_id):
        return None
    # Prefixed so a rule instance id never collides with a Falcon PatternId of the same digits.
    return Analytic(uid=f"custom-ioa:{rule_id}" if rule_id else None, name=name)


def _is_file_scan(event: Mapping[str, Any]) -> bool:
    """True when the detection is about a file at rest, not a running process.

    EPP ``Type`` "ods" is an on-demand scan; a scan id (the ODS API's ``scan_id`` and
    ``host_scan_id``, in any spelling) or an ``ods*`` field says the same; and a detection with
    no process id, command line or parent has no process to act on.
    """
    kind = text(event.get("Type"), "event.Type")
    if kind and kind.lower() in _FILE_SCAN_TYPES:
        return True
    for key in event:
        slug = str(key).lower().replace("_", "")
        if slug in _SCAN_ID_KEYS or slug.startswith("ods"):
            return True
    return not any(_pid(event.get(key)) for key in ("ProcessId", "ParentProcessId")) and not (
        _field(event, *_PROCESS_EVIDENCE)
    )


def _image(event: Mapping[str, Any]) -> FileInfo | None:
    """The detected file: the process image, or the scanned file of an on-demand scan."""
    hashes = {key: _hash(event.get(key), key, size) for key, size in _HASH_LENGTHS.items()}
    return file_info(
        name=_field(event, "FileName"),
        path=_field(event, "FilePath"),
        sha256=hashes["SHA256String"],
        sha1=hashes["SHA1String"],
        md5=hashes["MD5String"],
    )


def _process_tree(
    event: Mapping[str, Any], image: FileInfo | None, user: str | None
) -> ProcessInfo | None:
    """The detected process with parent and grandparent."""
    grand_image = _field(
        event,
        "GrandparentImageFilePath",
        "GrandParentImageFilePath",
        "GrandparentImageFileName",
        "GrandParentImageFileName",
    )
    grandparent = _process(
        basename(grand_image),
        None,
        _field(event, "GrandparentCommandLine", "GrandParentCommandLine"),
        _image_at(grand_image),
        None,
    )
    parent_image = _field(event, "ParentImageFilePath", "ParentImageFileName")
    parent = _process(
        basename(_field(event, "ParentImageFileName") or parent_image),
        _pid(event.get("ParentProcessId")),
        _field(event, "ParentCommandLine"),
        _image_at(parent_image),
        grandparent,
    )
    return _process(
        image.name if image else None,
        _pid(event.get("ProcessId")),
        _field(event, "CommandLine"),
        image,
        parent,
        user=user,
    )


def _image_at(value: str | None) -> FileInfo | None:
    """A parent's image: a path (EPP ``*FilePath``, legacy ``*FileName``) or a bare name."""
    if value and not re.search(r"[\\/]", value):
        return file_info(name=value)
    return file_info(path=value)


def _observables(
    hostname: str | None,
    local_ip: str | None,
    user: str | None,
    process: ProcessInfo | None,
    image: FileInfo | None,
) -> Observables:
    obs = Observables()
    obs.add(EntityKind.HOST, hostname, "device.hostname")
    obs.add(EntityKind.IP, local_ip, "device.ip")
    obs.add(EntityKind.USER, user, "actor.user.name")
    if image:
        obs.add(EntityKind.FILE, image.name, "file.name")
        for value in (image.sha256, image.sha1, image.md5):
            obs.add(EntityKind.HASH, value, "file.hashes.value")
    if process is None:
        return obs
    obs.add(EntityKind.PROCESS, process.name, "process.name")
    obs.add(EntityKind.COMMAND_LINE, process.cmd_line, "process.cmd_line")
    parent = process.parent_process
    if parent:
        obs.add(EntityKind.PROCESS, parent.name, "process.parent_process.name")
        obs.add(EntityKind.COMMAND_LINE, parent.cmd_line, "process.parent_process.cmd_line")
        if parent.parent_process:
            obs.add(
                EntityKind.PROCESS,
                parent.parent_process.name,
                "process.parent_process.parent_process.name",
            )
    return obs


def _severity(event: Mapping[str, Any], epp: bool) -> Severity:
    word = severity_from_word(event.get("SeverityName"))
    if word is not Severity.UNKNOWN:
        return word
    number = event.get("Severity")
    if number is None or isinstance(number, bool) or not isinstance(number, int | float | str):
        return Severity.UNKNOWN
    return severity_from_number(number, _EPP_SCALE if epp else _LEGACY_SCALE)


def _hash(value: Any, key: str, size: int) -> str | None:
    """A hash as Falcon wrote it, or None when absent, malformed or Falcon's all-zero filler."""
    digest = text(value, f"event.{key}")
    if not digest or len(digest) != size or not _HEX.match(digest) or not digest.strip("0"):
        return None
    return digest.lower()


def _pid(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _process(
    name: str | None,
    pid: int | None,
    cmd_line: str | None,
    file: FileInfo | None,
    parent: ProcessInfo | None,
    user: str | None = None,
) -> ProcessInfo | None:
    if not (name or pid or cmd_line or file):
        return None
    return ProcessInfo(
        name=name, pid=pid, cmd_line=cmd_line, file=file, user=user, parent_process=parent
    )


def _add_ioc(obs: Observables, ioc_type: str | None, ioc_value: str | None) -> None:
    kind = _IOC_KINDS.get((ioc_type or "").lower())
    if not kind or not ioc_value:
        return
    if kind[0] is EntityKind.HASH:
        ioc_value = ioc_value.lower()
        if not ioc_value.strip("0"):
            return
    obs.add(kind[0], ioc_value, kind[1])


def _network(accesses: Any, obs: Observables) -> tuple[Endpoint | None, Endpoint | None]:
    """Observables from NetworkAccesses; endpoints from the first outbound connection."""
    if not isinstance(accesses, list):
        return None, None
    src = dst = None
    for access in accesses[:_MAX_NETWORK_ACCESSES]:
        if not isinstance(access, Mapping):
            continue
        remote = text(access.get("RemoteAddress"), "NetworkAccesses.RemoteAddress")
        local = text(access.get("LocalAddress"), "NetworkAccesses.LocalAddress")
        outbound = str(access.get("ConnectionDirection")) == "0"
        obs.add(EntityKind.IP, remote, "dst_endpoint.ip" if outbound else "src_endpoint.ip")
        if outbound and dst is None and _address(remote):
            dst = Endpoint(ip=remote, port=_port(access.get("RemotePort")))
            src = Endpoint(ip=_address(local), port=_port(access.get("LocalPort")))
    return src, dst


def _address(value: str | None) -> str | None:
    """An endpoint address; 0.0.0.0 / :: ("any", "not known") is none."""
    if not value or not is_ip(value) or ipaddress.ip_address(value).is_unspecified:
        return None
    return value


def _port(value: Any) -> int | None:
    port = _pid(value)
    return port if port is not None and port <= 65535 else None


def _attacks(event: Mapping[str, Any], tactic: str | None, tech: str | None) -> tuple[Attack, ...]:
    """ATT&CK from TechniqueId/TacticId and the MitreAttack list; Falcon-only names are skipped."""
    rows: list[tuple[Any, Any, Any, Any]] = [
        (event.get("TechniqueId"), tech, tactic, event.get("TacticId"))
    ]
    mitre = event.get("MitreAttack")
    for item in mitre[:_MAX_NETWORK_ACCESSES] if isinstance(mitre, list) else []:
        if isinstance(item, Mapping):
            rows.append(
                (
                    item.get("TechniqueID") or item.get("TechniqueId"),
                    item.get("Technique"),
                    item.get("Tactic"),
                    item.get("TacticID") or item.get("TacticId"),
                )
            )
    out: dict[str, Attack] = {}
    for uid, name, tactic_name, tactic_uid in rows:
        attack = technique(uid, name, tactic_name)
        if attack is None or attack.technique_uid in out:
            continue
        tactic_id = text(tactic_uid, "event.TacticId")
        if tactic_id and _TACTIC_ID.match(tactic_id.upper()):
            attack = attack.model_copy(update={"tactic_uid": tactic_id.upper()})
        out[attack.technique_uid or ""] = attack
    return tuple(out.values())
