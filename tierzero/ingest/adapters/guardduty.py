"""Amazon GuardDuty findings (``GetFindings`` output, or EventBridge ``GuardDuty Finding`` events).

Schema: Amazon GuardDuty API Reference, ``Finding`` and its nested types (Resource:
AccessKeyDetails, InstanceDetails, S3BucketDetails; Service: Action with AwsApiCallAction,
NetworkConnectionAction, PortProbeAction, DnsRequestAction, RemoteIpDetails, EventFirstSeen,
EventLastSeen, Count) and the User Guide pages "GuardDuty finding format" (finding type
``ThreatPurpose:ResourceTypeAffected/ThreatFamilyName``) and "Severity levels" (1.0-3.9 low,
4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical).

The AWS CLI and SDKs print findings in PascalCase (``AccountId``, ``Service.EventLastSeen``);
the REST wire format, S3 exports and EventBridge events (``{"detail-type": "GuardDuty
Finding", "source": "aws.guardduty", "detail": {...}}``) use camelCase (``accountId``): both
are read. GuardDuty findings carry no ATT&CK technique ids; the threat purpose is mapped to an
ATT&CK tactic only where the two name the same stage (see ``_TACTICS``).
"""

from __future__ import annotations

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
    Severity,
    UserInfo,
)
from tierzero.ingest.base import (
    Observables,
    ParseContext,
    RecordRejected,
    build_alert,
    is_ip,
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
        sample = _get(finding, "Service.AdditionalInfo.Sample")
        if sample is True or (isinstance(sample, str) and sample.lower() == "true"):
            raise RecordRejected("GuardDuty sample finding (Service.AdditionalInfo.Sample is true)")

        obs = Observables()
        user_name = _text(finding, "Resource.AccessKeyDetails.UserName")
        obs.add(EntityKind.USER, user_name, "actor.user.name")
        obs.add(
            EntityKind.CLOUD_RESOURCE,
            _text(finding, "Resource.AccessKeyDetails.AccessKeyId"),
            "actor.user.credential_uid",
        )
        for bucket in _list(finding, "Resource.S3BucketDetails"):
            obs.add(EntityKind.CLOUD_RESOURCE, _text(bucket, "Name"), "resources.name")
        device = _instance(finding, obs)
        src, dst, message = _action(finding, obs, device)
        principal = _text(finding, "Resource.AccessKeyDetails.PrincipalId")
        actor = UserInfo(name=user_name, uid=principal)

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
            actor=actor if actor.name or actor.uid else None,
            src_endpoint=src,
            dst_endpoint=dst,
            cloud=CloudInfo(
                provider="AWS",
                account_uid=_text(finding, "AccountId") or text(record.get("account"), "account"),
                region=_text(finding, "Region") or text(record.get("region"), "region"),
            ),
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


def _instance(finding: Mapping[str, Any], obs: Observables) -> Device | None:
    """The EC2 instance a finding is about, as the device."""
    details = _object(finding, "Resource.InstanceDetails")
    if details is None:
        return None
    instance_id = _text(details, "InstanceId")
    obs.add(EntityKind.CLOUD_RESOURCE, instance_id, "resources.uid")
    private_ip = hostname = None
    for nic in _list(details, "NetworkInterfaces"):
        ip = _text(nic, "PrivateIpAddress")
        obs.add(EntityKind.IP, ip, "device.ip")
        obs.add(EntityKind.IP, _text(nic, "PublicIp"), "device.ip")
        if private_ip is None and ip and is_ip(ip):
            private_ip, hostname = ip, _text(nic, "PrivateDnsName")
    if not instance_id and not private_ip:
        return None
    return Device(hostname=hostname, ip=private_ip, uid=instance_id, os=_text(details, "Platform"))


def _remote(details: Any, obs: Observables, side: str) -> Endpoint | None:
    """Observables and endpoint from one RemoteIpDetails object; ``side`` is src or dst."""
    if not isinstance(details, Mapping):
        return None
    ip = _text(details, "IpAddressV4") or _text(details, "IpAddressV6")
    country = _text(details, "Country.CountryCode") or _text(details, "Country.CountryName")
    obs.add(EntityKind.IP, ip, f"{side}_endpoint.ip")
    obs.add(EntityKind.COUNTRY, country, f"{side}_endpoint.location.country")
    if not (ip and is_ip(ip)) and not country:
        return None
    return Endpoint(ip=ip if ip and is_ip(ip) else None, country=country)


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
            probed_ip = _text(probe, "LocalIpDetails.IpAddressV4") or local_ip
            dst = Endpoint(
                ip=probed_ip if probed_ip and is_ip(probed_ip) else None,
                port=_port(_get(probe, "LocalPortDetails")),
            )

    obs.add(EntityKind.DOMAIN, _text(action, "DnsRequestAction.Domain"), "query.hostname")
    kubernetes = _object(action, "KubernetesApiCallAction")
    if kubernetes is not None:
        src = src or _remote(_get(kubernetes, "RemoteIpDetails"), obs, "src")
        obs.add(EntityKind.USER_AGENT, _text(kubernetes, "UserAgent"), "http_request.user_agent")
    return src, dst, summary
