"""The AG-UI event model: parsing, re-encoding (to the byte), leniency and strictness.

Run as a script (``python tests/test_events.py``) to print the parse/encode speed numbers
quoted in ``chatconduit._events.parse_event_json``; the tests never time anything.
"""

from __future__ import annotations

import gc
import json
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from chatconduit import BaseEvent, EventType, MalformedEventError, ProtocolError, _events
from chatconduit._events import WireModel, event_adapter, parse_event_json_batch
from chatconduit.events import (
    CustomEvent,
    RunErrorDetail,
    RunErrorEvent,
    RunFinishedEvent,
    RunStartedEvent,
    StepFinishedEvent,
    TextMessageContentEvent,
    TextMessageEndEvent,
    TextMessageStartEvent,
    ToolCallEndEvent,
    ToolCallStartEvent,
    UnknownEvent,
    Usage,
    coerce_event,
    event_class_for,
    event_to_dict,
    event_to_json,
    is_terminal,
    parse_event,
    parse_event_json,
)

RESPONSES = Path(__file__).parent / "fixtures" / "tanstack-0.10" / "responses"
EVENT_FILES = sorted(
    p for p in RESPONSES.iterdir() if p.suffix in (".sse", ".ndjson") and p.stem != "http500"
)


def event_payloads(path: Path) -> list[bytes]:
    """The JSON payload of every event in a fixture body, as the exact bytes on the wire."""
    body = path.read_bytes()
    if path.suffix == ".sse":
        frames = body.split(b"\n\n")
        assert frames[-1] == b""  # the body ends with a complete frame
        assert all(f.startswith(b"data: ") and b"\n" not in f for f in frames[:-1])
        return [f[len(b"data: ") :] for f in frames[:-1]]
    lines = body.split(b"\n")
    assert lines[-1] == b""
    return lines[:-1]


def expected_class_name(event_type: str) -> str:
    """``TEXT_MESSAGE_CONTENT`` -> ``TextMessageContentEvent``, derived independently."""
    return "".join(word.capitalize() for word in event_type.split("_")) + "Event"


# --- the reference's bytes -------------------------------------------------------------------


def test_fixture_files_are_present() -> None:
    assert len(EVENT_FILES) == 14  # 7 scenarios x (sse, ndjson)
    assert sum(len(event_payloads(p)) for p in EVENT_FILES) == 248


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_every_fixture_event_round_trips_to_the_byte(path: Path) -> None:
    for raw in event_payloads(path):
        original = json.loads(raw)
        event = parse_event_json(raw)
        assert type(event).__name__ == expected_class_name(original["type"])
        assert event.type == original["type"]
        encoded = event_to_dict(event)
        assert encoded == original
        assert list(encoded) == list(original)  # key order, which == on dicts ignores
        assert event_to_json(event).encode("utf-8") == raw
        # The str path and the dict path give the same event.
        assert parse_event_json(raw.decode("utf-8")) == event == parse_event(original)


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_whole_fixture_body_is_reproduced(path: Path) -> None:
    frame = (b"data: %s\n\n") if path.suffix == ".sse" else b"%s\n"
    events = [parse_event_json(raw) for raw in event_payloads(path)]
    rebuilt = b"".join(frame % event_to_json(e).encode("utf-8") for e in events)
    assert rebuilt == path.read_bytes()


def snake(key: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in key)


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.name)
def test_events_built_in_python_come_out_in_tanstack_order(path: Path) -> None:
    """Keyword order in Python must not matter: the class knows TanStack's order."""
    for raw in event_payloads(path):
        original = json.loads(raw)
        cls = event_class_for(original["type"])
        kwargs = {snake(k): v for k, v in original.items() if k != "type"}
        built = cls(**dict(reversed(list(kwargs.items()))))
        assert event_to_json(built).encode("utf-8") == raw


def test_reference_shapes_built_by_hand() -> None:
    started = RunStartedEvent(timestamp=1, model="m", thread_id="t", run_id="r")
    assert event_to_json(started) == (
        '{"type":"RUN_STARTED","runId":"r","threadId":"t","model":"m","timestamp":1}'
    )
    content = TextMessageContentEvent(
        content="hi", delta="hi", timestamp=2, model="m", message_id="x"
    )
    assert event_to_json(content) == (
        '{"type":"TEXT_MESSAGE_CONTENT","messageId":"x","model":"m","timestamp":2,'
        '"delta":"hi","content":"hi"}'
    )
    # The server helper's error event: no top-level message, code omitted when absent.
    server_error = RunErrorEvent(error=RunErrorDetail(message="boom"), timestamp=3)
    assert (
        event_to_json(server_error)
        == '{"type":"RUN_ERROR","timestamp":3,"error":{"message":"boom"}}'
    )
    # The client's synthesized error (client/http500.sse.json).
    client_error = RunErrorEvent(
        message="HTTP error! status: 500",
        error={"message": "HTTP error! status: 500"},  # type: ignore[arg-type]  # a dict works too
        timestamp=4,
        run_id="run-1",
        thread_id="thread-1",
    )
    assert list(event_to_dict(client_error)) == [
        "type",
        "threadId",
        "runId",
        "timestamp",
        "message",
        "error",
    ]
    finished = RunFinishedEvent(
        usage=Usage(total_tokens=3, prompt_tokens=1, completion_tokens=2), finish_reason="stop"
    )
    assert event_to_json(finished) == (
        '{"type":"RUN_FINISHED","finishReason":"stop",'
        '"usage":{"promptTokens":1,"completionTokens":2,"totalTokens":3}}'
    )
    custom = CustomEvent(
        value={"toolCallId": "c"}, name="tool-input-available", model="m", timestamp=5
    )
    assert event_to_json(custom) == (
        '{"type":"CUSTOM","timestamp":5,"model":"m","name":"tool-input-available",'
        '"value":{"toolCallId":"c"}}'
    )


# --- construction and access -------------------------------------------------------------------


def test_constructor_sets_type_and_accepts_both_spellings() -> None:
    event = TextMessageContentEvent(message_id="m", delta="hi")
    assert event.type == EventType.TEXT_MESSAGE_CONTENT
    assert event.type == "TEXT_MESSAGE_CONTENT"
    assert isinstance(event.type, str)
    assert TextMessageContentEvent(messageId="m", delta="hi") == event
    assert event_to_dict(event) == {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "hi"}


def test_snake_case_attributes_on_parsed_events() -> None:
    event = parse_event_json(
        b'{"type":"TOOL_CALL_START","toolCallId":"c","toolName":"w","parentMessageId":"p","index":2}'
    )
    assert isinstance(event, ToolCallStartEvent)
    assert (event.tool_call_id, event.tool_name, event.parent_message_id, event.index) == (
        "c",
        "w",
        "p",
        2,
    )
    assert event.tool_call_name is None  # absent reads as None ...
    assert event.resolved_tool_name == "w"  # ... and the deprecated alias fills in
    finished = parse_event_json(
        b'{"type":"RUN_FINISHED","usage":{"promptTokens":1,"completionTokens":2,"totalTokens":3}}'
    )
    assert isinstance(finished, RunFinishedEvent)
    assert isinstance(finished.usage, Usage)
    assert finished.usage.total_tokens == 3


def test_absent_and_null_are_different() -> None:
    absent = TextMessageStartEvent(message_id="m")
    explicit = TextMessageStartEvent(message_id="m", role=None)
    assert event_to_json(absent) == '{"type":"TEXT_MESSAGE_START","messageId":"m"}'
    assert event_to_json(explicit) == '{"type":"TEXT_MESSAGE_START","messageId":"m","role":null}'
    raw = b'{"type":"RUN_FINISHED","runId":"r","finishReason":null,"result":null}'
    assert event_to_json(parse_event_json(raw)).encode() == raw


def test_run_error_message_resolution() -> None:
    server = parse_event_json(b'{"type":"RUN_ERROR","error":{"message":"inner","code":"x"}}')
    assert isinstance(server, RunErrorEvent)
    assert (server.message, server.error_message, server.error_code) == (None, "inner", "x")
    both = RunErrorEvent(message="outer", code="c", error=RunErrorDetail(message="inner", code="x"))
    assert (both.error_message, both.error_code) == ("outer", "c")
    assert RunErrorEvent().error_message == "An error occurred"


def test_is_terminal() -> None:
    assert is_terminal(RunFinishedEvent())
    assert is_terminal(RunErrorEvent())
    assert not is_terminal(TextMessageContentEvent(delta="x"))
    assert not is_terminal(parse_event({"type": "RUN_FINISHED_LATER"}))
    assert is_terminal({"type": "RUN_ERROR", "message": "x"})
    assert not is_terminal({"type": "RUN_STARTED"})


def test_every_event_type_has_its_class() -> None:
    for member in EventType:
        cls = event_class_for(member)
        assert cls.__name__ == expected_class_name(member.value)
        assert cls().type == member
        assert event_to_dict(cls()) == {"type": member.value}
    assert event_class_for("NOT_A_TYPE") is UnknownEvent


def test_coerce_event_accepts_dicts_and_events() -> None:
    event = StepFinishedEvent(step_name="s", delta="d")
    assert coerce_event(event) is event
    from_dict = coerce_event({"type": "STEP_FINISHED", "stepName": "s", "delta": "d"})
    assert from_dict == event
    # Every function taking an event takes the dict too.
    assert event_to_json({"type": "TEXT_MESSAGE_END", "messageId": "m"}) == (
        '{"type":"TEXT_MESSAGE_END","messageId":"m"}'
    )
    assert coerce_event({"type": EventType.TEXT_MESSAGE_END}) == TextMessageEndEvent()
    assert parse_event(types.MappingProxyType({"type": "RAW", "event": 1})).event == 1  # type: ignore[union-attr]


def test_type_adapter_routes_known_and_unknown_types() -> None:
    known = event_adapter.validate_python(
        {"type": "TOOL_CALL_END", "toolCallId": "c", "result": "1"}
    )
    assert isinstance(known, ToolCallEndEvent)
    assert known.result == "1"
    unknown = event_adapter.validate_json(b'{"type":"VENDOR_X","a":1}')
    assert isinstance(unknown, UnknownEvent)
    assert unknown.model_extra == {"a": 1}

    class Envelope(BaseModel):
        chunk: Any

    assert event_adapter.validate_python(Envelope(chunk=known).chunk) is known


# --- unknown data survives ---------------------------------------------------------------------


def test_unknown_type_keeps_every_field_unvalidated() -> None:
    raw = (
        b'{"timestamp":"yesterday","type":"VENDOR_PING","model":{"id":7},'
        b'"nested":{"a":[1,2.5,null]},"z":"\xc3\xa9"}'
    )
    event = parse_event_json(raw)
    assert isinstance(event, UnknownEvent)
    assert event.type == "VENDOR_PING"
    assert event.timestamp == "yesterday"
    assert event.model_extra == {"nested": {"a": [1, 2.5, None]}, "z": "é"}
    # type is always written first; everything else keeps its place.
    assert event_to_json(event).encode() == (
        b'{"type":"VENDOR_PING","timestamp":"yesterday","model":{"id":7},'
        b'"nested":{"a":[1,2.5,null]},"z":"\xc3\xa9"}'
    )


def test_unknown_fields_on_known_types_keep_their_place() -> None:
    raw = (
        b'{"type":"TEXT_MESSAGE_CONTENT","vendorFlag":true,"messageId":"m",'
        b'"delta":"x","zzz":null,"model":"m2"}'
    )
    event = parse_event_json(raw)
    assert isinstance(event, TextMessageContentEvent)
    assert event.model_extra == {"vendorFlag": True, "zzz": None}
    assert event_to_json(event).encode() == raw


def test_snake_case_keys_on_the_wire_are_extras_not_fields() -> None:
    raw = b'{"type":"TEXT_MESSAGE_CONTENT","message_id":"m","delta":"x"}'
    event = parse_event_json(raw)
    assert isinstance(event, TextMessageContentEvent)
    assert event.message_id is None
    assert event_to_json(event).encode() == raw


def test_json_fast_path_is_on_and_keeps_the_payload_not_a_key_tuple() -> None:
    # If a pydantic release built other schemas, parsing would silently take the slow path.
    assert _events._FAST is not None
    raw = b'{"type":"TEXT_MESSAGE_CONTENT","delta":"x","messageId":"m"}'
    event = parse_event_json(raw)
    assert _events._get_wire_keys(event) is raw  # nothing built per event for key order
    assert event_to_json(event).encode() == raw
    assert _events._get_wire_keys(event) == ("type", "delta", "messageId")  # read once, kept


def test_numbers_read_the_same_whichever_parser_reads_the_payload() -> None:
    # A lone surrogate escape sends a payload to the stdlib parser (orjson refuses it): big
    # integers must still become the double orjson and JSON.parse make of them.
    for extra in (b"", b',"note":"\\ud800"'):
        raw = b'{"type":"CUSTOM","value":[18446744073709551616,-9223372036854775809,7]' + extra
        event = parse_event_json(raw + b"}")
        assert isinstance(event, CustomEvent)
        assert event.value == [1.8446744073709552e19, -9.223372036854776e18, 7]
        assert [type(v) for v in event.value] == [float, float, int]


def test_non_finite_numbers_encode_as_null_also_when_orjson_cannot_encode() -> None:
    # 1e400 is Infinity in JSON.parse; JSON.stringify writes it as null, lone surrogate or not
    event = parse_event_json(b'{"type":"TEXT_MESSAGE_CONTENT","delta":"\\ud800","timestamp":1e400}')
    assert (
        event_to_json(event) == '{"type":"TEXT_MESSAGE_CONTENT","delta":"\\ud800","timestamp":null}'
    )


def test_a_parsed_event_leaves_three_objects_for_the_garbage_collector() -> None:
    """GC time grows with the tracked objects each event leaves behind: pydantic's instance,
    its ``__dict__`` (tracked: it holds the ``EventType`` member) and its fields set, and
    nothing of ours (the payload kept for key order is ``bytes``, which is untracked)."""
    payloads = [
        b'{"type":"TEXT_MESSAGE_CONTENT","messageId":"m","model":"x","delta":"%d"}' % n
        for n in range(500)
    ]
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()  # nothing may be untracked or freed while counting
    try:
        before = len(gc.get_objects())
        one_by_one = [parse_event_json(p) for p in payloads]
        batch = parse_event_json_batch(payloads)
        tracked = len(gc.get_objects()) - before
    finally:
        if was_enabled:
            gc.enable()
    assert len(one_by_one) == len(batch) == 500
    assert tracked <= 3 * 1000 + 10  # the two lists and a little slack


def test_key_order_is_remembered_but_does_not_affect_equality() -> None:
    canonical = parse_event_json(b'{"type":"TEXT_MESSAGE_END","messageId":"m","timestamp":1}')
    shuffled = parse_event_json(b'{"timestamp":1,"messageId":"m","type":"TEXT_MESSAGE_END"}')
    assert canonical == shuffled
    assert event_to_json(shuffled) == '{"type":"TEXT_MESSAGE_END","timestamp":1,"messageId":"m"}'
    # A copy forgets the arrival order and falls back to the canonical one.
    assert event_to_json(shuffled.model_copy()) == event_to_json(canonical)


def test_fields_set_after_parsing_are_written_after_the_original_keys() -> None:
    event = parse_event_json(b'{"type":"TEXT_MESSAGE_CONTENT","delta":"x","messageId":"m"}')
    assert isinstance(event, TextMessageContentEvent)
    event.content = "all of x"
    assert event_to_json(event) == (
        '{"type":"TEXT_MESSAGE_CONTENT","delta":"x","messageId":"m","content":"all of x"}'
    )


def test_nested_objects_keep_their_key_order_and_extras() -> None:
    raw = (
        b'{"type":"RUN_FINISHED","usage":{"totalTokens":3,"promptTokens":1,"cachedTokens":9},'
        b'"result":{"b":1,"a":2}}'
    )
    event = parse_event_json(raw)
    assert isinstance(event, RunFinishedEvent)
    assert isinstance(event.usage, Usage)
    assert event.usage.model_extra == {"cachedTokens": 9}
    assert event_to_json(event).encode() == raw


def test_agui_list_usage_is_accepted() -> None:
    # Typed since AG-UI usage lists became common (TanStack 0.58, pydantic-ai): each entry is
    # a Usage (AG-UI spelling), extras kept; it was a list of plain dicts before.
    raw = b'{"type":"RUN_FINISHED","usage":[{"provider":"openai","inputTokens":3}]}'
    event = parse_event_json(raw)
    assert isinstance(event, RunFinishedEvent)
    assert event.usage == [Usage(input_tokens=3, provider="openai")]
    assert event_to_json(event).encode() == raw


def test_foreign_models_in_free_form_fields_are_dumped() -> None:
    class Point(BaseModel):
        x_pos: int

    event = CustomEvent(name="p", value=Point(x_pos=1))
    assert event_to_dict(event)["value"] == {"x_pos": 1}


def test_non_ascii_and_escapes_match_json_stringify() -> None:
    delta = 'line\u2028sep "q" \\ \t 👩\u200d👩 \ud800'
    event = TextMessageContentEvent(message_id="m", delta=delta)
    text = event_to_json(event)
    assert "\u2028" in text  # written raw, as JSON.stringify does
    assert "\\ud800" in text  # a lone surrogate is escaped
    assert parse_event_json(text) == event


# --- bad input ---------------------------------------------------------------------------------

BAD_INPUTS: list[tuple[str | bytes, str]] = [
    (b"", "not valid JSON"),
    (b'{"type":"RUN_STARTED"', "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[1,2]", "not a JSON object but list"),
    (b"null", "not a JSON object but null"),
    (b'"RUN_STARTED"', "not a JSON object but str"),
    (b"42", "not a JSON object but int"),
    (b"{}", "has no 'type'"),
    (b'{"runId":"r"}', "has no 'type'"),
    (b'{"type":7}', "'type' is not a string but int"),
    (b'{"type":null}', "'type' is not a string but NoneType"),
    (
        b'{"type":"TEXT_MESSAGE_CONTENT","delta":5}',
        "invalid TEXT_MESSAGE_CONTENT event: field 'delta'",
    ),
    (b'{"type":"RUN_STARTED","timestamp":"1"}', "invalid RUN_STARTED event: field 'timestamp'"),
    (b'{"type":"RUN_FINISHED","usage":"lots"}', "field 'usage'"),
    (
        b'{"type":"RUN_FINISHED","usage":{"promptTokens":"x"}}',
        "field 'usage': Input should be a valid integer (at usage.promptTokens)",
    ),
    (b'{"type":"RUN_ERROR","error":{"message":1}}', "field 'error'"),
    (b'{"type":"TOOL_CALL_START","metadata":[1]}', "field 'metadata'"),
    (b'{"type":"TOOL_CALL_END","result":{"temperature":21}}', "field 'result'"),
    (b'{"type":"MESSAGES_SNAPSHOT","messages":{"id":"m"}}', "field 'messages'"),
    (b'{"type":"ACTIVITY_SNAPSHOT","replace":"yes"}', "field 'replace'"),
]


@pytest.mark.parametrize(("data", "problem"), BAD_INPUTS, ids=[str(d[0])[:40] for d in BAD_INPUTS])
def test_bad_input_raises_malformed_event_error(data: bytes, problem: str) -> None:
    with pytest.raises(MalformedEventError) as info:
        parse_event_json(data)
    assert problem in str(info.value)
    assert isinstance(info.value, ProtocolError)
    assert info.value.excerpt is not None
    assert info.value.__cause__ is None  # no pydantic traceback noise chained on


def test_several_bad_fields_are_all_named() -> None:
    with pytest.raises(MalformedEventError) as info:
        parse_event({"type": "TEXT_MESSAGE_CONTENT", "messageId": 1, "delta": [], "content": {}})
    message = str(info.value)
    assert "'messageId'" in message and "'delta'" in message and "'content'" in message


def test_excerpt_is_short_for_huge_input() -> None:
    data = b'{"type":"TEXT_MESSAGE_CONTENT","delta":' + b"1" * 100_000 + b"}"
    with pytest.raises(MalformedEventError) as info:
        parse_event_json(data)
    assert len(str(info.value)) < 600


def test_parse_event_rejects_non_mappings() -> None:
    with pytest.raises(MalformedEventError, match="not a JSON object but list"):
        parse_event([("type", "RUN_STARTED")])  # type: ignore[arg-type]
    with pytest.raises(MalformedEventError, match="has no 'type'"):
        event_to_dict({"runId": "r"})


def test_http_error_body_is_not_an_event() -> None:
    body = (RESPONSES / "http500.sse").read_bytes()
    with pytest.raises(MalformedEventError, match="not valid JSON"):
        parse_event_json(body)


# --- strictness, for every declared field --------------------------------------------------------

_CANDIDATES: list[tuple[type, Any]] = [
    (str, "s"),
    (float, 1.5),
    (list, [1]),
    (dict, {"k": 1}),
    (bool, True),
]


def _accepted_types(annotation: Any) -> set[type] | None:
    """The JSON value types a field annotation accepts, or None for Any."""
    if annotation is Any:
        return None
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        accepted: set[type] = set()
        for arg in args:
            sub = _accepted_types(arg)
            if sub is None:
                return None
            accepted |= sub
        return accepted
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, WireModel):
        return {dict}
    return {origin}


def _all_event_fields() -> list[tuple[str, str, Any]]:
    out = []
    for member in EventType:
        cls = event_class_for(member)
        for name, info in cls.model_fields.items():
            if name != "type":
                out.append((member.value, info.alias or name, info.annotation))
    return out


@pytest.mark.parametrize(("event_type", "key", "annotation"), _all_event_fields())
def test_every_typed_field_rejects_a_wrong_type(event_type: str, key: str, annotation: Any) -> None:
    accepted = _accepted_types(annotation)
    if accepted is None:
        event = parse_event({"type": event_type, key: {"any": ["thing"]}})
        assert event_to_dict(event)[key] == {"any": ["thing"]}
        return
    wrong = next(value for kind, value in _CANDIDATES if kind not in accepted)
    with pytest.raises(MalformedEventError, match=f"field '{key}'"):
        parse_event({"type": event_type, key: wrong})
    with pytest.raises(MalformedEventError, match=f"field '{key}'"):  # the JSON fast path
        parse_event_json(json.dumps({"type": event_type, key: wrong}).encode())


# --- property: anything valid round-trips ----------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _value_strategy(annotation: Any) -> st.SearchStrategy[Any]:
    if annotation is Any:
        return json_values
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return st.one_of([_value_strategy(a) for a in typing.get_args(annotation)])
    origin = typing.get_origin(annotation) or annotation
    if isinstance(origin, type) and issubclass(origin, WireModel):
        return _wire_dict_strategy(origin)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        type(None): st.none(),
        str: st.text(),
        int: st.integers(min_value=-(2**53), max_value=2**53),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
        dict: st.dictionaries(st.text(max_size=5), json_values, max_size=3),
        list: st.lists(json_values, max_size=3),
    }
    if origin is list and typing.get_args(annotation):  # typed items: usage, outcome ids
        return st.lists(_value_strategy(typing.get_args(annotation)[0]), max_size=3)
    return simple[origin]


@st.composite
def _wire_dict_strategy(
    draw: st.DrawFn, cls: type[WireModel], event_type: str | None = None
) -> dict[str, Any]:
    """A wire dict for cls: any subset of its fields, extras, in any order."""
    fields = {
        info.alias or n: info.annotation for n, info in cls.model_fields.items() if n != "type"
    }
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True)) if fields else []
    items = [(key, draw(_value_strategy(fields[key]))) for key in chosen]
    reserved = set(fields) | {"type"}
    extras = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=6).filter(lambda k: k not in reserved),
            json_values,
            max_size=2,
        )
    )
    items += list(extras.items())
    items = draw(st.permutations(items))
    if event_type is not None:
        position = draw(st.integers(min_value=0, max_value=len(items)))
        items.insert(position, ("type", event_type))
    return dict(items)


@st.composite
def wire_events(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from([m.value for m in EventType] + ["VENDOR_EVENT"]))
    cls = event_class_for(event_type)
    return draw(_wire_dict_strategy(cls, event_type))


@settings(max_examples=300, deadline=None)
@given(wire_events())
def test_any_valid_event_round_trips(obj: dict[str, Any]) -> None:
    text = json.dumps(obj, ensure_ascii=False)
    event = parse_event_json(text)
    assert isinstance(event, event_class_for(obj["type"]))
    out = event_to_dict(event)
    expected = {"type": obj["type"], **{k: v for k, v in obj.items() if k != "type"}}
    assert out == expected
    assert list(out) == list(expected)  # type first, the rest in arrival order
    again = parse_event_json(event_to_json(event))
    assert again == event
    assert event_to_dict(again) == out


@settings(max_examples=200, deadline=None)
@given(wire_events())
def test_events_built_from_snake_case_kwargs_equal_parsed_ones(obj: dict[str, Any]) -> None:
    cls = event_class_for(obj["type"])
    names = {info.alias: name for name, info in cls.model_fields.items()}
    kwargs = {names.get(k, k): v for k, v in obj.items()}
    if cls is not UnknownEvent:
        kwargs.pop("type")
    built: BaseEvent = cls(**kwargs)
    parsed = parse_event(obj)
    assert built == parsed
    assert event_to_dict(built) == event_to_dict(parsed)


# --- speed report (not a test) ---------------------------------------------------------------


def _report_speed() -> None:  # pragma: no cover - manual measurement helper
    import time

    import orjson

    payloads = [
        raw for path in EVENT_FILES if path.suffix == ".ndjson" for raw in event_payloads(path)
    ]
    classes = {t.value: event_class_for(t) for t in EventType}

    def best_of(fn: Any, data: list[Any], reps: int = 200) -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(reps):
                for item in data:
                    fn(item)
            best = min(best, (time.perf_counter() - start) / (reps * len(data)))
        return best * 1e6

    def via_union_json(raw: bytes) -> Any:
        return event_adapter.validate_json(raw)

    def via_union_python(raw: bytes) -> Any:
        return event_adapter.validate_python(orjson.loads(raw))

    def via_construct(raw: bytes) -> Any:
        obj = orjson.loads(raw)
        return classes[obj["type"]].model_construct(**obj)

    def via_stdlib(raw: bytes) -> Any:
        obj = json.loads(raw)
        return classes[obj["type"]].model_validate(obj)

    events = [parse_event_json(raw) for raw in payloads]
    built = [
        type(e)(**{k: v for k, v in e.__dict__.items() if k in e.model_fields_set and k != "type"})
        for e in events
    ]

    def via_batch(batch: list[bytes]) -> Any:
        return parse_event_json_batch(batch)

    plain = [p for p in payloads if type(parse_event_json(p)).__name__ != "UnknownEvent"]
    slices = [plain[i : i + 48] for i in range(0, len(plain), 48)]
    rows: list[tuple[str, Any, list[Any]]] = [
        ("orjson.loads alone", orjson.loads, payloads),
        ("parse_event_json", parse_event_json, payloads),
        ("parse_event_json_batch, slices of 48 (per event)", via_batch, slices),
        ("reference path (orjson.loads + per-class validate)", _events._parse_reference, payloads),
        ("TypeAdapter(Event).validate_json", via_union_json, payloads),
        ("orjson.loads + TypeAdapter.validate_python", via_union_python, payloads),
        ("json.loads + model_validate", via_stdlib, payloads),
        ("orjson.loads + model_construct (unvalidated)", via_construct, payloads),
        # the key order of a fast-path event is read from its payload on its first encode
        (
            "parse_event_json + first event_to_json",
            lambda p: event_to_json(parse_event_json(p)),
            payloads,
        ),
        (
            "reference path + first event_to_json",
            lambda p: event_to_json(_events._parse_reference(p)),
            payloads,
        ),
        ("event_to_dict (parsed, order known)", event_to_dict, events),
        ("event_to_json (parsed)", event_to_json, events),
        ("event_to_json (built in Python)", event_to_json, built),
        (
            "model_dump(by_alias, exclude_unset)",
            lambda e: e.model_dump(by_alias=True, exclude_unset=True),
            events,
        ),
    ]
    print(f"{len(payloads)} fixture events")
    for name, fn, data in rows:
        us = best_of(fn, data)
        if data is slices:
            us = us * len(slices) / len(plain)  # per event, not per slice
        print(f"{name:48s} {us:6.2f} us/event  {1 / us * 1e3:7.0f} k events/s")


if __name__ == "__main__":  # pragma: no cover
    _report_speed()
