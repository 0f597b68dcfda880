"""MITRE ATT&CK techniques for lookups: a STIX bundle a user supplies, or a built-in table.

ATT&CK is never downloaded at run time. ``load_attack`` reads an Enterprise STIX 2.x bundle
(``enterprise-attack.json`` from the mitre/cti or mitre-attack/attack-stix-data repositories,
which a user downloads once and points tierzero at) or a flattened technique table of the shape
``{"tactics": [{id, name, shortname}], "techniques": [{id, name, tactics, deprecated, revoked,
url}]}``. Without one, :func:`builtin_techniques` is a small table of the techniques tierzero's
own playbooks, priority rules and examples use (``attack_techniques.csv``; a corpus test keeps its
names in step with ATT&CK).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tierzero.config import ConfigError

TECHNIQUE_ID = re.compile(r"^T\d{4}(\.\d{3})?$")

# The Enterprise tactics: kill-chain phase name (as techniques reference them) -> display name.
TACTICS: dict[str, str] = {
    "reconnaissance": "Reconnaissance",
    "resource-development": "Resource Development",
    "initial-access": "Initial Access",
    "execution": "Execution",
    "persistence": "Persistence",
    "privilege-escalation": "Privilege Escalation",
    "defense-evasion": "Defense Evasion",
    "credential-access": "Credential Access",
    "discovery": "Discovery",
    "lateral-movement": "Lateral Movement",
    "collection": "Collection",
    "command-and-control": "Command and Control",
    "exfiltration": "Exfiltration",
    "impact": "Impact",
}


class Technique(BaseModel):
    """One ATT&CK technique or sub-technique (``T1059.001``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    tactics: tuple[str, ...] = ()
    url: str
    deprecated: bool = False
    revoked: bool = False

    @property
    def parent_id(self) -> str | None:
        """The parent technique of a sub-technique (``T1059`` for ``T1059.001``)."""
        return self.id.split(".", 1)[0] if "." in self.id else None


def technique_url(technique_id: str) -> str:
    """The technique's page on attack.mitre.org."""
    return "https://attack.mitre.org/techniques/" + technique_id.replace(".", "/")


def load_attack(path: Path) -> dict[str, Technique]:
    """Techniques by id from an ATT&CK STIX bundle or a flattened technique table.

    Keeps id, name, tactics (display names), url and the deprecated and revoked flags. When a
    bundle holds several objects with one id, a live one wins over a revoked or deprecated one.
    Raises :class:`ConfigError` for a file that is neither.
    """
    try:
        with path.open("rb") as handle:
            document = json.load(handle)
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable ATT&CK file: {exc}") from exc
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: an ATT&CK file is a JSON object")
    if isinstance(document.get("objects"), list):
        found = _from_stix(document["objects"])
    elif isinstance(document.get("techniques"), list):
        found = _from_table(document)
    else:
        raise ConfigError(f"{path}: neither a STIX bundle ('objects') nor a technique table")
    if not found:
        raise ConfigError(f"{path}: no ATT&CK techniques found")
    return found


def _from_stix(objects: list[Any]) -> dict[str, Technique]:
    tactics = dict(TACTICS)
    for obj in objects:
        if isinstance(obj, dict) and obj.get("type") == "x-mitre-tactic":
            short, name = obj.get("x_mitre_shortname"), obj.get("name")
            if isinstance(short, str) and isinstance(name, str):
                tactics[short] = name
    out: dict[str, Technique] = {}
    for obj in objects:
        if not isinstance(obj, dict) or obj.get("type") != "attack-pattern":
            continue
        ref = next(
            (
                r
                for r in obj.get("external_references") or ()
                if isinstance(r, dict) and r.get("source_name") == "mitre-attack"
            ),
            None,
        )
        if ref is None or not TECHNIQUE_ID.match(str(ref.get("external_id", ""))):
            continue
        phases = [
            str(p.get("phase_name"))
            for p in obj.get("kill_chain_phases") or ()
            if isinstance(p, dict) and p.get("kill_chain_name") == "mitre-attack"
        ]
        technique_id = str(ref["external_id"])
        _keep(
            out,
            Technique(
                id=technique_id,
                name=str(obj.get("name") or technique_id),
                tactics=_tactic_names(phases, tactics),
                url=str(ref.get("url") or technique_url(technique_id)),
                deprecated=bool(obj.get("x_mitre_deprecated", False)),
                revoked=bool(obj.get("revoked", False)),
            ),
        )
    return out


def _from_table(document: Mapping[str, Any]) -> dict[str, Technique]:
    tactics = dict(TACTICS)
    for tactic in document.get("tactics") or ():
        if isinstance(tactic, dict) and tactic.get("shortname") and tactic.get("name"):
            tactics[str(tactic["shortname"])] = str(tactic["name"])
    out: dict[str, Technique] = {}
    for row in document["techniques"]:
        if not isinstance(row, dict) or not TECHNIQUE_ID.match(str(row.get("id", ""))):
            continue
        technique_id = str(row["id"])
        _keep(
            out,
            Technique(
                id=technique_id,
                name=str(row.get("name") or technique_id),
                tactics=_tactic_names([str(t) for t in row.get("tactics") or ()], tactics),
                url=str(row.get("url") or technique_url(technique_id)),
                deprecated=bool(row.get("deprecated", False)),
                revoked=bool(row.get("revoked", False)),
            ),
        )
    return out


def _tactic_names(phases: Iterable[str], names: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names.get(p, p) for p in phases))


def _keep(out: dict[str, Technique], technique: Technique) -> None:
    """Add a technique; of two with one id, the live one stays."""
    held = out.get(technique.id)
    live = not (technique.revoked or technique.deprecated)
    if held is None or (live and (held.revoked or held.deprecated)):
        out[technique.id] = technique


@cache
def builtin_techniques() -> Mapping[str, Technique]:
    """The built-in fallback table (``attack_techniques.csv``: id, name, tactic phase names)."""
    text = resources.files("tierzero.tools").joinpath("attack_techniques.csv").read_text("utf-8")
    out: dict[str, Technique] = {}
    for row in csv.DictReader(io.StringIO(text)):
        technique_id = row["id"].strip()
        out[technique_id] = Technique(
            id=technique_id,
            name=row["name"].strip(),
            tactics=_tactic_names(
                (t.strip() for t in row["tactics"].split(";") if t.strip()), TACTICS
            ),
            url=technique_url(technique_id),
        )
    return out


def attack_table(bundle: Path | None = None) -> Mapping[str, Technique]:
    """The techniques in force: the configured bundle's, else the built-in table."""
    return load_attack(bundle) if bundle is not None else builtin_techniques()
