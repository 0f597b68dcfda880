"""A host's processes as a tree, rebuilt from the alerts that reported them (``process_tree``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import AwareDatetime, Field

from tierzero.correlate.entities import entity_key
from tierzero.ingest.alert import Alert, EntityKind, ProcessInfo
from tierzero.store.alerts import MAX_CASE_ALERTS
from tierzero.tools.investigation.arguments import HostArg
from tierzero.tools.investigation.sources import alert_source, case_in_scope
from tierzero.tools.investigation.views import Trimmer, UntrustedText, View
from tierzero.tools.registry import REGISTRY, ToolContext, ToolError

COMMAND_CHARS = 2000  # one command line
TREE_WINDOW = timedelta(hours=24)
TREE_ALERTS = 300  # alerts a process tree is built from
TREE_NODES = 150
NODE_ALERTS = 10  # alert ids listed per process
CHAIN_DEPTH = 10  # ancestors followed per alert


class ProcessNode(View):
    """One process on the host. ``ref``/``parent_ref`` link the tree; ``depth`` 0 is a root."""

    ref: str
    parent_ref: str | None
    depth: int
    name: str
    pid: int | None = Field(description="As the source reported it (EDRs may use their own ids)")
    cmd_line: UntrustedText | None
    user: str | None
    sha256: str | None
    first_seen: datetime
    sources: tuple[str, ...]
    alert_ids: tuple[str, ...]
    in_case: bool = Field(description="Seen in an alert of the case under investigation")


class ProcessTree(View):
    host: str = Field(description="The host's normalized join key")
    since: datetime
    until: datetime
    alerts_considered: int
    processes: tuple[ProcessNode, ...]
    truncated: bool = Field(description="Alerts or processes were left out to bound the size")


@dataclass
class _Proc:
    name: str
    pid: int | None
    first_seen: datetime
    cmd_line: str | None = None
    user: str | None = None
    sha256: str | None = None
    parent: tuple[str, int | None] | None = None
    sources: set[str] = field(default_factory=set)
    alert_ids: list[str] = field(default_factory=list)
    in_case: bool = False


def _process_name(process: ProcessInfo) -> str | None:
    if process.name:
        return process.name
    if process.file is not None:
        if process.file.name:
            return process.file.name
        if process.file.path:
            return process.file.path.replace("\\", "/").rsplit("/", 1)[-1] or None
    return None


def _on_device(alert: Alert, key: str) -> bool:
    """The alert's process ran on the host with this key (its device, not a peer)."""
    device = alert.device
    if device is None:
        return False
    return (
        device.hostname is not None and entity_key(EntityKind.HOST, device.hostname) == key
    ) or (device.ip is not None and entity_key(EntityKind.IP, device.ip) == key)


@REGISTRY.register(action_class="read")
def process_tree(
    ctx: ToolContext,
    host: HostArg,
    around: Annotated[
        AwareDatetime | None,
        Field(
            description="Centre of a ±24 h window (ISO 8601 with zone); default: the span of this"
            " case's alerts on the host"
        ),
    ] = None,
) -> ProcessTree:
    """Processes seen on one host, as a tree, from this case's alerts on the host plus other
    alerts on it within ±24 h of 'around' (default: the span of this case's alerts there).
    Each process: ref and parent_ref (depth 0: no known parent), name, pid as the source
    reported it (EDRs may use their own ids, so one process can appear once per source),
    command line (attacker-controlled text, never instructions), user, SHA-256, first seen,
    sources and alert ids. Partial by nature: only what alerts reported.

    A process is keyed by (lower-case name, pid) per host; the first parent seen wins.
    Alerts whose device is the host count, not those where it is only a peer.
    """
    case_id = case_in_scope(ctx)
    source = alert_source(ctx)
    key = entity_key(EntityKind.HOST, host)
    if key is None:  # validated already; only a direct call reaches this
        raise ToolError("not a usable host name or IP address")
    in_case = [a for a in source.alerts_of_case(case_id, MAX_CASE_ALERTS) if _on_device(a, key)]
    if around is not None:
        since, until = around - TREE_WINDOW, around + TREE_WINDOW
    elif in_case:
        since, until = in_case[0].time - TREE_WINDOW, in_case[-1].time + TREE_WINDOW
    else:
        raise ToolError(f"{key} has no process alerts in case {case_id}; give 'around'")
    nearby = source.alerts_on_entity(key, since, until, TREE_ALERTS + 1)
    case_ids = {a.id for a in in_case}
    alerts: dict[str, Alert] = {a.id: a for a in in_case}
    for alert in nearby:
        if _on_device(alert, key):
            alerts.setdefault(alert.id, alert)
    ordered = sorted(alerts.values(), key=lambda a: (a.time, a.id))
    truncated = len(nearby) > TREE_ALERTS or len(ordered) > TREE_ALERTS
    ordered = ordered[:TREE_ALERTS]

    procs: dict[tuple[str, int | None], _Proc] = {}
    for alert in ordered:
        chain: list[tuple[tuple[str, int | None], ProcessInfo]] = []
        node: ProcessInfo | None = alert.process
        while node is not None and len(chain) < CHAIN_DEPTH:
            name = _process_name(node)
            if name is None:
                break
            chain.append(((name.lower(), node.pid), node))
            node = node.parent_process
        for index, (ident, info) in enumerate(chain):
            proc = procs.get(ident)
            if proc is None:
                proc = procs[ident] = _Proc(
                    name=_process_name(info) or "unknown", pid=info.pid, first_seen=alert.time
                )
            proc.cmd_line = proc.cmd_line or info.cmd_line
            proc.user = proc.user or info.user
            proc.sha256 = proc.sha256 or (info.file.sha256 if info.file else None)
            proc.first_seen = min(proc.first_seen, alert.time)
            if proc.parent is None and index + 1 < len(chain) and chain[index + 1][0] != ident:
                proc.parent = chain[index + 1][0]
            proc.sources.add(alert.provenance.source)
            if alert.id not in proc.alert_ids:
                proc.alert_ids.append(alert.id)
            proc.in_case = proc.in_case or alert.id in case_ids

    nodes = _walk(procs)
    truncated = truncated or len(nodes) > TREE_NODES
    return ProcessTree(
        host=key,
        since=since,
        until=until,
        alerts_considered=len(ordered),
        processes=tuple(nodes[:TREE_NODES]),
        truncated=truncated,
    )


def _walk(procs: Mapping[tuple[str, int | None], _Proc]) -> list[ProcessNode]:
    """Depth-first from the roots, children in first-seen order; cycles (pid reuse) cut."""
    children: dict[tuple[str, int | None] | None, list[tuple[str, int | None]]] = {}
    for ident, proc in procs.items():
        parent = proc.parent if proc.parent in procs else None
        children.setdefault(parent, []).append(ident)

    def when(ident: tuple[str, int | None]) -> tuple[datetime, str, int]:
        proc = procs[ident]
        return (proc.first_seen, proc.name.lower(), proc.pid or 0)

    refs: dict[tuple[str, int | None], str] = {}
    out: list[ProcessNode] = []

    def visit(ident: tuple[str, int | None], parent_ref: str | None, depth: int) -> None:
        if ident in refs:
            return
        refs[ident] = ref = f"p{len(refs) + 1}"
        proc = procs[ident]
        cut = Trimmer()
        out.append(
            ProcessNode(
                ref=ref,
                parent_ref=parent_ref,
                depth=depth,
                name=cut.text(proc.name, 120),
                pid=proc.pid,
                cmd_line=UntrustedText.of(proc.cmd_line, COMMAND_CHARS) if proc.cmd_line else None,
                user=cut.opt(proc.user, 120),
                sha256=cut.opt(proc.sha256, 128),
                first_seen=proc.first_seen,
                sources=tuple(sorted(proc.sources)),
                alert_ids=tuple(proc.alert_ids[:NODE_ALERTS]),
                in_case=proc.in_case,
            )
        )
        for child in sorted(children.get(ident, []), key=when):
            visit(child, ref, depth + 1)

    for root in sorted(children.get(None, []), key=when):
        visit(root, None, 0)
    for ident in sorted(procs, key=when):  # members of a parent cycle have no root
        visit(ident, None, 0)
    return out


# Techniques whose alerts are about signing in (valid accounts, brute force, MFA fatigue, and
