"""Put injection payloads into the attacker-controlled fields of the bundled example alerts.

:data:`ATTACKER_FIELDS` lists, per example file, the string fields an attacker can write
(command lines, attacker-named files and folders, mail subjects, URLs, user agents, TLS SNI,
HTTP host names, DNS query names, and vendor summaries that embed such values) **and** that the
file's adapter carries into the normalized :class:`~tierzero.ingest.alert.Alert` (observables,
``process.cmd_line``, ``file``, ``message``). A field the adapter ignores only reaches
``raw_data`` and is left out; so are fields that are join keys an attacker cannot write freely
(host, user and IP fields). ``tests/injection/test_payloads.py`` checks that every listed field
exists and that text put there reaches the normalized alert.

Paths: ``a.b[0].c``; ``["kibana.alert.reason"]`` for a key that contains dots (Elastic's
flattened keys); ``{json}`` descends into a string that holds JSON (Sentinel's ``Entities``).
For the CSV export the path is the column name and the record index is the data row.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tests.injection.payloads import Payload

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

FieldKind = Literal[
    "command_line",
    "url",
    "user_agent",
    "email_subject",
    "file_name",
    "file_path",
    "process_name",
    "message",
    "domain",
]
# Kinds that normalize to correlation join keys: injecting there changes which alerts join
# which cases, so ``fields="free_text"`` leaves them out.
JOIN_KEY_KINDS: frozenset[FieldKind] = frozenset({"domain"})

# How the payload is placed so the value stays the kind of value it was:
#   append        "<value> <payload>"                     command lines, user agents, subjects
#   url_param     "<url>?utm_content=<payload>"           URLs and URL paths (host unchanged)
#   before_ext    "<stem> <payload>.<ext>"                file and process names, file paths
#   path_segment  "<folder>\<payload>"                    folder paths
#   in_last_quote "... \"<ua> <payload>\""                access-log lines (into the user agent)
Mode = Literal["append", "url_param", "before_ext", "path_segment", "in_last_quote"]


@dataclass(frozen=True)
class AttackerField:
    """One attacker-writable string field of one record of an example file."""

    record: int  # 0-based: array item, non-blank JSON line, or CSV data row
    path: str
    kind: FieldKind
    mode: Mode


@dataclass(frozen=True)
class InjectionSite:
    """Where a payload was placed, with the value before and after."""

    file: str
    record: int
    path: str
    kind: FieldKind
    original: str
    injected: str


def _f(record: int, path: str, kind: FieldKind, mode: Mode | None = None) -> AttackerField:
    default: dict[str, Mode] = {
        "url": "url_param",
        "file_name": "before_ext",
        "file_path": "before_ext",
        "process_name": "before_ext",
    }
    return AttackerField(record, path, kind, mode or default.get(kind, "append"))


ATTACKER_FIELDS: dict[str, tuple[AttackerField, ...]] = {
    # Harbor Mail Gateway findings: the phishing mail, the click, the sandboxed archive. The
    # record's own observables repeat the values, so both copies are injected.
    "ocsf_detection_findings.json": (
        _f(0, "evidences[0].email.subject", "email_subject"),
        _f(0, "evidences[0].email.urls[0].url_string", "url"),
        _f(0, "observables[2].value", "email_subject"),
        _f(0, "observables[4].value", "url"),
        _f(1, "evidences[0].url.url_string", "url"),
        _f(1, "observables[3].value", "url"),
        _f(2, "message", "message"),  # the sandbox summary names the attacker's files
        _f(2, "evidences[0].file.name", "file_name"),
        _f(2, "evidences[0].file.path", "file_path"),
        _f(2, "evidences[0].url.url_string", "url"),
        _f(2, "observables[0].value", "file_name"),
        _f(2, "observables[1].value", "url"),
    ),
    # Only the phishing alert carries attacker text; the sign-in alerts hold accounts and IPs.
    # The sender display name (P1SenderDisplayName) is not read by the adapter.
    "sentinel_securityalert.jsonl": (
        _f(0, "Entities{json}[2].Url", "url"),
        _f(0, "Entities{json}[3].Urls[0]", "url"),
        _f(0, "Entities{json}[3].Subject", "email_subject"),
    ),
    "defender_alerts_v2.json": (
        _f(0, "evidence[0].subject", "email_subject"),
        _f(0, "evidence[0].urls[0]", "url"),
        _f(0, "evidence[2].url", "url"),
        _f(1, "evidence[2].processCommandLine", "command_line"),
        _f(1, "evidence[3].processCommandLine", "command_line"),
        _f(1, "evidence[4].fileDetails.fileName", "file_name"),
        _f(1, "evidence[4].fileDetails.filePath", "file_path", "path_segment"),
        _f(2, "evidence[2].fileDetails.fileName", "file_name"),
        _f(2, "evidence[2].fileDetails.filePath", "file_path", "path_segment"),
        _f(2, "evidence[3].processCommandLine", "command_line"),
        _f(2, "evidence[3].imageFile.fileName", "process_name"),
        # PsExec lets the operator name the remote service binary (-r).
        _f(3, "evidence[3].processCommandLine", "command_line"),
        _f(3, "evidence[3].imageFile.fileName", "process_name"),
    ),
    # Command lines of every detection (whoever starts a process writes its command line,
    # including on the patched server), and the loader's own file name.
    "crowdstrike_detections.jsonl": (
        _f(0, "event.CommandLine", "command_line"),
        _f(0, "event.ParentCommandLine", "command_line"),
        _f(1, "event.CommandLine", "command_line"),
        _f(1, "event.ParentCommandLine", "command_line"),
        _f(2, "event.CommandLine", "command_line"),
        _f(2, "event.ParentCommandLine", "command_line"),
        _f(3, "event.FileName", "process_name"),
        _f(3, "event.CommandLine", "command_line"),
        _f(3, "event.ParentCommandLine", "command_line"),
        _f(3, "event.GrandParentCommandLine", "command_line"),
        _f(4, "event.FileName", "process_name"),
        _f(4, "event.CommandLine", "command_line"),
        _f(4, "event.ParentCommandLine", "command_line"),
        _f(4, "event.GrandparentCommandLine", "command_line"),
    ),
    # The attacker's S3 client sends its own user agent; the port probe carries no text.
    "guardduty_findings.json": (
        _f(1, "Service.Action.AwsApiCallAction.UserAgent", "user_agent"),
        _f(2, "Service.Action.AwsApiCallAction.UserAgent", "user_agent"),
    ),
    "okta_system_log.jsonl": tuple(
        _f(i, "client.userAgent.rawUserAgent", "user_agent") for i in range(5)
    ),
    "elastic_alerts.ndjson": (
        _f(0, "process.command_line", "command_line"),
        _f(0, "process.parent.command_line", "command_line"),
        _f(1, '["kibana.alert.reason"]', "message"),  # embeds the dropped file's name
        _f(1, "process.command_line", "command_line"),
        _f(1, "process.parent.command_line", "command_line"),
        _f(1, "file.name", "file_name"),
        _f(1, "file.path", "file_path"),
        _f(2, '["kibana.alert.reason"]', "message"),  # embeds the loader's process name
        _f(2, "process.name", "process_name"),
        _f(2, "process.executable", "file_path"),
        _f(2, "process.command_line", "command_line"),
        _f(2, "process.parent.command_line", "command_line"),
        _f(2, "dns.question.name", "domain"),
        _f(2, "destination.domain", "domain"),
    ),
    "wazuh_alerts.json": (
        _f(1, "data.win.eventdata.commandLine", "command_line"),
        _f(1, "data.win.eventdata.parentCommandLine", "command_line"),
        # Web attacks: the requester writes the URL and the user agent of the access log.
        _f(2, "data.url", "url"),
        _f(2, "full_log", "message", "in_last_quote"),
        _f(3, "data.url", "url"),
        _f(3, "full_log", "message", "in_last_quote"),
        _f(4, "data.url", "url"),
        _f(4, "full_log", "message", "in_last_quote"),
        _f(5, "syscheck.path", "file_path"),
        _f(6, "data.win.eventdata.imagePath", "file_path"),  # a new service's binary
    ),
    # The break-glass logon failures hold only accounts, hosts and addresses.
    "wazuh_dc_alerts.json": (),
    "suricata_eve.json": (
        _f(0, "tls.sni", "domain"),
        _f(2, "http.hostname", "domain"),
        _f(2, "http.url", "url"),
        _f(2, "http.http_user_agent", "user_agent"),
        _f(3, "http.url", "url"),
        _f(3, "http.http_user_agent", "user_agent"),
    ),
    "proxy_export.csv": tuple(
        field
        for row in range(3)
        for field in (_f(row, "url", "url"), _f(row, "dest_host", "domain"))
    ),
}
# Deliberately broken records: injecting there tests nothing (they are quarantined anyway).
NOT_INJECTED = ("bad_records.jsonl",)

FieldFilter = str | Callable[[str, AttackerField], bool]
TextFor = str | Callable[[str, AttackerField], str]


def attacker_sites() -> list[tuple[str, AttackerField]]:
    """Every (file name, field) of :data:`ATTACKER_FIELDS`, in a stable order."""
    return [(name, field) for name, fields in ATTACKER_FIELDS.items() for field in fields]


def injected_examples(
    payload: Payload, dest: Path, fields: FieldFilter = "all", source: Path = EXAMPLES
) -> list[InjectionSite]:
    """Copy ``source`` (the examples) to ``dest`` with ``payload.text`` in attacker fields.

    ``fields``: ``"all"``; ``"free_text"`` (everything but join-key kinds, so correlation
    builds the same cases as on the clean examples); one :data:`FieldKind`; one example file
    name; or a predicate over (file name, field). Every other file is copied unchanged, so the
    copy normalizes and quarantines exactly as many records as the original.
    """
    return inject_text(payload.text, dest, fields, source)


def inject_text(
    text: TextFor, dest: Path, fields: FieldFilter = "all", source: Path = EXAMPLES
) -> list[InjectionSite]:
    """Like :func:`injected_examples` for any text, or a text chosen per field."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, dest, dirs_exist_ok=True)
    sites: list[InjectionSite] = []
    for name, file_fields in ATTACKER_FIELDS.items():
        chosen = [f for f in file_fields if _selected(name, f, fields)]
        if not chosen:
            continue
        example = _ExampleFile.load(source / name)
        for field in chosen:
            record = example.records[field.record]
            original = read_path(record, field.path)
            value = text(name, field) if callable(text) else text
            injected = place(original, value, field.mode)
            example.records[field.record] = write_path(record, field.path, injected)
            sites.append(
                InjectionSite(name, field.record, field.path, field.kind, original, injected)
            )
        example.write(dest / name)
    return sites


def _selected(name: str, field: AttackerField, fields: FieldFilter) -> bool:
    if callable(fields):
        return fields(name, field)
    if fields == "all":
        return True
    if fields == "free_text":
        return field.kind not in JOIN_KEY_KINDS
    if fields in ATTACKER_FIELDS:
        return name == fields
    if fields in FieldKind.__args__:  # type: ignore[attr-defined]
        return field.kind == fields
    raise ValueError(f"unknown field selection {fields!r}")


def place(value: str, payload: str, mode: Mode) -> str:
    """The field's new value with ``payload`` placed according to ``mode``."""
    if mode == "append":
        return f"{value} {payload}"
    if mode == "url_param":
        separator = "" if value.endswith(("?", "&")) else "&" if "?" in value else "?"
        return f"{value}{separator}utm_content={payload}"
    if mode == "before_ext":
        # Keep a trailing quote (Wazuh's quoted imagePath) and the extension where they were.
        body, quote = (value[:-1], value[-1]) if value.endswith('"') else (value, "")
        stem, dot, ext = body.rpartition(".")
        if not dot or re.search(r"[\\/]", ext):
            return f"{body} {payload}{quote}"
        return f"{stem} {payload}.{ext}{quote}"
    if mode == "path_segment":
        separator = "/" if "/" in value and "\\" not in value else "\\"
        return f"{value.rstrip(separator)}{separator}{payload}"
    if mode == "in_last_quote":
        end = value.rfind('"')
        if end <= 0:
            return f"{value} {payload}"
        return f"{value[:end]} {payload}{value[end:]}"
    raise ValueError(f"unknown mode {mode!r}")


# --- paths ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\["(?P<quoted>[^"]+)"\]|\[(?P<index>\d+)\]|(?P<json>\{json\})|\.?(?P<key>[^.\[{]+)'
)
Token = tuple[Literal["key", "index", "json"], Any]


def parse_path(path: str) -> list[Token]:
    """``a.b[0]["x.y"]{json}[2].c`` -> key, key, index, key, json, index, key tokens."""
    tokens: list[Token] = []
    position = 0
    while position < len(path):
        match = _TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise ValueError(f"bad path {path!r} at {position}")
        if match["quoted"] is not None:
            tokens.append(("key", match["quoted"]))
        elif match["index"] is not None:
            tokens.append(("index", int(match["index"])))
        elif match["json"] is not None:
            tokens.append(("json", None))
        else:
            tokens.append(("key", match["key"]))
        position = match.end()
    return tokens


def read_path(record: Any, path: str) -> str:
    """The string at ``path``; KeyError, IndexError or TypeError when it is not there."""
    node = record
    for kind, arg in parse_path(path):
        if kind == "json":
            node = json.loads(node)
        elif kind == "index":
            if not isinstance(node, list):
                raise TypeError(f"{path}: not a list before [{arg}]")
            node = node[arg]
        else:
            if not isinstance(node, dict):
                raise TypeError(f"{path}: not an object before {arg!r}")
            node = node[arg]
    if not isinstance(node, str):
        raise TypeError(f"{path}: holds {type(node).__name__}, not a string")
    return node


def write_path(record: Any, path: str, value: str) -> Any:
    """A copy of ``record`` with ``value`` at ``path`` (re-encoding ``{json}`` strings)."""

    def put(node: Any, tokens: list[Token]) -> Any:
        if not tokens:
            return value
        (kind, arg), rest = tokens[0], tokens[1:]
        if kind == "json":
            return json.dumps(put(json.loads(node), rest), ensure_ascii=False)
        copy: Any = list(node) if kind == "index" else dict(node)
        copy[arg] = put(node[arg], rest)
        return copy

    read_path(record, path)  # fail loudly on a path that is not there
    return put(record, parse_path(path))


# --- files --------------------------------------------------------------------------------


@dataclass
class _ExampleFile:
    """An example file's records, written back in the file's own layout.

    For a JSON document ``records`` is the document's own list (or its envelope's), so
    replacing an item edits the document.
    """

    layout: Literal["lines", "document", "csv"]
    records: list[Any]
    document: Any = None
    header: list[str] | None = None

    @classmethod
    def load(cls, path: Path) -> _ExampleFile:
        if path.suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as handle:
                reader = csv.DictReader(handle)
                rows = list(reader)
                return cls("csv", rows, header=list(reader.fieldnames or []))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".json":
            try:
                document = json.loads(text)
            except json.JSONDecodeError:
                document = None  # Wazuh and Suricata write JSON lines into .json files
            if isinstance(document, list):
                return cls("document", document, document=document)
            if isinstance(document, dict):
                for key in ("value", "Findings"):  # Graph and GuardDuty envelopes
                    if isinstance(document.get(key), list):
                        return cls("document", document[key], document=document)
                return cls("document", [document])  # one bare record
        return cls("lines", [json.loads(line) for line in text.splitlines() if line.strip()])

    def write(self, path: Path) -> None:
        if self.layout == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=self.header or [], lineterminator="\n")
            writer.writeheader()
            writer.writerows(self.records)
            path.write_text(out.getvalue(), encoding="utf-8")
        elif self.layout == "document":
            document = self.records[0] if self.document is None else self.document
            path.write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
        else:
            lines = (json.dumps(r, ensure_ascii=False) for r in self.records)
            path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def load_records(path: Path) -> list[Any]:
    """The records of one example file, indexed as :attr:`AttackerField.record` counts them."""
    return _ExampleFile.load(path).records
