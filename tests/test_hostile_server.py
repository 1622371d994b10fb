"""The HTTP adapters against servers that misbehave on purpose: raw asyncio sockets.

Each server here writes the bytes of its HTTP response itself (``RawServer``), so a
test can send what no framework would: an id left in force, a lone surrogate in an
envelope id, stacked gzip, JSON nested 100,000 deep, one byte every few
milliseconds, an HTML page with a 200, a redirect that leaves the origin. Each
test names the issue it guards and fails without its fix.

``RawServer`` runs its own event loop in a thread, so the same server serves an
async test in this process and the CLI in a subprocess. ``tests/test_secrets.py``
uses it too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from chatconduit import (
    ChatConduitError,
    ConnectionStatusEvent,
    ContentEncodingError,
    Event,
    FetchOptions,
    FrameTooLargeError,
    HTTPStatusError,
    MalformedEventError,
    ProtocolError,
    RedirectError,
    ResumePolicy,
    RetryPolicy,
    RunContext,
    StreamTimeoutError,
    UnexpectedResponseError,
    fetch_http_stream,
    fetch_server_sent_events,
    vercel_ui_stream,
)
from chatconduit._connection._http import HTTPStreamAdapter
from chatconduit._connection._resume import ResumeTracker
from chatconduit.events import event_to_dict
from faulty_app import event_json, ndjson_line, sse_frame, text_run

CTX = RunContext(thread_id="thread-h", run_id="run-h")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}]
FAST_RESUME = ResumePolicy(max_reconnects=3, delay=0.01, max_delay=0.02)
NO_RETRY = RetryPolicy(max_attempts=1)
MIB = 1024 * 1024


# --------------------------------------------------------------------------- the server


@dataclass
class RawRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[-1] if found else None

    def header_bytes(self, name: str) -> bytes | None:
        value = self.header(name)
        return None if value is None else value.encode("latin-1")


Handler = Callable[[RawRequest, asyncio.StreamWriter, int], Awaitable[None]]


def response_head(
    status: int = 200,
    reason: str = "OK",
    headers: Iterable[tuple[str, str]] = (("content-type", "text/event-stream"),),
) -> bytes:
    """A response head; the body that follows ends when the connection closes."""
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{k}: {v}" for k, v in headers)]
    lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class RawServer:
    """An HTTP/1.1 server on a raw asyncio socket on 127.0.0.1, a random port.

    ``handler(request, writer, index)`` writes the whole response (``index`` counts
    requests from 0); the connection is closed after it returns. Every request is
    recorded in ``requests``.
    """

    handler: Handler
    requests: list[RawRequest] = field(default_factory=list)
    port: int = 0
    disconnected: int = 0  # responses the client stopped reading (a write failed)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RawServer:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            server = self._loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0)
            )
            self.port = server.sockets[0].getsockname()[1]
            self._server = server
            ready.set()
            self._loop.run_forever()
            server.close()
            self._loop.run_until_complete(server.wait_closed())
            self._loop.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Connections still being served (a handler that stalls on purpose, for a client
        # that has given up) are cancelled and finished on the loop before it stops;
        # left suspended, they would be closed later by the garbage collector, in
        # whatever test happens to be running then.
        async def shutdown() -> None:
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(10)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = [
                (name.strip(), value.strip())
                for name, _, value in (line.partition(":") for line in header_lines if line)
            ]
            length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
            body = await reader.readexactly(length) if length else b""
            request = RawRequest(method, target, headers, body)
            index = len(self.requests)
            self.requests.append(request)
            await self.handler(request, writer, index)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            self.disconnected += 1
        finally:
            with contextlib.suppress(Exception):
                writer.close()
                await writer.wait_closed()


def body_of(*chunks: bytes, head: bytes | None = None) -> Handler:
    """A handler writing ``head`` (an SSE 200 by default) and then ``chunks``."""

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head() if head is None else head)
        for chunk in chunks:
            writer.write(chunk)
        await writer.drain()

    return handler


async def collect(
    adapter: HTTPStreamAdapter, into: list[Event] | None = None, *, limit: float = 30
) -> list[Event]:
    got = [] if into is None else into
    try:
        async with asyncio.timeout(limit):  # liveness bound only
            async for event in adapter.connect(USER, None, None, CTX):
                got.append(event)
    finally:
        await adapter.aclose()
    return got


def types(events: Sequence[Event]) -> list[str]:
    return [str(event_to_dict(e)["type"]) for e in events]


def frame(event: dict[str, Any], *, event_id: str | None = None) -> bytes:
    return sse_frame(event, event_id=event_id)


# =========================================================================== data loss


async def test_an_sse_id_left_in_force_does_not_drop_the_events_after_it() -> None:
    """``id: 1`` once, then untagged events: WHATWG keeps id 1 for all of them. The
    tracker used to skip each as "already seen", then reconnect five times."""
    events = text_run(3)
    chunks = [frame(events[0], event_id="1"), *(frame(e) for e in events[1:])]
    with RawServer(body_of(*chunks)) as server:
        got = await collect(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert [event_to_dict(e) for e in got] == events
    assert len(server.requests) == 1


@pytest.mark.parametrize("repeat_id_line", [True, False], ids=["replay-with-id", "replay-bare"])
async def test_resume_skips_exactly_the_events_delivered_under_the_id_in_force(
    repeat_id_line: bool,
) -> None:
    """Three events under id 1 were delivered, then the connection broke. The server
    replays from id 1 (with or without repeating the ``id:`` line, which carries over
    into a resumed response as in EventSource): exactly three are skipped."""
    events = text_run(3)  # RUN_STARTED, START, 3 deltas, END, FINISHED

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head())
        if index == 0:
            assert request.header("last-event-id") is None
            writer.write(frame(events[0], event_id="1") + frame(events[1]) + frame(events[2]))
            writer.write(frame(events[3])[:20])  # cut in the middle of the 4th event
            return
        assert request.header("last-event-id") == "1"
        first = frame(events[0], event_id="1") if repeat_id_line else frame(events[0])
        writer.write(first + b"".join(frame(e) for e in events[1:]))

    with RawServer(handler) as server:
        got = await collect(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert [event_to_dict(e) for e in got] == events
    assert len(server.requests) == 2


def test_resume_tracker_memory_stays_constant_with_huge_distinct_ids() -> None:
    """300 events with distinct 1 MiB ids: the tracker used to keep every id (+300 MiB)."""
    tracker = ResumeTracker(ids_persist=True)
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for i in range(300):
            event_id = f"{i:08d}".encode().ljust(MIB, b"x").decode()
            assert tracker.accept(event_id)
            del event_id
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    # The last id (1 MiB, the resume cursor) plus a few digests, not 300 MiB.
    assert held < 4 * MIB, f"tracker holds {held / MIB:.1f} MiB"
    assert tracker.last_id is not None and tracker.last_id.startswith("00000299")


async def test_huge_distinct_ids_over_the_wire_are_delivered_in_bounded_memory() -> None:
    """End to end: 300 events, each with its own 1 MiB id."""
    run = text_run(296)
    assert len(run) == 300

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head())
        for i, event in enumerate(run):
            event_id = f"{i:08d}".ljust(MIB, "x")
            writer.write(frame(event, event_id=event_id))
            await writer.drain()

    count = 0
    peak_held = 0
    with RawServer(handler) as server:
        adapter = fetch_server_sent_events(server.url)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            async with asyncio.timeout(60):
                async for _ in adapter.connect(USER, None, None, CTX):
                    count += 1
                    if count % 50 == 0 or count == 300:
                        peak_held = max(peak_held, tracemalloc.get_traced_memory()[0] - base)
        finally:
            tracemalloc.stop()
            await adapter.aclose()
    assert count == 300
    assert peak_held < 40 * MIB, f"held {peak_held / MIB:.1f} MiB while streaming"


@pytest.mark.parametrize("bad_id", ["\ud800", "a\r\nb", " padded "], ids=repr)
async def test_an_envelope_id_that_cannot_be_a_header_is_treated_as_no_id(bad_id: str) -> None:
    """An NDJSON envelope id that cannot be sent as ``Last-Event-ID`` (a lone surrogate
    crashed with UnicodeEncodeError while building the header) is no id: the stream is
    not resumable from it, and the drop is the typed error of an untagged stream."""
    events = text_run(1)
    envelope = (
        b'{"id":'
        + json.dumps(bad_id).encode()
        + b',"chunk":'
        + event_json(events[0]).encode()
        + b"}\n"
    )
    handler = body_of(
        envelope,
        ndjson_line(events[1])[:10],
        head=response_head(headers=(("content-type", "application/x-ndjson"),)),
    )
    got: list[Event] = []
    with RawServer(handler) as server:
        adapter = fetch_http_stream(server.url, FetchOptions(resume=FAST_RESUME))
        with pytest.raises(ChatConduitError):
            await collect(adapter, got)
    assert types(got) == ["RUN_STARTED"]
    assert len(server.requests) == 1  # no resume from an id we cannot send


async def test_a_non_ascii_sse_id_is_sent_back_as_utf8() -> None:
    events = text_run(1)
    event_id = "évènement-1"

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head())
        if index == 0:
            writer.write(frame(events[0], event_id=event_id) + frame(events[1])[:10])
            return
        writer.write(b"".join(frame(e, event_id=event_id) for e in events))

    with RawServer(handler) as server:
        got = await collect(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert [event_to_dict(e) for e in got] == events
    assert server.requests[1].header_bytes("last-event-id") == event_id.encode()


# ============================================================ memory and CPU a peer can force


def _gzip_stream(size: int, byte: bytes = b"\n") -> bytes:
    """gzip of ``size`` copies of ``byte``, built without holding them all."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = byte * MIB
    parts = [compressor.compress(block) for _ in range(size // MIB)]
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.fixture(scope="module")
def newlines_gzip() -> bytes:
    return _gzip_stream(256 * MIB)  # ~250 KiB on the wire


async def test_stacked_gzip_is_refused_before_it_expands(newlines_gzip: bytes) -> None:
    """``Content-Encoding: gzip, gzip``: a few KiB on the wire became one huge allocation."""
    bomb = gzip.compress(newlines_gzip, 9)
    assert len(bomb) < 64 * 1024
    head = response_head(
        headers=(("content-type", "text/event-stream"), ("content-encoding", "gzip, gzip"))
    )
    with RawServer(body_of(bomb, head=head)) as server:
        tracemalloc.start()
        try:
            with pytest.raises(ContentEncodingError, match="several times"):
                await collect(fetch_server_sent_events(server.url))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 32 * MIB


async def test_gzipped_newlines_are_bounded_in_memory_and_cpu(newlines_gzip: bytes) -> None:
    """256 MiB of newlines in ~250 KiB of gzip: decoded in bounded steps, and refused
    after twice max_frame_bytes without an event, instead of being read (and
    allocated) to the end and then ending quietly with no event."""
    head = response_head(
        headers=(("content-type", "text/event-stream"), ("content-encoding", "gzip"))
    )
    with RawServer(body_of(newlines_gzip, head=head)) as server:
        cpu = time.process_time()
        with pytest.raises(FrameTooLargeError, match="without a single event"):
            await collect(fetch_server_sent_events(server.url))
        cpu = time.process_time() - cpu
        tracemalloc.start()  # a second run for memory: tracing slows everything down
        try:
            with pytest.raises(FrameTooLargeError):
                await collect(fetch_server_sent_events(server.url))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert cpu < 3, f"{cpu:.1f}s of CPU"
    assert peak < 32 * MIB, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.parametrize("wire", ["ag-ui", "vercel"])
async def test_a_body_of_comments_is_refused_with_the_lines_read(wire: str) -> None:
    """Comment lines ended by a bare CR, over twice max_frame_bytes: refused, and the error
    names the line reached as the decoder counts lines (a bare CR ends one), for the
    AG-UI decoder and a bridge's alike."""
    options = FetchOptions(max_frame_bytes=1024)
    with RawServer(body_of(b":\r" * 3000)) as server:
        adapter = (
            fetch_server_sent_events(server.url, options)
            if wire == "ag-ui"
            else vercel_ui_stream(server.url, options)
        )
        with pytest.raises(FrameTooLargeError, match="without a single event") as caught:
            await collect(adapter)
    # Over 2,048 quiet bytes of 2-byte lines: at least 1,024 lines read before it.
    assert caught.value.line is not None and 1024 <= caught.value.line <= 3000


def test_body_decoder_steps_are_bounded_and_lossless() -> None:
    from chatconduit._connection._encoding import STEP_BYTES, BodyDecoder

    data = b"".join(b"line %d\n" % i for i in range(200_000))
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    cases = {
        "gzip": gzip.compress(data),
        "x-gzip": gzip.compress(data[:1000]) + gzip.compress(data[1000:]),  # two members
        "deflate": zlib.compress(data),
        "identity": data,
    }
    cases["deflate (raw)"] = raw_deflate.compress(data) + raw_deflate.flush()
    for name, body in cases.items():
        decoder = BodyDecoder(name.split()[0])
        out = []
        for i in range(0, len(body), 7_000):
            out += list(decoder.decode(body[i : i + 7_000]))
        out += list(decoder.flush())
        assert b"".join(out) == data, name
        if name != "identity":
            assert max(map(len, out)) <= STEP_BYTES, name
    for refused in ("gzip, gzip", "deflate, gzip", "br", "zstd"):
        with pytest.raises(ContentEncodingError):
            BodyDecoder(refused)
    with pytest.raises(ContentEncodingError, match="corrupt"):
        list(BodyDecoder("gzip").decode(b"\x1f\x8bnot really gzip"))


def test_event_progress_tells_an_unfinished_event_from_keep_alives() -> None:
    from chatconduit._connection._watch import EventProgress

    sse = EventProgress("sse")
    assert sse.feed(b": ping\n\n") == (False, True)
    assert sse.feed(b"id: 3\nretry: 10\n") == (False, False)  # no data: not an event yet
    assert sse.feed(b"da") == (True, False)  # a line in progress
    assert sse.feed(b'ta: {"type"') == (True, False)
    assert sse.feed(b":1}\r") == (True, False)  # CR ends the line; the data waits
    assert sse.feed(b"\n") == (True, False)  # ... and this LF is its CRLF, not a blank line
    assert sse.feed(b"\r\n") == (False, True)  # the blank line dispatches it
    assert sse.feed(b'{"type":"X"}\n') == (False, True)  # a bare JSON line is an event
    assert sse.feed(b"data: 1\n\ndata: 2") == (True, True)  # one ended, the next began
    ndjson = EventProgress("ndjson")
    assert ndjson.feed(b'{"type":') == (True, False)
    assert ndjson.feed(b'"X"}\n{"t') == (True, True)
    assert ndjson.feed(b'ype":"Y"}\n') == (False, True)


async def test_a_gzipped_stream_of_events_still_works() -> None:
    events = text_run(50)
    body = gzip.compress(b"".join(frame(e) for e in events))
    head = response_head(
        headers=(("content-type", "text/event-stream"), ("content-encoding", "gzip"))
    )
    with RawServer(body_of(body[:100], body[100:], head=head)) as server:
        got = await collect(fetch_server_sent_events(server.url))
    assert [event_to_dict(e) for e in got] == events
    assert server.requests[0].header("accept-encoding") == "gzip, deflate"


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_json_nested_100k_deep_is_a_malformed_event_naming_its_line(framing: str) -> None:
    """A RecursionError escaped the adapter; now it is a MalformedEventError with the line."""
    events = text_run(0)
    deep = b'{"type":"CUSTOM","name":"x","value":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    if framing == "sse":
        body = frame(events[0]) + frame(events[1]) + b"data: " + deep + b"\n\n"
        line = 5  # two events of two lines each, then the data line
        adapter = fetch_server_sent_events
    else:
        body = ndjson_line(events[0]) + ndjson_line(events[1]) + deep + b"\n"
        line = 3
        adapter = fetch_http_stream
    got: list[Event] = []
    with RawServer(body_of(body)) as server, pytest.raises(MalformedEventError) as info:
        await collect(adapter(server.url), got)
    assert info.value.line == line
    assert "nested too deeply" in str(info.value)
    assert types(got) == ["RUN_STARTED", "TEXT_MESSAGE_START"]


def trickle(data: bytes, every: float) -> Handler:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head())
        await writer.drain()
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(every)

    return handler


async def test_a_trickled_event_hits_event_timeout() -> None:
    """One byte at a time resets the idle watchdog forever; event_timeout bounds the
    time from an event's first byte to its end."""
    payload = frame(text_run(0)[0]) * 50
    with RawServer(trickle(payload, 0.02)) as server:
        options = FetchOptions(idle_timeout=5, event_timeout=0.5, retry=NO_RETRY)
        started = time.monotonic()
        with pytest.raises(StreamTimeoutError, match="event_timeout"):
            await collect(fetch_server_sent_events(server.url, options), limit=20)
    assert time.monotonic() - started < 5


async def test_heartbeats_between_events_do_not_count_against_event_timeout() -> None:
    """A model thinking for a while behind heartbeats is not a slow event."""
    events = text_run(1)

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head() + frame(events[0]) + b"id: 7\nretry: 100\n")
        for _ in range(12):  # 0.6 s of heartbeats, event_timeout is 0.3 s
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b": keep-alive\n\n" if _ % 2 else b":\n")
        writer.write(b"".join(frame(e) for e in events[1:]))

    with RawServer(handler) as server:
        options = FetchOptions(event_timeout=0.3, retry=NO_RETRY)
        got = await collect(fetch_server_sent_events(server.url, options))
    assert [event_to_dict(e) for e in got] == events


async def test_deadline_bounds_a_stream_of_heartbeats() -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head() + frame(text_run(0)[0]))
        while True:
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b": still here\n\n")

    statuses: list[ConnectionStatusEvent] = []
    with RawServer(handler) as server:
        options = FetchOptions(deadline=0.5, on_status=statuses.append)
        started = time.monotonic()
        with pytest.raises(StreamTimeoutError, match="deadline"):
            await collect(fetch_server_sent_events(server.url, options))
    assert time.monotonic() - started < 5
    assert statuses[-1].status == "error"


async def test_a_trickled_error_body_does_not_hold_the_request() -> None:
    """The excerpt of an error body is read within one idle_timeout, not one per byte."""

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head(401, "Unauthorized", (("content-type", "text/plain"),)))
        for _ in range(4096):
            await writer.drain()
            writer.write(b"x")
            await asyncio.sleep(0.02)

    with RawServer(handler) as server:
        started = time.monotonic()
        with pytest.raises(HTTPStatusError) as info:
            await collect(fetch_server_sent_events(server.url, FetchOptions(idle_timeout=0.5)))
    assert time.monotonic() - started < 5
    assert info.value.status_code == 401 and info.value.body_truncated


def test_timeouts_are_validated_and_shown() -> None:
    with pytest.raises(ValueError, match="event_timeout"):
        FetchOptions(event_timeout=0)
    with pytest.raises(ValueError, match="deadline"):
        FetchOptions(deadline=-1)
    assert "deadline=30" in repr(FetchOptions(deadline=30))


# ====================================================== a success that is not an event stream

HTML = b"<!doctype html><html><head><title>Sign in</title></head><body>Please log in</body></html>"


@pytest.mark.parametrize(
    ("status", "headers", "body", "what"),
    [
        (200, (("content-type", "text/html; charset=utf-8"),), HTML, "an HTML page"),
        (200, (("content-type", "text/event-stream"),), b"", "an empty body"),
        (200, (), b"", "an empty body"),
        (204, (), b"", "no content"),
        (200, (("content-type", "text/plain"),), b"Hello there\n", "plain text"),
        (200, (), b"<html>maintenance</html>\n", "markup"),
        (200, (("content-type", "application/json"),), b'{"detail":"nope"}', "no event"),
        (
            200,
            (("content-type", "text/event-stream"), ("x-vercel-ai-ui-message-stream", "v1")),
            b'data: {"type":"start"}\n\n',
            "Vercel AI SDK UI message stream",
        ),
    ],
    ids=[
        "html",
        "empty-sse",
        "empty-untyped",
        "204",
        "text-plain",
        "untyped-html",
        "json",
        "vercel",
    ],
)
async def test_a_success_that_is_not_an_event_stream_is_a_typed_error(
    status: int, headers: tuple[tuple[str, str], ...], body: bytes, what: str
) -> None:
    head = response_head(status, "No Content" if status == 204 else "OK", headers)
    with (
        RawServer(body_of(body, head=head)) as server,
        pytest.raises(UnexpectedResponseError) as info,
    ):
        await collect(fetch_server_sent_events(server.url))
    error = info.value
    assert isinstance(error, ProtocolError)
    assert error.status_code == status
    assert what in str(error)
    content_type = dict(headers).get("content-type")
    assert error.content_type == content_type
    if body.strip():
        assert error.excerpt is not None and error.excerpt in body.decode()


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_a_missing_content_type_is_fine_when_the_body_is_events(framing: str) -> None:
    events = text_run(2)
    if framing == "sse":
        body, adapter = b"".join(frame(e) for e in events), fetch_server_sent_events
    else:
        body, adapter = b"".join(ndjson_line(e) for e in events), fetch_http_stream
    with RawServer(body_of(body, head=response_head(headers=()))) as server:
        got = await collect(adapter(server.url))
    assert [event_to_dict(e) for e in got] == events


# ========================================================================= redirects

CREDENTIALS = {
    "Authorization": "Bearer tok-redirect-0001",
    "X-Api-Key": "key-redirect-0002",
    "X-Auth-Token": "auth-redirect-0003",
    "Cookie": "session=cookie-redirect-0004",
}


def redirect_to(location: Callable[[], str], status: int) -> Handler:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        reason = {301: "Moved", 302: "Found", 303: "See Other"}.get(status, "Redirect")
        writer.write(
            response_head(status, reason, (("location", location()), ("content-length", "0")))
        )

    return handler


def serve_events(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> Awaitable[None]:
    return body_of(*(frame(e) for e in text_run(1)))(request, writer, index)


@pytest.mark.parametrize("status", [301, 302, 303])
async def test_a_cross_origin_redirect_carries_no_credentials(status: int) -> None:
    """httpx strips Authorization and cookies but forwarded X-Api-Key, X-Auth-Token..."""
    with (
        RawServer(serve_events) as other,
        RawServer(redirect_to(lambda: other.url + "/elsewhere", status)) as origin,
    ):
        got = await collect(fetch_server_sent_events(origin.url, FetchOptions(headers=CREDENTIALS)))
    assert types(got)[0] == "RUN_STARTED"
    assert origin.requests[0].header("x-api-key") == CREDENTIALS["X-Api-Key"]  # sent there
    (hop,) = other.requests
    assert hop.method == "GET" and hop.body == b""
    for name in CREDENTIALS:
        assert hop.header(name) is None, f"{name} went to another origin"
    for secret in CREDENTIALS.values():
        assert secret.split("=")[-1].split()[-1] not in repr(hop.headers)


@pytest.mark.parametrize("status", [307, 308])
async def test_a_cross_origin_307_308_is_refused_without_sending_the_body(status: int) -> None:
    with (
        RawServer(serve_events) as other,
        RawServer(redirect_to(lambda: other.url + "/elsewhere?token=abc123456", status)) as origin,
        pytest.raises(RedirectError) as info,
    ):
        await collect(fetch_server_sent_events(origin.url, FetchOptions(headers=CREDENTIALS)))
    assert other.requests == []  # nothing, the conversation least of all, went there
    error = info.value
    assert error.status_code == status
    assert "another origin" in str(error)
    assert "abc123456" not in str(error)  # the target is shown redacted


async def test_a_same_origin_307_keeps_body_and_credentials() -> None:
    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        if index == 0:
            await redirect_to(lambda: "/moved", 307)(request, writer, index)
        else:
            await serve_events(request, writer, index)

    with RawServer(handler) as server:
        got = await collect(fetch_server_sent_events(server.url, FetchOptions(headers=CREDENTIALS)))
    assert types(got)[0] == "RUN_STARTED"
    first, hop = server.requests
    assert hop.target == "/moved" and hop.method == "POST" and hop.body == first.body
    assert hop.header("x-api-key") == CREDENTIALS["X-Api-Key"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "chatconduit", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
    )


def test_cli_cross_origin_redirect_carries_no_credentials() -> None:
    with (
        RawServer(serve_events) as other,
        RawServer(redirect_to(lambda: other.url + "/elsewhere", 302)) as origin,
    ):
        result = run_cli(
            "chat",
            origin.url,
            "-m",
            "hi",
            "-H",
            "X-Api-Key: $KEY",
            "-H",
            "Authorization: Bearer $KEY",
            env={"KEY": "key-cli-redirect-77"},
        )
    assert origin.requests[0].header("x-api-key") == "key-cli-redirect-77"
    for hop in other.requests:
        assert "key-cli-redirect-77" not in repr(hop.headers)
    assert "key-cli-redirect-77" not in result.stdout + result.stderr


def test_cli_cross_origin_307_is_refused() -> None:
    with (
        RawServer(serve_events) as other,
        RawServer(redirect_to(lambda: other.url + "/elsewhere", 307)) as origin,
    ):
        result = run_cli("chat", origin.url, "-m", "a secret conversation")
    assert other.requests == []
    assert result.returncode == 3, result.stderr  # an HTTP error
    assert "redirect not followed" in result.stderr


def test_cli_one_shot_timeout_ends_a_stream_that_never_completes() -> None:
    """``-m`` waits at most --timeout seconds (default 300) for the whole reply."""

    async def handler(request: RawRequest, writer: asyncio.StreamWriter, index: int) -> None:
        writer.write(response_head() + frame(text_run(0)[0]))
        with contextlib.suppress(ConnectionError):
            for _ in range(600):
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(b": still here\n\n")

    with RawServer(handler) as server:
        started = time.monotonic()
        result = run_cli("chat", server.url, "-m", "hi", "--timeout", "1")
    assert time.monotonic() - started < 20
    assert result.returncode == 4, result.stderr  # a connection (timeout) error
    assert "deadline" in result.stderr
    assert "Traceback" not in result.stderr
