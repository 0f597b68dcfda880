"""Whose request a chat proposal is: the analyst's parsed request compared by whole token and
canonical entity key, never by substring (issue 11, item 3)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tierzero.agents.chat.action_requests import (
    asks_for_action,
    not_the_request,
    parse_request,
)
from tierzero.correlate.entities import entity_key
from tierzero.ingest.alert import EntityKind
from tierzero.settings import Settings

CATALOG = Settings.load().policy.catalog
DOMAINS = ("northwind.example",)


def _octet(low: int = 0) -> st.SearchStrategy[int]:
    return st.integers(min_value=low, max_value=255)


@st.composite
def nested_ips(draw: st.DrawFn) -> tuple[str, str]:
    """Two different IPv4 addresses that can be acted on, the first a substring of the second's
    text (``10.10.0.10`` in ``10.10.0.100``)."""
    a, b, c, d = draw(_octet(1)), draw(_octet()), draw(_octet()), draw(_octet(10))
    longer = f"{a}.{b}.{c}.{d}"
    assume(_actionable(longer))
    inside = sorted(
        {
            longer[i:j]
            for i in range(len(longer))
            for j in range(i + 7, len(longer) + 1)
            if _actionable(longer[i:j]) and longer[i:j] != longer
        }
    )
    assume(inside)  # d >= 10, so a.b.c.(d // 10) is usually one
    return draw(st.sampled_from(inside)), longer


def _actionable(text: str) -> bool:
    """One IPv4 address that is an entity key (not loopback, multicast, reserved ...)."""
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return entity_key(EntityKind.IP, text) is not None


SAYINGS = ("block ip {}", "please block {} because it is the C2", "block ip '{}'.", "block {}!")


@given(nested_ips(), st.sampled_from(SAYINGS))
def test_an_address_is_parsed_whole_and_never_matches_its_substring(
    pair: tuple[str, str], saying: str
) -> None:
    shorter, longer = pair
    for asked, other in ((longer, shorter), (shorter, longer)):
        request = parse_request(saying.format(asked), CATALOG, DOMAINS)
        assert request is not None and request.usable
        assert (request.action, request.target, request.key) == ("block_ip", asked, f"ip:{asked}")
        assert not_the_request(request, "block_ip", asked, CATALOG, DOMAINS) is None
        assert not_the_request(request, "block_ip", other, CATALOG, DOMAINS) == (
            f"you asked for block_ip {asked}"
        )


@given(
    st.from_regex(r"LT-[A-Z0-9]{1,6}", fullmatch=True),
    st.from_regex(r"[A-Z0-9-]{0,3}[A-Z0-9]", fullmatch=True),
)
def test_a_host_is_parsed_whole_and_never_matches_its_prefix(base: str, tail: str) -> None:
    longer = base + tail
    for asked, other in ((longer, base), (base, longer)):
        request = parse_request(f"isolate host {asked}", CATALOG, DOMAINS)
        assert request is not None and request.usable
        assert (request.target, request.key) == (asked, f"host:{asked.lower()}")
        assert not_the_request(request, "isolate_host", other, CATALOG, DOMAINS) is not None
        # Another spelling of the same host is the same canonical target.
        fqdn = f"{asked.lower()}.northwind.example"
        assert not_the_request(request, "isolate_host", fqdn, CATALOG, DOMAINS) is None


@pytest.mark.parametrize(
    ("message", "action", "target"),
    [
        ("revoke sessions for alice.martin", "revoke_sessions", "alice.martin"),
        ("disable user alice.martin", "disable_user", "alice.martin"),
        ("reset password for alice.martin", "reset_password", "alice.martin"),
        ("block ip 10.10.0.100", "block_ip", "10.10.0.100"),
        ("isolate LT-FIN-042", "isolate_host", "LT-FIN-042"),
    ],
)
def test_no_other_action_on_the_same_target_is_the_analysts(
    message: str, action: str, target: str
) -> None:
    request = parse_request(message, CATALOG, DOMAINS)
    assert request is not None and (request.action, request.target) == (action, target)
    for other in set(CATALOG) - {action}:
        assert not_the_request(request, other, target, CATALOG, DOMAINS) is not None


@pytest.mark.parametrize(
    ("asked", "proposed"),
    [
        ("revoke sessions for alice.martin", "NORTHWIND\\alice.martin"),
        ("revoke sessions for alice.martin", "alice.martin@northwind.example"),
        ("block ip 2001:db8::1", "2001:0db8:0:0::1"),
        ("block domain cdn-update-check.example", "CDN-Update-Check.example"),
    ],
)
def test_spellings_of_the_same_entity_match(asked: str, proposed: str) -> None:
    request = parse_request(asked, CATALOG, DOMAINS)
    assert request is not None and request.action is not None
    assert not_the_request(request, request.action, proposed, CATALOG, DOMAINS) is None


@pytest.mark.parametrize(
    ("asked", "proposed"),
    [
        ("revoke sessions for alice", "alice.martin"),
        ("revoke sessions for alice.martin", "alice.martin@evil.example"),
        ("block domain update-check.example", "cdn-update-check.example"),
        ("block ip 10.10.0.100", "10.10.0.100 10.10.0.10"),
        ("block ip 10.10.0.100", " 10.10.0.100"),
    ],
)
def test_near_misses_do_not_match(asked: str, proposed: str) -> None:
    request = parse_request(asked, CATALOG, DOMAINS)
    assert request is not None and request.action is not None
    assert not_the_request(request, request.action, proposed, CATALOG, DOMAINS) is not None


@pytest.mark.parametrize(
    "message",
    ["what does E1 say?", "summary", "was 10.10.0.100 blocked?", "is LT-FIN-042 isolated?"],
)
def test_without_an_action_word_nothing_is_the_analysts(message: str) -> None:
    assert not asks_for_action(message, CATALOG)
    assert not_the_request(parse_request(message, CATALOG), "block_ip", "10.10.0.100", CATALOG)


@pytest.mark.parametrize(
    "message",
    ["block it", "please sign out alice", "should we isolate DC-01?", "isolate_host X"],
)
def test_action_words_are_whole_words(message: str) -> None:
    assert asks_for_action(message, CATALOG)
