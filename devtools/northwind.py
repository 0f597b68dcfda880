"""Northwind Logistics, the fictional company of the built-in suite: people, hosts, intel.

Every scenario of the built-in evaluation suite happens here: the internal domain
``northwind.example`` (the default ``config/organization.yaml``), invented staff and machines,
addresses from the documentation or private ranges. The vendor-record writers
(:mod:`devtools.vendor_records`) use it for names, SIDs and cloud accounts;
:func:`base_environment` is the environment every scenario shares (``dataset.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from tierzero.evals.dataset import (
    Environment,
)
from tierzero.tools.inventory import (
    Asset,
    Identity,
    Indicator,
    Scanner,
)

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
