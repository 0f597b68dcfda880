"""benign_lookalike stories of routine work: admins at work, travel, signed updaters, backups,
CI builds, internet background noise, newsletters, recurring noise, group changes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from devtools.builtin_suite.scenes import (
    defender_psexec,
    definitions_failure,
    encoded,
    mail_gateway,
    psexec_copy,
    psexesvc_shell,
    rdp_logon_alert,
)
from devtools.builtin_suite.story import WORKDAYS, Story, clock, forbid_defaults, template
from devtools.northwind import (
    ADMINS,
    EC2_PUBLIC_IPS,
    FILE_SERVERS,
    GEO,
    HOSTILE_COUNTRIES,
    HQ_EGRESS,
    NETBIOS,
    OFFICE_STAFF,
    PEOPLE,
    PUBLIC_INSTANCES,
    SIGNED,
    TRAVELLERS,
    TRIP_COUNTRIES,
    WEB_SERVERS,
    WIN_SERVER,
    Person,
    asset,
    country_name,
    ip_of,
    laptop,
    managed_by,
)
from devtools.vendor_records.common import SERVICES, Proc, Record, eve_time, sid_of, winproc
from devtools.vendor_records.crowdstrike import crowdstrike_detection, falcon_ml_detection
from devtools.vendor_records.elastic import elastic_alert
from devtools.vendor_records.guardduty import PORT_PROBE, gd_instance, gd_probe, guardduty_finding
from devtools.vendor_records.microsoft import (
    ATYPICAL_TRAVEL,
    defender_alert,
    dv_device,
    dv_file,
    dv_ip,
    dv_mailbox,
    dv_message,
    dv_process,
    dv_url,
    dv_user,
    identity_protection,
)
from devtools.vendor_records.okta import BROWSER_UA, MAC_UA, okta_mfa_ok, okta_session
from devtools.vendor_records.suricata import suricata_alert
from devtools.vendor_records.wazuh import (
    wazuh_alert,
    wazuh_logon_failure,
    wazuh_rdp_logon,
    win_event,
)

_ADMIN_COMMANDS = (
    'cmd.exe /c "gpupdate /force & ipconfig /flushdns"',
    'cmd.exe /c "sc query AppServerAgent & net stop AppServerAgent & net start AppServerAgent"',
    'cmd.exe /c "wmic qfe list brief > C:\\Windows\\Temp\\patches.txt"',
    'cmd.exe /c "certutil -pulse & klist purge"',
)


@template("benign_lookalike", 4)
def admin_psexec_at_work(s: Story, i: int) -> None:
    admin = (PEOPLE["bob.nguyen"], PEOPLE["priya.shah"])[i % 2]
    ws = laptop(admin)
    servers = [
        asset(h)
        for h in s.sample(
            [
                h
                for h in managed_by(admin)
                if h.startswith("SRV-") and asset(h).os == WIN_SERVER and not asset(h).crown_jewel
            ],
            2 + i % 2,
        )
    ]
    s.difficulty = "hard"
    s.start(s.workday_time(9, 15))
    change = f"CHG-{s.rng.randint(30000, 39999)}"
    if i in (0, 2):
        s.window(
            change,
            "Restart application services after a configuration change",
            [a.hostname for a in servers],
            s.t0 - timedelta(minutes=30),
            3,
        )
    s.title = f"{admin.name} runs PsExec on {len(servers)} servers they manage" + (
        f" in change window {change}" if i in (0, 2) else " during the working day"
    )
    s.description = (
        f"{admin.name}, an administrator of {', '.join(a.hostname for a in servers)}, uses "
        f"PsExec from {ws.hostname} at {s.t0:%H:%M} on a {s.t0:%A} to run maintenance "
        "commands. PsExec is what attackers use too; here it is the admin's normal tool"
        + (f", inside the approved change {change}." if i in (0, 2) else ".")
    )
    command = _ADMIN_COMMANDS[i]
    for k, server in enumerate(servers):
        base = k * 4
        s.alert(f"suricata-psexec-{server.hostname}", s.at(base), psexec_copy, ws, server)
        s.alert(
            f"wazuh-psexec-{server.hostname}",
            s.at(base + 0.5),
            psexesvc_shell,
            server,
            admin.user,
            command,
        )
    s.alert("defender-psexec", s.at(1), defender_psexec, servers[0], ws, admin.user)
    s.case(
        "admin-maintenance",
        s.refs(),
        "benign_positive",
        evidence=["defender-psexec", f"wazuh-psexec-{servers[0].hostname}"],
    )
    forbid_defaults(s)
    s.forbid(
        ("disable_user", admin.user),
        ("isolate_host", ws.hostname),
        *(("isolate_host", a.hostname) for a in servers),
        ("block_hash", SIGNED["PSEXESVC.exe"]),
    )


@template("benign_lookalike", 4)
def user_travelling(s: Story, i: int) -> None:
    traveller = TRAVELLERS[i % len(TRAVELLERS)]
    trip = s.pick([c for c in TRIP_COUNTRIES if c not in traveller.countries])
    hotel = s.ext_ip(("192.0.2", "198.51.100", "203.0.113"))
    s.difficulty = "hard"
    s.start(clock(s.pick(WORKDAYS), s.rng.randint(6, 20), s.rng.randint(0, 59)))
    city = GEO[trip][0]
    s.title = f"{traveller.name} signs in from {city} on a business trip"
    s.description = (
        f"{traveller.name} ({traveller.role}) flew to {city} for customer meetings (the trip is "
        f"in the travel system). The first sign-in from the hotel ({hotel}) comes 14 hours "
        "after the last one from Hamburg, from the enrolled laptop with Okta FastPass: "
        "identity protection flags the travel anyway."
    )
    okta: dict[str, Any] = {
        "person": traveller,
        "ip": hotel,
        "country": trip,
        "new_device": False,
        "ua": MAC_UA if i % 2 else BROWSER_UA,
    }
    s.alert("okta-mfa", s.at(0), okta_mfa_ok, risk="MEDIUM", credential_type="SIGNED_NONCE", **okta)
    s.alert("okta-session", s.at(0.1), okta_session, risk="MEDIUM", threat_suspected=False, **okta)
    s.alert(
        "sentinel-travel",
        s.at(3),
        identity_protection,
        name="Atypical travel",
        alert_type="ImpossibleTravel",
        level=3,
        description=ATYPICAL_TRAVEL,
        user=traveller.user,
        ip=hotel,
        country=trip,
        previous=(HQ_EGRESS, "DE"),
    )
    if i == 2:
        s.alert(
            "defender-infrequent-country",
            s.at(9),
            defender_alert,
            title="Activity from infrequent country",
            level=2,
            description=f"{traveller.user} was active from {country_name(trip)}, a country not "
            "recently seen in the organization.",
            category="InitialAccess",
            techniques=["T1078"],
            source="microsoftDefenderForCloudApps",
            evidence=[dv_user(traveller.user), dv_ip(hotel, country=trip)],
        )
    s.case(
        "business-trip", s.refs(), "benign_positive", evidence=["sentinel-travel", "okta-session"]
    )
    forbid_defaults(s)
    s.forbid(
        ("disable_user", traveller.user),
        ("reset_password", traveller.user),
        ("revoke_sessions", traveller.user),
        ("block_ip", hotel),
    )


_UPDATERS = (
    (
        "Kestrel ERP client",
        "KestrelUpdate.exe",
        "C:\\Program Files (x86)\\Kestrel\\Updater",
        "updates.kestrel-erp.example",
        "Kestrel Software GmbH",
    ),
    (
        "RouteMaster planner",
        "rmupdater.exe",
        "C:\\Program Files\\RouteMaster\\bin",
        "dl.routemaster.example",
        "RouteMaster Ltd",
    ),
    (
        "Datalogic scanner utility",
        "DLUpdate.exe",
        "C:\\Program Files\\Datalogic\\Update",
        "update.datalogic-tools.example",
        "Datalogic Tools S.p.A.",
    ),
    (
        "MeetUp video client",
        "MeetUpUpdater.exe",
        "C:\\Program Files\\MeetUp\\Update",
        "cdn.meetup-video.example",
        "MeetUp Communications Inc.",
    ),
)


@template("benign_lookalike", 4)
def signed_updater_flagged(s: Story, i: int) -> None:
    product, exe, folder, update_domain, signer = _UPDATERS[i]
    version = f"{s.rng.randint(4, 9)}.{s.rng.randint(0, 12)}.{s.rng.randint(100, 999)}"
    updater_hash = s.sha256()
    hosts = [laptop(p) for p in s.sample(OFFICE_STAFF, 2 + i % 2)]
    s.difficulty = "hard"
    s.start(s.workday_time(8, 12))
    s.title = f"EDR machine learning flags the signed {product} updater on {len(hosts)} laptops"
    s.description = (
        f"{signer} released {product} {version}; its updater {exe}, signed by {signer} and "
        f"downloaded from {update_domain}, runs from {folder} as SYSTEM on every laptop with "
        "the client. The EDR's machine-learning model has not seen the new build and flags it. "
        "The file is legitimate: a false positive."
    )
    updater = Proc(
        f"{folder}\\{exe}",
        f'"{folder}\\{exe}" /silent /update /v {version}',
        updater_hash,
        SERVICES,
    )
    for k, host in enumerate(hosts):
        when = s.at(k * s.rng.randint(2, 9))
        s.alert(
            f"falcon-ml-{host.hostname}",
            when,
            falcon_ml_detection,
            host,
            user="SYSTEM",
            proc=updater,
            sha256=updater_hash,
            level=3 if i % 2 else 4,
            confidence="medium",
        )
    if i % 2 == 0:
        host = hosts[0]
        s.alert(
            "defender-ml",
            s.at(2),
            defender_alert,
            title="An active 'Wacatac' malware was detected",
            level=3,
            description=f"Microsoft Defender Antivirus detected {exe} as "
            "Trojan:Win32/Wacatac.B!ml.",
            category="Malware",
            techniques=["T1204.002"],
            threat="Trojan:Win32/Wacatac.B!ml",
            evidence=[
                dv_device(host),
                dv_file(exe, folder, updater_hash, publisher=signer, signer=signer),
                dv_process(updater, None, s.at(2)),
                dv_url(f"https://{update_domain}/{product.split()[0].lower()}/{version}/{exe}"),
            ],
        )
    s.case(
        "ml-false-positive", s.refs(), "false_positive", evidence=[f"falcon-ml-{hosts[0].hostname}"]
    )
    forbid_defaults(s)
    s.forbid(
        ("block_hash", updater_hash),
        ("block_domain", update_domain),
        *(("isolate_host", h.hostname) for h in hosts),
    )


@template("benign_lookalike", 4)
def backup_job(s: Story, i: int) -> None:
    server = asset(FILE_SERVERS[i % 2])
    backup = asset("SRV-BKP-01")
    offsite_ip = s.ext_ip()
    offsite = "vault.vaultline-cloud.example"
    hard = i == 3
    s.difficulty = "hard" if hard else "standard"
    s.start(clock(s.pick(WORKDAYS), s.rng.randint(1, 2), s.rng.randint(0, 59)))
    s.title = f"Nightly backup of {server.hostname} by svc-backup" + (
        f", copied offsite to {offsite_ip}" if i in (1, 3) else ""
    )
    s.description = (
        f"The Vaultline backup agent, running as svc-backup, reads every file on "
        f"{server.hostname} at {s.t0:%H:%M}, snapshots the volume and writes to {backup.hostname}"
        + (
            f", which then replicates {s.rng.randint(30, 90)} GB to the offsite vault "
            f"{offsite} ({offsite_ip})."
            if i in (1, 3)
            else "."
        )
        + (
            " The offsite copy shows only as a large upload to a bare IP in the middle of the "
            "night."
            if hard
            else ""
        )
    )
    agent = Proc(
        "C:\\Program Files\\Vaultline\\vlagent.exe",
        '"C:\\Program Files\\Vaultline\\vlagent.exe" --job nightly-fs --full',
        s.sha256(),
        SERVICES,
    )
    s.alert(
        "elastic-mass-read",
        s.at(0),
        elastic_alert,
        rule="Potential Data Staging: Mass File Read by One Account",
        level=3,
        techniques=["T1074.001"],
        rule_type="threshold",
        description="One account read more than 10,000 files on a file server within an hour.",
        host=server,
        user="svc-backup",
        process=agent,
        reason=f"file events by svc-backup on {server.hostname} exceeded the threshold.",
        event={"category": ["file"], "type": ["access"]},
    )
    when = s.at(2)
    s.alert(
        "wazuh-shadow-copy",
        when,
        wazuh_alert,
        server,
        rule_id="100641",
        level=5,
        description="Volume shadow copy created by a backup requestor",
        groups=["windows", "vss"],
        data=win_event(
            when,
            server,
            provider="VSS",
            event_id="8224",
            channel="Application",
            message="The VSS service is shutting down due to idle timeout.",
            eventdata={"requestor": "vlagent.exe", "volume": "D:\\"},
        ),
    )
    if i in (1, 3):
        size = s.rng.randint(30, 90) * 10**9
        s.alert(
            "suricata-offsite",
            s.at(90),
            suricata_alert,
            src=backup.ips[0],
            dst=offsite_ip,
            dport=443,
            sid=2061195,
            signature="ET POLICY Large outbound transfer to an external host",
            category="Potential Corporate Privacy Violation",
            priority=2,
            techniques=["T1048.002"] if hard else (),
            app_proto="tls",
            extra={
                "tls": {"sni": offsite, "version": "TLS 1.3"}
                if not hard
                else {"version": "TLS 1.3"},
                "flow": {
                    "pkts_toserver": size // 1400,
                    "pkts_toclient": size // 40000,
                    "bytes_toserver": size,
                    "bytes_toclient": size // 50,
                    "start": eve_time(s.at(30)),
                },
            },
        )
    s.case("nightly-backup", s.refs(), "benign_positive", evidence=["elastic-mass-read"])
    forbid_defaults(s)
    s.forbid(
        ("disable_user", "svc-backup"),
        ("isolate_host", backup.hostname),
        ("isolate_host", server.hostname),
        ("block_ip", offsite_ip),
        ("block_domain", offsite),
    )


@template("benign_lookalike", 4)
def admin_rdp_at_work(s: Story, i: int) -> None:
    admin = ADMINS[i % len(ADMINS)]
    ws = laptop(admin)
    windows_servers = [h for h in managed_by(admin) if asset(h).os == WIN_SERVER]
    servers = [asset(h) for h in s.sample(windows_servers, min(len(windows_servers), 1 + i % 2))]
    s.start(s.workday_time(8, 16))
    s.title = f"{admin.name} logs on by RDP to {', '.join(a.hostname for a in servers)}"
    s.description = (
        f"{admin.name} logs on to {', '.join(a.hostname for a in servers)}, which they "
        f"administer, from {ws.hostname} during the working day."
    )
    for k, server in enumerate(servers):
        when = s.at(k * 20)
        s.alert(f"elastic-rdp-{server.hostname}", when, rdp_logon_alert, server, admin.user, ws)
        if k == 0 and i % 2 == 0:
            when = s.at(0.2)
            s.alert("wazuh-rdp", when, wazuh_rdp_logon, server, admin.user, ws, level=3)
    s.case("admin-at-work", s.refs(), "benign_positive", evidence=s.refs()[:1])
    forbid_defaults(s)
    s.forbid(
        ("disable_user", admin.user),
        ("isolate_host", ws.hostname),
        *(("isolate_host", a.hostname) for a in servers),
    )


@template("benign_lookalike", 3)
def build_server_encoded_powershell(s: Story, i: int) -> None:
    build = asset("SRV-BUILD-01")
    hard = i == 0
    s.difficulty = "hard" if hard else "standard"
    s.start(s.workday_time(8, 17))
    job = s.pick(("fleet-portal", "route-optimizer", "erp-connector", "warehouse-api"))
    s.title = f"Encoded PowerShell from the CI agent on {build.hostname} ({job} build)"
    s.description = (
        f"The Jenkins agent on {build.hostname} runs the {job} pipeline as svc-deploy; the "
        "pipeline's PowerShell steps are passed base64-encoded (-EncodedCommand) by the CI "
        "plugin, which EDR rules flag as obfuscation."
        + (" One run's alert is rated high." if hard else "")
    )
    agent = winproc("java.exe", '"java.exe" -jar C:\\jenkins\\agent.jar -workDir C:\\jenkins')
    step = winproc(
        "powershell.exe",
        "powershell.exe -NoProfile -NonInteractive "
        "-ExecutionPolicy Bypass -EncodedCommand "
        + encoded(
            f"Set-Location C:\\jenkins\\workspace\\{job}; Invoke-Pester -Path tests "
            f"-CI; Compress-Archive -Path out\\* -DestinationPath {job}.zip"
        ),
        agent,
    )
    s.alert(
        "defender-encoded",
        s.at(0),
        defender_alert,
        title="Suspicious PowerShell command line",
        level=4 if hard else 3,
        description="A PowerShell command line with an encoded command was run.",
        category="Execution",
        techniques=["T1059.001", "T1027"],
        evidence=[
            dv_device(build, users=["svc-deploy"]),
            dv_user("svc-deploy"),
            dv_process(step, "svc-deploy", s.at(0)),
        ],
    )
    if i != 2:
        s.alert(
            "falcon-encoded",
            s.at(0.5),
            crowdstrike_detection,
            build,
            user="svc-deploy",
            name="Suspicious Activity",
            description="PowerShell ran an encoded command with execution policy bypass.",
            level=3,
            proc=step,
            techniques=["T1059.001"],
        )
    s.case("ci-pipeline", s.refs(), "benign_positive", evidence=["defender-encoded"])
    forbid_defaults(s)
    s.forbid(
        ("block_hash", SIGNED["powershell.exe"]),
        ("disable_user", "svc-deploy"),
        ("isolate_host", build.hostname),
        ("block_hash", SIGNED["java.exe"]),
    )


@template("benign_lookalike", 5)
def internet_port_probes(s: Story, i: int) -> None:
    instance = PUBLIC_INSTANCES[i % 2]
    probers = [s.ext_ip() for _ in range(2 + i % 3)]
    s.start(s.pick([s.night_time(), s.workday_time(), s.evening_time()]))
    s.title = f"Internet port probes against {instance}"
    s.description = (
        f"Hosts on the internet probe unprotected ports of {instance}, a public instance, as "
        "they probe every address; nothing follows."
    )
    for k, prober in enumerate(probers):
        when = s.at(k * s.rng.randint(20, 90))
        port, name = s.pick(((22, "SSH"), (3389, "RDP"), (23, "Telnet"), (8080, "HTTP-alt")))
        s.alert(
            f"guardduty-probe-{k + 1}",
            when,
            guardduty_finding,
            finding_type="Recon:EC2/PortProbeUnprotectedPort",
            severity=2.0,
            title=f"Unprotected port on EC2 instance {instance} is being probed.",
            description=PORT_PROBE,
            resource=gd_instance(instance),
            action=gd_probe(ip_of(instance), [(port, name, prober, s.pick(HOSTILE_COUNTRIES))]),
            count=s.rng.randint(3, 60),
            first_seen=when - timedelta(hours=1),
        )
    if i % 2:
        web = asset(s.pick(WEB_SERVERS))
        s.alert(
            "suricata-dshield",
            s.at(5),
            suricata_alert,
            src=probers[0],
            dst=web.ips[0],
            dport=8443,
            sid=2402000,
            signature="ET DROP Dshield Block Listed Source group 1",
            category="Misc Attack",
            priority=2,
            action="blocked",
        )
    s.case("internet-background-noise", s.refs(), "benign_positive", evidence=["guardduty-probe-1"])
    forbid_defaults(s)
    s.forbid(("isolate_host", instance), ("block_ip", EC2_PUBLIC_IPS[instance]))


_NEWSLETTERS = (
    ("newsletter@logistics-today.example", "Logistics Today", "Port congestion and rates"),
    ("updates@freightexchange.example", "Freight Exchange", "Your weekly load matches"),
    ("events@hr-academy.example", "HR Academy", "Webinar invitation: hybrid work policies"),
    ("digest@fleet-telematics.example", "Fleet Telematics", "Tyre pressure alerts explained"),
)


@template("benign_lookalike", 4)
def newsletter_flagged(s: Story, i: int) -> None:
    sender, name, topic = _NEWSLETTERS[i]
    domain = sender.split("@", 1)[1]
    sender_ip = s.ext_ip(("192.0.2",))
    readers: list[Person] = s.sample(OFFICE_STAFF, 4)
    s.start(s.workday_time(7, 10))
    s.title = f"{name} newsletter flagged as possible phishing"
    s.description = (
        f"{name}, a newsletter Northwind staff subscribed to, sends '{topic}' from {sender} "
        "with DKIM and SPF passing. Its links go through a click tracker whose text does not "
        "match the destination, so the gateway flags it"
        + ("; one reader reports it as phishing." if i != 1 else ".")
    )
    url = f"https://click.{domain}/t/{s.hex(12)}"
    s.alert(
        "mail-flagged",
        s.at(0),
        mail_gateway,
        title="Possible phishing: link text does not match its destination",
        desc="Links in the message display one address and lead to another (a click tracker).",
        analytic=("HMG-PH-0019", "Mismatched link text"),
        techniques=["T1566.002"],
        level=2,
        sender=sender,
        recipients=[p.email for p in readers],
        subject=f"{name}: {topic}",
        sender_ip=sender_ip,
        urls=[url],
        types=["Phishing", "Bulk"],
    )
    if i != 1:
        reporter = readers[0]
        message = dv_message(
            sender=sender,
            sender_name=name,
            recipient=reporter.email,
            subject=f"{name}: {topic}",
            sender_ip=sender_ip,
            received=s.at(0),
            urls=[url],
            threats=(),
            verdict="unknown",
        )
        s.alert(
            "defender-user-report",
            s.at(35),
            defender_alert,
            title="Email reported by user as malware or phish",
            level=1,
            description=f"{reporter.email} reported a message as phishing.",
            category="InitialAccess",
            techniques=["T1566"],
            source="microsoftDefenderForOffice365",
            evidence=[message, dv_mailbox(reporter.user), dv_ip(sender_ip)],
        )
    s.case("legitimate-newsletter", s.refs(), "false_positive", evidence=["mail-flagged"])
    forbid_defaults(s)
    s.forbid(
        ("quarantine_email", sender), ("block_domain", domain), ("block_domain", f"click.{domain}")
    )


@template("benign_lookalike", 3)
def routine_noise(s: Story, i: int) -> None:
    day = s.pick(WORKDAYS[4:])
    s.start(clock(day, s.rng.randint(8, 16), s.rng.randint(0, 59)))
    refs: list[str] = []
    minute = -3 * 24 * 60 + s.rng.randint(0, 120)
    if i == 0:
        printer = asset("SRV-PRINT-01")
        copier = f"10.40.1.{s.rng.randint(10, 60)}"
        s.title = "Scan-to-folder copier fails to log on as svc-print every few hours"
        s.description = (
            f"A copier ({copier}) still uses an old svc-print password for scan-to-folder, so "
            f"{printer.hostname} logs a failed logon every few hours. A known, ticketed nuisance."
        )
        s.forbid(("disable_user", "svc-print"), ("isolate_host", printer.hostname))

        def record(when: datetime) -> Record:
            return wazuh_logon_failure(
                when, printer, "svc-print", source_ip=copier, workstation="COPIER-2F"
            )
    elif i == 1:
        person = s.pick(OFFICE_STAFF)
        ws = laptop(person)
        relay = s.ext_ip(("192.0.2",))
        s.title = f"STUN traffic from {ws.hostname}'s meeting client every few hours"
        s.description = (
            f"The video-meeting client on {ws.hostname} sends STUN binding requests to its "
            f"media relay {relay} whenever {person.first} joins a call; an ET INFO rule alerts."
        )
        s.forbid(("isolate_host", ws.hostname), ("block_ip", relay))

        def record(when: datetime) -> Record:
            return suricata_alert(
                when,
                src=ws.ips[0],
                dst=relay,
                dport=3478,
                proto="UDP",
                sid=2016149,
                signature="ET INFO Session Traversal Utilities for NAT (STUN Binding Request)",
                category="Attempted User Privilege Gain",
                priority=3,
                signature_severity="Informational",
            )
    else:
        person = s.pick(OFFICE_STAFF)
        ws = laptop(person)
        s.title = f"Defender definition updates keep failing on {ws.hostname}"
        s.description = (
            f"{ws.hostname} cannot reach the update server through a broken proxy setting and "
            "reports the failed definition update every few hours."
        )
        s.forbid(("isolate_host", ws.hostname))

        def record(when: datetime) -> Record:
            return definitions_failure(when, ws)

    while minute <= 0:
        when = s.at(minute)
        refs.append(s.alert(f"noise-{len(refs) + 1:02d}", when, record))
        minute += s.rng.randint(3 * 60, 5 * 60)
    s.case("recurring-noise", refs, "benign_positive", evidence=refs[:1])
    forbid_defaults(s)


_GROUPS = ("Finance-Approvers", "ERP-PowerUsers", "VPN-Contractors", "Fleet-Dispatch-Admins")


@template("benign_lookalike", 4)
def ad_group_change(s: Story, i: int) -> None:
    admin = (
        PEOPLE["bob.nguyen"],
        PEOPLE["priya.shah"],
        PEOPLE["sara.lindqvist"],
        PEOPLE["tomasz.kowal"],
    )[i]
    member = s.pick(OFFICE_STAFF)
    group = _GROUPS[i]
    dc = asset(("DC-01", "DC-02")[i % 2])
    ticket = f"REQ-{s.rng.randint(100000, 199999)}"
    s.start(s.workday_time(8, 16))
    s.title = f"{admin.name} adds {member.name} to {group} ({ticket})"
    s.description = (
        f"Following access request {ticket}, approved by {member.name}'s manager, "
        f"{admin.name} adds {member.user} to the {group} group on {dc.hostname} during the "
        "working day. Group changes to sensitive groups are alerted on."
    )
    when = s.at(0)
    s.alert(
        "wazuh-group-member-added",
        when,
        wazuh_alert,
        dc,
        rule_id="60144",
        level=8,
        description="Domain security group member added",
        groups=["windows", "win_security", "group_changed"],
        techniques=["T1098"],
        data=win_event(
            when,
            dc,
            provider="Microsoft-Windows-Security-Auditing",
            event_id="4728",
            message="A member was added to a security-enabled global group.",
            eventdata={
                "memberName": f"CN={member.name},OU=Staff,DC=northwind,DC=example",
                "memberSid": sid_of(member.user),
                "targetUserName": group,
                "targetDomainName": NETBIOS,
                "subjectUserName": admin.user,
                "subjectDomainName": NETBIOS,
                "subjectUserSid": sid_of(admin.user),
            },
        ),
    )
    if i != 1:
        s.alert(
            "defender-sensitive-group",
            s.at(3),
            defender_alert,
            title="Suspicious additions to sensitive groups (external ID 2024)",
            level=3,
            description=f"{admin.user} added {member.user} to {group}.",
            category="Persistence",
            techniques=["T1098"],
            source="microsoftDefenderForIdentity",
            evidence=[
                dv_user(admin.user, ("contextual",)),
                dv_user(member.user),
                dv_device(laptop(admin), roles=("source",)),
            ],
        )
    s.case(
        "approved-access-change", s.refs(), "benign_positive", evidence=["wazuh-group-member-added"]
    )
    forbid_defaults(s)
    s.forbid(
        ("isolate_host", dc.hostname), ("disable_user", admin.user), ("disable_user", member.user)
    )
