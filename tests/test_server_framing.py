"""Framing and headers of the server responses on a real uvicorn (ref. §6.1, checklist 142-146).

The byte-equality tests replay the events of every captured TanStack response
through our helpers and compare with the captured bytes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatconduit.events import TextMessageContentEvent, encode_sse, event_to_dict
from chatconduit.server import (
    UserFacingError,
    http_stream,
    server_sent_events_stream,
    to_http_response,
    to_server_sent_events_response,
)
from chatconduit.server._streams import encode_frame, frame_payload
from servers import Install, serve_handlers

FIXTURES = Path(__file__).parent / "fixtures" / "tanstack-0.10" / "responses"
STREAM_SCENARIOS = ["text", "tools", "thinking", "reasoning", "long", "slow"]


def fixture_lines(name: str) -> list[bytes]:
    """The frames of a captured response, split exactly (they are the helper's own output)."""
    raw = (FIXTURES / name).read_bytes()
    if name.endswith(".sse"):
        return [frame + b"\n\n" for frame in raw.split(b"\n\n") if frame]
    return [line + b"\n" for line in raw.split(b"\n") if line]


def fixture_events(name: str) -> list[dict[str, Any]]:
    return [json.loads(line.removeprefix(b"data: ")) for line in fixture_lines(name)]


async def replay(
    events: Sequence[dict[str, Any]], error: Exception | None = None
) -> AsyncIterator[Any]:
    for event in events:
        yield event
    if error is not None:
        raise error


@pytest.fixture(scope="module")
def server() -> Iterator[Install]:
    """``server(handler)``: the module's server, now answering ``/`` with ``handler``."""
    with serve_handlers() as install:
        yield install


@pytest.mark.parametrize("scenario", STREAM_SCENARIOS)
def test_sse_bytes_equal_the_reference(scenario: str, server: Any) -> None:
    events = fixture_events(f"{scenario}.sse")
    srv = server(lambda r: to_server_sent_events_response(replay(events), heartbeat=0))
    response = httpx.post(srv.url)
    assert response.status_code == 200
    assert response.content == (FIXTURES / f"{scenario}.sse").read_bytes()


@pytest.mark.parametrize("scenario", STREAM_SCENARIOS)
def test_ndjson_bytes_equal_the_reference(scenario: str, server: Any) -> None:
    events = fixture_events(f"{scenario}.ndjson")
    srv = server(lambda r: to_http_response(replay(events)))
    response = httpx.post(srv.url)
    assert response.content == (FIXTURES / f"{scenario}.ndjson").read_bytes()


def test_event_models_encode_like_the_reference(server: Any) -> None:
    """Models built in Python (not dicts) come out byte-equal too."""
    dicts = fixture_events("text.sse")

    async def models() -> AsyncIterator[Any]:
        for event in dicts:
            if event["type"] == "TEXT_MESSAGE_CONTENT":
                yield TextMessageContentEvent(
                    message_id=event["messageId"],
                    model=event["model"],
                    timestamp=event["timestamp"],
                    delta=event["delta"],
                    **({"content": event["content"]} if "content" in event else {}),
                )
            else:
                yield event

    srv = server(lambda r: to_server_sent_events_response(models(), heartbeat=0))
    assert httpx.post(srv.url).content == (FIXTURES / "text.sse").read_bytes()


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
def test_error_keeps_the_reference_bytes_and_adds_top_level_message(
    framing: str, server: Any
) -> None:
    """The documented deviation: the reference RUN_ERROR plus top-level message/code and run ids."""
    lines = fixture_lines(f"error.{framing}")
    events = fixture_events(f"error.{framing}")
    reference_error = events.pop()
    message = reference_error["error"]["message"]
    failure = UserFacingError(message, code="scripted_error")
    make = to_server_sent_events_response if framing == "sse" else to_http_response
    srv = server(lambda r: make(replay(events, failure), heartbeat=0))

    body = httpx.post(srv.url).content
    ours = body.split(b"\n\n" if framing == "sse" else b"\n")
    ours = [part for part in ours if part]
    assert b"".join(lines[:-1]) == body[: len(b"".join(lines[:-1]))]
    last = json.loads(ours[-1].removeprefix(b"data: "))
    assert list(last) == [
        "type",
        "threadId",
        "runId",
        "timestamp",
        "message",
        "code",
        "error",
    ]
    assert last["type"] == "RUN_ERROR" and isinstance(last["timestamp"], int)
    assert last["error"] == reference_error["error"]
    assert (last["message"], last["code"]) == (message, "scripted_error")
    assert (last["threadId"], last["runId"]) == ("thread-fixture", "run-fixture")
    assert len(ours) == len(lines)


def test_empty_source_gives_an_empty_body(server: Any) -> None:
    srv = server(lambda r: to_server_sent_events_response(replay([]), heartbeat=0))
    response = httpx.post(srv.url)
    assert response.status_code == 200 and response.content == b""


def test_sse_default_headers(server: Any) -> None:
    srv = server(lambda r: to_server_sent_events_response(replay([])))
    headers = httpx.post(srv.url).headers
    assert headers["content-type"] == "text/event-stream"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"
    assert "content-length" not in headers


def test_ndjson_default_headers(server: Any) -> None:
    srv = server(lambda r: to_http_response(replay([])))
    headers = httpx.post(srv.url).headers
    assert headers["content-type"] == "application/x-ndjson"
    assert headers["cache-control"] == "no-cache"
    assert headers["x-accel-buffering"] == "no"


def test_user_headers_override_case_insensitively_and_status_passes_through(server: Any) -> None:
    srv = server(
        lambda r: to_server_sent_events_response(
            replay([{"type": "RUN_STARTED", "threadId": "t", "runId": "r"}]),
            status_code=201,
            headers={"CACHE-CONTROL": "no-store", "Content-Type": "text/plain", "X-Extra": "1"},
        )
    )
    response = httpx.post(srv.url)
    assert response.status_code == 201
    assert response.headers.get_list("cache-control") == ["no-store"]
    assert response.headers.get_list("content-type") == ["text/plain"]
    assert response.headers["x-extra"] == "1"


def test_sse_event_ids(server: Any) -> None:
    events = fixture_events("text.sse")[:3]
    srv = server(lambda r: to_server_sent_events_response(replay(events), event_ids=True))
    frames = [f for f in httpx.post(srv.url).content.split(b"\n\n") if f]
    for index, (frame, event) in enumerate(zip(frames, events, strict=True)):
        id_line, data_line = frame.split(b"\n")
        assert id_line == f"id: {index}".encode()
        assert json.loads(data_line.removeprefix(b"data: ")) == event


def test_ndjson_event_ids_use_envelopes(server: Any) -> None:
    events = fixture_events("text.ndjson")[:3]
    srv = server(lambda r: to_http_response(replay(events), event_ids=True))
    lines = [json.loads(line) for line in httpx.post(srv.url).content.splitlines()]
    assert lines == [{"id": str(i), "chunk": event} for i, event in enumerate(events)]


async def test_the_byte_streams_work_without_starlette() -> None:
    """The lower-level generators are plain async iterators of bytes."""
    events = fixture_events("thinking.sse")
    sse = b"".join([chunk async for chunk in server_sent_events_stream(replay(events))])
    assert sse == (FIXTURES / "thinking.sse").read_bytes()
    ndjson = b"".join([chunk async for chunk in http_stream(replay(events))])
    assert ndjson == (FIXTURES / "thinking.ndjson").read_bytes()


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("event_id", [None, "0", "1700000000000-3"])
def test_framing_a_stored_payload_equals_encoding_the_event(
    framing: Any, event_id: str | None
) -> None:
    """Replay logs store compact JSON; framing it must give the live encoder's bytes."""
    for event in fixture_events("tools.sse"):
        payload = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        assert frame_payload(framing, payload, event_id) == encode_frame(framing, event, event_id)
    assert encode_frame("sse", event_to_dict(fixture_events("text.sse")[0])) == encode_sse(
        fixture_events("text.sse")[0]
    )


def test_a_multiline_event_id_is_refused() -> None:
    with pytest.raises(ValueError, match="one line"):
        frame_payload("sse", b"{}", "a\nb")
