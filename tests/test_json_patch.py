"""RFC 6902 JSON Patch / RFC 6901 JSON Pointer (STATE_DELTA)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from chatconduit import _exceptions
from chatconduit._processor._json_patch import apply_patch, json_equal, parse_pointer

JSONPatchError = _exceptions.JSONPatchError

# The examples of RFC 6902 appendix A: (document, patch, expected result).
RFC_EXAMPLES: list[tuple[Any, list[dict[str, Any]], Any]] = [
    ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"baz": "qux", "foo": "bar"}),
    (
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
    (
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    (
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    (
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    (
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2},
        ],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    (
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    (
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
    ({"foo": None}, [{"op": "test", "path": "/foo", "value": None}], {"foo": None}),
    ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    (
        {"foo": "bar"},
        [{"op": "copy", "from": "/foo", "path": "/baz"}],
        {"foo": "bar", "baz": "bar"},
    ),
    ({"a": 1}, [{"op": "replace", "path": "", "value": [1, 2]}], [1, 2]),
    ({"a": 1}, [{"op": "add", "path": "", "value": {"b": 2}}], {"b": 2}),
]


@pytest.mark.parametrize(("doc", "patch", "expected"), RFC_EXAMPLES)
def test_rfc6902_examples(doc: Any, patch: list[dict[str, Any]], expected: Any) -> None:
    before = copy.deepcopy(doc)
    assert apply_patch(doc, patch) == expected
    assert doc == before  # not in place by default


FAILURES: list[tuple[Any, list[Any], str]] = [
    ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}], "test failed"),
    ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}], "/baz does not exist"),
    ({"foo": "bar"}, [{"op": "remove", "path": "/nope"}], "/nope does not exist"),
    ({"foo": "bar"}, [{"op": "replace", "path": "/nope", "value": 1}], "/nope does not exist"),
    ({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 1}], "out of range"),
    ({"a": [1]}, [{"op": "add", "path": "/a/01", "value": 1}], "not an array index"),
    ({"a": [1]}, [{"op": "remove", "path": "/a/-"}], "only valid for adding"),
    ({"a": 1}, [{"op": "add", "path": "/a/b", "value": 1}], "is a int, not a container"),
    ({"a": 1}, [{"op": "add", "path": "a", "value": 1}], "must be empty or start with '/'"),
    ({"a": 1}, [{"op": "add", "path": "/~2", "value": 1}], "invalid '~' escape"),
    ({"a": 1}, [{"op": "frobnicate", "path": "/a"}], "unknown op"),
    ({"a": 1}, [{"op": "add", "path": "/b"}], "missing 'value'"),
    ({"a": 1}, [{"op": "move", "path": "/b"}], "missing 'from'"),
    ({"a": 1}, [{"value": 1, "op": "add"}], "missing 'path'"),
    ({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}], "its own children"),
    ({"a": 1}, [{"op": "remove", "path": ""}], "cannot remove the whole document"),
    ({"a": 1}, ["add"], "must be an object"),
    ({"a": 1}, [{"op": "test", "path": "/a", "value": True}], "test failed"),
]


@pytest.mark.parametrize(("doc", "patch", "message"), FAILURES)
def test_failures_name_the_operation_and_problem(doc: Any, patch: list[Any], message: str) -> None:
    with pytest.raises(JSONPatchError, match=message) as info:
        apply_patch(doc, patch)
    assert "operation 0" in str(info.value)
    assert info.value.operation_index == 0


def test_patch_must_be_a_list() -> None:
    for bad in ({"op": "add"}, "[]", None, 3):
        with pytest.raises(JSONPatchError, match="must be a list of operations"):
            apply_patch({}, bad)


def test_failed_patch_in_place_leaves_the_document_unchanged() -> None:
    doc: dict[str, Any] = {"a": {"x": 1, "y": 2, "z": 3}, "list": [1, 2, 3], "keep": True}
    before = copy.deepcopy(doc)
    patch = [
        {"op": "remove", "path": "/a/y"},  # undo must restore the member order too
        {"op": "add", "path": "/list/0", "value": 0},
        {"op": "replace", "path": "/keep", "value": False},
        {"op": "move", "from": "/list/1", "path": "/a/moved"},
        {"op": "copy", "from": "/a", "path": "/a2"},
        {"op": "add", "path": "/list/-", "value": 99},
        {"op": "test", "path": "/keep", "value": True},  # fails: /keep is False now
    ]
    with pytest.raises(JSONPatchError, match="operation 6") as info:
        apply_patch(doc, patch, in_place=True)
    assert info.value.pointer == "/keep"
    assert doc == before
    assert list(doc["a"]) == ["x", "y", "z"]


def test_in_place_success_mutates_and_values_are_copied_from_the_patch() -> None:
    doc: dict[str, Any] = {"items": []}
    value = {"n": 1}
    result = apply_patch(doc, [{"op": "add", "path": "/items/-", "value": value}], in_place=True)
    assert result is doc
    doc["items"][0]["n"] = 2
    assert value == {"n": 1}  # the event's data is never aliased


def test_move_to_itself_is_a_no_op() -> None:
    assert apply_patch({"a": 1}, [{"op": "move", "from": "/a", "path": "/a"}]) == {"a": 1}


def test_pointer_parsing_and_escapes() -> None:
    assert parse_pointer("") == []
    assert parse_pointer("/") == [""]
    assert parse_pointer("/a~1b/m~0n/~01") == ["a/b", "m~n", "~1"]
    with pytest.raises(JSONPatchError):
        parse_pointer("a")


def test_json_equality_distinguishes_booleans_from_numbers() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert not json_equal(0, False)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
    assert not json_equal("1", 1)
    assert not json_equal([1], {"0": 1})
