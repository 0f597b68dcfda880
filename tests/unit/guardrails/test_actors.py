"""Actor names: who may be recorded, and when two names are one person (separation of duties)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.unit.guardrails.test_approvals_properties import DUE, ROW
from tierzero.guardrails.actors import (
    MAX_ACTOR_CHARS,
    ActorRefused,
    actor_problem,
    canonical_actor,
    require_actor,
    same_person,
)
from tierzero.guardrails.approvals import ApprovalAnswer, rule_on_answer

# The same person as requester "ana", spelled to look different to a naive comparison.
SPOOFS = {
    "cyrillic a": "\u0430na",
    "cyrillic capital A": "\u0410NA",
    "zero-width space": "a\u200bna",
    "zero-width joiner": "an\u200da",
    "soft hyphen": "a\u00adna",
    "word joiner": "\u2060ana",
    "combining grapheme joiner": "a\u034fna",
    "tag characters": "ana\U000e0061\U000e007f",
    "variation selector": "a\ufe0fna",
    "fullwidth": "\uff41\uff4e\uff41",
    "fullwidth capitals": "\uff21\uff2e\uff21",
    "mathematical bold": "\U0001d41a\U0001d427\U0001d41a",
    "upper case": "ANA",
    "mixed case": "aNa",
    "chat prefix": "analyst:Ana",
    "fullwidth colon prefix": "ANALYST\uff1aana",
    "surrounding space": "  ana ",
    "no-break space inside prefix": "analyst:\u00a0ana",
    "greek omicron and alpha": "\u03b1n\u03b1",
    "accent": "an\u00e0",
    "combining accent": "ana\u0301",
}


@pytest.mark.parametrize("spelling", SPOOFS.values(), ids=SPOOFS.keys())
def test_every_spelling_of_a_name_is_that_person(spelling: str) -> None:
    assert canonical_actor(spelling) == "ana"
    assert same_person("ana", spelling) and same_person(spelling, "analyst:ana")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ana", "dana"),
        ("ana", "anna"),
        ("ana", "ana.b"),
        ("analyst:ana", "analyst:ben"),
        ("lateral_movement", "dana.soc"),
    ],
)
def test_different_names_are_different_people(a: str, b: str) -> None:
    assert not same_person(a, b)


def test_look_alike_letters_of_other_scripts_fold_to_latin() -> None:
    assert canonical_actor("\u0440\u0430\u0443\u043f\u0435") == "payne"  # all Cyrillic
    assert canonical_actor("\u0392\u039f\u0392") == "bob"  # Greek capitals
    assert canonical_actor("\u0392\u03bf\u0392") == "bob"  # mixed with Greek omicron
    assert canonical_actor("d\u0251n\u0251") == "dana"  # Latin alpha
    assert canonical_actor("\u0131v\u0430n") == "ivan"  # dotless i, Cyrillic a
    assert canonical_actor("b\u0585b") == "bob"  # Armenian oh
    # Case matters before folding: capital nu is N, small nu reads as v.
    assert canonical_actor("\u039dora") == "nora" and canonical_actor("\u03bdera") == "vera"


def test_a_name_that_denotes_nobody_is_never_someone_else() -> None:
    for nobody in ("", "   ", "\u200b\u200c", "analyst:", "analyst:\u2060"):
        assert canonical_actor(nobody) == ""
        assert same_person(nobody, "ana")  # fail closed: cannot tell them apart


def test_the_requester_in_any_spelling_cannot_approve() -> None:
    row = replace(ROW, requested_by="analyst:ana")
    for spelling in SPOOFS.values():
        answer = ApprovalAnswer.for_row(
            row, approved=True, approver=spelling, reason="", at=DUE.replace(minute=0)
        )
        outcome, why = rule_on_answer(row, row.case_id, answer)
        assert (outcome, why) == ("refuse", "the approver cannot be the requester"), spelling
    other = ApprovalAnswer.for_row(
        row, approved=True, approver="dana", reason="", at=DUE.replace(minute=0)
    )
    assert rule_on_answer(row, row.case_id, other)[0] == "approve"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        (None, "a name is needed"),
        ("", "a name is needed"),
        ("  \t ", "a name is needed"),
        ("\x1b[31mx", "U+001B at position 1"),
        ("ana\n2026-11-17 forged", "U+000A at position 4"),
        ("ana\r", "U+000D"),
        ("a\x9bna", "U+009B"),  # C1 control sequence introducer
        ("ana\u202egnp", "U+202E"),  # right-to-left override
        ("ana\u2066", "U+2066"),
        ("ana\u2028", "U+2028"),
        ("\u200b", "nothing visible"),
        ("analyst:", "nothing visible"),
        ("a" * (MAX_ACTOR_CHARS + 1), f"at most {MAX_ACTOR_CHARS}"),
    ],
)
def test_unusable_names_are_refused_saying_why(name: str | None, problem: str) -> None:
    found = actor_problem(name)
    assert found is not None and problem in found
    with pytest.raises(ActorRefused, match="."):
        require_actor(name)
    if name:
        assert "\x1b" not in found and "\n" not in found  # the message never repeats the name


@pytest.mark.parametrize("name", ["ana", "  dana.soc ", "José García", "a" * MAX_ACTOR_CHARS])
def test_usable_names_are_kept_as_typed(name: str) -> None:
    assert require_actor(name) == name.strip()


def test_the_longest_name_fits_a_chat_request_uncut() -> None:
    # usecases.analysis keeps 120 characters of requested_by: "analyst:" + the longest name.
    assert len("analyst:" + "a" * MAX_ACTOR_CHARS) <= 120


names = st.text(st.characters(codec="utf-8"), max_size=24)


@settings(max_examples=400, deadline=None)
@given(name=names)
def test_canonical_form_is_stable(name: str) -> None:
    once = canonical_actor(name)
    assert canonical_actor(once) == once
    assert canonical_actor(name.upper()) == canonical_actor(name.lower()) or not name.isascii()


@settings(max_examples=400, deadline=None)
@given(a=names, b=names)
def test_same_person_is_symmetric_and_reflexive(a: str, b: str) -> None:
    assert same_person(a, a)
    assert same_person(a, b) == same_person(b, a)


@settings(max_examples=300, deadline=None)
@given(name=st.text(st.characters(codec="ascii", categories=("Ll", "Lu", "Nd")), min_size=1))
def test_hiding_characters_in_a_name_does_not_make_another_person(name: str) -> None:
    hidden = "\u200b".join(name) + "\u2060"
    assert same_person(name, hidden)
    assert same_person(name, "analyst:" + name.swapcase())
