"""Wazuh manager alerts, shaped like ``examples/wazuh_alerts.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from devtools.northwind import NETBIOS
from devtools.vendor_records.attack import tactic_of, technique_name
from devtools.vendor_records.common import (
    Proc,
    Record,
    digest,
    fqdn,
    number_of,
    sid_of,
    uuid_of,
    wazuh_time,
)
from tierzero.tools.inventory import (
    Asset,
)

# --------------------------------------------------------------------------------------------
# Wazuh (examples/wazuh_alerts.json, examples/wazuh_dc_alerts.json)
# --------------------------------------------------------------------------------------------


def agent_id(hostname: str) -> str:
    return f"{number_of('wazuh-agent', hostname, low=1, high=400):03d}"


def wazuh_alert(
    at: datetime,
    host: Asset,
    *,
    rule_id: str,
    level: int,
    description: str,
    groups: Sequence[str],
    techniques: Sequence[str] = (),
    data: Record | None = None,
    full_log: str | None = None,
    location: str = "EventChannel",
    decoder: Record | None = None,
    syscheck: Record | None = None,
    predecoder: Record | None = None,
    firedtimes: int = 1,
) -> Record:
    """A Wazuh manager alert raised by the agent on ``host``."""
    rule: Record = {
        "level": level,
        "description": description,
        "id": rule_id,
        "firedtimes": firedtimes,
        "mail": level >= 12,
        "groups": list(groups),
    }
    if techniques:
        rule["mitre"] = {
            "id": list(techniques),
            "tactic": list(dict.fromkeys(tactic_of(t)[1] for t in techniques)),
            "technique": [technique_name(t) for t in techniques],
        }
    serial = number_of(
        "wazuh-id",
        at,
        rule_id,
        host.hostname,
        full_log or "",
        json.dumps(data, sort_keys=True),
        low=10**6,
        high=10**8,
    )
    alert: Record = {
        "timestamp": wazuh_time(at),
        "rule": rule,
        "agent": {"id": agent_id(host.hostname), "name": host.hostname, "ip": host.ips[0]},
        "manager": {"name": "wazuh-mgr-01"},
        "id": f"{int(at.timestamp())}.{serial}",
        "decoder": decoder or {"name": "windows_eventchannel"},
        "location": location,
    }
    if data is not None:
        alert["data"] = data
    if full_log is not None:
        alert["full_log"] = full_log
    if syscheck is not None:
        alert["syscheck"] = syscheck
    if predecoder is not None:
        alert["predecoder"] = predecoder
    return alert


def win_event(
    at: datetime,
    host: Asset,
    *,
    provider: str,
    event_id: str,
    message: str,
    eventdata: Record,
    channel: str = "Security",
) -> Record:
    """``data`` of a Windows eventchannel alert: ``{"win": {"system", "eventdata"}}``."""
    sysmon = provider == "Microsoft-Windows-Sysmon"
    return {
        "win": {
            "system": {
                "providerName": provider,
                "eventID": event_id,
                "channel": "Microsoft-Windows-Sysmon/Operational" if sysmon else channel,
                "computer": fqdn(host.hostname),
                "systemTime": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond:06d}0Z",
                "eventRecordID": str(number_of("record", at, host.hostname, low=10**5, high=10**7)),
                "severityValue": "AUDIT_SUCCESS"
                if event_id == "4624"
                else "AUDIT_FAILURE"
                if event_id == "4625"
                else "INFORMATION",
                "message": f'"{message}"',
            },
            "eventdata": eventdata,
        }
    }


def sysmon_process(at: datetime, proc: Proc, user: str) -> Record:
    """Sysmon event 1 (process create) eventdata."""
    parent = proc.parent
    hashes = f"SHA256={proc.sha256.upper()}" if proc.sha256 else ""
    data: Record = {
        "utcTime": at.strftime("%Y-%m-%d %H:%M:%S.") + f"{at.microsecond // 1000:03d}",
        "processGuid": "{" + uuid_of("guid", proc.cmd, at) + "}",
        "processId": str(proc.pid(at)),
        "image": proc.path,
        "commandLine": proc.cmd,
        "currentDirectory": "C:\\Windows\\system32\\",
        "user": user if "\\" in user else f"{NETBIOS}\\{user}",
        "integrityLevel": "High",
        "hashes": hashes + ",IMPHASH=" + digest("imphash", proc.path).upper(),
    }
    if parent:
        data.update(
            parentProcessId=str(parent.pid(at)),
            parentImage=parent.path,
            parentCommandLine=parent.cmd,
        )
    return data


def logon_data(
    user: str,
    *,
    source_ip: str,
    workstation: str,
    logon_type: int = 3,
    ntlm: bool = True,
    failed: bool = False,
) -> Record:
    """Security 4624 / 4625 eventdata."""
    data: Record = {
        "targetUserName": user,
        "targetDomainName": NETBIOS,
        "workstationName": workstation,
        "ipAddress": source_ip,
        "ipPort": str(number_of("port", user, source_ip, low=49152, high=65000)),
        "logonType": str(logon_type),
        "logonProcessName": "NtLmSsp" if ntlm else "Kerberos",
        "authenticationPackageName": "NTLM" if ntlm else "Kerberos",
    }
    if failed:
        data.update(status="0xc000006d", subStatus="0xc000006a", failureReason="%%2313")
    else:
        data.update(
            targetUserSid=sid_of(user),
            targetLogonId=hex(number_of("logon", user, source_ip, low=10**6, high=10**8)),
        )
    return data


def logon_event(at: datetime, host: Asset, eventdata: Record, *, failed: bool = False) -> Record:
    """``data`` of a Security 4624 (logon) or 4625 (failed logon) eventchannel alert."""
    return win_event(
        at,
        host,
        provider="Microsoft-Windows-Security-Auditing",
        event_id="4625" if failed else "4624",
        message="An account failed to log on."
        if failed
        else "An account was successfully logged on.",
        eventdata=eventdata,
    )


def wazuh_rdp_logon(at: datetime, server: Asset, user: str, src: Asset, *, level: int) -> Record:
    """Wazuh: a Remote Desktop logon (rule 92653, Security 4624 logon type 10, Kerberos)."""
    return wazuh_alert(
        at,
        server,
        rule_id="92653",
        level=level,
        description=f"User: {NETBIOS}\\{user} logged using Remote Desktop Connection "
        f"(RDP) from ip:{src.ips[0]}.",
        groups=["win_evt_channel", "windows", "authentication_success"],
        techniques=["T1021.001"],
        data=logon_event(
            at,
            server,
            logon_data(
                user, source_ip=src.ips[0], workstation=src.hostname, logon_type=10, ntlm=False
            ),
        ),
    )


def wazuh_logon_failure(
    at: datetime,
    host: Asset,
    user: str,
    *,
    source_ip: str,
    workstation: str,
    techniques: Sequence[str] = (),
) -> Record:
    """Wazuh: one failed Windows logon (rule 60122, Security 4625)."""
    return wazuh_alert(
        at,
        host,
        rule_id="60122",
        level=5,
        description="Logon Failure - Unknown user or bad password.",
        groups=["windows", "win_security", "authentication_failed"],
        techniques=techniques,
        data=logon_event(
            at,
            host,
            logon_data(user, source_ip=source_ip, workstation=workstation, failed=True),
            failed=True,
        ),
    )


def linux_log(at: datetime, host: Asset, program: str, message: str) -> tuple[str, Record]:
    """A syslog line and the predecoder Wazuh adds for it."""
    stamp = at.strftime("%b %d %H:%M:%S").replace(" 0", "  ")
    pid = number_of("linux-pid", program, at, low=1000, high=60000)
    short = host.hostname.lower()
    return (
        f"{stamp} {short} {program}[{pid}]: {message}",
        {"program_name": program, "timestamp": stamp, "hostname": short},
    )
