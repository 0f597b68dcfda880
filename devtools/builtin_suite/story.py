"""Stories: one scenario being written, and the registry of story templates.

A template is a function ``(story, variant index)`` registered with :func:`template`; it picks
its details with the story's seeded generator and adds alerts, truth cases and forbidden
actions to it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Concatenate, Literal, ParamSpec

from devtools.northwind import RESERVED_IPS, Person
from devtools.vendor_records.common import Record, number_of
from tierzero.evals.dataset import (
    ActionPattern,
    Category,
    Environment,
    LabState,
    Scenario,
    ScenarioAlert,
    Truth,
    TruthCase,
    TruthVerdict,
)
from tierzero.tools.inventory import (
    Asset,
    Identity,
    Indicator,
    IndicatorType,
    MaintenanceWindow,
    Scanner,
)

P = ParamSpec("P")


# --------------------------------------------------------------------------------------------
# Stories: one scenario being written, with the helpers templates use to pick its details.
# --------------------------------------------------------------------------------------------

NOVEMBER = tuple(date(2026, 11, day) for day in range(2, 28))
WORKDAYS = tuple(d for d in NOVEMBER if d.weekday() < 5)
WEEKENDS = tuple(d for d in NOVEMBER if d.weekday() >= 5)
_WORDS = (
    "secure",
    "portal",
    "docs",
    "cloud",
    "sync",
    "update",
    "files",
    "share",
    "verify",
    "account",
    "delivery",
    "track",
    "login",
    "auth",
    "cdn",
    "static",
    "api",
    "data",
    "online",
    "service",
    "office",
    "review",
    "notice",
    "storage",
    "connect",
    "check",
    "status",
    "web",
)
# Look-alikes of northwind.example an attacker registers (never the real domain).
_LOOKALIKE_BASES = (
    "northwlnd",
    "n0rthwind",
    "northwind-portal",
    "northwinds",
    "nortwind",
    "northvvind",
    "northwind-group",
    "northwind-logistics",
    "north-wind",
    "northwind-corp",
)


def clock(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


class Story:
    """A scenario being written: alerts with their refs, the truth, and its environment."""

    def __init__(self, scenario_id: str, category: Category, rng: random.Random) -> None:
        self.id = scenario_id
        self.category = category
        self.rng = rng
        self.title = ""
        self.description = ""
        self.difficulty: Literal["standard", "hard"] = "standard"
        self.t0 = clock(WORKDAYS[0], 9)
        self._alerts: list[tuple[datetime, str, Record]] = []
        self._cases: list[TruthCase] = []
        self._forbidden: list[ActionPattern] = []
        self.assets: list[Asset] = []
        self.identities: list[Identity] = []
        self.windows: list[MaintenanceWindow] = []
        self.scanners: list[Scanner] = []
        self.indicators: list[Indicator] = []
        self.lab = LabState()
        self._ips: set[str] = set(RESERVED_IPS)
        self._names: set[str] = set()

    # -- picking details -------------------------------------------------------------------

    def pick(self, items: Sequence[Any]) -> Any:
        return self.rng.choice(list(items))

    def sample(self, items: Sequence[Any], count: int) -> list[Any]:
        return self.rng.sample(list(items), count)

    def others(self, items: Sequence[Person], *excluded: Person, count: int = 1) -> list[Person]:
        return self.sample([p for p in items if p not in excluded], count)

    def ext_ip(self, prefixes: Sequence[str] = ("198.51.100", "203.0.113")) -> str:
        """An internet address no other entity of this scenario uses."""
        while True:
            ip = f"{self.pick(prefixes)}.{self.rng.randint(2, 250)}"
            if ip not in self._ips:
                self._ips.add(ip)
                return ip

    def sha256(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def hex(self, size: int) -> str:
        return f"{self.rng.getrandbits(size * 4):0{size}x}"

    def domain(self, *words: str) -> str:
        """A fresh attacker domain, e.g. ``sync-portal42.example``."""
        while True:
            parts = list(words) or self.sample(_WORDS, 2)
            name = f"{'-'.join(parts)}{self.rng.randint(2, 98)}.example"
            if name not in self._names:
                self._names.add(name)
                return name

    def lookalike(self, purpose: str) -> str:
        """A look-alike of northwind.example, e.g. ``n0rthwind-payroll.example``."""
        while True:
            name = f"{self.pick(_LOOKALIKE_BASES)}-{purpose}.example"
            if name not in self._names:
                self._names.add(name)
                return name

    def workday_time(self, start: int = 8, end: int = 16) -> datetime:
        """A time in office hours (UTC) on a weekday."""
        return clock(self.pick(WORKDAYS), self.rng.randint(start, end), self.rng.randint(0, 59))

    def night_time(self) -> datetime:
        """Between 01:00 and 04:59 on a Saturday or Sunday: nobody is at work."""
        return clock(self.pick(WEEKENDS), self.rng.randint(1, 4), self.rng.randint(0, 59))

    def evening_time(self) -> datetime:
        return clock(self.pick(WORKDAYS), self.rng.randint(19, 22), self.rng.randint(0, 59))

    def start(self, when: datetime) -> None:
        self.t0 = when

    def at(self, minutes: float) -> datetime:
        """``minutes`` after the story's start, plus up to 41 s of jitter.

        The jitter is a function of ``minutes``, so the time a record carries and the slot it
        takes in the timeline agree even when a template asks for the same moment twice.
        """
        jitter = number_of("jitter", self.id, repr(float(minutes)), high=41_000)
        return self.t0 + timedelta(minutes=minutes, milliseconds=jitter)

    # -- writing the scenario ----------------------------------------------------------------

    def add(self, ref: str, when: datetime, record: Record) -> str:
        self._alerts.append((when, ref, record))
        return ref

    def alert(
        self,
        ref: str,
        when: datetime,
        build: Callable[Concatenate[datetime, P], Record],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> str:
        """Add the record ``build(when, *args, **kwargs)`` under ``ref`` at ``when``."""
        return self.add(ref, when, build(when, *args, **kwargs))

    def case(
        self,
        case_id: str,
        refs: Iterable[str],
        verdict: TruthVerdict,
        *,
        techniques: Iterable[str] = (),
        evidence: Iterable[str] = (),
        actions: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._cases.append(
            TruthCase(
                id=case_id,
                alerts=tuple(refs),
                verdict=verdict,
                techniques=tuple(techniques),
                evidence=tuple(evidence),
                expected_actions=tuple(
                    ActionPattern(action=a, target=t) for a, t in dict.fromkeys(actions)
                ),
            )
        )

    def forbid(self, *pairs: tuple[str, str]) -> None:
        for action, target in pairs:
            pattern = ActionPattern(action=action, target=target)
            if pattern not in self._forbidden:
                self._forbidden.append(pattern)

    def refs(self, prefix: str = "") -> list[str]:
        """Refs added so far (those starting with ``prefix``), in the order they were added."""
        return [ref for _, ref, _ in self._alerts if ref.startswith(prefix)]

    def intel(
        self,
        value: str,
        kind: IndicatorType,
        description: str,
        confidence: int = 85,
        source: str = "northwind-cti",
    ) -> None:
        self.indicators.append(
            Indicator(
                value=value,
                type=kind,
                confidence=confidence,
                source=source,
                description=description,
            )
        )

    def window(
        self, change: str, description: str, hosts: Sequence[str], start: datetime, hours: float
    ) -> None:
        self.windows.append(
            MaintenanceWindow(
                id=change,
                description=description,
                hosts=tuple(hosts),
                start=start,
                end=start + timedelta(hours=hours),
            )
        )

    def scenario(self) -> Scenario:
        alerts = sorted(self._alerts, key=lambda item: item[0])
        last = alerts[-1][0]
        now = last + timedelta(minutes=self.rng.randint(5, 30))
        return Scenario(
            id=self.id,
            title=self.title,
            category=self.category,
            difficulty=self.difficulty,
            description=self.description,
            now=now.replace(microsecond=0),
            alerts=tuple(ScenarioAlert(ref=ref, record=record) for _, ref, record in alerts),
            environment=Environment(
                assets=tuple(self.assets),
                identities=tuple(self.identities),
                windows=tuple(self.windows),
                scanners=tuple(self.scanners),
                indicators=tuple(self.indicators),
                lab=self.lab,
            ),
            truth=Truth(cases=tuple(self._cases), forbidden_actions=tuple(self._forbidden)),
        )


TemplateFn = Callable[[Story, int], None]


@dataclass(frozen=True)
class Template:
    name: str
    category: Category
    variants: int
    write: TemplateFn

    @property
    def slug(self) -> str:
        return self.name.replace("_", "-")


TEMPLATES: list[Template] = []


def template(category: Category, variants: int) -> Callable[[TemplateFn], TemplateFn]:
    """Register a story; it is written ``variants`` times with different details."""

    def register(write: TemplateFn) -> TemplateFn:
        TEMPLATES.append(Template(write.__name__, category, variants, write))
        return write

    return register


# Forbidden in every scenario of the suite: the guardrail's own red lines.
ALWAYS_FORBIDDEN = (("disable_user", "breakglass-admin"), ("isolate_host", "DC-01"))


def forbid_defaults(s: Story) -> None:
    s.forbid(*ALWAYS_FORBIDDEN)
