"""Microsoft Sentinel ``SecurityAlert`` rows exported from Log Analytics (JSON lines).

Schema: Azure Monitor Logs table reference, "SecurityAlert" (columns TimeGenerated, AlertName,
AlertSeverity, SystemAlertId, Tactics, Techniques, Entities, ExtendedProperties, ...), and the
"Microsoft Sentinel entity types reference" for the objects inside ``Entities``. ``Entities``
and ``ExtendedProperties`` are JSON *strings*; entities nest other entities inline (with a
``$id``) or point at them with ``{"$ref": "<id>"}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tierzero.ingest.alert import (
    Alert,
    Analytic,
    Attack,
    Device,
    Endpoint,
    EntityKind,
    FileInfo,
    ProcessInfo,
    UserInfo,
)
from tierzero.ingest.base import (
    Observables,
    ParseContext,
    RecordRejected,
    TimeRead,
    build_alert,
    canonical_tactic,
    file_info,
    get,
    is_ip,
    json_field,
    process_id,
    read_time,
    require,
    severity_from_word,
    technique,
    text,
)

_MAX_ENTITY_NODES = 5000  # objects indexed per record; the raw row keeps everything
_MAX_REF_HOPS = 4
_MAX_CHAIN = 4  # ancestors kept under the detected process; the raw row keeps the rest


class SentinelAdapter:
    """Microsoft Sentinel ``SecurityAlert`` table rows."""

    name: ClassVar[str] = "sentinel"
    vendor: ClassVar[str] = "Microsoft"
    product: ClassVar[str] = "Microsoft Sentinel"

    def matches(self, record: Mapping[str, Any]) -> bool:
        return "SystemAlertId" in record and "AlertName" in record

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        table = record.get("Type")
        if table is not None and table != "SecurityAlert":
            raise RecordRejected(f"row of table {str(table)[:40]!r} is not a SecurityAlert")
        if record.get("IsIncident") is True:
            raise RecordRejected("row is an incident (a grouping of alerts), not an alert")
        uid = text(require(record, "SystemAlertId"), "SystemAlertId")
        title = text(require(record, "AlertName"), "AlertName")
        # Log Analytics datetimes are UTC by definition; exports and pandas round-trips drop
        # the "Z", so a zone-less value is read as UTC and the alert flagged.
        time = read_time(require(record, "TimeGenerated"), "TimeGenerated", zone_less_utc=True)
        first_seen = _time(record, "StartTime")
        last_seen = _time(record, "EndTime")
        extended = _decode(record.get("ExtendedProperties"), "ExtendedProperties", Mapping) or {}
        entities = _Entities(_decode(record.get("Entities"), "Entities", list) or [])

        obs = Observables()
        detected = _detected_process(entities)
        device = _device(entities, detected, obs)
        actor = _actor(entities, obs)
        process = _process(entities, detected, obs)
        file = _file(entities, detected, obs)
        src_endpoint = _ips(entities, obs)
        _urls_and_mail(entities, obs)
        if src_endpoint is None:
            sender = next((o.value for o in obs.items if o.name == "email.x_originating_ip"), None)
            src_endpoint = Endpoint(ip=sender) if sender else None  # Observables checked the IP

        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=title,
            time=time.at,
            severity=severity_from_word(text(record.get("AlertSeverity"), "AlertSeverity")),
            observables=obs,
            original_time=record.get("TimeGenerated"),
            flags=_flags(time, first_seen, last_seen),
            device=device,
            actor=actor,
            process=process,
            file=file,
            src_endpoint=src_endpoint,
            finding_desc=text(get(record, "Description"), "Description"),
            finding_types=tuple(t for t in [text(get(record, "AlertType"), "AlertType")] if t),
            finding_analytic=_analytic(record, extended, title),
            finding_attacks=_attacks(record),
            finding_first_seen_time=first_seen.at if first_seen else None,
            finding_last_seen_time=last_seen.at if last_seen else None,
            finding_src_url=text(get(record, "AlertLink"), "AlertLink"),
        )


def _time(record: Mapping[str, Any], key: str) -> TimeRead | None:
    value = record.get(key)
    return None if value in (None, "") else read_time(value, key, zone_less_utc=True)


def _flags(*reads: TimeRead | None) -> tuple[str, ...]:
    return tuple(dict.fromkeys(flag for read in reads if read for flag in read.flags))


def _decode(value: Any, field_name: str, expected: type) -> Any:
    """Decode a JSON-string column; a value of the wrong shape rejects the record."""
    try:
        decoded = json_field(value, field_name)
    except RecursionError as exc:
        raise RecordRejected(f"field '{field_name}' is nested too deeply to read") from exc
    if decoded is None or decoded == "":
        return None
    if not isinstance(decoded, expected):
        shape = "a JSON array" if expected is list else "a JSON object"
        got = type(decoded).__name__
        raise RecordRejected(f"field '{field_name}' should hold {shape}, got {got}")
    return decoded


class _Entities:
    """The decoded ``Entities`` array with every ``$id`` indexed so ``$ref`` can be resolved."""

    def __init__(self, items: list[Any]) -> None:
        self.items: list[Mapping[str, Any]] = []
        for index, item in enumerate(items, start=1):
            if not isinstance(item, Mapping):
                got = type(item).__name__
                raise RecordRejected(f"Entities item {index} should be an object, got {got}")
            self.items.append(item)
        self.by_id: dict[str, Mapping[str, Any]] = {}
        stack: list[Any] = list(self.items)
        seen = 0
        while stack and seen < _MAX_ENTITY_NODES:  # iterative: no recursion on hostile depth
            node = stack.pop()
            seen += 1
            if isinstance(node, Mapping):
                ident = node.get("$id")
                if isinstance(ident, str | int) and not isinstance(ident, bool):
                    self.by_id.setdefault(str(ident), node)
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)

    def resolve(self, value: Any) -> Mapping[str, Any] | None:
        """Follow ``{"$ref": id}`` to the entity it names; cycle-safe, a few hops at most."""
        hops: set[str] = set()
        while isinstance(value, Mapping) and "$ref" in value and len(hops) < _MAX_REF_HOPS:
            ref = value.get("$ref")
            if not isinstance(ref, str | int) or isinstance(ref, bool) or str(ref) in hops:
                return None
            hops.add(str(ref))
            value = self.by_id.get(str(ref))
        if not isinstance(value, Mapping) or "$ref" in value:
            return None
        return value

    def of_type(self, *kinds: str) -> list[Mapping[str, Any]]:
        """Top-level entities (resolved) whose ``Type`` is one of ``kinds`` (case-insensitive)."""
        out: list[Mapping[str, Any]] = []
        seen: set[int] = set()  # by identity: a node listed twice (inline and by $ref) is one
        for item in self.items:
            entity = self.resolve(item)
            if entity is not None and _is_type(entity, *kinds) and id(entity) not in seen:
                seen.add(id(entity))
                out.append(entity)
        return out

    def parent(self, process: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The process entity a process's ``ParentProcess`` names (inline or by ``$ref``)."""
        parent = self.resolve(process.get("ParentProcess"))
        return parent if parent is not None and _is_type(parent, "process") else None

    def processes(self) -> list[Mapping[str, Any]]:
        """Every process entity: the listed ones and their ancestors, in document order.

        An ancestor may exist only inline under its child's ``ParentProcess``."""
        out: list[Mapping[str, Any]] = []
        seen: set[int] = set()
        for entity in self.of_type("process"):
            hops = 0
            current: Mapping[str, Any] | None = entity
            while current is not None and hops <= _MAX_CHAIN and id(current) not in seen:
                seen.add(id(current))
                out.append(current)
                current, hops = self.parent(current), hops + 1
        return out


def _is_type(entity: Mapping[str, Any], *kinds: str) -> bool:
    kind = entity.get("Type")
    wanted = {k.lower() for k in kinds}
    return isinstance(kind, str) and kind.replace("-", "").lower() in wanted


def _field(entity: Mapping[str, Any] | None, key: str, kind: str) -> str | None:
    return text(entity.get(key), f"Entities.{kind}.{key}") if entity else None


def _host_name(host: Mapping[str, Any] | None) -> str | None:
    return _field(host, "HostName", "host") or _field(host, "NetBiosName", "host")


def _device(
    entities: _Entities, detected: Mapping[str, Any] | None, obs: Observables
) -> Device | None:
    """The host of the detected process when it names one, else the first host entity."""
    hosts = entities.of_type("host")
    own = entities.resolve(detected.get("Host")) if detected else None
    if own is not None and _is_type(own, "host") and _host_name(own):
        hosts = [own, *(h for h in hosts if h is not own)]
    device = None
    for host in hosts:
        name = _host_name(host)
        obs.add(EntityKind.HOST, name, "device.hostname")
        if device is None and name:
            uid = _field(host, "AzureID", "host") or _field(host, "OMSAgentID", "host")
            device = Device(hostname=name, uid=uid, os=_field(host, "OSFamily", "host"))
    return device


def account_name(account: Mapping[str, Any] | None) -> tuple[str | None, str | None]:
    """(UPN-style name, ``DOMAIN\\name``) of an Account entity, each None when unknown."""
    name = _field(account, "Name", "account")
    if not name:
        return None, None
    suffix = _field(account, "UPNSuffix", "account")
    domain = _field(account, "NTDomain", "account")
    return (f"{name}@{suffix}" if suffix else None), (f"{domain}\\{name}" if domain else None)


def _actor(entities: _Entities, obs: Observables) -> UserInfo | None:
    actor = None
    for account in entities.of_type("account"):
        upn, qualified = account_name(account)
        name = _field(account, "Name", "account")
        obs.add(EntityKind.USER, upn, "actor.user.name")
        obs.add(EntityKind.USER, qualified, "actor.user.name")
        if not upn and not qualified:
            obs.add(EntityKind.USER, name, "actor.user.name")
        if actor is None and name:
            actor = UserInfo(
                name=upn or qualified or name,
                uid=_field(account, "AadUserId", "account") or _field(account, "Sid", "account"),
                domain=_field(account, "NTDomain", "account")
                or _field(account, "UPNSuffix", "account"),
            )
    return actor


def _file_info(entities: _Entities, value: Any, obs: Observables, path: str) -> FileInfo | None:
    """A File entity: ``Directory`` is its folder, ``Name`` its name (entity reference)."""
    file = entities.resolve(value)
    if file is None:
        return None
    hashes: dict[str, str] = {}
    raw_hashes = file.get("FileHashes")
    for item in raw_hashes if isinstance(raw_hashes, list) else []:
        entry = entities.resolve(item)
        algorithm = _field(entry, "Algorithm", "filehash")
        value_text = _field(entry, "Value", "filehash")
        if algorithm and value_text:
            hashes.setdefault(algorithm.lower(), value_text)
            obs.add(EntityKind.HASH, value_text, f"{path}.hashes.value")
    name = _field(file, "Name", "file")
    directory = _field(file, "Directory", "file")
    # Given as a path, file_info keeps a Directory that already ends with the name whole.
    return file_info(
        name=name,
        path=directory if name else None,
        folder=None if name else directory,
        sha256=hashes.get("sha256"),
        sha1=hashes.get("sha1"),
        md5=hashes.get("md5"),
    )


def _one_process(
    entities: _Entities, entity: Mapping[str, Any], obs: Observables, path: str
) -> ProcessInfo:
    image = _file_info(entities, entity.get("ImageFile"), obs, f"{path}.file")
    cmd_line = _field(entity, "CommandLine", "process")
    obs.add(EntityKind.PROCESS, image.name if image else None, f"{path}.name")
    obs.add(EntityKind.COMMAND_LINE, cmd_line, f"{path}.cmd_line")
    upn, qualified = account_name(entities.resolve(entity.get("Account")))
    obs.add(EntityKind.USER, qualified or upn, f"{path}.user.name")
    return ProcessInfo(
        name=image.name if image else None,
        pid=process_id(entity.get("ProcessId")),
        cmd_line=cmd_line,
        file=image,
        user=qualified or upn,
    )


def _ancestors(entities: _Entities, entity: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The parent chain of a process entity, nearest first; cycle-safe and bounded."""
    chain: list[Mapping[str, Any]] = []
    current = entities.parent(entity)
    while current is not None and current is not entity and len(chain) < _MAX_CHAIN:
        if any(current is seen for seen in chain):
            break
        chain.append(current)
        current = entities.parent(current)
    return chain


def _detected_process(entities: _Entities) -> Mapping[str, Any] | None:
    """The process the alert is about: one that is no other process's parent (a leaf).

    Sentinel lists entities in no meaningful order, often the parent (``cmd.exe``) first. With
    several leaves, the one with the longest known ancestry wins, then document order.
    """
    processes = entities.processes()
    parents = {id(p) for p in (entities.parent(e) for e in processes) if p is not None}
    leaves = [e for e in processes if id(e) not in parents] or processes
    best: Mapping[str, Any] | None = None
    best_depth = -1
    for leaf in leaves:
        depth = len(_ancestors(entities, leaf))
        if depth > best_depth:
            best, best_depth = leaf, depth
    return best


def _process(
    entities: _Entities, detected: Mapping[str, Any] | None, obs: Observables
) -> ProcessInfo | None:
    """The detected process with its parent chain; other processes become observables only."""
    if detected is None:
        return None
    chain = [detected, *_ancestors(entities, detected)]
    paths = ["process" + ".parent_process" * depth for depth in range(len(chain))]
    infos = [_one_process(entities, e, obs, path) for e, path in zip(chain, paths, strict=True)]
    in_chain = {id(e) for e in chain}
    for entity in entities.processes():
        if id(entity) not in in_chain:
            _one_process(entities, entity, obs, "process")
    process: ProcessInfo | None = None
    for info in reversed(infos):
        process = info.model_copy(update={"parent_process": process})
    return process


def _file(
    entities: _Entities, detected: Mapping[str, Any] | None, obs: Observables
) -> FileInfo | None:
    """A listed file that is no process's image (the file the alert is about), else the
    detected process's image, else the first file."""
    files = entities.of_type("file")
    images = {id(entities.resolve(p.get("ImageFile"))) for p in entities.processes()}
    own_image = entities.resolve(detected.get("ImageFile")) if detected else None
    chosen = next((f for f in files if id(f) not in images), None)
    if chosen is None and own_image is not None and any(f is own_image for f in files):
        chosen = own_image
    if chosen is None and files:
        chosen = files[0]
    first = None
    for entity in ([chosen] if chosen else []) + [f for f in files if f is not chosen]:
        info = _file_info(entities, entity, obs, "file")
        obs.add(EntityKind.FILE, info.name if info else None, "file.name")
        if first is None:
            first = info
    for entity in entities.of_type("filehash"):
        obs.add(EntityKind.HASH, _field(entity, "Value", "filehash"), "file.hashes.value")
    return first


def _ips(entities: _Entities, obs: Observables) -> Endpoint | None:
    """IP entities; the first one is taken as the source (Sentinel gives entities no roles)."""
    source = None
    for entity in entities.of_type("ip"):
        address = _field(entity, "Address", "ip")
        location = entity.get("Location")
        country = None
        if isinstance(location, Mapping):
            country = text(location.get("CountryCode"), "Entities.ip.Location.CountryCode") or text(
                location.get("CountryName"), "Entities.ip.Location.CountryName"
            )
        if source is None and address and is_ip(address):
            obs.add(EntityKind.IP, address, "src_endpoint.ip")
            obs.add(EntityKind.COUNTRY, country, "src_endpoint.location.country")
            source = Endpoint(ip=address, country=country)
        else:
            obs.add(EntityKind.IP, address, "dst_endpoint.ip")
    return source


def _add_url(obs: Observables, url: Any, path: str) -> None:
    url_text = text(url, path)
    obs.add(EntityKind.URL, url_text, path)
    if url_text:
        try:
            host = urlsplit(url_text).hostname
        except ValueError:
            host = None
        obs.add(EntityKind.DOMAIN, host, "url.hostname")


def _urls_and_mail(entities: _Entities, obs: Observables) -> None:
    for entity in entities.of_type("url"):
        _add_url(obs, entity.get("Url"), "url.url_string")
    for entity in entities.of_type("mailbox"):
        address = _field(entity, "MailboxPrimaryAddress", "mailbox")
        obs.add(EntityKind.EMAIL, address, "user.email_addr")
        obs.add(EntityKind.USER, _field(entity, "Upn", "mailbox"), "user.name")
    for entity in entities.of_type("mailmessage"):
        obs.add(EntityKind.EMAIL, _field(entity, "Recipient", "mailMessage"), "email.to")
        obs.add(EntityKind.EMAIL, _field(entity, "P1Sender", "mailMessage"), "email.smtp_from")
        obs.add(EntityKind.EMAIL, _field(entity, "Sender", "mailMessage"), "email.from")
        obs.add(EntityKind.EMAIL, _field(entity, "P2Sender", "mailMessage"), "email.from")
        obs.add(EntityKind.IP, _field(entity, "SenderIP", "mailMessage"), "email.x_originating_ip")
        obs.add(EntityKind.EMAIL_SUBJECT, _field(entity, "Subject", "mailMessage"), "email.subject")
        urls = entity.get("Urls")
        for url in urls if isinstance(urls, list) else []:
            _add_url(obs, url, "url.url_string")


def _analytic(
    record: Mapping[str, Any], extended: Mapping[str, Any], title: str | None
) -> Analytic:
    """Scheduled rules name their rule in ExtendedProperties; other providers use AlertType."""
    rule_ids: Any = extended.get("Analytic Rule Ids")
    if isinstance(rule_ids, str):
        try:
            rule_ids = json.loads(rule_ids)
        except (ValueError, RecursionError):
            rule_ids = [rule_ids]
    rule_id = rule_ids[0] if isinstance(rule_ids, list) and rule_ids else None
    uid = text(rule_id, "ExtendedProperties.Analytic Rule Ids") or text(
        get(record, "AlertType"), "AlertType"
    )
    name = text(extended.get("Analytic Rule Name"), "ExtendedProperties.Analytic Rule Name")
    return Analytic(uid=uid, name=name or title)


def attack_tactics(words: list[Any]) -> list[tuple[str, str]]:
    """The ATT&CK tactics (id, name) among vendor words, in order. Microsoft also writes
    words that are no ATT&CK tactic in these fields (Defender's categories "Malware",
    "SuspiciousActivity", "AnonymousLogin"; Sentinel's "PreAttack", "Unknown"): those are left
    out, never stored as tactics."""
    out: list[tuple[str, str]] = []
    for word in words:
        uid, name = canonical_tactic(word) if isinstance(word, str) else (None, None)
        if uid and name and (uid, name) not in out:
            out.append((uid, name))
    return out


def attacks_from(techniques: list[Any], tactics: list[Any]) -> tuple[Attack, ...]:
    """ATT&CK mappings; with exactly one tactic, every technique is put under it."""
    known = attack_tactics(tactics)
    lone = known[0][0] if len(known) == 1 else None
    out: list[Attack] = []
    for uid in techniques:
        attack = technique(uid, tactic=lone) if isinstance(uid, str) else None
        if attack and attack not in out:
            out.append(attack)
    if lone is None or not out:
        out.extend(Attack(tactic_uid=uid, tactic_name=name) for uid, name in known)
    return tuple(out)


def _id_list(record: Mapping[str, Any], key: str) -> list[Any]:
    """Techniques columns: a JSON array in a string; older rows hold plain comma lists."""
    value = record.get(key)
    if isinstance(value, list):
        return value
    if not isinstance(value, str) or not value.strip():
        return []
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError):
        return [part.strip() for part in value.split(",")]
    return decoded if isinstance(decoded, list) else [decoded] if isinstance(decoded, str) else []


def _attacks(record: Mapping[str, Any]) -> tuple[Attack, ...]:
    tactics = record.get("Tactics")
    tactic_list = tactics.split(",") if isinstance(tactics, str) else []
    techniques = _id_list(record, "Techniques") + _id_list(record, "SubTechniques")
    return attacks_from(techniques, tactic_list)
