"""Correlation: joins and non-joins at window edges, dedup, merges, eviction."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest

from tests.factories import make_alert
from tierzero.correlate.engine import CorrelationConfig, Correlator, SeedCase
from tierzero.correlate.entities import entity_key, host_key, user_key
from tierzero.ingest.alert import EntityKind

CONFIG = CorrelationConfig(
    join_window=timedelta(minutes=30),
    dedup_window=timedelta(minutes=10),
    max_case_span=timedelta(hours=6),
    internal_domains=("northwind.example",),
)


def correlator(config: CorrelationConfig = CONFIG) -> Correlator:
    ids = count(1)
    return Correlator(config, lambda: f"C-{next(ids)}")


def test_shared_host_within_window_joins_and_says_why() -> None:
    c = correlator()
    first = c.add(make_alert(minutes=0, detection="a", hosts=("WS-7",)))
    second = c.add(make_alert(minutes=30, detection="b", hosts=("ws-7.northwind.example",)))
    assert first.kind == "new_case" and first.case_id == "C-1"
    assert second.kind == "joined" and second.case_id == "C-1"
    assert second.via == ("host:ws-7",)
    assert second.explanation == "joined C-1 via host:ws-7 (a host) within 30 min"


def test_shared_host_just_past_window_opens_new_case() -> None:
    c = correlator()
    c.add(make_alert(minutes=0, detection="a", hosts=("WS-7",)))
    late = c.add(make_alert(minutes=30.02, detection="b", hosts=("WS-7",)))
    assert late.kind == "new_case" and late.case_id == "C-2"


def test_window_slides_with_each_alert_on_the_entity() -> None:
    c = correlator()
    for minute in (0, 25, 50, 75):
        join = c.add(make_alert(minutes=minute, detection=f"d{minute}", hosts=("WS-7",)))
    assert join.kind == "joined" and join.case_id == "C-1"


def test_no_shared_entity_never_joins() -> None:
    c = correlator()
    c.add(make_alert(minutes=0, hosts=("WS-7",), users=("alice",)))
    other = c.add(make_alert(minutes=1, detection="x", hosts=("WS-8",), users=("bob",)))
    assert other.kind == "new_case"


def test_user_forms_are_one_identity() -> None:
    c = correlator()
    c.add(make_alert(minutes=0, detection="a", users=("NORTHWIND\\Alice.Martin",)))
    join = c.add(make_alert(minutes=5, detection="b", users=("alice.martin@northwind.example",)))
    assert join.kind == "joined" and join.via == ("user:alice.martin",)


def test_outside_mail_address_is_not_an_internal_user() -> None:
    assert user_key("invoices@evil.example", ("northwind.example",)) == "invoices@evil.example"
    assert entity_key(EntityKind.EMAIL, "invoices@evil.example", ("northwind.example",)) == (
        "email:invoices@evil.example"
    )


@pytest.mark.parametrize("value", ["127.0.0.1", "0.0.0.0", "169.254.1.1", "-", "unknown", "::1"])
def test_placeholder_and_local_addresses_never_join(value: str) -> None:
    kind = EntityKind.IP if value[0].isdigit() or value == "::1" else EntityKind.HOST
    assert entity_key(kind, value) is None


def test_host_key_keeps_ip_whole() -> None:
    assert host_key("10.0.0.1") == "10.0.0.1"
    assert host_key("SRV-FS-01.corp.example.") == "srv-fs-01"


def test_repeat_within_dedup_window_is_collapsed_onto_first() -> None:
    c = correlator()
    first = c.add(make_alert(minutes=0, detection="brute", hosts=("WS-7",)))
    repeat = c.add(make_alert(minutes=10, detection="brute", hosts=("WS-7",)))
    assert repeat.kind == "duplicate" and repeat.duplicate_of == first.alert_id
    assert repeat.case_id == "C-1"


def test_repeat_past_dedup_window_is_a_new_alert_in_same_case() -> None:
    c = correlator()
    c.add(make_alert(minutes=0, detection="brute", hosts=("WS-7",)))
    later = c.add(make_alert(minutes=10.5, detection="brute", hosts=("WS-7",)))
    assert later.kind == "joined" and later.duplicate_of is None


def test_same_detection_on_different_entities_is_not_a_duplicate() -> None:
    c = correlator()
    c.add(make_alert(minutes=0, detection="brute", hosts=("WS-7",)))
    other = c.add(make_alert(minutes=1, detection="brute", hosts=("WS-7",), users=("bob",)))
    assert other.kind == "joined"


def test_alert_linking_two_cases_merges_them_into_the_older() -> None:
    c = correlator()
    c.add(make_alert(minutes=0, detection="a", hosts=("WS-7",)))
    c.add(make_alert(minutes=1, detection="b", users=("bob",)))
    bridge = c.add(make_alert(minutes=2, detection="c", hosts=("WS-7",), users=("bob",)))
    assert bridge.kind == "merged" and bridge.case_id == "C-1"
    assert bridge.merged_case_ids == ("C-2",)
    assert "merged C-2 via user:bob into it" in bridge.explanation
    follow = c.add(make_alert(minutes=3, detection="d", users=("bob",)))
    assert follow.case_id == "C-1"


def test_case_older_than_max_span_takes_no_new_alerts() -> None:
    config = CONFIG.model_copy(update={"max_case_span": timedelta(minutes=40)})
    c = correlator(config)
    for minute in (0, 20, 40):
        c.add(make_alert(minutes=minute, detection=f"d{minute}", hosts=("WS-7",)))
    late = c.add(make_alert(minutes=41, detection="late", hosts=("WS-7",)))
    assert late.kind == "new_case"


def test_case_at_max_alerts_takes_no_more() -> None:
    c = correlator(CONFIG.model_copy(update={"max_case_alerts": 2}))
    c.add(make_alert(minutes=0, detection="a", hosts=("WS-7",)))
    c.add(make_alert(minutes=1, detection="b", hosts=("WS-7",)))
    third = c.add(make_alert(minutes=2, detection="c", hosts=("WS-7",)))
    assert third.kind == "new_case"


def test_ignored_entities_do_not_join() -> None:
    config = CONFIG.model_copy(update={"ignore_entities": frozenset({"ip:10.0.0.53"})})
    c = correlator(config)
    c.add(make_alert(minutes=0, detection="a", ips=("10.0.0.53",)))
    other = c.add(make_alert(minutes=1, detection="b", ips=("10.0.0.53",)))
    assert other.kind == "new_case"


def test_seeded_case_from_an_earlier_run_is_joined() -> None:
    first = make_alert(minutes=0, hosts=("WS-7",))
    seed = SeedCase("C-9", first.time, first.time, 1, ("host:ws-7",))
    c = Correlator(CONFIG, lambda: "C-10", [seed])
    join = c.add(make_alert(minutes=5, detection="b", hosts=("WS-7",)))
    assert join.case_id == "C-9" and join.kind == "joined"


def test_index_is_evicted_as_time_advances() -> None:
    c = correlator(CONFIG.model_copy(update={"recurrence_window": timedelta(minutes=30)}))
    for i in range(500):
        c.add(make_alert(minutes=i * 5, detection=f"d{i}", hosts=(f"host-{i}",)))
    # Windows 30 min / 5 min apart: only the last few hosts (entity, dedup and recurrence
    # keys) stay indexed.
    assert c.open_entities <= 3 * (30 // 5 + 2)


def test_repeats_do_not_fill_a_case() -> None:
    c = correlator(CONFIG.model_copy(update={"max_case_alerts": 2}))
    c.add(make_alert(minutes=0, detection="a", hosts=("WS-7",)))
    for minute in (1, 2, 3):
        assert c.add(make_alert(minutes=minute, detection="a", hosts=("WS-7",))).kind == "duplicate"
    second = c.add(make_alert(minutes=4, detection="b", hosts=("WS-7",)))
    assert second.kind == "joined" and second.case_id == "C-1"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (EntityKind.USER, "CORP\\SYSTEM"),
        (EntityKind.USER, "root@northwind.example"),
        (EntityKind.USER, "NORTHWIND\\"),
        (EntityKind.HOST, "localhost.localdomain"),
        (EntityKind.HOST, ".evil"),
        (EntityKind.HOST, "."),
    ],
)
def test_placeholders_are_checked_after_normalization(kind: EntityKind, value: str) -> None:
    assert entity_key(kind, value, ("northwind.example",)) is None


def test_address_in_a_host_field_is_an_address() -> None:
    assert entity_key(EntityKind.HOST, "10.0.0.53") == "ip:10.0.0.53"


def test_fullwidth_host_name_is_the_same_host() -> None:
    assert entity_key(EntityKind.HOST, "ＬＴ-ＦＩＮ-042") == "host:lt-fin-042"


def test_configured_ignore_keys_are_normalized() -> None:
    from tierzero.correlate.entities import normalize_key

    assert normalize_key("host:PROXY-01.corp.example") == "host:proxy-01"
    assert normalize_key("user:CORP\\Svc-Scan") == "user:svc-scan"
    assert normalize_key("nonsense") is None
