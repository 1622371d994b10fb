"""Runs addressed by id, as the 0.33 client does it: ``X-Run-Id``, ``join_run``, ``hydrate``.

Against real servers on loopback: the fault-injecting ``FaultyApp`` (which records
every request and can serve the bytes TanStack 0.58 recorded, cut wherever a test
says) and chatconduit's own durable ``chat_endpoint``. The recorded bytes are in
``tests/fixtures/current/tanstack-0.58/durable/``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from chatconduit import (
    AbortController,
    ConnectionStatus,
    ConnectionStatusEvent,
    FetchOptions,
    FrameTooLargeError,
    HTTPStatusError,
    HydratedInterrupts,
    HydratedThread,
    HydrateUnsupportedError,
    MessageValidationError,
    ResumePolicy,
    RetryPolicy,
    RunContext,
    UnexpectedResponseError,
    fetch_http_stream,
    fetch_server_sent_events,
)
from chatconduit._connection._http import HTTPStreamAdapter
from chatconduit._connection._request import with_search_params
from chatconduit.events import EventDecoder, RunErrorEvent, event_to_dict
from chatconduit.server import DurableRuns, InMemoryStreamLog, chat_endpoint
from faulty_app import (
    NDJSON,
    SSE,
    FaultyApp,
    Plan,
    RecordedRequest,
    Resumable,
    Switchboard,
    text_run,
)
from servers import RunningServer, serve

DURABLE = Path(__file__).parent / "fixtures" / "current" / "tanstack-0.58" / "durable"
CTX = RunContext(thread_id="thread-p", run_id="run-p")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}]
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02)
FAST_RESUME = ResumePolicy(max_reconnects=3, delay=0.01, max_delay=0.02)
EXT = {"sse": "sse", "ndjson": "ndjson"}


@pytest.fixture(scope="module")
def board() -> Iterator[Switchboard]:
    with Switchboard.running() as running:
        yield running


def adapter(framing: str, url: str, **options: Any) -> HTTPStreamAdapter:
    make = fetch_server_sent_events if framing == "sse" else fetch_http_stream
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("resume", FAST_RESUME)
    return make(url, FetchOptions(**options))


async def collect(stream: AsyncIterator[Any]) -> list[dict[str, Any]]:
    return [event_to_dict(event) for event in [e async for e in stream]]


def decoded(raw: bytes, framing: str) -> list[dict[str, Any]]:
    decoder = EventDecoder(framing)  # type: ignore[arg-type]
    return [event_to_dict(e) for e, _ in decoder.feed(raw) + decoder.finish()]


def recorded(name: str) -> tuple[bytes, Plan]:
    """A recorded response's bytes, and a plan that serves them with its status and
    content type (hop-by-hop and date headers dropped)."""
    raw = (DURABLE / name).read_bytes()
    head = json.loads((DURABLE / f"{name}.headers.json").read_text(encoding="utf-8"))
    headers = [
        (k, v)
        for k, v in head["headers"].items()
        if k in ("content-type", "cache-control", "content-encoding")
    ]
    return raw, Plan(status=head["status"], headers=headers, body=[raw])


def frames_of(raw: bytes, framing: str) -> list[tuple[str | None, bytes]]:
    """Each recorded frame with the id it carries (SSE ``id:``, NDJSON envelope ``id``)."""
    out: list[tuple[str | None, bytes]] = []
    if framing == "sse":
        for block in raw.split(b"\n\n"):
            if not block.strip():
                continue
            event_id = None
            for line in block.split(b"\n"):
                if line.startswith(b"id: "):
                    event_id = line[4:].decode()
            out.append((event_id, block + b"\n\n"))
    else:
        for line in raw.splitlines(keepends=True):
            payload = json.loads(line)
            out.append((payload.get("id") if "chunk" in payload else None, line))
    return out


def one(request: RecordedRequest, name: str) -> str:
    values = request.header_values(name)
    assert len(values) == 1, f"{name}: {values}"
    return values[0]


# -- X-Run-Id ---------------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_every_post_names_its_run_in_x_run_id_also_on_a_retry(
    board: Switchboard, framing: str
) -> None:
    ok = Plan(
        headers=SSE if framing == "sse" else NDJSON,
        body=[
            (f"data: {json.dumps(e)}\n\n" if framing == "sse" else json.dumps(e) + "\n").encode()
            for e in text_run(2, run_id="run-p", thread_id="thread-p")
        ],
    )
    app = board.plug(FaultyApp(Plan(status=503, body=[b"busy"]), ok))

    events = await collect(adapter(framing, board.url).connect(USER, None, None, CTX))

    assert events[-1]["type"] == "RUN_FINISHED"
    assert len(app.requests) == 2
    for request in app.requests:
        assert one(request, "x-run-id") == "run-p"
        assert request.json()["runId"] == "run-p"
    assert app.requests[0].body == app.requests[1].body  # the same run, byte for byte


async def test_a_resume_repeats_the_runs_x_run_id_next_to_last_event_id(
    board: Switchboard,
) -> None:
    resumable = Resumable(text_run(6, run_id="run-p", thread_id="thread-p"), drops=[3])
    app = board.plug(FaultyApp(resumable))

    events = await collect(adapter("sse", board.url).connect(USER, None, None, CTX))

    assert [e["type"] for e in events].count("TEXT_MESSAGE_CONTENT") == 6
    first, resumed = app.requests
    assert first.header("last-event-id") is None
    assert one(resumed, "last-event-id") == "3"
    assert one(first, "x-run-id") == one(resumed, "x-run-id") == "run-p"


async def test_x_run_id_replaces_a_user_header_of_that_name(board: Switchboard) -> None:
    app = board.plug(FaultyApp(Resumable(text_run(1))))
    client = adapter("sse", board.url, headers={"x-run-id": "someone-else"})

    await collect(client.connect(USER, None, None, CTX))

    assert one(app.requests[0], "x-run-id") == "run-p"  # as 0.33 spreads its own last


async def test_without_a_run_context_x_run_id_names_the_run_the_body_describes(
    board: Switchboard,
) -> None:
    app = board.plug(FaultyApp(Resumable(text_run(1))))

    await collect(adapter("sse", board.url).connect(USER))

    (request,) = app.requests
    run_id = request.json()["runId"]
    assert run_id.startswith("run-")
    assert one(request, "x-run-id") == run_id


async def test_a_run_id_no_header_can_carry_goes_in_the_body_only(board: Switchboard) -> None:
    app = board.plug(FaultyApp(Resumable(text_run(1))))
    ctx = RunContext(thread_id="t", run_id="run\nwith a line break")

    await collect(adapter("sse", board.url).connect(USER, None, None, ctx))

    (request,) = app.requests
    assert request.header("x-run-id") is None
    assert request.json()["runId"] == "run\nwith a line break"


# -- join_run ---------------------------------------------------------------------------------


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_join_run_gets_the_log_from_the_start_and_yields_it_like_connect(
    board: Switchboard, framing: str
) -> None:
    raw, plan = recorded(f"joinrun.{EXT[framing]}")
    run_id = f"run-durable-extras-{framing}"
    app = board.plug(FaultyApp(plan))

    events = await collect(adapter(framing, f"{board.url}/chat").join_run(run_id))

    assert events == decoded(raw, framing)
    assert events[0] == {**events[0], "type": "CUSTOM", "name": "run.accepted"}
    assert events[-1]["type"] == "RUN_FINISHED"
    (request,) = app.requests
    assert (request.method, request.path) == ("GET", "/chat")
    # The recorded 0.33 joinRun url: offset first, then runId.
    assert request.query == f"offset=-1&runId={run_id}"
    assert request.body == b""
    assert request.header("content-type") is None
    assert request.header("x-run-id") is None  # the GET names the run in its query
    assert one(request, "accept") == (
        "text/event-stream" if framing == "sse" else "application/x-ndjson"
    )


async def test_join_run_from_an_offset_sends_it_encoded_as_url_search_params_does(
    board: Switchboard,
) -> None:
    raw, plan = recorded("join-from-offset.sse")
    app = board.plug(FaultyApp(plan))
    offset = "memory:v1:run-durable-extras-sse:4"

    events = await collect(
        adapter("sse", board.url).join_run("run-durable-extras-sse", offset=offset)
    )

    assert events == decoded(raw, "sse")
    assert app.requests[0].query == (
        "offset=memory%3Av1%3Arun-durable-extras-sse%3A4&runId=run-durable-extras-sse"
    )


def test_query_parameters_are_set_as_the_reference_sets_them() -> None:
    # URLSearchParams.set: replaces the first of that name in place, drops the rest,
    # else appends; only A-Z a-z 0-9 * - . _ stay as they are, a space is "+".
    url = "https://h/chat?tenant=a%20b&runId=old&x=1&runId=older#frag"
    assert with_search_params(url, [("offset", "-1"), ("runId", "r 1~é")]) == (
        "https://h/chat?tenant=a%20b&runId=r+1%7E%C3%A9&x=1&offset=-1#frag"
    )
    assert with_search_params("https://h/chat", [("threadId", "t*._-")]) == (
        "https://h/chat?threadId=t*._-"
    )


async def test_join_run_uses_the_adapters_url_and_options_callables(
    board: Switchboard,
) -> None:
    _, plan = recorded("joinrun.sse")
    app = board.plug(FaultyApp(plan))
    tokens = iter(["tok-1", "tok-2"])

    async def url() -> str:
        return f"{board.url}/api?tenant=acme"

    client = fetch_server_sent_events(
        url, lambda: {"headers": {"Authorization": f"Bearer {next(tokens)}"}}
    )
    async with client:
        await collect(client.join_run("run-durable-extras-sse"))

    (request,) = app.requests
    assert request.query == "tenant=acme&offset=-1&runId=run-durable-extras-sse"
    assert one(request, "authorization") == "Bearer tok-1"


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_join_run_resumes_a_cut_durable_stream_with_last_event_id(
    board: Switchboard, framing: str
) -> None:
    raw, _ = recorded(f"joinrun.{EXT[framing]}")
    frames = frames_of(raw, framing)
    cut = 5  # the first response breaks off in the middle of frame 5
    headers = SSE if framing == "sse" else NDJSON

    def serve_log(request: RecordedRequest) -> Plan:
        last = request.header("last-event-id")
        if last is None:
            half = frames[cut][1][: len(frames[cut][1]) // 2]
            return Plan(headers=headers, body=[f for _, f in frames[:cut]] + [half], end="drop")
        after = next(i for i, (event_id, _) in enumerate(frames) if event_id == last) + 1
        return Plan(headers=headers, body=[f for _, f in frames[after:]])  # strictly after

    app = board.plug(FaultyApp(serve_log))
    statuses: list[ConnectionStatusEvent] = []
    run_id = f"run-durable-extras-{framing}"

    events = await collect(
        adapter(framing, f"{board.url}/chat", on_status=statuses.append).join_run(run_id)
    )

    assert events == decoded(raw, framing)  # one continuous stream, nothing twice
    first, resumed = app.requests
    assert one(resumed, "last-event-id") == frames[cut - 1][0] == f"memory:v1:{run_id}:{cut}"
    assert first.query == resumed.query == f"offset=-1&runId={run_id}"
    assert [s.status for s in statuses] == [
        ConnectionStatus.CONNECTING,
        ConnectionStatus.OPEN,
        ConnectionStatus.RECONNECTING,
        ConnectionStatus.CONNECTING,
        ConnectionStatus.OPEN,
        ConnectionStatus.CLOSED,
    ]
    assert statuses[0].url == f"{board.url}/chat?offset=-1&runId={run_id}"


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_join_run_without_an_offset_the_server_reads_is_a_typed_400(
    board: Switchboard, framing: str
) -> None:
    raw, plan = recorded(f"join-without-offset.{framing}.txt")
    app = board.plug(FaultyApp(plan))

    with pytest.raises(HTTPStatusError) as caught:
        await collect(adapter(framing, board.url).join_run("run-x"))

    assert caught.value.status_code == 400
    assert caught.value.body == raw.decode()
    assert "No resume offset provided" in str(caught.value)
    assert len(app.requests) == 1  # a 400 is not retried


@pytest.mark.parametrize("framing", ["sse", "ndjson"])
async def test_join_run_of_an_unknown_run_yields_the_servers_run_error(
    board: Switchboard, framing: str
) -> None:
    _, plan = recorded(f"join-unknown-run.{framing}")
    board.plug(FaultyApp(plan))

    events = [e async for e in adapter(framing, board.url).join_run("run-never-started")]

    (event,) = events
    assert isinstance(event, RunErrorEvent)
    assert event.message == 'Memory stream run produced no data within 100ms: "run-never-started"'


async def test_join_run_with_a_5xx_is_retried_then_raised_typed(board: Switchboard) -> None:
    app = board.plug(FaultyApp(Plan(status=502, body=[b"bad gateway"])))

    with pytest.raises(HTTPStatusError) as caught:
        await collect(adapter("sse", board.url).join_run("run-x"))

    assert caught.value.status_code == 502
    assert caught.value.body == "bad gateway"
    assert len(app.requests) == FAST_RETRY.max_attempts


async def test_join_run_stops_on_abort_and_the_server_sees_the_disconnect(
    board: Switchboard,
) -> None:
    app = board.plug(FaultyApp(Plan(headers=SSE, body=[b": open\n\n"], end="hang")))
    controller = AbortController()
    stream = adapter("sse", board.url).join_run("run-x", abort_signal=controller.signal)

    async def abort_soon() -> None:
        await asyncio.sleep(0.1)
        controller.abort()

    aborter = asyncio.create_task(abort_soon())
    events = await asyncio.wait_for(collect(stream), 10)
    await aborter

    assert events == []
    assert await app.await_finished(1)
    assert app.requests[0].disconnected


async def test_join_run_masks_a_token_the_server_echoes_in_its_error(board: Switchboard) -> None:
    board.plug(FaultyApp(Plan(status=401, body=[b"bad token sk-secret-12345"])))
    client = adapter("sse", board.url, headers={"Authorization": "Bearer sk-secret-12345"})

    with pytest.raises(HTTPStatusError) as caught:
        await collect(client.join_run("run-x"))

    assert "sk-secret-12345" not in str(caught.value)
    assert "sk-secret-12345" not in caught.value.body


def test_join_run_refuses_an_empty_run_id_at_once() -> None:
    with pytest.raises(ValueError, match="run_id"):
        fetch_server_sent_events("http://127.0.0.1:9/").join_run("")
    with pytest.raises(ValueError, match="offset"):
        fetch_server_sent_events("http://127.0.0.1:9/").join_run("r", offset="")


# -- join_run against chatconduit's own durable endpoint -------------------------------------


class Words:
    """An agent that streams a few words, slowly enough to be joined while it runs."""

    async def __call__(self, params: Any, request: Request) -> AsyncIterator[dict[str, Any]]:
        ids = {"threadId": params.thread_id, "runId": params.run_id}
        yield {"type": "RUN_STARTED", **ids}
        yield {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"}
        for i in range(8):
            await asyncio.sleep(0.01)
            yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"w{i} "}
        yield {"type": "TEXT_MESSAGE_END", "messageId": "m"}
        yield {"type": "RUN_FINISHED", **ids}


@pytest.fixture(scope="module")
def durable_server() -> Iterator[RunningServer]:
    runs = DurableRuns(InMemoryStreamLog(), abandon_after=None)
    app = Starlette(
        routes=[
            Route("/sse", chat_endpoint(Words(), durable=runs), methods=["POST", "GET"]),
            Route("/plain", chat_endpoint(Words()), methods=["POST", "GET"]),
        ]
    )
    with serve(app) as srv:
        yield srv


async def test_join_run_on_our_own_durable_endpoint_gets_what_connect_got(
    durable_server: RunningServer,
) -> None:
    url = f"{durable_server.url}/sse"
    ctx = RunContext(thread_id="thread-own", run_id="run-own-1")
    async with fetch_server_sent_events(url) as posting, fetch_server_sent_events(url) as joining:
        stream = posting.connect(USER, None, None, ctx)
        first = await anext(stream)  # the run has started: join it while it runs
        joined = await collect(joining.join_run("run-own-1"))
        rest = await collect(stream)

        assert joined == [event_to_dict(first), *rest]
        assert await collect(joining.join_run("run-own-1")) == joined  # and after it ended


async def test_hydrate_of_a_post_only_route_says_the_server_does_not_support_it(
    durable_server: RunningServer,
) -> None:
    async with fetch_server_sent_events(f"{durable_server.url}/plain") as client:
        with pytest.raises(HydrateUnsupportedError) as caught:
            await client.hydrate("thread-own")

    assert isinstance(caught.value, HTTPStatusError)
    assert caught.value.status_code == 405
    assert "does not support hydrate" in str(caught.value)
    assert "Use POST" in caught.value.body


# -- hydrate ----------------------------------------------------------------------------------


def json_plan(document: Any, status: int = 200, content_type: str = "application/json") -> Plan:
    return Plan(
        status=status,
        headers=(("content-type", content_type),),
        body=[json.dumps(document).encode()],
    )


HYDRATE = json.loads((DURABLE / "hydrate.json").read_text(encoding="utf-8"))


async def test_hydrate_reads_the_recorded_answer_into_a_typed_thread(board: Switchboard) -> None:
    answer = HYDRATE["responseBody"]
    app = board.plug(FaultyApp(json_plan(answer)))

    thread = await adapter("sse", f"{board.url}/sse/chat").hydrate("thread-hydrate")

    assert isinstance(thread, HydratedThread)
    assert [m.role for m in thread.messages] == ["user", "assistant"]
    assert [m.id for m in thread.messages] == [m["id"] for m in answer["messages"]]
    tool_call = thread.messages[1].parts[1]
    assert tool_call.type == "tool-call" and tool_call.state == "approval-requested"
    assert thread.active_run is None
    assert thread.interrupts == HydratedInterrupts(
        run_id=answer["interrupts"]["runId"], pending=answer["interrupts"]["pending"]
    )
    assert (thread.truncated, thread.cursor, thread.extra) == (False, None, {})
    assert thread.to_dict() == answer  # nothing lost, unknown keys of the messages included
    (request,) = app.requests
    # The recorded 0.33 request: GET <url>?threadId=<id>, Accept: application/json.
    assert HYDRATE["request"]["url"].endswith("/sse/chat?threadId=thread-hydrate")
    assert (request.method, request.path, request.query) == (
        "GET",
        "/sse/chat",
        "threadId=thread-hydrate",
    )
    assert one(request, "accept") == HYDRATE["request"]["headers"]["accept"]
    assert request.header("content-type") is None
    assert request.body == b""


async def test_hydrate_reads_a_running_run_a_page_and_keeps_unknown_keys(
    board: Switchboard,
) -> None:
    answer = {
        "messages": [],
        "activeRun": {"runId": "run-live", "since": 1},
        "interrupts": None,
        "page": {"truncated": True, "cursor": "c-42"},
        "generation": 7,
    }
    app = board.plug(FaultyApp(json_plan(answer)))

    thread = await adapter("ndjson", board.url).hydrate("t 1", limit=20, before="c-41")

    assert thread == HydratedThread(
        messages=[], active_run="run-live", truncated=True, cursor="c-42", extra={"generation": 7}
    )
    assert app.requests[0].query == "threadId=t+1&limit=20&before=c-41"


def test_hydrate_reads_leniently_where_the_reference_does() -> None:
    thread = HydratedThread.from_dict(
        {
            "messages": "not a list",
            "activeRun": {"runId": 5},
            "interrupts": {"runId": "r", "pending": []},
            "page": {"truncated": True, "cursor": ""},
        }
    )
    assert thread == HydratedThread(messages=[])


async def test_hydrate_retries_a_5xx(board: Switchboard) -> None:
    app = board.plug(FaultyApp(Plan(status=503), json_plan({"messages": []})))

    thread = await adapter("sse", board.url).hydrate("t")

    assert thread.messages == []
    assert len(app.requests) == 2


@pytest.mark.parametrize("status", [405, 501])
async def test_hydrate_of_a_server_without_the_route_is_a_clear_error(
    board: Switchboard, status: int
) -> None:
    app = board.plug(FaultyApp(Plan(status=status, body=[b"Method Not Allowed"])))

    with pytest.raises(HydrateUnsupportedError, match="does not support hydrate") as caught:
        await adapter("sse", board.url).hydrate("t")

    assert caught.value.status_code == status
    assert caught.value.body == "Method Not Allowed"
    assert len(app.requests) == 1  # not retried, even the 501


async def test_hydrate_of_an_unknown_route_keeps_status_and_body(board: Switchboard) -> None:
    board.plug(FaultyApp(Plan(status=404, body=[b'{"error":"no thread"}'])))

    with pytest.raises(HTTPStatusError) as caught:
        await adapter("sse", board.url).hydrate("t")

    assert type(caught.value) is HTTPStatusError
    assert (caught.value.status_code, caught.value.body) == (404, '{"error":"no thread"}')


@pytest.mark.parametrize(
    ("plan", "what"),
    [
        (Plan(headers=(("content-type", "text/html"),), body=[b"<html>login</html>"]), "HTML"),
        (Plan(headers=(("content-type", "application/json"),), body=[b"{not json"]), "not JSON"),
        (Plan(headers=(("content-type", "application/json"),), body=[]), "an empty body"),
        (json_plan([1, 2]), "not an object"),
        (json_plan({"interrupts": {"runId": "r", "pending": [3]}}), "interrupts.pending[0]"),
        (Plan(status=204, headers=()), "no content"),
        # A chat route that streams whatever it is asked, forever: refused from its head.
        (Plan(headers=SSE, body=[b": hi\n\n"], repeat_forever=b": ping\n\n"), "event stream"),
    ],
    ids=["html", "not-json", "empty", "array", "bad-interrupt", "204", "endless-stream"],
)
async def test_an_answer_that_is_no_hydrate_document_is_a_typed_error(
    board: Switchboard, plan: Plan, what: str
) -> None:
    board.plug(FaultyApp(plan))

    with pytest.raises(UnexpectedResponseError, match=re.escape(what)) as caught:
        await asyncio.wait_for(adapter("sse", board.url).hydrate("t"), 10)

    assert caught.value.status_code == plan.status


async def test_a_stored_message_that_is_no_ui_message_is_named(board: Switchboard) -> None:
    board.plug(FaultyApp(json_plan({"messages": [{"id": "m1", "role": "user", "parts": 3}]})))

    with pytest.raises(MessageValidationError, match=r"messages\[0\]\.parts"):
        await adapter("sse", board.url).hydrate("t")


async def test_a_hydrate_answer_over_its_limit_is_refused(board: Switchboard) -> None:
    board.plug(FaultyApp(json_plan({"messages": [], "pad": "x" * 5000})))

    with pytest.raises(FrameTooLargeError, match="hydrate answer"):
        await adapter("sse", board.url, max_frame_bytes=128).hydrate("t")


async def test_hydrate_sends_the_adapters_headers_and_masks_an_echoed_token(
    board: Switchboard,
) -> None:
    app = board.plug(FaultyApp(Plan(status=401, body=[b"token sk-secret-12345 expired"])))
    options: Callable[[], FetchOptions] = lambda: FetchOptions(  # noqa: E731
        headers={"Authorization": "Bearer sk-secret-12345"}, cookies={"sid": "cookie-value-1"}
    )

    with pytest.raises(HTTPStatusError) as caught:
        await fetch_server_sent_events(board.url, options).hydrate("t")

    assert one(app.requests[0], "authorization") == "Bearer sk-secret-12345"
    assert "sid=cookie-value-1" in one(app.requests[0], "cookie")
    assert "sk-secret-12345" not in str(caught.value)
    assert "sk-secret-12345" not in caught.value.body
