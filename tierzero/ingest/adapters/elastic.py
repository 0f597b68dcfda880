"""Elastic Security detection alerts (the ``_source`` of ``.alerts-security.alerts-*`` documents).

Schema: Elastic Security docs, "Alert schema" (``kibana.alert.*`` fields) and the Elastic Common
Schema (ECS) reference for the event fields copied into the alert (host, user, process, file,
source, destination, url, dns). Alert documents store ``kibana.alert.*`` as flat dotted keys and
ECS fields as nested objects; exports and pipelines mix both, so every read goes through
:func:`field`, which accepts either spelling. The reader unwraps ``_search`` responses.

Severity: ``kibana.alert.severity`` (low/medium/high/critical); when it is absent, the rule's
``kibana.alert.risk_score`` with Elastic's documented ranges (0-21 low, 22-47 medium,
48-73 high, 74-100 critical).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

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
    build_alert,
    parse_time,
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
        time = parse_time(field(record, "@timestamp"), "@timestamp")
        original = field(record, "kibana.alert.original_time")
        first_seen = parse_time(original, "kibana.alert.original_time") if original else None

        obs = Observables()
        device = _device(record, obs)
        actor = _actor(record, obs)
        process = _process(record, obs)
        file = _file(record, obs)
        src, dst = _endpoints(record, obs)
        obs.add(EntityKind.URL, field(record, "url.full"), "url.url_string")
        obs.add(EntityKind.DOMAIN, field(record, "dns.question.name"), "query.hostname")

        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=rule_name,
            time=time,
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
            finding_desc=_text(record, "kibana.alert.rule.description"),
            finding_first_seen_time=first_seen,
            finding_analytic=Analytic(
                uid=_text(record, "kibana.alert.rule.rule_id")
                or _text(record, "kibana.alert.rule.uuid"),
                name=rule_name,
            ),
            finding_attacks=_attacks(field(record, "kibana.alert.rule.threat")),
        )


def _required(record: Mapping[str, Any], path: str) -> str:
    value = _text(record, path)
    if not value:
        raise RecordRejected(f"missing required field '{path}'")
    return value


def _severity(record: Mapping[str, Any]) -> Severity:
    severity = severity_from_word(field(record, "kibana.alert.severity"))
    if severity is Severity.UNKNOWN:
        score = field(record, "kibana.alert.risk_score")
        if isinstance(score, int | float) and not isinstance(score, bool):
            severity = severity_from_number(score, _RISK_SCALE)
    return severity


def _device(record: Mapping[str, Any], obs: Observables) -> Device | None:
    name, hostname = _text(record, "host.name"), _text(record, "host.hostname")
    obs.add(EntityKind.HOST, hostname, "device.hostname")
    obs.add(EntityKind.HOST, name, "device.name")
    ips = _list(record, "host.ip")
    for ip in ips:
        obs.add(EntityKind.IP, ip, "device.ip")
    os_name = _text(record, "host.os.full") or _text(record, "host.os.name")
    uid = _text(record, "host.id")
    if not (name or hostname or ips or uid):
        return None
    return Device(hostname=hostname or name, ip=ips[0] if ips else None, uid=uid, os=os_name)


def _actor(record: Mapping[str, Any], obs: Observables) -> UserInfo | None:
    name, domain = _text(record, "user.name"), _text(record, "user.domain")
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
    hashes = {algo: _text(record, f"{ecs}.hash.{algo}") for algo in ("sha256", "sha1", "md5")}
    has_file = bool(executable or any(hashes.values()))
    if not (name or cmd or has_file or parent):
        return None
    pid = field(record, f"{ecs}.pid")
    return ProcessInfo(
        name=name,
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) and pid >= 0 else None,
        cmd_line=cmd,
        file=FileInfo(name=name, path=executable, **hashes) if has_file else None,
        user=_text(record, "user.name") if ecs == "process" else None,
        parent_process=parent,
    )


def _file(record: Mapping[str, Any], obs: Observables) -> FileInfo | None:
    name, path = _text(record, "file.name"), _text(record, "file.path")
    hashes = {algo: _text(record, f"file.hash.{algo}") for algo in ("sha256", "sha1", "md5")}
    obs.add(EntityKind.FILE, name, "file.name")
    for value in hashes.values():
        obs.add(EntityKind.HASH, value, "file.hashes.value")
    if not (name or path or any(hashes.values())):
        return None
    return FileInfo(name=name, path=path, **hashes)


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
    src = Endpoint(ip=src_ip, port=src_port, country=country) if src_ip or country else None
    dst = Endpoint(ip=dst_ip, port=dst_port, domain=domain) if dst_ip or domain else None
    return src, dst


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
