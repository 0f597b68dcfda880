"""The similar_cases tool: through the registry, scoped by the injected context."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import NOW
from tests.factories import make_alert
from tierzero.ingest.alert import Alert
from tierzero.store.memory import CaseMemory
from tierzero.store.memory_records import CaseMemoryRecord, SimilarCase
from tierzero.tools import REGISTRY
from tierzero.tools.inventory import Inventory
from tierzero.tools.registry import ToolArgumentError, ToolContext


class Alerts:
    """A read-only alert source holding a few cases."""

    def __init__(self, cases: dict[str, list[Alert]]) -> None:
        self.cases = cases

    def alerts_of_case(
        self, case_id: str, limit: int | None = None, offset: int = 0
    ) -> list[Alert]:
        alerts = self.cases.get(case_id, [])[offset:]
        return alerts if limit is None else alerts[:limit]

    def case_alert_totals(self, case_id: str) -> tuple[int, int]:
        return len(self.cases.get(case_id, [])), len(self.cases.get(case_id, []))

    def alert(self, alert_id: str) -> Alert | None:
        return None

    def alerts_on_entity(
        self, key: str, since: datetime, until: datetime, limit: int
    ) -> list[Alert]:
        return []


def remembered(case_id: str, verdict: str, entities: tuple[str, ...]) -> CaseMemoryRecord:
    return CaseMemoryRecord(
        case_id=case_id,
        title=f"{case_id} title",
        summary=f"{case_id} was {verdict}",
        verdict=verdict,
        status="closed",
        entities=entities,
        detections=("test:ps-office",) if "host:lt-fin-042" in entities else ("test:scan",),
        closed_at=NOW,
    )


@pytest.fixture
def memory(tmp_path: Path) -> Iterator[CaseMemory]:
    with CaseMemory(tmp_path / "memory") as m:
        m.remember_many(
            [
                remembered("C-1", "true_positive", ("host:lt-fin-042", "user:alice.martin")),
                remembered("C-2", "benign_positive", ("host:srv-web-02", "ip:10.10.1.15")),
                # The case in scope was concluded once before and reopened: never its own match.
                remembered("C-9", "benign_positive", ("host:lt-fin-042",)),
            ]
        )
        yield m


ALERTS = Alerts(
    {
        "C-9": [
            make_alert(hosts=("LT-FIN-042",), users=("alice.martin",), detection="ps-office"),
        ],
        "C-2": [make_alert(hosts=("srv-web-02",), ips=("10.10.1.15",), detection="scan")],
    }
)


def context(memory: Any = None, case_id: str | None = "C-9") -> ToolContext:
    return ToolContext(
        inventory=Inventory(internal_domains=("northwind.example",)),
        case_id=case_id,
        now=NOW,
        alerts=ALERTS,
        memory=memory,
    )


def call(ctx: ToolContext, **arguments: Any) -> list[SimilarCase]:
    result: list[SimilarCase] = REGISTRY.call("similar_cases", ctx, arguments)
    return result


def test_registered_as_a_read_tool() -> None:
    spec = REGISTRY.get("similar_cases")
    assert spec.action_class == "read"
    assert "similar_cases" in REGISTRY.names("read")
    schema = spec.json_schema()["function"]["parameters"]
    assert set(schema["properties"]) == {"case_id", "text", "k"}


def test_the_case_in_scope_by_default(memory: CaseMemory) -> None:
    results = call(context(memory))
    assert [r.case_id for r in results][0] == "C-1"
    assert "C-9" not in [r.case_id for r in results]
    assert results[0].verdict == "true_positive"
    assert results[0].shared_entities == ("host:lt-fin-042", "user:alice.martin")


def test_another_case_excludes_both(memory: CaseMemory) -> None:
    ids = [r.case_id for r in call(context(memory), case_id="C-2", k=5)]
    assert ids == ["C-1"]  # neither the case asked about nor the one in scope


def test_free_text(memory: CaseMemory) -> None:
    results = call(context(memory), text="scan from ip:10.10.1.15", k=1)
    assert [r.case_id for r in results] == ["C-2"]
    assert results[0].shared_entities == ("ip:10.10.1.15",)


def test_no_memory_or_no_case_is_empty(memory: CaseMemory) -> None:
    assert call(context(None)) == []
    assert call(context(memory, case_id=None)) == []
    assert call(context(memory), case_id="C-404") == []


@pytest.mark.parametrize(
    "arguments",
    [{"k": 0}, {"k": 21}, {"text": ""}, {"text": "x" * 4001}, {"case_id": ""}, {"limit": 3}],
)
def test_arguments_are_validated(memory: CaseMemory, arguments: dict[str, Any]) -> None:
    with pytest.raises(ToolArgumentError):
        call(context(memory), **arguments)
