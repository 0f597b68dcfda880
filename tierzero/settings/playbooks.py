"""Playbooks as decision trees over facts, loaded from ``config/playbooks/*.yaml``.

A condition is ``{fact: NAME, OP: VALUE}`` with OP one of ``is, eq, ne, gt, gte, lt, lte,
any_of, none_of, contains``, or ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``. A tree
node is either a branch ``{id, when, then, otherwise}`` or a leaf ``{verdict, confidence,
because, next_step, actions}``. Walking a tree is deterministic: the same facts give the same
path, and the path (each condition with its outcome) is the explanation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tierzero.config import ConfigError, load_model

# What an analyst (a playbook leaf, a model, a person) concludes about a case.
Verdict = Literal["true_positive", "benign_positive", "false_positive", "needs_review"]

# The facts playbooks and priority rules may test (listed in config/playbooks/README.md).
# tierzero/agents/facts.py computes exactly these; a test keeps the two equal.
FACT_NAMES: frozenset[str] = frozenset(
    {
        "admin_on_managed_host",
        "alert_count",
        "all_from_scanner",
        "all_samples",
        "all_in_window",
        "asset_roles",
        "business_hours",
        "cloud_involved",
        "countries",
        "crown_jewel",
        "distinct_detections",
        "email_involved",
        "environments",
        "external_involved",
        "external_ips",
        "host_count",
        "intel_confidence",
        "intel_kinds",
        "intel_match",
        "max_criticality",
        "max_severity",
        "mfa_approved_after_denials",
        "mfa_missing",
        "min_prior_hours",
        "new_country",
        "novel_detections",
        "pattern_hours",
        "privileged_user",
        "process_execution",
        "scanner_involved",
        "service_account",
        "source_count",
        "sources",
        "tactic_count",
        "tactics",
        "techniques",
        "titles",
        "unknown_hosts",
        "unknown_users",
        "user_count",
        "window_involved",
    }
)


class FactSource(Protocol):
    """Named facts with the evidence ids behind each (``tierzero.agents.facts.Facts``)."""

    @property
    def support(self) -> Mapping[str, tuple[str, ...]]: ...

    def get(self, name: str) -> Any: ...


_OPS = ("is", "eq", "ne", "gt", "gte", "lt", "lte", "any_of", "none_of", "contains")


class Condition(BaseModel):
    """A test on one fact, or a combination of tests."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    fact: str | None = None
    is_: Any = Field(default=None, alias="is")
    eq: Any = None
    ne: Any = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    any_of: tuple[Any, ...] | None = None
    none_of: tuple[Any, ...] | None = None
    contains: Any = None
    all: tuple[Condition, ...] | None = None
    any: tuple[Condition, ...] | None = None
    not_: Condition | None = Field(default=None, alias="not")
    always: bool | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Condition:
        ops = [
            op for op in _OPS if op in self.model_fields_set or f"{op}_" in self.model_fields_set
        ]
        combos = [c for c in ("all", "any", "not_", "always") if c in self.model_fields_set]
        if self.fact is not None and len(ops) != 1:
            raise ValueError(f"a fact test needs exactly one of {', '.join(_OPS)}")
        if self.fact is None and (ops or len(combos) != 1):
            raise ValueError("a condition is a fact test, or one of all/any/not/always")
        return self

    def evaluate(self, facts: FactSource) -> tuple[bool, str, tuple[str, ...]]:
        """Result, a readable account of it, and the evidence ids of the facts consulted."""
        if self.always is not None:
            return self.always, "always", ()
        if self.all is not None or self.any is not None:
            parts = [c.evaluate(facts) for c in (self.all or self.any or ())]
            result = all(p[0] for p in parts) if self.all is not None else any(p[0] for p in parts)
            joiner = " and " if self.all is not None else " or "
            evidence = tuple(e for p in parts if p[0] == result for e in p[2])
            return result, "(" + joiner.join(p[1] for p in parts) + ")", evidence
        if self.not_ is not None:
            result, text, evidence = self.not_.evaluate(facts)
            return not result, f"not {text}", evidence
        assert self.fact is not None
        value = facts.get(self.fact)
        result, shown = self._test(value)
        return (
            result,
            f"{self.fact} {shown} [{_short(value)}: {'yes' if result else 'no'}]",
            (facts.support.get(self.fact, ())),
        )

    def _test(self, value: Any) -> tuple[bool, str]:
        s = self.model_fields_set
        if "is_" in s:
            return value is self.is_ or value == self.is_, f"is {self.is_}"
        if "eq" in s:
            return value == self.eq, f"= {self.eq}"
        if "ne" in s:
            return value != self.ne, f"!= {self.ne}"
        checks: tuple[tuple[str, str, Callable[[float, float], bool]], ...] = (
            ("gt", ">", lambda v, t: v > t),
            ("gte", ">=", lambda v, t: v >= t),
            ("lt", "<", lambda v, t: v < t),
            ("lte", "<=", lambda v, t: v <= t),
        )
        for op, symbol, check in checks:
            if op in s:
                target = getattr(self, op)
                return bool(check(float(value), target)), f"{symbol} {target:g}"
        members = {str(v).lower() for v in _iter(value)}
        if "any_of" in s:
            wanted = {str(v).lower() for v in self.any_of or ()}
            return bool(members & wanted), f"any of {sorted(wanted)}"
        if "none_of" in s:
            banned = {str(v).lower() for v in self.none_of or ()}
            return not members & banned, f"none of {sorted(banned)}"
        return str(self.contains).lower() in members, f"contains {self.contains}"


def _iter(value: Any) -> list[Any]:
    if isinstance(value, set | list | tuple | frozenset):
        return list(value)
    return [value]


def _short(value: Any) -> str:
    if isinstance(value, set | frozenset):
        value = sorted(value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


class ActionRef(BaseModel):
    """An action a leaf recommends and which entities of the case it targets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action: str
    target: Literal[
        "affected_host", "user", "intel_hash", "intel_ip", "intel_domain", "sender", "external_ip"
    ]


class Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Verdict
    confidence: float = Field(ge=0.0, le=1.0)
    because: str
    next_step: str
    actions: tuple[ActionRef, ...] = ()


class Branch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    when: Condition
    then: Branch | Leaf
    otherwise: Branch | Leaf


class Playbook(BaseModel):
    """One playbook: when it applies, its decision tree, and who handles what it escalates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    version: int = Field(ge=1)
    title: str
    escalation_path: str
    applies: Condition
    fallback: bool = False
    tree: Branch | Leaf

    def walk(self, facts: FactSource) -> tuple[Leaf, tuple[str, ...], tuple[str, ...]]:
        """Walk the tree: the leaf reached, each decision taken, and the evidence it cited."""
        node: Branch | Leaf = self.tree
        path: list[str] = []
        evidence: list[str] = []
        while isinstance(node, Branch):
            result, text, cited = node.when.evaluate(facts)
            path.append(f"{node.id}: {text} -> {'yes' if result else 'no'}")
            evidence.extend(cited)
            node = node.then if result else node.otherwise
        return node, tuple(path), tuple(dict.fromkeys(evidence))

    def fact_names(self) -> set[str]:
        """Every fact the playbook reads (checked against the known facts at load time)."""
        names: set[str] = set()

        def walk_condition(c: Condition) -> None:
            if c.fact:
                names.add(c.fact)
            for child in (*(c.all or ()), *(c.any or ()), *([c.not_] if c.not_ else [])):
                walk_condition(child)

        def walk(node: Branch | Leaf) -> None:
            if isinstance(node, Branch):
                walk_condition(node.when)
                walk(node.then)
                walk(node.otherwise)

        walk_condition(self.applies)
        walk(self.tree)
        return names


def load_playbooks(
    folder: Path, known_actions: set[str], known_facts: frozenset[str] = FACT_NAMES
) -> tuple[Playbook, ...]:
    """Load and check every ``*.yaml`` playbook: unknown facts or actions are refused."""
    books: list[Playbook] = []
    for path in sorted(folder.glob("*.yaml")):
        book = load_model(path, Playbook)
        unknown = book.fact_names() - known_facts
        if unknown:
            raise ConfigError(f"{path}: unknown fact(s) {', '.join(sorted(unknown))}")
        bad_actions = {a.action for a in _leaf_actions(book.tree)} - known_actions
        if bad_actions:
            raise ConfigError(
                f"{path}: action(s) not in the catalog: {', '.join(sorted(bad_actions))}"
            )
        books.append(book)
    if not books:
        raise ConfigError(f"{folder}: no playbooks found")
    if ids := [b.id for b in books if [x.id for x in books].count(b.id) > 1]:
        raise ConfigError(f"{folder}: duplicate playbook id(s) {', '.join(sorted(set(ids)))}")
    return tuple(books)


def _leaf_actions(node: Branch | Leaf) -> list[ActionRef]:
    if isinstance(node, Leaf):
        return list(node.actions)
    return _leaf_actions(node.then) + _leaf_actions(node.otherwise)
