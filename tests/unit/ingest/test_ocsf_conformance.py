"""Every example alert, exported with ``Alert.to_ocsf()``, checked against the real OCSF schema
and the real ATT&CK catalogue (both read from ``../shared/corpora``, never copied here).

Profiles: the compiled schema marks ``cloud`` and ``osint`` as *required* attributes of
``detection_finding``, but each belongs to a profile (``cloud``, ``osint``) and is required only
in an event that declares that profile in ``metadata.profiles``. tierzero's export declares no
profile, so required attributes that carry a profile are skipped unless the document declares
it; the test also asserts that exactly {cloud, osint} are skipped, so a schema change that
adds another profile-bound requirement is noticed rather than silently ignored.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tierzero.ingest.alert import Alert
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import ALERT_SUFFIXES, MAPPING_SUFFIX, read

pytestmark = pytest.mark.corpus

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
BROKEN_ON_PURPOSE = "bad_records.jsonl"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
PROFILE_ONLY_REQUIRED = {"cloud", "osint"}
ENUM_CHECKED = ("severity_id", "activity_id", "status_id", "confidence_id", "verdict_id")


def _corpora() -> Path:
    return Path(os.environ.get("TIERZERO_CORPORA", REPO.parent / "shared" / "corpora"))


def _example_files() -> list[Path]:
    return sorted(
        p
        for p in EXAMPLES.iterdir()
        if p.suffix.lower() in ALERT_SUFFIXES
        and not p.name.endswith(MAPPING_SUFFIX)
        and p.name != BROKEN_ON_PURPOSE
    )


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    path = _corpora() / "ocsf" / "ocsf-schema-1.9.0-dev.json"
    if not path.is_file():
        pytest.skip(f"OCSF schema not found at {path}: set TIERZERO_CORPORA to the corpora folder")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def techniques() -> dict[str, dict[str, Any]]:
    path = _corpora() / "attack" / "enterprise-techniques.json"
    if not path.is_file():
        pytest.skip(f"ATT&CK table not found at {path}: set TIERZERO_CORPORA to the corpora folder")
    document = json.loads(path.read_text(encoding="utf-8"))
    return {t["id"]: t for t in document["techniques"]}


@pytest.fixture(scope="module")
def finding_class(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["classes"]["detection_finding"]["attributes"]


def _alerts(path: Path) -> list[Alert]:
    out = list(read([path], now=NOW))
    quarantined = [o for o in out if isinstance(o, QuarantinedRecord)]
    assert quarantined == [], f"{path.name}: {[(q.record_no, q.reason) for q in quarantined]}"
    assert out, f"{path.name} yielded nothing"
    return [o for o in out if isinstance(o, Alert)]


def _required(attributes: dict[str, Any], document: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(required names, required names skipped because their profile is not declared)."""
    declared = set(document.get("metadata", {}).get("profiles", []))
    required, skipped = set(), set()
    for name, spec in attributes.items():
        if spec.get("requirement") != "required":
            continue
        profile = spec.get("profile")
        (skipped if profile and profile not in declared else required).add(name)
    return required, skipped


def test_the_example_folder_has_files_to_check() -> None:
    assert len(_example_files()) >= 9


def test_only_cloud_and_osint_are_profile_bound(
    finding_class: dict[str, Any],
) -> None:
    _, skipped = _required(finding_class, {})
    assert skipped == PROFILE_ONLY_REQUIRED


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_export_has_required_attributes_and_valid_ids(
    path: Path, finding_class: dict[str, Any], techniques: dict[str, dict[str, Any]]
) -> None:
    for alert in _alerts(path):
        doc = alert.to_ocsf()
        where = f"{path.name} record {alert.provenance.record_no}"
        required, _ = _required(finding_class, doc)
        missing = sorted(name for name in required if doc.get(name) in (None, "", [], {}))
        assert missing == [], f"{where}: missing required {missing}"

        for name in ENUM_CHECKED:
            if name in doc:
                enum = finding_class[name]["enum"]
                assert str(doc[name]) in enum, f"{where}: {name}={doc[name]!r} not in {set(enum)}"
                sibling = finding_class[name].get("sibling")  # e.g. activity_name, severity
                if sibling in doc and doc[name] != 99:
                    caption = enum[str(doc[name])]["caption"]
                    assert doc[sibling] == caption, f"{where}: {sibling} should be {caption!r}"
        assert doc["class_uid"] == 2004 and doc["category_uid"] == 2, where
        assert doc["type_uid"] == doc["class_uid"] * 100 + doc["activity_id"], where
        assert str(doc["type_uid"]) in finding_class["type_uid"]["enum"], where
        assert isinstance(doc["time"], int) and doc["time"] > 0, where
        assert doc["finding_info"].get("uid"), where
        assert doc["metadata"].get("version") and doc["metadata"].get("product"), where

        for attack in doc["finding_info"].get("attacks", []):
            uid = attack.get("technique", {}).get("uid")
            if uid is None:
                continue
            assert uid in techniques, f"{where}: {uid} is not an ATT&CK Enterprise technique"
            assert not techniques[uid]["revoked"], f"{where}: {uid} is revoked"


# --- nested objects -------------------------------------------------------------------------

# Objects a Detection Finding carries inside ``evidences[]`` rather than at the top level: if
# an export puts one at the top, it is reported and its own shape is still checked.
EVIDENCE_OBJECTS = {
    "process": "process",
    "file": "file",
    "src_endpoint": "network_endpoint",
    "dst_endpoint": "network_endpoint",
}


def _object_problems(value: Any, object_name: str, schema: dict[str, Any], path: str) -> list[str]:
    """Required attributes, known attribute names and enum ids of one OCSF object, recursively."""
    spec = schema["objects"].get(object_name)
    if spec is None:
        return []
    if not isinstance(value, dict):
        return [f"{path}: should be a {object_name} object, got {type(value).__name__}"]
    problems = []
    attributes = spec["attributes"]
    for name, attribute in attributes.items():
        if attribute.get("requirement") == "required" and name not in value:
            problems.append(f"{path}.{name}: required by {object_name}")
    one_of = (spec.get("constraints") or {}).get("at_least_one") or []
    if one_of and not any(name in value for name in one_of):
        problems.append(f"{path}: {object_name} needs at least one of {one_of}")
    for name, item in value.items():
        attribute = attributes.get(name)
        if attribute is None:
            problems.append(f"{path}.{name}: not an attribute of {object_name}")
            continue
        problems += _value_problems(item, attribute, schema, f"{path}.{name}")
    return problems


def _value_problems(
    value: Any, attribute: dict[str, Any], schema: dict[str, Any], path: str
) -> list[str]:
    if value is None:
        return [f"{path}: null (omit the attribute instead)"]
    items = value if attribute.get("is_array") else [value]
    if attribute.get("is_array") and not isinstance(value, list):
        return [f"{path}: should be an array"]
    problems = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]" if attribute.get("is_array") else path
        if attribute["type"] in schema["objects"]:
            problems += _object_problems(item, attribute["type"], schema, where)
        elif attribute.get("enum") and str(item) not in attribute["enum"]:
            problems.append(f"{where}: {item!r} is not one of its enum values")
    return problems


def test_nested_objects_follow_the_schema(schema: dict[str, Any]) -> None:
    attributes = schema["classes"]["detection_finding"]["attributes"]
    problems: list[str] = []
    for path in _example_files():
        for alert in _alerts(path):
            doc = alert.to_ocsf()
            for name, value in doc.items():
                where = f"{path.name}#{alert.provenance.record_no}:{name}"
                if name not in attributes:
                    problems.append(f"{where}: not an attribute of detection_finding")
                    if name in EVIDENCE_OBJECTS:  # still check the object's own shape
                        problems += _object_problems(value, EVIDENCE_OBJECTS[name], schema, where)
                elif name != "unmapped":
                    problems += _value_problems(value, attributes[name], schema, where)
    assert problems == []
