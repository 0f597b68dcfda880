"""Amazon GuardDuty findings, shaped like ``examples/guardduty_findings.json``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta

from devtools.northwind import ASSETS, AWS_ACCOUNT, AWS_REGION, EC2_PUBLIC_IPS, GEO, ip_of
from devtools.vendor_records.common import Record, digest, iso_ms, number_of

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
