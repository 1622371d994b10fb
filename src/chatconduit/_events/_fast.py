"""The JSON fast path's validators: a schema derived from the event classes' own, built at
import and checked there against the reference reading (see the comment below)."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from typing import Any, cast

from pydantic import ValidationError
from pydantic_core import SchemaValidator, core_schema

from ._union import _EVENT_CLASSES

# pydantic can validate JSON bytes straight into a model (its Rust parser, jiter), which skips
# building an intermediate dict and is the fastest path measured (see parse_event_json). But
# jiter and JavaScript's JSON.parse (which _json.loads follows) disagree on a few inputs:
#
# * jiter accepts NaN and Infinity anywhere a value may be - also in a value that a later
#   duplicate key replaces, where no schema ever sees it - and JSON.parse refuses them. A
#   payload holding these bytes is left to the reference path (inside a string they are
#   harmless, and merely cost that payload the slower path);
# * jiter keeps integers beyond 64 bits exact, where orjson and JSON.parse make doubles of
#   them. The fast path validates with its own schema, derived from the event classes'
#   schemas, whose integers are bounded to orjson's range, so that a bigger one becomes the
#   same double; free-form (``Any``) fields and extras get a JSON-value schema that does the
#   same inside nested values. Its floats refuse non-finite values too: ``1e400`` reads as
#   Infinity on both paths, so that only sends a rare payload the slower way, and it lets the
#   import-time check below see that the derived schema is really in force.
#
# Whatever jiter refuses (lone surrogate escapes, invalid UTF-8, deep nesting) and whatever the
# fast schema refuses (unknown event types, wrong field types) is parsed by the reference path
# (``_parse._parse_reference``), so results and errors are unchanged.
# tests/test_codec_properties.py checks the two paths agree on adversarial input.

_NAN_BYTES = re.compile(rb"NaN").search  # re beats bytes.find for these needles (measured)
_INFINITY_BYTES = re.compile(rb"Infinity").search

_JS_VALUE_REF = "chatconduit.js-json-value"
_JS_VALUE: dict[str, Any] = {"type": "definition-ref", "schema_ref": _JS_VALUE_REF}
# orjson parses integers in [-2**63, 2**64) to int and anything beyond to float; jiter keeps
# the digits. Inside these bounds the two agree; outside, an int | float field falls through
# to float (the same double orjson gives) and a free-form value's union does the same.
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1
_SCHEMA_KEYS = ("schema", "items_schema", "keys_schema", "values_schema")
_PLAIN_KINDS = frozenset({"str", "bool", "literal", "default", "nullable", "list", "dict"})
_KNOWN_KINDS = _PLAIN_KINDS | {"any", "int", "float", "union", "model", "model-fields"}
_KNOWN_KINDS |= {"model-field", "function-wrap", "definitions", "definition-ref"}


class _UnsupportedSchema(Exception):
    """A schema node the fast path does not know how to make JS-safe: it stays off."""


def _js_safe(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a pydantic core schema that refuses what jiter and JSON.parse read differently.

    Raises _UnsupportedSchema for a node kind it was not written for.
    """
    kind = schema["type"]
    if kind not in _KNOWN_KINDS:
        raise _UnsupportedSchema(kind)
    if kind == "any":
        return _JS_VALUE
    out = dict(schema)
    if kind == "int":
        if any(key in schema for key in ("ge", "gt", "le", "lt", "multiple_of")):
            raise _UnsupportedSchema("constrained int")
        out.update(ge=_INT_MIN, le=_INT_MAX)
    elif kind == "float":
        out["allow_inf_nan"] = False
    elif kind == "union":
        out["choices"] = [
            _js_safe(c) if isinstance(c, dict) else (_js_safe(c[0]), c[1])
            for c in schema["choices"]
        ]
    elif kind == "definitions":
        # A nested model used twice in one event (``usage: Usage | list[Usage]``) is defined
        # once and referenced: make the definitions safe; the references then point to them.
        out["definitions"] = [_js_safe(d) for d in schema["definitions"]]
    elif kind == "model-fields":
        out["fields"] = {
            name: {**field, "schema": _js_safe(field["schema"])}
            for name, field in schema["fields"].items()
        }
        if "extras_schema" in schema:
            raise _UnsupportedSchema("typed extras")
        out["extras_schema"] = _JS_VALUE  # extras are free-form values, like Any
    for key in _SCHEMA_KEYS:
        if key in out:
            out[key] = _js_safe(out[key])
    return out


def _js_value_definition() -> Any:
    """A JSON value as _json.loads returns it, refusing the jiter-only readings."""
    number_int = core_schema.int_schema(strict=True, ge=_INT_MIN, le=_INT_MAX)
    number_float = core_schema.float_schema(strict=True, allow_inf_nan=False)
    ref = core_schema.definition_reference_schema(_JS_VALUE_REF)
    # left_to_right: JSON true must not reach int, and an int must be tried as int first.
    value = core_schema.union_schema(
        [
            core_schema.bool_schema(strict=True),
            number_int,
            number_float,
            core_schema.str_schema(strict=True),
            core_schema.list_schema(ref),
            core_schema.dict_schema(core_schema.str_schema(), ref),
        ],
        mode="left_to_right",
    )
    return core_schema.nullable_schema(value, ref=_JS_VALUE_REF)


def _model_classes(schema: Any, found: set[type]) -> set[type]:
    """Every model class a core schema validates into (events and their nested objects)."""
    if isinstance(schema, dict):
        if schema.get("type") == "model":
            found.add(schema["cls"])
        for value in schema.values():
            _model_classes(value, found)
    elif isinstance(schema, list | tuple):
        for value in schema:
            _model_classes(value, found)
    return found


def _build_ignoring_prebuilt(schema: Any, classes: set[type]) -> SchemaValidator:
    """``SchemaValidator(schema)``, really built from ``schema``.

    pydantic-core reuses a complete model class's own validator for any ``model`` schema that
    names the class (its "prebuilt" shortcut), which would silently drop the _js_safe changes.
    It only does so for classes whose ``__pydantic_complete__`` is true, so they read as
    incomplete while we build (at import, under the import lock), and are restored after.
    """
    saved = [(cls, cls.__dict__.get("__pydantic_complete__", False)) for cls in classes]
    try:
        for cls, _ in saved:
            type.__setattr__(cls, "__pydantic_complete__", False)
        return SchemaValidator(schema)
    finally:
        for cls, complete in saved:
            type.__setattr__(cls, "__pydantic_complete__", complete)


# What the fast path must read as the reference does, checked once at import: should a
# pydantic-core release ignore our schema, the fast path stays off rather than parse
# differently. Non-finite literals are refused (JSON.parse refuses them); an integer beyond
# 64 bits becomes the double orjson and JSON.parse make of it.
_MUST_REFUSE = (
    b'{"type":"TEXT_MESSAGE_CONTENT","timestamp":NaN}',
    b'{"type":"RUN_FINISHED","usage":{"promptTokens":Infinity}}',
    b'{"type":"CUSTOM","value":[-Infinity]}',
)
_BIG_INT = b'{"type":"CUSTOM","value":18446744073709551616,"extra":-9223372036854775809}'


def _reads_like_the_reference(one: SchemaValidator) -> bool:
    for payload in _MUST_REFUSE:
        try:
            one.validate_python(payload, by_alias=True, by_name=False)
        except ValidationError:
            continue
        return False  # pragma: no cover - depends on the pydantic-core release
    event = one.validate_python(_BIG_INT, by_alias=True, by_name=False)
    return type(event.value) is float and type(event.model_extra["extra"]) is float


def _fast_validators() -> tuple[Callable[..., Any], Callable[..., list[Any]]] | None:
    """(one payload -> event, list of payloads -> events), or None if unavailable."""
    try:
        choices: dict[Hashable, Any] = {
            str(tag): _js_safe(cast(dict[str, Any], cls.__pydantic_core_schema__))
            for tag, cls in _EVENT_CLASSES.items()
        }
    except _UnsupportedSchema:  # pragma: no cover - a pydantic that builds other schemas
        return None
    classes = _model_classes(choices, set())
    # Plain-str tags: the discriminator lookup stays in Rust (EventType hashes in Python).
    union = core_schema.json_schema(core_schema.tagged_union_schema(choices, "type"))
    definitions = [_js_value_definition()]
    one = _build_ignoring_prebuilt(core_schema.definitions_schema(union, definitions), classes)
    many = _build_ignoring_prebuilt(
        core_schema.definitions_schema(core_schema.list_schema(union), definitions), classes
    )
    if not _reads_like_the_reference(one):  # pragma: no cover - depends on pydantic-core
        return None
    return one.validate_python, many.validate_python


_FAST = _fast_validators()
_fast_one, _fast_many = _FAST if _FAST is not None else (None, None)
