"""Microsoft Defender XDR alerts from the Microsoft Graph security API (``alerts_v2``).

Schema: Microsoft Graph v1.0 reference, "alert resource type" (microsoft.graph.security.alert)
and "alertEvidence resource type" with its derived types (deviceEvidence, userEvidence,
processEvidence, fileEvidence, ipEvidence, urlEvidence, mailboxEvidence,
analyzedMessageEvidence), plus fileDetails, userAccount and emailSender. The reader unwraps the
``{"value": [...]}`` list envelope, so one record is one alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from tierzero.ingest.adapters.sentinel import attacks_from
from tierzero.ingest.alert import (
    Alert,
    Analytic,
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
    build_alert,
    get,
    is_ip,
    parse_time,
    require,
    severity_from_word,
    text,
)

_ALERT_TYPE = "#microsoft.graph.security.alert"
_EVIDENCE_PREFIX = "#microsoft.graph.security."
_SOURCE_ROLES = {"source", "attacker"}
_MAX_EVIDENCE = 500


class DefenderAdapter:
    """Microsoft Graph security ``alert`` (v2) resources from Defender XDR."""

    name: ClassVar[str] = "defender"
    vendor: ClassVar[str] = "Microsoft"
    product: ClassVar[str] = "Microsoft Defender XDR"

    def matches(self, record: Mapping[str, Any]) -> bool:
        if record.get("@odata.type") == _ALERT_TYPE:
            return True
        return (
            "providerAlertId" in record
            and "createdDateTime" in record
            and ("serviceSource" in record or "detectionSource" in record)
        )

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        kind = record.get("@odata.type")
        if kind is not None and kind != _ALERT_TYPE:
            raise RecordRejected(f"Graph object of type {str(kind)[:60]!r} is not a security alert")
        uid = text(require(record, "id"), "id")
        title = text(require(record, "title"), "title")
        time = parse_time(require(record, "createdDateTime"), "createdDateTime")
        evidence = record.get("evidence")
        if evidence is not None and not isinstance(evidence, list):
            raise RecordRejected(f"field 'evidence' should be a list, got {_kind(evidence)}")
        found = _Evidence()
        for index, item in enumerate((evidence or [])[:_MAX_EVIDENCE], start=1):
            if not isinstance(item, Mapping):
                raise RecordRejected(
                    f"evidence item {index} should be an object, got {_kind(item)}"
                )
            found.add(item)

        category = text(get(record, "category"), "category")
        techniques = record.get("mitreTechniques")
        if techniques is not None and not isinstance(techniques, list):
            raise RecordRejected("field 'mitreTechniques' should be a list of technique ids")
        return build_alert(
            self,
            context,
            source_alert_id=uid,
            title=title,
            time=time,
            severity=severity_from_word(text(record.get("severity"), "severity")),
            observables=found.obs,
            original_time=record.get("createdDateTime"),
            device=found.device,
            actor=found.actor,
            process=found.process(),
            file=found.file,
            src_endpoint=found.src,
            dst_endpoint=found.dst,
            finding_desc=text(get(record, "description"), "description"),
            finding_types=tuple(t for t in [category] if t),
            finding_analytic=Analytic(uid=text(record.get("detectorId"), "detectorId"), name=title),
            finding_attacks=attacks_from(techniques or [], [category] if category else []),
            finding_first_seen_time=_optional_time(record, "firstActivityDateTime"),
            finding_last_seen_time=_optional_time(record, "lastActivityDateTime"),
            finding_src_url=text(get(record, "alertWebUrl"), "alertWebUrl"),
        )


def _optional_time(record: Mapping[str, Any], key: str) -> Any:
    value = record.get(key)
    return None if value in (None, "") else parse_time(value, key)


def _obj(item: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A nested object (fileDetails, userAccount, ...) or an empty one; other types reject."""
    value = item.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise RecordRejected(f"evidence field '{key}' should be an object, got {_kind(value)}")
    return value


def _strings(item: Mapping[str, Any], key: str) -> list[Any]:
    value = item.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordRejected(f"evidence field '{key}' should be a list, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return type(value).__name__


def _pid(value: Any) -> int | None:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    return value if is_int and 0 <= value < 2**63 else None


def _user_names(account: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(userPrincipalName, ``DOMAIN\\accountName``) of a userAccount."""
    upn = text(account.get("userPrincipalName"), "userAccount.userPrincipalName")
    name = text(account.get("accountName"), "userAccount.accountName")
    domain = text(account.get("domainName"), "userAccount.domainName")
    return upn, (f"{domain}\\{name}" if domain and name else name)


def _user_info(account: Mapping[str, Any], name: str) -> UserInfo:
    return UserInfo(
        name=name,
        uid=text(account.get("azureAdUserId"), "userAccount.azureAdUserId")
        or text(account.get("userSid"), "userAccount.userSid"),
        domain=text(account.get("domainName"), "userAccount.domainName"),
    )


def _file_info(details: Mapping[str, Any], where: str) -> FileInfo | None:
    if not details:
        return None
    return FileInfo(
        name=text(details.get("fileName"), f"{where}.fileName"),
        path=text(details.get("filePath"), f"{where}.filePath"),
        sha256=text(details.get("sha256"), f"{where}.sha256"),
        sha1=text(details.get("sha1"), f"{where}.sha1"),
        md5=text(details.get("md5"), f"{where}.md5"),
    )


class _Evidence:
    """Walks the evidence list once, filling OCSF objects and observables."""

    def __init__(self) -> None:
        self.obs = Observables()
        self.device: Device | None = None
        self.actor: UserInfo | None = None
        self.file: FileInfo | None = None
        self.src: Endpoint | None = None
        self.dst: Endpoint | None = None
        self.processes: list[ProcessInfo] = []

    def add(self, item: Mapping[str, Any]) -> None:
        """Dispatch one evidence object on its ``@odata.type``; other types are ignored."""
        handlers = {
            "deviceEvidence": self._device_evidence,
            "userEvidence": self._user_evidence,
            "processEvidence": self._process_evidence,
            "fileEvidence": self._file_evidence,
            "ipEvidence": self._ip_evidence,
            "urlEvidence": self._url_evidence,
            "mailboxEvidence": self._mailbox_evidence,
            "analyzedMessageEvidence": self._analyzed_message_evidence,
        }
        kind = item.get("@odata.type")
        if not isinstance(kind, str) or not kind.startswith(_EVIDENCE_PREFIX):
            return
        handler = handlers.get(kind.removeprefix(_EVIDENCE_PREFIX))
        if handler is not None:
            roles = item.get("roles")
            role_set = (
                {r for r in roles if isinstance(r, str)} if isinstance(roles, list) else set()
            )
            handler(item, role_set)

    def _hashes(self, info: FileInfo | None, path: str) -> None:
        if info:
            for value in (info.sha256, info.sha1, info.md5):
                self.obs.add(EntityKind.HASH, value, f"{path}.hashes.value")

    def _user(self, account: Mapping[str, Any], path: str) -> str | None:
        upn, qualified = _user_names(account)
        self.obs.add(EntityKind.USER, upn, path)
        self.obs.add(EntityKind.USER, qualified, path)
        return upn or qualified

    def _device_evidence(self, item: Mapping[str, Any], roles: set[str]) -> None:
        hostname = text(item.get("hostName"), "deviceEvidence.hostName") or text(
            item.get("deviceDnsName"), "deviceEvidence.deviceDnsName"
        )
        ips = [text(ip, "deviceEvidence.ipInterfaces") for ip in _strings(item, "ipInterfaces")]
        ip = next((i for i in ips if i and is_ip(i) and not i.startswith("127.")), None)
        if roles & _SOURCE_ROLES:
            path = "src_endpoint"
            if self.src is None:
                self.src = Endpoint(hostname=hostname, ip=ip)
        else:
            path = "device"
            if self.device is None:
                self.device = Device(
                    hostname=hostname,
                    ip=ip,
                    uid=text(item.get("mdeDeviceId"), "deviceEvidence.mdeDeviceId"),
                    os=text(item.get("osPlatform"), "deviceEvidence.osPlatform"),
                )
        self.obs.add(EntityKind.HOST, hostname, f"{path}.hostname")
        for address in ips:
            self.obs.add(EntityKind.IP, address, f"{path}.ip")

    def _user_evidence(self, item: Mapping[str, Any], roles: set[str]) -> None:
        account = _obj(item, "userAccount")
        name = self._user(account, "actor.user.name")
        if self.actor is None and name:
            self.actor = _user_info(account, name)

    def _process_evidence(self, item: Mapping[str, Any], roles: set[str]) -> None:
        image = _file_info(_obj(item, "imageFile"), "imageFile")
        parent_image = _file_info(_obj(item, "parentProcessImageFile"), "parentProcessImageFile")
        cmd_line = text(item.get("processCommandLine"), "processCommandLine")
        user = self._user(_obj(item, "userAccount"), "process.user.name")
        self.obs.add(EntityKind.PROCESS, image.name if image else None, "process.name")
        self.obs.add(EntityKind.COMMAND_LINE, cmd_line, "process.cmd_line")
        self._hashes(image, "process.file")
        parent_name = parent_image.name if parent_image else None
        self.obs.add(EntityKind.PROCESS, parent_name, "process.parent_process.name")
        self._hashes(parent_image, "process.parent_process.file")
        parent_pid = _pid(item.get("parentProcessId"))
        parent = None
        if parent_image or parent_pid is not None:
            parent = ProcessInfo(
                name=parent_image.name if parent_image else None, pid=parent_pid, file=parent_image
            )
        self.processes.append(
            ProcessInfo(
                name=image.name if image else None,
                pid=_pid(item.get("processId")),
                cmd_line=cmd_line,
                file=image,
                user=user,
                parent_process=parent,
            )
        )

    def _file_evidence(self, item: Mapping[str, Any], roles: set[str]) -> None:
        info = _file_info(_obj(item, "fileDetails"), "fileDetails")
        self.obs.add(EntityKind.FILE, info.name if info else None, "file.name")
        self._hashes(info, "file")
        if self.file is None:
            self.file = info

    def _ip_evidence(self, item: Mapping[str, Any], roles: set[str]) -> None:
        address = text(item.get("ipAddress"), "ipEvidence.ipAddress")
        country = text(item.get("countryLetterCode"), "ipEvidence.countryLetterCode")
        if not address or not is_ip(address):
            return
        if roles & {"destination", "attacked"}:
            self.obs.add(EntityKind.IP, address, "dst_endpoint.ip")
            self.obs.add(EntityKind.COUNTRY, country, "dst_endpoint.location.country")
            if self.dst is None:
                self.dst = Endpoint(ip=address, country=country)
            return
        self.obs.add(EntityKind.IP, address, "src_endpoint.ip")
        self.obs.add(EntityKind.COUNTRY, country, "src_endpoint.location.country")
        if self.src is None:
            self.src = Endpoint(ip=address, country=country)

    def _url(self, value: Any, where: str) -> None:
        url = text(value, where)
        self.obs.add(EntityKind.URL, url, "url.url_string")
        if url:
            try:
                host = urlsplit(url).hostname
            except ValueError:
                host = None
            self.obs.add(EntityKind.DOMAIN, host, "url.hostname")

    def _url_evidence(self, item: Mapping[str, Any], roles: set[str]) -> None:
        self._url(item.get("url"), "urlEvidence.url")

    def _mailbox_evidence(self, item: Mapping[str, Any], roles: set[str]) -> None:
        address = text(item.get("primaryAddress"), "mailboxEvidence.primaryAddress")
        self.obs.add(EntityKind.EMAIL, address, "user.email_addr")
        account = _obj(item, "userAccount")
        name = self._user(account, "user.name")
        if self.actor is None and name:  # the mailbox owner is the user the alert is about
            self.actor = _user_info(account, name)

    def _analyzed_message_evidence(self, item: Mapping[str, Any], roles: set[str]) -> None:
        where = "analyzedMessageEvidence"
        recipient = text(item.get("recipientEmailAddress"), f"{where}.recipientEmailAddress")
        p1 = text(_obj(item, "p1Sender").get("emailAddress"), f"{where}.p1Sender.emailAddress")
        p2 = text(_obj(item, "p2Sender").get("emailAddress"), f"{where}.p2Sender.emailAddress")
        self.obs.add(EntityKind.EMAIL, recipient, "email.to")
        self.obs.add(EntityKind.EMAIL, p1, "email.smtp_from")
        self.obs.add(EntityKind.EMAIL, p2, "email.from")
        subject = text(item.get("subject"), f"{where}.subject")
        self.obs.add(EntityKind.EMAIL_SUBJECT, subject, "email.subject")
        sender_ip = text(item.get("senderIp"), "analyzedMessageEvidence.senderIp")
        self.obs.add(EntityKind.IP, sender_ip, "email.x_originating_ip")
        if self.src is None and sender_ip and is_ip(sender_ip):
            self.src = Endpoint(ip=sender_ip)
        for url in _strings(item, "urls"):
            self._url(url, "analyzedMessageEvidence.urls")

    def process(self) -> ProcessInfo | None:
        """The process at the end of the chain: one that is no other evidence's parent."""
        parents = {p.parent_process.pid for p in self.processes if p.parent_process}
        for candidate in self.processes:
            if candidate.pid is None or candidate.pid not in parents:
                return candidate
        return self.processes[0] if self.processes else None
