"""Hostile clients on raw sockets against a real uvicorn: slow bodies, lying lengths,
early refusals, clients that vanish mid-body.

Each client is a plain asyncio connection writing HTTP/1.1 by hand, so it can do
what no well-behaved HTTP library does: declare a body and never send it, send it
one byte at a time, keep sending after the answer. The limits are made small here
(half a second, three pending bodies) so that every test ends in a few seconds;
every wait has a generous upper bound, and none measures speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from chatconduit._exceptions import RequestValidationError
from chatconduit._run_input import RunAgentInput as ParsedInput
from chatconduit._run_input import parse_run_agent_input
from chatconduit.server import PendingBodies, RunAgentInput, chat_endpoint
from servers import RunningServer, serve

BODY = (
    Path(__file__).parent / "fixtures" / "tanstack-0.10" / "curl-request-body.json"
).read_bytes()
LIMIT = 2048
BODY_TIMEOUT = 0.5
PENDING = 3
HANG = 10.0  # "answers within": far above any real answer time, far below a hang
HOLD = {"hold": "until-the-client-leaves-0b1c"}  # longer than any fuzzed string


class Recorder:
    """An agent that records its calls and its cleanups (from the server thread)."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.finished: list[str] = []

    async def __call__(self, params: RunAgentInput, request: Request) -> AsyncIterator[Any]:
        self.calls.append(params.run_id)
        try:
            ids = {"threadId": params.thread_id, "runId": params.run_id}
            yield {"type": "RUN_STARTED", **ids}
            if params.forwarded_props == HOLD:
                await asyncio.sleep(60)  # until the client goes away
            yield {"type": "RUN_FINISHED", **ids}
        finally:
            self.finished.append(params.run_id)


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[RunningServer, Recorder, PendingBodies]]:
    recorder = Recorder()
    pending = PendingBodies(PENDING)

    def authorize(request: Request) -> bool:
        return request.headers.get("authorization") == "Bearer ok"

    limits: dict[str, Any] = {"max_body_bytes": LIMIT, "body_timeout": BODY_TIMEOUT}
    app = Starlette(
        routes=[
            Route(
                "/chat",
                chat_endpoint(recorder, max_pending_bodies=pending, **limits),
                methods=["POST"],
            ),
            Route(
                "/auth",
                chat_endpoint(recorder, authorize=authorize, **limits),
                methods=["POST"],
            ),
        ]
    )
    with serve(app) as srv:
        yield srv, recorder, pending


@pytest.fixture
def srv(hostile: tuple[RunningServer, Recorder, PendingBodies]) -> RunningServer:
    return hostile[0]


@pytest.fixture
def recorder(hostile: tuple[RunningServer, Recorder, PendingBodies]) -> Recorder:
    hostile[1].calls.clear()
    hostile[1].finished.clear()
    return hostile[1]


@pytest.fixture
def pending(hostile: tuple[RunningServer, Recorder, PendingBodies]) -> PendingBodies:
    return hostile[2]


# --- a raw HTTP/1.1 client -----------------------------------------------------------------


def head(
    path: str,
    *,
    length: int | None = None,
    chunked: bool = False,
    content_type: str | None = "application/json",
    extra: dict[str, str] | None = None,
) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
    lines += [f"{name}: {value}" for name, value in (extra or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.dripping: asyncio.Task[None] | None = None

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def drip(self, data: bytes, every: float = 0.05) -> None:
        """Send ``data`` one byte at a time in the background, ignoring a closed socket."""

        async def run() -> None:
            with contextlib.suppress(OSError):
                for byte in data:
                    await self.send(bytes([byte]))
                    await asyncio.sleep(every)

        self.dripping = asyncio.create_task(run())

    async def response(self) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and the ``Content-Length`` body of the next response."""
        async with asyncio.timeout(HANG):
            raw = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = raw.decode("latin-1").split("\r\n")
            headers: dict[str, str] = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return int(status_line.split()[1]), headers, body

    async def closed_by_server(self) -> bool:
        """Whether the server closes the connection (EOF) within :data:`HANG` seconds."""
        try:
            async with asyncio.timeout(HANG):
                while await self.reader.read(65536):
                    pass
        except TimeoutError:
            return False
        except OSError:  # a reset is a close too
            return True
        return True

    async def close(self) -> None:
        if self.dripping is not None:
            self.dripping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.dripping
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


@contextlib.asynccontextmanager
async def connect(srv: RunningServer) -> AsyncIterator[RawClient]:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    client = RawClient(reader, writer)
    try:
        yield client
    finally:
        await client.close()


async def wait_for(condition: Any, what: str) -> None:
    """Poll ``condition`` (state of the server thread) until true, for at most HANG s."""
    for _ in range(int(HANG / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"timed out waiting until {what}")


def error_code(body: bytes) -> str:
    return str(json.loads(body)["error"]["code"])


# --- bodies that never finish ---------------------------------------------------------------


async def test_a_body_sent_one_byte_at_a_time_gets_408_and_its_socket_closed(
    srv: RunningServer, recorder: Recorder
) -> None:
    async with connect(srv) as client:
        await client.send(head("/chat", length=len(BODY)))
        client.drip(BODY, every=0.05)  # the whole body would take ~20 s
        status, headers, body = await client.response()
        assert status == 408 and error_code(body) == "request_timeout"
        assert headers["connection"] == "close"
        # The client keeps dripping; the server must not keep the socket for it.
        assert await client.closed_by_server()
    assert recorder.calls == []


async def test_a_content_length_lie_gets_408(srv: RunningServer, recorder: Recorder) -> None:
    async with connect(srv) as client:
        await client.send(head("/chat", length=LIMIT) + BODY[:10])  # then nothing, ever
        status, _, body = await client.response()
        assert status == 408
        assert "0.5 seconds" in json.loads(body)["error"]["message"]
        assert await client.closed_by_server()
    assert recorder.calls == []


async def test_a_chunked_body_that_never_ends_gets_408(
    srv: RunningServer, recorder: Recorder
) -> None:
    async with connect(srv) as client:
        await client.send(head("/chat", chunked=True) + b'5\r\n{"a":\r\n')
        status, _, _ = await client.response()
        assert status == 408
        assert await client.closed_by_server()
    assert recorder.calls == []


async def test_slow_bodies_past_the_limit_get_503_at_once_and_a_normal_chat_is_answered(
    srv: RunningServer, recorder: Recorder, pending: PendingBodies
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        slow = [await stack.enter_async_context(connect(srv)) for _ in range(PENDING)]
        for client in slow:
            await client.send(head("/chat", length=len(BODY)) + BODY[:1])
        await wait_for(lambda: pending.count == PENDING, "the server holds the slow bodies")

        async with connect(srv) as late:
            await late.send(head("/chat", length=len(BODY)) + BODY[:1])
            status, headers, body = await late.response()
            assert status == 503 and error_code(body) == "busy"
            assert headers["retry-after"] == "1" and headers["connection"] == "close"

        # A body that arrives with its headers needs no place: it is served meanwhile.
        async with httpx.AsyncClient(timeout=HANG) as http:
            chat = await http.post(
                f"{srv.url}/chat", content=BODY, headers={"Content-Type": "application/json"}
            )
        assert chat.status_code == 200 and b"RUN_FINISHED" in chat.content
        assert recorder.calls == ["run-fixture"]
        assert pending.count == PENDING  # the slow ones are still held...
    # ...until their deadline or their disconnect, whichever comes first.
    await wait_for(lambda: pending.count == 0, "the places are given back")


async def test_a_client_leaving_mid_body_gives_its_place_back(
    srv: RunningServer, recorder: Recorder, pending: PendingBodies
) -> None:
    async with connect(srv) as client:
        await client.send(head("/chat", length=len(BODY)) + BODY[:20])
        await wait_for(lambda: pending.count == 1, "the body is pending")
    await wait_for(lambda: pending.count == 0, "the place is given back")
    assert recorder.calls == []


# --- refusals before the body is read ------------------------------------------------------


async def test_a_declared_oversized_body_is_refused_before_a_byte_of_it_is_sent(
    srv: RunningServer, recorder: Recorder
) -> None:
    async with connect(srv) as client:
        await client.send(head("/chat", length=LIMIT + 1))  # and no body at all
        status, headers, body = await client.response()
        assert status == 413 and error_code(body) == "payload_too_large"
        assert headers["connection"] == "close"
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("path", "content_type", "extra", "status"),
    [
        ("/auth", "application/json", {"Authorization": "Bearer no"}, 401),
        ("/chat", "text/plain", {}, 415),
    ],
)
async def test_a_refusal_before_the_body_closes_the_connection(
    srv: RunningServer,
    recorder: Recorder,
    path: str,
    content_type: str,
    extra: dict[str, str],
    status: int,
) -> None:
    async with connect(srv) as client:
        await client.send(head(path, length=len(BODY), content_type=content_type, extra=extra))
        client.drip(BODY, every=0.05)  # a sender that would keep the socket for ~20 s
        answered, headers, _ = await client.response()
        assert answered == status and headers["connection"] == "close"
        assert await client.closed_by_server()
    assert recorder.calls == []


async def test_a_complete_answer_keeps_the_connection_alive(
    srv: RunningServer, recorder: Recorder
) -> None:
    """The closing is for refusals only: a 400 (body read to its end) keeps it."""
    async with connect(srv) as client:
        for _ in range(2):
            await client.send(head("/chat", length=9) + b"{not json")
            status, headers, body = await client.response()
            assert status == 400 and error_code(body) == "invalid_request"
            assert headers.get("connection") != "close"
    assert recorder.calls == []


# --- a client that vanishes mid-stream ----------------------------------------------------


async def test_a_client_vanishing_mid_stream_runs_the_agents_cleanup(
    srv: RunningServer, recorder: Recorder
) -> None:
    held = json.loads(BODY)
    held["forwardedProps"] = HOLD
    body = json.dumps(held).encode()
    async with connect(srv) as client:
        await client.send(head("/chat", length=len(body)) + body)
        async with asyncio.timeout(HANG):
            await client.reader.readuntil(b"RUN_STARTED")
    await wait_for(lambda: recorder.finished == ["run-fixture"], "the agent's finally ran")


# --- fuzzing the request parser -------------------------------------------------------------

ROLES = ["user", "assistant", "system", "developer", "tool", "activity", "reasoning"]
KEYS = st.text(max_size=8)
PARTS = ["text", "image", "audio", "video", "document", "binary", "tool-call", "tool-result"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)
# Bodies shaped like the real thing, so the fuzzing reaches deep into the validation.
parts = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(PARTS) | st.text(max_size=10) | json_values,
        "content": json_values,
        "text": json_values,
        "source": st.fixed_dictionaries(
            {}, optional={"type": st.sampled_from(["data", "url"]), "value": json_values}
        ),
        "mimeType": json_values,
        "id": json_values,
        "name": json_values,
    },
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "role": st.sampled_from(ROLES) | json_values,
        "content": json_values | st.lists(parts, max_size=3),
        "parts": st.lists(parts, max_size=3) | json_values,
        "toolCalls": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": json_values,
                    "type": json_values,
                    "function": st.fixed_dictionaries(
                        {}, optional={"name": json_values, "arguments": json_values}
                    ),
                },
            ),
            max_size=2,
        )
        | json_values,
        "toolCallId": json_values,
        "name": json_values,
    },
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "threadId": st.text(max_size=10) | json_values,
        "runId": st.text(max_size=10) | json_values,
        "parentRunId": json_values,
        "state": json_values,
        "messages": st.lists(messages, max_size=4) | json_values,
        "tools": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "name": json_values,
                    "description": json_values,
                    "parameters": json_values,
                },
            ),
            max_size=3,
        )
        | json_values,
        "context": st.lists(json_values, max_size=3) | json_values,
        "forwardedProps": json_values,
        "data": json_values,
    },
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_within_bounds(raw: bytes | str | dict[str, Any]) -> None:
    """Parse ``raw``: a RunAgentInput or a RequestValidationError, nothing else escapes,
    and memory stays within a small multiple of the input."""
    size = len(raw) if isinstance(raw, bytes | str) else len(json.dumps(raw))
    tracemalloc.start()
    try:
        result = parse_run_agent_input(raw)
        assert isinstance(result, ParsedInput)
    except RequestValidationError as exc:
        assert str(exc) and all(isinstance(p, str) and isinstance(m, str) for p, m in exc.errors)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 256 * 1024 + 200 * size


@FUZZ
@given(bodies)
def test_fuzz_shaped_bodies_only_raise_the_typed_error(body: dict[str, Any]) -> None:
    parse_within_bounds(body)
    parse_within_bounds(json.dumps(body).encode())


@FUZZ
@given(json_values)
def test_fuzz_any_json_only_raises_the_typed_error(value: Any) -> None:
    parse_within_bounds(json.dumps(value).encode())


@FUZZ
@given(st.binary(max_size=512) | st.text(max_size=256))
def test_fuzz_any_bytes_only_raise_the_typed_error(raw: bytes | str) -> None:
    parse_within_bounds(raw)


NON_STRING_PART_TYPE = {
    "threadId": "t",
    "runId": "r",
    "messages": [{"id": "u", "role": "user", "content": [{"type": []}]}],
}


def test_a_part_type_that_is_not_a_string_is_a_validation_error() -> None:
    with pytest.raises(RequestValidationError, match=r"messages\[0\]\.content\[0\]\.type"):
        parse_run_agent_input(NON_STRING_PART_TYPE)


def test_a_validator_crash_is_a_400_not_a_500(
    hostile: tuple[RunningServer, Recorder, PendingBodies], recorder: Recorder
) -> None:
    """Whatever a hostile body makes the validator raise, the client gets a 400 and
    the agent is not called (the operator gets the traceback in the log)."""
    srv = hostile[0]
    response = httpx.post(f"{srv.url}/chat", json=NON_STRING_PART_TYPE, timeout=HANG)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert recorder.calls == []


@pytest.mark.parametrize("depth", [10_000, 200_000])
def test_deeply_nested_json_is_a_validation_error_not_a_crash(depth: int) -> None:
    with pytest.raises(RequestValidationError):
        parse_run_agent_input(b"[" * depth + b"]" * depth)
    with pytest.raises(RequestValidationError):
        parse_run_agent_input(b'{"messages":' + b"[" * depth + b"]" * depth + b"}")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=256) | bodies.map(lambda body: json.dumps(body).encode()))
def test_fuzz_the_route_end_to_end_answers_200_or_400_and_nothing_else(
    hostile: tuple[RunningServer, Recorder, PendingBodies], raw: bytes
) -> None:
    srv = hostile[0]
    headers = {"Content-Type": "application/json"}
    response = httpx.post(f"{srv.url}/chat", content=raw, headers=headers, timeout=HANG)
    assert response.status_code in (200, 400, 413), response.text
    if response.status_code != 200:
        assert response.json()["error"]["code"] in ("invalid_request", "payload_too_large")
