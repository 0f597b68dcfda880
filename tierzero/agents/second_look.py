"""A second look before any closure: a deterministic attempt to disprove "benign".

Before tierzero closes a case on its own (an auto-close rule, a playbook's benign verdict, or
learned suppressions), it looks for what argues against closing, in the store and the case:

- another case on one of its hosts that looks like an attack (analysed a true positive, or
  P1/P2) waits for a person (escalated or awaiting approval, not resolved since), seen within
  ``learning.second_look_window``: two cases on one host at once may be one intrusion. (Any
  waiting case was too broad: a noisy host always has one, and every escalation then kept
  the next noise open too.)
- for a closure by learned suppressions only, an ATT&CK technique of the case (repeats
  included) at an attack stage beyond reconnaissance and discovery. (Configured auto-close
  rules and playbooks are people's explicit exceptions: an approved scanner's findings carry
  exploit techniques, a change in its window stops services. Applied to them, this check
  escalated the example scanner and maintenance cases, so it guards what was only learned.)
- one of its hosts was in a case a person resolved ``true_positive`` within
  ``learning.recent_true_positive``.

Any reason keeps the case open for a person, and the reasons are kept on the case. Everything
read is structured (hosts, ATT&CK fields, statuses, verdicts): no alert text.
"""

from __future__ import annotations

from tierzero.agents.context import RunContext
from tierzero.agents.state import CaseState
from tierzero.store.schema import to_us
from tierzero.tools.attack import builtin_techniques

# Stages that still look around rather than act on the target.
LOOKING_AROUND = frozenset({"Reconnaissance", "Discovery"})


def second_look(state: CaseState, ctx: RunContext) -> tuple[str, ...]:
    """Why the case must not be closed without a person (empty: nothing against it). A
    closure by learned suppressions also asks :func:`attack_stages`."""
    store, config = ctx.store, ctx.learning
    hosts = store.case_hosts(state.case_id)
    row = store.case(state.case_id)
    reasons: list[str] = []
    if row is not None:
        since = to_us(row.first_seen - config.second_look_window)
        others = store.open_cases_on(hosts, state.case_id, since)
        if others:
            reasons.append(
                f"{', '.join(others[:3])}, on the same host, looks like an attack and waits for "
                "a person" + (f" (and {len(others) - 3} more)" if len(others) > 3 else "")
            )
    recent = store.true_positives_on(hosts, ctx.now - config.recent_true_positive)
    if recent:
        case_id, host = recent[0]
        reasons.append(f"{host} was in {case_id}, resolved a true positive recently")
    return tuple(reasons)


def attack_stages(state: CaseState, ctx: RunContext) -> tuple[str, ...]:
    """For a closure only learned from verdicts: the case's ATT&CK techniques (repeats
    included) at a stage beyond reconnaissance and discovery, as a reason (or none)."""
    table = builtin_techniques()
    staged = sorted(
        {
            technique
            for technique, _, _ in ctx.store.case_techniques(state.case_id)
            if technique in table and set(table[technique].tactics) - LOOKING_AROUND
        }
    )
    return (f"attack-stage technique: {', '.join(staged[:3])}",) if staged else ()
