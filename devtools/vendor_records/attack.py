"""ATT&CK: the names and primary tactic of every technique the generated records use.

Vendor records carry the names in each vendor's spelling; the suite's truth carries only the ids.
"""

from __future__ import annotations

from typing import NamedTuple

from tierzero.ingest.base import TACTICS

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


def parent_technique(uid: str) -> str:
    """``T1059`` for ``T1059.001`` (and for ``T1059``)."""
    return uid.split(".")[0]


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


class Mitre(NamedTuple):
    """One ATT&CK reference as a vendor writes it: the names are in the vendor's spelling."""

    technique_id: str
    technique: str
    tactic: str
    tactic_id: str | None = None


def mitre_of(uid: str) -> Mitre:
    """The reference of a technique of :data:`TECHNIQUES`, with the official names."""
    tactic_id, tactic = tactic_of(uid)
    return Mitre(uid, technique_name(uid), tactic, tactic_id)
