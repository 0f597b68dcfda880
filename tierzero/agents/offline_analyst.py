"""The deterministic offline analyst: playbooks as decision trees, no model needed.

:func:`run_playbooks` runs every playbook whose ``applies`` condition holds and combines their
verdicts (the most serious verdict wins; confidence breaks ties); :func:`resolve_targets` turns
the actions of the leaves reached into targets that are entities from normalized alert fields
or the inventory, never free text. The graph's ``investigate`` and ``recommend`` nodes call
both, and the model's half beside them (``model_investigator``, ``model_recommender``).
"""

from __future__ import annotations

import re
from typing import Any

from tierzero.agents.context import RunContext
from tierzero.agents.facts import Facts
from tierzero.agents.state import Analysis, Enrichment, PlaybookOutcome
from tierzero.correlate.entities import host_key, is_external_ip, user_key
from tierzero.ingest.alert import EntityKind
from tierzero.settings.playbooks import ActionRef, Leaf, Playbook, Verdict

ANALYST_ID = "offline-playbooks"
MAX_TARGETS_PER_ACTION = 5
# How serious each verdict is when playbooks disagree: a possible attack outranks a benign call.
_SERIOUSNESS: dict[Verdict, int] = {
    "true_positive": 3,
    "needs_review": 2,
    "false_positive": 1,
    "benign_positive": 1,
}


def applicable(playbooks: tuple[Playbook, ...], facts: Facts) -> list[Playbook]:
    """Playbooks whose ``applies`` holds; the fallback ones only when no other does."""
    chosen = [p for p in playbooks if not p.fallback and p.applies.evaluate(facts)[0]]
    return chosen or [p for p in playbooks if p.fallback and p.applies.evaluate(facts)[0]]


def playbook_outcome(book: Playbook, facts: Facts) -> tuple[PlaybookOutcome, Leaf]:
    """Walk one playbook's tree; the outcome records each decision taken and its evidence."""
    leaf, path, evidence = book.walk(facts)
    outcome = PlaybookOutcome(
        playbook=book.id,
        version=book.version,
        title=book.title,
        path=path,
        verdict=leaf.verdict,
        confidence=leaf.confidence,
        because=leaf.because,
        evidence=evidence,
    )
    return outcome, leaf


def run_playbooks(
    facts: Facts, playbooks: tuple[Playbook, ...]
) -> tuple[Analysis, list[tuple[Playbook, Leaf]]]:
    """Run the applicable playbooks and combine their outcomes into one analysis."""
    runs = [(book, *playbook_outcome(book, facts)) for book in applicable(playbooks, facts)]
    if not runs:
        analysis = Analysis(
            analyst=ANALYST_ID,
            verdict="needs_review",
            confidence=0.3,
            rationale=("No playbook covers this combination of alerts; a person must look.",),
            evidence=(),
            techniques=tuple(sorted(facts.get("techniques"))),
            tactics=tuple(sorted(facts.get("tactics"))),
        )
        return analysis, []
    outcomes: list[PlaybookOutcome] = [outcome for _, outcome, _ in runs]
    top = max(outcomes, key=lambda o: (_SERIOUSNESS[o.verdict], o.confidence))
    rationale = [
        f"{o.title} v{o.version}: {o.verdict} ({o.confidence:.2f}) because {o.because} "
        f"[{'; '.join(o.path) or 'no branches'}]"
        + (f" (evidence {', '.join(o.evidence)})" if o.evidence else "")
        for o in sorted(outcomes, key=lambda o: (-_SERIOUSNESS[o.verdict], -o.confidence))
    ]
    disagree = {o.verdict for o in outcomes} - {top.verdict}
    if disagree:
        rationale.append(
            f"Playbooks disagree ({', '.join(sorted(disagree))} elsewhere); the most serious "
            "verdict is kept."
        )
    evidence = tuple(dict.fromkeys(e for o in outcomes for e in o.evidence))
    analysis = Analysis(
        analyst=ANALYST_ID,
        verdict=top.verdict,
        confidence=top.confidence,
        rationale=tuple(rationale),
        evidence=evidence,
        outcomes=tuple(outcomes),
        techniques=tuple(sorted(facts.get("techniques"))),
        tactics=tuple(sorted(facts.get("tactics"))),
    )
    leaves = [(book, leaf) for book, outcome, leaf in runs if outcome.verdict == top.verdict]
    return analysis, leaves


_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*$")
_SENDER_FIELDS = ("email.from", "email.smtp_from")


def resolve_targets(
    ref: ActionRef, alerts: tuple[Any, ...], enrichment: Enrichment | None, ctx: RunContext
) -> list[str]:
    """Entities of the case an action may target, from normalized fields or the inventory.

    One target per entity (``LT-FIN-042`` and ``lt-fin-042.corp`` are one host, named as the
    inventory names it), and only values that are well-formed for their kind.
    """
    enrichment = enrichment or Enrichment()
    scanners = {k.lower() for k in enrichment.scanners}
    found: dict[str, str] = {}  # normalized key -> target as named
    if ref.target == "affected_host":
        for alert in alerts:
            for o in alert.observables:
                if not (o.kind is EntityKind.HOST and o.name.startswith("device.")):
                    continue
                if o.value.lower() in scanners or not _HOSTNAME.match(o.value):
                    continue
                asset = ctx.inventory.asset(o.value)
                found.setdefault(host_key(o.value), asset.hostname if asset else o.value)
    elif ref.target == "user":
        # Only accounts the inventory knows: the target is the inventory's name for them.
        found = {name: name for name in sorted(enrichment.identities)}
    elif ref.target in ("intel_hash", "intel_ip", "intel_domain"):
        kind = {"intel_hash": "hash", "intel_ip": "ip", "intel_domain": "domain"}[ref.target]
        found = {h.value.lower(): h.value for h in enrichment.intel if h.kind == kind}
    elif ref.target == "sender":
        for alert in alerts:
            for o in alert.observables:
                key = user_key(o.value, ctx.internal_domains)
                if o.kind is EntityKind.EMAIL and o.name in _SENDER_FIELDS and "@" in key:
                    found.setdefault(key, o.value)
    elif ref.target == "external_ip":
        for alert in alerts:
            for value in alert.values(EntityKind.IP):
                if is_external_ip(value) and value not in scanners:
                    found.setdefault(value, value)
    return list(found.values())[:MAX_TARGETS_PER_ACTION]
