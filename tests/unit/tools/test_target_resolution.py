"""Target resolution: an action target of any kind and spelling is what the inventory says it
is (issue 11, items 2 and 10), so deny lists and tier rules see the asset or identity."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tierzero.ingest.alert import EntityKind
from tierzero.settings import Settings
from tierzero.tools.inventory import (
    Indicator,
    Inventory,
    canonical_ip,
    resolve_target,
    under_domain,
)

NOW = datetime(2026, 11, 17, 9, 0, tzinfo=UTC)
INVENTORY = Settings.load().inventory  # the bundled Northwind inventory
IP, HOST, DOMAIN = EntityKind.IP, EntityKind.HOST, EntityKind.DOMAIN
EMAIL, USER, HASH = EntityKind.EMAIL, EntityKind.USER, EntityKind.HASH


def asset_of(kind: EntityKind, value: str) -> str | None:
    found = resolve_target(INVENTORY, kind, value, NOW).asset
    return found.hostname if found else None


def identity_of(kind: EntityKind, value: str) -> str | None:
    found = resolve_target(INVENTORY, kind, value, NOW).identity
    return found.user if found else None


@pytest.mark.parametrize("spelling", ["10.10.0.10", "::ffff:10.10.0.10", " 10.10.0.10 "])
def test_an_assets_address_is_that_asset(spelling: str) -> None:
    assert asset_of(IP, spelling) == "DC-01"


def test_an_address_of_no_asset_is_nothing() -> None:
    assert asset_of(IP, "198.51.100.77") is None
    # An address resolves by address only: a host name in an IP target is no asset.
    assert asset_of(IP, "dc-01.northwind.example") is None


@pytest.mark.parametrize(
    "spelling", ["LT-FIN-042", "lt-fin-042", "lt-fin-042.northwind.example", "10.20.4.42"]
)
def test_a_host_by_short_name_fqdn_or_address_is_one_asset(spelling: str) -> None:
    assert asset_of(HOST, spelling) == "LT-FIN-042"


def test_an_internal_fqdn_as_a_domain_is_the_asset_an_outside_one_is_not() -> None:
    assert asset_of(DOMAIN, "dc-01.northwind.example") == "DC-01"
    assert asset_of(DOMAIN, "DC-01.corp.northwind.example") == "DC-01"
    # Same first label outside our domains: somebody else's machine.
    assert asset_of(DOMAIN, "dc-01.evil.example") is None


@pytest.mark.parametrize(
    ("kind", "spelling"),
    [
        (EMAIL, "alice.martin@northwind.example"),
        (EMAIL, "Alice.Martin@NORTHWIND.example"),
        (EMAIL, "alice.martin@corp.northwind.example"),
        (USER, "alice.martin"),
        (USER, "NORTHWIND\\alice.martin"),
        (USER, "alice.martin@northwind.example"),
    ],
)
def test_a_mailbox_or_account_in_any_spelling_is_the_identity(
    kind: EntityKind, spelling: str
) -> None:
    assert identity_of(kind, spelling) == "alice.martin"


def test_an_outside_mailbox_is_no_identity() -> None:
    assert identity_of(EMAIL, "alice.martin@gmail.example") is None
    assert identity_of(EMAIL, "invoices@northwlnd-billing.example") is None


def test_intel_matches_of_the_targets_kind_valid_at_the_time() -> None:
    assert [i.value for i in resolve_target(INVENTORY, IP, "198.51.100.77", NOW).intel] == [
        "198.51.100.77"
    ]
    sender = resolve_target(INVENTORY, EMAIL, "invoices@northwlnd-billing.example", NOW)
    assert [i.type for i in sender.intel] == ["email"]
    # The STIX indicator on 10.0.5.10 expired in 2024: no evidence today.
    assert resolve_target(INVENTORY, IP, "10.0.5.10", NOW).intel == ()
    assert resolve_target(INVENTORY, IP, "10.0.5.10", datetime(2024, 3, 1, tzinfo=UTC)).intel
    # Not a match: a domain indicator for a hash target, or no indicator at all.
    mixed = Inventory(
        indicators=(Indicator(value="a" * 64, type="domain", confidence=50, source="x"),)
    )
    assert resolve_target(mixed, HASH, "a" * 64, NOW).intel == ()
    assert resolve_target(INVENTORY, DOMAIN, "mail.northwlnd-billing.example", NOW).intel == ()


def test_intel_on_an_address_matches_any_spelling() -> None:
    inventory = Inventory(
        indicators=(Indicator(value="2001:DB8::1", type="ip", confidence=80, source="x"),)
    )
    assert inventory.intel("2001:db8:0::1", NOW)
    assert resolve_target(inventory, IP, "2001:db8::0:1", NOW).intel


def test_change_windows_follow_the_resolved_asset() -> None:
    during = datetime(2026, 11, 15, 23, 0, tzinfo=UTC)
    assert resolve_target(INVENTORY, HOST, "srv-app-03.northwind.example", during).windows
    assert resolve_target(INVENTORY, HOST, "10.10.1.33", during).windows  # by its address
    assert resolve_target(INVENTORY, HOST, "SRV-APP-03", NOW).windows == ()


def test_helpers() -> None:
    assert canonical_ip("::ffff:10.10.0.10") == "10.10.0.10"
    assert canonical_ip("2001:DB8::1") == "2001:db8::1"
    assert canonical_ip("dc-01") is None
    assert under_domain("northwind.example", ["northwind.example"])
    assert under_domain("Mail.Northwind.Example.", ["northwind.example"])
    assert not under_domain("northwind.example.evil.example", ["northwind.example"])
    assert not under_domain("evilnorthwind.example", ["northwind.example"])
