"""What the graph's nodes may use at run time, injected per run (never part of the state)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from tierzero.clock import Clock
from tierzero.correlate.entities import alert_entities
from tierzero.guardrails.mediator import Mediator
from tierzero.guardrails.model_gate import ChatModel, ModelGate, RunBudget
from tierzero.guardrails.policy import Policy
from tierzero.ingest.alert import Alert
from tierzero.settings.learning import LearningConfig
from tierzero.settings.model import ModelConfig
from tierzero.settings.organization import BusinessHours
from tierzero.settings.playbooks import Playbook
from tierzero.settings.priority import PriorityConfig
from tierzero.store.alerts import MAX_CASE_ALERTS
from tierzero.tools.connectors import ResponseConnector
from tierzero.tools.inventory import Inventory
from tierzero.tools.registry import SimilarCaseLookup, ToolContext

if TYPE_CHECKING:
    from tierzero.agents.state import CaseState, Recommendation
    from tierzero.store.sqlite import Store


@dataclass(frozen=True)
class CaseFile:
    """A case's alerts as correlation left them: primaries, repeat counts and join reasons.

    A big case is paged: ``alerts`` holds at most a bounded number of its distinct alerts
    (the oldest), ``alert_total`` counts every alert with its repeats, and ``left_out`` says
    how many distinct alerts were not loaded.
    """

    case_id: str
    alerts: tuple[Alert, ...]
    duplicates: dict[str, int]
    joins: tuple[dict[str, object], ...]
    alert_total: int | None = None  # None: ``alerts`` is the whole case
    left_out: int = 0

    @property
    def alert_count(self) -> int:
        """Every alert of the case, repeats included, loaded or not."""
        return len(self.alerts) if self.alert_total is None else self.alert_total

    def entity_keys(self, internal_domains: tuple[str, ...] = ()) -> frozenset[str]:
        """Join keys of every normalized, non-free-text entity of the case's alerts: the only
        values an action may target (the guard's provenance rule)."""
        return frozenset(
            key
            for alert in self.alerts
            for key in alert_entities(alert, frozenset(), internal_domains)
        )

    @property
    def primary_alerts(self) -> tuple[Alert, ...]:
        """Alerts that are not repeats of another alert in the case."""
        repeat_ids = {j["alert_id"] for j in self.joins if j.get("kind") == "duplicate"}
        return tuple(a for a in self.alerts if a.id not in repeat_ids)


@dataclass
class ModelRuntime:
    """The model behind the LLM agents for one run, with the run's shared token budget."""

    model: ChatModel
    config: ModelConfig
    run_budget: RunBudget

    @classmethod
    def of(cls, model: ChatModel, config: ModelConfig) -> ModelRuntime:
        return cls(model, config, RunBudget(config.budgets.per_run_tokens))


@dataclass
class RunContext:
    """Per-run dependencies (LangGraph runtime context): store, inventory, rules, clock."""

    store: Store
    inventory: Inventory
    priority: PriorityConfig
    playbooks: tuple[Playbook, ...]
    policy: Policy
    connector: ResponseConnector
    # Read for every record (never one timestamp for a whole run): see tierzero.clock.
    clock: Clock
    # None: the kill switch as the store says at each decision (a switch flipped mid-run
    # stops the rest of the run); a shadow replay pins it to what it was at the time.
    autonomy: bool | None = None
    # Who proposes actions: None is the offline analyst's playbooks; a model-driven agent (or a
    # scripted fake in tests) plugs in here. Whatever it proposes still passes the guard node.
    recommender: Callable[[CaseState, RunContext], tuple[Recommendation, ...]] | None = None
    # The LLM agents' model; None runs the offline analyst alone.
    model: ModelRuntime | None = None
    hours: BusinessHours = field(default_factory=BusinessHours)
    internal_domains: tuple[str, ...] = ()
    # Deterministic enrichment makes a bounded number of lookups per alert (case size is capped
    # by correlation); this budget stops a runaway, not normal work.
    max_tool_calls: int = 20_000
    # Distinct alerts of a case loaded for analysis (repeats are only counted).
    max_case_alerts: int = MAX_CASE_ALERTS
    # Similar past cases (the similar_cases tool); None when no memory is open.
    memory: SimilarCaseLookup | None = None
    # How learned suppressions are checked (their baseline); the rules are in the store.
    learning: LearningConfig = field(default_factory=LearningConfig)
    _files: dict[str, CaseFile] = field(default_factory=dict, repr=False)

    @property
    def now(self) -> datetime:
        """The current time by the run's clock (read afresh on every use)."""
        return self.clock.now()

    def autonomy_on(self) -> bool:
        """Whether automatic actions are on now (the kill switch, read afresh)."""
        return self.store.autonomy_on() if self.autonomy is None else self.autonomy

    def case_file(self, case_id: str) -> CaseFile:
        """Load a case once per run: its first ``max_case_alerts`` distinct alerts, their join
        reasons and repeat counts, and the case's totals; repeats themselves are not loaded."""
        if case_id not in self._files:
            total, distinct = self.store.case_alert_totals(case_id)
            alerts = tuple(self.store.primary_alerts_of_case(case_id, self.max_case_alerts))
            loaded = {a.id for a in alerts}
            repeats = self.store.duplicate_counts(case_id)
            self._files[case_id] = CaseFile(
                case_id,
                alerts,
                {k: n for k, n in repeats.items() if k in loaded},
                tuple(self.store.joins_of_case(case_id, repeats=False, limit=self.max_case_alerts)),
                alert_total=total,
                left_out=distinct - len(alerts),
            )
        return self._files[case_id]

    def mediator(self, case_id: str, actor: str) -> Mediator:
        """The audited, budgeted door to the tools for one case."""
        return Mediator(
            sink=self.store,
            tools=self.tools(case_id),
            actor=actor,
            now=self.now,
            max_calls=self.max_tool_calls,
        )

    def model_gate(self, case_id: str, actor: str) -> ModelGate:
        """The audited, budgeted door to the model for one case (needs a model)."""
        if self.model is None:
            raise RuntimeError("no model is configured for this run")
        return ModelGate(
            sink=self.store,
            model=self.model.model,
            budget=self.model.config.budgets,
            run_budget=self.model.run_budget,
            case_id=case_id,
            actor=actor,
            now=self.now,
            max_response_bytes=self.model.config.max_response_bytes,
            context_window=self.model.config.context_window,
            token_margin=self.model.config.token_margin,
            waiting=self.store.writer.released,
        )

    def tools(self, case_id: str) -> ToolContext:
        return ToolContext(
            inventory=self.inventory,
            history=self.store,
            case_id=case_id,
            now=self.now,
            alerts=self.store,
            memory=self.memory,
        )

    def forget(self, case_id: str) -> None:
        """Drop a finished case's alerts so a long run holds one case at a time."""
        self._files.pop(case_id, None)
