"""What every vendor-record writer shares: deterministic ids, time formats, processes.

Vendor ids are digests of what makes a record unique, so the writers are pure functions and the
same inputs always give the same record.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devtools.northwind import DOMAIN, SIGNED

Record = dict[str, Any]


# Every builder takes a "level": 1 informational, 2 low, 3 medium, 4 high, 5 critical
# (OCSF severity_id), and writes it in its vendor's own scale.


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
