"""Okta System Log samples (Okta developer docs, Elastic's integration test) read in place.

Okta's System Log is an event stream: most records are routine and are refused as
``not an alert`` with the reason, never dropped. What is suspicious becomes an alert whose
entities are checked against the raw LogEvent. Which records are which is written out here by
hand (``EXPECTED``), as a person reading them would judge, not derived from the adapter.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.corpus.samples import Outcome, normalize, outcomes, sample_files, values
from tierzero.ingest.adapters import okta
from tierzero.ingest.alert import Alert, EntityKind, Severity
from tierzero.ingest.quarantine import QuarantinedRecord

pytestmark = pytest.mark.corpus

ROUTINE = "(no suspicious type or outcome; no threat, risk, proxy or travel flag)"

# uuid -> (alert?, why a person would say so)
EXPECTED: dict[str, tuple[bool, str]] = {
    "faf7398a-4f77-11ea-97fb-5925e98228bd": (False, "a sign-out"),
    "3aeede38-4f67-11ea-abd3-1f5d113f2546": (False, "a plain successful sign-in"),
    "3af594f9-4f67-11ea-abd3-1f5d113f2546": (False, "a sign-on policy that allowed"),
    "f1d0b993-cc19-11ed-a688-db22c99ef6c4": (False, "a plain successful sign-in"),
    "ab62c0bc-2837-11eb-9823-9fb8f750c5a9": (False, "an admin deactivating a user"),
    "a0b60b8a-3aa2-11eb-8d69-abfc0c06b0f7": (True, "SMS enrollment attempts over the limit"),
    "a67b4d9d-3a52-11eb-bf93-a70040ee6585": (True, "email OTP guesses over the limit"),
    "e19832a2-b4f4-11eb-9f1e-bba1874b8f01": (False, "an AD profile reload rate-limited"),
}
OKTA_SEVERITY = {"INFO": Severity.LOW, "WARN": Severity.MEDIUM, "ERROR": Severity.HIGH}


def _all(corpora: Path) -> list[tuple[Path, Outcome]]:
    return [(path, o) for path in sample_files(corpora, "okta") for o in outcomes(path)]


def test_every_record_is_accounted_for(corpora: Path) -> None:
    seen = _all(corpora)
    assert len(seen) == 9
    assert {
        o.result.provenance.source if isinstance(o.result, Alert) else o.result.source
        for _, o in seen
    } == {"okta"}
    alerts = [o for _, o in seen if isinstance(o.result, Alert)]
    assert {o.alert.source_alert_id for o in alerts} == {
        uid for uid, (alert, _) in EXPECTED.items() if alert
    }


def test_routine_events_are_kept_with_the_reason(corpora: Path) -> None:
    checked = 0
    for _, outcome in _all(corpora):
        raw = outcome.raw
        assert raw is not None
        if str(raw.get("eventType", "")).startswith("com.okta.") or EXPECTED[raw["uuid"]][0]:
            continue
        result = outcome.result
        assert isinstance(result, QuarantinedRecord), EXPECTED[raw["uuid"]][1]
        assert result.reason == (f"not an alert: routine Okta event '{raw['eventType']}' {ROUTINE}")
        assert json.loads(result.raw) == raw  # the whole event is kept for identity context
        checked += 1
    assert checked == 6


def test_an_event_hook_delivery_is_read_as_its_events(corpora: Path) -> None:
    """The delivery's events are records of their own: the same outcome as the same events
    read from the file that holds them one per line."""
    folder = corpora / "vendor-samples" / "okta"
    delivery_file = folder / "okta-devdocs-event-hook-delivery.jsonl"
    [delivery] = [json.loads(line) for line in delivery_file.read_text().splitlines() if line]
    assert delivery["eventType"] == "com.okta.event_hook"
    from_delivery = normalize(delivery_file)
    from_lines = normalize(folder / "okta-devdocs-event-hook-inner-events.jsonl")
    assert len(from_delivery) == len(delivery["data"]["events"]) == len(from_lines)
    for got, want in zip(from_delivery, from_lines, strict=True):
        assert type(got) is type(want)
        if isinstance(got, QuarantinedRecord) and isinstance(want, QuarantinedRecord):
            assert got.reason == want.reason


def _check_alert(alert: Alert, raw: dict[str, Any]) -> None:
    """What a person looks for in an Okta alert, against the LogEvent it came from."""
    actor, client = raw["actor"], raw["client"]
    assert alert.detection_id == f"okta:{raw['eventType']}"
    assert alert.finding_info.types == (raw["eventType"],)
    assert alert.time == datetime.fromisoformat(raw["published"])
    assert alert.metadata.original_time == raw["published"]
    assert alert.severity_id >= OKTA_SEVERITY[raw["severity"]]
    assert alert.title == raw["displayMessage"]
    # Actor: login (an email here), id, display name.
    assert alert.actor is not None
    assert (alert.actor.name, alert.actor.uid) == (actor["alternateId"], actor["id"])
    assert alert.actor.email == actor["alternateId"]
    assert actor["alternateId"].casefold() in values(alert, EntityKind.USER)
    assert actor["alternateId"].casefold() in values(alert, EntityKind.EMAIL)
    desc = alert.finding_info.desc or ""
    assert f"Actor: {actor['displayName']} <{actor['alternateId']}>" in desc
    # Client: address, country, user agent.
    assert alert.src_endpoint is not None
    assert alert.src_endpoint.ip == client["ipAddress"]
    assert values(alert, EntityKind.IP) == {client["ipAddress"]}
    assert alert.src_endpoint.country == client["geographicalContext"]["country"]
    assert values(alert, EntityKind.USER_AGENT) == {client["userAgent"]["rawUserAgent"].casefold()}
    # Outcome, as the investigation tools read it.
    outcome = raw["outcome"]
    assert alert.message == f"Outcome: {outcome['result']} ({outcome['reason']})"
    # Targets: users become user entities; everything targeted is named for a person.
    target_users = {t["alternateId"].casefold() for t in raw["target"] if t["type"] == "User"}
    assert values(alert, EntityKind.USER) == target_users | {actor["alternateId"].casefold()}
    for target in raw["target"]:
        named = target["displayName"] or target["alternateId"] or target["id"]
        assert f"{named} ({target['type']})" in desc


def test_alerts_hold_what_a_person_looks_for(corpora: Path) -> None:
    checked = 0
    for _, outcome in _all(corpora):
        if not isinstance(outcome.result, Alert):
            continue
        assert outcome.raw is not None
        _check_alert(outcome.alert, outcome.raw)
        checked += 1
    assert checked == 2


def test_rate_limits_name_what_was_limited(corpora: Path) -> None:
    by_id = {
        o.alert.source_alert_id: o.alert for _, o in _all(corpora) if isinstance(o.result, Alert)
    }
    otp = by_id["a67b4d9d-3a52-11eb-bf93-a70040ee6585"]
    assert otp.techniques == ("T1110",)
    assert "too many authenticator verification attempts for one user" in (
        otp.finding_info.desc or ""
    )
    sms = by_id["a0b60b8a-3aa2-11eb-8d69-abfc0c06b0f7"]
    assert sms.techniques == ()  # enrollment abuse is no ATT&CK technique of its own
    assert "too many authenticator enrollment attempts for one user" in (
        sms.finding_info.desc or ""
    )
    assert {otp.severity_id, sms.severity_id} == {Severity.MEDIUM}


def test_every_technique_the_adapter_can_emit_exists_in_attack(corpora: Path) -> None:
    table = json.loads((corpora / "attack" / "enterprise-techniques.json").read_text())
    known = {t["id"]: t for t in table["techniques"]}
    rules = [*okta._DETECTIONS.values(), *okta._CHANGES.values(), *okta._FAILURES.values()]
    rows = [r.attack for r in rules if r.attack]
    rows += [*okta._THREAT_REASONS.values(), okta._VALID_ACCOUNTS, okta._BRUTE_FORCE]
    assert len(rows) > 15
    for uid, name, tactic in rows:
        assert uid in known, uid
        assert known[uid]["name"] == name, uid
        assert tactic in known[uid]["tactics"], (uid, tactic)
