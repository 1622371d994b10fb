"""Retries, resume, the idle watchdog, status events and cancellation, against a faulty server.

Each reliability promise of the HTTP transports has a test here that fails
without it. Timeouts in ``asyncio.wait_for`` are liveness bounds, not speed
assertions.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from chatconduit import (
    AbortController,
    ConnectError,
    ConnectionStatus,
    ConnectionStatusEvent,
    Event,
    FetchOptions,
    HTTPStatusError,
    ReconnectLimitError,
    ResumePolicy,
    RetryPolicy,
    RunContext,
    StreamReadError,
    StreamTimeoutError,
    fetch_http_stream,
    fetch_server_sent_events,
    normalize_connection_adapter,
)
from chatconduit._connection._http import HTTPStreamAdapter
from chatconduit.events import RunErrorEvent, event_to_dict
from faulty_app import (
    SSE,
    FaultyApp,
    Gap,
    Plan,
    RecordedRequest,
    Resumable,
    Switchboard,
    sse_frame,
    text_run,
)

CTX = RunContext(thread_id="thread-r", run_id="run-r")
USER = [{"id": "u1", "role": "user", "parts": [{"type": "text", "content": "hi"}]}]
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02)
FAST_RESUME = ResumePolicy(max_reconnects=3, delay=0.01, max_delay=0.02)


@pytest.fixture(scope="module")
def server() -> Iterator[Switchboard]:
    with Switchboard.running() as board:
        yield board


@pytest.fixture
def app(server: Switchboard) -> FaultyApp:
    return server.plug(FaultyApp())


def ok_plan(n: int = 1) -> Plan:
    return Plan(headers=SSE, body=[sse_frame(e) for e in text_run(n)])


async def run(adapter: HTTPStreamAdapter, into: list[Event] | None = None) -> list[Event]:
    """Collect the events of one connect(); ``into`` keeps them even if it raises."""
    got = [] if into is None else into
    try:
        async with asyncio.timeout(20):  # liveness bound only
            async for event in adapter.connect(USER, None, None, CTX):
                got.append(event)
    finally:
        await adapter.aclose()
    return got


def dicts(events: list[Event]) -> list[dict[str, Any]]:
    return [event_to_dict(e) for e in events]


def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def error_plan(status: int, *headers: tuple[str, str]) -> Plan:
    return Plan(status=status, headers=(("content-type", "text/plain"), *headers), body=[b"nope"])


# -- retries of the initial request ---------------------------------------------------------


async def test_5xx_is_retried_with_backoff_then_succeeds(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(error_plan(500), error_plan(503), ok_plan())
    statuses: list[ConnectionStatusEvent] = []
    options = FetchOptions(retry=FAST_RETRY, on_status=statuses.append)
    events = await run(fetch_server_sent_events(server.url, options))
    assert dicts(events) == text_run(1)
    assert len(app.requests) == 3
    assert len({r.body for r in app.requests}) == 1  # the same body (same run id) each time
    retries = [s for s in statuses if s.status is ConnectionStatus.RECONNECTING]
    assert [type(s.error) for s in retries] == [HTTPStatusError, HTTPStatusError]
    assert all(s.delay is not None and 0 < s.delay <= 0.02 for s in retries)


async def test_attempts_are_bounded(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(error_plan(502))
    with pytest.raises(HTTPStatusError) as info:
        await run(fetch_server_sent_events(server.url, FetchOptions(retry=FAST_RETRY)))
    assert info.value.status_code == 502
    assert len(app.requests) == 3


@pytest.mark.parametrize("status", [408, 429])
async def test_408_and_429_are_retried(app: FaultyApp, server: Switchboard, status: int) -> None:
    app.set_plans(error_plan(status), ok_plan())
    await run(fetch_server_sent_events(server.url, FetchOptions(retry=FAST_RETRY)))
    assert len(app.requests) == 2


async def test_retry_after_replaces_the_backoff(app: FaultyApp, server: Switchboard) -> None:
    # A 60 s backoff would blow the liveness bound: passing proves Retry-After was used.
    slow_backoff = RetryPolicy(max_attempts=2, initial_delay=60, max_delay=60, jitter=0)
    app.set_plans(error_plan(429, ("retry-after", "0.05")), ok_plan())
    statuses: list[ConnectionStatusEvent] = []
    options = FetchOptions(retry=slow_backoff, on_status=statuses.append)
    await run(fetch_server_sent_events(server.url, options))
    assert [s.delay for s in statuses if s.status is ConnectionStatus.RECONNECTING] == [0.05]


async def test_retry_after_beyond_the_cap_is_raised_at_once(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(error_plan(429, ("retry-after", "120")), ok_plan())
    options = FetchOptions(retry=RetryPolicy(max_retry_after=30))
    with pytest.raises(HTTPStatusError) as info:
        await run(fetch_server_sent_events(server.url, options))
    assert info.value.retry_after == "120"
    assert len(app.requests) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
async def test_other_4xx_are_never_retried(
    app: FaultyApp, server: Switchboard, status: int
) -> None:
    app.set_plans(error_plan(status), ok_plan())
    with pytest.raises(HTTPStatusError):
        await run(fetch_server_sent_events(server.url, FetchOptions(retry=FAST_RETRY)))
    assert len(app.requests) == 1


async def test_retry_false_disables_retries(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(error_plan(503), ok_plan())
    with pytest.raises(HTTPStatusError):
        await run(fetch_server_sent_events(server.url, {"retry": False}))
    assert len(app.requests) == 1


async def test_connect_errors_are_retried_with_fresh_url_and_token(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(ok_plan())
    urls = iter([f"http://127.0.0.1:{dead_port()}/run", server.url + "/run"])
    tokens = iter(["Bearer stale", "Bearer fresh"])

    def options() -> FetchOptions:
        return FetchOptions(headers={"Authorization": next(tokens)}, retry=FAST_RETRY)

    events = await run(fetch_server_sent_events(lambda: next(urls), options))
    assert dicts(events) == text_run(1)
    (request,) = app.requests  # the first attempt never reached a server
    assert request.header("authorization") == "Bearer fresh"


async def test_connect_error_after_all_attempts(app: FaultyApp) -> None:
    url = f"http://127.0.0.1:{dead_port()}/run"
    statuses: list[ConnectionStatusEvent] = []
    options = FetchOptions(retry=FAST_RETRY, on_status=statuses.append)
    with pytest.raises(ConnectError, match="could not connect"):
        await run(fetch_server_sent_events(url, options))
    kinds = [s.status for s in statuses]
    assert kinds.count(ConnectionStatus.CONNECTING) == 3
    assert kinds[-1] is ConnectionStatus.ERROR


async def test_no_retry_once_events_were_delivered(app: FaultyApp, server: Switchboard) -> None:
    events = text_run(2)
    app.set_plans(
        Plan(headers=SSE, body=[sse_frame(events[0]), sse_frame(events[1])[:5]], end="drop"),
        ok_plan(),
    )
    got: list[Event] = []
    with pytest.raises(StreamReadError):
        await run(fetch_server_sent_events(server.url, FetchOptions(retry=FAST_RETRY)), got)
    assert dicts(got) == events[:1]  # delivered stays delivered
    assert len(app.requests) == 1


# -- resume ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ndjson", [False, True])
async def test_resume_after_drops_mid_event_is_seamless(
    app: FaultyApp, server: Switchboard, ndjson: bool
) -> None:
    events = text_run(8)  # 12 events, ids "1".."12"
    plan = Resumable(events, drops=[3, 7], ndjson=ndjson)
    app.set_plans(plan)
    tokens = iter(f"Bearer t{i}" for i in range(10))

    def options() -> FetchOptions:
        return FetchOptions(headers={"Authorization": next(tokens)}, resume=FAST_RESUME)

    factory = fetch_http_stream if ndjson else fetch_server_sent_events
    got = await run(factory(server.url, options))
    assert dicts(got) == events  # nothing lost, nothing duplicated
    assert plan.last_event_ids == [None, "3", "7"]
    assert len({r.body for r in app.requests}) == 1  # same body: same run id
    assert [r.header("authorization") for r in app.requests] == [
        "Bearer t0",
        "Bearer t1",
        "Bearer t2",
    ]


async def test_resume_skips_events_a_sloppy_server_replays(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(6)
    plan = Resumable(events, drops=[4, 6], replay_overlap=2)
    app.set_plans(plan)
    got = await run(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert dicts(got) == events
    assert plan.last_event_ids == [None, "4", "6"]


async def test_resume_when_stream_ends_cleanly_without_terminal(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(3)

    def plan(request: RecordedRequest) -> Plan:
        start = int(request.header("last-event-id") or 0)
        stop = 3 if start == 0 else len(events)  # the first response just stops early
        frames = [sse_frame(events[i], event_id=str(i + 1)) for i in range(start, stop)]
        return Plan(headers=SSE, body=frames)

    app.set_plans(plan)
    got = await run(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert dicts(got) == events
    assert [r.header("last-event-id") for r in app.requests] == [None, "3"]


async def test_reconnects_without_progress_end_in_reconnect_limit(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(6)
    app.set_plans(Resumable(events, drops=[3] * 10))  # always breaks at the same event
    got: list[Event] = []
    policy = ResumePolicy(max_reconnects=2, delay=0.01)
    with pytest.raises(ReconnectLimitError, match="after 2 reconnects") as info:
        await run(fetch_server_sent_events(server.url, FetchOptions(resume=policy)), got)
    assert isinstance(info.value.__cause__, StreamReadError)
    assert dicts(got) == events[:3]  # delivered once each
    assert len(app.requests) == 3  # the first, then two reconnects without progress


async def test_resume_counts_failed_reconnect_requests(app: FaultyApp, server: Switchboard) -> None:
    events = text_run(4)
    resumable = Resumable(events, drops=[2])
    app.set_plans(resumable, error_plan(503), error_plan(503), resumable)
    got = await run(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert dicts(got) == events
    assert [r.header("last-event-id") for r in app.requests] == [None, "2", "2", "2"]


def reconnect_delays(statuses: list[ConnectionStatusEvent]) -> list[float | None]:
    return [s.delay for s in statuses if s.status is ConnectionStatus.RECONNECTING]


async def test_resume_waits_the_reconnection_time_the_server_set(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(8)
    # retry: 30 ms on the first connection only; the policy alone would wait 2 s.
    app.set_plans(Resumable(events, drops=[3, 7], retry_ms=30))
    statuses: list[ConnectionStatusEvent] = []
    policy = ResumePolicy(max_reconnects=3, delay=2.0, max_delay=4.0)
    options = FetchOptions(resume=policy, on_status=statuses.append)
    assert dicts(await run(fetch_server_sent_events(server.url, options))) == events
    # Both reconnects brought progress (first in a row each); the second shows the
    # server's value outlives the response that set it.
    assert reconnect_delays(statuses) == [0.03, 0.03]


async def test_the_servers_reconnection_time_is_capped_by_the_policy(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(4)
    app.set_plans(Resumable(events, drops=[2], retry_ms=3_600_000))  # "come back in an hour"
    statuses: list[ConnectionStatusEvent] = []
    policy = ResumePolicy(max_reconnects=3, delay=0.01, max_delay=0.05)
    options = FetchOptions(resume=policy, on_status=statuses.append)
    assert dicts(await run(fetch_server_sent_events(server.url, options))) == events
    assert reconnect_delays(statuses) == [0.05]


async def test_retry_zero_still_backs_off_while_reconnects_fail(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(4)
    app.set_plans(Resumable(events, drops=[2, 2, 2], retry_ms=0))  # two reconnects in vain
    statuses: list[ConnectionStatusEvent] = []
    policy = ResumePolicy(max_reconnects=3, delay=0.01, max_delay=1.0)
    options = FetchOptions(resume=policy, on_status=statuses.append)
    assert dicts(await run(fetch_server_sent_events(server.url, options))) == events
    assert reconnect_delays(statuses) == [0.0, 0.02, 0.04]


async def test_resume_disabled_makes_a_drop_an_error(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(Resumable(text_run(4), drops=[2]))
    with pytest.raises(StreamReadError):
        await run(fetch_server_sent_events(server.url, FetchOptions(resume=False)))
    assert len(app.requests) == 1


async def test_client_error_on_reconnect_is_raised(app: FaultyApp, server: Switchboard) -> None:
    resumable = Resumable(text_run(4), drops=[2])
    app.set_plans(resumable, error_plan(404))
    with pytest.raises(HTTPStatusError) as info:
        await run(fetch_server_sent_events(server.url, FetchOptions(resume=FAST_RESUME)))
    assert info.value.status_code == 404


async def test_drop_after_terminal_event_is_not_an_error(
    app: FaultyApp, server: Switchboard
) -> None:
    events = text_run(1)
    app.set_plans(Plan(headers=SSE, body=[*(sse_frame(e) for e in events), b"data: {"], end="drop"))
    assert dicts(await run(fetch_server_sent_events(server.url))) == events
    assert len(app.requests) == 1


# -- the idle watchdog ----------------------------------------------------------------------


async def test_idle_stream_without_ids_times_out(app: FaultyApp, server: Switchboard) -> None:
    events = text_run(2)
    app.set_plans(Plan(headers=SSE, body=[sse_frame(e) for e in events[:2]], end="hang"))
    got: list[Event] = []
    with pytest.raises(StreamTimeoutError, match=r"no data .* for 0\.5s"):
        await run(fetch_server_sent_events(server.url, FetchOptions(idle_timeout=0.5)), got)
    assert dicts(got) == events[:2]
    assert await app.await_finished()  # and the hanging response was closed


async def test_heartbeats_keep_an_idle_stream_alive(app: FaultyApp, server: Switchboard) -> None:
    events = text_run(2)
    body: list[bytes | Gap] = [sse_frame(events[0]), Gap(1.5), *(sse_frame(e) for e in events[1:])]
    app.set_plans(Plan(headers=SSE, body=body, heartbeat=b":\n\n", heartbeat_interval=0.05))
    got = await run(fetch_server_sent_events(server.url, FetchOptions(idle_timeout=0.5)))
    assert dicts(got) == events


async def test_idle_resumable_stream_reconnects(app: FaultyApp, server: Switchboard) -> None:
    events = text_run(4)
    plan = Resumable(events, stall_at={0: 3})  # the first connection stalls after 3 events
    app.set_plans(plan)
    statuses: list[ConnectionStatusEvent] = []
    options = FetchOptions(idle_timeout=0.5, resume=FAST_RESUME, on_status=statuses.append)
    got = await run(fetch_server_sent_events(server.url, options))
    assert dicts(got) == events
    assert plan.last_event_ids == [None, "3"]
    (reconnect,) = [s for s in statuses if s.status is ConnectionStatus.RECONNECTING]
    assert isinstance(reconnect.error, StreamTimeoutError)
    assert reconnect.last_event_id == "3"


@pytest.mark.parametrize("with_signal", [False, True])
async def test_no_response_headers_in_time(
    app: FaultyApp, server: Switchboard, with_signal: bool
) -> None:
    """The idle limit of the exchange, kept by the run's scope: alone, and beside an abort
    signal that stays quiet (a ChatClient's requests always have one)."""
    app.set_plans(Plan(head_delay=30))
    adapter = fetch_server_sent_events(server.url, FetchOptions(idle_timeout=0.5))
    signal = AbortController().signal if with_signal else None
    with pytest.raises(StreamTimeoutError, match=r"no response from .* within 0\.5s"):
        async with asyncio.timeout(20):  # liveness bound only
            async for _ in adapter.connect(USER, None, signal, CTX):
                pass
    await adapter.aclose()
    assert await app.await_finished()


# -- status events ------------------------------------------------------------------------------


async def test_status_sequence_of_a_resumed_stream(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(Resumable(text_run(3), drops=[2]))
    statuses: list[ConnectionStatusEvent] = []
    options = FetchOptions(resume=FAST_RESUME, on_status=statuses.append)
    await run(fetch_server_sent_events(server.url + "/s?api_key=k-123", options))
    assert [s.status.value for s in statuses] == [
        "connecting", "open", "reconnecting", "connecting", "open", "closed"
    ]  # fmt: skip
    assert [s.attempt for s in statuses] == [1, 1, 1, 2, 2, 2]
    assert statuses[3].last_event_id == "2"
    assert all(s.url == server.url + "/s?api_key=%5Bredacted%5D" for s in statuses)


async def test_status_error_and_a_failing_callback(
    app: FaultyApp, server: Switchboard, caplog: pytest.LogCaptureFixture
) -> None:
    app.set_plans(error_plan(401))
    seen: list[str] = []

    def callback(event: ConnectionStatusEvent) -> None:
        seen.append(event.status.value)
        raise RuntimeError("UI exploded")

    with pytest.raises(HTTPStatusError):
        await run(fetch_server_sent_events(server.url, FetchOptions(on_status=callback)))
    assert seen == ["connecting", "error"]
    assert "status callback raised RuntimeError: UI exploded" in caplog.text


# -- cancellation ---------------------------------------------------------------------------------


def endless_plan() -> Plan:
    events = text_run(1)
    start = b"".join(sse_frame(e) for e in events[:2])
    return Plan(headers=SSE, body=[start], repeat_forever=sse_frame(events[2]))


async def test_abort_signal_closes_the_response(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(endless_plan())
    controller = AbortController()
    adapter = fetch_server_sent_events(server.url)
    got: list[Event] = []
    async with asyncio.timeout(20):
        async for event in adapter.connect(USER, None, controller.signal, CTX):
            got.append(event)
            if len(got) == 5:
                controller.abort()
    assert len(got) >= 5  # ends quietly, no error
    # Checked before the client is closed: the response itself must have been closed.
    assert await app.await_finished(within=10)  # the server's ``finally`` ran
    (request,) = app.requests
    assert request.disconnected  # it saw the client go away, it did not finish a response
    await adapter.aclose()


async def test_abort_while_blocked_on_a_read(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(Plan(headers=SSE, body=[sse_frame(text_run(0)[0])], end="hang"))
    controller = AbortController()
    adapter = fetch_server_sent_events(server.url)
    iterator = adapter.connect(USER, None, controller.signal, CTX)
    await asyncio.wait_for(anext(iterator), 10)
    pending = asyncio.create_task(anext(iterator))
    await asyncio.sleep(0.05)
    assert not pending.done()
    controller.abort()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(pending, 10)
    assert await app.await_finished(within=10)
    assert app.requests[0].disconnected
    await adapter.aclose()


async def test_task_cancellation_closes_the_response(app: FaultyApp, server: Switchboard) -> None:
    app.set_plans(endless_plan())
    adapter = fetch_server_sent_events(server.url)
    got: list[Event] = []
    five = asyncio.Event()

    async def consume() -> None:
        async for event in adapter.connect(USER, None, None, CTX):
            got.append(event)
            if len(got) == 5:
                five.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(five.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await app.await_finished(within=10)
    assert app.requests[0].disconnected
    await adapter.aclose()


async def test_breaking_out_of_the_loop_closes_the_response(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(endless_plan())
    adapter = fetch_server_sent_events(server.url)
    iterator = adapter.connect(USER, None, None, CTX)
    for _ in range(3):
        await asyncio.wait_for(anext(iterator), 10)
    await iterator.aclose()  # what ``break`` in ``async for`` leads to
    assert await app.await_finished(within=10)
    assert app.requests[0].disconnected
    await adapter.aclose()


async def test_abort_while_waiting_for_headers_and_during_backoff(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(Plan(head_delay=30))
    controller = AbortController()
    adapter = fetch_server_sent_events(server.url)
    asyncio.get_running_loop().call_later(0.1, controller.abort)
    async with asyncio.timeout(10):
        got = [e async for e in adapter.connect(USER, None, controller.signal, CTX)]
    assert got == []
    assert await app.await_finished(within=10)

    app.set_plans(error_plan(503))
    slow = RetryPolicy(max_attempts=5, initial_delay=60, max_delay=60)
    adapter = fetch_server_sent_events(server.url, FetchOptions(retry=slow))
    controller = AbortController()
    asyncio.get_running_loop().call_later(0.1, controller.abort)
    async with asyncio.timeout(10):  # a 60 s backoff, cut short by the abort
        got = [e async for e in adapter.connect(USER, None, controller.signal, CTX)]
    assert got == []
    await adapter.aclose()


async def test_through_normalize_abort_synthesizes_nothing(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(endless_plan())
    adapter = fetch_server_sent_events(server.url)
    push = normalize_connection_adapter(adapter)
    controller = AbortController()
    subscription = aiter(push.subscribe())
    send = asyncio.create_task(push.send(USER, None, controller.signal, CTX))
    for _ in range(3):
        await asyncio.wait_for(anext(subscription), 10)
    controller.abort()
    await asyncio.wait_for(send, 10)
    assert await app.await_finished(within=10)
    await adapter.aclose()


async def test_through_normalize_http_error_becomes_run_error(
    app: FaultyApp, server: Switchboard
) -> None:
    app.set_plans(error_plan(500))
    adapter = fetch_server_sent_events(server.url, FetchOptions(retry=False))
    push = normalize_connection_adapter(adapter)
    subscription = aiter(push.subscribe())
    with pytest.raises(HTTPStatusError):
        await push.send(USER, None, None, CTX)
    await adapter.aclose()
    event = await asyncio.wait_for(anext(subscription), 5)
    assert isinstance(event, RunErrorEvent)
    assert event.error_message.startswith("HTTP error! status: 500 Internal Server Error")
    assert (event.thread_id, event.run_id) == ("thread-r", "run-r")
