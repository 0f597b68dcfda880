"""What an adapter is, and the small helpers every adapter shares.

An adapter turns one parsed source record (a JSON object, or a CSV row as a dict of strings)
into an :class:`Alert`, or raises :class:`RecordRejected` with a reason a person understands.
Adapters never see files: the reader owns positions, sizes and time sanity checks.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Protocol

from tierzero.ingest.activity import IdentityActivity
from tierzero.ingest.alert import (
    Alert,
    Attack,
    EntityKind,
    FileInfo,
    Observable,
    Product,
    Severity,
)

# Caps keep one hostile record from bloating memory or the store; the raw record keeps it all.
MAX_VALUE_CHARS = 8192
MAX_OBSERVABLES = 256


class RecordRejected(ValueError):
    """The record cannot become an alert. ``reason`` is shown to people as-is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotAnAlert(RecordRejected):
    """A readable record of an event stream that is not an alert (a routine sign-out, say).

    Kept in the quarantine with its reason, like any refusal, so nothing is dropped silently;
    the reason starts ``not an alert:``. ``activity``, when the event is an account's routine
    identity step, is what the store keeps as that account's context (see ``ingest.activity``).
    """

    def __init__(self, reason: str, activity: IdentityActivity | None = None) -> None:
        super().__init__(reason)
        self.activity = activity


class Adapter(Protocol):
    """One source format. ``name`` is what ``--source`` accepts."""

    @property
    def name(self) -> str: ...
    @property
    def vendor(self) -> str: ...
    @property
    def product(self) -> str: ...

    def matches(self, record: Mapping[str, Any]) -> bool:
        """True when the record is unambiguously this format (used by ``--source auto``)."""
        ...

    def parse(self, record: Mapping[str, Any], context: ParseContext) -> Alert:
        """Normalize one record or raise :class:`RecordRejected`."""
        ...


@dataclass(frozen=True)
class ParseContext:
    """What the reader knows about a record's position; adapters pass it to ``build``."""

    source_file: str
    record_no: int
    ingested_at: datetime
    raw: str


def get(record: Mapping[str, Any], path: str, default: Any = None) -> Any:
    """Read a dotted path (``a.b.c``) from nested mappings; missing or null gives ``default``."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return default
        current = current[part]
    return default if current is None else current


def require(record: Mapping[str, Any], path: str) -> Any:
    """Like :func:`get`, but a missing or empty field rejects the record."""
    value = get(record, path)
    if value is None or value == "" or value == [] or value == {}:
        raise RecordRejected(f"missing required field '{path}'")
    return value


def text(value: Any, field_name: str = "value") -> str | None:
    """Coerce a scalar to stripped text; containers are rejected rather than stringified."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | int | float):
        out = str(value).strip()
        try:
            out.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates from "\ud800" escapes in JSON
            raise RecordRejected(f"field '{field_name}' is not valid Unicode text") from exc
        return out[:MAX_VALUE_CHARS] or None
    raise RecordRejected(f"field '{field_name}' should be text, got {type(value).__name__}")


# No alert carries a number this long (a double tops out near 10**308); a longer one is an
# attack on int() (Python refuses over 4,300 digits, and converting is quadratic below that).
MAX_NUMBER_DIGITS = 400


def _bounded_int(digits: str) -> int:
    if len(digits) > MAX_NUMBER_DIGITS:
        raise RecordRejected(
            f"holds a number of {len(digits.lstrip('-'))} digits "
            f"(over the {MAX_NUMBER_DIGITS}-digit limit)"
        )
    return int(digits)


def load_json(text: str) -> Any:
    """``json.loads`` that refuses absurdly long integers with :class:`RecordRejected`
    (``json.JSONDecodeError`` and ``RecursionError`` pass through as from ``json.loads``)."""
    return json.loads(text, parse_int=_bounded_int)


def json_field(value: Any, field_name: str) -> Any:
    """Decode a field that the source stores as a JSON string (Sentinel's Entities, ...)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        return value
    try:
        return load_json(value)
    except RecordRejected as exc:
        raise RecordRejected(f"field '{field_name}' {exc.reason}") from exc
    except json.JSONDecodeError as exc:
        raise RecordRejected(f"field '{field_name}' is not valid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise RecordRejected(f"field '{field_name}' is nested too deeply") from exc


_EPOCH_MS_THRESHOLD = 10**11  # beyond year 5138 in seconds: such numbers are milliseconds


def parse_time(value: Any, field_name: str, fmt: str | None = None) -> datetime:
    """Parse a source timestamp to aware UTC.

    Accepts ISO 8601 (``Z`` or offsets, any fraction digits), epoch seconds or milliseconds
    (numbers or digit strings), or an explicit ``strptime`` format. Naive times are rejected
    unless a format is given: guessing a time zone would silently shift the timeline.
    """
    if value is None or value == "":
        raise RecordRejected(f"missing required field '{field_name}'")
    try:
        if fmt in ("epoch", "epoch_s", "epoch_ms") or (
            fmt is None and (isinstance(value, int | float) and not isinstance(value, bool))
        ):
            number = float(value)
            if fmt == "epoch_ms" or (fmt != "epoch_s" and abs(number) >= _EPOCH_MS_THRESHOLD):
                number /= 1000.0
            return datetime.fromtimestamp(number, tz=UTC)
        if not isinstance(value, str):
            raise RecordRejected(f"field '{field_name}' is not a time: {value!r}")
        stamp = value.strip()
        if fmt not in (None, "iso8601"):
            parsed = datetime.strptime(stamp, fmt)  # noqa: DTZ007  (zone attached below)
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        if re.fullmatch(r"-?\d+(\.\d+)?", stamp):
            return parse_time(float(stamp), field_name)
        parsed = datetime.fromisoformat(stamp)
    except (ValueError, TypeError, OverflowError, OSError) as exc:
        if isinstance(exc, RecordRejected):
            raise
        raise RecordRejected(
            f"field '{field_name}' is not a valid time: {str(value)[:80]!r}"
        ) from exc
    if parsed.tzinfo is None:
        raise RecordRejected(f"field '{field_name}' has no time zone: {stamp[:80]!r}")
    return parsed.astimezone(UTC)


# Data-quality flags an adapter sets on an alert when it had to interpret the source's time.
# Each is listed in the README ("What tierzero flags and refuses").
FLAG_TIME_ASSUMED_UTC = "time_zone_assumed_utc"  # zone-less, read as UTC: the schema says so
FLAG_TIME_UNIT_INFERRED = "time_unit_inferred"  # epoch s vs ms told apart by magnitude
FLAG_TIME_DT_PREFERRED = "time_dt_preferred"  # epoch number and its *_dt twin disagreed
FLAG_SAMPLE = "sample"  # a vendor-generated sample finding, not a real detection


@dataclass(frozen=True)
class TimeRead:
    """A time read from a source record, with the flags saying how it was interpreted."""

    at: datetime
    flags: tuple[str, ...] = ()


def read_time(
    value: Any,
    field_name: str,
    *,
    unit: str | None = None,
    zone_less_utc: bool = False,
    twin: Any = None,
    twin_field: str | None = None,
) -> TimeRead:
    """Read a source time under the source's own rules, saying what had to be interpreted.

    ``unit`` is what the schema declares for epoch numbers (``"s"`` or ``"ms"``): a number
    whose magnitude says otherwise (Prowler writes OCSF ``time`` in seconds) is read by its
    magnitude and flagged ``time_unit_inferred``. ``zone_less_utc`` is for sources whose schema
    defines the field as UTC (Sentinel's ``TimeGenerated``): a time without a zone is read as
    UTC and flagged; elsewhere it stays refused. ``twin`` is the same instant as text (OCSF's
    ``time_dt``): used when the number is absent, and preferred (flagged) when they disagree
    by more than a second, since text cannot be misread as the wrong unit.
    """
    twin_name = twin_field or f"{field_name}_dt"
    twin_read = (
        None if twin in (None, "") else read_time(twin, twin_name, zone_less_utc=zone_less_utc)
    )
    if value is None or value == "":
        if twin_read is None:
            raise RecordRejected(f"missing required field '{field_name}'")
        return twin_read
    flags: list[str] = []
    if _is_number(value):
        number = float(value if not isinstance(value, str) else value.strip())
        seems_ms = abs(number) >= _EPOCH_MS_THRESHOLD
        if unit is not None and seems_ms != (unit == "ms"):
            flags.append(FLAG_TIME_UNIT_INFERRED)
        at = parse_time(number, field_name, "epoch_ms" if seems_ms else "epoch_s")
    else:
        try:
            at = parse_time(value, field_name)
        except RecordRejected:
            if not (zone_less_utc and isinstance(value, str)):
                raise
            at = _zone_less_as_utc(value, field_name)
            flags.append(FLAG_TIME_ASSUMED_UTC)
    if twin_read is not None and abs((twin_read.at - at).total_seconds()) > 1:
        return TimeRead(twin_read.at, (*twin_read.flags, FLAG_TIME_DT_PREFERRED))
    return TimeRead(at, tuple(flags))


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    return isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value) is not None


def _zone_less_as_utc(value: str, field_name: str) -> datetime:
    stamp = value.strip()
    try:
        parsed = datetime.fromisoformat(stamp)
    except ValueError as exc:
        raise RecordRejected(f"field '{field_name}' is not a valid time: {stamp[:80]!r}") from exc
    if parsed.tzinfo is not None:  # parse_time refused it for another reason
        raise RecordRejected(f"field '{field_name}' is not a valid time: {stamp[:80]!r}")
    return parsed.replace(tzinfo=UTC)


def severity_from_number(value: Any, scale: Iterable[tuple[float, Severity]]) -> Severity:
    """Map a numeric vendor severity using ``scale``: (lower bound, severity), highest first."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError) as exc:
        raise RecordRejected(f"severity {str(value)[:40]!r} is not a number") from exc
    for lower, severity in scale:
        if number >= lower:
            return severity
    return Severity.INFORMATIONAL


_SEVERITY_WORDS = {
    "informational": Severity.INFORMATIONAL,
    "info": Severity.INFORMATIONAL,
    "low": Severity.LOW,
    "medium": Severity.MEDIUM,
    "moderate": Severity.MEDIUM,
    "high": Severity.HIGH,
    "critical": Severity.CRITICAL,
    "unknown": Severity.UNKNOWN,
}


def severity_from_word(value: Any) -> Severity:
    """Map a vendor severity word (Low, Medium, High, ...) to OCSF; unknown words are UNKNOWN."""
    if not isinstance(value, str):
        return Severity.UNKNOWN
    return _SEVERITY_WORDS.get(value.strip().lower(), Severity.UNKNOWN)


_TECHNIQUE = re.compile(r"^T\d{4}(\.\d{3})?$")

# ATT&CK Enterprise tactics: id -> official name; vendors spell them many ways.
TACTICS: dict[str, str] = {
    "TA0043": "Reconnaissance",
    "TA0042": "Resource Development",
    "TA0001": "Initial Access",
    "TA0002": "Execution",
    "TA0003": "Persistence",
    "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion",
    "TA0006": "Credential Access",
    "TA0007": "Discovery",
    "TA0008": "Lateral Movement",
    "TA0009": "Collection",
    "TA0011": "Command and Control",
    "TA0010": "Exfiltration",
    "TA0040": "Impact",
}
_TACTIC_BY_SLUG = {
    re.sub(r"[^a-z]", "", name.lower()): (uid, name) for uid, name in TACTICS.items()
}


def canonical_tactic(value: Any) -> tuple[str | None, str | None]:
    """Canonical (id, name) of an ATT&CK tactic given as id, name or slug in any spelling."""
    raw = text(value)
    if not raw:
        return None, None
    if raw.upper() in TACTICS:
        return raw.upper(), TACTICS[raw.upper()]
    slug = re.sub(r"[^a-z]", "", raw.lower())
    return _TACTIC_BY_SLUG.get(slug, (None, raw))


def technique(uid: Any, name: Any = None, tactic: Any = None) -> Attack | None:
    """Build an ATT&CK mapping when ``uid`` is a well-formed technique id, else None."""
    uid_text = text(uid)
    if not uid_text:
        return None
    uid_text = uid_text.upper()
    if not _TECHNIQUE.match(uid_text):
        return None
    tactic_uid, tactic_name = canonical_tactic(tactic)
    return Attack(
        technique_uid=uid_text,
        technique_name=text(name),
        tactic_uid=tactic_uid,
        tactic_name=tactic_name,
    )


@lru_cache(maxsize=65_536)  # the same few addresses recur across thousands of alerts
def is_ip(value: str) -> bool:
    """Whether ``value`` is one IPv4 or IPv6 address, written plainly."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def basename(path: str | None) -> str | None:
    """The last part of a Windows or POSIX path (None for none, or a path ending in a
    separator)."""
    return re.split(r"[\\/]", path)[-1] or None if path else None


_HEX_PID = re.compile(r"0[xX][0-9a-fA-F]{1,16}")


def process_id(value: Any) -> int | None:
    """A process id as sources write it: a number, decimal text, or hex text (``0x1008``:
    Windows Security events, Defender for Endpoint alerts in Sentinel's SecurityAlert);
    anything else, or out of range, is None."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str):
        stripped = value.strip()
        if stripped.isascii() and stripped.isdigit() and len(stripped) < 20:
            number = int(stripped)
        elif _HEX_PID.fullmatch(stripped):
            number = int(stripped, 16)
    return number if number is not None and 0 <= number < 2**63 else None


def file_info(
    *,
    name: Any = None,
    path: Any = None,
    folder: Any = None,
    sha256: Any = None,
    sha1: Any = None,
    md5: Any = None,
) -> FileInfo | None:
    """An OCSF file from what a source gives, whatever its convention: ``path`` is the full
    path and ``parent_folder`` the folder, as OCSF defines them.

    Sources differ: CrowdStrike gives a full path, Defender and Sentinel a folder and a name
    apart. Give ``folder`` (with ``name``) for the latter, ``path`` for the former; a ``path``
    that is really a folder (it does not end with ``name``) is treated as one.
    """
    name_text = text(name, "file name")
    path_text = text(path, "file path")
    folder_text = text(folder, "file folder")
    if path_text and name_text and not _ends_with_name(path_text, name_text):
        folder_text, path_text = folder_text or path_text, None
    if path_text is None and folder_text and name_text:
        separator = "\\" if "\\" in folder_text or ":" in folder_text[:3] else "/"
        path_text = folder_text.rstrip("\\/") + separator + name_text
    if path_text and not name_text:
        name_text = basename(path_text.rstrip("\\/"))
    if path_text and not folder_text:
        head = re.split(r"[\\/][^\\/]*$", path_text.rstrip("\\/"))[0]
        folder_text = head if head != path_text.rstrip("\\/") else None
    if folder_text and len(folder_text) > 1:
        folder_text = folder_text.rstrip("\\/") or folder_text
    hashes = {"sha256": text(sha256), "sha1": text(sha1), "md5": text(md5)}
    if not (name_text or path_text or folder_text or any(hashes.values())):
        return None
    return FileInfo(name=name_text, path=path_text, parent_folder=folder_text, **hashes)


def _ends_with_name(path: str, name: str) -> bool:
    tail = basename(path.rstrip("\\/")) or ""
    return tail.casefold() == name.casefold()


@dataclass
class Observables:
    """Collects observables in first-seen order, dropping empties and exact repeats."""

    items: list[Observable] = field(default_factory=list)
    _seen: set[tuple[EntityKind, str]] = field(default_factory=set)

    def add(self, kind: EntityKind, value: Any, name: str) -> None:
        """Add one observable; IP values that do not parse as IPs are ignored."""
        value_text = text(value, name)
        if not value_text or value_text in ("-", "N/A", "null", "None"):
            return
        if kind is EntityKind.IP and not is_ip(value_text):
            return
        if kind is EntityKind.IP and ipaddress.ip_address(value_text).is_unspecified:
            return  # 0.0.0.0 / :: name no machine: "any address" or "not known"
        if kind is EntityKind.DOMAIN and is_ip(value_text):
            kind = EntityKind.IP  # an HTTP Host header or SNI can carry a bare address
        key = (kind, value_text)
        if key in self._seen or len(self.items) >= MAX_OBSERVABLES:
            return
        self._seen.add(key)
        self.items.append(Observable(kind=kind, value=value_text, name=name))

    def as_tuple(self) -> tuple[Observable, ...]:
        return tuple(self.items)


def build_alert(
    adapter: Adapter,
    context: ParseContext,
    *,
    source_alert_id: Any,
    title: Any,
    time: datetime,
    severity: Severity,
    observables: Observables,
    original_time: Any = None,
    product: Product | None = None,
    **fields: Any,
) -> Alert:
    """Assemble an :class:`Alert` with id, provenance and metadata filled in.

    ``fields`` are further :class:`Alert` attributes (device, actor, process, ...) and the
    ``finding_info`` extras (``desc``, ``types``, ``analytic``, ``attacks``, ``src_url``,
    ``first_seen_time``, ``last_seen_time``) given with a ``finding_`` prefix. ``product``
    names the tool that produced the alert when the format carries many (OCSF); the alert id
    includes it, so two products' alert ``1001`` stay two alerts.
    """
    from pydantic import ValidationError

    from tierzero.ingest.alert import FindingInfo, Metadata, Provenance, alert_id

    uid = text(source_alert_id, "source alert id")
    if not uid:
        raise RecordRejected("missing the source's alert id")
    title_text = text(title, "title")
    if not title_text:
        raise RecordRejected("missing the alert title")
    finding_extra = {
        k.removeprefix("finding_"): v for k, v in fields.items() if k.startswith("finding_")
    }
    alert_fields = {k: v for k, v in fields.items() if not k.startswith("finding_")}
    try:
        return Alert(
            id=alert_id(adapter.name, uid, product.name if product else None),
            time=time,
            severity_id=severity,
            finding_info=FindingInfo(uid=uid, title=title_text, **finding_extra),
            metadata=Metadata(
                product=product or Product(name=adapter.product, vendor_name=adapter.vendor),
                original_time=text(original_time),
            ),
            observables=observables.as_tuple(),
            raw_data=context.raw,
            provenance=Provenance(
                source=adapter.name,
                source_file=context.source_file,
                record_no=context.record_no,
                ingested_at=context.ingested_at,
            ),
            **alert_fields,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RecordRejected(f"invalid value for '{where}': {first['msg']}") from exc
