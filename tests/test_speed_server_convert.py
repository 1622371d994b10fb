"""The current dialect's shortcuts write exactly what the full paths wrote: ``to_spec`` in
one pass against the two-pass version it replaced (kept below as the reference), and
``CurrentDialect``'s steady-state delta shortcut against the same converter without it,
over generated event sequences (clocks and generated ids made repeatable)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from chatconduit.server import _current_dialect, _current_state
from chatconduit.server._current_dialect import CurrentDialect
from chatconduit.server._spec_keys import _SHARED, SPEC_KEYS, _usage_list, to_spec


def reference_to_spec(event: Mapping[str, Any]) -> dict[str, Any]:
    """``to_spec`` as it was before the one-pass rewrite (commit 'issue 12 round 2')."""
    kind = event.get("type")
    spec = SPEC_KEYS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        spec = _SHARED
    out = {key: value for key, value in event.items() if key in spec}
    tanstack: dict[str, Any] = {}
    skip = {"result", "error"}
    if kind == "TOOL_CALL_START":
        skip.add("toolName")
        name = event.get("toolName")
        if "toolCallName" not in out and isinstance(name, str):
            out["toolCallName"] = name
    elif kind in ("TEXT_MESSAGE_CONTENT", "TOOL_CALL_ARGS"):
        skip.update(("model", "content", "args"))
    elif kind == "RUN_ERROR":
        nested = event.get("error")
        if isinstance(nested, Mapping):
            if "message" not in out and isinstance(nested.get("message"), str):
                out["message"] = nested["message"]
            if "code" not in out and nested.get("code") is not None:
                out["code"] = str(nested["code"])
        if not isinstance(out.get("message"), str):
            out["message"] = "Unknown error occurred"
    for key, value in event.items():
        if key not in spec and key not in skip:
            tanstack[key] = value
    usage = out.get("usage")
    if kind in ("RUN_FINISHED", "RUN_ERROR") and isinstance(usage, Mapping):
        out["usage"] = _usage_list(usage, event.get("model"))
        leftover = {
            k: v
            for k, v in usage.items()
            if k not in ("promptTokens", "completionTokens", "totalTokens")
        }
        if leftover:
            tanstack["usage"] = leftover
    if tanstack:
        metadata = out.get("metadata")
        merged = dict(metadata) if isinstance(metadata, Mapping) else {}
        previous = merged.get("tanstack")
        merged["tanstack"] = {**(previous if isinstance(previous, Mapping) else {}), **tanstack}
        out["metadata"] = merged
    return out


TYPES = (
    "RUN_STARTED",
    "RUN_FINISHED",
    "RUN_ERROR",
    "TEXT_MESSAGE_START",
    "TEXT_MESSAGE_CONTENT",
    "TEXT_MESSAGE_END",
    "TOOL_CALL_START",
    "TOOL_CALL_ARGS",
    "TOOL_CALL_END",
    "TOOL_CALL_RESULT",
    "REASONING_START",
    "REASONING_MESSAGE_START",
    "REASONING_MESSAGE_CONTENT",
    "REASONING_MESSAGE_END",
    "REASONING_END",
    "STEP_STARTED",
    "STEP_FINISHED",
    "THINKING_START",
    "THINKING_TEXT_MESSAGE_CONTENT",
    "THINKING_END",
    "CUSTOM",
    "NOT_AG_UI",
)
KEYS = (
    "messageId",
    "toolCallId",
    "toolCallName",
    "toolName",
    "delta",
    "content",
    "args",
    "model",
    "timestamp",
    "result",
    "error",
    "usage",
    "metadata",
    "runId",
    "threadId",
    "stepName",
    "stepType",
    "finishReason",
    "message",
    "code",
    "role",
    "emittedNs",
)
ids = st.sampled_from(("m1", "m2", "c1", "c2"))
# The deltas and what opens and closes around them, more often than the rest.
LIKELY = (
    "TEXT_MESSAGE_CONTENT",
    "TOOL_CALL_ARGS",
    "REASONING_MESSAGE_CONTENT",
    "TOOL_CALL_END",
    "TOOL_CALL_START",
    "TEXT_MESSAGE_START",
)
values = st.one_of(
    ids,
    st.text(max_size=6),
    st.none(),
    st.integers(-3, 3),
    st.sampled_from(("thinking", "tool_calls", "stop")),
    st.fixed_dictionaries({"promptTokens": st.integers(0, 9)}),
    st.fixed_dictionaries({"tanstack": st.fixed_dictionaries({"x": st.integers(0, 2)})}),
    st.fixed_dictionaries({"message": st.text(max_size=4), "code": st.integers(0, 9)}),
)


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """Any of TYPES, mostly with the id key its handler reads (so that messages and calls
    really open and close), a result on TOOL_CALL_END often, and a few random keys."""
    kind = draw(st.one_of(st.sampled_from(LIKELY), st.sampled_from(TYPES)))
    event: dict[str, Any] = {"type": kind}
    id_key = "toolCallId" if kind.startswith("TOOL_CALL") else "messageId"
    if draw(st.integers(0, 9)) > 0:
        event[id_key] = draw(ids)
    if kind == "TOOL_CALL_END" and draw(st.booleans()):
        event["result"] = draw(st.text(max_size=4))
    for key in draw(st.lists(st.sampled_from(KEYS), unique=True, max_size=4)):
        event[key] = draw(ids if key in ("messageId", "toolCallId") else values)
    return event


@given(events())
@example({"type": "TEXT_MESSAGE_CONTENT", "delta": "m1", "metadata": 1})  # found by hypothesis
def test_one_pass_to_spec_equals_the_two_pass_reference(event: dict[str, Any]) -> None:
    got, want = to_spec(event), reference_to_spec(event)
    assert got == want
    assert list(got) == list(want)  # key order is byte order
    if isinstance(want.get("metadata"), dict):  # an agent's metadata may be anything
        assert list(got["metadata"]) == list(want["metadata"])


DELTA = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "d"}


class WithoutShortcut(CurrentDialect):
    _steady = False


def _written(converter: CurrentDialect, stream: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    with pytest.MonkeyPatch.context() as patch:
        counter = itertools.count()
        for module in (_current_dialect, _current_state):
            patch.setattr(module, "now_ms", lambda: 1_700_000_000_000)
        patch.setattr(_current_state, "generate_id", lambda *a, **k: f"id-{next(counter)}")
        for event in stream:
            out.append([list(e.items()) for e in converter.convert(dict(event))])
        out.append([list(e.items()) for e in converter.finish()])
    return out


@settings(max_examples=500)
@given(st.lists(events(), max_size=25))
# A result owed (sent before whatever comes next), and a synthetic reasoning message open
# (closed before a text delta): the two states in which a delta is not just to_spec'ed.
@example([{"type": "TOOL_CALL_END", "toolCallId": "c1", "result": "r"}, DELTA])
@example([{"type": "STEP_STARTED", "stepName": "s", "stepType": "thinking"}, DELTA])
@example([{"type": "THINKING_START"}, DELTA])
def test_the_steady_delta_shortcut_changes_nothing(stream: list[dict[str, Any]]) -> None:
    head = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m1"},
        {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "f"},
        {"type": "REASONING_MESSAGE_START", "messageId": "m2"},
    ]
    full = [*head, *stream]
    fast = _written(CurrentDialect(run_id="r", thread_id="t"), full)
    slow = _written(WithoutShortcut(run_id="r", thread_id="t"), full)
    assert fast == slow


def test_the_shortcut_is_taken_for_open_deltas_only() -> None:
    plain = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m1", "delta": "x"}
    converters = {}
    for name, kind in (("shortcut", CurrentDialect), ("full", WithoutShortcut)):
        converter = kind(run_id="r", thread_id="t")
        converter.convert({"type": "RUN_STARTED", "threadId": "t", "runId": "r"})
        converter.convert({"type": "TEXT_MESSAGE_START", "messageId": "m1"})
        converters[name] = converter
    # Only spec keys: the shortcut passes the agent's dict on; the full path copies it.
    assert converters["shortcut"].convert(plain)[0] is plain
    assert converters["full"].convert(plain) == [plain]
    assert converters["full"].convert(plain)[0] is not plain
    delta = {**plain, "model": "g"}  # a key TanStack drops from deltas: to_spec's job
    assert converters["shortcut"].convert(delta) == [plain]
    # Not open: the full path, which opens the message before its first delta.
    stray = [
        event["type"] for event in converters["shortcut"].convert({**plain, "messageId": "m9"})
    ]
    assert stray == ["TEXT_MESSAGE_START", "TEXT_MESSAGE_CONTENT"]
