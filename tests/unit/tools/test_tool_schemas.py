"""What the model is shown of each tool: no pydantic titles, and a compact form for small
context windows (issue 13: the investigation tools took about 3,300 tokens of an 8k window)."""

from __future__ import annotations

import json

import tierzero.tools  # noqa: F401  (registers the tools)
from tierzero.agents.model_investigator import read_only_tools
from tierzero.guardrails.model_gate import OFFLINE_ENCODING, encoding_for
from tierzero.settings.model import ModelConfig, compact_tools
from tierzero.tools.registry import REGISTRY, first_sentence, without_checks, without_titles


def tokens(tools: list[dict[str, object]]) -> int:
    return len(encoding_for(OFFLINE_ENCODING).encode(json.dumps(tools)))


def test_titles_go_but_a_property_named_title_stays() -> None:
    schema = {
        "title": "args",
        "type": "object",
        "properties": {
            "title": {"title": "Title", "type": "string"},
            "k": {"title": "K", "type": "integer"},
        },
        "$defs": {"Sub": {"title": "Sub", "properties": {"title": {"type": "string"}}}},
    }
    assert without_titles(schema) == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "k": {"type": "integer"}},
        "$defs": {"Sub": {"properties": {"title": {"type": "string"}}}},
    }


def test_no_schema_a_model_sees_carries_a_title() -> None:
    for name in REGISTRY.names("read"):
        text = json.dumps(REGISTRY.get(name).json_schema()["function"]["parameters"])
        assert '"title": "' not in text, name


def test_first_sentence() -> None:
    assert first_sentence("One (e.g. x). Two. Three.") == "One (e.g. x)."
    assert first_sentence("No stop") == "No stop"
    assert first_sentence("Version 1.5 of it. Rest.") == "Version 1.5 of it."


def test_compact_for_a_small_window_and_full_otherwise() -> None:
    assert not compact_tools(ModelConfig())  # no window known: an OpenAI-sized model
    assert compact_tools(ModelConfig(context_window=8192))
    assert not compact_tools(ModelConfig(context_window=32768))
    assert not compact_tools(ModelConfig(context_window=8192, tool_schemas="full"))
    assert compact_tools(ModelConfig(tool_schemas="compact"))


def test_compact_tools_are_the_same_tools_in_fewer_tokens() -> None:
    full = read_only_tools(ModelConfig())
    compact = read_only_tools(ModelConfig(context_window=8192))
    assert [t["function"]["name"] for t in compact] == [t["function"]["name"] for t in full]
    for small, big in zip(compact, full, strict=True):
        assert big["function"]["description"].startswith(small["function"]["description"])
        small_args, big_args = small["function"]["parameters"], big["function"]["parameters"]
        assert small_args.get("required") == big_args.get("required")
        assert set(small_args["properties"]) == set(big_args["properties"])
    assert tokens(compact) < 0.75 * tokens(full)


def test_compact_drops_only_what_the_validator_checks() -> None:
    schema = {
        "properties": {
            "host": {"type": "string", "pattern": "^x$", "maxLength": 9, "description": "Host"},
            "around": {
                "anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}],
                "default": None,
                "description": "When",
            },
            "k": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
        },
        "required": ["host"],
        "additionalProperties": False,
    }
    assert without_checks(schema) == {
        "properties": {
            "host": {"type": "string", "description": "Host"},
            "around": {"type": "string", "format": "date-time", "description": "When"},
            "k": {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
        },
        "required": ["host"],
    }
