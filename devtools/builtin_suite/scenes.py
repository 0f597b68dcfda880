"""Alert records that stories of several categories share (EDR process alerts, PsExec, RDP,
the mail gateway).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from devtools.vendor_records.attack import tactic_of
from devtools.vendor_records.common import SERVICES, Proc, Record, level_word, number_of, winproc
from devtools.vendor_records.crowdstrike import crowdstrike_detection
from devtools.vendor_records.elastic import elastic_alert
from devtools.vendor_records.microsoft import (
    defender_alert,
    dv_device,
    dv_file,
    dv_ip,
    dv_process,
    dv_url,
    dv_user,
)
from devtools.vendor_records.ocsf import MAIL_GATEWAY, ocsf_email, ocsf_finding
from devtools.vendor_records.suricata import suricata_alert
from devtools.vendor_records.wazuh import sysmon_process, wazuh_alert, win_event
from tierzero.tools.inventory import (
    Asset,
)

_WAZUH_LEVEL = (3, 5, 8, 12, 15)  # rule levels by level 1..5


def _camel(tactic_name: str) -> str:
    return tactic_name.replace(" ", "")


def edr_process(
    vendor: str,
    at: datetime,
    host: Asset,
    *,
    user: str,
    title: str,
    description: str,
    level: int,
    proc: Proc,
    techniques: Sequence[str],
    falcon_name: str = "Suspicious Activity",
    dropped: tuple[str, str, str] | None = None,
    destination: tuple[str, int, str | None] | None = None,
) -> Record:
    """One process detection as CrowdStrike, Defender, Elastic or Wazuh (Sysmon) reports it.

    ``dropped`` is a file the process wrote (name, folder, sha256); ``destination`` a
    connection it made (ip, port, domain).
    """
    if vendor == "crowdstrike":
        return crowdstrike_detection(
            at,
            host,
            user=user,
            name=falcon_name,
            description=description,
            level=level,
            proc=proc,
            techniques=techniques,
            ioc=("domain", destination[2])
            if destination and destination[2]
            else ("hash_sha256", dropped[2])
            if dropped
            else None,
            connections=[(destination[0], destination[1])] if destination else (),
        )
    if vendor == "defender":
        evidence = [dv_device(host, users=[user]), dv_user(user), dv_process(proc, user, at)]
        if dropped:
            evidence.append(dv_file(*dropped))
        if destination:
            evidence.append(dv_ip(destination[0], roles=("destination",)))
            if destination[2]:
                evidence.append(dv_url(f"https://{destination[2]}/"))
        return defender_alert(
            at,
            title=title,
            description=description,
            level=level,
            techniques=techniques,
            category=_camel(tactic_of(techniques[0])[1]),
            evidence=evidence,
        )
    if vendor == "elastic":
        return elastic_alert(
            at,
            rule=title,
            description=description,
            level=level,
            techniques=techniques,
            host=host,
            user=user,
            process=proc,
            reason=f"process event with process {proc.name}"
            + (f", parent process {proc.parent.name}" if proc.parent else "")
            + f", by {user} on {host.hostname} created {level_word(level)} alert {title}.",
            file=(dropped[0], f"{dropped[1]}\\{dropped[0]}", dropped[2]) if dropped else None,
            source={"ip": host.ips[0]} if destination else None,
            destination={
                "ip": destination[0],
                "port": destination[1],
                **({"domain": destination[2]} if destination[2] else {}),
            }
            if destination
            else None,
            event={
                "category": ["process"],
                "type": ["start"],
                "action": "start",
                "dataset": "endpoint.events.process",
                "module": "endpoint",
            },
        )
    rule_id = str(number_of("sysmon-rule", title, low=100100, high=100999))
    return wazuh_alert(
        at,
        host,
        rule_id=rule_id,
        level=_WAZUH_LEVEL[level - 1],
        description=title,
        groups=["windows", "sysmon", "sysmon_eid1_detections"],
        techniques=techniques,
        data=win_event(
            at,
            host,
            provider="Microsoft-Windows-Sysmon",
            event_id="1",
            message="Process Create:",
            eventdata=sysmon_process(at, proc, user),
        ),
    )


def encoded(command: str) -> str:
    """PowerShell's ``-enc`` argument for ``command`` (UTF-16LE, base64)."""
    import base64

    return base64.b64encode(command.encode("utf-16-le")).decode()


def definitions_failure(at: datetime, host: Asset) -> Record:
    """Routine noise: Defender could not update its definitions (a proxy problem)."""
    return wazuh_alert(
        at,
        host,
        rule_id="62152",
        level=5,
        description="Windows Defender: antimalware definitions update failed.",
        groups=["windows", "windows_defender"],
        data=win_event(
            at,
            host,
            provider="Microsoft-Windows-Windows Defender",
            event_id="2001",
            channel="Microsoft-Windows-Windows Defender/Operational",
            message="The antimalware definitions update failed.",
            eventdata={
                "errorCode": "0x80072efd",
                "updateType": "Full",
                "sourcePath": "Microsoft Update Server",
                "errorDescription": "A connection with the server could not be established",
            },
        ),
    )


def psexec_copy(at: datetime, src: Asset, dst: Asset) -> Record:
    """Suricata: PSEXESVC.exe written to ADMIN$ over SMB2."""
    return suricata_alert(
        at,
        src=src.ips[0],
        dst=dst.ips[0],
        dport=445,
        sid=2027237,
        signature="ET POLICY PsExec service binary copied to ADMIN$ share over SMB2",
        category="Potential Corporate Privacy Violation",
        priority=1,
        techniques=["T1021.002"],
        app_proto="smb",
        signature_severity="Informational",
        extra={
            "smb": {
                "dialect": "3.1.1",
                "command": "SMB2_COMMAND_CREATE",
                "status": "STATUS_SUCCESS",
                "filename": "PSEXESVC.exe",
                "disposition": "FILE_OVERWRITE_IF",
                "share": f"\\\\{dst.hostname}\\ADMIN$",
            }
        },
    )


def psexesvc_shell(at: datetime, dst: Asset, user: str, command: str) -> Record:
    """Wazuh: PSEXESVC.exe started a shell (Sysmon event 1)."""
    shell = winproc("cmd.exe", command, winproc("PSEXESVC.exe", "C:\\Windows\\PSEXESVC.exe"))
    return wazuh_alert(
        at,
        dst,
        rule_id="100210",
        level=12,
        description="PsExec service (PSEXESVC.exe) started a command shell: possible lateral "
        "movement",
        groups=["local", "sysmon", "sysmon_eid1_detections", "windows"],
        techniques=["T1569.002", "T1021.002"],
        data=win_event(
            at,
            dst,
            provider="Microsoft-Windows-Sysmon",
            event_id="1",
            message="Process Create:",
            eventdata=sysmon_process(at, shell, user),
        ),
    )


def defender_psexec(at: datetime, dst: Asset, src: Asset, user: str) -> Record:
    service = winproc("PSEXESVC.exe", "C:\\Windows\\PSEXESVC.exe", SERVICES)
    return defender_alert(
        at,
        title="PsExec launched a command on a remote device",
        level=4,
        description="PsExec was used from another device to create a service and run a command "
        "on this device. Attackers use PsExec with stolen credentials to move laterally.",
        category="LateralMovement",
        techniques=["T1021.002", "T1569.002"],
        evidence=[
            dv_device(dst, roles=("compromised", "destination"), users=[user]),
            dv_device(src, roles=("source",)),
            dv_user(user),
            dv_process(service, user, at),
            dv_ip(src.ips[0]),
        ],
    )


def rdp_logon_alert(at: datetime, server: Asset, user: str, src: Asset) -> Record:
    """Elastic: interactive logon to a server (low; admins do it all day)."""
    return elastic_alert(
        at,
        rule="Interactive Logon to a Server",
        level=2,
        techniques=["T1078"],
        description="Identifies an interactive or remote-interactive Windows logon (logon type "
        "2 or 10) to a server. Administrators do this routinely; review logons by accounts that "
        "do not manage the server.",
        rule_type="query",
        host=server,
        user=user,
        reason=f"authentication event by {user} on {server.hostname} created low alert "
        "Interactive Logon to a Server.",
        source={"ip": src.ips[0]},
        event={
            "category": ["authentication"],
            "type": ["start"],
            "action": "logged-in",
            "code": "4624",
            "outcome": "success",
            "dataset": "system.security",
            "module": "system",
        },
    )


BUCKETS = (
    "northwind-finance-reports",
    "northwind-customer-exports",
    "northwind-hr-archive",
    "northwind-ops-data",
)


def mail_gateway(
    at: datetime,
    *,
    title: str,
    desc: str,
    analytic: tuple[str, str],
    techniques: Sequence[str],
    level: int,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    sender_ip: str,
    urls: Sequence[str] = (),
    types: Sequence[str] = ("Phishing",),
) -> Record:
    """The mail gateway's OCSF finding about one delivered message."""
    return ocsf_finding(
        at,
        product=MAIL_GATEWAY,
        title=title,
        desc=desc,
        types=types,
        analytic=analytic,
        techniques=techniques,
        level=level,
        message=f"Message from {sender} delivered to {len(recipients)} recipient(s)",
        evidences=[
            ocsf_email(
                sender=sender,
                recipients=recipients,
                subject=subject,
                sender_ip=sender_ip,
                urls=urls,
                at=at,
            )
        ],
        observables=[
            ("email.from", 5, sender),
            *(("email.to", 5, r) for r in recipients),
            ("email.subject", 40, subject),
            ("src_endpoint.ip", 2, sender_ip),
            *(("url.url_string", 6, u) for u in urls),
        ],
    )
