"""``GET /metrics``: the service's Prometheus metrics, through the official client.

Counters of what this process took in are kept as it happens; everything the store knows
(cases by status, the queue, approvals, actions, model use) is read from the store when
Prometheus scrapes, so the figures stay true across restarts and other processes' work.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from tierzero.store.intake import IntakeAnswer
from tierzero.store.sqlite import Store


class ServiceMetrics:
    """The registry ``/metrics`` renders, and the counters the service updates."""

    def __init__(self, store: Callable[[], Store]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "tierzero_intake_requests",
            "Pushed alert requests, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.records = Counter(
            "tierzero_intake_records",
            "Records pushed to the intake, by what became of them",
            ["status"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "tierzero_access_refused",
            "Requests refused for their token (401), role (403) or rate (429)",
            ["code"],
            registry=self.registry,
        )
        self.triage_passes = Counter(
            "tierzero_triage_passes",
            "Passes of the correlation and analysis workers, and how many failed",
            ["outcome"],
            registry=self.registry,
        )
        self.cases_analysed = Counter(
            "tierzero_cases_analysed", "Case analyses run by the service", registry=self.registry
        )
        self.latency = Histogram(
            "tierzero_request_seconds",
            "Time to answer an API request, by route",
            ["route"],
            registry=self.registry,
        )
        self.model_use = ModelUse()
        self.registry.register(StoreCollector(store, self.model_use))

    def intake(self, answer: IntakeAnswer) -> None:
        self.requests.labels("replayed" if answer.replayed else "accepted").inc()
        if answer.replayed:
            return
        for status in ("stored", "duplicate", "quarantined"):
            self.records.labels(status).inc(answer.count(status))


class ModelUse:
    """Model calls and tokens, summed from the audit incrementally: each reading adds only
    the ``model_call`` records appended since the last (/metrics and the console share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen_seq = 0
        self.calls = 0
        self.tokens = {"prompt": 0, "completion": 0}

    def read(self, store: Store) -> tuple[int, dict[str, int]]:
        """(model requests sent, tokens used by kind) up to now."""
        with self._lock:
            last = store.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM audit").fetchone()[0]
            rows = store.conn.execute(
                "SELECT payload FROM audit WHERE seq > ? AND seq <= ? AND kind = 'model_call'",
                (self._seen_seq, last),
            )
            self._seen_seq = last
            for (payload,) in rows:
                record = json.loads(payload)
                if record.get("phase") == "request":
                    self.calls += 1
                elif record.get("phase") == "response":
                    used = record.get("usage") or {}
                    self.tokens["prompt"] += used.get("prompt_tokens") or 0
                    self.tokens["completion"] += used.get("counted_completion_tokens") or 0
            return self.calls, dict(self.tokens)


class StoreCollector(Collector):
    """Reads the store at scrape time; model use is summed from the audit incrementally."""

    def __init__(self, store: Callable[[], Store], model_use: ModelUse) -> None:
        self.store = store
        self.model_use = model_use

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        store = self.store()
        one = store.conn.execute
        cases = GaugeMetricFamily("tierzero_cases", "Cases by status", labels=["status"])
        for row in one(
            "SELECT status, COUNT(*) FROM cases WHERE merged_into IS NULL GROUP BY status"
        ):
            cases.add_metric([row[0]], row[1])
        yield cases
        queue = GaugeMetricFamily(
            "tierzero_queue_depth",
            "Work waiting for the correlation and analysis workers",
            labels=["kind"],
        )
        queue.add_metric(
            ["alerts_unassigned"],
            one("SELECT COUNT(*) FROM alerts WHERE case_id IS NULL").fetchone()[0],
        )
        queue.add_metric(
            ["cases_awaiting_analysis"],
            one("SELECT COUNT(*) FROM cases WHERE dirty = 1 AND merged_into IS NULL").fetchone()[0],
        )
        yield queue
        actions = GaugeMetricFamily("tierzero_actions", "Actions by status", labels=["status"])
        for row in one("SELECT status, COUNT(*) FROM actions GROUP BY status"):
            actions.add_metric([row[0]], row[1])
        yield actions
        approvals = GaugeMetricFamily(
            "tierzero_approvals", "Approval requests by state", labels=["state"]
        )
        approvals.add_metric(
            ["pending"],
            one("SELECT COUNT(*) FROM actions WHERE status = 'pending_approval'").fetchone()[0],
        )
        approvals.add_metric(
            ["expired"],
            one(
                "SELECT COUNT(*) FROM actions WHERE status = 'expired' AND executed_at IS NULL"
            ).fetchone()[0],
        )
        yield approvals
        stored = GaugeMetricFamily("tierzero_stored", "Records in the store", labels=["kind"])
        for kind, count in store.counts().items():
            stored.add_metric([kind], count)
        yield stored
        yield from self._model_use(store)

    def _model_use(self, store: Store) -> Iterator[CounterMetricFamily]:
        used_calls, used_tokens = self.model_use.read(store)
        calls = CounterMetricFamily("tierzero_model_calls", "Model requests sent")
        calls.add_metric([], used_calls)
        tokens = CounterMetricFamily("tierzero_model_tokens", "Model tokens used", labels=["kind"])
        for kind, count in used_tokens.items():
            tokens.add_metric([kind], count)
        yield calls
        yield tokens
