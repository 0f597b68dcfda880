"""CrowdStrike Falcon detections, shaped like ``examples/crowdstrike_detections.jsonl``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from devtools.northwind import NETBIOS
from devtools.vendor_records.attack import tactic_of, technique_name
from devtools.vendor_records.common import Proc, Record, digest, epoch_ms, level_word, number_of
from tierzero.tools.inventory import (
    Asset,
)

# --------------------------------------------------------------------------------------------
# CrowdStrike Falcon (examples/crowdstrike_detections.jsonl)
# --------------------------------------------------------------------------------------------


def _device_path(path: str) -> str:
    """``C:\\Windows\\x.exe`` as Falcon writes it: ``\\Device\\HarddiskVolume3\\Windows\\x.exe``."""
    if len(path) > 2 and path[1] == ":":
        return "\\Device\\HarddiskVolume3" + path[2:]
    return path


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
