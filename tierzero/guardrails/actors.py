"""Who did something: actor names checked at the door and compared as people.

Two questions, two functions:

- :func:`require_actor`: may this name be recorded as the person who approves, denies, rolls
  back or flips the kill switch? Refused: empty or blank, longer than
  :data:`MAX_ACTOR_CHARS`, a control character (escape sequences, newlines), a line or
  paragraph separator, a bidirectional control, or nothing visible left once normalized.
- :func:`same_person` (through :func:`canonical_actor`): do two names denote one person, for a
  separation-of-duties check? Names are compared as a reader of the audit would see them: NFKC
  (fullwidth and styled letters), case-folded, accents and invisible characters ignored, the
  common Cyrillic, Greek and Armenian look-alikes of Latin letters folded to the Latin letter,
  whitespace collapsed, and the ``analyst:`` prefix of a chat request dropped.

The comparison errs toward "same person": two different analysts whose names look alike cannot
approve each other's requests (a third person can), whereas an analyst who spells their own
name with a Cyrillic ``а`` must never approve their own request. Names are stored as typed
(the audit keeps what was said); only comparisons use the canonical form.
"""

from __future__ import annotations

import re
import unicodedata

MAX_ACTOR_CHARS = 100
"""The longest actor name accepted. A chat request records ``analyst:NAME`` in a
``requested_by`` of at most 120 characters (``usecases.analysis``): a longer name would be cut
there and no longer compare equal to the same name given in full to approve."""

ANALYST_PREFIX = "analyst:"
"""How a chat request names its analyst in ``requested_by`` (``analyst:ana``)."""

# Bidirectional controls are format characters (Cf) that reorder what a terminal shows: a name
# holding one can read as another. Refused in names; shown escaped on the terminal.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)

# Refused in a name: C0/C1 controls (ESC starts terminal escape sequences; CR and LF forge
# lines), line and paragraph separators, lone surrogates.
_REFUSED_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})

# Default-ignorable code points that are not format characters (Cf): invisible whatever the
# font. Variation selectors, the combining grapheme joiner, Hangul fillers, Mongolian and Khmer
# invisible marks, the tag and variation selector supplement planes.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xE0000, 0xE0FFF),
)

# Look-alikes of Latin letters that NFKC leaves alone, folded to the Latin letter before case
# folding (case matters: Greek capital nu is N, small nu is v). The common homoglyphs of Unicode's
# confusables list (UTS #39) for the scripts an attacker reaches for first; not the whole list.
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic capitals
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J", "Ү": "Y",
        "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I", "Ь": "b", "З": "3",
        # Cyrillic small letters
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s",
        "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l", "ү": "y",
        "г": "r", "п": "n", "к": "k", "м": "m", "ь": "b",
        # Greek capitals
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
        # Greek small letters
        "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "υ": "u", "γ": "y", "ϲ": "c",
        "ϳ": "j", "κ": "k", "η": "n", "χ": "x",
        # Armenian small letters
        "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "զ": "q",
        # Latin letters outside ASCII that read as ASCII ones
        "ı": "i", "ɑ": "a", "ɡ": "g", "ɩ": "i", "ɪ": "i", "ʏ": "y", "ᴀ": "a", "ᴏ": "o",
    }
)  # fmt: skip

_SPACES = re.compile(r"\s+")


class ActorRefused(ValueError):
    """An actor name that cannot be recorded; the message says why, for a person (it never
    repeats the name itself: the name may hold terminal escape sequences)."""


def is_hidden(char: str) -> bool:
    """True for a character a reader cannot see or that changes what the terminal shows:
    controls, format characters (zero-width, bidirectional, soft hyphen, BOM), line and
    paragraph separators, surrogates, other default-ignorables, and unassigned code points."""
    if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Cn", "Zl", "Zp"):
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def actor_problem(name: str | None) -> str | None:
    """Why ``name`` cannot be recorded as an actor, or None when it can."""
    if name is None or not name.strip():
        return "a name is needed: who does this is recorded in the audit"
    if len(name) > MAX_ACTOR_CHARS:
        return f"the name is {len(name)} characters long; at most {MAX_ACTOR_CHARS}"
    for position, char in enumerate(name, 1):
        if unicodedata.category(char) in _REFUSED_CATEGORIES or char in BIDI_CONTROLS:
            return (
                f"the name holds a control or text-direction character (U+{ord(char):04X} at "
                f"position {position}): names are audited and shown on terminals"
            )
    if not canonical_actor(name):
        return "the name has nothing visible in it"
    return None


def require_actor(name: str | None) -> str:
    """The name to record (without surrounding whitespace), or :class:`ActorRefused`."""
    problem = actor_problem(name)
    if problem is not None:
        raise ActorRefused(problem)
    assert name is not None  # actor_problem refuses None
    return name.strip()


def canonical_actor(name: str) -> str:
    """The person a name denotes, for comparisons only (see the module docstring).

    ``canonical_actor("analyst:Аna")`` (Cyrillic А), ``canonical_actor("a\\u200bna")`` and
    ``canonical_actor("ＡＮＡ")`` are all ``"ana"``. An empty result means the name denotes
    nobody.
    """
    text = name
    # Case folding and look-alike folding feed each other (capital gamma folds to small gamma,
    # which reads as y): repeat until stable; the Latin results are fixed points, so this ends.
    for _ in range(8):
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    text = _SPACES.sub(" ", text).strip()
    while text.startswith(ANALYST_PREFIX):
        text = text.removeprefix(ANALYST_PREFIX).strip()
    return text


def same_person(a: str, b: str) -> bool:
    """True when two names may denote one person: equal once canonical, or either denotes
    nobody (a separation-of-duties check fails closed on a name it cannot read)."""
    first, second = canonical_actor(a), canonical_actor(b)
    return not first or not second or first == second


def _fold_once(text: str) -> str:
    """Compatibility-decompose, drop invisible characters and accents (nonspacing marks), fold
    look-alikes to Latin, case-fold, recompose."""
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(
        char for char in decomposed if not is_hidden(char) and unicodedata.category(char) != "Mn"
    )
    return unicodedata.normalize("NFKC", kept.translate(_CONFUSABLES).casefold())
