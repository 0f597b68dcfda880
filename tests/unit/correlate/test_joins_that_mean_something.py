"""Joins that mean something (issue 12): recurring patterns are one case, a needle among
noise stays its own case, and common values (a fleet-wide hash, an address two machines call
their own) never chain incidents on their own, while rare ones and attacker addresses do."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

from tests.factories import make_alert
from tierzero.correlate.engine import CorrelationConfig, Correlator
from tierzero.ingest.alert import Alert, EntityKind, Observable, Severity

CONFIG = CorrelationConfig(
    join_window=timedelta(hours=2),
    dedup_window=timedelta(hours=1),
    max_case_span=timedelta(hours=4),
    recurrence_window=timedelta(hours=24),
    max_recurrence_span=timedelta(days=7),
    common_entity_spread=4,
)
HOUR = 60.0


def correlator() -> Correlator:
    ids = count(1)
    return Correlator(CONFIG, lambda: f"C-{next(ids)}")


def test_one_detection_recurring_on_one_host_for_days_is_one_case() -> None:
    c = correlator()
    joins = [
        c.add(
            make_alert(
                minutes=i * 5 * HOUR,
                detection="upload",
                hosts=("SRV-DB-02",),
                ips=("198.51.100.67",),
                severity=Severity.LOW,
            )
        )
        for i in range(20)  # every 5 h for four days: far beyond the 2 h join window
    ]
    assert {j.case_id for j in joins} == {"C-1"}
    assert "upload again on" in joins[5].explanation
    assert "a recurring pattern" in joins[5].explanation
    # Another low sighting of the same address a day in still belongs to the pattern.
    late = c.add(
        make_alert(
            minutes=19 * 5 * HOUR + 3 * HOUR,
            detection="outbound-process",
            hosts=("SRV-DB-02",),
            ips=("198.51.100.67",),
            severity=Severity.LOW,
        )
    )
    assert late.case_id == "C-1"


def test_a_needle_that_shares_a_host_with_noise_stays_its_own_case() -> None:
    c = correlator()
    noise = [
        c.add(
            make_alert(
                minutes=i * 5 * HOUR,
                detection="defs-update-failed",
                hosts=("LT-OPS-122",),
                severity=Severity.INFORMATIONAL,
            )
        )
        for i in range(6)
    ]
    assert {j.case_id for j in noise} == {"C-1"}
    needle_at = 5 * 5 * HOUR + 3 * HOUR  # 3 h after the last noise: outside the join window
    needle = c.add(
        make_alert(
            minutes=needle_at,
            detection="download-cradle",
            hosts=("LT-OPS-122",),
            severity=Severity.HIGH,
        )
    )
    assert needle.kind == "new_case" and needle.case_id == "C-2"
    # The next noise comes 30 min after the needle: it rejoins its pattern, and the more
    # severe case is not swallowed into the noise.
    again = c.add(
        make_alert(
            minutes=needle_at + 30,
            detection="defs-update-failed",
            hosts=("LT-OPS-122",),
            severity=Severity.INFORMATIONAL,
        )
    )
    assert again.case_id == "C-1" and again.merged_case_ids == ()
    follow_up = c.add(
        make_alert(
            minutes=needle_at + 40,
            detection="implant",
            hosts=("LT-OPS-122",),
            severity=Severity.HIGH,
        )
    )
    assert follow_up.case_id == "C-2"


def test_a_hash_on_every_host_never_joins_alone_but_a_rare_hash_does() -> None:
    c = correlator()
    common = "a" * 64
    for i in range(4):  # powershell.exe on four hosts: the fleet's background
        c.add(make_alert(minutes=i * 300, detection=f"d{i}", hosts=(f"ws-{i}",), hashes=(common,)))
    one = c.add(make_alert(minutes=2000, detection="x", hosts=("ws-10",), hashes=(common,)))
    two = c.add(make_alert(minutes=2010, detection="y", hosts=("ws-11",), hashes=(common,)))
    assert two.kind == "new_case" and two.case_id != one.case_id
    rare = "b" * 64
    first = c.add(make_alert(minutes=3000, detection="x", hosts=("ws-20",), hashes=(rare,)))
    second = c.add(make_alert(minutes=3010, detection="y", hosts=("ws-21",), hashes=(rare,)))
    assert second.kind == "joined" and second.case_id == first.case_id
    assert f"hash:{rare} (seen on 2 hosts in the lookback, under 4)" in second.explanation


def test_an_account_used_everywhere_never_chains_incidents() -> None:
    c = correlator()
    for i in range(4):
        c.add(
            make_alert(
                minutes=i * 10, detection=f"d{i}", hosts=(f"srv-{i}",), users=("svc-deploy",)
            )
        )
    lone = c.add(make_alert(minutes=60, detection="z", hosts=("srv-9",), users=("svc-deploy",)))
    assert lone.kind == "new_case"


def test_a_c2_address_seen_by_many_hosts_still_joins_them() -> None:
    c = correlator()
    joins = [
        c.add(
            make_alert(minutes=i * 10, detection="beacon", hosts=(f"ws-{i}",), ips=("203.0.113.9",))
        )
        for i in range(6)
    ]
    assert {j.case_id for j in joins} == {"C-1"}
    assert "ip:203.0.113.9 (an external address)" in joins[-1].explanation


def _with_device_ip(alert: Alert, address: str) -> Alert:
    device_ip = Observable(kind=EntityKind.IP, value=address, name="device.ip")
    return alert.model_copy(update={"observables": (*alert.observables, device_ip)})


def test_an_address_two_machines_call_their_own_names_neither() -> None:
    c = correlator()
    c.add(_with_device_ip(make_alert(minutes=0, detection="a", hosts=("ws-1",)), "10.0.2.15"))
    c.add(_with_device_ip(make_alert(minutes=5, detection="b", hosts=("ws-2",)), "10.0.2.15"))
    third = c.add(
        _with_device_ip(make_alert(minutes=10, detection="c", hosts=("ws-3",)), "10.0.2.15")
    )
    assert third.kind == "new_case"


def test_a_pattern_carries_over_to_the_next_run() -> None:
    """A later triage run seeds the open cases and warms up from the alerts already placed:
    the pattern's next recurrence joins its case, and spread counted before still counts."""
    from tierzero.correlate.engine import SeedCase

    placed = [
        make_alert(
            minutes=i * 5 * HOUR, detection="upload", hosts=("SRV-DB-02",), severity=Severity.LOW
        )
        for i in range(3)
    ]
    seed = SeedCase("C-7", placed[0].time, placed[-1].time, 3, ("host:srv-db-02",))
    ids = count(8)
    later = Correlator(CONFIG, lambda: f"C-{next(ids)}", [seed])
    for alert in placed:
        later.warm(alert, "C-7")
    again = later.add(
        make_alert(
            minutes=3 * 5 * HOUR, detection="upload", hosts=("SRV-DB-02",), severity=Severity.LOW
        )
    )
    assert again.case_id == "C-7" and "a recurring pattern" in again.explanation


def _noise(c: Correlator, host: str, start: float, n: int, **kw: object) -> list[str]:
    """``n`` sightings of one detection on one host, every 5 h from ``start`` minutes."""
    return [
        c.add(
            make_alert(
                minutes=start + i * 5 * HOUR,
                detection=str(kw.get("detection", "defs-update-failed")),
                hosts=(host,),
                severity=kw.get("severity", Severity.LOW),  # type: ignore[arg-type]
            )
        ).case_id
        for i in range(n)
    ]


def test_one_low_detection_recurring_on_several_hosts_is_one_fleet_pattern() -> None:
    c = correlator()
    first = _noise(c, "LT-A", 0, 1)
    second = _noise(c, "LT-B", 20, 1)
    assert first != second  # once each: nothing recurs yet, two cases
    c.add(
        make_alert(
            minutes=5 * HOUR, detection="defs-update-failed", hosts=("LT-A",), severity=Severity.LOW
        )
    )
    merged = c.add(
        make_alert(
            minutes=5 * HOUR + 20,
            detection="defs-update-failed",
            hosts=("LT-B",),
            severity=Severity.LOW,
        )
    )
    assert merged.kind == "merged"
    assert merged.case_id == "C-1" and merged.merged_case_ids == ("C-2",)
    assert "one fleet-wide pattern" in merged.explanation
    later = _noise(c, "LT-C", 30, 4)
    assert set(later[1:]) == {"C-1"}  # a third host joins once its own sightings recur


def test_a_fleet_pattern_takes_no_single_sighting_other_detection_or_severe_alert() -> None:
    c = correlator()
    _noise(c, "LT-A", 0, 4)
    once = _noise(c, "LT-B", 30, 1)
    assert once != ["C-1"]  # the detection once on a new host: not (yet) the pattern
    severe = _noise(c, "LT-C", 40, 3, severity=Severity.HIGH)
    assert "C-1" not in severe  # high severity recurring: its own case, never the fleet's
    # A case that also holds another detection never joins the fleet: the noise beside the
    # needle stays with the needle; only later sightings, a pure pattern again, join it.
    needle = c.add(
        make_alert(minutes=50, detection="download-cradle", hosts=("LT-D",), severity=Severity.LOW)
    )
    mixed = _noise(c, "LT-D", 51, 3)
    assert mixed[0] == needle.case_id != "C-1"
    assert mixed[2] == "C-1"
    assert (
        needle.case_id
        not in c.add(
            make_alert(minutes=70 + 15 * HOUR, detection="defs-update-failed", hosts=("LT-A",))
        ).merged_case_ids
    )


def test_fleet_patterns_can_be_turned_off() -> None:
    ids = count(1)
    c = Correlator(CONFIG.model_copy(update={"fleet_patterns": False}), lambda: f"C-{next(ids)}")
    a = _noise(c, "LT-A", 0, 3)
    b = _noise(c, "LT-B", 20, 3)
    assert set(a) == {"C-1"} and set(b) == {"C-2"}


def test_a_fleet_case_takes_its_own_detection_only() -> None:
    ids = count(1)
    # Cases stay open for a day here, so only the fleet rule keeps the needle out.
    long_cases = CONFIG.model_copy(update={"max_case_span": timedelta(hours=24)})
    c = Correlator(long_cases, lambda: f"C-{next(ids)}")
    _noise(c, "LT-A", 0, 2)
    fleet = _noise(c, "LT-B", 20, 2)[-1]
    assert fleet == "C-1"
    # Minutes after LT-B's last sighting, something else on LT-B: not the fleet's business.
    needle = c.add(
        make_alert(
            minutes=20 + 5 * HOUR + 10,
            detection="download-cradle",
            hosts=("LT-B",),
            severity=Severity.LOW,
        )
    )
    assert needle.kind == "new_case" and needle.case_id != "C-1"
