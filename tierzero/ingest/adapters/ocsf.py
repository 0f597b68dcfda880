"""OCSF Detection Finding documents (class_uid 2004), as emitted by OCSF-native tools.

Schema: Open Cybersecurity Schema Framework, class ``detection_finding`` (schema.ocsf.io,
1.x) and its objects ``finding_info``, ``attack``, ``analytic``, ``metadata``/``product``,
``device``, ``actor``/``user``, ``process``/``file``/``fingerprint``, ``evidences``,
``network_endpoint``/``location``, ``url``, ``email`` and ``observable``.

The mapping is the identity: the record already has the shape of :class:`Alert`. What this
adapter adds is validation: the attributes the class requires must be there with valid enum
values, and ``type_uid`` must equal ``class_uid * 100 + activity_id``.
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
    TACTICS,
    Observables,
    ParseContext,
    RecordRejected,
    build_alert,
    canonical_tactic,
    get,
    is_ip,
    parse_time,
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
_MAX_PROCESS_DEPTH = 4
_T = TypeVar("_T")
_EPOCH_MS_FLOOR = 10**11  # 1973-03-03 in milliseconds, year 5138 in seconds


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
        activity_id = _check_classification(record)
        severity = _severity(record.get("severity_id"))
        time = _epoch_ms(record.get("time"), "time")
        info = _obj(record.get("finding_info"), "finding_info")
        if info is None:
            raise RecordRejected("missing required field 'finding_info'")
        uid = text(info.get("uid"), "finding_info.uid")
        if not uid:
            raise RecordRejected("missing required field 'finding_info.uid'")
        product = _product(record)
        analytic = _analytic(info)
        title = (
            text(info.get("title"), "finding_info.title")
            or analytic.name
            or text(record.get("message"), "message")
        )
        if not title:
            raise RecordRejected("missing 'finding_info.title' (and no analytic name or message)")

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
        _record_observables(record.get("observables"), obs)
        cloud = _cloud(record.get("cloud"))

        # Keep the tool that produced the finding, not "OCSF", as the alert's product.
        return build_alert(
            self,
            context,
            product=product,
            source_alert_id=uid,
            title=title,
            time=time,
            severity=severity,
            observables=obs,
            original_time=text(get(record, "metadata.original_time"), "metadata.original_time")
            or text(record.get("time_dt"), "time_dt")
            or str(record["time"]),
            activity_id=activity_id,
            message=text(record.get("message"), "message"),
            device=device,
            actor=actor or user,
            process=process or actor_process,
            file=file,
            src_endpoint=src,
            dst_endpoint=dst,
            cloud=cloud,
            finding_desc=text(info.get("desc"), "finding_info.desc"),
            finding_types=tuple(_texts(info.get("types"), "finding_info.types")),
            finding_analytic=analytic,
            finding_attacks=_attacks(info.get("attacks"), "finding_info.attacks")
            + _attacks(record.get("attacks"), "attacks"),
            finding_src_url=text(info.get("src_url"), "finding_info.src_url"),
            finding_first_seen_time=_optional_ms(
                info.get("first_seen_time"), "finding_info.first_seen_time"
            ),
            finding_last_seen_time=_optional_ms(
                info.get("last_seen_time"), "finding_info.last_seen_time"
            ),
        )


# --- classification and required attributes ------------------------------------------------


def _int_id(value: Any, field_name: str) -> int:
    if value is None:
        raise RecordRejected(f"missing required field '{field_name}'")
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordRejected(f"field '{field_name}' should be an integer, got {value!r:.40}")
    return value


def _check_classification(record: Mapping[str, Any]) -> int:
    class_uid = _int_id(record.get("class_uid"), "class_uid")
    if class_uid != DETECTION_FINDING_CLASS_UID:
        name = _CLASS_NAMES.get(class_uid)
        label = f"{class_uid} ({name})" if name else str(class_uid)
        raise RecordRejected(f"OCSF class_uid {label} is not a Detection Finding (2004)")
    category_uid = _int_id(record.get("category_uid"), "category_uid")
    if category_uid != FINDINGS_CATEGORY_UID:
        raise RecordRejected(f"OCSF category_uid {category_uid} is not Findings (2)")
    activity_id = _int_id(record.get("activity_id"), "activity_id")
    if activity_id not in _ACTIVITY_IDS:
        raise RecordRejected(f"activity_id {activity_id} is not a Detection Finding activity")
    type_uid = _int_id(record.get("type_uid"), "type_uid")
    if type_uid != class_uid * 100 + activity_id:
        raise RecordRejected(
            f"type_uid {type_uid} is inconsistent: class_uid {class_uid} and activity_id "
            f"{activity_id} give {class_uid * 100 + activity_id}"
        )
    return activity_id


def _severity(value: Any) -> Severity:
    severity_id = _int_id(value, "severity_id")
    if severity_id not in _SEVERITY_IDS:
        raise RecordRejected(f"severity_id {severity_id} is not an OCSF severity (0-6 or 99)")
    return Severity(severity_id)


def _epoch_ms(value: Any, field_name: str) -> Any:
    if value is None:
        raise RecordRejected(f"missing required field '{field_name}'")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordRejected(
            f"field '{field_name}' should be epoch milliseconds, got {value!r:.40}"
        )
    if 0 < value < _EPOCH_MS_FLOOR:
        raise RecordRejected(
            f"field '{field_name}' {value!r:.20} looks like epoch seconds; OCSF times are "
            "epoch milliseconds"
        )
    return parse_time(value, field_name, "epoch_ms")


def _optional_ms(value: Any, field_name: str) -> Any:
    return None if value is None else _epoch_ms(value, field_name)


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
    info = FileInfo(
        name=text(value.get("name"), f"{path}.name"),
        path=text(value.get("path"), f"{path}.path"),
        **hashes,
    )
    obs.add(EntityKind.FILE, info.name, f"{name}.name")
    for digest in hashes.values():
        obs.add(EntityKind.HASH, digest, f"{name}.hashes.value")
    return info if info.name or info.path or hashes else None


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


def _analytic(info: Mapping[str, Any]) -> Analytic:
    analytic = _obj(info.get("analytic"), "finding_info.analytic")
    if analytic is None:
        return Analytic()
    return Analytic(
        uid=text(analytic.get("uid"), "finding_info.analytic.uid"),
        name=text(analytic.get("name"), "finding_info.analytic.name"),
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


def _record_observables(value: Any, obs: Observables) -> None:
    for i, item in enumerate(_list(value, "observables")):
        observable = _need_obj(item, f"observables[{i}]")
        type_id = observable.get("type_id")
        value_text = text(observable.get("value"), f"observables[{i}].value")
        name = text(observable.get("name"), f"observables[{i}].name")
        kind = _observable_kind(type_id, name, value_text)
        if kind is not None and value_text:
            obs.add(kind, value_text, name or f"observables.{kind.value}")


def _observable_kind(type_id: Any, name: str | None, value: str | None) -> EntityKind | None:
    """Map ``observable.type_id`` to an :class:`EntityKind`.

    Two cases need the name as well: ``Hostname`` (1) names hosts and domains alike, and a
    remote name must not become a HOST (a containment target); ``Other`` (99) is what tierzero
    exports domains as, and is taken as a DOMAIN only when the value looks like one.
    """
    if isinstance(type_id, bool) or not isinstance(type_id, int) or not value:
        return None
    looks_like_domain = bool(_DOMAIN.match(value))
    if type_id == 99:
        named = any(word in (name or "") for word in ("domain", "hostname"))
        return EntityKind.DOMAIN if looks_like_domain and named else None
    kind = _TYPE_ID_KIND.get(type_id)
    if kind is EntityKind.HOST and name and not name.startswith("device.") and looks_like_domain:
        return EntityKind.DOMAIN
    return kind
