"""Elastic Security detection alerts (the ``_source`` of ``.alerts-security.alerts-*`` documents).

Schema: Elastic Security docs, "Alert schema" (``kibana.alert.*`` fields) and the Elastic Common
Schema (ECS) reference for the event fields copied into the alert (host, user, process, file,
source, destination, url, dns). Alert documents store ``kibana.alert.*`` as flat dotted keys and
ECS fields as nested objects; exports and pipelines mix both, so every read goes through
:func:`field`, which accepts either spelling. The reader unwraps ``_search`` responses.

Severity: ``kibana.alert.severity`` (low/medium/high/critical), else ``kibana.alert.risk_score``
with Elastic's documented ranges (0-21 low, 22-47 medium, 48-73 high, 74-100 critical), else the
rule's own ``kibana.alert.rule.severity`` / ``risk_score``.

Files: ECS ``file.path`` and ``process.executable`` are full paths and ``file.directory`` the
folder; they go through ``ingest.base.file_info`` so OCSF ``path`` is full and
``parent_folder`` the folder. ATT&CK comes from ``kibana.alert.rule.threat`` (8.0 also keeps it
under ``kibana.alert.rule.parameters``). Indicator match rules record what matched in
``threat.enrichments[].matched`` (``field``: the ECS field, ``atomic``: the value): it is an
observable of the field's kind. ``host.ip`` lists every interface, so loopback, link-local and
unspecified addresses, which identify no host, are left out.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, ClassVar

from tierzero.ingest.alert import (
    Alert,
    Analytic,
    Attack,
    CloudInfo,
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
    file_info,
    is_ip,
    parse_time,
    read_time,
    severity_from_number,
    severity_from_word,
    technique,
    text,
)

_RISK_SCALE = (
    (74, Severity.CRITICAL),
    (48, Severity.HIGH),
    (22, Severity.MEDIUM),
    (0, Severity.LOW),
)
_HASHES = ("sha256", "sha1", "md5")
_PLACEHOLDERS = frozenset({"-", "n/a", "none", "null", "unknown"})
_MAX_ENRICHMENTS = 32
# ECS field of an indicator match -> (kind, OCSF path of the observable).
_MATCHED_KINDS: dict[str, tuple[EntityKind, str]] = {
    "host.name": (EntityKind.HOST, "device.hostname"),
    "host.hostname": (EntityKind.HOST, "device.hostname"),
    "user.name": (EntityKind.USER, "actor.user.name"),
    "source.ip": (EntityKind.IP, "src_endpoint.ip"),
    "destination.ip": (EntityKind.IP, "dst_endpoint.ip"),
    "host.ip": (EntityKind.IP, "device.ip"),
    "url.full": (EntityKind.URL, "url.url_string"),
    "url.original": (EntityKind.URL, "url.url_string"),
    "url.domain": (EntityKind.DOMAIN, "url.hostname"),
    "destination.domain": (EntityKind.DOMAIN, "dst_endpoint.domain"),
    "dns.question.name": (EntityKind.DOMAIN, "query.hostname"),
    "file.name": (EntityKind.FILE, "file.name"),
}


def field(record: Any, path: str) -> Any:
    """Read ``a.b.c`` whether stored as one dotted key, nested objects, or a mix of both.

    Longer dotted keys win (``"event.kind"`` before ``event -> kind``); null counts as missing.
    """
    if not isinstance(record, Mapping):
        return None
    if record.get(path) is not None:
        return record[path]
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        head = record.get(".".join(parts[:cut]))
        if isinstance(head, Mapping):
            found = field(head, ".".join(parts[cut:]))
            if found is not None:
                return found
    return None


def _text(record: Mapping[str, Any], path: str) -> str | None:
    return text(field(record, path), path)


def _name(record: Mapping[str, Any], path: str) -> str | None:
    """A host or account name; placeholders ("-", "N/A") name nothing."""
    value = _text(record, path)
    return None if value is None or value.casefold() in _PLACEHOLDERS else value


class ElasticAdapter:
    """Elastic Security (Kibana detection engine) alerts, ECS 8.x."""

    name: ClassVar[str] = "elastic"
    vendor: ClassVar[str] = "Elastic"
    product: ClassVar[str] = "Elastic Security"

    def matches(self, record: Mapping[str, Any]) -> bool:
        return field(record, "kibana.alert.rule.name") is not None or (
            field(record, "kibana.alert.uuid") is not None
        )

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        kind = field(record, "event.kind")
        if kind is not None and kind != "signal":
            raise RecordRejected(
                f"not an Elastic Security alert: event.kind is {str(kind)[:40]!r}, not 'signal'"
            )
        uid = _required(record, "kibana.alert.uuid")
        rule_name = _required(record, "kibana.alert.rule.name")
        when = read_time(field(record, "@timestamp"), "@timestamp")
        original = field(record, "kibana.alert.original_time")
        first_seen = parse_time(original, "kibana.alert.original_time") if original else None

        obs = Observables()
        device = _device(record, obs)
        actor = _actor(record, obs)
        process = _process(record, obs)
        file = _file(record, obs)
        src, dst = _endpoints(record, obs)
        obs.add(
            EntityKind.URL,
            field(record, "url.full") or field(record, "url.original"),
            "url.url_string",
        )
        obs.add(EntityKind.DOMAIN, field(record, "dns.question.name"), "query.hostname")
        _indicator_matches(field(record, "threat.enrichments"), obs)

        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=rule_name,
            time=when.at,
            flags=when.flags,
            severity=_severity(record),
            observables=obs,
            original_time=field(record, "@timestamp"),
            message=_text(record, "kibana.alert.reason"),
            device=device,
            actor=actor,
            process=process,
            file=file,
            src_endpoint=src,
            dst_endpoint=dst,
            cloud=_cloud(record),
            finding_desc=_text(record, "kibana.alert.rule.description"),
            finding_first_seen_time=first_seen,
            finding_analytic=Analytic(
                uid=_text(record, "kibana.alert.rule.rule_id")
                or _text(record, "kibana.alert.rule.uuid"),
                name=rule_name,
            ),
            finding_attacks=_attacks(
                field(record, "kibana.alert.rule.threat")
                or field(record, "kibana.alert.rule.parameters.threat")
            ),
        )


def _required(record: Mapping[str, Any], path: str) -> str:
    value = _text(record, path)
    if not value:
        raise RecordRejected(f"missing required field '{path}'")
    return value


def _severity(record: Mapping[str, Any]) -> Severity:
    """The alert's own severity or risk score (rule mappings may override the rule's), then
    the rule's defaults."""
    for prefix in ("kibana.alert", "kibana.alert.rule"):
        severity = severity_from_word(field(record, f"{prefix}.severity"))
        if severity is not Severity.UNKNOWN:
            return severity
        score = field(record, f"{prefix}.risk_score")
        if isinstance(score, int | float) and not isinstance(score, bool):
            return severity_from_number(score, _RISK_SCALE)
    return Severity.UNKNOWN


def _device(record: Mapping[str, Any], obs: Observables) -> Device | None:
    name, hostname = _name(record, "host.name"), _name(record, "host.hostname")
    obs.add(EntityKind.HOST, hostname, "device.hostname")
    obs.add(EntityKind.HOST, name, "device.name")
    ips = [ip for ip in _list(record, "host.ip") if _host_address(ip)]
    for ip in ips:
        obs.add(EntityKind.IP, ip, "device.ip")
    os_name = _text(record, "host.os.full") or _text(record, "host.os.name")
    uid = _text(record, "host.id")
    if not (name or hostname or ips or uid):
        return None
    return Device(hostname=hostname or name, ip=ips[0] if ips else None, uid=uid, os=os_name)


def _cloud(record: Mapping[str, Any]) -> CloudInfo | None:
    """ECS ``cloud``: where the host runs (provider, account, region)."""
    provider = _text(record, "cloud.provider")
    if not provider:
        return None
    return CloudInfo(
        provider=provider,
        account_uid=_text(record, "cloud.account.id"),
        region=_text(record, "cloud.region"),
    )


def _host_address(value: str) -> bool:
    """Whether an address names this host (not loopback, link-local or unspecified)."""
    if not is_ip(value):
        return False
    address = ipaddress.ip_address(value)
    return not (address.is_loopback or address.is_link_local or address.is_unspecified)


def _actor(record: Mapping[str, Any], obs: Observables) -> UserInfo | None:
    name, domain = _name(record, "user.name"), _text(record, "user.domain")
    obs.add(EntityKind.USER, name, "actor.user.name")
    email = _text(record, "user.email")
    obs.add(EntityKind.EMAIL, email, "actor.user.email_addr")
    if not (name or email):
        return None
    return UserInfo(name=name, uid=_text(record, "user.id"), email=email, domain=domain)


def _process(record: Mapping[str, Any], obs: Observables) -> ProcessInfo | None:
    """The process and its parent (ECS ``process`` / ``process.parent``)."""
    for ecs, ocsf in (("process", "process"), ("process.parent", "process.parent_process")):
        obs.add(EntityKind.PROCESS, field(record, f"{ecs}.name"), f"{ocsf}.name")
        obs.add(EntityKind.COMMAND_LINE, field(record, f"{ecs}.command_line"), f"{ocsf}.cmd_line")
        for algo in ("sha256", "sha1", "md5"):
            value = field(record, f"{ecs}.hash.{algo}")
            obs.add(EntityKind.HASH, value, f"{ocsf}.file.hashes.value")
    parent = _one_process(record, "process.parent", None)
    return _one_process(record, "process", parent)


def _one_process(
    record: Mapping[str, Any], ecs: str, parent: ProcessInfo | None
) -> ProcessInfo | None:
    name, cmd = _text(record, f"{ecs}.name"), _text(record, f"{ecs}.command_line")
    executable = _text(record, f"{ecs}.executable")
    hashes = {algo: _text(record, f"{ecs}.hash.{algo}") for algo in _HASHES}
    # ECS process.executable is the full path of the image; the name is its file name.
    image = (
        file_info(name=name, path=executable, **hashes)
        if executable or any(hashes.values())
        else None
    )
    pid = field(record, f"{ecs}.pid")
    pid = pid if isinstance(pid, int) and not isinstance(pid, bool) and pid >= 0 else None
    if not (name or cmd or image or pid is not None or parent):
        return None
    return ProcessInfo(
        name=name or (image.name if image else None),
        pid=pid,
        cmd_line=cmd,
        file=image,
        user=_name(record, "user.name") if ecs == "process" else None,
        parent_process=parent,
    )


def _file(record: Mapping[str, Any], obs: Observables) -> FileInfo | None:
    """ECS ``file``: ``path`` is the full path, ``directory`` the folder."""
    hashes = {algo: _text(record, f"file.hash.{algo}") for algo in _HASHES}
    info = file_info(
        name=_text(record, "file.name"),
        path=_text(record, "file.path"),
        folder=_text(record, "file.directory"),
        **hashes,
    )
    obs.add(EntityKind.FILE, info.name if info else None, "file.name")
    for value in hashes.values():
        obs.add(EntityKind.HASH, value, "file.hashes.value")
    return info


def _endpoints(
    record: Mapping[str, Any], obs: Observables
) -> tuple[Endpoint | None, Endpoint | None]:
    src_ip, country = _text(record, "source.ip"), _text(record, "source.geo.country_iso_code")
    dst_ip, domain = _text(record, "destination.ip"), _text(record, "destination.domain")
    obs.add(EntityKind.IP, src_ip, "src_endpoint.ip")
    obs.add(EntityKind.COUNTRY, country, "src_endpoint.location.country")
    obs.add(EntityKind.IP, dst_ip, "dst_endpoint.ip")
    obs.add(EntityKind.DOMAIN, domain, "dst_endpoint.domain")
    src_port, dst_port = _port(record, "source.port"), _port(record, "destination.port")
    src_ip, dst_ip = _endpoint_address(src_ip), _endpoint_address(dst_ip)
    src = Endpoint(ip=src_ip, port=src_port, country=country) if src_ip or country else None
    dst = Endpoint(ip=dst_ip, port=dst_port, domain=domain) if dst_ip or domain else None
    return src, dst


def _endpoint_address(value: str | None) -> str | None:
    """An endpoint address; 0.0.0.0 / :: ("any", "not known") is none."""
    if not value or not is_ip(value) or ipaddress.ip_address(value).is_unspecified:
        return None
    return value


def _indicator_matches(enrichments: Any, obs: Observables) -> None:
    """What an indicator match rule matched: ``threat.enrichments[].matched`` atomic values."""
    if not isinstance(enrichments, list):
        return
    for item in enrichments[:_MAX_ENRICHMENTS]:
        # Enrichment is context: a malformed entry is skipped, never a reason to refuse the alert.
        matched_field, atomic = field(item, "matched.field"), field(item, "matched.atomic")
        kind = _matched_kind(matched_field if isinstance(matched_field, str) else None)
        if kind is not None and isinstance(atomic, str):
            obs.add(kind[0], atomic, kind[1])


def _matched_kind(ecs_field: str | None) -> tuple[EntityKind, str] | None:
    if not ecs_field:
        return None
    if ecs_field in _MATCHED_KINDS:
        return _MATCHED_KINDS[ecs_field]
    if ecs_field.endswith(".ip"):
        return EntityKind.IP, "dst_endpoint.ip"
    if any(ecs_field.endswith(f".hash.{algo}") for algo in _HASHES):
        return EntityKind.HASH, "file.hashes.value"
    return None


def _list(record: Mapping[str, Any], path: str) -> list[str]:
    """An ECS field that may hold one value or an array of values."""
    value = field(record, path)
    items = value if isinstance(value, list) else [value]
    return [t for index, item in enumerate(items) if (t := text(item, f"{path}[{index}]"))]


def _port(record: Mapping[str, Any], path: str) -> int | None:
    value = field(record, path)
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 65535
    return value if ok else None


def _attacks(threats: Any) -> tuple[Attack, ...]:
    """ECS ``threat`` entries: tactic plus techniques and their subtechniques."""
    if threats is None:
        return ()
    if not isinstance(threats, list):
        raise RecordRejected("field 'kibana.alert.rule.threat' should be a list")
    out: list[Attack] = []
    for entry in threats:
        if not isinstance(entry, Mapping):
            continue
        tactic_uid = text(field(entry, "tactic.id"), "threat.tactic.id")
        tactic_name = text(field(entry, "tactic.name"), "threat.tactic.name")
        found: list[Attack | None] = []
        techniques = entry.get("technique")
        for item in techniques if isinstance(techniques, list) else []:
            if not isinstance(item, Mapping):
                continue
            found.append(technique(item.get("id"), item.get("name"), tactic_name))
            subs = item.get("subtechnique")
            for sub in subs if isinstance(subs, list) else []:
                if isinstance(sub, Mapping):
                    found.append(technique(sub.get("id"), sub.get("name"), tactic_name))
        attacks = [a.model_copy(update={"tactic_uid": tactic_uid}) for a in found if a]
        if not attacks and (tactic_uid or tactic_name):
            # Same spelling as technique() gives, so tactics compare equal across sources.
            title = tactic_name.replace("-", " ").title() if tactic_name else None
            attacks = [Attack(tactic_uid=tactic_uid, tactic_name=title)]
        out.extend(attacks)
    return tuple(out)
