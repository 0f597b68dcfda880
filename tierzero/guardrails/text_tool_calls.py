"""Tool calls a model wrote as text instead of in the API's ``tool_calls`` field.

Small local models served by llama.cpp or llama-cpp-python often answer a tool request with
the call in the message text: a ``<tool_call>{...}</tool_call>`` block (Qwen, Hermes), a
``<tools>[...]</tools>`` block, a fenced JSON object, or the bare object
``{"name": ..., "arguments": {...}}``. Read as findings, such an answer ends the
investigation with a JSON blob as its conclusion. :func:`recognize` turns those into
:class:`ToolCall` objects, which then go through exactly the same validation, mediation and
audit as native calls.

What counts as a call (the text is attacker-influenced, like every model output):

* inside ``<tool_call>``/``<tools>`` tags, any object with a tool name (an unknown name is
  then rejected by the tool loop and the model told so, as for a native call);
* in a fenced block or as the whole answer, only an object naming one of the *offered* tools:
  a JSON object that merely has a ``name`` key is data, not a call.

The name may be under ``name``, ``function``, ``tool`` or ``tool_name`` (or
``{"function": {"name": ...}}``); the arguments under ``arguments``, ``parameters`` or
``args``, as an object or as a JSON string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_TEXT_CALLS = 16  # calls read from one answer; more is not a plausible tool request

_TAGGED = re.compile(r"<(tool_call|tools)>\s*(?P<body>.*?)\s*(?:</\1>|$)", re.DOTALL)
_FENCED = re.compile(r"```(?:json|tool_call|tool)?\s*\n?(?P<body>.*?)```", re.DOTALL)
_NAME_KEYS = ("name", "function", "tool", "tool_name")
_ARGUMENT_KEYS = ("arguments", "parameters", "args")


def offered_names(tools: Sequence[Mapping[str, Any]]) -> frozenset[str]:
    """Names of the tools a request offered (OpenAI ``tools`` entries)."""
    names = set()
    for tool in tools:
        function = tool.get("function")
        if isinstance(function, Mapping) and isinstance(function.get("name"), str):
            names.add(function["name"])
    return frozenset(names)


def recognize(content: str | None, offered: frozenset[str]) -> tuple[list[tuple[str, str]], str]:
    """The (name, JSON arguments) calls written in ``content``, and the text left around them.

    Returns ``([], content)`` when the text holds no call.
    """
    text = content or ""
    if not offered or not text.strip():
        return [], text
    calls: list[tuple[str, str]] = []
    rest = text
    # Tagged blocks first; fenced blocks only when no tag held a call.
    for block, tagged in ((_TAGGED, True), (_FENCED, False)):
        for match in block.finditer(text):
            found = _calls(_json_values(match.group("body")), offered, tagged=tagged)
            if found:
                calls += found
                rest = rest.replace(match.group(0), " ", 1)
        if calls:
            break
    if not calls:
        found = _calls(_json_values(text), offered, tagged=False)
        if found:
            calls, rest = found, ""
    if not calls:
        # A call followed (or preceded) by stray text, e.g. an unclosed fence or the model's
        # guess at the result: each top-level JSON object in the text is tried on its own.
        for start, end, value in _embedded_objects(text):
            found = _calls([value], offered, tagged=False)
            if found:
                calls += found
                rest = rest.replace(text[start:end], " ", 1)
    return calls[:MAX_TEXT_CALLS], rest.strip()


def _embedded_objects(text: str) -> list[tuple[int, int, Any]]:
    """(start, end, value) of each JSON object that starts at a ``{`` outside the objects
    found before it, at most :data:`MAX_TEXT_CALLS` of them."""
    decoder = json.JSONDecoder()
    found: list[tuple[int, int, Any]] = []
    position = text.find("{")
    while position != -1 and len(found) < MAX_TEXT_CALLS:
        try:
            value, end = decoder.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError):
            position = text.find("{", position + 1)
            continue
        found.append((position, end, value))
        position = text.find("{", end)
    return found


def _json_values(text: str) -> list[Any]:
    """The JSON value(s) in a block: one value, or one per line (JSON lines)."""
    text = text.strip()
    if not text:
        return []
    try:
        return [json.loads(text)]
    except (json.JSONDecodeError, RecursionError):
        pass
    values = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            values.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError):
            return []
    return values


def _calls(values: Iterable[Any], offered: frozenset[str], tagged: bool) -> list[tuple[str, str]]:
    out = []
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            call = _call(item)
            if call is not None and (tagged or call[0] in offered):
                out.append(call)
    return out


def _call(item: Any) -> tuple[str, str] | None:
    """(name, arguments as JSON text) of one call object, or None when it is not one."""
    if not isinstance(item, Mapping):
        return None
    name: Any = next((item[k] for k in _NAME_KEYS if k in item), None)
    arguments: Any = next((item[k] for k in _ARGUMENT_KEYS if k in item), None)
    if isinstance(name, Mapping):  # {"function": {"name": ..., "arguments": ...}}
        arguments = next((name[k] for k in _ARGUMENT_KEYS if k in name), arguments)
        name = name.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        return None
    if arguments is None:
        arguments = {}
    if isinstance(arguments, str):
        return name.strip(), arguments  # the tool loop says so if it is not JSON
    if not isinstance(arguments, Mapping):
        return None
    return name.strip(), json.dumps(arguments, ensure_ascii=False)
