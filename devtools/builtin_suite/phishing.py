"""phishing stories: credential links, attachments, impersonation, campaigns, OAuth consent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from devtools.builtin_suite.scenes import edr_process, mail_gateway
from devtools.builtin_suite.story import WORKDAYS, Story, clock, forbid_defaults, template
from devtools.northwind import (
    DOMAIN,
    EXECUTIVES,
    HOSTILE_COUNTRIES,
    HQ_EGRESS,
    OFFICE_STAFF,
    SIGNED,
    STANDARD_STAFF,
    Person,
    country_name,
    laptop,
)
from devtools.vendor_records.common import EXPLORER, Proc, Record, winproc
from devtools.vendor_records.crowdstrike import falcon_ml_detection
from devtools.vendor_records.microsoft import (
    defender_alert,
    dv_file,
    dv_ip,
    dv_mailbox,
    dv_message,
    dv_url,
    dv_user,
    identity_protection,
    se_account,
    se_ip,
    se_mail,
    se_mailbox,
    se_url,
    sentinel_alert,
)
from devtools.vendor_records.ocsf import MAIL_GATEWAY, ocsf_finding
from devtools.vendor_records.okta import okta_mfa_ok, okta_session

# ============================================================================================
# phishing
# ============================================================================================


def gateway_click(at: datetime, person: Person, url: str) -> Record:
    """The mail gateway's OCSF finding: a user clicked a rewritten link."""
    host = url.split("/")[2]
    ws = laptop(person)
    return ocsf_finding(
        at,
        product=MAIL_GATEWAY,
        title=f"User clicked link to {host}",
        desc=f"{person.email} clicked a rewritten link from a message flagged as phishing.",
        types=["URL Click", "Phishing"],
        analytic=("HMG-UC-0007", "Click on link from message flagged as phishing"),
        techniques=["T1204.001"],
        level=4,
        message=f"{person.email} clicked a link to {host}",
        device=ws,
        user=person.user,
        evidences=[
            {
                "url": {"url_string": url, "hostname": host},
                "src_endpoint": {"ip": ws.ips[0], "hostname": ws.hostname},
                "dst_endpoint": {"hostname": host, "port": 443},
            }
        ],
        observables=[("device.hostname", 1, ws.hostname), ("url.url_string", 6, url)],
    )


def url_click(at: datetime, person: Person, url: str, mail: Record) -> Record:
    """Sentinel (Defender for Office 365): a user clicked a malicious link."""
    return sentinel_alert(
        at,
        name="A potentially malicious URL click was detected",
        level=4,
        description="We have detected that one of your users has recently clicked on a link "
        "that was found to be malicious.",
        tactics=["InitialAccess"],
        techniques=["T1566.002"],
        entities=[se_account(person.user), se_mailbox(person.user), se_url(url), mail],
        provider="OATP",
        product="Office 365 Advanced Threat Protection",
        alert_type="ThreatManagement",
        extended={"Protection Status": "Unprotected", "ThreatManagementPolicy": "Safe Links"},
        compromised=person.email,
    )


def removed_after_delivery(
    at: datetime,
    *,
    messages: Sequence[Record],
    users: Sequence[str],
    urls: Sequence[str] = (),
    files: Sequence[Record] = (),
    sender_ip: str,
) -> Record:
    """Defender for Office 365: messages removed after delivery (zero-hour auto purge)."""
    kind = "file" if files else "URL"
    return defender_alert(
        at,
        title=f"Email messages containing malicious {kind} removed after delivery",
        level=3,
        description=f"Emails with malicious {kind} that were delivered and later removed -V1.0.0.3",
        category="InitialAccess",
        techniques=["T1566.001" if files else "T1566.002"],
        source="microsoftDefenderForOffice365",
        evidence=[
            *messages,
            *(dv_mailbox(u) for u in users),
            *(dv_url(u) for u in urls),
            *files,
            dv_ip(sender_ip),
        ],
    )


_LURE_SUBJECTS = {
    "sharepoint": "{name} shared 'Q4 budget review.xlsx' with you",
    "docs": "Document awaiting your signature: contract amendment",
    "payroll": "Action required: confirm your payroll details before the 25th",
    "invoices": "Overdue invoice INV-{n}",
    "hr": "Updated holiday policy 2027: please acknowledge",
    "it-support": "Your mailbox is almost full: verify to keep receiving mail",
}


@template("phishing", 5)
def credential_link(s: Story, i: int) -> None:
    victim = s.pick(OFFICE_STAFF)
    purpose = ("invoices", "sharepoint", "payroll", "it-support", "docs")[i]
    if i == 0:
        domain, sender = "northwlnd-billing.example", "invoices@northwlnd-billing.example"
    else:
        domain = s.lookalike(purpose)
        sender = f"{s.pick(('noreply', 'notification', 'service', 'admin'))}@{domain}"
    known = i in (0, 2, 4)
    if known and i:
        s.intel(domain, "domain", "Look-alike credential-phishing domain", 80)
    sender_ip = s.ext_ip()
    url = f"https://{domain}/{s.pick(('auth', 'login', 'sso', 's'))}/{s.hex(10)}"
    subject = _LURE_SUBJECTS[purpose].format(
        name=s.pick(STANDARD_STAFF).name, n=s.rng.randint(10000, 99999)
    )
    clicked = i in (0, 1, 3)
    compromised = i in (1, 3)
    s.start(s.workday_time(7, 14))
    s.title = f"Credential phishing from {domain} to {victim.name}" + (
        ", password entered" if compromised else ", link clicked" if clicked else ""
    )
    s.description = (
        f"{sender} sends '{subject}' to {victim.email} with a link to a fake sign-in page on "
        f"{domain}."
        + (f" {victim.first} clicks it" if clicked else "")
        + (
            " and types the password; an hour later the account signs in from abroad."
            if compromised
            else "."
            if clicked
            else " Nobody clicks."
        )
    )
    received = s.at(0)
    mail = se_mail(
        sender=sender,
        sender_name="Northwind " + purpose.title(),
        recipient=victim.email,
        subject=subject,
        sender_ip=sender_ip,
        received=received,
        urls=[url],
    )
    if i % 2 == 0:
        s.alert(
            "mail-delivered",
            s.at(0.5),
            mail_gateway,
            title=f"Link to credential page from look-alike sender domain {domain}",
            desc=f"Sender domain {domain} imitates northwind.example; the message links to a "
            "sign-in form.",
            analytic=("HMG-PH-0031", "Look-alike sender domain with credential link"),
            techniques=["T1566.002"],
            level=3,
            sender=sender,
            recipients=[victim.email],
            subject=subject,
            sender_ip=sender_ip,
            urls=[url],
        )
    else:
        message = dv_message(
            sender=sender,
            sender_name="Northwind " + purpose.title(),
            recipient=victim.email,
            subject=subject,
            sender_ip=sender_ip,
            received=received,
            urls=[url],
        )
        s.alert(
            "mail-delivered",
            s.at(3),
            removed_after_delivery,
            messages=[message],
            users=[victim.user],
            urls=[url],
            sender_ip=sender_ip,
        )
    techniques = ["T1566.002"]
    evidence = ["mail-delivered"]
    actions = [("quarantine_email", sender), ("block_domain", domain)]
    if clicked:
        when = s.at(s.rng.randint(5, 25))
        s.add(
            "url-click",
            when,
            url_click(when, victim, url, mail) if i != 3 else gateway_click(when, victim, url),
        )
        techniques.append("T1204.001")
        evidence.append("url-click")
    if compromised:
        attacker = s.ext_ip()
        country = s.pick(HOSTILE_COUNTRIES)
        when = s.at(s.rng.randint(45, 80))
        s.alert(
            "okta-attacker-session",
            when,
            okta_session,
            person=victim,
            risk="HIGH",
            threat_suspected=False,
            ip=attacker,
            country=country,
        )
        s.alert(
            "sentinel-unfamiliar-signin",
            when + timedelta(minutes=3),
            identity_protection,
            name="Unfamiliar sign-in properties",
            alert_type="UnfamiliarFeatures",
            level=3,
            description="Sign-in with properties not seen recently for the user.",
            user=victim.user,
            ip=attacker,
            country=country,
            previous=(HQ_EGRESS, "DE"),
        )
        techniques.append("T1078.004")
        evidence.append("okta-attacker-session")
        actions += [
            ("revoke_sessions", victim.user),
            ("reset_password", victim.user),
            ("block_ip", attacker),
        ]
    s.case(
        "credential-phish",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=evidence,
        actions=actions,
    )
    forbid_defaults(s)
    s.forbid(("block_domain", DOMAIN), ("quarantine_email", victim.email))


@template("phishing", 4)
def attachment_payload(s: Story, i: int) -> None:
    victim = s.pick(OFFICE_STAFF)
    ws = laptop(victim)
    supplier = s.domain(s.pick(("freight", "cargo", "parts", "fuel")), "supply")
    sender = f"accounts@{supplier}"
    sender_ip = s.ext_ip()
    container = ("iso", "img", "zip", "html")[i]
    attachment = f"Remittance_{s.rng.randint(1000, 9999)}.{container}"
    attachment_hash = s.sha256()
    payload = s.sha256()
    subject = s.pick(
        (
            "Remittance advice",
            "Payment confirmation",
            "Updated price list",
            "Customs documents for your shipment",
        )
    )
    s.start(s.workday_time(7, 14))
    s.title = f"{attachment} from {supplier} runs a payload on {ws.hostname}"
    s.description = (
        f"A mail from {sender} carries {attachment}. {victim.name} opens it; a shortcut inside "
        f"starts rundll32 on a DLL from the container, which installs a loader. Mail filtering "
        "removes the message from the inbox only afterwards."
    )
    message = dv_message(
        sender=sender,
        sender_name="Accounts Receivable",
        recipient=victim.email,
        subject=subject,
        sender_ip=sender_ip,
        received=s.at(0),
        attachments=1,
        threats=("Malware",),
    )
    s.alert(
        "mail-removed",
        s.at(20),
        removed_after_delivery,
        messages=[message],
        users=[victim.user],
        sender_ip=sender_ip,
        files=[dv_file(attachment, "", attachment_hash)],
    )
    drive = "E:" if container in ("iso", "img") else f"C:\\Users\\{victim.user}\\Downloads"
    lnk = winproc(
        "cmd.exe", f"cmd.exe /c start rundll32 {drive}\\data\\{s.hex(6)}.dat,Start", EXPLORER
    )
    loader = Proc(
        f"C:\\Users\\{victim.user}\\AppData\\Local\\Temp\\{s.hex(8)}.exe",
        "loader",
        payload,
        winproc("rundll32.exe", "rundll32.exe", lnk),
    )
    vendor = ("defender", "crowdstrike", "elastic", "defender")[i]
    s.add(
        "edr-container-exec",
        s.at(4),
        edr_process(
            vendor,
            s.at(4),
            ws,
            user=victim.user,
            title="Shortcut from a mounted container launched a script host",
            description=f"A shortcut from {attachment} started cmd.exe "
            "and rundll32, bypassing Mark-of-the-Web.",
            level=4,
            proc=lnk,
            techniques=["T1204.002", "T1553.005"],
        ),
    )
    s.alert(
        "falcon-loader",
        s.at(5),
        falcon_ml_detection,
        ws,
        user=victim.user,
        proc=loader,
        sha256=payload,
        level=5,
    )
    s.case(
        "malicious-attachment",
        s.refs(),
        "true_positive",
        techniques=["T1566.001", "T1204.002", "T1553.005"],
        evidence=["mail-removed", "edr-container-exec", "falcon-loader"],
        actions=[
            ("quarantine_email", sender),
            ("block_hash", payload),
            ("block_hash", attachment_hash),
            ("isolate_host", ws.hostname),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["explorer.exe"]), ("block_hash", SIGNED["rundll32.exe"]))


@template("phishing", 4)
def executive_impersonation(s: Story, i: int) -> None:
    executive = EXECUTIVES[i % 2]
    finance = [p for p in OFFICE_STAFF if p.department == "Finance"]
    victims = s.sample(finance, 2 if i == 3 else 1)
    domain = s.lookalike(s.pick(("group", "exec", "mail", "board")))
    sender = f"{executive.user}@{domain}"
    sender_ip = s.ext_ip()
    subject = s.pick(
        (
            "Confidential: acquisition payment today",
            "Urgent wire transfer",
            "Are you at your desk?",
            "Vendor payment - need this done before 3pm",
        )
    )
    s.start(s.workday_time(8, 15))
    s.title = f"{executive.role} {executive.name} impersonated from {domain}"
    s.description = (
        f"A mail signed '{executive.name}' from {sender} asks "
        f"{' and '.join(v.name for v in victims)} to make an urgent, confidential payment. "
        f"The real address is {executive.email}."
        + (f" {victims[0].first} replies." if i == 1 else "")
    )
    recipients = [v.email for v in victims]
    s.alert(
        "mail-impersonation",
        s.at(0),
        mail_gateway,
        title="Display name of an executive used from an external domain",
        desc=f"The display name '{executive.name}' belongs to an executive, but the sender "
        f"domain {domain} is not Northwind's.",
        analytic=("HMG-BEC-0004", "Executive display-name spoofing"),
        techniques=["T1566", "T1656"],
        level=3,
        sender=sender,
        recipients=recipients,
        subject=subject,
        sender_ip=sender_ip,
        types=["Phishing", "Impersonation"],
    )
    if i % 2 == 0:
        message = dv_message(
            sender=sender,
            sender_name=executive.name,
            recipient=recipients[0],
            subject=subject,
            sender_ip=sender_ip,
            received=s.at(0),
            threats=("Phish",),
            verdict="suspicious",
        )
        s.alert(
            "defender-impersonation",
            s.at(2),
            defender_alert,
            title="User impersonation detected in an inbound message",
            level=3,
            description=f"A message impersonates {executive.name}.",
            category="InitialAccess",
            techniques=["T1566"],
            source="microsoftDefenderForOffice365",
            evidence=[message, dv_mailbox(victims[0].user), dv_ip(sender_ip)],
        )
    if i == 1:
        s.alert(
            "mail-reply",
            s.at(14),
            mail_gateway,
            title="Reply sent to a message flagged as impersonation",
            desc=f"{victims[0].email} replied to {sender}.",
            analytic=("HMG-BEC-0011", "Reply to impersonation"),
            techniques=["T1656"],
            level=4,
            sender=victims[0].email,
            recipients=[sender],
            subject=f"RE: {subject}",
            sender_ip=HQ_EGRESS,
            types=["Impersonation", "Outbound"],
        )
    s.case(
        "bec-impersonation",
        s.refs(),
        "true_positive",
        techniques=["T1566", "T1656"],
        evidence=["mail-impersonation"],
        actions=[("quarantine_email", sender), ("block_domain", domain)],
    )
    forbid_defaults(s)
    s.forbid(
        ("quarantine_email", executive.email), ("block_domain", DOMAIN), ("block_ip", HQ_EGRESS)
    )


@template("phishing", 4)
def campaign_many_recipients(s: Story, i: int) -> None:
    brand = s.pick(("parcel", "track", "customs", "delivery"))
    domain = s.domain(brand, "notice")
    sender = f"no-reply@{domain}"
    sender_ip = s.ext_ip()
    recipients: list[Person] = s.sample(OFFICE_STAFF, s.rng.randint(4, 8))
    clickers = recipients[: 1 + i % 2]
    url = f"https://{domain}/track/{s.hex(12)}"
    subject = s.pick(
        (
            "Your parcel could not be delivered",
            "Customs fee outstanding for shipment",
            "Delivery attempt failed - reschedule",
        )
    )
    s.start(s.workday_time(7, 12))
    s.title = f"Phishing campaign from {domain} to {len(recipients)} employees"
    s.description = (
        f"{sender} sends '{subject}' to {len(recipients)} Northwind addresses with a link to "
        f"{domain}; {' and '.join(p.name for p in clickers)} click before the messages are "
        "purged."
    )
    messages = [
        dv_message(
            sender=sender,
            sender_name="Parcel Service",
            recipient=p.email,
            subject=subject,
            sender_ip=sender_ip,
            received=s.at(k * 0.1),
            urls=[url],
        )
        for k, p in enumerate(recipients)
    ]
    s.alert(
        "defender-campaign",
        s.at(30),
        removed_after_delivery,
        messages=messages,
        users=[p.user for p in recipients],
        urls=[url],
        sender_ip=sender_ip,
    )
    s.alert(
        "sentinel-campaign",
        s.at(32),
        sentinel_alert,
        name="Phishing campaign: one external sender to many recipients",
        level=3,
        description="An external sender's messages with the same link reached many mailboxes "
        "within minutes.",
        tactics=["InitialAccess"],
        techniques=["T1566.002"],
        entities=[
            se_mail(
                sender=sender,
                sender_name="Parcel Service",
                recipient=p.email,
                subject=subject,
                sender_ip=sender_ip,
                received=s.at(0),
                urls=[url],
            )
            for p in recipients[:3]
        ]
        + [se_url(url)],
    )
    for person in clickers:
        when = s.at(s.rng.randint(5, 25))
        s.alert(f"click-{person.user}", when, gateway_click, person, url)
    s.case(
        "phishing-campaign",
        s.refs(),
        "true_positive",
        techniques=["T1566.002", "T1204.001"],
        evidence=["defender-campaign", f"click-{clickers[0].user}"],
        actions=[("quarantine_email", sender), ("block_domain", domain)],
    )
    forbid_defaults(s)
    s.forbid(("block_domain", DOMAIN), *(("disable_user", p.user) for p in clickers))


@template("phishing", 3)
def oauth_consent(s: Story, i: int) -> None:
    victim = s.pick(OFFICE_STAFF + EXECUTIVES)
    app = ("PDF Viewer Pro", "DocuSign Helper", "Teams Meeting Add-in")[i]
    domain = s.domain()
    sender = f"share@{domain}"
    sender_ip = s.ext_ip()
    attacker = s.ext_ip()
    country = s.pick(HOSTILE_COUNTRIES)
    url = f"https://{domain}/consent/{s.hex(8)}"
    subject = f"{s.pick(STANDARD_STAFF).name} shared a file with you via {app}"
    s.start(s.workday_time(8, 14))
    s.title = f"{victim.name} consents to the rogue app '{app}'; mail read from {country}"
    s.description = (
        f"A mail from {sender} invites {victim.name} to open a file 'with {app}'. The link asks "
        "for consent to read and send mail; once granted, the app reads the mailbox from "
        f"{attacker} ({country_name(country)}). Resetting the password does not remove the "
        "app's token: sessions must be revoked and the grant removed."
    )
    message = dv_message(
        sender=sender,
        sender_name=app,
        recipient=victim.email,
        subject=subject,
        sender_ip=sender_ip,
        received=s.at(0),
        urls=[url],
    )
    s.alert(
        "mail-removed",
        s.at(40),
        removed_after_delivery,
        messages=[message],
        users=[victim.user],
        urls=[url],
        sender_ip=sender_ip,
    )
    s.alert(
        "defender-consent",
        s.at(6),
        defender_alert,
        title=f"Risky OAuth app consent: '{app}' granted Mail.ReadWrite",
        level=3,
        description=f"{victim.name} granted an unverified multi-tenant app access to mail.",
        category="CredentialAccess",
        techniques=["T1528"],
        source="microsoftDefenderForCloudApps",
        evidence=[dv_user(victim.user), dv_url(url), dv_ip(attacker, country=country)],
    )
    s.alert(
        "sentinel-app-mail-access",
        s.at(25),
        sentinel_alert,
        name="Mail items accessed by a newly consented app from an unusual IP",
        level=4,
        description=f"The app '{app}' read {s.rng.randint(200, 900)} messages of "
        f"{victim.user} from an address never seen for the tenant.",
        tactics=["Collection"],
        techniques=["T1114.002"],
        entities=[se_account(victim.user), se_ip(attacker, country)],
    )
    s.case(
        "oauth-consent-phish",
        s.refs(),
        "true_positive",
        techniques=["T1566.002", "T1528", "T1114.002"],
        evidence=["defender-consent", "sentinel-app-mail-access"],
        actions=[
            ("revoke_sessions", victim.user),
            ("quarantine_email", sender),
            ("block_domain", domain),
            ("block_ip", attacker),
        ],
    )
    forbid_defaults(s)
    s.forbid(("quarantine_email", victim.email))


_PARTNERS = (
    ("shipping-partner.example", "shippinq-partner.example", "Shipping Partner Weekly"),
    ("fleetparts.example", "fleetpart5.example", "FleetParts News"),
    ("cargo-insights.example", "carg0-insights.example", "Cargo Insights"),
)


@template("phishing", 3)
def phish_among_newsletters(s: Story, i: int) -> None:
    legit, fake, newsletter = _PARTNERS[i]
    legit_sender, fake_sender = f"news@{legit}", f"news@{fake}"
    legit_ip, fake_ip = s.ext_ip(("192.0.2",)), s.ext_ip()
    subscribers: list[Person] = s.sample(OFFICE_STAFF, 7)
    targets = subscribers[:2]
    s.difficulty = "hard"
    day = s.pick(WORKDAYS[2:])
    s.start(clock(day, s.rng.randint(9, 14), s.rng.randint(0, 59)))
    s.title = f"Look-alike {fake} hidden among {newsletter} newsletters"
    s.description = (
        f"Since its provider changed, {newsletter} from {legit_sender} is flagged every few "
        f"hours as bulk mail with tracking links: a false positive. On {day:%A} a message from "
        f"{fake_sender} (note the spelling) with the same subject style links to a fake sign-in "
        f"page; {targets[0].name} clicks it."
    )
    noise = []
    for k, hours in enumerate((-50, -46, -27, -22, -4), start=1):
        when = s.at(hours * 60 + s.rng.randint(0, 30))
        issue = s.rng.randint(30, 52)
        noise.append(
            s.alert(
                f"newsletter-{k}",
                when,
                mail_gateway,
                title="Bulk mail with tracking links from a newly seen sending IP",
                desc=f"{legit} started sending from a new provider; links go through a click "
                "tracker.",
                analytic=("HMG-BLK-0012", "Bulk sender with tracking links"),
                techniques=["T1566.002"],
                level=2,
                sender=legit_sender,
                recipients=[p.email for p in s.sample(subscribers, 4)],
                subject=f"{newsletter} #{issue}: freight rates and port news",
                sender_ip=legit_ip,
                urls=[f"https://click.{legit}/t/{s.hex(10)}"],
                types=["Bulk", "Phishing"],
            )
        )
    url = f"https://{fake}/account/verify/{s.hex(8)}"
    s.alert(
        "phish-delivered",
        s.at(0),
        mail_gateway,
        title=f"Credential page linked from a newly registered domain {fake}",
        desc=f"{fake} was registered 3 days ago and links to a sign-in form.",
        analytic=("HMG-PH-0044", "Newly registered sender domain with credential link"),
        techniques=["T1566.002"],
        level=3,
        sender=fake_sender,
        recipients=[p.email for p in targets],
        subject=f"{newsletter} #53: please re-confirm your subscription",
        sender_ip=fake_ip,
        urls=[url],
    )
    when = s.at(s.rng.randint(6, 30))
    s.alert("phish-click", when, gateway_click, targets[0], url)
    s.case(
        "look-alike-phish",
        ["phish-delivered", "phish-click"],
        "true_positive",
        techniques=["T1566.002", "T1204.001"],
        evidence=["phish-delivered", "phish-click"],
        actions=[("quarantine_email", fake_sender), ("block_domain", fake)],
    )
    s.case("newsletter-noise", noise, "false_positive", evidence=noise[:1])
    forbid_defaults(s)
    s.forbid(
        ("quarantine_email", legit_sender),
        ("block_domain", legit),
        ("block_domain", f"click.{legit}"),
    )


@template("phishing", 3)
def qr_code_aitm(s: Story, i: int) -> None:
    victim = s.pick(OFFICE_STAFF)
    domain = s.domain(s.pick(("benefits", "hr", "payroll")), "portal")
    sender = f"{s.pick(('hr-benefits', 'people-team', 'payroll'))}@{domain}"
    sender_ip = s.ext_ip()
    attacker = s.ext_ip()
    country = s.pick(HOSTILE_COUNTRIES)
    subject = s.pick(
        (
            "Annual benefits enrolment closes Friday",
            "Scan to view your 2027 salary statement",
            "Mandatory: re-register your multi-factor device",
        )
    )
    s.difficulty = "hard"
    s.start(s.workday_time(7, 13))
    s.title = f"QR-code phishing: {victim.name}'s session relayed through an AiTM proxy"
    s.description = (
        f"A mail from {sender} carries only a QR code, so the gateway sees no link and rates it "
        f"low. {victim.first} scans it with a phone; the page relays the Okta sign-in, MFA "
        f"included, and the attacker replays the session from {attacker} "
        f"({country_name(country)})."
    )
    s.alert(
        "mail-qr",
        s.at(0),
        mail_gateway,
        title="Message with a QR code image from a first-time sender",
        desc="The body is an image with a QR code; no link could be extracted.",
        analytic=("HMG-QR-0002", "QR code from first-time sender"),
        techniques=["T1566"],
        level=2,
        sender=sender,
        recipients=[victim.email],
        subject=subject,
        sender_ip=sender_ip,
        types=["Phishing", "QR Code"],
    )
    phone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
    )
    minute = s.rng.randint(35, 80)
    okta = {"person": victim, "ip": attacker, "country": country, "ua": phone}
    s.alert(
        "okta-relayed-mfa", s.at(minute), okta_mfa_ok, risk="MEDIUM", credential_type="OTP", **okta
    )
    s.alert("okta-relayed-session", s.at(minute + 0.1), okta_session, risk="MEDIUM", **okta)
    if i != 2:
        s.alert(
            "sentinel-unfamiliar-signin",
            s.at(minute + 4),
            identity_protection,
            name="Unfamiliar sign-in properties",
            alert_type="UnfamiliarFeatures",
            level=2 + i,
            description="Sign-in with properties not seen recently for the user.",
            user=victim.user,
            ip=attacker,
            country=country,
            previous=(HQ_EGRESS, "DE"),
        )
    s.case(
        "qr-aitm",
        s.refs(),
        "true_positive",
        techniques=["T1566", "T1557", "T1539", "T1078.004"],
        evidence=["mail-qr", "okta-relayed-session"],
        actions=[
            ("revoke_sessions", victim.user),
            ("reset_password", victim.user),
            ("quarantine_email", sender),
            ("block_ip", attacker),
        ],
    )
    forbid_defaults(s)
    s.forbid(("quarantine_email", victim.email))
