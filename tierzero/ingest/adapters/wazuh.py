"""Wazuh manager alerts (``/var/ossec/logs/alerts/alerts.json``, one alert per line).

Schema: Wazuh documentation, "Alerts" output and the ruleset reference (user-manual/ruleset):
``rule`` {level, description, id, groups, mitre{id, tactic, technique}}, ``agent`` {id, name,
ip}, ``manager``, ``id``, ``timestamp``, ``full_log``, ``decoder``, ``location``, the decoded
``data`` (``data.win`` for the Windows eventchannel decoder, with ``system`` and ``eventdata``
in Wazuh's camelCase) and ``syscheck`` for file integrity monitoring.

Wazuh decodes other tools' logs itself, so ``data`` has their shapes: its stock Suricata
integration (the ``json`` decoder, rules 86600-86604) puts an EVE event there as-is (numbers
as text), mapped here by the Suricata adapter's own EVE reader; the Snort decoder writes
``srcip``/``dstip`` as ``ip:port``; dovecot writes users as ``<name>``. The agent is the host
where the log was read: for an IDS's log that is the sensor or the manager that collected it,
not a party to the traffic, so such alerts keep it as the device and take their network
entities from the decoded event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from tierzero.ingest.adapters.suricata import (
    Eve,
    priority_severity,
    read_eve,
    split_host_port,
)
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
    canonical_tactic,
    get,
    is_ip,
    parse_time,
    process_id,
    require,
    severity_from_word,
    technique,
    text,
)

# Wazuh rule levels (ruleset "Rules classification") to OCSF severity. Lowest level of each band:
#   level  Wazuh meaning                                                   OCSF severity
#   0-3    ignored, system notification, successful/authorized event      Informational
#   4-6    low-priority system error, user error, low-relevance attack    Low
#   7-11   "bad word", first time seen, invalid source, multiple user
#          errors, integrity checking warning                             Medium
#   12-14  high-importance event, unusual error, high-importance security
#          event (usually correlated)                                     High
#   15-16  severe attack: no chance of false positive, act immediately   Critical
LEVEL_SEVERITY: tuple[tuple[int, Severity], ...] = (
    (15, Severity.CRITICAL),
    (12, Severity.HIGH),
    (7, Severity.MEDIUM),
    (4, Severity.LOW),
    (0, Severity.INFORMATIONAL),
)
MAX_LEVEL = 16  # the ruleset documents 0-15; 16 is accepted by recent managers
_HASH = re.compile(r"(?i)\b(MD5|SHA1|SHA256)=([0-9A-F]+)")
_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64}
_EMPTY = ("-", "", "N/A", "null")
# Snort's alert line: "[gid:sid:rev] message [Classification: c] [Priority: n]" (decoder
# 0285-snort_decoders.xml keeps only the id and addresses; the rest is in full_log).
_SNORT_ID = re.compile(r"^(\d{1,10}):(\d{1,10}):\d{1,10}$")
_SNORT_MESSAGE = re.compile(
    r"\[\d{1,10}:\d{1,10}:\d{1,10}\]\s+(.{1,500}?)\s*(?:\[\*\*\]|\[Classification:|\[Priority:)"
)
_SNORT_CLASS = re.compile(r"\[Classification:\s*([^\]]{1,200})\]")
_SNORT_PRIORITY = re.compile(r"\[Priority:\s*(\d{1,3})\]")
# One layer of wrapping around a decoded user name: dovecot's user=<name>, quoted names.
_WRAPPED = re.compile(r"^(?:<(.*)>|\"(.*)\"|'(.*)')$", re.DOTALL)


class WazuhAdapter:
    """Wazuh ``alerts.json`` records."""

    name: ClassVar[str] = "wazuh"
    vendor: ClassVar[str] = "Wazuh"
    product: ClassVar[str] = "Wazuh"

    def matches(self, record: Mapping[str, Any]) -> bool:
        rule = record.get("rule")
        return (
            isinstance(rule, Mapping)
            and "level" in rule
            and "timestamp" in record
            and ("agent" in record or "manager" in record)
        )

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        rule = require(record, "rule")
        if not isinstance(rule, Mapping):
            raise RecordRejected("field 'rule' should be an object")
        description = text(require(record, "rule.description"), "rule.description")
        rule_id = text(get(record, "rule.id"), "rule.id")
        level = _level(rule.get("level"))
        alert_id = text(require(record, "id"), "id")
        time = parse_time(require(record, "timestamp"), "timestamp")
        data = _obj(record.get("data"), "data") or {}
        win = _obj(data.get("win"), "data.win") or {}
        system = _obj(win.get("system"), "data.win.system") or {}
        eventdata = _obj(win.get("eventdata"), "data.win.eventdata") or {}
        agent = _obj(record.get("agent"), "agent") or {}

        obs = Observables()
        # A decoded network sensor's log (Suricata EVE) is about the flow's endpoints: the
        # agent is where the log was read, often the manager, and shared by every such alert.
        # It stays the device (shown, described) but is no entity to join or act on.
        sensor = _is_eve(data)
        device = _device(agent, system, record, Observables() if sensor else obs)
        actor = _actor(data, eventdata, obs)
        process = _process(eventdata, obs)
        file = _syscheck_file(record, obs) or _target_file(eventdata, obs)
        eve = read_eve(data, obs, "data.") if sensor else None
        if eve is not None:
            src, dst = eve.src, eve.dst
        else:
            src = _endpoint(data, eventdata, obs, "src")
            dst = _endpoint(data, eventdata, obs, "dst")
        url = _clean(text(data.get("url"), "data.url"))
        obs.add(EntityKind.URL, url, "http_request.url.path")
        tool = _tool(record, data, eve)
        # The higher of the rule level and the decoded tool's own severity: the level is the
        # Wazuh admin's judgement (stock rules give one low level to every Suricata or Snort
        # signature; a local child rule may raise it), the tool's its signature author's.
        # Taking the higher lets neither hide nor lower the other; desc names both.
        severity = max(_level_severity(level), tool.severity or Severity.UNKNOWN)

        return build_alert(
            self,
            context,
            source_alert_id=alert_id,
            title=description,
            time=time,
            severity=severity,
            observables=obs,
            original_time=record.get("timestamp"),
            message=text(record.get("full_log"), "full_log"),
            device=device,
            actor=actor,
            process=process,
            file=file,
            src_endpoint=src,
            dst_endpoint=dst,
            finding_analytic=tool.analytic or Analytic(uid=rule_id, name=description),
            finding_types=tuple(
                dict.fromkeys([*_texts(rule.get("groups"), "rule.groups"), *tool.types])
            ),
            finding_attacks=tuple(dict.fromkeys([*_attacks(rule.get("mitre")), *tool.attacks])),
            finding_desc=_desc(rule_id, level, tool, record, agent),
            finding_first_seen_time=tool.seen,
        )


@dataclass(frozen=True)
class _Tool:
    """What the tool whose log Wazuh decoded says itself (Suricata, Snort, the vulnerability
    detector): its own detection, severity and category, hidden behind a generic rule."""

    name: str | None = None
    analytic: Analytic | None = None
    severity: Severity | None = None
    severity_note: str | None = None
    types: tuple[str, ...] = ()
    attacks: tuple[Attack, ...] = ()
    seen: datetime | None = None


def _is_eve(data: Mapping[str, Any]) -> bool:
    """An EVE event decoded by the json decoder (Wazuh's Suricata rules key on event_type)."""
    return isinstance(data.get("event_type"), str) and ("src_ip" in data or "dest_ip" in data)


def _tool(record: Mapping[str, Any], data: Mapping[str, Any], eve: Eve | None) -> _Tool:
    if eve is not None:
        return _suricata(data, eve)
    # Only hints here: an odd decoder or vulnerability field loses the hint, not the alert.
    if "snort" in (get(record, "decoder.name"), get(record, "decoder.parent")):
        return _snort(record, data)
    word = get(data, "vulnerability.severity")
    known = severity_from_word(word)
    if known is not Severity.UNKNOWN:
        return _Tool(severity=known, severity_note=f"vulnerability severity {word}")
    return _Tool()


def _suricata(data: Mapping[str, Any], eve: Eve) -> _Tool:
    """A decoded EVE event: stock rule 86601 gives every signature level 3 and one rule id,
    so the signature is the detection (one rule id would make two signatures on one flow
    look like repeats of each other) and ``alert.severity`` its priority."""
    analytic = None
    if eve.signature:
        uid = f"suricata:{eve.signature_id}" if eve.signature_id else None
        analytic = Analytic(uid=uid, name=eve.signature)
    try:
        seen = parse_time(data.get("timestamp"), "data.timestamp")
    except RecordRejected:
        seen = None  # the event's own time is a bonus; Wazuh's timestamp is the alert's
    return _Tool(
        name="Suricata",
        analytic=analytic,
        severity=eve.severity,
        severity_note=f"Suricata alert.severity {eve.priority}" if eve.severity else None,
        types=tuple(t for t in [eve.category] if t),
        attacks=eve.attacks,
        seen=seen,
    )


def _snort(record: Mapping[str, Any], data: Mapping[str, Any]) -> _Tool:
    """Snort via Wazuh's snort decoder: the generic 'IDS event.' rule again hides the
    signature ``[gid:sid:rev]`` and its priority, both still in the decoded id and the log."""
    log = text(record.get("full_log"), "full_log") or ""
    ids = _SNORT_ID.match(_field(data, "id", "data") or "")
    message = _SNORT_MESSAGE.search(log)
    classification = _SNORT_CLASS.search(log)
    priority = _SNORT_PRIORITY.search(log)
    severity = priority_severity(priority[1]) if priority else None
    analytic = None
    if ids:
        analytic = Analytic(uid=f"snort:{ids[1]}:{ids[2]}", name=message[1] if message else None)
    return _Tool(
        name="Snort",
        analytic=analytic,
        severity=severity,
        severity_note=f"Snort priority {priority[1]}" if severity and priority else None,
        types=(classification[1].strip(),) if classification else (),
    )


def _desc(
    rule_id: str | None,
    level: int,
    tool: _Tool,
    record: Mapping[str, Any],
    agent: Mapping[str, Any],
) -> str:
    """Keeps Wazuh's rule and level visible when the decoded tool's own words take over, and
    says where a third-party log was read."""
    parts = [f"Wazuh rule {rule_id or '?'} level {level} ({_level_severity(level).name.title()})"]
    if tool.severity and tool.severity_note:
        parts.append(f"{tool.severity_note} ({tool.severity.name.title()}); the higher is kept")
    if tool.name:
        where = _field(record, "location", "location") or "?"
        who = _field(agent, "name", "agent") or _field(agent, "id", "agent") or "?"
        parts.append(f"{tool.name} log read by Wazuh agent {who} from {where}")
    return "; ".join(parts)


def _level(level: Any) -> int:
    if isinstance(level, str) and level.strip().isdigit():
        level = int(level.strip())
    if level is None:
        raise RecordRejected("missing required field 'rule.level'")
    if isinstance(level, bool) or not isinstance(level, int):
        raise RecordRejected(f"field 'rule.level' should be an integer, got {level!r:.40}")
    if not 0 <= level <= MAX_LEVEL:
        raise RecordRejected(f"rule.level {level} is outside Wazuh's 0-{MAX_LEVEL} scale")
    return level


def _level_severity(level: int) -> Severity:
    return next(severity for lower, severity in LEVEL_SEVERITY if level >= lower)


def _obj(value: Any, path: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecordRejected(f"field '{path}' should be an object, got {type(value).__name__}")
    return value


def _texts(value: Any, path: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordRejected(f"field '{path}' should be a list, got {type(value).__name__}")
    return [t for i, v in enumerate(value) if (t := text(v, f"{path}[{i}]"))]


def _clean(value: str | None) -> str | None:
    """Windows writes '-' for an empty field."""
    return None if value is None or value in _EMPTY else value


def _field(mapping: Mapping[str, Any], key: str, path: str) -> str | None:
    return _clean(text(mapping.get(key), f"{path}.{key}"))


def _device(
    agent: Mapping[str, Any],
    system: Mapping[str, Any],
    record: Mapping[str, Any],
    obs: Observables,
) -> Device | None:
    """The agent is the host; agent 000 is the manager itself, so prefer the event's host."""
    agent_name = _field(agent, "name", "agent")
    agent_id = _field(agent, "id", "agent")
    agent_ip = _field(agent, "ip", "agent")
    computer = _field(system, "computer", "data.win.system")
    logged_host = text(get(record, "predecoder.hostname"), "predecoder.hostname")
    hostname = (
        (computer or logged_host or agent_name) if agent_id == "000" else (agent_name or computer)
    )
    for name in (hostname, agent_name if agent_id != "000" else None, computer):
        obs.add(EntityKind.HOST, name, "device.hostname")
    ip = agent_ip if agent_ip and is_ip(agent_ip) and agent_id != "000" else None
    obs.add(EntityKind.IP, ip, "device.ip")
    if not (hostname or ip):
        return None
    return Device(hostname=hostname, ip=ip, uid=agent_id)


def _user(mapping: Mapping[str, Any], key: str, path: str) -> str | None:
    """A decoded user name without the wrapping its log gave it (dovecot: ``<name>``)."""
    value = _field(mapping, key, path)
    match = _WRAPPED.match(value) if value else None
    if match:
        value = _clean(next(g for g in match.groups() if g is not None).strip())
    return value


def _account(name: str | None, domain: str | None) -> str | None:
    if not name:
        return None
    return f"{domain}\\{name}" if domain and "\\" not in name and "@" not in name else name


def _actor(
    data: Mapping[str, Any], eventdata: Mapping[str, Any], obs: Observables
) -> UserInfo | None:
    """Who acted: the logged-on account of a logon event, else the source or subject user."""
    where = "data.win.eventdata"
    # (name, domain, sid, observable name); the first named one is the actor
    candidates = [
        (
            _field(eventdata, "targetUserName", where),
            _field(eventdata, "targetDomainName", where),
            _field(eventdata, "targetUserSid", where),
            "actor.user.name",
        ),
        (_user(data, "srcuser", "data"), None, None, "actor.user.name"),
        (
            _field(eventdata, "subjectUserName", where),
            _field(eventdata, "subjectDomainName", where),
            _field(eventdata, "subjectUserSid", where),
            "actor.user.name",
        ),
        (_user(data, "dstuser", "data"), None, None, "user.name"),
    ]
    for name, domain, _sid, path in candidates:
        obs.add(EntityKind.USER, _account(name, domain), path)
    for name, domain, sid, _path in candidates[:3]:
        if name:
            return UserInfo(name=_account(name, domain), domain=domain, uid=sid)
    return None


def _hashes(value: str | None) -> dict[str, str]:
    """Sysmon ``Hashes``: 'SHA1=..,MD5=..,SHA256=..,IMPHASH=..'."""
    out: dict[str, str] = {}
    for algorithm, digest in _HASH.findall(value or ""):
        key = algorithm.lower()
        if len(digest) == _HEX_LENGTH[key]:
            out.setdefault(key, digest.lower())
    return out


def _process(eventdata: Mapping[str, Any], obs: Observables) -> ProcessInfo | None:
    """Sysmon process events (image/commandLine/parentImage) or Security 4688."""
    where = "data.win.eventdata"
    image = _field(eventdata, "image", where) or _field(eventdata, "newProcessName", where)
    cmd_line = _field(eventdata, "commandLine", where)
    if not (image or cmd_line):
        return None
    parent_image = _field(eventdata, "parentImage", where) or _field(
        eventdata, "parentProcessName", where
    )
    parent_cmd = _field(eventdata, "parentCommandLine", where)
    hashes = _hashes(_field(eventdata, "hashes", where))
    name, parent_name = basename(image), basename(parent_image)
    user = _field(eventdata, "user", where)
    obs.add(EntityKind.PROCESS, name, "process.name")
    obs.add(EntityKind.COMMAND_LINE, cmd_line, "process.cmd_line")
    for digest in hashes.values():
        obs.add(EntityKind.HASH, digest, "process.file.hashes.value")
    obs.add(EntityKind.USER, user, "process.user.name")
    obs.add(EntityKind.PROCESS, parent_name, "process.parent_process.name")
    obs.add(EntityKind.COMMAND_LINE, parent_cmd, "process.parent_process.cmd_line")
    parent = None
    if parent_image or parent_cmd:
        parent = ProcessInfo(
            name=parent_name,
            pid=process_id(_field(eventdata, "parentProcessId", where)),
            cmd_line=parent_cmd,
            file=FileInfo(name=parent_name, path=parent_image) if parent_image else None,
        )
    return ProcessInfo(
        name=name,
        pid=process_id(
            _field(eventdata, "processId", where) or _field(eventdata, "newProcessId", where)
        ),
        cmd_line=cmd_line,
        file=FileInfo(name=name, path=image, **hashes) if image else None,
        user=user,
        parent_process=parent,
    )


def _syscheck_file(record: Mapping[str, Any], obs: Observables) -> FileInfo | None:
    """File integrity monitoring: the file and its hashes after the change."""
    syscheck = _obj(record.get("syscheck"), "syscheck")
    if syscheck is None:
        return None
    path = _field(syscheck, "path", "syscheck")
    if not path:
        return None
    hashes = {}
    for key in ("sha256", "sha1", "md5"):
        digest = _field(syscheck, f"{key}_after", "syscheck")
        if digest and len(digest) == _HEX_LENGTH[key]:
            hashes[key] = digest.lower()
    name = basename(path)
    obs.add(EntityKind.FILE, name, "file.name")
    for digest in hashes.values():
        obs.add(EntityKind.HASH, digest, "file.hashes.value")
    return FileInfo(name=name, path=path, **hashes)


def _target_file(eventdata: Mapping[str, Any], obs: Observables) -> FileInfo | None:
    """Sysmon file creation (event 11) names the file in ``targetFilename``; a service
    installation (System 7045) its binary in ``imagePath``, quoted when it has spaces."""
    where = "data.win.eventdata"
    path = _field(eventdata, "targetFilename", where)
    image_path = _field(eventdata, "imagePath", where)
    if not path and image_path:
        path = image_path.split('"')[1] if image_path.startswith('"') else image_path
    if not path:
        return None
    obs.add(EntityKind.FILE, basename(path), "file.name")
    return FileInfo(name=basename(path), path=path)


def _port(value: str | None) -> int | None:
    if value and value.isdigit() and int(value) <= 65535:
        return int(value)
    return None


# Where decoders put addresses: the static srcip/dstip, then JSON-decoded logs' own names.
_DATA_KEYS = {"src": ("srcip", "src_ip"), "dst": ("dstip", "dest_ip", "dst_ip")}


def _data_address(data: Mapping[str, Any], side: str) -> tuple[str | None, int | None]:
    """The first decoded address of one side, split when written ``ip:port`` (Snort)."""
    for key in _DATA_KEYS[side]:
        ip, port = split_host_port(_field(data, key, "data"))
        if ip:
            return ip, port
    return None, None


def _endpoint(
    data: Mapping[str, Any], eventdata: Mapping[str, Any], obs: Observables, side: str
) -> Endpoint | None:
    """Decoded ``srcip``/``dstip`` (syslog, web logs) or the logon event's source address."""
    where = "data.win.eventdata"
    ip, port_in_address = _data_address(data, side)
    port = _port(_field(data, f"{side}port", "data")) or port_in_address
    hostname = None
    if side == "src":
        ip = ip or _field(eventdata, "ipAddress", where) or _field(eventdata, "sourceIp", where)
        port = port or _port(_field(eventdata, "ipPort", where))
        hostname = _field(eventdata, "workstationName", where)
    else:
        ip = ip or _field(eventdata, "destinationIp", where)
        port = port or _port(_field(eventdata, "destinationPort", where))
    ip = ip if ip and is_ip(ip) else None
    endpoint_name = "src_endpoint" if side == "src" else "dst_endpoint"
    obs.add(EntityKind.IP, ip, f"{endpoint_name}.ip")
    obs.add(EntityKind.HOST, hostname, f"{endpoint_name}.hostname")
    if not (ip or hostname):
        return None
    return Endpoint(ip=ip, port=port, hostname=hostname)


def _attacks(mitre: Any) -> tuple[Attack, ...]:
    """``rule.mitre``: ``id`` and ``technique`` are parallel lists; ``tactic`` is the union of
    the techniques' tactics, not aligned with them, so tactics become attacks of their own."""
    if mitre is None:
        return ()
    if not isinstance(mitre, Mapping):
        raise RecordRejected("field 'rule.mitre' should be an object")
    ids = _texts(mitre.get("id"), "rule.mitre.id")
    names = _texts(mitre.get("technique"), "rule.mitre.technique")
    tactics = _texts(mitre.get("tactic"), "rule.mitre.tactic")
    names_align = len(names) == len(ids)
    out = [
        attack
        for index, uid in enumerate(ids)
        if (attack := technique(uid, names[index] if names_align else None))
    ]
    for tactic in dict.fromkeys(tactics):
        tactic_uid, tactic_name = canonical_tactic(tactic)
        out.append(Attack(tactic_uid=tactic_uid, tactic_name=tactic_name))
    return tuple(out)
