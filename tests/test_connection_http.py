"""fetch_server_sent_events / fetch_http_stream against a real server: request, parsing, errors."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatconduit import (
    ConnectError,
    Event,
    FetchOptions,
    FrameTooLargeError,
    HTTPStatusError,
    MalformedEventError,
    RunContext,
    StreamReadError,
    StreamTruncatedError,
    encode_run_agent_input,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit._connection._http import HTTPStreamAdapter
from chatconduit.events import event_to_dict
from faulty_app import (
    NDJSON,
    SSE,
    FaultyApp,
    Gap,
    Plan,
    Switchboard,
    ndjson_line,
    sse_frame,
    text_run,
)
from servers import serve

FIXTURES = Path(__file__).parent / "fixtures" / "tanstack-0.10" / "responses"
SCENARIOS = ["text", "tools", "thinking", "reasoning", "error", "long", "slow"]
CTX = RunContext(thread_id="thread-t", run_id="run-t")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "Hello 👋"}]}]


@pytest.fixture(scope="module")
def server() -> Iterator[Switchboard]:
    with Switchboard.running() as board:
        yield board


@pytest.fixture
def app(server: Switchboard) -> FaultyApp:
    return server.plug(FaultyApp())


def fixture_events(path: Path) -> list[dict[str, Any]]:
    """The helper's own output is one frame per line; good enough to know what was sent."""
    lines = path.read_bytes().decode("utf-8").split("\n")
    return [json.loads(line.removeprefix("data: ")) for line in lines if line]


async def collect(adapter: HTTPStreamAdapter, data: Any = None, ctx: Any = CTX) -> list[Event]:
    try:
        return [event async for event in adapter.connect(USER, data, None, ctx)]
    finally:
        await adapter.aclose()


def dicts(events: list[Event]) -> list[dict[str, Any]]:
    return [event_to_dict(e) for e in events]


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- reading what the reference server writes ----------------------------------------------


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("chunk_size", [None, 1])
async def test_reads_every_captured_fixture(
    app: FaultyApp, server: Switchboard, scenario: str, framing: str, chunk_size: int | None
) -> None:
    raw = (FIXTURES / f"{scenario}.{framing}").read_bytes()
    app.set_plans(Plan(headers=(), body=[raw], chunk_size=chunk_size))  # no Content-Type at all
    factory = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    events = await collect(factory(server.url + "/run", FetchOptions(retry=False)))
    assert dicts(events) == fixture_events(FIXTURES / f"{scenario}.{framing}")


@pytest.mark.parametrize("eol", ["\r\n", "\r", "\n"])
async def test_sse_line_endings_and_one_byte_writes(
    app: FaultyApp, server: Switchboard, eol: str
) -> None:
    events = text_run(3)
    app.set_plans(Plan(headers=SSE, body=[sse_frame(e, eol=eol) for e in events], chunk_size=1))
    got = await collect(fetch_server_sent_events(server.url))
    assert dicts(got) == events


async def test_sse_comments_pings_done_and_bare_json(app: FaultyApp, server: Switchboard) -> None:
    events = text_run(2)
    body: list[bytes | Gap] = [
        b":\n\n",  # heartbeat comment
        sse_frame(events[0]),
        b'data: {"type":"ping"}\n\n',  # keep-alive event
        b": keep-alive\n\n",
        sse_frame(events[1]),
        (json.dumps(events[2]) + "\n").encode(),  # bare JSON line, as 0.10 accepts
        b"event: message\ndata:" + json.dumps(events[3]).encode() + b"\n\n",  # no space
        b"retry: 1000\n\n",
        b"data: [DONE]\n\n",
        Gap(0.1),
        sse_frame(events[4]),  # after [DONE]: the client has stopped reading
    ]
    app.set_plans(Plan(headers=SSE, body=body))
    got = await collect(fetch_server_sent_events(server.url))
    assert dicts(got) == events[:4]


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
@pytest.mark.parametrize("eol", ["\n", "\r\n"])
async def test_done_in_the_middle_of_a_read_ends_the_stream_there(
    app: FaultyApp, server: Switchboard, framing: str, eol: str
) -> None:
    events = text_run(1)
    joke = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "say [DONE]\n"}
    if framing == "sse":
        frames = [sse_frame(e, eol=eol) for e in (events[0], joke, events[1])]
        done = f"data: [DONE]{eol}{eol}".encode()
    else:
        frames = [ndjson_line(e).replace(b"\n", eol.encode()) for e in (events[0], joke, events[1])]
        done = f"[DONE]{eol}".encode()
    after = sse_frame(events[2]) if framing == "sse" else ndjson_line(events[2])
    app.set_plans(Plan(headers=(), body=[b"".join([*frames, done, after])]))  # one write
    factory = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    got = await collect(factory(server.url))
    assert dicts(got) == [events[0], joke, events[1]]


async def test_multiline_data_is_one_event(app: FaultyApp, server: Switchboard) -> None:
    event = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x"}
    text = json.dumps(event, indent=1)  # spread over several lines
    body = "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"
    app.set_plans(Plan(headers=SSE, body=[body.encode()]))
    assert dicts(await collect(fetch_server_sent_events(server.url))) == [event]


async def test_ndjson_bare_and_enveloped_lines_pings_and_done(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(2)
    body: list[bytes | Gap] = [
        ndjson_line(events[0]),
        b'{"type":"ping"}\n',
        b"\n",
        ndjson_line(events[1], event_id="7"),
        ndjson_line(events[2]).replace(b"\n", b"\r\n"),
        ndjson_line(events[3]),
        b"[DONE]\n",
        Gap(0.1),
        ndjson_line(events[4]),
    ]
    app.set_plans(Plan(headers=NDJSON, body=body))
    got = await collect(fetch_http_stream(server.url))
    assert dicts(got) == events[:4]


async def test_unterminated_trailing_json_is_parsed(app: FaultyApp, server: Switchboard) -> None:
    events = text_run(1)
    body = b"".join(ndjson_line(e) for e in events).rstrip(b"\n")
    app.set_plans(Plan(headers=NDJSON, body=[body]))
    assert dicts(await collect(fetch_http_stream(server.url))) == events


# -- the request ----------------------------------------------------------------------------


async def test_request_body_headers_and_forwarded_props(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(Plan(headers=SSE, body=[sse_frame(e) for e in text_run(0)]))
    tools = [{"name": "get_time", "description": "now", "parameters": {"type": "object"}}]
    ctx = RunContext(
        thread_id="thread-t",
        run_id="run-t",
        client_tools=tools,
        forwarded_props={"shared": "ctx", "f": 1},
    )
    options = FetchOptions(
        headers={"content-type": "application/json; charset=utf-8", "X-Custom": "yes"},
        body={"a": "adapter", "shared": "adapter"},
    )
    adapter = fetch_server_sent_events(server.url + "/chat?x=1", options)
    events = [e async for e in adapter.connect(USER, {"shared": "data", "p": 1}, None, ctx)]
    await adapter.aclose()
    assert len(events) == 4
    (request,) = app.requests
    assert (request.method, request.path, request.query) == ("POST", "/chat", "x=1")
    assert request.body == encode_run_agent_input(
        USER,
        thread_id="thread-t",
        run_id="run-t",
        tools=tools,
        forwarded_props={"shared": "ctx", "f": 1},
        adapter_body={"a": "adapter", "shared": "adapter"},
        data={"shared": "data", "p": 1},
    )
    body = request.json()
    assert list(body) == [
        "threadId", "runId", "state", "messages", "tools", "context", "forwardedProps", "data"
    ]  # fmt: skip
    assert body["forwardedProps"] == {"a": "adapter", "shared": "data", "f": 1, "p": 1}
    assert body["data"] == body["forwardedProps"]
    # One Content-Type, the user's; our Accept; custom headers; no Last-Event-ID.
    assert request.header_values("content-type") == ["application/json; charset=utf-8"]
    assert request.header("accept") == "text/event-stream"
    assert request.header("x-custom") == "yes"
    assert request.header("last-event-id") is None


async def test_ndjson_accept_header_and_generated_ids(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(Plan(headers=(), body=[ndjson_line(e) for e in text_run(0)]))
    await collect(fetch_http_stream(server.url), ctx=None)
    (request,) = app.requests
    assert request.header("accept") == "application/x-ndjson"
    body = request.json()
    assert body["threadId"].startswith("thread-") and body["runId"].startswith("run-")


async def test_url_and_options_callables_are_evaluated_per_request(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(Plan(headers=SSE, body=[sse_frame(e) for e in text_run(0)]))
    tokens = iter(["t1", "t2"])
    urls: list[str] = []

    def url() -> str:
        urls.append("called")
        return server.url + f"/n{len(urls)}"

    async def options() -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"headers": {"Authorization": f"Bearer {next(tokens)}"}}

    adapter = fetch_server_sent_events(url, options)
    for _ in range(2):
        _ = [e async for e in adapter.connect(USER, None, None, CTX)]
    await adapter.aclose()
    assert [r.path for r in app.requests] == ["/n1", "/n2"]
    assert [r.header("authorization") for r in app.requests] == ["Bearer t1", "Bearer t2"]


async def test_cookies_are_sent(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(Plan(headers=SSE, body=[sse_frame(e) for e in text_run(0)]))
    await collect(fetch_server_sent_events(server.url, {"cookies": {"session": "abc123"}}))
    assert app.requests[0].header("cookie") == "session=abc123"


async def test_user_client_is_used_and_left_open(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(Plan(headers=SSE, body=[sse_frame(e) for e in text_run(0)]))
    seen: list[str] = []

    async def hook(request: httpx.Request) -> None:
        seen.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [hook]}) as client:
        adapter = fetch_server_sent_events(server.url + "/mine", FetchOptions(client=client))
        assert len(await collect(adapter)) == 4
        assert not client.is_closed
    assert seen == ["/mine"]


async def test_shared_client_is_used_lazily_and_closing_ends_the_adapter(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(Plan(headers=SSE, body=[sse_frame(e) for e in text_run(0)]))
    async with fetch_server_sent_events(server.url) as adapter:
        assert not adapter._used_shared
        _ = [e async for e in adapter.connect(USER, None, None, CTX)]
        assert adapter._used_shared and not adapter._closed
    assert adapter._closed
    with pytest.raises(RuntimeError, match="closed"):
        _ = [e async for e in adapter.connect(USER, None, None, CTX)]


async def test_asgi_transport_in_process() -> None:
    app = FaultyApp(Plan(headers=SSE, body=[sse_frame(e) for e in text_run(1)]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as client:
        adapter = fetch_server_sent_events("http://in-process/run", FetchOptions(client=client))
        assert dicts(await collect(adapter)) == text_run(1)


# -- errors ---------------------------------------------------------------------------------


async def test_http_error_carries_status_reason_headers_and_body(
    app: FaultyApp, server: Switchboard
) -> None:
    body = "Scripted HTTP failure: " + "x" * 5000
    app.set_plans(
        Plan(
            status=401,
            headers=(("content-type", "text/plain; charset=utf-8"), ("www-authenticate", "Bearer")),
            body=[body.encode()],
        )
    )
    with pytest.raises(HTTPStatusError) as info:
        await collect(fetch_server_sent_events(server.url + "/secure"))
    err = info.value
    assert err.status_code == 401 and err.reason == "Unauthorized"
    assert err.headers["www-authenticate"] == "Bearer"
    assert err.body.startswith("Scripted HTTP failure: xxx") and len(err.body) == 4096
    assert err.body_truncated
    message = str(err)
    assert message.startswith(
        f"HTTP error! status: 401 Unauthorized from {server.url}/secure: Scripted HTTP failure"
    )
    assert "\n" not in message
    assert len(app.requests) == 1  # 401 is not retried


async def test_http500_fixture(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(
        Plan(
            status=500,
            headers=(("content-type", "text/plain; charset=utf-8"),),
            body=[(FIXTURES / "http500.sse").read_bytes()],
        )
    )
    with pytest.raises(HTTPStatusError) as info:
        await collect(fetch_server_sent_events(server.url, FetchOptions(retry=False)))
    assert str(info.value) == (
        f"HTTP error! status: 500 Internal Server Error from {server.url}: Scripted HTTP failure"
    )


async def test_connection_refused_is_a_connect_error() -> None:
    url = f"http://127.0.0.1:{dead_port()}/run"
    with pytest.raises(ConnectError, match=r"could not connect to http://127\.0\.0\.1:\d+/run"):
        await collect(fetch_server_sent_events(url, FetchOptions(retry=False)))


async def test_malformed_json_is_an_error_naming_the_line(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(1)
    app.set_plans(Plan(headers=SSE, body=[sse_frame(events[0]), b"data: {not json\n\n"]))
    got: list[Event] = []
    with pytest.raises(MalformedEventError, match=r"line 3") as info:
        async for event in fetch_server_sent_events(server.url).connect(USER, None, None, CTX):
            got.append(event)
    assert "not valid JSON" in str(info.value)
    assert dicts(got) == events[:1]  # what came before stays delivered


async def test_ndjson_non_object_is_malformed(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(Plan(headers=NDJSON, body=[b"null\n"]))
    with pytest.raises(MalformedEventError, match=r"not a JSON object but null.*line 1"):
        await collect(fetch_http_stream(server.url))


async def test_oversize_line_is_frame_too_large(app: FaultyApp, server: Switchboard) -> None:
    huge = {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "x" * 5000}
    app.set_plans(Plan(headers=NDJSON, body=[ndjson_line(huge)], end="hang"))
    with pytest.raises(FrameTooLargeError, match="over the 1024-byte limit"):
        await asyncio.wait_for(
            collect(fetch_http_stream(server.url, FetchOptions(max_frame_bytes=1024))), 10
        )
    assert await app.await_finished()  # the hanging response was closed, not waited out


async def test_drop_without_ids_is_a_read_error_after_the_partial_stream(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(3)
    half = sse_frame(events[3])
    app.set_plans(
        Plan(headers=SSE, body=[*(sse_frame(e) for e in events[:3]), half[:10]], end="drop")
    )
    got: list[Event] = []
    with pytest.raises(StreamReadError, match="broke while reading"):
        async for event in fetch_server_sent_events(server.url).connect(USER, None, None, CTX):
            got.append(event)
    assert dicts(got) == events[:3]
    assert len(app.requests) == 1  # never retried once events were delivered


async def test_truncated_body_with_content_length_is_stream_truncated() -> None:
    events = text_run(1)[:-1]  # no RUN_FINISHED: a truncation after a terminal costs nothing
    raw = b"".join(sse_frame(e) for e in events) + b'data: {"type":'

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Connection-close framing (HTTP/1.0 style): EOF is the only end marker.
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream"), (b"connection", b"close"),
            (b"content-length", str(len(raw)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": raw})

    with serve(app) as srv:
        got: list[Event] = []
        with pytest.raises(StreamTruncatedError, match="ended in the middle of an event"):
            async for event in fetch_server_sent_events(srv.url).connect(USER, None, None, CTX):
                got.append(event)
    assert dicts(got) == events


def test_bad_arguments_are_rejected_early() -> None:
    with pytest.raises(TypeError, match="url must be"):
        fetch_server_sent_events(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"unknown fetch option\(s\) 'fetchClient'"):
        fetch_server_sent_events("http://x", {"fetchClient": None})
    with pytest.raises(ValueError, match="idle_timeout"):
        FetchOptions(idle_timeout=0)
    with pytest.raises(TypeError, match="body must be a mapping"):
        FetchOptions(body="x")  # type: ignore[arg-type]


async def test_options_callable_returning_junk_is_a_clear_error(server: Switchboard) -> None:
    adapter = fetch_server_sent_events(server.url, lambda: 5)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match=r"options callable's result.*got int"):
        await collect(adapter)
