"""What the console's pages show, computed from the store: plain data for the templates, which
only lay it out (and escape every value).

Alert text never becomes markup: a rationale's evidence citations (``[E3]``) are split out
here into segments, and the template renders the text as text and each citation as a link to
an anchor built from the evidence id, which is checked against ``E<digits>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tierzero.evals.live import DetectionPrecision, LiveMetrics, live_metrics
from tierzero.guardrails.actors import same_person
from tierzero.service.metrics import ModelUse
from tierzero.service.notify import approval_facts
from tierzero.settings import Settings
from tierzero.store.actions import ActionRow
from tierzero.store.alerts import MAX_CASE_ALERTS
from tierzero.store.cases import CaseRow
from tierzero.store.sqlite import Store
from tierzero.tools.attack import builtin_techniques
from tierzero.usecases.cases import case_document

PAGE_SIZE = 25
CHAT_SHOWN = 40  # chat messages a case page shows (the latest)
FILTERS = ("status", "priority", "queue", "verdict", "entity")
OPEN_STATUSES = frozenset({"new", "awaiting_approval", "escalated"})
STATUSES = ("new", "awaiting_approval", "escalated", "closed", "auto_closed", "resolved")
PRIORITIES = ("P1", "P2", "P3", "P4")
VERDICTS = ("true_positive", "benign_positive", "false_positive", "needs_review")
_CITATION = re.compile(r"\b(E\d{1,4})\b")
SEVERITIES = {0: "unknown", 1: "info", 2: "low", 3: "medium", 4: "high", 5: "critical", 6: "fatal"}


@dataclass(frozen=True)
class Segment:
    """A piece of text, or a citation of one evidence item (``evidence`` is its id)."""

    text: str
    evidence: str | None = None


def cited(text: str, known: set[str]) -> list[Segment]:
    """``text`` split into plain segments and citations of evidence items in ``known``; a
    citation of an unknown id stays plain text."""
    segments: list[Segment] = []
    at = 0
    for match in _CITATION.finditer(text):
        if match.group(1) not in known:
            continue
        if match.start() > at:
            segments.append(Segment(text[at : match.start()]))
        segments.append(Segment(match.group(1), evidence=match.group(1)))
        at = match.end()
    if at < len(text):
        segments.append(Segment(text[at:]))
    return segments


def seconds_until(when: str | None, now: datetime) -> int | None:
    """Whole seconds from ``now`` to an ISO time (negative: past); None if there is none."""
    if not when:
        return None
    try:
        moment = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return None
    return int((moment - now).total_seconds())


def when(value: object) -> str:
    """A stored time as people read it: ``2026-11-16 08:55:31 UTC`` (anything else as is)."""
    text = value.isoformat() if isinstance(value, datetime) else str(value or "")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: object) -> str:
    """Seconds as people read a duration: ``45 s``, ``12 min``, ``3 h 20 min``, ``2 d 4 h``."""
    if not isinstance(seconds, (int, float)):
        return "none yet"
    s = int(abs(seconds))
    sign = "-" if seconds < 0 else ""
    if s < 60:
        return f"{sign}{s} s"
    if s < 3600:
        return f"{sign}{s // 60} min"
    if s < 86400:
        return f"{sign}{s // 3600} h {s % 3600 // 60} min"
    return f"{sign}{s // 86400} d {s % 86400 // 3600} h"


@dataclass
class QueueView:
    rows: list[dict[str, Any]]
    total: int
    page: int
    pages: int
    filters: dict[str, str]


def queue_view(store: Store, filters: dict[str, str], page: int, now: datetime) -> QueueView:
    """One page of live cases, most urgent first, with each case's SLA time left."""
    rows, total = store.case_page(filters, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    shown = []
    for row in rows:
        prioritization = (row.analysis or {}).get("prioritization") or {}
        shown.append(
            {
                "id": row.id,
                "title": row.title or row.id,
                "priority": row.priority,
                "status": row.status,
                "verdict": row.verdict,
                "confidence": row.confidence,
                "queue": prioritization.get("queue"),
                "sla_due": prioritization.get("sla_due"),
                # An SLA binds only while people still owe the case something.
                "sla_left": seconds_until(prioritization.get("sla_due"), now)
                if row.status in OPEN_STATUSES
                else None,
                "alert_count": row.alert_count,
                "sources": store.case_sources(row.id),
            }
        )
    pages = max(1, -(-total // PAGE_SIZE))
    return QueueView(shown, total, page, pages, filters)


@dataclass
class CaseView:
    """Everything the case page shows."""

    row: CaseRow
    title: str
    analysis: dict[str, Any]
    rationale: list[list[Segment]]
    evidence: list[dict[str, Any]]
    score_parts: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    alerts_total: int
    entities: dict[str, list[dict[str, Any]]]
    tactics: list[tuple[str, list[str]]]
    decisions: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    joins: list[str] = field(default_factory=list)
    chat: list[ChatTurn] = field(default_factory=list)


@dataclass(frozen=True)
class ChatTurn:
    """One stored message of the case's chat: who, when, the text with its citations as
    segments, and for an answer the evidence it cited and the actions it asked for with
    their guardrail decisions (from the message's ``chat`` audit record)."""

    role: str
    author: str
    at: datetime
    text: list[Segment]
    evidence: list[str]
    actions: list[dict[str, Any]]


def case_view(store: Store, case_id: str, now: datetime) -> CaseView:
    """The case page's content (raises ``NotFound`` for an unknown case)."""
    row, document = case_document(store, case_id)
    state = document.get("analysis") or {}
    analysis = state.get("analysis") or {}
    evidence = [e for e in state.get("evidence", []) if isinstance(e, dict)]
    known = {str(e.get("id")) for e in evidence}
    cited_ids = set(analysis.get("evidence") or ())
    return CaseView(
        row=row,
        title=row.title or row.id,
        analysis=analysis,
        rationale=[cited(str(line), known) for line in analysis.get("rationale") or ()],
        evidence=[{**e, "cited": e.get("id") in cited_ids} for e in evidence],
        score_parts=list((state.get("prioritization") or {}).get("score_parts") or ()),
        timeline=[
            {
                "time": a["time"],
                "source": a["provenance"]["source"],
                "title": a["finding_info"]["title"],
                "severity": SEVERITIES.get(a["severity_id"], str(a["severity_id"])),
                "host": (a.get("device") or {}).get("hostname"),
                "user": (a.get("actor") or {}).get("user", {}).get("name")
                if isinstance((a.get("actor") or {}).get("user"), dict)
                else None,
            }
            for a in sorted(document["alerts"], key=lambda a: a["time"])
        ][:MAX_CASE_ALERTS],
        alerts_total=document["alerts_total"],
        entities=_entities(state.get("enrichment") or {}),
        tactics=_tactics(analysis),
        decisions=list(state.get("decisions") or ()),
        actions=[_action(a, now) for a in store.actions.rows(case_id)],
        joins=[str(j.get("explanation") or "") for j in document["joins"] if j.get("explanation")],
        chat=chat_view(store, case_id, known),
    )


def chat_view(store: Store, case_id: str, known: set[str]) -> list[ChatTurn]:
    """The case's latest chat messages, oldest first, as the chat panel shows them after a
    reload (the same content the stream showed when they were answered)."""
    messages = store.chat_history(case_id, CHAT_SHOWN)
    if not messages:
        return []
    details = {
        r["payload"].get("message_id"): r["payload"]
        for r in store.audit_records(case_id, kind="chat")
        if r["payload"].get("role") == "assistant"
    }
    turns = []
    for m in messages:
        said = details.get(m.id) or {}
        turns.append(
            ChatTurn(
                role=m.role,
                author=m.author,
                at=m.created_at,
                text=cited(m.content, known),
                evidence=[str(e) for e in said.get("evidence") or () if str(e) in known],
                actions=[a for a in said.get("actions") or () if isinstance(a, dict)],
            )
        )
    return turns


def _entities(enrichment: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The enrichment grouped by kind: assets (owner, criticality), identities (privilege),
    intelligence matches."""
    assets = [
        {"name": name, **(info if isinstance(info, dict) else {})}
        for name, info in (enrichment.get("assets") or {}).items()
    ]
    identities = [
        {"name": name, **(info if isinstance(info, dict) else {})}
        for name, info in (enrichment.get("identities") or {}).items()
    ]
    intel = [i for i in enrichment.get("intel") or () if isinstance(i, dict)]
    unknown = [{"name": str(n), "kind": "host"} for n in enrichment.get("unknown_hosts") or ()] + [
        {"name": str(n), "kind": "user"} for n in enrichment.get("unknown_users") or ()
    ]
    return {"assets": assets, "identities": identities, "intel": intel, "unknown": unknown}


def _tactics(analysis: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The analysis's ATT&CK techniques grouped by tactic (from the built-in ATT&CK table; an
    id it does not know is listed under "unknown tactic")."""
    table = builtin_techniques()
    grouped: dict[str, list[str]] = {}
    for technique_id in analysis.get("techniques") or ():
        known = table.get(str(technique_id))
        label = f"{technique_id} {known.name}" if known else str(technique_id)
        for tactic in known.tactics if known and known.tactics else ("unknown tactic",):
            grouped.setdefault(tactic, []).append(label)
    return sorted(grouped.items())


def _action(row: ActionRow, now: datetime) -> dict[str, Any]:
    return {
        **row.as_json(),
        "lease_left": seconds_until(row.expires_at, now) if row.status == "executed" else None,
        "can_roll_back": row.status == "executed",
    }


def approvals_view(
    store: Store, settings: Settings, now: datetime, person: str
) -> list[dict[str, Any]]:
    """Every pending request, with what a person deciding on it needs to know, the evidence
    its case's analysis cites, and whether ``person`` asked for it (``mine``: they may not
    answer it; the approval gate compares the same way)."""
    shown = []
    for row in store.actions.pending():
        case = store.case(row.case_id)
        state = (case.analysis if case else None) or {}
        analysis = state.get("analysis") or {}
        cited_ids = set(analysis.get("evidence") or ())
        shown.append(
            {
                **approval_facts(row, settings, now),
                # As the approval gate reads it: an unreadable due time has passed.
                "seconds_left": int((due - now).total_seconds()) if (due := row.due()) else None,
                "mine": same_person(person, row.requested_by),
                "case_title": case.title if case else row.case_id,
                "evidence": [
                    e
                    for e in state.get("evidence", [])
                    if isinstance(e, dict) and e.get("id") in cited_ids
                ][:8],
            }
        )
    # The most urgent first: the request that expires soonest.
    return sorted(shown, key=lambda p: (p["seconds_left"] is None, p["seconds_left"] or 0))


@dataclass
class OperationsView:
    """The operations page: the kill switch, and what the service has taken in and done."""

    autonomy: bool
    alerts_by_day: list[tuple[str, list[tuple[str, int]], int]]  # day, (source, n), total
    cases_by_status: list[tuple[str, int]]
    quarantine_by_reason: list[tuple[str, int]]
    actions_by_status: list[tuple[str, int]]
    model_calls: int
    model_tokens: dict[str, int]  # prompt, completion
    cases_by_day: list[tuple[str, int, int, int]]  # day opened, opened, auto-closed, escalated
    live: LiveMetrics  # what `tierzero metrics` reports: latencies and detection precision
    detections: list[DetectionPrecision]  # the detections that fired most
    busiest_day: int = 1
    busiest_case_day: int = 1


def operations_view(store: Store, model_use: ModelUse, days: int = 14) -> OperationsView:
    """Counts for the operations page, from the store (the last ``days`` days of alerts) and
    the service's running tally of model use (the one /metrics reports)."""
    calls, tokens = model_use.read(store)
    one = store.conn.execute
    per_day: dict[str, dict[str, int]] = {}
    for day, source, count in one(
        "SELECT date(time_us / 1000000, 'unixepoch') AS day, source, COUNT(*) FROM alerts"
        " GROUP BY day, source ORDER BY day DESC"
    ):
        per_day.setdefault(day, {})[source] = count
    recent = sorted(per_day.items(), reverse=True)[:days]
    alerts_by_day = [
        (day, sorted(by_source.items()), sum(by_source.values())) for day, by_source in recent
    ]
    cases_by_day = [
        (r[0], r[1], r[2], r[3])
        for r in one(
            "SELECT substr(created_at, 1, 10) AS day, COUNT(*),"
            " SUM(status = 'auto_closed'), SUM(status = 'escalated') FROM cases"
            " WHERE merged_into IS NULL GROUP BY day ORDER BY day DESC LIMIT ?",
            (days,),
        )
    ]
    live = live_metrics(store)
    return OperationsView(
        autonomy=store.autonomy_on(),
        cases_by_day=cases_by_day,
        live=live,
        detections=sorted(live.detections, key=lambda d: -d.alerts)[:15],
        busiest_case_day=max((n for _, n, _, _ in cases_by_day), default=1) or 1,
        alerts_by_day=alerts_by_day,
        cases_by_status=[
            (r[0], r[1])
            for r in one(
                "SELECT status, COUNT(*) FROM cases WHERE merged_into IS NULL"
                " GROUP BY status ORDER BY 2 DESC"
            )
        ],
        quarantine_by_reason=[
            (r[0], r[1])
            for r in one(
                "SELECT reason, COUNT(*) FROM quarantine GROUP BY reason ORDER BY 2 DESC LIMIT 20"
            )
        ],
        actions_by_status=[
            (r[0], r[1])
            for r in one("SELECT status, COUNT(*) FROM actions GROUP BY status ORDER BY 2 DESC")
        ],
        model_calls=calls,
        model_tokens=tokens,
        busiest_day=max((total for _, _, total in alerts_by_day), default=1) or 1,
    )
