"""Cases as people see them: a summary, the whole document, an analyst's resolution, and the
concluded past cases most like one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tierzero.settings import Settings
from tierzero.store.alerts import MAX_CASE_ALERTS
from tierzero.store.cases import CaseRow
from tierzero.store.memory import reindex
from tierzero.store.memory_records import SimilarCase, record_for, rememberable
from tierzero.store.resolutions import RESOLUTION_VERDICTS
from tierzero.store.sqlite import Store
from tierzero.usecases.errors import NotFound, Refused, usable_actor
from tierzero.usecases.learning import propose_suppressions
from tierzero.usecases.runtime import configured_memory


def case_summary(row: CaseRow, store: Store) -> dict[str, Any]:
    """One case as JSON: verdict, priority, status, queue, alerts, decisions and actions."""
    analysis = row.analysis or {}
    prioritization = analysis.get("prioritization") or {}
    return {
        "id": row.id,
        "title": row.title,
        "verdict": row.verdict,
        "confidence": row.confidence,
        "priority": row.priority,
        "status": row.status,
        "queue": prioritization.get("queue"),
        "sla_due": prioritization.get("sla_due"),
        "alert_count": row.alert_count,
        "alert_ids": store.source_alert_ids(row.id),
        "first_seen": row.first_seen.isoformat(),
        "last_seen": row.last_seen.isoformat(),
        "techniques": (analysis.get("analysis") or {}).get("techniques", []),
        "next_step": analysis.get("next_step"),
        "decisions": [
            {k: d[k] for k in ("action", "target", "outcome", "rule_id", "reason")}
            for d in analysis.get("decisions", [])
        ],
        "actions": [
            {
                "id": a.id,
                "action": a.action,
                "target": a.target,
                "status": a.status,
                "rule_id": a.rule_id,
                "approved_by": a.approved_by,
            }
            for a in store.actions.rows(row.id)
        ],
    }


def case_document(store: Store, case_id: str) -> tuple[CaseRow, dict[str, Any]]:
    """Everything about one case: the summary, the analysis, and its alerts with their joins,
    oldest first. A case can hold any number of repeats: the first ``MAX_CASE_ALERTS`` alerts
    are listed, and ``alerts_total``/``alerts_listed`` say how many there are and were listed."""
    row = store.case(case_id)
    if row is None:
        raise NotFound(f"no case {case_id!r}")
    alerts = store.alerts_of_case(case_id, MAX_CASE_ALERTS)
    listed = {a.id for a in alerts}
    total, _ = store.case_alert_totals(case_id)
    document = {
        **case_summary(row, store),
        "merged_into": row.merged_into,
        "analysis": row.analysis,
        "joins": [
            j
            for j in store.joins_of_case(case_id, limit=MAX_CASE_ALERTS)
            if j["alert_id"] in listed
        ],
        "alerts": [a.model_dump(mode="json", exclude={"raw_data"}) for a in alerts],
        "alerts_total": total,
        "alerts_listed": len(alerts),
    }
    return row, document


def live_case(store: Store, case_id: str) -> CaseRow:
    """The case, refusing an unknown one or one merged into another."""
    row = store.case(case_id)
    if row is None:
        raise NotFound(f"no case {case_id!r} (see 'tierzero cases list')")
    if row.merged_into:
        raise Refused(f"case {case_id} was merged into {row.merged_into}: use that one")
    return row


@dataclass
class Resolution:
    """What resolving a case did: the machine's verdict it replaced, and the memory's fate."""

    case_id: str
    verdict: str
    actor: str
    machine_verdict: str | None
    remembered: bool = False
    warnings: list[str] = field(default_factory=list)


def resolve_case(
    store: Store,
    settings: Settings,
    case_id: str,
    verdict: str,
    actor: str,
    note: str,
    now: datetime,
) -> Resolution:
    """Record an analyst's final verdict (audited), then remember the case with it.

    The resolution is committed and audited first; the similar-case memory is derived from it
    and may lag behind: a memory failure is a warning in the result, not an error.
    """
    if verdict not in RESOLUTION_VERDICTS:
        raise Refused(f"--verdict must be one of: {', '.join(RESOLUTION_VERDICTS)}", usage=True)
    actor = usable_actor(actor)
    row = live_case(store, case_id)
    if row.status == "awaiting_approval":
        raise Refused(
            f"case {case_id} is waiting for approvals: answer them first "
            f"('tierzero approvals list --db {store.path}')"
        )
    try:
        store.resolve_case(case_id, verdict, actor, note, now)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    # Each verdict may complete the evidence for a suppression: proposed now, for a person.
    propose_suppressions(store, settings, now)
    result = Resolution(case_id, verdict, actor, row.verdict)
    if not rememberable(row.status, resolved=True):
        return result
    try:
        record = record_for(store, case_id, settings.correlation.internal_domains)
        with configured_memory(settings)(store) as memory:
            if record is not None:
                memory.remember(record)
                result.remembered = True
    except Exception as exc:
        result.warnings.append(
            f"similar-case memory not updated: {exc} "
            "('tierzero cases similar ID --reindex' rebuilds it)"
        )
    return result


@dataclass
class SimilarCases:
    """The concluded cases most like one case, and how many the memory holds."""

    case_id: str
    remembered_cases: int
    similar: list[SimilarCase]
    reindexed: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "remembered_cases": self.remembered_cases,
            "similar": [r.model_dump(mode="json") for r in self.similar],
        }


def similar_cases(
    store: Store, settings: Settings, case_id: str, k: int, reindex_first: bool = False
) -> SimilarCases:
    """Concluded past cases most like this one, from the similar-case memory (rebuilt from the
    store first with ``reindex_first``)."""
    domains = settings.correlation.internal_domains
    live_case(store, case_id)
    memory = configured_memory(settings)(store)
    result = SimilarCases(case_id, 0, [])
    try:
        with memory:
            if reindex_first:
                result.reindexed = reindex(store, memory, domains)
            if memory.path.exists():
                result.remembered_cases = memory.count()
            record = record_for(store, case_id, domains)
            if result.remembered_cases and record is not None:
                result.similar = memory.similar_to_record(record, k)
    except Exception as exc:
        raise Refused(f"cannot read the case memory at {memory.path}: {exc}") from None
    return result
