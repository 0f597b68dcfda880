"""Microsoft records: Defender XDR alerts (Graph security v2) and Sentinel SecurityAlert rows.

Shaped like ``examples/defender_alerts_v2.json`` and ``examples/sentinel_securityalert.jsonl``;
Entra ID Protection risk detections arrive as Sentinel rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from devtools.northwind import DOMAIN, GEO, NETBIOS, PEOPLE, SIGNED, TENANT
from devtools.vendor_records.attack import parent_technique
from devtools.vendor_records.common import (
    Proc,
    Record,
    digest,
    fqdn,
    iso_7,
    number_of,
    sid_of,
    uuid_of,
)
from tierzero.tools.inventory import (
    Asset,
)

# --------------------------------------------------------------------------------------------
# Microsoft Defender XDR, Graph security alerts v2 (examples/defender_alerts_v2.json)
# --------------------------------------------------------------------------------------------

_DEFENDER_PREFIX = {
    "microsoftDefenderForEndpoint": "da",
    "microsoftDefenderForOffice365": "fa",
    "microsoftDefenderForIdentity": "aa",
    "microsoftDefenderForCloudApps": "ca",
}


def _evidence(kind: str, roles: Sequence[str] = (), verdict: str = "suspicious") -> Record:
    return {
        "@odata.type": f"#microsoft.graph.security.{kind}",
        "verdict": verdict,
        "remediationStatus": "none",
        "remediationStatusDetails": None,
        "roles": list(roles),
        "detailedRoles": [],
        "tags": [],
    }


def _user_account(user: str) -> Record:
    person = PEOPLE.get(user)
    return {
        "accountName": user,
        "domainName": NETBIOS,
        "userSid": sid_of(user),
        "azureAdUserId": uuid_of("aad", user),
        "userPrincipalName": f"{user}@{DOMAIN}",
        "displayName": person.name if person else user,
    }


def dv_device(
    host: Asset, roles: Sequence[str] = ("compromised",), users: Sequence[str] = ()
) -> Record:
    windows = (host.os or "").startswith("Windows")
    return {
        **_evidence("deviceEvidence", roles),
        "firstSeenDateTime": "2025-03-02T10:11:00Z",
        "mdeDeviceId": digest("mde", host.hostname, size=40),
        "azureAdDeviceId": None,
        "deviceDnsName": fqdn(host.hostname),
        "hostName": host.hostname,
        "ntDomain": NETBIOS if windows else None,
        "dnsDomain": DOMAIN,
        "osPlatform": (host.os or "Other").replace(" ", ""),
        "healthStatus": "active",
        "riskScore": "high" if "compromised" in roles else "none",
        "onboardingStatus": "onboarded",
        "defenderAvStatus": "updated",
        "ipInterfaces": list(host.ips),
        "loggedOnUsers": [{"accountName": u, "domainName": NETBIOS} for u in users],
    }


def dv_user(user: str, roles: Sequence[str] = ("compromised",)) -> Record:
    return {**_evidence("userEvidence", roles), "userAccount": _user_account(user)}


def _image(proc: Proc | None) -> Record | None:
    if proc is None:
        return None
    signed = proc.sha256 in SIGNED.values()
    return {
        "sha1": None,
        "sha256": proc.sha256,
        "fileName": proc.name,
        "filePath": proc.folder,
        "fileSize": number_of("size", proc.path, low=40000, high=900000),
        "filePublisher": "Microsoft Corporation" if signed else None,
        "signer": None,
        "issuer": None,
    }


def dv_process(proc: Proc, user: str | None, at: datetime) -> Record:
    parent = proc.parent
    return {
        **_evidence("processEvidence"),
        "processId": proc.pid(at),
        "parentProcessId": parent.pid(at) if parent else None,
        "processCommandLine": proc.cmd,
        "processCreationDateTime": iso_7(at - timedelta(seconds=40)),
        "parentProcessCreationDateTime": iso_7(at - timedelta(minutes=3)) if parent else None,
        "detectionStatus": "detected",
        "imageFile": _image(proc),
        "parentProcessImageFile": _image(parent),
        "userAccount": _user_account(user) if user else None,
    }


def dv_file(
    name: str,
    folder: str,
    sha256: str | None = None,
    *,
    publisher: str | None = None,
    signer: str | None = None,
) -> Record:
    return {
        **_evidence("fileEvidence"),
        "detectionStatus": "detected",
        "fileDetails": {
            "sha1": None,
            "sha256": sha256,
            "fileName": name,
            "filePath": folder,
            "fileSize": number_of("size", folder, name, low=20000, high=4000000),
            "filePublisher": publisher,
            "signer": signer,
            "issuer": None,
        },
    }


def dv_ip(ip: str, roles: Sequence[str] = ("source",), country: str | None = None) -> Record:
    return {**_evidence("ipEvidence", roles), "ipAddress": ip, "countryLetterCode": country}


def dv_url(url: str) -> Record:
    return {**_evidence("urlEvidence", ("contextual",), "malicious"), "url": url}


def dv_mailbox(user: str) -> Record:
    person = PEOPLE[user]
    return {
        **_evidence("mailboxEvidence", ("contextual",), "unknown"),
        "primaryAddress": person.email,
        "displayName": person.name,
        "userAccount": _user_account(user),
    }


def dv_message(
    *,
    sender: str,
    sender_name: str,
    recipient: str,
    subject: str,
    sender_ip: str,
    received: datetime,
    urls: Sequence[str] = (),
    attachments: int = 0,
    threats: Sequence[str] = ("Phish",),
    delivery: str = "delivered",
    location: str = "inbox",
    verdict: str = "malicious",
) -> Record:
    domain = sender.split("@", 1)[1]
    message_id = digest("msg", sender, recipient, subject, received)
    return {
        **_evidence("analyzedMessageEvidence", ("contextual",), verdict),
        "networkMessageId": uuid_of("netmsg", message_id),
        "internetMessageId": f"<{received:%Y%m%d%H%M%S}.{message_id[:4]}@{domain}>",
        "subject": subject,
        "language": "en",
        "senderIp": sender_ip,
        "recipientEmailAddress": recipient,
        "antiSpamDirection": "inbound",
        "deliveryAction": delivery,
        "deliveryLocation": location,
        "urn": f"urn:MailEntity:{message_id}",
        "threats": list(threats),
        "threatDetectionMethods": ["urlDetonationReputation"] if urls else ["fileDetonation"],
        "urls": list(urls),
        "urlCount": len(urls),
        "attachmentsCount": attachments,
        "receivedDateTime": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "p1Sender": {"emailAddress": sender, "displayName": sender_name, "domainName": domain},
        "p2Sender": {"emailAddress": sender, "displayName": sender_name, "domainName": domain},
    }


def defender_alert(
    at: datetime,
    *,
    title: str,
    description: str,
    category: str,
    level: int,
    techniques: Sequence[str],
    evidence: Sequence[Record],
    source: str = "microsoftDefenderForEndpoint",
    first: datetime | None = None,
    threat: str | None = None,
) -> Record:
    """A Defender XDR alert; ``source`` is the serviceSource (Endpoint, Office 365, ...)."""
    prefix = _DEFENDER_PREFIX[source]
    seed = (title, at, tuple(json.dumps(e, sort_keys=True) for e in evidence))
    if prefix == "da":
        alert_id = f"da{number_of('mde', *seed, low=10**17, high=10**18)}_" + str(
            -number_of("mde2", *seed, low=10**8, high=2 * 10**9)
        )
    else:
        alert_id = f"{prefix}{digest('graph', *seed, size=10)}-{uuid_of('graph', *seed)[9:]}"
    incident = str(number_of("incident", title, at.date(), low=4000, high=9999))
    created = iso_7(at)
    portal = "https://security.microsoft.com"
    return {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": alert_id,
        "providerAlertId": alert_id.removeprefix(prefix) if prefix != "da" else alert_id,
        "incidentId": incident,
        "status": "new",
        "severity": ("informational", "low", "medium", "high", "high")[level - 1],
        "classification": None,
        "determination": None,
        "serviceSource": source,
        "detectionSource": source,
        "detectorId": uuid_of("detector", title),
        "tenantId": TENANT,
        "title": title,
        "description": description,
        "recommendedActions": "",
        "category": category,
        "assignedTo": None,
        "alertWebUrl": f"{portal}/alerts/{alert_id}?tid={TENANT}",
        "incidentWebUrl": f"{portal}/incidents/{incident}?tid={TENANT}",
        "actorDisplayName": None,
        "threatDisplayName": threat,
        "threatFamilyName": threat.split(":")[-1].split("!")[0] if threat else None,
        "mitreTechniques": list(techniques),
        "createdDateTime": created,
        "lastUpdateDateTime": created,
        "resolvedDateTime": None,
        "firstActivityDateTime": iso_7(first or at - timedelta(minutes=1)),
        "lastActivityDateTime": iso_7(at - timedelta(seconds=30)),
        "comments": [],
        "evidence": [{**e, "createdDateTime": created} for e in evidence],
        "systemTags": [],
    }


# --------------------------------------------------------------------------------------------
# Microsoft Sentinel SecurityAlert rows (examples/sentinel_securityalert.jsonl)
# --------------------------------------------------------------------------------------------


def se_account(user: str) -> Record:
    person = PEOPLE.get(user)
    return {
        "Name": user,
        "UPNSuffix": DOMAIN,
        "AadTenantId": TENANT,
        "AadUserId": uuid_of("aad", user),
        "IsDomainJoined": True,
        "DisplayName": person.name if person else user,
        "Type": "account",
    }


def se_ip(ip: str, country: str | None = None) -> Record:
    entity: Record = {"Address": ip, "Type": "ip"}
    if country:
        city, state, name, *_ = GEO[country]
        entity["Location"] = {
            "CountryCode": country,
            "CountryName": name,
            "State": state,
            "City": city,
        }
    return entity


def se_url(url: str) -> Record:
    return {"Url": url, "Type": "url"}


def se_mailbox(user: str) -> Record:
    person = PEOPLE[user]
    return {
        "MailboxPrimaryAddress": person.email,
        "DisplayName": person.name,
        "Upn": person.email,
        "ExternalDirectoryObjectId": uuid_of("aad", user),
        "Type": "mailbox",
    }


def se_mail(
    *,
    sender: str,
    sender_name: str,
    recipient: str,
    subject: str,
    sender_ip: str,
    received: datetime,
    urls: Sequence[str] = (),
) -> Record:
    domain = sender.split("@", 1)[1]
    return {
        "Recipient": recipient,
        "Urls": list(urls),
        "Sender": sender,
        "P1Sender": sender,
        "P1SenderDisplayName": sender_name,
        "P1SenderDomain": domain,
        "SenderIP": sender_ip,
        "ReceivedDate": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "NetworkMessageId": uuid_of("netmsg", sender, recipient, subject, received),
        "InternetMessageId": f"<{received:%Y%m%d%H%M%S}.{digest(sender, size=4)}@{domain}>",
        "Subject": subject,
        "AntispamDirection": "Inbound",
        "DeliveryAction": "Delivered",
        "DeliveryLocation": "Inbox",
        "Type": "mailMessage",
    }


def sentinel_alert(
    at: datetime,
    *,
    name: str,
    level: int,
    description: str,
    tactics: Sequence[str],
    techniques: Sequence[str],
    entities: Sequence[Record],
    provider: str = "ASI Scheduled Alerts",
    product: str = "Azure Sentinel",
    alert_type: str | None = None,
    extended: Record | None = None,
    start: datetime | None = None,
    compromised: str = "",
    link: str = "",
) -> Record:
    """A SecurityAlert row. Scheduled analytics rules (the default provider) name their rule in
    ``ExtendedProperties``; Microsoft products (``provider`` IPC, OATP, ...) use AlertType."""
    scheduled = provider == "ASI Scheduled Alerts"
    rule_id = uuid_of("sentinel-rule", name)
    props = dict(extended or {})
    if scheduled:
        props.update(
            {
                "Query Period": "01:00:00",
                "Trigger Operator": "GreaterThan",
                "Trigger Threshold": "0",
                "Analytic Rule Ids": json.dumps([rule_id]),
                "Analytic Rule Name": name,
                "Event Grouping": "SingleAlert",
            }
        )
    parents = sorted({parent_technique(t) for t in techniques})
    subs = sorted(t for t in techniques if "." in t)
    numbered = [{"$id": str(index), **e} for index, e in enumerate(entities, start=2)]
    return {
        "TenantId": TENANT,
        "TimeGenerated": iso_7(at),
        "DisplayName": name,
        "AlertName": name,
        "AlertSeverity": ("Informational", "Low", "Medium", "High", "High")[level - 1],
        "Description": description,
        "ProviderName": provider,
        "VendorName": "Microsoft",
        "VendorOriginalId": "" if scheduled else digest("vendor", name, at),
        "SystemAlertId": uuid_of("sentinel", name, at, json.dumps(numbered, sort_keys=True)),
        "ResourceId": "",
        "SourceComputerId": "",
        "AlertType": alert_type or f"{uuid_of('workspace')}_{rule_id}",
        "ConfidenceLevel": "",
        "ConfidenceScore": None,
        "IsIncident": False,
        "StartTime": iso_7(start or at - timedelta(minutes=2)),
        "EndTime": iso_7(at - timedelta(seconds=45)),
        "ProcessingEndTime": iso_7(at - timedelta(seconds=1)),
        "RemediationSteps": "[]",
        "ExtendedProperties": json.dumps(props, sort_keys=True),
        "Entities": json.dumps(numbered, sort_keys=True),
        "SourceSystem": "Detection",
        "WorkspaceSubscriptionId": "0b7e5d2c-1a3f-4c6e-8d9b-7f6e5d4c3b2a",
        "WorkspaceResourceGroup": "rg-northwind-soc",
        "ExtendedLinks": "",
        "ProductName": product,
        "ProductComponentName": "",
        "AlertLink": link,
        "Status": "New",
        "CompromisedEntity": compromised,
        "Tactics": ",".join(dict.fromkeys(tactics)),
        "Techniques": json.dumps(parents) if parents else "",
        "SubTechniques": json.dumps(subs) if subs else "",
        "Type": "SecurityAlert",
    }


ATYPICAL_TRAVEL = "Sign-in from an atypical location based on the user's recent sign-ins."


def identity_protection(
    at: datetime,
    *,
    name: str,
    alert_type: str,
    level: int,
    description: str,
    user: str,
    ip: str,
    country: str,
    previous: tuple[str, str] | None = None,
) -> Record:
    """An Entra ID Protection risk detection as Sentinel stores it (provider IPC)."""
    city, state, _, *_ = GEO[country]
    props: Record = {
        "Alert generation trigger": "Sign-in",
        "Client IP Address": ip,
        "Client Location": f"{city}, {state}, {country}",
        "Detection Source": "IdentityProtection",
        "Request Id": uuid_of("request", at, user),
        "State": "Open",
    }
    if previous:
        prev_ip, prev_country = previous
        pcity, pstate, *_ = GEO[prev_country]
        props.update(
            {
                "Previous IP Address": prev_ip,
                "Previous Location": f"{pcity}, {pstate}, {prev_country}",
            }
        )
    return sentinel_alert(
        at,
        name=name,
        level=level,
        description=description,
        tactics=["InitialAccess"],
        techniques=[],
        entities=[se_account(user), se_ip(ip, country)],
        provider="IPC",
        product="Azure Active Directory Identity Protection",
        alert_type=alert_type,
        extended=props,
        start=at - timedelta(minutes=1),
        compromised=f"{user}@{DOMAIN}",
        link="https://portal.azure.com/#blade/Microsoft_AAD_IAM/RiskySignInsBlade",
    )
