"""The server's fast path for plain content deltas and the events that open and close a run,
a message, a tool call, reasoning or a step (``_events/_agent_fast``) writes exactly what
the model path writes: same dicts (keys, order, value types) and the same bytes in every
dialect and framing, over generated events and every recorded fixture; whatever it does
not handle (including every invalid event) takes the model path, errors included."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatconduit import _json
from chatconduit._codec import encode_ndjson, encode_sse
from chatconduit._events import event_to_dict
from chatconduit._events._agent_fast import fast_event_dict
from chatconduit._exceptions import AgentOutputError
from chatconduit.server import _current_dialect, _current_state, _errors, _frames
from chatconduit.server._streams import dialect_events, event_bytes, frame_payload, guarded_events

FIXTURES = Path(__file__).parent / "fixtures"
# Each type the fast path takes, with its own string fields (AG-UI's and TanStack's).
OWN_KEYS = {
    "TEXT_MESSAGE_CONTENT": ("messageId", "delta", "content"),
    "REASONING_MESSAGE_CONTENT": ("messageId", "delta"),
    "TOOL_CALL_ARGS": ("toolCallId", "delta", "args"),
    "RUN_STARTED": ("runId", "threadId", "parentRunId"),
    "RUN_FINISHED": ("runId", "threadId", "finishReason"),
    "TEXT_MESSAGE_START": ("messageId", "role", "name"),
    "TEXT_MESSAGE_END": ("messageId",),
    "TOOL_CALL_START": ("toolCallId", "toolCallName", "toolName", "parentMessageId"),
    "TOOL_CALL_END": ("toolCallId", "toolCallName", "toolName", "result"),
    "REASONING_START": ("messageId",),
    "REASONING_END": ("messageId",),
    "REASONING_MESSAGE_START": ("messageId", "role"),
    "REASONING_MESSAGE_END": ("messageId",),
    "STEP_STARTED": ("stepName", "stepId", "stepType"),
    "STEP_FINISHED": ("stepName", "stepId", "delta", "content", "signature"),
}
FAST_TYPES = tuple(OWN_KEYS)
# Keys that look alike but mean something else to the model: another event's field, a
# snake_case spelling (an extra that shadows a field), BaseEvent fields of other types.
ODD_KEYS = (
    "message_id",
    "tool_call_id",
    "messageID",
    "model",
    "timestamp",
    "metadata",
    "rawEvent",
    "raw_event",
    "role",
    "emittedNs",
    "toolCallName",
    "input",  # RUN_STARTED's and TOOL_CALL_END's: any JSON value, never on the fast path
    "result",
    "usage",
    "outcome",
    "index",
    "",
)

texts = st.text(max_size=12)
odd_values = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(texts, max_size=2),
    st.dictionaries(texts, texts, max_size=2),
)


class Text(str):
    """A str subclass: not "exactly a str", so never on the fast path."""


@st.composite
def plain_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event the fast path must take: own keys only, string values, any key order."""
    kind = draw(st.sampled_from(FAST_TYPES))
    keys = draw(st.lists(st.sampled_from((*OWN_KEYS[kind], "model", "timestamp")), unique=True))
    pairs = [(key, draw(st.integers() if key == "timestamp" else texts)) for key in keys]
    at = draw(st.integers(0, len(pairs)))
    pairs.insert(at, ("type", kind))
    return dict(pairs)


@st.composite
def any_events(draw: st.DrawFn) -> dict[str, Any]:
    """Near misses of the fast shapes: a plain event with one or two things changed (an
    odd key, an odd value for an own key, another type), or an event of another type."""
    event = draw(plain_events())
    for _ in range(draw(st.integers(1, 2))):
        change = draw(st.sampled_from(("add", "value", "type")))
        if change == "add":
            event[draw(st.sampled_from(ODD_KEYS))] = draw(st.one_of(texts, odd_values))
        elif change == "value" and len(event) > 1:
            key = draw(st.sampled_from(sorted(event.keys() - {"type"})))
            event[key] = draw(st.one_of(odd_values, texts.map(Text), st.integers().map(str)))
        else:
            event["type"] = draw(st.sampled_from((*FAST_TYPES, "RUN_ERROR", "CUSTOM", "NOPE")))
    return event


def _same(fast: dict[str, Any], slow: dict[str, Any]) -> None:
    assert list(fast.items()) == list(slow.items())
    assert [type(v) for v in fast.values()] == [type(v) for v in slow.values()]
    for framing_of in (encode_sse, encode_ndjson):
        assert framing_of(fast) == framing_of(slow)
        assert framing_of(fast, id="7") == framing_of(slow, id="7")
    assert _json.dumps(fast) == _json.dumps(slow)  # WebSocket frames
    assert _json.dumps_bytes(fast) == _json.dumps_bytes(slow)  # durable log payloads


def test_the_fast_table_is_the_models_string_fields() -> None:
    """The path's table is derived from the event classes; if a class gained a validator, a
    required field or a field of another type, the type or key would leave the table."""
    from chatconduit._events._plain import PLAIN_KEYS

    common = {"type", "model", "timestamp"}
    assert {kind: set(keys) - common for kind, keys in PLAIN_KEYS.items()} == {
        kind: set(keys) for kind, keys in OWN_KEYS.items()
    }


def test_a_class_that_could_change_a_plain_dict_stays_off_the_table() -> None:
    from pydantic import field_validator, model_validator

    from chatconduit._events import TextMessageEndEvent
    from chatconduit._events._plain import plain_class

    class Validated(TextMessageEndEvent):
        @field_validator("message_id")
        @classmethod
        def _upper(cls, value: str | None) -> str | None:
            return value.upper() if value else value

    class Whole(TextMessageEndEvent):
        @model_validator(mode="after")
        def _check(self) -> Whole:
            return self

    class Required(TextMessageEndEvent):
        message_id: str  # type: ignore[assignment]

    class Hooked(TextMessageEndEvent):
        def model_post_init(self, context: Any) -> None:
            pass

    assert plain_class(TextMessageEndEvent)
    for cls in (Validated, Whole, Required, Hooked):
        assert not plain_class(cls), cls.__name__


@given(plain_events())
def test_the_fast_path_takes_plain_events_and_writes_the_same(event: dict[str, Any]) -> None:
    fast = fast_event_dict(event)
    assert fast is not None
    # The agent's own dict when it is already in wire order (nothing keeps or changes it
    # after it is encoded), else a copy with "type" first; the agent's dict is untouched.
    assert (fast is event) == (next(iter(event)) == "type")
    assert next(iter(fast)) == "type" and fast == event
    _same(fast, event_to_dict(event))


@given(any_events())
def test_whatever_it_takes_is_what_the_model_writes(event: dict[str, Any]) -> None:
    fast = fast_event_dict(event)
    if fast is None:
        return
    _same(fast, event_to_dict(event))


@pytest.mark.parametrize(
    "event",
    [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "emittedNs": 1.5},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "emittedNs": True},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "emittedNs": None},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "extra": [1]},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", 5: "five"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", Text("delta"): "x"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "raw_event": "r"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "rawEvent": "r"},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c", "delta": "x", "tool_call_id": "d"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": None, "delta": "x"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": Text("x")},
        {"type": "TEXT_MESSAGE_CONTENT", "message_id": "m", "delta": "x"},
        {"type": "TOOL_CALL_ARGS", "messageId": None, "delta": "x"},
        {"type": "REASONING_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "content": 1.0},
        {"type": "TEXT_MESSAGE_CONTENT", "delta": 5},
        {"type": "RUN_ERROR", "message": "m"},
        {"type": "CUSTOM", "name": "n", "value": "v"},
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "input": {}},
        {"type": "RUN_STARTED", "threadId": "t", "runId": None},
        {"type": "RUN_FINISHED", "runId": "r", "result": "done"},
        {"type": "RUN_FINISHED", "runId": "r", "usage": {"promptTokens": 1}},
        {"type": "TOOL_CALL_START", "toolCallId": "c", "toolCallName": "f", "index": 0},
        {"type": "TOOL_CALL_END", "toolCallId": "c", "input": {"a": 1}},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": 1},
        {"type": ["TEXT_MESSAGE_CONTENT"], "delta": "x"},
        {"delta": "x"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "timestamp": "1"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "timestamp": 1.5},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "timestamp": True},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "model": 1},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "metadata": {}},
    ],
)
def test_anything_unusual_is_left_to_the_model(event: dict[str, Any]) -> None:
    assert fast_event_dict(event) is None


@pytest.mark.parametrize(
    "event",
    [
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "emittedNs": 1},
        {"emittedNs": 2**70, "type": "TEXT_MESSAGE_CONTENT", "delta": "x", "seq": "4"},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c", "delta": "{", "messageId": "m"},
        {"type": "REASONING_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "role": "r"},
        {"type": "REASONING_MESSAGE_CONTENT", "messageId": "m", "delta": "x", "content": "x"},
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r", "emittedNs": 1},
        {"runId": "r", "type": "RUN_FINISHED", "finishReason": "stop", "seq": "9"},
    ],
)
def test_extras_the_model_keeps_as_they_are_are_taken(event: dict[str, Any]) -> None:
    """A key that is no field of the class, with a str or int value: kept in place."""
    fast = fast_event_dict(event)
    assert fast is not None and fast == event and next(iter(fast)) == "type"
    _same(fast, event_to_dict(event))


def test_only_exact_dicts_are_taken() -> None:
    from collections import OrderedDict

    from chatconduit._events import TextMessageContentEvent

    assert fast_event_dict(OrderedDict(type="TEXT_MESSAGE_CONTENT", delta="x")) is None
    assert fast_event_dict(TextMessageContentEvent(message_id="m", delta="x")) is None
    assert fast_event_dict({"type": "TEXT_MESSAGE_CONTENT", "delta": "x"}) == {
        "type": "TEXT_MESSAGE_CONTENT",
        "delta": "x",
    }


# --- whole streams, fast path on and off ------------------------------------------------


def _drain(make: Callable[[], AsyncIterator[Any]], fast: bool) -> list[Any]:
    async def run() -> list[Any]:
        return [item async for item in make()]

    # Clocks and generated ids made repeatable, so that two runs can be compared.
    counter = itertools.count()
    with pytest.MonkeyPatch.context() as patch:
        for module in (_current_dialect, _current_state, _errors):
            patch.setattr(module, "now_ms", lambda: 1_700_000_000_000)
        patch.setattr(_current_state, "generate_id", lambda *a, **k: f"id-{next(counter)}")
        if not fast:  # the model path, and the current dialect without its shortcut
            patch.setattr(_frames, "fast_event_dict", lambda item: None)
            patch.setattr(_frames.Frames, "push", _frames.Frames.push_any)
            patch.setattr(_current_dialect.CurrentDialect, "_steady", False)
        return asyncio.run(run())


def _agent(events: list[Any]) -> Callable[[], AsyncIterator[Any]]:
    async def agent() -> AsyncIterator[Any]:
        for event in events:
            yield event

    return agent


def _every_output(events: list[Any]) -> dict[str, list[Any]]:
    """What each framing and dialect writes for ``events``, with the fast path on and off."""
    out: dict[str, list[Any]] = {}
    for fast in (True, False):
        for dialect in ("tanstack-0.18", "current"):
            for framing in ("sse", "ndjson"):
                for ids in (False, True):

                    def stream(
                        dialect: Any = dialect, framing: Any = framing, ids: bool = ids
                    ) -> AsyncIterator[bytes]:
                        return event_bytes(
                            _agent(events)(),
                            framing=framing,
                            heartbeat=0,
                            event_ids=ids,
                            dialect=dialect,
                            run_id="r",
                            thread_id="t",
                        )

                    out[f"{fast} {dialect} {framing} {ids}"] = [b"".join(_drain(stream, fast))]

            def frames(dialect: Any = dialect) -> AsyncIterator[Any]:
                # The WebSocket's and the durable log's framings, and the dicts themselves.
                def encode(event: dict[str, Any], index: int) -> Any:
                    payload = _json.dumps_bytes(event)
                    envelope = frame_payload("ndjson", payload, str(index))
                    return (_json.dumps(event), payload, envelope, list(event.items()))

                return guarded_events(
                    dialect_events(_agent(events)(), dialect, run_id="r", thread_id="t"),
                    transform=encode,
                )

            out[f"{fast} {dialect} frames"] = _drain(frames, fast)
    return out


def _assert_same_both_ways(events: list[Any]) -> dict[str, list[Any]]:
    """Every output of ``events`` with the fast paths equals the one without; returns them."""
    out = _every_output(events)
    for key, value in out.items():
        if key.startswith("True"):
            assert value == out["False" + key[4:]], key
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(plain_events(), any_events()), max_size=12))
def test_streams_are_byte_identical_with_and_without_the_fast_path(
    events: list[dict[str, Any]],
) -> None:
    opened = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        {"type": "TOOL_CALL_START", "toolCallId": "c", "toolCallName": "f"},
    ]
    _assert_same_both_ways([*opened, *events, {"type": "RUN_FINISHED", "runId": "r"}])


def test_an_invalid_delta_ends_the_stream_with_the_same_run_error() -> None:
    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "fine"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": 5},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "never sent"},
    ]
    out = _assert_same_both_ways(events)
    sse = out["True tanstack-0.18 sse False"][0]
    assert b"RUN_ERROR" in sse and b"never sent" not in sse


def _frames_of(stream: _frames.DialectStream) -> tuple[_frames.Frames[Any], list[Any]]:
    """A frames step over ``stream`` whose transform writes the event itself."""
    return _frames.Frames(stream, lambda event, index: event, _frames.RunIds(), None), []


async def _nothing() -> AsyncIterator[Any]:
    return
    yield


def _refuse(event: dict[str, Any]) -> list[dict[str, Any]]:
    raise AssertionError(f"convert was called for {event}")


@pytest.mark.parametrize("dialect", ["tanstack-0.18", "current", None])
def test_the_frames_step_writes_an_open_plain_delta_as_it_is(
    dialect: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if dialect is None:  # guarded_events over a plain source: written as it comes
        stream = _frames.as_dialect_stream(_nothing())
    else:
        stream = dialect_events(_nothing(), dialect, run_id="r", thread_id="t")
    frames, pending = _frames_of(stream)
    frames.push(pending, {"type": "RUN_STARTED", "threadId": "t", "runId": "r"})
    frames.push(pending, {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"})
    monkeypatch.setattr(stream.converter, "convert", _refuse)  # the shortcut must not ask
    delta = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}
    frames.push(pending, delta)
    assert pending[-1] is delta and stream.index == 3 and frames.count == len(pending)
    # Not the keys in order, not exact strings, one key more: the converter decides.
    for other in (
        {"messageId": "m", "type": "TEXT_MESSAGE_CONTENT", "delta": "x"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": _Str("x")},
        {**delta, "model": "g"},
    ):
        with pytest.raises(AssertionError, match="convert was called"):
            frames.push(pending, other)


def test_the_current_dialect_passes_only_what_is_open_and_steady() -> None:
    stream = dialect_events(_nothing(), "current", run_id="r", thread_id="t")
    frames, pending = _frames_of(stream)
    converter = stream.converter
    assert converter.as_is == {}  # no run yet: a delta would open one
    stray = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}
    frames.push(pending, stray)
    assert [event["type"] for event in pending] == [
        "RUN_STARTED",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
    ]
    assert converter.as_is != {} and pending[-1] == stray  # the full path: a copy
    frames.push(pending, {"type": "TOOL_CALL_END", "toolCallId": "c", "result": "r"})
    assert converter.as_is == {}  # a result is owed before whatever comes next
    frames.push(pending, {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "y"})
    assert pending[-2]["type"] == "TOOL_CALL_RESULT" and converter.as_is != {}
    frames.end(pending)
    assert converter.as_is == {}


class _Str(str):
    pass


@pytest.mark.parametrize("kind", [["TEXT_MESSAGE_CONTENT"], {"a": 1}, None, 5])
def test_a_delta_shaped_dict_of_no_string_type_is_the_models_to_refuse(kind: Any) -> None:
    events = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        {"type": kind, "messageId": "m", "delta": "d"},
    ]
    out = _assert_same_both_ways(events)
    sse = out["True current sse False"][0]
    assert b"RUN_ERROR" in sse and b'"delta":"d"' not in sse
    # And the log says why: the model's refusal, not a failed lookup of the type.
    for dialect in ("current", "tanstack-0.18"):
        frames, pending = _frames_of(dialect_events(_nothing(), dialect, run_id="r"))
        with pytest.raises(AgentOutputError, match="not a valid AG-UI event"):
            frames.push(pending, events[-1])


def _recorded_events(path: Path) -> list[Any]:
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix == ".sse":
        lines = [line[5:].strip() for line in lines if line.startswith("data:")]
    events = []
    for line in lines:
        try:
            event = _json.loads(line)
        except ValueError:
            continue  # "[DONE]", blank lines
        if isinstance(event, dict):
            events.append(event.get("chunk", event) if "chunk" in event else event)
    return events


RECORDED = sorted(
    path
    for path in FIXTURES.rglob("*")
    if path.suffix in (".sse", ".ndjson") and "bridges" not in path.parts
)


def test_the_fixtures_exercise_the_fast_path() -> None:
    taken = sum(
        fast_event_dict(event) is not None for path in RECORDED for event in _recorded_events(path)
    )
    assert len(RECORDED) >= 20 and taken >= 300  # 608 of 887 when written (457 with deltas only)


@pytest.mark.parametrize("path", RECORDED, ids=lambda path: str(path.relative_to(FIXTURES)))
def test_recorded_fixtures_are_byte_identical_with_and_without_the_fast_path(path: Path) -> None:
    events = _recorded_events(path)
    for event in events:
        fast = fast_event_dict(event)
        if fast is not None:
            _same(fast, event_to_dict(event))
    _assert_same_both_ways(events)
