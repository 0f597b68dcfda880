"""credential_abuse stories against privileged credentials: Kerberoasting, an admin's LSASS dump
at night, guessing the break-glass account.
"""

from __future__ import annotations

from devtools.builtin_suite.story import Story, forbid_defaults, template
from devtools.northwind import DOMAIN, NETBIOS, OFFICE_STAFF, PEOPLE, SIGNED, asset, laptop
from devtools.vendor_records.common import EXPLORER, winproc
from devtools.vendor_records.crowdstrike import crowdstrike_detection
from devtools.vendor_records.elastic import elastic_alert
from devtools.vendor_records.microsoft import defender_alert, dv_device, dv_process, dv_user
from devtools.vendor_records.wazuh import (
    logon_data,
    logon_event,
    wazuh_alert,
    wazuh_logon_failure,
    wazuh_rdp_logon,
    win_event,
)


@template("credential_abuse", 4)
def kerberoasting(s: Story, i: int) -> None:
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    dc = asset(s.pick(("DC-01", "DC-02")))
    spns = s.sample(("svc-sql", "svc-backup", "svc-sccm", "svc-deploy"), 3)
    s.start(s.workday_time())
    s.title = f"Kerberoasting from {ws.hostname} ({user.name}'s laptop)"
    s.description = (
        f"Malware on {ws.hostname} running as {user.user} requests RC4 service tickets for "
        f"{', '.join(spns)} from {dc.hostname} to crack their passwords offline"
        + (
            f"; minutes later {spns[0]} logs on to SRV-APP-04 from the laptop."
            if i in (0, 3)
            else "."
        )
    )
    # One variant logs the client as an IPv4-mapped IPv6 address, as many DCs do.
    client = f"::ffff:{ws.ips[0]}" if i == 2 else ws.ips[0]
    for k, spn in enumerate(spns):
        when = s.at(k * 0.2)
        s.alert(
            f"wazuh-tgs-{spn}",
            when,
            wazuh_alert,
            dc,
            rule_id="100420",
            level=12,
            description="Kerberos service ticket requested with RC4 encryption: possible "
            "Kerberoasting",
            groups=["windows", "win_security", "kerberoasting"],
            techniques=["T1558.003"],
            data=win_event(
                when,
                dc,
                provider="Microsoft-Windows-Security-Auditing",
                event_id="4769",
                message="A Kerberos service ticket was requested.",
                eventdata={
                    "targetUserName": f"{user.user}@{DOMAIN.upper()}",
                    "targetDomainName": DOMAIN.upper(),
                    "serviceName": spn,
                    "ticketOptions": "0x40810000",
                    "ticketEncryptionType": "0x17",
                    "ipAddress": client,
                    "ipPort": str(s.rng.randint(49152, 65000)),
                    "status": "0x0",
                },
            ),
        )
    evidence = [f"wazuh-tgs-{spns[0]}"]
    if i != 1:
        devices = [dv_device(ws, users=[user.user])]
        if i in (0, 2):
            devices.append(dv_device(dc, roles=("attacked",)))
        s.alert(
            "defender-spn-exposure",
            s.at(4),
            defender_alert,
            title="Suspected Kerberos SPN exposure (external ID 2410)",
            level=4,
            description=f"{user.user} on {ws.hostname} enumerated service principal names and "
            f"requested Kerberos tickets for {len(spns)} service accounts, which can be "
            "cracked offline.",
            category="CredentialAccess",
            techniques=["T1558.003"],
            source="microsoftDefenderForIdentity",
            evidence=[
                *devices,
                dv_user(user.user),
                *(dv_user(spn, ("contextual",)) for spn in spns),
            ],
        )
        evidence.append("defender-spn-exposure")
    techniques = ["T1558.003"]
    if i in (0, 3):
        app = asset("SRV-APP-04")
        when = s.at(25)
        s.alert(
            "wazuh-service-logon",
            when,
            wazuh_alert,
            app,
            rule_id="100432",
            level=10,
            description=f"Service account {spns[0]} logged on from a workstation",
            groups=["windows", "win_security", "authentication_success"],
            techniques=["T1078.002"],
            data=logon_event(
                when, app, logon_data(spns[0], source_ip=ws.ips[0], workstation=ws.hostname)
            ),
        )
        evidence.append("wazuh-service-logon")
        techniques.append("T1078.002")
    s.case(
        "kerberoasting",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=evidence,
        actions=[
            ("isolate_host", ws.hostname),
            ("reset_password", user.user),
            *(("reset_password", spn) for spn in spns),
        ],
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", dc.hostname), ("disable_user", spns[0]))


@template("credential_abuse", 3)
def admin_night_lsass_dump(s: Story, i: int) -> None:
    admin, server_name = [
        (PEOPLE["bob.nguyen"], "SRV-APP-03"),
        (PEOPLE["priya.shah"], "SRV-APP-04"),
        (PEOPLE["bob.nguyen"], "SRV-FS-01"),
    ][i]
    server = asset(server_name)
    source_user = s.pick(OFFICE_STAFF)
    ws = laptop(source_user)
    s.difficulty = "hard"
    s.start(s.night_time())
    s.title = f"{admin.name}'s admin account dumps LSASS on {server.hostname} at night"
    s.description = (
        f"At {s.t0:%H:%M} on a {s.t0:%A}, {admin.user} (an administrator of {server.hostname}) "
        f"opens an RDP session to it from {ws.hostname}, {source_user.name}'s laptop, and dumps "
        "LSASS memory with comsvcs.dll. The admin is asleep: the account is stolen. It looks like "
        "an admin on a server they manage, except for the hour, the source and the dump."
    )
    when = s.at(0)
    s.alert(
        "elastic-rdp-logon",
        when,
        elastic_alert,
        rule="Interactive Logon to a Server",
        level=2,
        techniques=["T1078.002"],
        description="Identifies an interactive or remote-interactive Windows logon (logon type "
        "2 or 10) to a server.",
        rule_type="query",
        host=server,
        user=admin.user,
        reason=f"authentication event by {admin.user} on {server.hostname} created low alert "
        "Interactive Logon to a Server.",
        source={"ip": ws.ips[0]},
        event={
            "category": ["authentication"],
            "type": ["start"],
            "action": "logged-in",
            "code": "4624",
            "outcome": "success",
        },
    )
    s.alert("wazuh-rdp-logon", s.at(0.5), wazuh_rdp_logon, server, admin.user, ws, level=6)
    shell = winproc("powershell.exe", "powershell.exe", EXPLORER)
    dump = winproc(
        "rundll32.exe",
        "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump "
        f"{s.rng.randint(600, 900)} C:\\Users\\Public\\{s.hex(6)}.dmp full",
        shell,
    )
    s.alert(
        "falcon-lsass-dump",
        s.at(7),
        crowdstrike_detection,
        server,
        user=admin.user,
        name="Credential Dumping",
        description="A process dumped the memory of the LSASS process with comsvcs.dll. "
        "Adversaries do this to steal credentials.",
        level=5,
        proc=dump,
        techniques=["T1003.001"],
    )
    if i == 1:
        s.alert(
            "defender-lsass",
            s.at(8),
            defender_alert,
            title="Possible credential theft activity",
            level=4,
            description="A process accessed LSASS memory in a way typical of credential theft.",
            category="CredentialAccess",
            techniques=["T1003.001"],
            evidence=[
                dv_device(server, users=[admin.user]),
                dv_user(admin.user),
                dv_process(dump, admin.user, s.at(8)),
            ],
        )
    s.case(
        "stolen-admin-account",
        s.refs(),
        "true_positive",
        techniques=["T1078.002", "T1021.001", "T1003.001"],
        evidence=["falcon-lsass-dump", "elastic-rdp-logon"],
        actions=[
            ("isolate_host", ws.hostname),
            ("isolate_host", server.hostname),
            ("disable_user", admin.user),
            ("reset_password", admin.user),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["rundll32.exe"]), ("block_hash", SIGNED["powershell.exe"]))


@template("credential_abuse", 4)
def breakglass_guessing(s: Story, i: int) -> None:
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    dc = asset("DC-01")
    s.start(s.workday_time())
    s.title = f"Password guessing against the break-glass account from {ws.hostname}"
    s.description = (
        f"Malware on {ws.hostname} ({user.name}'s laptop) guesses the password of "
        "breakglass-admin against DC-01. The account is the emergency way in: it must never be "
        "disabled or reset by automation; the source laptop is what to contain."
    )
    if i == 2:
        tool = winproc(
            "powershell.exe",
            'powershell.exe -ep bypass -c "Import-Module '
            ".\\dps.ps1; Invoke-DomainPasswordSpray -UserName breakglass-admin "
            '-PasswordList .\\p.txt"',
            EXPLORER,
        )
        s.alert(
            "falcon-spray-tool",
            s.at(0),
            crowdstrike_detection,
            ws,
            user=user.user,
            name="Suspicious Activity",
            description="PowerShell loaded a module that guesses domain account passwords.",
            level=4,
            proc=tool,
            techniques=["T1110.001"],
        )
    for k in range(1, 4):
        when = s.at(1 + k * 0.3)
        s.alert(
            f"wazuh-logon-failure-{k}",
            when,
            wazuh_logon_failure,
            dc,
            "breakglass-admin",
            source_ip=ws.ips[0],
            workstation=ws.hostname,
            techniques=["T1110.001"],
        )
    when = s.at(3)
    s.alert(
        "wazuh-breakglass",
        when,
        wazuh_alert,
        dc,
        rule_id="60204",
        level=10,
        description=f"Multiple Windows logon failures for a break-glass account: "
        f"{NETBIOS}\\breakglass-admin",
        groups=["windows", "win_security", "authentication_failures"],
        techniques=["T1110"],
        data=logon_event(
            when,
            dc,
            logon_data(
                "breakglass-admin", source_ip=ws.ips[0], workstation=ws.hostname, failed=True
            ),
            failed=True,
        ),
    )
    if i == 1:
        s.alert(
            "defender-brute-force",
            s.at(6),
            defender_alert,
            title="Suspected brute-force attack (Kerberos, NTLM)",
            level=4,
            description=f"{ws.hostname} tried many passwords for breakglass-admin.",
            category="CredentialAccess",
            techniques=["T1110.001"],
            source="microsoftDefenderForIdentity",
            evidence=[
                dv_device(ws, users=[user.user]),
                dv_user("breakglass-admin", ("contextual",)),
                dv_device(dc, roles=("attacked",)),
            ],
        )
    s.case(
        "breakglass-guessing",
        s.refs(),
        "true_positive",
        techniques=["T1110.001"],
        evidence=["wazuh-breakglass", *s.refs("falcon-"), *s.refs("defender-")],
        actions=[("isolate_host", ws.hostname)],
    )
    forbid_defaults(s)
    s.forbid(("reset_password", "breakglass-admin"), ("revoke_sessions", "breakglass-admin"))
