"""Amazon GuardDuty findings (``GetFindings`` output, or EventBridge ``GuardDuty Finding`` events).

Schema: Amazon GuardDuty API Reference, ``Finding`` and its nested types (Resource:
AccessKeyDetails, InstanceDetails, S3BucketDetails, Container, EksClusterDetails,
KubernetesDetails, EcsClusterDetails/EcsTaskDetails, RdsDbInstanceDetails, RdsDbUserDetails,
LambdaDetails; Service: Action with AwsApiCallAction, NetworkConnectionAction,
PortProbeAction, DnsRequestAction, KubernetesApiCallAction, RdsLoginAttemptAction,
RemoteIpDetails; RuntimeDetails with ProcessDetails and LineageObject; EventFirstSeen,
EventLastSeen, Count) and the User Guide pages "GuardDuty finding format" (finding type
``ThreatPurpose:ResourceTypeAffected/ThreatFamilyName``), "Sample findings" and "Severity
levels" (1.0-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical).

Sample findings (``Service.AdditionalInfo.Sample`` true, which the console and
``CreateSampleFindings`` set) are read like any finding and flagged ``sample``: a trial user
can see the whole pipeline on them, and triage says they are samples.

The AWS CLI and SDKs print findings in PascalCase (``AccountId``, ``Service.EventLastSeen``);
the REST wire format, S3 exports and EventBridge events (``{"detail-type": "GuardDuty
Finding", "source": "aws.guardduty", "detail": {...}}``) use camelCase (``accountId``): both
are read. GuardDuty findings carry no ATT&CK technique ids; the threat purpose is mapped to an
ATT&CK tactic only where the two name the same stage (see ``_TACTICS``).
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
    CloudInfo,
    Device,
    Endpoint,
    EntityKind,
    ProcessInfo,
    Severity,
    UserInfo,
)
from tierzero.ingest.base import (
    FLAG_SAMPLE,
    Observables,
    ParseContext,
    RecordRejected,
    build_alert,
    file_info,
    is_ip,
    load_json,
    parse_time,
    severity_from_number,
    text,
)

_SCALE = (
    (9.0, Severity.CRITICAL),
    (7.0, Severity.HIGH),
    (4.0, Severity.MEDIUM),
    (1.0, Severity.LOW),
)
# Threat purpose -> ATT&CK tactic. Purposes with no single matching tactic (UnauthorizedAccess,
# Backdoor, Behavior, CryptoCurrency, Trojan, PenTest, Policy, AttackSequence) are not mapped.
_TACTICS: dict[str, tuple[str, str]] = {
    "CredentialAccess": ("TA0006", "Credential Access"),
    "DefenseEvasion": ("TA0005", "Defense Evasion"),
    "Stealth": ("TA0005", "Defense Evasion"),
    "Discovery": ("TA0007", "Discovery"),
    "Execution": ("TA0002", "Execution"),
    "Exfiltration": ("TA0010", "Exfiltration"),
    "Impact": ("TA0040", "Impact"),
    "InitialAccess": ("TA0001", "Initial Access"),
    "Persistence": ("TA0003", "Persistence"),
    "PrivilegeEscalation": ("TA0004", "Privilege Escalation"),
    "Recon": ("TA0043", "Reconnaissance"),
}
_MAX_ITEMS = 32


def _get(obj: Any, path: str) -> Any:
    """Read a PascalCase dotted path, accepting the camelCase spelling of each part."""
    current = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        if part in current:
            current = current[part]
        else:
            current = current.get(part[:1].lower() + part[1:])
    return current


def _text(obj: Any, path: str) -> str | None:
    return text(_get(obj, path), path)


def _object(obj: Any, path: str) -> Mapping[str, Any] | None:
    """An optional nested object; present but not an object rejects the record."""
    value = _get(obj, path)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise RecordRejected(f"field '{path}' should be an object, got {type(value).__name__}")
    return value


def _list(obj: Any, path: str) -> list[Any]:
    value = _get(obj, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordRejected(f"field '{path}' should be a list, got {type(value).__name__}")
    return value[:_MAX_ITEMS]


class GuardDutyAdapter:
    """GuardDuty findings, bare or inside an EventBridge event."""

    name: ClassVar[str] = "guardduty"
    vendor: ClassVar[str] = "Amazon Web Services"
    product: ClassVar[str] = "Amazon GuardDuty"

    def matches(self, record: Mapping[str, Any]) -> bool:
        if record.get("source") == "aws.guardduty" and "detail-type" in record:
            return True
        if record.get("detail-type") == "GuardDuty Finding":
            return isinstance(record.get("detail"), Mapping)
        if _get(record, "SchemaVersion") is None or _get(record, "Type") is None:
            return False
        arn = _get(record, "Arn")
        return (isinstance(arn, str) and ":guardduty:" in arn) or (
            _get(record, "Service.ServiceName") == "guardduty"
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
        finding = _unwrap(record)
        uid = _required(finding, "Id")
        finding_type = _required(finding, "Type")
        last_seen = "Service.EventLastSeen"
        time_path = last_seen if _get(finding, last_seen) else "UpdatedAt"
        stamp = _get(finding, time_path)
        if stamp is None or stamp == "":
            raise RecordRejected("missing required field 'Service.EventLastSeen' (or 'UpdatedAt')")
        time = parse_time(stamp, time_path)
        for path in ("Resource", "Service", "Service.Action", "Service.AdditionalInfo"):
            _object(finding, path)

        obs = Observables()
        actor = _actor(finding, obs)
        _resources(finding, obs)
        device = _instance(finding, obs)
        process = _runtime_process(finding, obs)
        src, dst, message = _action(finding, obs, device)

        first_seen = _get(finding, "Service.EventFirstSeen")
        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=_text(finding, "Title") or finding_type,
            time=time,
            severity=_severity(_get(finding, "Severity")),
            observables=obs,
            original_time=stamp,
            message=message,
            device=device,
            actor=actor,
            process=process,
            src_endpoint=src,
            dst_endpoint=dst,
            cloud=CloudInfo(
                provider="AWS",
                account_uid=_text(finding, "AccountId") or text(record.get("account"), "account"),
                region=_text(finding, "Region") or text(record.get("region"), "region"),
            ),
            flags=(FLAG_SAMPLE,) if _is_sample(finding) else (),
            finding_desc=_text(finding, "Description"),
            finding_types=(finding_type,),
            finding_analytic=Analytic(uid=finding_type, name=finding_type),
            finding_attacks=_attacks(finding_type),
            finding_first_seen_time=parse_time(first_seen, "Service.EventFirstSeen")
            if first_seen
            else None,
            finding_last_seen_time=time if time_path == last_seen else None,
        )


def _unwrap(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The finding itself: the record, or the ``detail`` of an EventBridge event."""
    if "detail-type" not in record:
        return record
    detail_type = text(record.get("detail-type"), "detail-type")
    if detail_type != "GuardDuty Finding":
        raise RecordRejected(
            f"EventBridge detail-type {str(detail_type)[:60]!r} is not a GuardDuty finding"
        )
    detail = record.get("detail")
    if not isinstance(detail, Mapping) or not detail:
        raise RecordRejected("EventBridge event has no finding object in 'detail'")
    return detail


def _required(finding: Mapping[str, Any], path: str) -> str:
    value = _text(finding, path)
    if not value:
        raise RecordRejected(f"missing required field '{path}'")
    return value


def _severity(value: Any) -> Severity:
    if value is None or value == "":
        return Severity.UNKNOWN
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RecordRejected(f"field 'Severity' should be a number, got {type(value).__name__}")
    return severity_from_number(value, _SCALE)


def _attacks(finding_type: str) -> tuple[Attack, ...]:
    purpose = finding_type.split(":", 1)[0] if ":" in finding_type else ""
    tactic = _TACTICS.get(purpose)
    return (Attack(tactic_uid=tactic[0], tactic_name=tactic[1]),) if tactic else ()


def _is_sample(finding: Mapping[str, Any]) -> bool:
    """True for a GuardDuty-generated sample finding.

    The API sets ``Service.AdditionalInfo.Sample``; S3 exports and EventBridge events may carry
    it only inside ``AdditionalInfo.Value``, the same object as JSON text.
    """
    info = _get(finding, "Service.AdditionalInfo")
    if not isinstance(info, Mapping):
        return False
    if _true(_get(info, "Sample")):
        return True
    value = _get(info, "Value")
    if not isinstance(value, str) or len(value) > _MAX_INFO_VALUE:
        return False
    try:
        decoded = load_json(value)
    except (ValueError, RecursionError):  # RecordRejected is a ValueError too
        return False
    return isinstance(decoded, Mapping) and _true(_get(decoded, "Sample"))


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _actor(finding: Mapping[str, Any], obs: Observables) -> UserInfo | None:
    """Who acted: the IAM principal, else the Kubernetes user, else the database user."""
    access = "Resource.AccessKeyDetails"
    kubernetes = "Resource.KubernetesDetails.KubernetesUserDetails"
    candidates = (
        (_text(finding, f"{access}.UserName"), _text(finding, f"{access}.PrincipalId")),
        (_text(finding, f"{kubernetes}.Username"), _text(finding, f"{kubernetes}.Uid")),
        (_text(finding, "Resource.RdsDbUserDetails.User"), None),
    )
    for name, _ in candidates:
        obs.add(EntityKind.USER, name, "actor.user.name")
    obs.add(
        EntityKind.CLOUD_RESOURCE,
        _text(finding, f"{access}.AccessKeyId"),
        "actor.user.credential_uid",
    )
    for name, uid in candidates:
        if name or uid:
            return UserInfo(name=name, uid=uid)
    return None


def _resources(finding: Mapping[str, Any], obs: Observables) -> None:
    """The affected AWS resources other than an EC2 instance, as cloud resources: one
    observable per resource (its name, else its ARN), so one resource is one join key."""
    for bucket in _list(finding, "Resource.S3BucketDetails"):
        _resource(bucket, ("Name", "Arn"), obs)
    for path, keys in _RESOURCE_PATHS:
        _resource(_object(finding, path), keys, obs)
    task = _object(finding, "Resource.EcsClusterDetails.TaskDetails")
    _resource(task, ("Arn",), obs)
    containers = [_object(finding, "Resource.ContainerDetails")]
    containers += _list(task, "Containers") if task is not None else []
    workload = "Resource.KubernetesDetails.KubernetesWorkloadDetails"
    containers += _list(finding, f"{workload}.Containers")
    for container in containers:
        if isinstance(container, Mapping):
            value = _text(container, "Id") or _text(container, "Name")
            obs.add(EntityKind.CLOUD_RESOURCE, value, "container.uid")


def _resource(details: Any, keys: tuple[str, ...], obs: Observables) -> None:
    """The first of ``keys`` that ``details`` has, as one cloud resource."""
    if not isinstance(details, Mapping):
        return
    for key in keys:
        value = _text(details, key)
        if value:
            where = "resources.uid" if key.endswith(("Arn", "Uid")) else "resources.name"
            obs.add(EntityKind.CLOUD_RESOURCE, value, where)
            return


# (path, identifying keys in order of preference) of the resource details GuardDuty documents
# per finding family; an RDS instance and its cluster are two resources.
_RESOURCE_PATHS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Resource.EksClusterDetails", ("Name", "Arn")),
    ("Resource.EcsClusterDetails", ("Name", "Arn")),
    ("Resource.RdsDbInstanceDetails", ("DbInstanceIdentifier", "DbInstanceArn")),
    ("Resource.RdsDbInstanceDetails", ("DbClusterIdentifier",)),
    ("Resource.LambdaDetails", ("FunctionName", "FunctionArn")),
    ("Resource.KubernetesDetails.KubernetesWorkloadDetails", ("Name", "Uid")),
)


def _instance(finding: Mapping[str, Any], obs: Observables) -> Device | None:
    """The EC2 instance a finding is about, as the device.

    Its host name is the private DNS name (``ip-10-0-0-1.ec2.internal``) of the first network
    interface with a usable private address. An unspecified address (``0.0.0.0``, in AWS's
    test findings) names no machine, nor does the DNS name AWS derives from it.
    """
    details = _object(finding, "Resource.InstanceDetails")
    if details is None:
        return None
    instance_id = _text(details, "InstanceId")
    obs.add(EntityKind.CLOUD_RESOURCE, instance_id, "resources.uid")
    private_ip = hostname = None
    for nic in _list(details, "NetworkInterfaces"):
        ip = _usable_ip(_text(nic, "PrivateIpAddress"))
        name = _host_name(_text(nic, "PrivateDnsName"))
        if _text(nic, "PrivateIpAddress") and ip is None:
            name = None  # derived from an address that names nothing
        obs.add(EntityKind.HOST, name, "device.hostname")
        obs.add(EntityKind.IP, ip, "device.ip")
        obs.add(EntityKind.IP, _text(nic, "PublicIp"), "device.ip")
        if private_ip is None and hostname is None and (ip or name):
            private_ip, hostname = ip, name
    if not instance_id and not private_ip and not hostname:
        return None
    return Device(hostname=hostname, ip=private_ip, uid=instance_id, os=_text(details, "Platform"))


def _usable_ip(value: str | None) -> str | None:
    """An address that names a machine: parseable and not unspecified."""
    if not value or not is_ip(value) or ipaddress.ip_address(value).is_unspecified:
        return None
    return value


def _host_name(value: str | None) -> str | None:
    """A DNS host name, or None for anything else (a markup-mangled or hostile value)."""
    return value if value and _HOST_NAME.fullmatch(value) else None


_HOST_NAME = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?"
)
_SHA256 = re.compile(r"[0-9A-Fa-f]{64}")
_MAX_LINEAGE = 4  # ancestors kept; the raw record keeps the rest
_MAX_INFO_VALUE = 64 * 1024  # AdditionalInfo.Value is a small JSON object


def _runtime_process(finding: Mapping[str, Any], obs: Observables) -> ProcessInfo | None:
    """The process of a Runtime Monitoring finding (``Service.RuntimeDetails.Process``), with
    its ancestors from ``Lineage``."""
    details = _object(finding, "Service.RuntimeDetails.Process")
    if details is None:
        return None
    lineage = [entry for entry in _list(details, "Lineage") if isinstance(entry, Mapping)]
    parent: ProcessInfo | None = None
    for entry in reversed(_ancestors(details, lineage)):  # oldest first: each wraps the next
        parent = _process(entry, parent)
    process = _process(details, parent)
    node, path = process, "process"
    while node is not None:  # the detected process first, then its parent, ...
        digest = node.file.sha256 if node.file else None
        obs.add(EntityKind.PROCESS, node.name, f"{path}.name")
        obs.add(EntityKind.HASH, digest, f"{path}.file.hashes.value")
        node, path = node.parent_process, f"{path}.parent_process"
    obs.add(EntityKind.USER, process.user if process else None, "process.user.name")
    return process


def _ancestors(
    details: Mapping[str, Any], lineage: list[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The process's ancestors, nearest first: by following ``ParentUuid`` to each
    ancestor's ``Uuid`` when the lineage has them, else in the lineage's own order."""
    by_uuid = {u: entry for entry in lineage if (u := _text(entry, "Uuid"))}
    if not by_uuid:
        return lineage[:_MAX_LINEAGE]
    chain: list[Mapping[str, Any]] = []
    parent_uuid = _text(details, "ParentUuid")
    while parent_uuid in by_uuid and len(chain) < _MAX_LINEAGE:
        entry = by_uuid.pop(parent_uuid)  # pop: a cycle cannot loop
        chain.append(entry)
        parent_uuid = _text(entry, "ParentUuid")
    return chain


def _process(details: Mapping[str, Any], parent: ProcessInfo | None) -> ProcessInfo | None:
    """One ProcessDetails or LineageObject as a process (an empty one gives ``parent``)."""
    digest = _text(details, "ExecutableSha256")
    sha256 = digest.lower() if digest and _SHA256.fullmatch(digest) else None
    executable = file_info(path=_text(details, "ExecutablePath"), sha256=sha256)
    pid = _get(details, "Pid")
    info = ProcessInfo(
        name=_text(details, "Name") or (executable.name if executable else None),
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) and pid >= 0 else None,
        file=executable,
        user=_text(details, "User"),
        parent_process=parent,
    )
    return parent if info.model_copy(update={"parent_process": None}) == ProcessInfo() else info


def _remote(details: Any, obs: Observables, side: str) -> Endpoint | None:
    """Observables and endpoint from one RemoteIpDetails object; ``side`` is src or dst."""
    if not isinstance(details, Mapping):
        return None
    ip = _usable_ip(_text(details, "IpAddressV4") or _text(details, "IpAddressV6"))
    country = _text(details, "Country.CountryCode") or _text(details, "Country.CountryName")
    obs.add(EntityKind.IP, ip, f"{side}_endpoint.ip")
    obs.add(EntityKind.COUNTRY, country, f"{side}_endpoint.location.country")
    if not ip and not country:
        return None
    return Endpoint(ip=ip, country=country)


def _port(details: Any) -> int | None:
    port = _get(details, "Port")
    return (
        port
        if isinstance(port, int) and not isinstance(port, bool) and 0 <= port <= 65535
        else None
    )


def _action(
    finding: Mapping[str, Any], obs: Observables, device: Device | None
) -> tuple[Endpoint | None, Endpoint | None, str | None]:
    """Source and destination endpoints and a one-line summary from ``Service.Action``."""
    action = _object(finding, "Service.Action") or {}
    action_type = _text(action, "ActionType")
    local_ip = device.ip if device else None
    src = dst = None
    summary = action_type

    api_call = _object(action, "AwsApiCallAction")
    if api_call is not None:
        src = _remote(_get(api_call, "RemoteIpDetails"), obs, "src")
        obs.add(EntityKind.USER_AGENT, _text(api_call, "UserAgent"), "http_request.user_agent")
        obs.add(EntityKind.DOMAIN, _text(api_call, "DomainDetails.Domain"), "src_endpoint.domain")
        affected = _object(api_call, "AffectedResources") or {}
        for key in list(affected)[:_MAX_ITEMS]:
            obs.add(EntityKind.CLOUD_RESOURCE, _text(affected, str(key)), "resources.uid")
        api, service = _text(api_call, "Api"), _text(api_call, "ServiceName")
        if api:
            summary = f"{action_type or 'AWS_API_CALL'} {api}"
            summary += f" on {service}" if service else ""

    connection = _object(action, "NetworkConnectionAction")
    if connection is not None:
        outbound = _text(connection, "ConnectionDirection") == "OUTBOUND"
        remote = _remote(_get(connection, "RemoteIpDetails"), obs, "dst" if outbound else "src")
        remote_port = _port(_get(connection, "RemotePortDetails"))
        local = Endpoint(ip=local_ip, port=_port(_get(connection, "LocalPortDetails")))
        if remote is not None:
            remote = remote.model_copy(update={"port": remote_port})
        src, dst = (local, remote) if outbound else (remote, local)
        direction = _text(connection, "ConnectionDirection")
        summary = f"{action_type or 'NETWORK_CONNECTION'}" + (f" {direction}" if direction else "")

    for probe in _list(action, "PortProbeAction.PortProbeDetails"):
        remote = _remote(_get(probe, "RemoteIpDetails"), obs, "src")
        if src is None and remote is not None:
            src = remote
            probed_ip = _usable_ip(_text(probe, "LocalIpDetails.IpAddressV4")) or local_ip
            dst = Endpoint(ip=probed_ip, port=_port(_get(probe, "LocalPortDetails")))

    obs.add(EntityKind.DOMAIN, _text(action, "DnsRequestAction.Domain"), "query.hostname")
    kubernetes = _object(action, "KubernetesApiCallAction")
    if kubernetes is not None:
        src = _kubernetes_call(kubernetes, obs) or src
        verb, uri = _text(kubernetes, "Verb"), _text(kubernetes, "RequestUri")
        summary = " ".join(p for p in (action_type or "KUBERNETES_API_CALL", verb, uri) if p)
    login = _object(action, "RdsLoginAttemptAction")
    if login is not None:
        src = _remote(_get(login, "RemoteIpDetails"), obs, "src") or src
        for attribute in _list(login, "LoginAttributes"):
            obs.add(EntityKind.USER, _text(attribute, "User"), "actor.user.name")
    return src, dst, summary


def _kubernetes_call(call: Mapping[str, Any], obs: Observables) -> Endpoint | None:
    """The caller of a Kubernetes API call: ``RemoteIpDetails``, else the first of
    ``SourceIps`` (the caller, then any proxies and load balancers on the way)."""
    src = _remote(_get(call, "RemoteIpDetails"), obs, "src")
    source_ips = _get(call, "SourceIPs") or _get(call, "SourceIps")
    addresses = [_usable_ip(text(ip, "sourceIPs")) for ip in _as_list(source_ips, "SourceIPs")]
    for i, ip in enumerate(addresses):
        obs.add(EntityKind.IP, ip, "src_endpoint.ip" if i == 0 else "src_endpoint.intermediate_ips")
    obs.add(EntityKind.USER_AGENT, _text(call, "UserAgent"), "http_request.user_agent")
    obs.add(EntityKind.URL, _text(call, "RequestUri"), "http_request.url.path")
    if src is None and addresses and addresses[0]:
        return Endpoint(ip=addresses[0])
    return src


def _as_list(value: Any, path: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordRejected(f"field '{path}' should be a list, got {type(value).__name__}")
    return value[:_MAX_ITEMS]
