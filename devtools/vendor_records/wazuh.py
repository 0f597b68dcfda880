"""Wazuh manager alerts, shaped like ``examples/wazuh_alerts.json`` and ``wazuh_dc_alerts.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from devtools.northwind import NETBIOS
from devtools.vendor_records.attack import Mitre, mitre_of
from devtools.vendor_records.common import (
    Proc,
    Record,
    digest,
    fqdn,
    iso_7,
    number_of,
    sid_of,
    uuid_of,
    wazuh_time,
)
from tierzero.tools.inventory import (
    Asset,
)


def agent_id(hostname: str) -> str:
    return f"{number_of('wazuh-agent', hostname, low=1, high=400):03d}"


def wazuh_rule(
    rule_id: str,
    level: int,
    description: str,
    groups: Sequence[str],
    *,
    firedtimes: int = 1,
    mitre: Sequence[Mitre] = (),
) -> Record:
    """An alert's ``rule``; ``mail`` is set from level 12, as the manager's default does."""
    rule: Record = {
        "level": level,
        "description": description,
        "id": rule_id,
        "firedtimes": firedtimes,
        "mail": level >= 12,
        "groups": list(groups),
    }
    if mitre:
        rule["mitre"] = {
            "id": [m.technique_id for m in mitre],
            "technique": [m.technique for m in mitre],
            "tactic": list(dict.fromkeys(m.tactic for m in mitre)),
        }
    return rule


def wazuh_record(
    at: datetime,
    *,
    agent_id: str,
    agent_name: str,
    agent_ip: str,
    alert_id: str,
    rule: Record,
    location: str,
    decoder: Record | None = None,
    predecoder: Record | None = None,
    data: Record | None = None,
    syscheck: Record | None = None,
    full_log: str | None = None,
) -> Record:
    """A Wazuh manager alert (a line of ``alerts.json``) with every value given."""
    alert: Record = {
        "timestamp": wazuh_time(at),
        "rule": rule,
        "agent": {"id": agent_id, "name": agent_name, "ip": agent_ip},
        "manager": {"name": "wazuh-mgr-01"},
        "id": alert_id,
        "decoder": decoder or {"name": "windows_eventchannel"},
    }
    if predecoder is not None:
        alert["predecoder"] = predecoder
    if data is not None:
        alert["data"] = data
    if syscheck is not None:
        alert["syscheck"] = syscheck
    alert["location"] = location
    if full_log is not None:
        alert["full_log"] = full_log
    return alert


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
    """A Wazuh manager alert raised by the agent on ``host``; its ids are digests."""
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
    return wazuh_record(
        at,
        agent_id=agent_id(host.hostname),
        agent_name=host.hostname,
        agent_ip=host.ips[0],
        alert_id=f"{int(at.timestamp())}.{serial}",
        rule=wazuh_rule(
            rule_id,
            level,
            description,
            groups,
            firedtimes=firedtimes,
            mitre=[mitre_of(t) for t in techniques],
        ),
        location=location,
        decoder=decoder,
        predecoder=predecoder,
        data=data,
        syscheck=syscheck,
        full_log=full_log,
    )


def windows_system(
    at: datetime,
    computer: str,
    *,
    provider: str,
    event_id: str,
    channel: str,
    record_id: str,
    severity: str,
    level: str | None = None,
    message: str | None = None,
) -> Record:
    """``data.win.system`` of a Windows eventchannel alert (``level`` and ``message`` if given)."""
    system: Record = {"providerName": provider, "eventID": event_id}
    if level is not None:
        system["level"] = level
    system.update(
        channel=channel,
        computer=computer,
        systemTime=iso_7(at),
        eventRecordID=record_id,
        severityValue=severity,
    )
    if message is not None:
        system["message"] = message
    return system


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
    severity = {"4624": "AUDIT_SUCCESS", "4625": "AUDIT_FAILURE"}.get(event_id, "INFORMATION")
    system = windows_system(
        at,
        fqdn(host.hostname),
        provider=provider,
        event_id=event_id,
        channel="Microsoft-Windows-Sysmon/Operational" if sysmon else channel,
        record_id=str(number_of("record", at, host.hostname, low=10**5, high=10**7)),
        severity=severity,
        message=f'"{message}"',
    )
    return {"win": {"system": system, "eventdata": eventdata}}


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
