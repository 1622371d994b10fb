"""Best-effort parsing of incomplete JSON (reference §4.6, checklist 102)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chatconduit._processor._partial_json import parse_partial_json

CASES: list[tuple[str, Any]] = [
    # empty / whitespace → undefined
    ("", None),
    ("   \n\t", None),
    # unterminated containers are closed
    ("{", {}),
    ("[", []),
    ('{"a": 1, "b":', {"a": 1}),
    ('{"a": 1, "b"', {"a": 1}),
    ('{"a": 1, "b', {"a": 1}),
    ('{"a": 1,', {"a": 1}),
    ("[1, 2,", [1, 2]),
    ('{"a": {"b": [1, {"c": "d', {"a": {"b": [1, {"c": "d"}]}}),
    # unterminated strings are closed; a half-written escape is dropped
    ('{"a": "hel', {"a": "hel"}),
    ('"abc', "abc"),
    ('{"a": "x\\', {"a": "x"}),
    ('{"a": "x\\u00', {"a": "x"}),
    ('{"a": "x\\u00e9', {"a": "xé"}),
    ('{"a": "x\\\\', {"a": "x\\"}),
    ('{"a": "q\\"uo', {"a": 'q"uo'}),
    # half of an escaped surrogate pair is not a character yet
    ('"x\\ud83d', "x"),
    ('"x\\ud83d\\ude00', "x\U0001f600"),
    # unterminated numbers keep their complete part
    ("[1, 2.", [1, 2]),
    ("[1e", [1]),
    ("[1.5e-", [1.5]),
    ('{"a": -', {}),
    ("12", 12),
    # prefixes of literals
    ('{"a": tr', {"a": True}),
    ("[true, fals", [True, False]),
    ("nu", None),
    ("Na", "nan"),
    ("-Inf", -math.inf),
    ("Infinity", math.inf),
    # the tool-argument fixture, delta by delta
    ('{"city":', {}),
    ('{"city": "Zürich",', {"city": "Zürich"}),
    ('{"city": "Zürich", "unit": "celsius"', {"city": "Zürich", "unit": "celsius"}),
    ('{"city": "Zürich", "unit": "celsius"}', {"city": "Zürich", "unit": "celsius"}),
    # trailing garbage after a complete value is ignored (as partial-json does)
    ('{"a":1}xyz', {"a": 1}),
    # damage: what came before it is kept
    ('{"a": 1, oops}', {"a": 1}),
    ('{"a":1,}', {"a": 1}),
    ('{"a": "bad \\x escape"}', {}),
    # nothing usable
    ("xyz", None),
    ("-", None),
    (".5", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_partial_parse_table(text: str, expected: Any) -> None:
    result = parse_partial_json(text)
    if expected == "nan":
        assert isinstance(result, float) and math.isnan(result)
    else:
        assert result == expected
        assert type(result) is type(expected)


def test_raw_control_characters_in_strings_are_accepted() -> None:
    # Models emit raw newlines inside strings; being lenient here loses nothing.
    assert parse_partial_json('{"a": "line\nbreak"}') == {"a": "line\nbreak"}


def test_deep_nesting_does_not_hit_the_recursion_limit() -> None:
    result = parse_partial_json("[" * 50_000 + "1")
    depth = 0
    while isinstance(result, list):
        result = result[0] if result else None
        depth += 1
    assert depth == 50_000
    assert result == 1


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="expects str"):
        parse_partial_json(b"{}")  # type: ignore[arg-type]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(json_values, st.booleans())
def test_complete_documents_parse_exactly_and_every_prefix_is_safe(
    value: Any, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=None)
    assert parse_partial_json(text) == value
    for end in range(len(text)):
        result = parse_partial_json(text[:end])  # never raises
        if isinstance(value, dict | list) and end > 0:
            # Once the opening bracket has arrived, the container is always there.
            assert type(result) is type(value)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.dictionaries(st.text(max_size=6), st.text(max_size=10), min_size=1, max_size=4))
def test_string_members_grow_monotonically(value: dict[str, str]) -> None:
    """Each prefix yields a subset of the members, each string a prefix of the final one."""
    text = json.dumps(value)
    for end in range(1, len(text) + 1):
        partial = parse_partial_json(text[:end])
        assert isinstance(partial, dict)
        for key, got in partial.items():
            assert key in value
            assert value[key].startswith(got)
