"""Issue 12, round 4: each agent item is finished where the agent runs, by plain calls.

``guarded_batches`` drives the agent itself (a :class:`DialectStream`'s source too) and
hands each item to one synchronous step (normalise, convert, encode, bookkeeping) whose
frames go straight into the pending batch (``heartbeat_batches(step=...)`` in a pump, or
``inline_batches`` in the caller's task). These tests check what that must keep: each
item encoded before the agent runs on, order, bounded batches even when one item becomes
many frames, the frames before a failure delivered before the RUN_ERROR (in the stream's
dialect), the agent's ``finally`` on close, and an ``on_disconnect`` list of snapshots
even when the agent reuses its dict (which the server now encodes without copying).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatconduit import _json
from chatconduit._events._agent_fast import fast_event_dict
from chatconduit.server._chunks import encode_frame, frame_encoder
from chatconduit.server._heartbeat import heartbeat_batches, inline_batches
from chatconduit.server._streams import (
    dialect_events,
    event_bytes,
    guarded_batches,
    guarded_events,
)

LIVENESS = 10.0  # seconds; a bound on waiting, never a measurement


def _delta(i: int) -> dict[str, Any]:
    return {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"d{i}"}


def _sse(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(f.removeprefix(b"data: ")) for f in body.split(b"\n\n") if f]


async def _numbers(n: int, log: list[str] | None = None) -> AsyncIterator[int]:
    for i in range(n):
        if log is not None:
            log.append(f"yield {i}")
        yield i


@pytest.mark.parametrize("pumped", [True, False])
async def test_each_item_is_stepped_before_the_source_runs_on(pumped: bool) -> None:
    log: list[str] = []

    def step(pending: list[Any], item: int) -> None:
        log.append(f"step {item}")
        pending.append(item)

    batches = (
        heartbeat_batches(_numbers(5, log), None, step=step)
        if pumped
        else inline_batches(_numbers(5, log), step=step)
    )
    got = [b async for b in batches]
    assert [i for b in got for i in b] == list(range(5))  # type: ignore[union-attr]
    assert log == [f"{what} {i}" for i in range(5) for what in ("yield", "step")]


async def test_a_step_of_many_entries_still_makes_bounded_batches_in_order() -> None:
    def step(pending: list[Any], item: int) -> None:
        pending.extend((item, j) for j in range(7))  # one item, seven frames

    def end(pending: list[Any]) -> None:
        pending.append("end")

    batches = [
        b async for b in heartbeat_batches(_numbers(20), None, max_items=5, step=step, end=end)
    ]
    flat = [x for b in batches for x in b]  # type: ignore[union-attr]
    assert flat == [(i, j) for i in range(20) for j in range(7)] + ["end"]
    assert all(0 < len(b) <= 5 for b in batches)  # type: ignore[arg-type]
    assert batches[0] == [(0, j) for j in range(5)]  # the first item's frames, at once


@pytest.mark.parametrize("pumped", [True, False])
async def test_what_a_failing_step_put_is_delivered_then_its_error(pumped: bool) -> None:
    closed = asyncio.Event()

    async def source() -> AsyncIterator[int]:
        try:
            for i in range(10):
                yield i
        finally:
            closed.set()

    def step(pending: list[Any], item: int) -> None:
        pending.append(item)
        if item == 3:
            raise ValueError("bad item")

    batches = (
        heartbeat_batches(source(), None, step=step)
        if pumped
        else inline_batches(source(), step=step)
    )
    got: list[Any] = []
    with pytest.raises(ValueError, match="bad item"):
        async for batch in batches:
            got.extend(batch)  # type: ignore[arg-type]
    assert got == [0, 1, 2, 3]
    assert closed.is_set()  # the source stopped right there


async def test_inline_batches_run_the_source_in_the_callers_context() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var", default="unset")
    seen: list[str] = []

    async def source() -> AsyncIterator[int]:
        for i in range(3):
            seen.append(var.get())
            var.set(f"agent {i}")  # an agent's own context survives its yields
            yield i

    var.set("caller")
    got = [b async for b in inline_batches(source())]
    assert got == [[0], [1], [2]]
    assert seen == ["caller", "agent 0", "agent 1"]


# --- whole streams ----------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["tanstack-0.18", "current"])
async def test_an_agent_reusing_its_dict_gets_every_delta_written_and_hooked(
    dialect: Any,
) -> None:
    """The delta dict goes out without a copy (``fast_event_dict`` returns it), so the
    frame must be written before the agent changes it, and the hook needs snapshots."""
    hooked: list[list[dict[str, Any]]] = []
    release = asyncio.Event()

    async def agent() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "RUN_STARTED", "threadId": "t", "runId": "r"}
        yield {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
        event = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": ""}
        for i in range(40):
            event["delta"] = f"d{i}"
            yield event
        await release.wait()  # still running when the client leaves

    assert fast_event_dict(_delta(0)) is not None  # the deltas take the fast path
    stream = event_bytes(
        agent(), framing="sse", heartbeat=0, dialect=dialect, on_disconnect=hooked.append
    )
    body = b""
    async with asyncio.timeout(LIVENESS):
        async for chunk in stream:
            body += chunk
            if body.count(b'"delta"') == 40:
                break
        await stream.aclose()  # type: ignore[attr-defined]
    deltas = [e["delta"] for e in _sse(body) if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert deltas == [f"d{i}" for i in range(40)]
    assert len(hooked) == 1
    hooked_deltas = [e["delta"] for e in hooked[0] if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert hooked_deltas == deltas  # snapshots, not forty times the agent's last state


@pytest.mark.parametrize("dialect", ["tanstack-0.18", "current"])
async def test_a_malformed_event_ends_with_one_run_error_after_what_came_before(
    dialect: Any,
) -> None:
    finished = asyncio.Event()

    async def agent() -> AsyncIterator[Any]:
        try:
            yield {"type": "RUN_STARTED", "threadId": "t", "runId": "run-9"}
            yield {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
            for i in range(30):
                yield _delta(i)
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": 5}
            yield _delta(99)
        finally:
            finished.set()

    body = b""
    async with asyncio.timeout(LIVENESS):
        async for chunk in event_bytes(agent(), framing="sse", heartbeat=0, dialect=dialect):
            body += chunk
    events = _sse(body)
    kinds = [e["type"] for e in events]
    assert kinds.count("RUN_ERROR") == 1 and kinds[-1] == "RUN_ERROR"
    deltas = [e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT"]
    assert deltas == [f"d{i}" for i in range(30)]  # all before it, nothing after
    error = events[-1]
    if dialect == "current":  # flat, the run's ids kept under metadata.tanstack
        assert error["metadata"]["tanstack"]["runId"] == "run-9"
    else:
        assert error["runId"] == "run-9"  # the run the agent announced
    assert finished.is_set()


async def test_a_dialect_stream_read_directly_gives_what_the_guarded_path_writes() -> None:
    """``DialectStream`` stays an async iterator (for callers that read it themselves);
    its events are the ones ``guarded_events`` encodes by driving its source."""

    async def agent() -> AsyncIterator[dict[str, Any]]:
        yield {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
        for i in range(5):
            yield _delta(i)
        yield {"type": "TEXT_MESSAGE_END", "messageId": "m"}

    direct = [e async for e in dialect_events(agent(), "current", run_id="r", thread_id="t")]
    guarded = [
        e
        async for e in guarded_events(
            dialect_events(agent(), "current", run_id="r", thread_id="t"),
            transform=lambda event, index: (index, event),
        )
    ]
    assert [index for index, _ in guarded] == list(range(len(guarded)))

    def without_clocks(event: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in event.items() if k not in ("timestamp", "messageId", "runId")}

    assert [without_clocks(e) for e in direct] == [without_clocks(e) for _, e in guarded]
    kinds = [e["type"] for e in direct]
    assert kinds[0] == "RUN_STARTED" and kinds[-1] == "RUN_FINISHED"  # finish() owed


async def test_batches_hold_frames_only_and_stay_bounded() -> None:
    async def agent() -> AsyncIterator[dict[str, Any]]:
        for i in range(200):
            yield _delta(i)

    seen: list[bytes] = []
    async with asyncio.timeout(LIVENESS):
        async for batch in guarded_batches(
            dialect_events(agent(), "tanstack-0.18"),
            transform=lambda event, index: json.dumps(event).encode(),
        ):
            assert 0 < len(batch) <= 16
            assert all(type(frame) is bytes for frame in batch)
            seen.extend(batch)
    assert [json.loads(f)["delta"] for f in seen] == [f"d{i}" for i in range(200)]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(
    st.dictionaries(st.text(), json_values, max_size=5),
    st.sampled_from(["sse", "ndjson"]),
    st.booleans(),
    st.integers(0, 10**6),
)
def test_the_stream_encoder_writes_the_codecs_bytes(
    event: dict[str, Any], framing: Any, ids: bool, index: int
) -> None:
    """``frame_encoder`` frames the JSON itself (no CR/LF check, no type dispatch): the
    same bytes as the codec's ``encode_frame`` for any dict, strings with CR, LF, U+2028,
    lone surrogates and non-finite numbers included."""
    event = {"type": "X", **event}
    expected = encode_frame(framing, event, str(index) if ids else None)
    assert frame_encoder(framing, ids)(event, index) == expected
    with pytest.MonkeyPatch.context() as patch:  # the encoder made where orjson is absent
        patch.setattr(_json, "orjson_dumps", None)
        assert frame_encoder(framing, ids)(event, index) == expected


def test_streams_share_one_encoder_per_framing() -> None:
    """Round 12: the encoder holds no state, so streams share it (a closure per stream was
    six objects per open connection for the GC); one made without orjson is its own."""
    for framing in ("sse", "ndjson"):
        for ids in (False, True):
            assert frame_encoder(framing, ids) is frame_encoder(framing, ids)
    assert frame_encoder("sse", False) is not frame_encoder("ndjson", False)
    shared = frame_encoder("sse", False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_json, "orjson_dumps", None)
        assert frame_encoder("sse", False) is not shared
    assert frame_encoder("sse", False) is shared
