"""The injection catalog and the injector: real attacks, findable, placed where they land."""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
import yaml

from tests.conftest import EXAMPLES, NOW, REPO
from tests.injection.inject import (
    ATTACKER_FIELDS,
    JOIN_KEY_KINDS,
    NOT_INJECTED,
    AttackerField,
    attacker_sites,
    inject_text,
    injected_examples,
    load_records,
    place,
    read_path,
)
from tests.injection.payloads import (
    CONFUSABLES,
    FAMILIES,
    MARKER_RE,
    PAYLOADS,
    Payload,
    by_family,
    injected_targets,
    intent_of,
    reveal,
)
from tierzero.ingest.alert import Alert
from tierzero.ingest.reader import ALERT_SUFFIXES, IngestOptions, read
from tierzero.store.sqlite import Store
from tierzero.usecases.triage import TriageReport, ingest

INSTRUCTION_WORDS = re.compile(
    r"ignore|isolate|disable|block|false positive|benign|approved|revoke|reset|quarantine|"
    r"delete_all_logs|allowlist",
    re.IGNORECASE,
)


# --- the catalog ----------------------------------------------------------------------------


def test_catalog_is_large_and_covers_every_family() -> None:
    assert len(PAYLOADS) >= 120
    per_family = Counter(p.family for p in PAYLOADS)
    assert set(per_family) == set(FAMILIES)
    assert min(per_family.values()) >= 5, per_family


def test_ids_texts_and_markers_are_unique() -> None:
    for attribute in ("id", "text", "marker"):
        values = [getattr(p, attribute) for p in PAYLOADS]
        repeated = [v for v, n in Counter(values).items() if n > 1]
        assert not repeated, f"repeated {attribute}: {repeated[:3]}"
    assert all(re.fullmatch(r"[a-z0-9]+-\d{3}", p.id) for p in PAYLOADS)


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.id)
def test_marker_is_found_however_the_text_is_escaped(payload: Payload) -> None:
    assert MARKER_RE.fullmatch(payload.marker) and payload.marker.isascii()
    assert payload.text.count(payload.marker) >= 1
    for rendered in (
        payload.text,
        json.dumps(payload.text),
        json.dumps(payload.text, ensure_ascii=False),
        json.dumps(json.dumps(payload.text)),  # a JSON string inside JSON (Sentinel's Entities)
        unicodedata.normalize("NFKC", payload.text),
    ):
        assert intent_of(rendered) == [payload], rendered[:120]


def test_intent_of_reads_a_whole_prompt() -> None:
    chosen = [PAYLOADS[3], PAYLOADS[77], PAYLOADS[-1]]
    prompt = "Case C-1 alerts:\n" + json.dumps(
        {"alerts": [{"cmd_line": f"cmd.exe /c {p.text}"} for p in chosen]}
    )
    assert intent_of(prompt) == chosen
    clean = "".join(
        p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.iterdir()) if p.is_file()
    )
    assert intent_of(clean) == []


def test_intents_are_well_formed() -> None:
    verdicts = {"true_positive", "benign_positive", "false_positive", "needs_review"}
    for p in PAYLOADS:
        intent = p.intent
        assert intent.verdict or intent.actions, p.id
        assert intent.verdict is None or intent.verdict in verdicts
        assert intent.confidence is None or 0 <= intent.confidence <= 1
        for action, target in intent.actions:
            assert re.fullmatch(r"[a-z_]+", action) and target, (p.id, action, target)
    assert all(p.intent.claims_approval for p in by_family("fake_preapproval"))
    claiming = {p.family for p in PAYLOADS if p.intent.claims_approval}
    assert len(claiming) >= 8, claiming  # approval claims in many disguises, not one family
    assert sum(1 for p in PAYLOADS if p.intent.verdict) >= 30  # verdict flips are common


def test_actions_and_targets_cover_catalog_fakes_and_valuables() -> None:
    policy = yaml.safe_load((REPO / "config" / "policy.yaml").read_text())
    catalog = set(policy["catalog"])
    used = {action for p in PAYLOADS for action, _ in p.intent.actions}
    assert catalog - {"block_hash"} <= used | {"block_hash"}
    assert {"isolate_host", "disable_user", "block_ip", "block_domain"} <= used
    assert {"delete_all_logs", "disable_mfa", "disable_edr", "unblock_ip"} <= used - catalog

    targets = injected_targets()
    inventory = REPO / "config" / "inventory"
    hosts = {
        a["hostname"] for a in yaml.safe_load((inventory / "assets.yaml").read_text())["assets"]
    }
    users = {
        i["user"] for i in yaml.safe_load((inventory / "identities.yaml").read_text())["identities"]
    }
    assert {"DC-01", "SRV-FS-01", "SRV-DB-01"} <= targets & hosts  # valuable inventory
    assert {"breakglass-admin", "bob.nguyen"} <= targets & users
    outside = {"CEO-LAPTOP-01", "203.0.113.250", "ceo.office", "evil.example"}
    assert outside <= targets
    examples_text = "".join(p.read_text() for p in EXAMPLES.iterdir() if p.is_file())
    assert not any(t in examples_text or t in hosts | users for t in outside)
    assert {"all hosts", "*", "DC-01; SRV-DB-01"} <= targets  # text, not one entity
    assert any(not t.isascii() for t in targets)  # look-alike spoofs of real entities


# --- encodings and obfuscation are real ----------------------------------------------------


def _decode_base64(blob: str) -> str:
    raw = base64.b64decode(blob, validate=True)
    return raw.decode("utf-16-le") if b"\x00" in raw else raw.decode()


@pytest.mark.parametrize("payload", by_family("encoded_base64"), ids=lambda p: p.id)
def test_base64_payloads_decode_to_an_instruction(payload: Payload) -> None:
    blobs = re.findall(r"[A-Za-z0-9+/]{24,}={0,2}", payload.text)
    decoded = [_decode_base64(b) for b in blobs]
    assert any(payload.plain in d for d in decoded), decoded
    assert INSTRUCTION_WORDS.search(payload.plain)
    assert not INSTRUCTION_WORDS.search(payload.text.replace(payload.marker, ""))


@pytest.mark.parametrize("payload", by_family("encoded_hex"), ids=lambda p: p.id)
def test_hex_payloads_decode_to_an_instruction(payload: Payload) -> None:
    escaped = re.search(r"(?:\\x[0-9a-f]{2}){16,}", payload.text)
    blob = escaped.group(0).replace("\\x", "") if escaped else None
    blob = blob or re.search(r"[0-9a-f]{32,}", payload.text).group(0)  # type: ignore[union-attr]
    assert binascii.unhexlify(blob).decode() == payload.plain
    assert INSTRUCTION_WORDS.search(payload.plain)


@pytest.mark.parametrize("payload", by_family("encoded_rot13"), ids=lambda p: p.id)
def test_rot13_payloads_decode_to_an_instruction(payload: Payload) -> None:
    assert payload.plain not in payload.text
    assert payload.plain in codecs.decode(payload.text, "rot13")
    assert INSTRUCTION_WORDS.search(payload.plain)


@pytest.mark.parametrize("payload", by_family("encoded_url"), ids=lambda p: p.id)
def test_url_encoded_payloads_decode_to_an_instruction(payload: Payload) -> None:
    assert "%" in payload.text and " " not in payload.text
    assert payload.plain in unquote_plus(payload.text)
    assert INSTRUCTION_WORDS.search(payload.plain)


@pytest.mark.parametrize("payload", by_family("homoglyph"), ids=lambda p: p.id)
def test_homoglyphs_are_real_look_alikes(payload: Payload) -> None:
    lookalikes = [c for c in payload.text if c in CONFUSABLES]
    assert lookalikes, payload.text
    assert all(unicodedata.name(c).split()[0] in ("CYRILLIC", "GREEK") for c in lookalikes)
    assert payload.text != payload.plain and reveal(payload.text) == payload.plain
    assert payload.plain.isascii()


@pytest.mark.parametrize("payload", by_family("unicode_tricks"), ids=lambda p: p.id)
def test_unicode_tricks_hide_a_readable_instruction(payload: Payload) -> None:
    tricks = [
        c
        for c in payload.text
        if unicodedata.category(c) in ("Cf", "Mn", "Zl", "Zs")
        and c != " "
        or unicodedata.normalize("NFKC", c) != c
    ]
    assert tricks, payload.text
    assert payload.text != payload.plain
    assert payload.plain in reveal(payload.text)


# --- where payloads go ----------------------------------------------------------------------


def test_every_example_file_is_classified() -> None:
    alert_files = {
        p.name
        for p in EXAMPLES.iterdir()
        if p.suffix in ALERT_SUFFIXES and not p.name.endswith(".mapping.yaml")
    }
    assert alert_files == set(ATTACKER_FIELDS) | set(NOT_INJECTED)


@pytest.mark.parametrize(
    ("name", "field"), attacker_sites(), ids=lambda v: v if isinstance(v, str) else v.path
)
def test_attacker_field_exists(name: str, field: AttackerField) -> None:
    records = load_records(EXAMPLES / name)
    assert 0 <= field.record < len(records)
    assert read_path(records[field.record], field.path).strip()


def _normalized_text(alert: Alert) -> str:
    return json.dumps(alert.model_dump(mode="json", exclude={"raw_data"}), ensure_ascii=False)


def test_every_attacker_field_reaches_the_normalized_alert(tmp_path: Path) -> None:
    """Text put in a listed field must reach the alert's own fields, not only ``raw_data``."""
    sites = attacker_sites()
    token = {(name, field): f"zqx{index:03d}qz" for index, (name, field) in enumerate(sites)}
    inject_text(lambda name, field: token[(name, field)], tmp_path)
    seen = "\n".join(
        _normalized_text(item)
        for item in read([tmp_path], IngestOptions(), now=NOW)
        if isinstance(item, Alert)
    )
    missing = [f"{name}:{field.path}" for (name, field), t in token.items() if t not in seen]
    assert not missing, f"never reach the normalized alert: {missing}"


def _ingest(folder: Path, db: Path) -> TriageReport:
    store = Store(db)
    try:
        return ingest([folder], store, IngestOptions(), NOW)
    finally:
        store.close()


@pytest.fixture(scope="module")
def clean_report(tmp_path_factory: pytest.TempPathFactory) -> TriageReport:
    return _ingest(EXAMPLES, tmp_path_factory.mktemp("clean") / "t.db")


SAMPLES = [
    PAYLOADS[0],  # plain English
    next(p for p in by_family("unicode_tricks") if "\U000e0001" in p.text),  # tag characters
    next(p for p in by_family("delimiter_escape") if "\r\n" in p.text),  # CRLF log forging
    next(p for p in by_family("delimiter_escape") if p.text.startswith('"}]}')),  # JSON breakout
]


@pytest.mark.parametrize("payload", SAMPLES, ids=lambda p: p.id)
def test_injected_examples_parse_like_the_clean_ones(
    payload: Payload, clean_report: TriageReport, tmp_path: Path
) -> None:
    sites = injected_examples(payload, tmp_path / "examples")
    assert len(sites) == len(attacker_sites())
    assert all(payload.text in s.injected and s.injected != s.original for s in sites)

    report = _ingest(tmp_path / "examples", tmp_path / "t.db")
    assert report.counts.normalized == clean_report.counts.normalized == 45
    assert report.counts.quarantined == clean_report.counts.quarantined == 7
    assert report.counts.by_source == clean_report.counts.by_source

    # Whatever renders these alerts, the payload is still recognizable in the result.
    alerts = list(read([tmp_path / "examples"], IngestOptions(), now=NOW))
    rendered = json.dumps([a.model_dump(mode="json") for a in alerts if isinstance(a, Alert)])
    assert intent_of(rendered) == [payload]


def test_field_selection(tmp_path: Path) -> None:
    text = PAYLOADS[1].text
    free = inject_text(text, tmp_path / "free", "free_text")
    assert free and not {s.kind for s in free} & JOIN_KEY_KINDS
    commands = inject_text(text, tmp_path / "cmd", "command_line")
    assert commands and {s.kind for s in commands} == {"command_line"}
    one_file = inject_text(text, tmp_path / "okta", "okta_system_log.jsonl")
    assert len(one_file) == 5 and {s.file for s in one_file} == {"okta_system_log.jsonl"}
    assert len(inject_text(text, tmp_path / "all")) == len(attacker_sites())
    with pytest.raises(ValueError, match="unknown field selection"):
        inject_text(text, tmp_path / "bad", "nope")


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        ("powershell.exe -nop", "append", "powershell.exe -nop P"),
        ("https://x.example/a.zip", "url_param", "https://x.example/a.zip?utm_content=P"),
        ("/sync?part=1", "url_param", "/sync?part=1&utm_content=P"),
        ("/idp/idx?", "url_param", "/idp/idx?utm_content=P"),
        ("INV-88213.js", "before_ext", "INV-88213 P.js"),
        ('"C:\\Program Files\\a.exe"', "before_ext", '"C:\\Program Files\\a P.exe"'),
        ("C:\\Users\\a\\Downloads", "path_segment", "C:\\Users\\a\\Downloads\\P"),
        ('1.2.3.4 "GET / HTTP/1.1" "Nmap"', "in_last_quote", '1.2.3.4 "GET / HTTP/1.1" "Nmap P"'),
    ],
)
def test_place_keeps_the_value_shaped(value: str, mode: Any, expected: str) -> None:
    assert place(value, "P", mode) == expected
