"""Amazon GuardDuty adapter: the example file, EventBridge events, auto-detection, malformed."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tierzero.ingest.adapters.guardduty import GuardDutyAdapter
from tierzero.ingest.alert import Alert, Attack, EntityKind, Severity
from tierzero.ingest.base import FLAG_SAMPLE, ParseContext, RecordRejected
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import ALERT_SUFFIXES, IngestOptions, read

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
GD_FILE = EXAMPLES / "guardduty_findings.json"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
ADAPTER = GuardDutyAdapter()
CONTEXT = ParseContext("test.json", 1, NOW, "{}")
ACCOUNT = "111122223333"
ACCESS_KEY = "AKIA3NWLEXAMPLEKEY42"
BUCKET = "northwind-finance-reports"


def _example_findings() -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(GD_FILE.read_text())["Findings"]
    return findings


def _parse(record: dict[str, Any]) -> Alert:
    return ADAPTER.parse(record, CONTEXT)


def _exfil() -> dict[str, Any]:
    return copy.deepcopy(_example_findings()[2])


def _camel(value: Any) -> Any:
    """The REST/EventBridge spelling of a finding: every key in lower camelCase."""
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(child) for key, child in value.items()}
    if isinstance(value, list):
        return [_camel(child) for child in value]
    return value


def _event(detail: Any, detail_type: str = "GuardDuty Finding") -> dict[str, Any]:
    return {
        "version": "0",
        "id": "0c7d3e2a-5b1f-4e8a-9c6d-2f1e0a9b8c7d",
        "detail-type": detail_type,
        "source": "aws.guardduty",
        "account": ACCOUNT,
        "time": "2026-11-16T10:50:03Z",
        "region": "eu-central-1",
        "resources": [],
        "detail": detail,
    }


@pytest.fixture(scope="module")
def alerts() -> list[Alert]:
    out = list(read([GD_FILE], now=NOW))
    assert [o for o in out if isinstance(o, QuarantinedRecord)] == []
    return [o for o in out if isinstance(o, Alert)]


def test_every_example_finding_becomes_an_alert(alerts: list[Alert]) -> None:
    assert len(alerts) == 3
    assert {a.provenance.source for a in alerts} == {"guardduty"}
    assert [a.provenance.record_no for a in alerts] == [1, 2, 3]
    assert [a.source_alert_id for a in alerts] == [
        "a2c6f41e8d3b47d0b1e5c9f7a3d2e8b4",
        "c81f2b7d94e04a6c8b3d5e1f0a2b4c6d",
        "d94a3c8e05f15b7d9c4e6f2a1b3c5d7e",
    ]
    assert all(a.flags == () for a in alerts)
    assert all(a.metadata.product.name == "Amazon GuardDuty" for a in alerts)


def test_times_are_event_last_seen(alerts: list[Alert]) -> None:
    assert [a.time for a in alerts] == [
        datetime(2026, 11, 16, 7, 48, 33, tzinfo=UTC),
        datetime(2026, 11, 16, 10, 31, 2, tzinfo=UTC),
        datetime(2026, 11, 16, 10, 44, 27, tzinfo=UTC),
    ]
    assert alerts[2].metadata.original_time == "2026-11-16T10:44:27.000Z"
    assert alerts[2].finding_info.first_seen_time == datetime(2026, 11, 16, 10, 31, 10, tzinfo=UTC)
    assert alerts[2].finding_info.last_seen_time == datetime(2026, 11, 16, 10, 44, 27, tzinfo=UTC)


def test_titles_types_and_severities(alerts: list[Alert]) -> None:
    assert [a.title for a in alerts] == [
        "Unprotected port on EC2 instance i-0a7c3e91d24b5f608 is being probed.",
        "Unusual S3 API invocation by user alice.martin.",
        "Anomalous S3 data read by user alice.martin.",
    ]
    assert [a.finding_info.analytic.uid for a in alerts] == [
        "Recon:EC2/PortProbeUnprotectedPort",
        "Discovery:S3/AnomalousBehavior",
        "Exfiltration:S3/AnomalousBehavior",
    ]
    assert alerts[2].detection_id == "guardduty:Exfiltration:S3/AnomalousBehavior"
    assert alerts[2].finding_info.types == ("Exfiltration:S3/AnomalousBehavior",)
    assert [a.severity_id for a in alerts] == [Severity.LOW, Severity.LOW, Severity.HIGH]


def test_threat_purpose_maps_to_a_tactic_only(alerts: list[Alert]) -> None:
    assert [a.finding_info.attacks for a in alerts] == [
        (Attack(tactic_uid="TA0043", tactic_name="Reconnaissance"),),
        (Attack(tactic_uid="TA0007", tactic_name="Discovery"),),
        (Attack(tactic_uid="TA0010", tactic_name="Exfiltration"),),
    ]
    assert all(a.techniques == () for a in alerts)
    assert alerts[2].tactics == ("Exfiltration",)


def test_exfiltration_by_alices_access_key(alerts: list[Alert]) -> None:
    alert = alerts[2]
    assert alert.cloud is not None
    assert (alert.cloud.provider, alert.cloud.account_uid, alert.cloud.region) == (
        "AWS",
        ACCOUNT,
        "eu-central-1",
    )
    assert alert.actor is not None
    assert (alert.actor.name, alert.actor.uid) == ("alice.martin", "AIDA3NWLEXAMPLEALICE")
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.country) == ("198.51.100.23", "RO")
    assert alert.device is None
    assert alert.message == "AWS_API_CALL GetObject on s3.amazonaws.com"
    assert alert.values(EntityKind.USER) == ("alice.martin",)
    assert alert.values(EntityKind.CLOUD_RESOURCE) == (ACCESS_KEY, BUCKET)
    assert alert.values(EntityKind.IP) == ("198.51.100.23",)
    assert alert.values(EntityKind.COUNTRY) == ("RO",)
    assert alert.values(EntityKind.USER_AGENT)[0].startswith("aws-cli/2.15.30")
    names = {(o.kind, o.value): o.name for o in alert.observables}
    assert names[(EntityKind.CLOUD_RESOURCE, ACCESS_KEY)] == "actor.user.credential_uid"
    assert names[(EntityKind.CLOUD_RESOURCE, BUCKET)] == "resources.name"
    assert names[(EntityKind.COUNTRY, "RO")] == "src_endpoint.location.country"


def test_port_probe_on_the_public_instance(alerts: list[Alert]) -> None:
    alert = alerts[0]
    assert alert.device is not None
    assert (alert.device.uid, alert.device.ip) == ("i-0a7c3e91d24b5f608", "172.31.20.14")
    assert alert.device.hostname == "ip-172-31-20-14.eu-central-1.compute.internal"
    assert alert.values(EntityKind.HOST) == ("ip-172-31-20-14.eu-central-1.compute.internal",)
    assert alert.actor is None
    assert alert.src_endpoint is not None
    assert (alert.src_endpoint.ip, alert.src_endpoint.country) == ("192.0.2.200", "NL")
    assert alert.dst_endpoint is not None
    assert (alert.dst_endpoint.ip, alert.dst_endpoint.port) == ("172.31.20.14", 22)
    assert alert.message == "PORT_PROBE"
    assert alert.values(EntityKind.CLOUD_RESOURCE) == ("i-0a7c3e91d24b5f608",)
    assert alert.values(EntityKind.IP) == (
        "172.31.20.14",
        "203.0.113.80",
        "192.0.2.200",
        "192.0.2.201",
    )


def test_auto_detection_picks_guardduty_for_the_example_file() -> None:
    auto = list(read([GD_FILE], now=NOW))
    forced = list(read([GD_FILE], IngestOptions(source="guardduty"), now=NOW))
    assert [a.id for a in auto if isinstance(a, Alert)] == [
        a.id for a in forced if isinstance(a, Alert)
    ]
    assert len(auto) == 3
    assert all(isinstance(a, Alert) and a.provenance.source == "guardduty" for a in auto)


def test_eventbridge_event_with_camel_case_detail(tmp_path: Path) -> None:
    path = tmp_path / "eventbridge.jsonl"
    path.write_text(json.dumps(_event(_camel(_exfil()))) + "\n")
    (alert,) = list(read([path], now=NOW))
    assert isinstance(alert, Alert)
    assert alert.provenance.source == "guardduty"
    direct = _parse(_exfil())
    assert alert.id == direct.id
    assert alert.time == direct.time
    assert alert.severity_id is Severity.HIGH
    assert alert.observables == direct.observables
    assert alert.cloud == direct.cloud


def test_eventbridge_event_with_pascal_case_detail() -> None:
    alert = _parse(_event(_example_findings()[0]))
    assert alert.source_alert_id == "a2c6f41e8d3b47d0b1e5c9f7a3d2e8b4"
    assert alert.severity_id is Severity.LOW


def test_eventbridge_account_and_region_fill_gaps() -> None:
    detail = _exfil()
    del detail["AccountId"], detail["Region"]
    alert = _parse(_event(detail))
    assert alert.cloud is not None
    assert (alert.cloud.account_uid, alert.cloud.region) == (ACCOUNT, "eu-central-1")


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (0.5, Severity.INFORMATIONAL),
        (1.0, Severity.LOW),
        (3.9, Severity.LOW),
        (4.0, Severity.MEDIUM),
        (6.9, Severity.MEDIUM),
        (7.0, Severity.HIGH),
        (8.9, Severity.HIGH),
        (9.0, Severity.CRITICAL),
        (10, Severity.CRITICAL),
        ("5.0", Severity.MEDIUM),
    ],
)
def test_severity_levels_follow_the_aws_ranges(score: Any, severity: Severity) -> None:
    record = _exfil()
    record["Severity"] = score
    assert _parse(record).severity_id is severity


def test_missing_severity_is_unknown() -> None:
    record = _exfil()
    del record["Severity"]
    assert _parse(record).severity_id is Severity.UNKNOWN


@pytest.mark.parametrize(
    ("finding_type", "tactic"),
    [
        ("CredentialAccess:IAMUser/AnomalousBehavior", ("TA0006", "Credential Access")),
        ("Stealth:IAMUser/CloudTrailLoggingDisabled", ("TA0005", "Defense Evasion")),
        ("Persistence:IAMUser/AnomalousBehavior", ("TA0003", "Persistence")),
        ("Impact:S3/MaliciousIPCaller", ("TA0040", "Impact")),
        ("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", None),
        ("Backdoor:EC2/C&CActivity.B", None),
        ("NoColonHere", None),
    ],
)
def test_threat_purposes(finding_type: str, tactic: tuple[str, str] | None) -> None:
    record = _exfil()
    record["Type"] = finding_type
    attacks = _parse(record).finding_info.attacks
    if tactic is None:
        assert attacks == ()
    else:
        assert attacks == (Attack(tactic_uid=tactic[0], tactic_name=tactic[1]),)


def test_updated_at_is_the_time_without_event_last_seen() -> None:
    record = _exfil()
    del record["Service"]["EventLastSeen"]
    alert = _parse(record)
    assert alert.time == datetime(2026, 11, 16, 10, 49, 58, 640000, tzinfo=UTC)
    assert alert.metadata.original_time == "2026-11-16T10:49:58.640Z"
    assert alert.finding_info.last_seen_time is None


def test_network_connection_directions() -> None:
    record = copy.deepcopy(_example_findings()[0])
    remote = {"IpAddressV4": "198.51.100.77", "Country": {"CountryName": "Unknown Land"}}
    record["Service"]["Action"] = {
        "ActionType": "NETWORK_CONNECTION",
        "NetworkConnectionAction": {
            "ConnectionDirection": "OUTBOUND",
            "Protocol": "TCP",
            "RemoteIpDetails": remote,
            "RemotePortDetails": {"Port": 443, "PortName": "HTTPS"},
            "LocalPortDetails": {"Port": 50444, "PortName": "Unknown"},
        },
    }
    outbound = _parse(record)
    assert outbound.dst_endpoint is not None and outbound.src_endpoint is not None
    assert (outbound.dst_endpoint.ip, outbound.dst_endpoint.port) == ("198.51.100.77", 443)
    assert outbound.dst_endpoint.country == "Unknown Land"
    assert (outbound.src_endpoint.ip, outbound.src_endpoint.port) == ("172.31.20.14", 50444)
    assert outbound.message == "NETWORK_CONNECTION OUTBOUND"
    record["Service"]["Action"]["NetworkConnectionAction"]["ConnectionDirection"] = "INBOUND"
    inbound = _parse(record)
    assert inbound.src_endpoint is not None and inbound.src_endpoint.ip == "198.51.100.77"
    assert inbound.dst_endpoint is not None and inbound.dst_endpoint.port == 50444
    names = {o.value: o.name for o in inbound.observables if o.kind is EntityKind.IP}
    assert names["198.51.100.77"] == "src_endpoint.ip"


def test_dns_request_domain() -> None:
    record = copy.deepcopy(_example_findings()[0])
    record["Type"] = "Backdoor:EC2/C&CActivity.B!DNS"
    record["Service"]["Action"] = {
        "ActionType": "DNS_REQUEST",
        "DnsRequestAction": {
            "Domain": "cdn-update-check.example",
            "Protocol": "UDP",
            "Blocked": False,
        },
    }
    assert _parse(record).values(EntityKind.DOMAIN) == ("cdn-update-check.example",)


@pytest.mark.parametrize(
    "info",
    [
        {"Value": '{"sample":true}', "Type": "default", "Sample": True},
        {"Sample": "true"},
        # S3 exports and EventBridge may carry it only in Value, the same object as JSON text
        {"Value": '{"threatListName":"x","sample":true}', "Type": "default"},
    ],
)
def test_sample_findings_are_read_and_flagged(info: dict[str, Any]) -> None:
    record = _exfil()
    record["Service"]["AdditionalInfo"] = info
    alert = _parse(record)
    assert alert.flags == (FLAG_SAMPLE,)
    assert alert.values(EntityKind.USER) == ("alice.martin",)  # read like any finding


@pytest.mark.parametrize(
    "info",
    [
        {"Sample": False},
        {"Sample": "false", "Value": '{"sample":false}'},
        {"Value": "not json {"},
        {"Value": '["sample", true]'},
        {},
    ],
)
def test_real_findings_are_not_flagged_as_samples(info: dict[str, Any]) -> None:
    record = _exfil()
    record["Service"]["AdditionalInfo"] = info
    assert _parse(record).flags == ()


def _finding(resource: dict[str, Any], service: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A finding in PascalCase with the attributes every finding has (API Reference,
    ``Finding``), around the given ``Resource`` and ``Service`` parts."""
    return {
        "SchemaVersion": "2.0",
        "AccountId": ACCOUNT,
        "Region": "eu-central-1",
        "Partition": "aws",
        "Id": "7ac6f41e8d3b47d0b1e5c9f7a3d2e8ff",
        "Arn": f"arn:aws:guardduty:eu-central-1:{ACCOUNT}:detector/d1/finding/7ac6f41e8d",
        "Type": "Execution:Runtime/NewBinaryExecuted",
        "Resource": resource,
        "Service": {
            "ServiceName": "guardduty",
            "DetectorId": "d1",
            "EventFirstSeen": "2026-11-16T10:30:00.000Z",
            "EventLastSeen": "2026-11-16T10:31:00.000Z",
            "Count": 1,
            **service,
        },
        "Severity": 5,
        "CreatedAt": "2026-11-16T10:32:00.000Z",
        "UpdatedAt": "2026-11-16T10:32:00.000Z",
        "Title": "A newly created or recently modified binary file has been executed.",
        **top,
    }


def _both_spellings(record: dict[str, Any]) -> list[Alert]:
    """The record as the CLI prints it (PascalCase) and as REST/EventBridge send it."""
    pascal, camel = _parse(record), _parse(_camel(record))
    assert pascal.observables == camel.observables
    assert (pascal.process, pascal.actor, pascal.device) == (
        camel.process,
        camel.actor,
        camel.device,
    )
    return [pascal, camel]


EXE_SHA256 = "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"


def _runtime_ecs_finding() -> dict[str, Any]:
    """A Runtime Monitoring finding on an ECS task, after the API Reference types
    RuntimeDetails, ProcessDetails, LineageObject (each ancestor linked by ParentUuid to the
    Uuid of its parent), EcsClusterDetails, EcsTaskDetails and Container."""
    container = {"ContainerRuntime": "containerd", "Id": "c0ffee01", "Name": "web"}
    return _finding(
        {
            "ResourceType": "ECSCluster",
            "EcsClusterDetails": {
                "Name": "payments",
                "Arn": f"arn:aws:ecs:eu-central-1:{ACCOUNT}:cluster/payments",
                "Status": "ACTIVE",
                "TaskDetails": {
                    "Arn": f"arn:aws:ecs:eu-central-1:{ACCOUNT}:task/payments/0a1b",
                    "DefinitionArn": f"arn:aws:ecs:eu-central-1:{ACCOUNT}:task-definition/w:3",
                    "LaunchType": "FARGATE",
                    "Containers": [{**container, "Image": "nginx:1.27"}],
                },
            },
            "ContainerDetails": container,
        },
        {
            "FeatureName": "RuntimeMonitoring",
            "Action": {},
            "RuntimeDetails": {
                "Process": {
                    "Name": "xmrig",
                    "ExecutablePath": "/tmp/.x/xmrig",
                    "ExecutableSha256": EXE_SHA256.upper(),
                    "Pid": 4242,
                    "NamespacePid": 42,
                    "User": "www-data",
                    "UserId": 33,
                    "Euid": 33,
                    "Uuid": "p-3",
                    "ParentUuid": "p-2",
                    # listed oldest first here: the links, not the order, say who is parent
                    "Lineage": [
                        {"Name": "containerd-shim", "Pid": 100, "Uuid": "p-0"},
                        {"Name": "nginx", "Pid": 1, "Uuid": "p-1", "ParentUuid": "p-0"},
                        {
                            "Name": "sh",
                            "Pid": 4200,
                            "ExecutablePath": "/bin/sh",
                            "Uuid": "p-2",
                            "ParentUuid": "p-1",
                            "UserId": 33,
                        },
                    ],
                },
                "Context": {"CommandLineExample": "xmrig -o pool.example:3333"},
            },
        },
    )


def test_runtime_process_with_its_parent_from_the_lineage() -> None:
    for alert in _both_spellings(_runtime_ecs_finding()):
        process = alert.process
        assert process is not None and process.file is not None
        assert (process.name, process.pid, process.user) == ("xmrig", 4242, "www-data")
        assert (process.file.path, process.file.parent_folder) == ("/tmp/.x/xmrig", "/tmp/.x")
        assert process.file.sha256 == EXE_SHA256
        parent = process.parent_process
        assert parent is not None and parent.file is not None
        assert (parent.name, parent.pid, parent.file.path) == ("sh", 4200, "/bin/sh")
        assert parent.parent_process is not None and parent.parent_process.name == "nginx"
        grandparent = parent.parent_process.parent_process
        assert grandparent is not None and grandparent.name == "containerd-shim"
        assert alert.values(EntityKind.PROCESS) == ("xmrig", "sh", "nginx", "containerd-shim")
        names = {o.value: o.name for o in alert.observables}
        assert names["xmrig"] == "process.name"
        assert names["sh"] == "process.parent_process.name"
        assert alert.values(EntityKind.HASH) == (EXE_SHA256,)
        assert alert.values(EntityKind.USER) == ("www-data",)
        assert alert.values(EntityKind.CLOUD_RESOURCE) == (
            "payments",
            f"arn:aws:ecs:eu-central-1:{ACCOUNT}:task/payments/0a1b",
            "c0ffee01",
        )
        assert alert.actor is None and alert.device is None


def test_lineage_without_uuids_is_read_nearest_first_and_capped() -> None:
    record = _runtime_ecs_finding()
    process = record["Service"]["RuntimeDetails"]["Process"]
    process["Lineage"] = [{"Name": f"p{i}", "Pid": i} for i in range(1, 10)]
    process["ExecutableSha256"] = "not-a-sha256"
    alert = _parse(record)
    chain = []
    node = alert.process
    while node is not None:
        chain.append(node.name)
        node = node.parent_process
    assert chain == ["xmrig", "p1", "p2", "p3", "p4"]
    assert alert.values(EntityKind.HASH) == ()
    assert alert.process is not None and alert.process.file is not None
    assert alert.process.file.sha256 is None


def test_a_lineage_cycle_ends() -> None:
    record = _runtime_ecs_finding()
    lineage = record["Service"]["RuntimeDetails"]["Process"]["Lineage"]
    lineage[0]["ParentUuid"] = "p-2"  # p-0 -> p-2 -> p-1 -> p-0
    alert = _parse(record)
    assert alert.process is not None and alert.process.parent_process is not None


def test_runtime_finding_on_an_eks_node() -> None:
    """Runtime Monitoring on EKS: the node as InstanceDetails, the pod as
    KubernetesWorkloadDetails (API Reference, KubernetesWorkloadDetails and Container)."""
    record = _runtime_ecs_finding()
    record["Resource"] = {
        "ResourceType": "EKSCluster",
        "EksClusterDetails": {"Name": "prod-eu", "Arn": "arn:aws:eks:eu-central-1:1:cluster/p"},
        "KubernetesDetails": {
            "KubernetesWorkloadDetails": {
                "Name": "web-7d9f",
                "Type": "pods",
                "Uid": "0f1e2d3c",
                "Namespace": "shop",
                "Containers": [{"Name": "web", "Image": "nginx:1.27", "Id": "c0ffee02"}],
            }
        },
        "InstanceDetails": {
            "InstanceId": "i-0b1c2d3e4f5a6b7c8",
            "NetworkInterfaces": [
                {
                    "PrivateDnsName": "ip-10-0-3-7.eu-central-1.compute.internal",
                    "PrivateIpAddress": "10.0.3.7",
                }
            ],
        },
    }
    for alert in _both_spellings(record):
        assert alert.device is not None
        assert alert.device.hostname == "ip-10-0-3-7.eu-central-1.compute.internal"
        assert alert.values(EntityKind.HOST) == ("ip-10-0-3-7.eu-central-1.compute.internal",)
        assert alert.values(EntityKind.CLOUD_RESOURCE) == (
            "prod-eu",
            "web-7d9f",
            "c0ffee02",
            "i-0b1c2d3e4f5a6b7c8",
        )
        assert alert.process is not None and alert.process.name == "xmrig"


def test_eks_audit_log_finding() -> None:
    """After the API Reference KubernetesDetails/KubernetesUserDetails and
    KubernetesApiCallAction (``sourceIPs``: the caller, then proxies on the way)."""
    record = _finding(
        {
            "ResourceType": "EKSCluster",
            "EksClusterDetails": {"Name": "prod-eu", "Arn": "arn:aws:eks:eu-central-1:1:cluster/p"},
            "KubernetesDetails": {
                "KubernetesUserDetails": {
                    "Username": "dev-bob",
                    "Uid": "aws-iam-authenticator:1:AIDAEXAMPLE",
                    "Groups": ["system:authenticated"],
                }
            },
        },
        {
            "Action": {
                "ActionType": "KUBERNETES_API_CALL",
                "KubernetesApiCallAction": {
                    "RequestUri": "/api/v1/namespaces/kube-system/secrets",
                    "Verb": "list",
                    "SourceIPs": ["203.0.113.9", "10.0.0.5"],
                    "UserAgent": "kubectl/v1.30.1 (linux/amd64)",
                    "RemoteIpDetails": {
                        "IpAddressV4": "203.0.113.9",
                        "Country": {"CountryName": "Utopia"},
                    },
                    "StatusCode": 200,
                },
            },
        },
        Type="Discovery:Kubernetes/SuccessfulAnonymousAccess",
    )
    for alert in _both_spellings(record):
        assert alert.actor is not None
        assert (alert.actor.name, alert.actor.uid) == (
            "dev-bob",
            "aws-iam-authenticator:1:AIDAEXAMPLE",
        )
        assert alert.src_endpoint is not None and alert.src_endpoint.ip == "203.0.113.9"
        assert alert.values(EntityKind.USER) == ("dev-bob",)
        assert alert.values(EntityKind.IP) == ("203.0.113.9", "10.0.0.5")
        assert alert.values(EntityKind.USER_AGENT) == ("kubectl/v1.30.1 (linux/amd64)",)
        assert alert.values(EntityKind.URL) == ("/api/v1/namespaces/kube-system/secrets",)
        assert alert.values(EntityKind.CLOUD_RESOURCE) == ("prod-eu",)
        assert alert.message == "KUBERNETES_API_CALL list /api/v1/namespaces/kube-system/secrets"
    call = record["Service"]["Action"]["KubernetesApiCallAction"]
    del call["RemoteIpDetails"]
    alert = _parse(record)
    assert alert.src_endpoint is not None and alert.src_endpoint.ip == "203.0.113.9"


def test_rds_login_finding() -> None:
    """After the API Reference RdsDbInstanceDetails, RdsDbUserDetails and
    RdsLoginAttemptAction (whose ``LoginAttributes`` is PascalCase even in camelCase JSON)."""
    record = _finding(
        {
            "ResourceType": "RDSDBInstance",
            "RdsDbInstanceDetails": {
                "DbInstanceIdentifier": "orders-db-1",
                "Engine": "aurora-postgresql",
                "DbClusterIdentifier": "orders",
                "DbInstanceArn": f"arn:aws:rds:eu-central-1:{ACCOUNT}:db:orders-db-1",
            },
            "RdsDbUserDetails": {"User": "app_admin", "Application": "psql", "Database": "orders"},
        },
        {
            "Action": {
                "ActionType": "RDS_LOGIN_ATTEMPT",
                "RdsLoginAttemptAction": {
                    "RemoteIpDetails": {"IpAddressV4": "198.51.100.61"},
                    "LoginAttributes": [
                        {"User": "app_admin", "Application": "psql", "FailedLoginAttempts": 40},
                        {"User": "postgres", "FailedLoginAttempts": 12},
                    ],
                },
            },
        },
        Type="CredentialAccess:RDS/MaliciousIPCaller.FailedLogin",
    )
    camel = _camel(record)
    login = camel["service"]["action"]["rdsLoginAttemptAction"]
    login["LoginAttributes"] = login.pop("loginAttributes")
    for alert in (_parse(record), _parse(camel)):
        assert alert.actor is not None and alert.actor.name == "app_admin"
        assert alert.values(EntityKind.USER) == ("app_admin", "postgres")
        assert alert.values(EntityKind.CLOUD_RESOURCE) == ("orders-db-1", "orders")
        assert alert.src_endpoint is not None and alert.src_endpoint.ip == "198.51.100.61"
        assert alert.values(EntityKind.IP) == ("198.51.100.61",)
        assert alert.message == "RDS_LOGIN_ATTEMPT"
        assert alert.tactics == ("Credential Access",)


def test_affected_resources_and_lambda_are_cloud_resources() -> None:
    record = _exfil()
    record["Service"]["Action"]["AwsApiCallAction"]["AffectedResources"] = {
        "AWS::CloudTrail::Trail": f"arn:aws:cloudtrail:eu-central-1:{ACCOUNT}:trail/main"
    }
    record["Resource"]["LambdaDetails"] = {
        "FunctionName": "rotate-keys",
        "FunctionArn": f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:rotate-keys",
    }
    values = _parse(record).values(EntityKind.CLOUD_RESOURCE)
    assert f"arn:aws:cloudtrail:eu-central-1:{ACCOUNT}:trail/main" in values
    assert "rotate-keys" in values


@pytest.mark.parametrize(
    ("nic", "hostname", "ip"),
    [
        (
            {"PrivateDnsName": "ip-10-0-0-1.ec2.internal", "PrivateIpAddress": "10.0.0.1"},
            "ip-10-0-0-1.ec2.internal",
            "10.0.0.1",
        ),
        ({"PrivateDnsName": "ip-10-0-0-1.ec2.internal"}, "ip-10-0-0-1.ec2.internal", None),
        # AWS's test findings: an unspecified address and the DNS name derived from it
        (
            {"PrivateDnsName": "ip-0-0-0-0.ec2.internal", "PrivateIpAddress": "0.0.0.0"},
            None,
            None,
        ),
        (
            {"PrivateDnsName": "[ip-10-0-0-1.us](https://x/)-west-1", "PrivateIpAddress": "::"},
            None,
            None,
        ),
        (
            {"PrivateDnsName": "host name; rm -rf /", "PrivateIpAddress": "10.0.0.9"},
            None,
            "10.0.0.9",
        ),
    ],
)
def test_the_private_dns_name_is_the_host(
    nic: dict[str, Any], hostname: str | None, ip: str | None
) -> None:
    record = copy.deepcopy(_example_findings()[0])
    record["Resource"]["InstanceDetails"]["NetworkInterfaces"] = [nic]
    alert = _parse(record)
    assert alert.device is not None
    assert (alert.device.hostname, alert.device.ip) == (hostname, ip)
    assert alert.values(EntityKind.HOST) == ((hostname,) if hostname else ())
    assert alert.values(EntityKind.CLOUD_RESOURCE) == ("i-0a7c3e91d24b5f608",)
    assert "0.0.0.0" not in alert.values(EntityKind.IP)


def test_an_unspecified_remote_address_is_no_endpoint_ip() -> None:
    record = copy.deepcopy(_example_findings()[0])
    record["Service"]["Action"] = {
        "ActionType": "NETWORK_CONNECTION",
        "NetworkConnectionAction": {
            "ConnectionDirection": "OUTBOUND",
            "RemoteIpDetails": {"IpAddressV4": "0.0.0.0", "Country": {"CountryName": "X"}},
            "RemotePortDetails": {"Port": 22},
        },
    }
    alert = _parse(record)
    assert alert.dst_endpoint is not None
    assert (alert.dst_endpoint.ip, alert.dst_endpoint.port) == (None, 22)
    assert "0.0.0.0" not in alert.values(EntityKind.IP)


def test_get_findings_responses_are_unwrapped_in_documents_and_lines(tmp_path: Path) -> None:
    findings = [_camel(f) for f in _example_findings()]
    document = tmp_path / "get-findings.json"
    document.write_text(json.dumps({"findings": findings}, indent=2))
    lines = tmp_path / "get-findings.jsonl"
    lines.write_text(
        json.dumps({"findings": findings[:2]})
        + "\n"
        + json.dumps({"findings": []})  # an empty page: a container of nothing
        + "\n"
        + json.dumps({"Findings": findings[2:], "NextToken": "abc"})
        + "\n"
    )
    expected = [a.id for a in read([GD_FILE], now=NOW) if isinstance(a, Alert)]
    for path in (document, lines):
        out = list(read([path], now=NOW))
        assert all(isinstance(o, Alert) for o in out), path
        assert [o.id for o in out if isinstance(o, Alert)] == expected, path
    numbers = [o.provenance.record_no for o in read([lines], now=NOW) if isinstance(o, Alert)]
    assert numbers == [1, 1, 3]  # each finding carries its envelope's line


def test_an_eventbridge_event_is_a_record_not_an_envelope(tmp_path: Path) -> None:
    event = _event(_camel(_exfil()))
    event.pop("version"), event.pop("id"), event.pop("time"), event.pop("account")
    event.pop("region"), event.pop("source")  # left: detail-type, resources [] and detail
    for name, content in (("e.json", json.dumps(event)), ("e.jsonl", json.dumps(event) + "\n")):
        path = tmp_path / name
        path.write_text(content)
        (alert,) = list(read([path], now=NOW))
        assert isinstance(alert, Alert) and alert.provenance.source == "guardduty"


OTHER_FORMATS: dict[str, dict[str, Any]] = {
    "ocsf": {
        "class_uid": 2004,
        "category_uid": 2,
        "time": 1794819734000,
        "severity_id": 4,
        "type_uid": 200401,
        "metadata": {"version": "1.3.0", "product": {"name": "X", "vendor_name": "Y"}},
        "finding_info": {"uid": "f-1", "title": "t"},
    },
    "sentinel": {
        "TimeGenerated": "2026-11-16T09:40:00Z",
        "SystemAlertId": "a-1",
        "AlertName": "Atypical travel",
        "AlertSeverity": "Medium",
        "AlertType": "x",
        "ProviderName": "IPC",
        "Entities": "[]",
        "ExtendedProperties": "{}",
    },
    "defender": {
        "id": "da-1",
        "providerAlertId": "p-1",
        "title": "t",
        "severity": "high",
        "createdDateTime": "2026-11-16T09:02:00Z",
        "category": "Execution",
        "serviceSource": "microsoftDefenderForEndpoint",
        "evidence": [],
    },
    "crowdstrike": {
        "metadata": {
            "customerIDString": "c",
            "offset": 1,
            "eventType": "DetectionSummaryEvent",
            "eventCreationTime": 1794819734000,
            "version": "1.0",
        },
        "event": {"DetectId": "ldt:a:1", "ComputerName": "LT-FIN-042"},
    },
    "okta": {
        "uuid": "u-1",
        "published": "2026-11-16T09:40:02.418Z",
        "eventType": "user.session.start",
        "severity": "INFO",
        "version": "0",
    },
    "elastic": {
        "@timestamp": "2026-11-16T09:02:00Z",
        "kibana.alert.uuid": "k-1",
        "kibana.alert.rule.name": "r",
        "event": {"kind": "signal"},
    },
    "wazuh": {
        "timestamp": "2026-11-16T10:15:00.000+0000",
        "id": "1.2",
        "rule": {"id": "60106", "level": 10, "description": "d"},
        "agent": {"id": "003", "name": "SRV-FS-01"},
    },
    "suricata": {
        "timestamp": "2026-11-16T09:04:00.000000+0000",
        "event_type": "alert",
        "src_ip": "10.20.4.42",
        "dest_ip": "198.51.100.77",
        "alert": {"signature": "s", "signature_id": 1},
    },
    "security_hub_asff": {
        "SchemaVersion": "2018-10-08",
        "Id": "x",
        "ProductArn": "p",
        "Types": ["TTPs/Discovery"],
        "Severity": {"Label": "LOW"},
    },
    "other_eventbridge": {
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "detail": {},
    },
}


@pytest.mark.parametrize("name", sorted(OTHER_FORMATS))
def test_does_not_match_other_formats(name: str) -> None:
    assert not ADAPTER.matches(OTHER_FORMATS[name])


def _other_example_records() -> Iterator[dict[str, Any]]:
    for path in sorted(EXAMPLES.iterdir()):
        kind = ALERT_SUFFIXES.get(path.suffix)
        if path == GD_FILE or kind not in ("json", "jsonl") or path.name.startswith("bad_"):
            continue
        text = path.read_text()
        try:
            document = json.loads(text)
        except ValueError:
            document = [json.loads(line) for line in text.splitlines() if line.strip()]
        if isinstance(document, dict):
            lists = [v for v in document.values() if isinstance(v, list)]
            document = lists[0] if len(document) <= 3 and lists else [document]
        yield from (item for item in document if isinstance(item, dict))


def test_matches_findings_and_eventbridge_events() -> None:
    assert all(ADAPTER.matches(f) for f in _example_findings())
    assert all(ADAPTER.matches(_camel(f)) for f in _example_findings())
    assert ADAPTER.matches(_event(_camel(_exfil())))
    assert not ADAPTER.matches({})


def _delete(*path: str) -> Any:
    def change(record: dict[str, Any]) -> None:
        target = record
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


def _set(value: Any, *path: str) -> Any:
    def change(record: dict[str, Any]) -> None:
        target = record
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _no_time(record: dict[str, Any]) -> None:
    del record["Service"]["EventLastSeen"], record["UpdatedAt"]


MALFORMED = [
    (_delete("Id"), "missing required field 'Id'"),
    (_delete("Type"), "missing required field 'Type'"),
    (_no_time, "missing required field 'Service.EventLastSeen' (or 'UpdatedAt')"),
    (_set(["d94a"], "Id"), "field 'Id' should be text, got list"),
    (_set({"a": 1}, "Type"), "field 'Type' should be text, got dict"),
    (_set([8.0], "Severity"), "field 'Severity' should be a number, got list"),
    (_set(True, "Severity"), "field 'Severity' should be a number, got bool"),
    (_set("high", "Severity"), "severity 'high' is not a number"),
    (
        _set("last tuesday", "Service", "EventLastSeen"),
        "field 'Service.EventLastSeen' is not a valid time",
    ),
    (
        _set("2026-11-16T10:44:27", "Service", "EventLastSeen"),
        "field 'Service.EventLastSeen' has no time zone",
    ),
    (_set(["x"], "Resource"), "field 'Resource' should be an object, got list"),
    (
        _set("AWS_API_CALL", "Service", "Action"),
        "field 'Service.Action' should be an object, got str",
    ),
    (
        _set({"Name": BUCKET}, "Resource", "S3BucketDetails"),
        "field 'Resource.S3BucketDetails' should be a list, got dict",
    ),
    (
        _set(["alice.martin"], "Resource", "AccessKeyDetails", "UserName"),
        "field 'Resource.AccessKeyDetails.UserName' should be text, got list",
    ),
    (_set(["t"], "Title"), "field 'Title' should be text, got list"),
]


@pytest.mark.parametrize(("change", "reason"), MALFORMED)
def test_malformed_findings_are_rejected_with_a_reason(change: Any, reason: str) -> None:
    record = _exfil()
    change(record)
    with pytest.raises(RecordRejected) as caught:
        _parse(record)
    assert reason in caught.value.reason


def test_empty_object_is_rejected() -> None:
    with pytest.raises(RecordRejected, match="missing required field 'Id'"):
        _parse({})


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (
            _event({}, "GuardDuty Malware Protection Object Scan Result"),
            "EventBridge detail-type 'GuardDuty Malware Protection Object Scan Result' is not a "
            "GuardDuty finding",
        ),
        (_event(["finding"]), "EventBridge event has no finding object in 'detail'"),
        (_event({}), "EventBridge event has no finding object in 'detail'"),
        (_event({"id": "x"}), "missing required field 'Type'"),
    ],
)
def test_bad_eventbridge_events_are_rejected(event: dict[str, Any], reason: str) -> None:
    assert ADAPTER.matches(event)
    with pytest.raises(RecordRejected) as caught:
        _parse(event)
    assert caught.value.reason == reason


def test_malformed_findings_go_to_quarantine_through_the_reader(tmp_path: Path) -> None:
    no_id = _exfil()
    del no_id["Id"]
    bad_resource = _exfil()
    bad_resource["Resource"] = "S3Bucket"
    path = tmp_path / "findings.json"
    path.write_text(json.dumps({"Findings": [_exfil(), no_id, bad_resource]}))
    out = list(read([path], IngestOptions(source="guardduty"), now=NOW))
    assert isinstance(out[0], Alert)
    assert [
        (q.source, q.record_no, q.reason) for q in out[1:] if isinstance(q, QuarantinedRecord)
    ] == [
        ("guardduty", 2, "missing required field 'Id'"),
        ("guardduty", 3, "field 'Resource' should be an object, got str"),
    ]


HOSTILE_VALUES: list[Any] = [
    None,
    "",
    0,
    -1,
    True,
    1e308,
    float("nan"),
    [],
    {},
    ["a"],
    {"a": {"b": [1]}},
    "x" * 10000,
    "\u0000\ud800",
]


def _leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield prefix + (key,)
            yield from _leaf_paths(child, prefix + (key,))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield prefix + (index,)
            yield from _leaf_paths(child, prefix + (index,))


def _replace(record: Any, path: tuple[Any, ...], value: Any) -> Any:
    copied = copy.deepcopy(record)
    target = copied
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copied


@pytest.mark.parametrize("index", range(3))
def test_hostile_values_anywhere_only_ever_raise_record_rejected(index: int) -> None:
    for record in (_example_findings()[index], _event(_camel(_example_findings()[index]))):
        for path in _leaf_paths(record):
            for value in HOSTILE_VALUES:
                try:
                    _parse(_replace(record, path, value))
                except RecordRejected:
                    pass


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "Id",
        "Type",
        "Severity",
        "Title",
        "Resource",
        "Service",
        "UpdatedAt",
        "AccountId",
        "Region",
        "detail-type",
        "detail",
        "id",
        "type",
        "service",
    ]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(record=st.dictionaries(KEYS, JSON, max_size=10))
def test_random_objects_only_ever_raise_record_rejected(record: dict[str, Any]) -> None:
    ADAPTER.matches(record)
    try:
        _parse(record)
    except RecordRejected as exc:
        assert exc.reason
