"""OCSF Detection Finding documents (class_uid 2004), as emitted by OCSF-native tools, and
Security Findings (2001), the class it replaced, which many producers still emit.

Schema: Open Cybersecurity Schema Framework, class ``detection_finding`` (schema.ocsf.io,
1.x) and its objects ``finding_info``, ``attack``, ``analytic``, ``metadata``/``product``,
``device``, ``actor``/``user``, ``process``/``file``/``fingerprint``, ``evidences``,
``network_endpoint``/``location``, ``url``, ``email`` and ``observable``.

The mapping is the identity: the record already has the shape of :class:`Alert`. What this
adapter adds is validation: the attributes the class requires must be there with valid enum
values, and ``type_uid`` must equal ``class_uid * 100 + activity_id``.

Times are epoch milliseconds by the schema, but producers in the wild (Prowler, the OCSF
project's own Okta example) write seconds: a number is read by its magnitude and flagged
``time_unit_inferred``; a ``*_dt`` twin (``time_dt``, ``first_seen_time_dt``) is read when the
number is absent and preferred, flagged, when the two disagree.

A Security Finding (2001) becomes a Detection Finding: its ``finding`` object is the
``finding_info``, its top-level ``analytic`` the analytic, ``type_uid`` is that of 2004 (a
2001 ``type_uid`` may be absent, since it is derived, but must be consistent when given), a
missing ``severity_id`` is Unknown (0), and the alert is flagged ``ocsf_class_2001``. Its
``state`` stays in the raw record: the alert has no status of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

from tierzero.ingest.alert import (
    DETECTION_FINDING_CLASS_UID,
    FINDINGS_CATEGORY_UID,
    OCSF_OBSERVABLE_TYPE_ID,
    Alert,
    Analytic,
    Attack,
    CloudInfo,
    Device,
    Endpoint,
    EntityKind,
    FileInfo,
    ProcessInfo,
    Product,
    Severity,
    UserInfo,
)
from tierzero.ingest.base import (
    FLAG_SAMPLE,
    TACTICS,
    Observables,
    ParseContext,
    RecordRejected,
    TimeRead,
    build_alert,
    canonical_tactic,
    file_info,
    get,
    is_ip,
    read_time,
    technique,
    text,
)

# Names of the OCSF classes a detection pipeline is most often handed by mistake, so a
# rejection says what the record is. Unlisted classes are reported by number only.
_CLASS_NAMES = {
    1001: "File System Activity",
    1007: "Process Activity",
    2001: "Security Finding",
    2002: "Vulnerability Finding",
    2003: "Compliance Finding",
    2005: "Incident Finding",
    2006: "Data Security Finding",
    3001: "Account Change",
    3002: "Authentication",
    3003: "Authorize Session",
    4001: "Network Activity",
    4002: "HTTP Activity",
    4003: "DNS Activity",
    4009: "Email Activity",
    6003: "API Activity",
}
_ACTIVITY_IDS = frozenset({0, 1, 2, 3, 99})  # Unknown, Create, Update, Close, Other
_SEVERITY_IDS = frozenset(int(s) for s in Severity)
# fingerprint.algorithm_id -> FileInfo attribute
_HASH_ALGORITHMS = {1: "md5", 2: "sha1", 3: "sha256"}
_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64}
_TYPE_ID_KIND = {type_id: kind for kind, type_id in OCSF_OBSERVABLE_TYPE_ID.items()}
_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z][A-Za-z0-9-]{0,62}\.?$"
)
_TACTIC_UID = re.compile(r"^TA\d{4}$")
_HOST_NAME = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9])?$")
_MAX_PROCESS_DEPTH = 4
_MAX_RESOURCES = 32
_T = TypeVar("_T")
SECURITY_FINDING_CLASS_UID = 2001
FLAG_CLASS_2001 = "ocsf_class_2001"  # a Security Finding read as a Detection Finding
# Names an untyped (0 Unknown / 99 Other) observable may carry for the event's own host:
# remote names are always qualified (dst_endpoint.hostname, url.hostname).
_DEVICE_NAME_PATHS = frozenset({"hostname", "device.hostname", "device.name"})


class OcsfAdapter:
    """OCSF ``Detection Finding`` records (``class_uid`` 2004)."""

    name: ClassVar[str] = "ocsf"
    vendor: ClassVar[str] = "OCSF"
    product: ClassVar[str] = "OCSF Detection Finding"

    def matches(self, record: Mapping[str, Any]) -> bool:
        # Any OCSF event matches, so that other OCSF classes are rejected with a clear reason
        # rather than reported as an unknown format.
        return (
            "class_uid" in record
            and "metadata" in record
            and ("type_uid" in record or "category_uid" in record)
        )

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        class_uid, activity_id = _check_classification(record)
        legacy = class_uid == SECURITY_FINDING_CLASS_UID
        severity = _severity(record.get("severity_id"), missing_is_unknown=legacy)
        when = _time(record, "time", "time")
        if when is None:
            raise RecordRejected("missing required field 'time'")
        info_path = "finding" if legacy and record.get("finding_info") is None else "finding_info"
        info = _obj(record.get(info_path), info_path)
        if info is None:
            raise RecordRejected(f"missing required field '{info_path}'")
        uid = text(info.get("uid"), f"{info_path}.uid")
        if not uid:
            raise RecordRejected(f"missing required field '{info_path}.uid'")
        product = _product(record)
        analytic = _analytic(info, info_path)
        if legacy and analytic == Analytic():
            analytic = _analytic(record, "")  # 2001 has analytic beside, not in, finding
        title = (
            text(info.get("title"), f"{info_path}.title")
            or analytic.name
            or text(record.get("message"), "message")
        )
        if not title:
            raise RecordRejected(f"missing '{info_path}.title' (and no analytic name or message)")
        first_seen = _time(info, "first_seen_time", f"{info_path}.first_seen_time")
        last_seen = _time(info, "last_seen_time", f"{info_path}.last_seen_time")

        obs = Observables()
        evidences = _list(record.get("evidences"), "evidences")
        scopes: list[tuple[str, Mapping[str, Any]]] = [("", record)]
        scopes += [
            (f"evidences[{i}].", _need_obj(e, f"evidences[{i}]")) for i, e in enumerate(evidences)
        ]
        device = _first(scopes, "device", lambda v, p: _device(v, p, obs))
        actor = _first(scopes, "actor", lambda v, p: _actor(v, p, obs))
        user = _first(scopes, "user", lambda v, p: _user(v, p, obs, "user"))
        process = _first(scopes, "process", lambda v, p: _process(v, p, obs, "process"))
        actor_process = _first(
            scopes, "actor.process", lambda v, p: _process(v, p, obs, "actor.process")
        )
        file = _first(scopes, "file", lambda v, p: _file(v, p, obs, "file"))
        src = _first(scopes, "src_endpoint", lambda v, p: _endpoint(v, p, obs, "src_endpoint"))
        dst = _first(scopes, "dst_endpoint", lambda v, p: _endpoint(v, p, obs, "dst_endpoint"))
        for prefix, scope in scopes:
            _url(scope.get("url"), f"{prefix}url", obs)
            _email(scope.get("email"), f"{prefix}email", obs)
            query = _obj(scope.get("query"), f"{prefix}query")
            if query is not None:
                obs.add(
                    EntityKind.DOMAIN,
                    text(query.get("hostname"), f"{prefix}query.hostname"),
                    "query.hostname",
                )
        _resources(record.get("resources"), obs)
        device_name = _record_observables(record.get("observables"), obs)
        if device is None and device_name:
            device = Device(hostname=device_name)
        cloud = _cloud(record.get("cloud"))
        flags = [*when.flags]
        for seen in (first_seen, last_seen):
            flags += [f for f in (seen.flags if seen else ()) if f not in flags]
        flags += [FLAG_CLASS_2001] if legacy else []
        flags += [FLAG_SAMPLE] if _is_sample(record) else []

        # Keep the tool that produced the finding, not "OCSF", as the alert's product.
        return build_alert(
            self,
            context,
            product=product,
            source_alert_id=uid,
            title=title,
            time=when.at,
            severity=severity,
            observables=obs,
            original_time=text(get(record, "metadata.original_time"), "metadata.original_time")
            or text(record.get("time_dt"), "time_dt")
            or text(record.get("time"), "time"),
            activity_id=activity_id,
            message=text(record.get("message"), "message"),
            device=device,
            actor=actor or user,
            process=process or actor_process,
            file=file,
            src_endpoint=src,
            dst_endpoint=dst,
            cloud=cloud,
            flags=tuple(flags),
            finding_desc=text(info.get("desc"), f"{info_path}.desc"),
            finding_types=tuple(_texts(info.get("types"), f"{info_path}.types")),
            finding_analytic=analytic,
            finding_attacks=_attacks(info.get("attacks"), f"{info_path}.attacks")
            + _attacks(record.get("attacks"), "attacks"),
            finding_src_url=text(info.get("src_url"), f"{info_path}.src_url"),
            finding_first_seen_time=first_seen.at if first_seen else None,
            finding_last_seen_time=last_seen.at if last_seen else None,
        )


# --- classification and required attributes ------------------------------------------------


def _int_id(value: Any, field_name: str) -> int:
    if value is None:
        raise RecordRejected(f"missing required field '{field_name}'")
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordRejected(f"field '{field_name}' should be an integer, got {value!r:.40}")
    return value


def _check_classification(record: Mapping[str, Any]) -> tuple[int, int]:
    """(class_uid, activity_id) of a Detection Finding or a Security Finding."""
    class_uid = _int_id(record.get("class_uid"), "class_uid")
    if class_uid not in (DETECTION_FINDING_CLASS_UID, SECURITY_FINDING_CLASS_UID):
        name = _CLASS_NAMES.get(class_uid)
        label = f"{class_uid} ({name})" if name else str(class_uid)
        raise RecordRejected(
            f"OCSF class_uid {label} is not a Detection Finding (2004) or Security Finding (2001)"
        )
    category_uid = _int_id(record.get("category_uid"), "category_uid")
    if category_uid != FINDINGS_CATEGORY_UID:
        raise RecordRejected(f"OCSF category_uid {category_uid} is not Findings (2)")
    activity_id = _int_id(record.get("activity_id"), "activity_id")
    if activity_id not in _ACTIVITY_IDS:
        raise RecordRejected(f"activity_id {activity_id} is not a Detection Finding activity")
    if class_uid == SECURITY_FINDING_CLASS_UID and record.get("type_uid") is None:
        return class_uid, activity_id  # derived from the two above; recomputed for 2004
    type_uid = _int_id(record.get("type_uid"), "type_uid")
    if type_uid != class_uid * 100 + activity_id:
        raise RecordRejected(
            f"type_uid {type_uid} is inconsistent: class_uid {class_uid} and activity_id "
            f"{activity_id} give {class_uid * 100 + activity_id}"
        )
    return class_uid, activity_id


def _severity(value: Any, *, missing_is_unknown: bool = False) -> Severity:
    if value is None and missing_is_unknown:
        return Severity.UNKNOWN
    severity_id = _int_id(value, "severity_id")
    if severity_id not in _SEVERITY_IDS:
        raise RecordRejected(f"severity_id {severity_id} is not an OCSF severity (0-6 or 99)")
    return Severity(severity_id)


def _time(obj: Mapping[str, Any], key: str, path: str) -> TimeRead | None:
    """An OCSF timestamp (epoch ms) with its ``_dt`` twin; None when neither is there."""
    value, twin = obj.get(key), obj.get(f"{key}_dt")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise RecordRejected(f"field '{path}' should be epoch milliseconds, got {value!r:.40}")
    if value is None and twin in (None, ""):
        return None
    if twin is not None and not isinstance(twin, str):
        raise RecordRejected(f"field '{path}_dt' should be a date-time text, got {twin!r:.40}")
    return read_time(value, path, unit="ms", twin=twin, twin_field=f"{path}_dt")


def _is_sample(record: Mapping[str, Any]) -> bool:
    """A vendor sample: Security Hub's ``Sample`` field, which its OCSF mapping keeps in
    ``unmapped``."""
    unmapped = record.get("unmapped")
    sample = unmapped.get("Sample") if isinstance(unmapped, Mapping) else None
    return sample is True or (isinstance(sample, str) and sample.strip().lower() == "true")


def _product(record: Mapping[str, Any]) -> Product:
    metadata = _obj(record.get("metadata"), "metadata")
    if metadata is None:
        raise RecordRejected("missing required field 'metadata'")
    if not text(metadata.get("version"), "metadata.version"):
        raise RecordRejected("missing required field 'metadata.version'")
    product = _obj(metadata.get("product"), "metadata.product")
    if product is None:
        raise RecordRejected("missing required field 'metadata.product'")
    name = text(product.get("name"), "metadata.product.name") or text(
        product.get("uid"), "metadata.product.uid"
    )
    if not name:
        raise RecordRejected("'metadata.product' needs a name or uid")
    vendor = text(product.get("vendor_name"), "metadata.product.vendor_name") or "unknown"
    return Product(name=name, vendor_name=vendor)


# --- type-checked access -------------------------------------------------------------------


def _obj(value: Any, path: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecordRejected(f"field '{path}' should be an object, got {type(value).__name__}")
    return value


def _need_obj(value: Any, path: str) -> Mapping[str, Any]:
    checked = _obj(value, path)
    if checked is None:
        raise RecordRejected(f"field '{path}' should be an object, got null")
    return checked


def _list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordRejected(f"field '{path}' should be a list, got {type(value).__name__}")
    return value


def _texts(value: Any, path: str) -> list[str]:
    return [t for i, v in enumerate(_list(value, path)) if (t := text(v, f"{path}[{i}]"))]


def _first(
    scopes: list[tuple[str, Mapping[str, Any]]],
    key: str,
    build: Callable[[Mapping[str, Any], str], _T | None],
) -> _T | None:
    """Build ``key`` from every scope (all feed observables); the first non-empty one wins."""
    found: _T | None = None
    for prefix, scope in scopes:
        value = get(scope, key)
        if value is None:
            continue
        built = build(_need_obj(value, prefix + key), prefix + key)
        found = found or built
    return found


# --- objects -------------------------------------------------------------------------------


def _device(value: Mapping[str, Any], path: str, obs: Observables) -> Device | None:
    hostname = text(value.get("hostname"), f"{path}.hostname") or text(
        value.get("name"), f"{path}.name"
    )
    ip = _ip(text(value.get("ip"), f"{path}.ip"))
    uid = text(value.get("uid"), f"{path}.uid")
    os_obj = _obj(value.get("os"), f"{path}.os")
    os_name = text(os_obj.get("name"), f"{path}.os.name") if os_obj else None
    obs.add(EntityKind.HOST, hostname, "device.hostname")
    obs.add(EntityKind.IP, ip, "device.ip")
    if not (hostname or ip or uid):
        return None
    return Device(hostname=hostname, ip=ip, uid=uid, os=os_name)


def _user(value: Mapping[str, Any], path: str, obs: Observables, name: str) -> UserInfo | None:
    user = UserInfo(
        name=text(value.get("name"), f"{path}.name"),
        uid=text(value.get("uid"), f"{path}.uid"),
        email=text(value.get("email_addr"), f"{path}.email_addr"),
        domain=text(value.get("domain"), f"{path}.domain"),
    )
    obs.add(EntityKind.USER, user.name, f"{name}.name")
    obs.add(EntityKind.EMAIL, user.email, f"{name}.email_addr")
    return user if user.name or user.uid or user.email else None


def _actor(value: Mapping[str, Any], path: str, obs: Observables) -> UserInfo | None:
    user = _obj(value.get("user"), f"{path}.user")
    return _user(user, f"{path}.user", obs, "actor.user") if user is not None else None


def _hashes(value: Any, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, item in enumerate(_list(value, path)):
        fingerprint = _need_obj(item, f"{path}[{i}]")
        algorithm_id = fingerprint.get("algorithm_id")
        algorithm = _HASH_ALGORITHMS.get(algorithm_id) if isinstance(algorithm_id, int) else None
        digest = text(fingerprint.get("value"), f"{path}[{i}].value")
        if algorithm and digest and len(digest) == _HEX_LENGTH[algorithm]:
            out.setdefault(algorithm, digest.lower())
    return out


def _file(value: Mapping[str, Any], path: str, obs: Observables, name: str) -> FileInfo | None:
    hashes = _hashes(value.get("hashes"), f"{path}.hashes")
    info = file_info(
        name=text(value.get("name"), f"{path}.name"),
        path=text(value.get("path"), f"{path}.path"),
        folder=text(value.get("parent_folder"), f"{path}.parent_folder"),
        **hashes,
    )
    obs.add(EntityKind.FILE, info.name if info else None, f"{name}.name")
    for digest in hashes.values():
        obs.add(EntityKind.HASH, digest, f"{name}.hashes.value")
    return info


def _ip(value: str | None) -> str | None:
    return value if value and is_ip(value) else None


def _pid(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _process(
    value: Mapping[str, Any], path: str, obs: Observables, name: str, depth: int = 0
) -> ProcessInfo | None:
    file_obj = _obj(value.get("file"), f"{path}.file")
    file = _file(file_obj, f"{path}.file", obs, f"{name}.file") if file_obj else None
    user_obj = _obj(value.get("user"), f"{path}.user")
    user = _user(user_obj, f"{path}.user", obs, f"{name}.user") if user_obj else None
    process_name = text(value.get("name"), f"{path}.name") or (file.name if file else None)
    cmd_line = text(value.get("cmd_line"), f"{path}.cmd_line")
    obs.add(EntityKind.PROCESS, process_name, f"{name}.name")
    obs.add(EntityKind.COMMAND_LINE, cmd_line, f"{name}.cmd_line")
    parent_obj = _obj(value.get("parent_process"), f"{path}.parent_process")
    parent = None
    if parent_obj is not None and depth < _MAX_PROCESS_DEPTH:
        parent = _process(
            parent_obj, f"{path}.parent_process", obs, f"{name}.parent_process", depth + 1
        )
    info = ProcessInfo(
        name=process_name,
        pid=_pid(value.get("pid")),
        cmd_line=cmd_line,
        file=file,
        user=user.name if user else None,
        parent_process=parent,
    )
    return info if info != ProcessInfo() else None


def _endpoint(value: Mapping[str, Any], path: str, obs: Observables, name: str) -> Endpoint | None:
    location = _obj(value.get("location"), f"{path}.location")
    country = text(location.get("country"), f"{path}.location.country") if location else None
    port = value.get("port")
    endpoint = Endpoint(
        ip=_ip(text(value.get("ip"), f"{path}.ip")),
        port=port
        if isinstance(port, int) and not isinstance(port, bool) and 0 <= port <= 65535
        else None,
        hostname=text(value.get("hostname"), f"{path}.hostname"),
        domain=text(value.get("domain"), f"{path}.domain"),
        country=country,
    )
    obs.add(EntityKind.IP, endpoint.ip, f"{name}.ip")
    obs.add(_endpoint_name_kind(endpoint), endpoint.hostname, f"{name}.hostname")
    obs.add(EntityKind.DOMAIN, endpoint.domain, f"{name}.domain")
    obs.add(EntityKind.COUNTRY, country, f"{name}.location.country")
    return endpoint if endpoint != Endpoint() else None


def _endpoint_name_kind(endpoint: Endpoint) -> EntityKind:
    """A single-label name (``LT-FIN-042``) is a HOST; a dotted name is a DOMAIN."""
    return EntityKind.DOMAIN if "." in (endpoint.hostname or "") else EntityKind.HOST


def _url(value: Any, path: str, obs: Observables) -> None:
    url = _obj(value, path)
    if url is not None:
        obs.add(EntityKind.URL, text(url.get("url_string"), f"{path}.url_string"), "url.url_string")
        obs.add(EntityKind.DOMAIN, text(url.get("hostname"), f"{path}.hostname"), "url.hostname")


def _email(value: Any, path: str, obs: Observables) -> None:
    email = _obj(value, path)
    if email is None:
        return
    obs.add(EntityKind.EMAIL, text(email.get("from"), f"{path}.from"), "email.from")
    for address in _texts(email.get("to"), f"{path}.to"):
        obs.add(EntityKind.EMAIL, address, "email.to")
    obs.add(
        EntityKind.EMAIL_SUBJECT, text(email.get("subject"), f"{path}.subject"), "email.subject"
    )
    for i, url in enumerate(_list(email.get("urls"), f"{path}.urls")):
        _url(url, f"{path}.urls[{i}]", obs)


def _cloud(value: Any) -> CloudInfo | None:
    cloud = _obj(value, "cloud")
    provider = text(cloud.get("provider"), "cloud.provider") if cloud else None
    if cloud is None or not provider:
        return None
    account = _obj(cloud.get("account"), "cloud.account")
    return CloudInfo(
        provider=provider,
        account_uid=text(account.get("uid"), "cloud.account.uid") if account else None,
        region=text(cloud.get("region"), "cloud.region"),
    )


def _analytic(parent: Mapping[str, Any], parent_path: str) -> Analytic:
    path = f"{parent_path}.analytic" if parent_path else "analytic"
    analytic = _obj(parent.get("analytic"), path)
    if analytic is None:
        return Analytic()
    return Analytic(
        uid=text(analytic.get("uid"), f"{path}.uid"),
        name=text(analytic.get("name"), f"{path}.name"),
    )


def _attacks(value: Any, path: str) -> tuple[Attack, ...]:
    """``attack`` objects: technique (or sub_technique) plus tactic, or the older ``tactics``."""
    out: list[Attack] = []
    for i, item in enumerate(_list(value, path)):
        attack = _need_obj(item, f"{path}[{i}]")
        where = f"{path}[{i}]"
        tech = _obj(attack.get("sub_technique"), f"{where}.sub_technique") or _obj(
            attack.get("technique"), f"{where}.technique"
        )
        technique_uid = technique_name = None
        if tech is not None:
            checked = technique(
                text(tech.get("uid"), f"{where}.technique.uid"),
                text(tech.get("name"), f"{where}.technique.name"),
            )
            if checked is not None:
                technique_uid, technique_name = checked.technique_uid, checked.technique_name
        tactics = [
            _need_obj(t, f"{where}.tactics[{j}]")
            for j, t in enumerate(_list(attack.get("tactics"), f"{where}.tactics"))
        ]
        tactic = _obj(attack.get("tactic"), f"{where}.tactic")
        if tactic is not None:
            tactics.insert(0, tactic)
        pairs = [_tactic(t, f"{where}.tactic") for t in tactics] or [(None, None)]
        for tactic_uid, tactic_name in pairs:
            if technique_uid or tactic_uid or tactic_name:
                out.append(
                    Attack(
                        technique_uid=technique_uid,
                        technique_name=technique_name,
                        tactic_uid=tactic_uid,
                        tactic_name=tactic_name,
                    )
                )
    return tuple(out)


def _tactic(tactic: Mapping[str, Any], path: str) -> tuple[str | None, str | None]:
    """(uid, name) in ATT&CK's own spelling when recognized, else as written."""
    uid = text(tactic.get("uid"), f"{path}.uid")
    uid = uid.upper() if uid and _TACTIC_UID.match(uid.upper()) else None
    name = text(tactic.get("name"), f"{path}.name")
    if uid and uid in TACTICS:
        return canonical_tactic(uid)
    if name:
        known_uid, known_name = canonical_tactic(name)
        return known_uid or uid, known_name
    return uid, None


# --- the record's own observables ----------------------------------------------------------


def _resources(value: Any, obs: Observables) -> None:
    """``resources[]`` (resource_details): each resource once, by uid, else by name."""
    for i, item in enumerate(_list(value, "resources")[:_MAX_RESOURCES]):
        resource = _need_obj(item, f"resources[{i}]")
        uid = text(resource.get("uid"), f"resources[{i}].uid")
        name = text(resource.get("name"), f"resources[{i}].name")
        obs.add(
            EntityKind.CLOUD_RESOURCE, uid or name, "resources.uid" if uid else "resources.name"
        )


def _record_observables(value: Any, obs: Observables) -> str | None:
    """Add the record's own observables; return the event's host name if one names it."""
    device_name = None
    for i, item in enumerate(_list(value, "observables")):
        observable = _need_obj(item, f"observables[{i}]")
        type_id = observable.get("type_id")
        value_text = text(observable.get("value"), f"observables[{i}].value")
        name = text(observable.get("name"), f"observables[{i}].name")
        kind = _observable_kind(type_id, name, value_text)
        if kind is not None and value_text:
            obs.add(kind, value_text, name or f"observables.{kind.value}")
            if kind is EntityKind.HOST and name in _DEVICE_NAME_PATHS:
                device_name = device_name or value_text
    return device_name


def _observable_kind(type_id: Any, name: str | None, value: str | None) -> EntityKind | None:
    """Map ``observable.type_id`` to an :class:`EntityKind`.

    Two cases need the name as well: ``Hostname`` (1) names hosts and domains alike, and a
    remote name must not become a HOST (a containment target); ``Other`` (99) is what tierzero
    exports domains as, and is taken as a DOMAIN only when the value looks like one.
    """
    if isinstance(type_id, bool) or not isinstance(type_id, int) or not value:
        return None
    looks_like_domain = bool(_DOMAIN.match(value))
    if name in _DEVICE_NAME_PATHS and type_id in (0, 1, 99) and _HOST_NAME.match(value):
        return EntityKind.HOST  # the event's own host (Falco writes it untyped, as "hostname")
    if type_id == 99:
        named = any(word in (name or "") for word in ("domain", "hostname"))
        return EntityKind.DOMAIN if looks_like_domain and named else None
    kind = _TYPE_ID_KIND.get(type_id)
    if kind is EntityKind.HOST and name and not name.startswith("device.") and looks_like_domain:
        return EntityKind.DOMAIN
    return kind
