"""Every alert tierzero makes from the bundled examples and from every real vendor sample
(``../shared/corpora/vendor-samples``, all formats, ``--source auto``), exported with
``Alert.to_ocsf()`` (what ``tierzero normalize`` prints), checked against the compiled OCSF
schema and the ATT&CK catalogue (both read from ``../shared/corpora``, never copied here).

What is checked, per document, from the schema itself rather than a list written here:

- the class: required attributes, ``class_uid``/``category_uid``/``type_uid``, every enum id
  (with its caption sibling where the document carries one);
- every attribute the schema types, at any depth: objects are objects with their required
  attributes, their ``at_least_one`` constraint and no attribute the object does not define;
  arrays are arrays; primitives have their base type (integer, long, float, string, boolean),
  the type's range, maximum length, pattern (``datetime_t``, ``email_t``, ``ip_t``, ...) and
  enum ids; ``null`` is never written (OCSF omits unknown attributes);
- observables: ``type_id`` is an observable type and the value fits the type it names (an IP
  address observable is an IP address);
- ATT&CK: every technique id exists and is neither revoked nor deprecated, and every tactic is an
  ATT&CK tactic (uid and name agree).

Profiles: the compiled schema marks ``cloud`` and ``osint`` as *required* attributes of
``detection_finding``, but each belongs to a profile (``cloud``, ``osint``) and is required only
in an event that declares that profile in ``metadata.profiles``. tierzero's export declares no
profile, so required attributes that carry a profile are skipped unless the document declares
it; the test also asserts that exactly {cloud, osint} are skipped, so a schema change that
adds another profile-bound requirement is noticed rather than silently ignored.

A vendor sample may hold records that are refused (a sample finding, another OCSF class): those
are not alerts and are not checked here; the per-format corpus tests account for them.
"""

from __future__ import annotations

import json
import os
import re
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tierzero.ingest.alert import Alert, Analytic
from tierzero.ingest.quarantine import QuarantinedRecord
from tierzero.ingest.reader import ALERT_SUFFIXES, MAPPING_SUFFIX, IngestOptions, read

pytestmark = pytest.mark.corpus

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
BROKEN_ON_PURPOSE = "bad_records.jsonl"
NOW = datetime(2026, 11, 17, tzinfo=UTC)
SAMPLES_NOW = datetime(2026, 12, 1, tzinfo=UTC)  # after every vendor sample's own time
PROFILE_ONLY_REQUIRED = {"cloud", "osint"}
Schema = dict[str, Any]


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


def _sample_files() -> list[Path]:
    """Every file under vendor-samples (none when the corpora are absent: nothing to run)."""
    folder = _corpora() / "vendor-samples"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "README.md")


def _sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.fixture(scope="module")
def schema() -> Schema:
    path = _corpora() / "ocsf" / "ocsf-schema-1.9.0-dev.json"
    if not path.is_file():
        pytest.skip(f"OCSF schema not found at {path}: set TIERZERO_CORPORA to the corpora folder")
    loaded: Schema = json.loads(path.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def attack() -> dict[str, Any]:
    path = _corpora() / "attack" / "enterprise-techniques.json"
    if not path.is_file():
        pytest.skip(f"ATT&CK table not found at {path}: set TIERZERO_CORPORA to the corpora folder")
    document = json.loads(path.read_text(encoding="utf-8"))
    return {
        "techniques": {t["id"]: t for t in document["techniques"]},
        "tactics": {t["id"]: t["name"] for t in document["tactics"]},
    }


@pytest.fixture(scope="module")
def finding_class(schema: Schema) -> dict[str, Any]:
    attributes: dict[str, Any] = schema["classes"]["detection_finding"]["attributes"]
    return attributes


def _alerts(path: Path) -> list[Alert]:
    out = list(read([path], now=NOW))
    quarantined = [o for o in out if isinstance(o, QuarantinedRecord)]
    assert quarantined == [], f"{path.name}: {[(q.record_no, q.reason) for q in quarantined]}"
    assert out, f"{path.name} yielded nothing"
    return [o for o in out if isinstance(o, Alert)]


def _sample_alerts(path: Path) -> list[Alert]:
    out = list(read([path], IngestOptions(source="auto"), now=SAMPLES_NOW))
    assert out, f"{path.name} yielded nothing"
    return [o for o in out if isinstance(o, Alert)]


def _required(attributes: dict[str, Any], document: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(required names, required names skipped because their profile is not declared)."""
    declared = set(document.get("metadata", {}).get("profiles", []))
    required: set[str] = set()
    skipped: set[str] = set()
    for name, spec in attributes.items():
        if spec.get("requirement") != "required":
            continue
        profile = spec.get("profile")
        (skipped if profile and profile not in declared else required).add(name)
    return required, skipped


# --- the checks -------------------------------------------------------------------------------

# Objects a Detection Finding carries inside ``evidences[]`` rather than at the top level: if
# an export puts one at the top, it is reported and its own shape is still checked.
EVIDENCE_OBJECTS = {
    "process": "process",
    "file": "file",
    "src_endpoint": "network_endpoint",
    "dst_endpoint": "network_endpoint",
}


def _base_type(type_name: str, schema: Schema) -> str:
    """The primitive a schema type is made of (``port_t`` -> ``integer_t``)."""
    seen = type_name
    while (parent := (schema["types"].get(seen) or {}).get("type")) is not None:
        seen = parent
    return seen


def _has_base_type(value: Any, base: str) -> bool:
    if base == "string_t":
        return isinstance(value, str)
    if base in ("integer_t", "long_t"):
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "float_t":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base == "boolean_t":
        return isinstance(value, bool)
    if base == "object":
        return isinstance(value, dict)
    return True  # json_t: any JSON value


@cache
def _pattern(regex: str) -> re.Pattern[str]:
    return re.compile(regex)


def _type_problems(value: Any, type_name: str, schema: Schema, path: str) -> list[str]:
    """The base type, range, length and pattern the schema gives a primitive type."""
    base = _base_type(type_name, schema)
    if not _has_base_type(value, base):
        return [f"{path}: {value!r:.60} is not a {base} ({type_name})"]
    problems = []
    # The type's own constraints, then its parent's (ip_t's pattern, port_t's range, ...).
    name: str | None = type_name
    while name is not None and name in schema["types"]:
        spec = schema["types"][name]
        low_high = spec.get("range")
        if low_high and not low_high[0] <= value <= low_high[1]:
            problems.append(f"{path}: {value!r} is outside {name}'s range {low_high}")
        if spec.get("max_len") and isinstance(value, str) and len(value) > spec["max_len"]:
            problems.append(f"{path}: longer than {name}'s {spec['max_len']} characters")
        regex = spec.get("regex")
        if regex and isinstance(value, str) and not _pattern(regex).search(value):
            problems.append(f"{path}: {value!r:.80} does not match {name}")
        name = spec.get("type")
    return problems


def _object_problems(value: Any, object_name: str, schema: Schema, path: str) -> list[str]:
    """Required attributes, known attribute names, types and enum ids of one OCSF object,
    recursively."""
    spec = schema["objects"].get(object_name)
    if spec is None:
        return [] if isinstance(value, dict) else [f"{path}: should be an object"]
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
    if object_name == "observable":
        problems += _observable_problems(value, schema, path)
    return problems


def _value_problems(value: Any, attribute: dict[str, Any], schema: Schema, path: str) -> list[str]:
    if value is None:
        return [f"{path}: null (omit the attribute instead)"]
    if attribute.get("is_array") and not isinstance(value, list):
        return [f"{path}: should be an array"]
    items = value if attribute.get("is_array") else [value]
    problems = []
    for index, item in enumerate(items):
        where = f"{path}[{index}]" if attribute.get("is_array") else path
        if item is None:
            problems.append(f"{where}: null (omit it instead)")
        elif attribute["type"] == "object":  # free-form (``unmapped``): any keys
            if not isinstance(item, dict):
                problems.append(f"{where}: should be an object")
        elif attribute["type"] in schema["objects"]:
            problems += _object_problems(item, attribute["type"], schema, where)
        else:
            problems += _type_problems(item, attribute["type"], schema, where)
            if attribute.get("enum") and str(item) not in attribute["enum"]:
                problems.append(f"{where}: {item!r} is not one of its enum values")
    return problems


def _observable_problems(observable: dict[str, Any], schema: Schema, path: str) -> list[str]:
    """An observable's value checked as the type its ``type_id`` names (2: ``ip_t``)."""
    typed = {
        spec["observable"]: name
        for name, spec in schema["types"].items()
        if spec.get("observable") is not None
    }
    type_name = typed.get(observable.get("type_id"))
    value = observable.get("value")
    if type_name is None or not isinstance(value, str):
        return []
    return _type_problems(value, type_name, schema, f"{path}.value")


def _enum_problems(doc: dict[str, Any], finding_class: dict[str, Any], where: str) -> list[str]:
    """Top-level enum ids and their caption siblings (``severity_id`` 3 and ``severity``
    "Medium")."""
    problems = []
    for name, attribute in finding_class.items():
        enum = attribute.get("enum")
        if not enum or name not in doc:
            continue
        if str(doc[name]) not in enum:
            problems.append(f"{where}: {name}={doc[name]!r} not in {sorted(enum)}")
            continue
        sibling = attribute.get("sibling")  # e.g. activity_name, severity
        if sibling in doc and doc[name] != 99:
            caption = enum[str(doc[name])]["caption"]
            if doc[sibling] != caption:
                problems.append(f"{where}: {sibling} should be {caption!r}, is {doc[sibling]!r}")
    return problems


def _attack_problems(doc: dict[str, Any], attack: dict[str, Any], where: str) -> list[str]:
    problems = []
    techniques, tactics = attack["techniques"], attack["tactics"]
    by_name = {name.casefold(): uid for uid, name in tactics.items()}
    for entry in doc["finding_info"].get("attacks", []):
        uid = entry.get("technique", {}).get("uid")
        if uid is not None:
            known = techniques.get(uid)
            if known is None:
                problems.append(f"{where}: {uid} is not an ATT&CK Enterprise technique")
            elif known["revoked"] or known.get("deprecated"):
                problems.append(f"{where}: {uid} is revoked or deprecated in ATT&CK")
        tactic = entry.get("tactic") or {}
        tactic_uid, tactic_name = tactic.get("uid"), tactic.get("name")
        if tactic_uid is not None and tactic_uid not in tactics:
            problems.append(f"{where}: tactic {tactic_uid} is not an ATT&CK tactic")
        if tactic_name is not None:
            named = by_name.get(str(tactic_name).casefold())
            if named is None:
                problems.append(f"{where}: tactic {tactic_name!r} is not an ATT&CK tactic name")
            elif tactic_uid is not None and named != tactic_uid:
                problems.append(f"{where}: tactic {tactic_name!r} is {named}, not {tactic_uid}")
    return problems


def document_problems(
    doc: dict[str, Any], schema: Schema, attack: dict[str, Any], where: str
) -> list[str]:
    """Everything in one exported document that the schema or ATT&CK does not allow."""
    finding_class = schema["classes"]["detection_finding"]["attributes"]
    problems: list[str] = []
    required, _ = _required(finding_class, doc)
    missing = sorted(name for name in required if doc.get(name) in (None, "", [], {}))
    if missing:
        problems.append(f"{where}: missing required {missing}")
    problems += _enum_problems(doc, finding_class, where)
    if (doc.get("class_uid"), doc.get("category_uid")) != (2004, 2):
        problems.append(f"{where}: not class 2004 in category 2")
    if doc.get("type_uid") != doc.get("class_uid", 0) * 100 + doc.get("activity_id", 0):
        problems.append(f"{where}: type_uid is not class_uid * 100 + activity_id")
    for name, value in doc.items():
        if name not in finding_class:
            problems.append(f"{where}.{name}: not an attribute of detection_finding")
            if name in EVIDENCE_OBJECTS:  # still check the object's own shape
                problems += _object_problems(value, EVIDENCE_OBJECTS[name], schema, where)
        else:
            problems += _value_problems(value, finding_class[name], schema, f"{where}.{name}")
    if isinstance(doc.get("finding_info"), dict):
        problems += _attack_problems(doc, attack, where)
    return problems


# --- the tests --------------------------------------------------------------------------------


def test_the_example_folder_has_files_to_check() -> None:
    assert len(_example_files()) >= 9


def test_only_cloud_and_osint_are_profile_bound(finding_class: dict[str, Any]) -> None:
    _, skipped = _required(finding_class, {})
    assert skipped == PROFILE_ONLY_REQUIRED


@pytest.mark.parametrize("path", _example_files(), ids=lambda p: p.name)
def test_every_example_alert_conforms(path: Path, schema: Schema, attack: dict[str, Any]) -> None:
    problems: list[str] = []
    for alert in _alerts(path):
        where = f"{path.name}#{alert.provenance.record_no}"
        problems += document_problems(alert.to_ocsf(), schema, attack, where)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("path", _sample_files(), ids=_sample_id)
def test_every_vendor_sample_alert_conforms(
    path: Path, schema: Schema, attack: dict[str, Any]
) -> None:
    problems: list[str] = []
    for alert in _sample_alerts(path):
        where = f"{_sample_id(path)}#{alert.provenance.record_no}"
        problems += document_problems(alert.to_ocsf(), schema, attack, where)
    assert problems == [], "\n".join(problems)


# --- the checker itself: it must find what it is meant to find --------------------------------


@pytest.fixture(scope="module")
def good(schema: Schema) -> dict[str, Any]:
    """One conforming export to break in the tests below."""
    return _alerts(EXAMPLES / "crowdstrike_detections.jsonl")[0].to_ocsf()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.pop("severity_id"), "missing required ['severity_id']"),
        (lambda d: d.update(severity_id=7), "severity_id=7 not in"),
        (lambda d: d.update(severity="Loud"), "severity should be"),
        (lambda d: d.update(time="2026-11-16"), "is not a long_t (timestamp_t)"),
        (lambda d: d.update(time_dt="16 Nov 2026"), "does not match datetime_t"),
        (lambda d: d.update(message=None), "null (omit the attribute instead)"),
        (lambda d: d.update(observables={"name": "x"}), "should be an array"),
        (lambda d: d["finding_info"].pop("uid"), "finding_info.uid: required by finding_info"),
        (lambda d: d["finding_info"].update(colour="red"), "not an attribute of finding_info"),
        (lambda d: d["device"].update(ip="not-an-ip"), "does not match ip_t"),
        (lambda d: d["evidences"][0]["process"].update(pid="92"), "is not a integer_t"),
        (
            lambda d: d["observables"].append({"name": "x", "type_id": 2, "value": "nope"}),
            "value: 'nope' does not match ip_t",
        ),
        (
            lambda d: d["finding_info"]["attacks"].append({"technique": {"uid": "T9999"}}),
            "T9999 is not an ATT&CK Enterprise technique",
        ),
        (
            lambda d: d["finding_info"]["attacks"].append({"tactic": {"name": "AnonymousLogin"}}),
            "'AnonymousLogin' is not an ATT&CK tactic name",
        ),
        (lambda d: d.update(process={"pid": 1}), "process: not an attribute of detection_finding"),
    ],
)
def test_the_checker_finds_what_is_wrong(
    good: dict[str, Any], schema: Schema, attack: dict[str, Any], change: Any, expected: str
) -> None:
    assert document_problems(good, schema, attack, "doc") == []
    broken = json.loads(json.dumps(good))
    change(broken)
    problems = document_problems(broken, schema, attack, "doc")
    assert any(expected in problem for problem in problems), problems


def test_a_revoked_technique_is_refused(
    good: dict[str, Any], schema: Schema, attack: dict[str, Any]
) -> None:
    revoked = next(uid for uid, t in attack["techniques"].items() if t["revoked"])
    broken = json.loads(json.dumps(good))
    broken["finding_info"]["attacks"] = [{"technique": {"uid": revoked}}]
    problems = document_problems(broken, schema, attack, "doc")
    assert problems == [f"doc: {revoked} is revoked or deprecated in ATT&CK"]


def test_an_alert_without_an_analytic_exports_none(
    good: dict[str, Any], schema: Schema, attack: dict[str, Any]
) -> None:
    """OCSF's analytic needs a name or uid; a source that names no rule (the OCSF project's
    Security Hub GuardDuty sample) gets no analytic object rather than an empty one."""
    alert = _alerts(EXAMPLES / "crowdstrike_detections.jsonl")[0]
    info = alert.finding_info.model_copy(update={"analytic": Analytic()})
    doc = alert.model_copy(update={"finding_info": info}).to_ocsf()
    assert "analytic" not in doc["finding_info"]
    assert document_problems(doc, schema, attack, "doc") == []
