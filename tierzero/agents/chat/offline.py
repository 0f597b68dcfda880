"""The offline chat answerer: deterministic answers about one case, each citing evidence ids.

With no model configured (or when the model fails), :class:`OfflineChatAnswerer` answers the
analyst's questions from the stored case alone: summary, why this verdict, timeline, entities
(or one entity by name), one evidence item, ATT&CK techniques, actions and approvals, next step
and similar cases. It answers questions only; action requests are parsed and proposed by the
session. (Not to be confused with the graph's deterministic offline analyst in
``tierzero.agents.analyst``, which concludes a case from its playbooks.)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tierzero.agents.chat.action_requests import strip_token
from tierzero.agents.chat.case_view import (
    KIND_LABELS,
    NAMED_KINDS,
    CaseView,
    Entity,
    alert_line,
    cite,
    utc_stamp,
)
from tierzero.agents.chat.intents import KIND_WORDS, intent_of, says
from tierzero.agents.chat.results import action_counts, decision_lines
from tierzero.ingest.alert import FREE_TEXT_KINDS

# Who offline answers are from in the chat history and the audit. Stored data: existing
# histories and audit records, and docs/audit.md, use this spelling, so it stays.
OFFLINE_ANSWERER = "offline-analyst"
_ASKED_ID = re.compile(r"\b[eE](\d{1,5})\b")


class OfflineChatAnswerer:
    """Deterministic answers from the case's evidence; every answer cites evidence ids."""

    def __init__(
        self,
        internal_domains: tuple[str, ...] = (),
        similar: Callable[[], list[dict[str, Any]] | str] | None = None,
    ) -> None:
        self.domains = internal_domains
        self.similar = similar  # returns similar cases, or a sentence saying why there are none

    def answer(self, question: str, view: CaseView) -> str:
        """The answer to one question (never an action: requests are handled by the session)."""
        asked = [f"E{n}" for n in dict.fromkeys(_ASKED_ID.findall(question))]
        if asked:
            return self.evidence_items(view, asked)
        lowered = f" {question.lower()} "
        intent = intent_of(lowered)
        if intent == "help":
            return self.help(view)
        named = self._entities_named(question, view)
        if named and intent not in ("similar", "techniques"):
            return "\n\n".join(self.about_entity(view, e) for e in named[:3])
        if intent is None:
            return "I can't answer that from the case's evidence offline.\n" + self.help(view)
        method: Callable[[CaseView, str], str] = getattr(self, f"_{intent}")
        return method(view, lowered)

    def _entities_named(self, question: str, view: CaseView) -> list[Entity]:
        found: dict[str, Entity] = {}
        for token in re.findall(r"[\w.@\\$:-]+", question):
            token = strip_token(token)
            if len(token) < 3:
                continue
            entity = view.entity_named(token)
            if entity is not None:
                found.setdefault(entity.key, entity)
        return list(found.values())

    # Each intent: (view, lowered question) -> text.

    def help(self, view: CaseView) -> str:
        """What the offline answerer can answer, and what the verdict rests on."""
        basis = view.verdict_evidence()
        return (
            f"I answer from the evidence of case {view.case_id} ({len(view.evidence)} items). "
            "Ask me:\n"
            "- 'summary' or 'what happened?'\n"
            "- 'why this verdict?'\n"
            "- 'timeline'\n"
            "- 'hosts', 'users', 'IPs', or any entity by name (e.g. a host name)\n"
            "- an evidence id, e.g. 'E7'\n"
            "- 'techniques' (ATT&CK)\n"
            "- 'actions' or 'approvals': what was decided and what became of it\n"
            "- 'next step'\n"
            "- 'similar cases'\n"
            "Requests (proposed through the guardrails; needs --as NAME): 'isolate HOST', "
            "'disable user NAME', 'revoke sessions for NAME', 'reset password for NAME', "
            "'block ip|domain|hash VALUE', 'quarantine email from SENDER'.\n"
            f"The verdict rests on {cite(basis, 5)}."
        )

    def _summary(self, view: CaseView, lowered: str) -> str:
        row = view.row
        a = view.analysis
        sources = sorted({alert.provenance.source for _, alert in view.alerts})
        lines = [
            f"Case {view.case_id}: {row.title or '(no title)'}",
            f"Verdict {row.verdict} at {row.confidence or 0:.2f} by {a.get('analyst', 'nobody')}; "
            f"priority {row.priority}; status {row.status}.",
        ]
        if view.alerts:
            first, last = view.alerts[0], view.alerts[-1]
            lines.append(
                f"{row.alert_count} alerts ({len(view.alerts)} distinct) from {len(sources)} "
                f"sources ({', '.join(sources)}) between {utc_stamp(first[1].time)} and "
                f"{utc_stamp(last[1].time)}: first [{first[0]}], latest [{last[0]}]."
            )
        for kind in ("host", "user"):
            shown = [e for e in view.entities.values() if e.kind == kind][:5]
            if shown:
                items = ", ".join(f"{e.value} {cite(e.evidence + e.context, 1)}" for e in shown)
                lines.append(f"{KIND_LABELS[kind]}: {items}.")
        if a.get("techniques"):
            lines.append(f"ATT&CK: {', '.join(a['techniques'][:12])}.")
        lines.append(f"The verdict rests on {cite(view.verdict_evidence(), 6)}.")
        counts = action_counts(view.actions)
        if counts:
            lines.append(f"Actions: {counts} (ask 'actions' for each).")
        if view.doc.get("next_step"):
            lines.append(f"Next step: {view.doc['next_step']}")
        return "\n".join(lines)

    def _why(self, view: CaseView, lowered: str) -> str:
        a = view.analysis
        row = view.row
        lines = [
            f"Verdict {row.verdict} at {row.confidence or 0:.2f} by {a.get('analyst', 'nobody')}. "
            f"It rests on {cite(view.verdict_evidence(), 8)}."
        ]
        for reason in a.get("rationale", [])[:8]:
            lines.append(f"- {reason[:500]}")
        prioritization = view.doc.get("prioritization") or {}
        if prioritization.get("auto_close_rule"):
            lines.append(
                f"Auto-closed by rule '{prioritization['auto_close_rule']}' "
                f"{cite(prioritization.get('auto_close_evidence', []), 6)}."
            )
        opinions = view.doc.get("opinions") or []
        if len(opinions) > 1:
            lines.append(
                "Opinions: "
                + "; ".join(
                    f"{o['analyst']}: {o['verdict']} ({o['confidence']:.2f}) "
                    f"{cite(o.get('evidence', []), 3)}"
                    for o in opinions
                )
            )
        findings = (view.doc.get("investigation") or {}).get("findings")
        if findings:
            lines.append(f"Model findings: {findings[:800]}")
        return "\n".join(lines)

    def _timeline(self, view: CaseView, lowered: str, limit: int = 30) -> str:
        if not view.alerts:
            return f"Case {view.case_id} has no alerts with evidence ids. {self.help(view)}"
        lines = [f"Timeline of {view.case_id} ({len(view.alerts)} distinct alerts, UTC):"]
        for evidence_id, alert in view.alerts[:limit]:
            lines.append(alert_line(evidence_id, alert, 140))
        if len(view.alerts) > limit:
            lines.append(
                f"... {len(view.alerts) - limit} more: ask about an entity or evidence id."
            )
        if view.repeats:
            lines.append(f"({view.repeats} repeats were collapsed onto the alerts above.)")
        return "\n".join(lines)

    def _techniques(self, view: CaseView, lowered: str) -> str:
        techniques = view.analysis.get("techniques") or []
        if not techniques:
            return (
                "No ATT&CK techniques are tagged on this case's alerts; the verdict rests on "
                f"{cite(view.verdict_evidence())}."
            )
        lines = ["ATT&CK techniques seen in the case:"]
        for technique in techniques[:20]:
            ids = [e for e, a in view.alerts if technique in a.techniques]
            lines.append(f"- {technique} {cite(ids, 3)}")
        tactics = view.analysis.get("tactics") or []
        if tactics:
            lines.append(f"Tactics: {', '.join(tactics)}.")
        return "\n".join(lines)

    def _entities(self, view: CaseView, lowered: str) -> str:
        wanted = [k for k, words in KIND_WORDS.items() if any(says(lowered, w) for w in words)]
        kinds = wanted or list(KIND_LABELS)
        lines = []
        for kind in kinds:
            shown = [e for e in view.entities.values() if e.kind == kind]
            if not shown:
                continue
            items = "; ".join(
                f"{e.value} {cite(e.evidence, 2)}{' ' + cite(e.context, 2) if e.context else ''}"
                for e in shown[:10]
            )
            more = f" (+{len(shown) - 10} more)" if len(shown) > 10 else ""
            lines.append(f"{KIND_LABELS[kind]}: {items}{more}")
        if not lines:
            label = " or ".join(KIND_LABELS[k].lower() for k in kinds)
            return f"No {label} in this case's normalized alert fields. {self.help(view)}"
        context = [
            view.by_id[i] for e in view.entities.values() for i in e.context if e.kind in kinds
        ]
        for item in list(dict.fromkeys(context))[:8]:
            lines.append(f"[{item.id}] {item.summary[:200]}")
        return "\n".join(lines)

    def about_entity(self, view: CaseView, entity: Entity) -> str:
        """Everything the case says about one entity: alerts, inventory, decisions."""
        alerts = [(e, a) for e, a in view.alerts if e in entity.evidence]
        lines = [f"{entity.value} ({entity.kind}) is named by {len(alerts)} alert(s):"]
        for evidence_id, alert in alerts[:10]:
            lines.append(alert_line(evidence_id, alert, 120))
        if len(alerts) > 10:
            lines.append(f"... {len(alerts) - 10} more.")
        for evidence_id in entity.context[:4]:
            lines.append(f"[{evidence_id}] {view.by_id[evidence_id].summary[:200]}")
        for line in decision_lines(view, only=entity.value):
            lines.append(line)
        return "\n".join(lines)

    def evidence_items(self, view: CaseView, ids: list[str]) -> str:
        """One evidence item each: its summary and, for an alert, what the alert says."""
        alerts = dict(view.alerts)
        parts = []
        for evidence_id in ids[:5]:
            item = view.by_id.get(evidence_id)
            if item is None:
                span = f"E1-E{len(view.evidence)}" if view.evidence else "none"
                parts.append(
                    f"There is no {evidence_id} in case {view.case_id} (its evidence: {span})."
                )
                continue
            lines = [f"[{item.id}] ({item.kind}) {item.summary[:400]}"]
            alert = alerts.get(item.id)
            if alert is not None:
                lines.append(
                    f"{utc_stamp(alert.time)} from {alert.provenance.source} "
                    f"({alert.metadata.product.name}), severity {alert.severity_id.name.lower()}, "
                    f"detection {alert.detection_id[:120]}"
                )
                if alert.techniques:
                    lines.append(f"ATT&CK: {', '.join(alert.techniques)}")
                for kind in NAMED_KINDS:
                    values = alert.values(kind)
                    if values:
                        lines.append(f"{kind.value}: {', '.join(v[:120] for v in values[:6])}")
                # Free text is shown for reading, labelled: it may be written by an attacker.
                for o in alert.observables:
                    if o.kind in FREE_TEXT_KINDS:
                        lines.append(f"{o.kind.value} (source text, untrusted): {o.value[:300]}")
                if alert.message:
                    lines.append(f"message (source text, untrusted): {alert.message[:300]}")
            parts.append("\n".join(lines))
        return "\n\n".join(parts)

    def _actions(self, view: CaseView, lowered: str) -> str:
        lines = decision_lines(view)
        if not lines:
            return (
                f"No actions were proposed on case {view.case_id}; the verdict rests on "
                f"{cite(view.verdict_evidence())}."
            )
        head = f"Guardrail decisions on {view.case_id} (analysis revision {view.revision}):"
        tail = []
        if any(r.status == "pending_approval" for r in view.actions):
            tail.append(
                "Pending approvals are answered with `tierzero approvals approve ID --as NAME` "
                "or `deny` (not by the requester)."
            )
        return "\n".join([head, *lines, *tail])

    def _next(self, view: CaseView, lowered: str) -> str:
        lines = [f"Next step: {view.doc.get('next_step') or 'none recorded'}"]
        if view.row.status == "escalated" and view.doc.get("escalation_path"):
            lines.append(f"Escalation path: {view.doc['escalation_path']}")
        pending = [r for r in view.actions if r.status == "pending_approval"]
        if pending:
            lines.append(
                f"{len(pending)} action(s) wait for approval: "
                + ", ".join(f"{r.id} {r.action} {r.target}" for r in pending)
            )
        lines.append(f"The verdict ({view.row.verdict}) rests on {cite(view.verdict_evidence())}.")
        return "\n".join(lines)

    def _similar(self, view: CaseView, lowered: str) -> str:
        found = self.similar() if self.similar is not None else "similar-case search is not set up"
        if isinstance(found, str):
            basis = cite(view.verdict_evidence())
            return f"No similar past cases: {found}. This case rests on {basis}."
        if not found:
            return (
                "No similar past cases in the case memory (cases are remembered once they are "
                f"concluded). This case rests on {cite(view.verdict_evidence())}."
            )
        lines = ["Concluded past cases like this one:"]
        for case in found[:5]:
            shared = list(case.get("shared_entities") or ())
            ids = [
                i for key in shared if key in view.entities for i in view.entities[key].evidence[:1]
            ]
            lines.append(
                f"- {case.get('case_id')} (similarity {float(case.get('score') or 0):.2f}): "
                f"{case.get('verdict')}, {case.get('status')}: {str(case.get('title'))[:100]}"
                + (f"; shares {', '.join(shared[:4])} {cite(ids, 3)}" if shared else "")
            )
        lines.append(f"This case rests on {cite(view.verdict_evidence())}.")
        return "\n".join(lines)
