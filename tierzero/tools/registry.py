"""One registry of typed tool functions, each tagged with the action class policy keys on.

A tool is a plain function whose first parameter is the injected :class:`ToolContext` (identity,
scope and data sources come from there, never from arguments a model fills) and whose other
parameters are ``Annotated[T, Field(description=...)]``. Registering builds a pydantic model of
those parameters, so every call is validated the same way whoever makes it.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from tierzero.ingest.activity import IdentityActivity
from tierzero.ingest.alert import Alert
from tierzero.tools.attack import Technique
from tierzero.tools.inventory import Inventory

ActionClass = Literal["read", "contain", "disrupt"]


class AlertHistory(Protocol):
    """Past alerts, as the store keeps them (read-only)."""

    def active_hours(
        self, detection_id: str, host: str, since: datetime, before: datetime
    ) -> int: ...


class AlertSource(Protocol):
    """Stored alerts, read-only: what the investigation tools search (the store).

    ``alerts_on_entity`` takes a join key as :func:`~tierzero.correlate.entities.alert_entities`
    makes it with no internal domains; ``cases_of`` maps alert ids to their case (alerts not
    correlated yet are absent). ``activity_on_keys`` and ``case_activity`` read accounts'
    routine identity-provider events (context kept from records that are not alerts).
    """

    def alerts_of_case(
        self, case_id: str, limit: int | None = None, offset: int = 0
    ) -> list[Alert]: ...

    def case_alert_totals(self, case_id: str) -> tuple[int, int]: ...

    def alert(self, alert_id: str) -> Alert | None: ...

    def alerts_on_entity(
        self, key: str, since: datetime, until: datetime, limit: int
    ) -> list[Alert]: ...

    def cases_of(self, alert_ids: Sequence[str]) -> dict[str, str]: ...

    def activity_on_keys(
        self, keys: Sequence[str], since: datetime, until: datetime, limit: int
    ) -> list[IdentityActivity]: ...

    def case_activity(
        self, case_id: str, window: timedelta, limit: int
    ) -> list[IdentityActivity]: ...


class SimilarCaseLookup(Protocol):
    """Similar past cases, read-only: what ``similar_cases`` asks the case memory
    (:class:`tierzero.store.memory.CaseMemory`, the embedded vector store of closed cases)."""

    def similar(self, text: str, k: int, exclude: str | None = None) -> list[Any]: ...


@dataclass(frozen=True)
class ToolContext:
    """What a tool may use, injected by the caller: data sources and the case in scope."""

    inventory: Inventory
    history: AlertHistory | None = None
    case_id: str | None = None
    now: datetime | None = None
    alerts: AlertSource | None = None
    memory: SimilarCaseLookup | None = None
    attack: Mapping[str, Technique] | None = None  # ATT&CK by id; None: the built-in table


class ToolArgumentError(ValueError):
    """Arguments failed validation; ``problems`` lists each field and why."""

    def __init__(self, tool: str, problems: list[str]) -> None:
        super().__init__(f"{tool}: " + "; ".join(problems))
        self.tool = tool
        self.problems = problems


class ToolError(ValueError):
    """A valid call the tool refuses or cannot answer (out of scope, unknown id, no source).

    Raised only after the arguments validated. The message is written for the model and holds
    no alert text; the agent loop hands it back as the call's error result, and the case goes
    on (no control flow depends on the message).
    """


class UnknownToolError(KeyError):
    """No tool of that name is registered."""


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    action_class: ActionClass
    func: Callable[..., Any]
    arguments: type[BaseModel]

    def json_schema(self, compact: bool = False) -> dict[str, Any]:
        """The function schema a model sees (OpenAI tool format), without pydantic's titles
        (they repeat the names). ``compact``: the description's first sentence only, for a
        model whose context window is small (the system prompt already says that tool
        results are data, never instructions)."""
        description = " ".join(self.description.split())
        schema = self.arguments.model_json_schema()
        if compact:
            description = first_sentence(description)
            parameters = _pruned(schema, TITLES | CHECK_ONLY, optional_as_type=True)
        else:
            parameters = without_titles(schema)
        return {
            "type": "function",
            "function": {"name": self.name, "description": description, "parameters": parameters},
        }


_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)\.\s+(?=[A-Z])")


def first_sentence(text: str) -> str:
    """Up to and including the first full stop that ends a sentence (the whole text when
    there is none)."""
    end = _SENTENCE_END.search(text)
    return text if end is None else text[: end.start() + 1]


# Keywords only the validator needs: every call is validated against the full argument model
# anyway, and a refused call comes back to the model with the problems named.
CHECK_ONLY = frozenset({"pattern", "minLength", "maxLength", "additionalProperties"})
TITLES = frozenset({"title"})  # pydantic's, repeating the names
# Keywords whose value is data (a default, the allowed values), never a schema to walk into.
VALUE_KEYWORDS = frozenset({"default", "enum", "const", "examples"})


def without_checks(schema: Any) -> Any:
    """A schema without its validation-only keywords, an optional ``X | None`` shown as X."""
    return _pruned(schema, CHECK_ONLY, optional_as_type=True)


def without_titles(schema: Any) -> Any:
    """A JSON schema without its ``title`` keywords; a property named "title" is kept."""
    return _pruned(schema, TITLES, optional_as_type=False)


def _pruned(schema: Any, drop: frozenset[str], *, optional_as_type: bool) -> Any:
    """``schema`` without the keywords ``drop`` names, at every depth (property names are
    names, not keywords; values of ``VALUE_KEYWORDS`` are left as they are); with
    ``optional_as_type``, an optional ``anyOf [X, null]`` becomes X."""
    if isinstance(schema, list):
        return [_pruned(item, drop, optional_as_type=optional_as_type) for item in schema]
    if not isinstance(schema, dict):
        return schema
    options = schema.get("anyOf")
    if optional_as_type and isinstance(options, list) and len(options) == 2:
        if {"type": "null"} in options:
            (kept,) = [o for o in options if o != {"type": "null"}]
            # "default": null goes too: leaving the argument out is how the model says "none"
            rest = {k: v for k, v in schema.items() if k != "anyOf" and (k, v) != ("default", None)}
            return _pruned({**kept, **rest}, drop, optional_as_type=True)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs") and isinstance(value, dict):
            out[key] = {
                name: _pruned(sub, drop, optional_as_type=optional_as_type)
                for name, sub in value.items()
            }
        elif key in VALUE_KEYWORDS:
            out[key] = value
        elif key not in drop:
            out[key] = _pruned(value, drop, optional_as_type=optional_as_type)
    return out


class ToolRegistry:
    """Name -> tool. ``call`` is the single way tools run."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}

    def register(
        self, *, action_class: ActionClass
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator: register a tool function under its own name."""

        def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
            hints = get_type_hints(func, include_extras=True)
            params = list(inspect.signature(func).parameters.values())
            if not params or params[0].name != "ctx":
                raise TypeError(f"tool {func.__name__} must take ctx: ToolContext first")
            fields: dict[str, Any] = {
                p.name: (hints[p.name], ... if p.default is inspect.Parameter.empty else p.default)
                for p in params[1:]
            }
            model = create_model(
                f"{func.__name__}_arguments",
                __config__=ConfigDict(extra="forbid"),
                **fields,
            )
            doc = inspect.getdoc(func) or ""
            self._tools[func.__name__] = ToolSpec(
                func.__name__, doc.split("\n\n")[0], action_class, func, model
            )
            return func

        return decorate

    def get(self, name: str) -> ToolSpec:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownToolError(name) from None

    def names(self, action_class: ActionClass | None = None) -> list[str]:
        return sorted(n for n, t in self._tools.items() if action_class in (None, t.action_class))

    def validate(self, name: str, arguments: Mapping[str, Any]) -> tuple[ToolSpec, BaseModel]:
        """The tool and its parsed arguments; unknown names and bad arguments raise."""
        spec = self.get(name)
        try:
            return spec, spec.arguments.model_validate(dict(arguments))
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                for e in exc.errors()
            ]
            raise ToolArgumentError(name, problems) from exc

    @staticmethod
    def run(spec: ToolSpec, ctx: ToolContext, parsed: BaseModel) -> Any:
        """Run a tool on arguments that :meth:`validate` returned."""
        return spec.func(ctx, **{k: getattr(parsed, k) for k in type(parsed).model_fields})

    def call(self, name: str, ctx: ToolContext, arguments: Mapping[str, Any]) -> Any:
        """Validate, then run, with no mediation (tests and tools calling tools only)."""
        spec, parsed = self.validate(name, arguments)
        return self.run(spec, ctx, parsed)


REGISTRY = ToolRegistry()
