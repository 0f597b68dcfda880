"""MITRE ATT&CK techniques by id, from the data loaded for the run (``attack_technique``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from tierzero.tools.attack import Technique, builtin_techniques
from tierzero.tools.investigation.arguments import TechniqueId
from tierzero.tools.investigation.views import View
from tierzero.tools.registry import REGISTRY, ToolContext


class TechniqueInfo(View):
    technique_id: str
    found: bool
    name: str | None = None
    parent_name: str | None = None
    tactics: tuple[str, ...] = ()
    url: str | None = None
    deprecated: bool = False
    revoked: bool = False
    data: Literal["bundle", "builtin"]
    note: str = ""


@REGISTRY.register(action_class="read")
def attack_technique(ctx: ToolContext, technique_id: TechniqueId) -> TechniqueInfo:
    """A MITRE ATT&CK technique by id (T1059 or T1059.001): name, parent technique name,
    tactics, URL, deprecated and revoked flags, from the ATT&CK data loaded for this run. An id
    missing from that data comes back with found=false.

    The data is ``ctx.attack`` (a configured Enterprise bundle) or the built-in table.
    """
    table: Mapping[str, Technique] = ctx.attack if ctx.attack is not None else builtin_techniques()
    data: Literal["bundle", "builtin"] = "bundle" if ctx.attack is not None else "builtin"
    technique = table.get(technique_id)
    if technique is None:
        return TechniqueInfo(
            technique_id=technique_id,
            found=False,
            data=data,
            note=f"{technique_id} is not in the loaded ATT&CK data ({data}, {len(table)}"
            " techniques): a wrong id, or one this data does not cover",
        )
    parent = table.get(technique.parent_id) if technique.parent_id else None
    notes = [
        text
        for flag, text in (
            (technique.revoked, "revoked by MITRE: see the ATT&CK page for its replacement"),
            (technique.deprecated, "deprecated by MITRE"),
        )
        if flag
    ]
    return TechniqueInfo(
        technique_id=technique.id,
        found=True,
        name=technique.name,
        parent_name=parent.name if parent else None,
        tactics=technique.tactics,
        url=technique.url,
        deprecated=technique.deprecated,
        revoked=technique.revoked,
        data=data,
        note="; ".join(notes),
    )
