"""Microsoft Defender XDR alerts from the Microsoft Graph security API (``alerts_v2``).

Schema: Microsoft Graph v1.0 reference, "alert resource type" (microsoft.graph.security.alert)
and "alertEvidence resource type" with its derived types (deviceEvidence, userEvidence,
processEvidence, fileEvidence, ipEvidence, urlEvidence, mailboxEvidence,
analyzedMessageEvidence), plus fileDetails, userAccount and emailSender. The reader unwraps the
``{"value": [...]}`` list envelope, so one record is one alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
    file_info,
    get,
    is_ip,
    parse_time,
    process_id,
    require,
    severity_from_word,
    text,
)

_ALERT_TYPE = "#microsoft.graph.security.alert"
_EVIDENCE_PREFIX = "#microsoft.graph.security."
_SOURCE_ROLES = {"source", "attacker"}
_MAX_EVIDENCE = 500
_MAX_CHAIN = 4  # ancestors kept under the detected process
# Properties only an alerts_v2 resource has together (Graph v1.0 "alert resource type"): the
# legacy v1 alert has vendorInformation instead of providerAlertId, and the Defender for
# Endpoint API alert has alertCreationTime instead of createdDateTime and no serviceSource.
_V2_REQUIRED = ("providerAlertId", "createdDateTime", "title")
_V2_DISTINCTIVE = ("serviceSource", "detectionSource", "detectorId", "alertWebUrl", "evidence")


class DefenderAdapter:
    """Microsoft Graph security ``alert`` (v2) resources from Defender XDR."""

    name: ClassVar[str] = "defender"
    vendor: ClassVar[str] = "Microsoft"
    product: ClassVar[str] = "Microsoft Defender XDR"

    def matches(self, record: Mapping[str, Any]) -> bool:
        """An alerts_v2 resource, by ``@odata.type`` or, since SIEM pipelines often drop the
        OData annotations, by its documented properties: all of ``_V2_REQUIRED`` and at least
        three of ``_V2_DISTINCTIVE``."""
        if record.get("@odata.type") == _ALERT_TYPE:
            return True
        if "@odata.type" in record or not all(key in record for key in _V2_REQUIRED):
            return False
        return sum(key in record for key in _V2_DISTINCTIVE) >= 3

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

        # category is Defender's vocabulary: real tactic names ("Execution", "DefenseEvasion")
        # next to "Malware", "SuspiciousActivity", ...; only the former become ATT&CK tactics.
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
    """fileDetails: ``filePath`` is the folder and ``fileName`` the name (Graph docs); given as
    a path, file_info also keeps a filePath that already ends with the name whole."""
    name = text(details.get("fileName"), f"{where}.fileName")
    folder = text(details.get("filePath"), f"{where}.filePath")
    return file_info(
        name=name,
        path=folder if name else None,
        folder=None if name else folder,
        sha256=text(details.get("sha256"), f"{where}.sha256"),
        sha1=text(details.get("sha1"), f"{where}.sha1"),
        md5=text(details.get("md5"), f"{where}.md5"),
    )


# Documented properties that tell an evidence type apart when a pipeline dropped its
# "@odata.type", most specific first (processEvidence also has userAccount and mdeDeviceId).
_EVIDENCE_SIGNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("processEvidence", ("processCommandLine", "imageFile", "parentProcessImageFile")),
    ("fileEvidence", ("fileDetails",)),
    ("analyzedMessageEvidence", ("networkMessageId", "recipientEmailAddress", "p1Sender")),
    ("mailboxEvidence", ("primaryAddress",)),
    ("ipEvidence", ("ipAddress",)),
    ("urlEvidence", ("url",)),
    ("deviceEvidence", ("deviceDnsName", "ipInterfaces", "osPlatform")),
    ("userEvidence", ("userAccount",)),
)


def _evidence_kind(item: Mapping[str, Any]) -> str | None:
    """The evidence type: its ``@odata.type``, or when absent, what its properties show."""
    if "@odata.type" in item:
        kind = item["@odata.type"]
        if isinstance(kind, str) and kind.startswith(_EVIDENCE_PREFIX):
            return kind.removeprefix(_EVIDENCE_PREFIX)
        return None
    return next((kind for kind, keys in _EVIDENCE_SIGNS if any(k in item for k in keys)), None)


@dataclass(frozen=True)
class _Process:
    """One processEvidence: its process (parent from its own parent* fields) and the keys
    that link it to the evidence of its parent."""

    info: ProcessInfo
    device: str | None
    pid: int | None
    parent_pid: int | None


class _Evidence:
    """Walks the evidence list once, filling OCSF objects and observables."""

    def __init__(self) -> None:
        self.obs = Observables()
        self.device: Device | None = None
        self.actor: UserInfo | None = None
        self.file: FileInfo | None = None
        self.src: Endpoint | None = None
        self.dst: Endpoint | None = None
        self.processes: list[_Process] = []

    def add(self, item: Mapping[str, Any]) -> None:
        """Dispatch one evidence object on its type; other types are ignored."""
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
        kind = _evidence_kind(item)
        handler = handlers.get(kind) if kind else None
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
        parent_pid = process_id(item.get("parentProcessId"))
        parent = None
        if parent_image or parent_pid is not None:
            parent = ProcessInfo(
                name=parent_image.name if parent_image else None, pid=parent_pid, file=parent_image
            )
        pid = process_id(item.get("processId"))
        info = ProcessInfo(
            name=image.name if image else None,
            pid=pid,
            cmd_line=cmd_line,
            file=image,
            user=user,
            parent_process=parent,
        )
        device = text(item.get("mdeDeviceId"), "processEvidence.mdeDeviceId")
        self.processes.append(_Process(info, device, pid, parent_pid))

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
        """The detected process: one that is no other evidence's parent (a leaf), the one
        with the longest evidence ancestry first, with that ancestry as its parent chain."""
        by_key: dict[tuple[str | None, int], _Process] = {}
        for proc in self.processes:
            if proc.pid is not None:
                by_key.setdefault((proc.device, proc.pid), proc)

        def parent_of(child: _Process) -> _Process | None:
            if child.parent_pid is None:
                return None
            parent = by_key.get((child.device, child.parent_pid))
            return parent if parent is not child else None

        def chain_of(leaf: _Process) -> list[_Process]:
            chain = [leaf]
            parent = parent_of(leaf)
            while parent is not None and len(chain) <= _MAX_CHAIN:
                if any(parent is link for link in chain):
                    break
                chain.append(parent)
                parent = parent_of(parent)
            return chain

        parents = {id(p) for p in map(parent_of, self.processes) if p is not None}
        leaves = [p for p in self.processes if id(p) not in parents] or self.processes
        if not leaves:
            return None
        chain = max(map(chain_of, leaves), key=len)  # the first of the longest
        # A parent known as evidence replaces the child's own sketch of it (image and pid),
        # keeping the sketch's image when the parent's evidence has none.
        process = chain[-1].info
        for link in reversed(chain[:-1]):
            sketch = link.info.parent_process
            if process.file is None and sketch is not None and sketch.file is not None:
                process = process.model_copy(update={"file": sketch.file, "name": sketch.name})
            process = link.info.model_copy(update={"parent_process": process})
        return process
