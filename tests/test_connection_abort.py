"""AbortController / AbortSignal, and AbortScope turning an abort into a cancelled await."""

from __future__ import annotations

import asyncio
import threading

import pytest

from chatconduit import AbortController, AbortSignal
from chatconduit._connection._abort import Aborted, AbortScope


def test_abort_sets_flag_and_reason_once() -> None:
    controller = AbortController()
    calls: list[object] = []
    controller.signal.add_listener(lambda: calls.append(controller.signal.reason))
    assert not controller.signal.aborted
    controller.abort("user pressed stop")
    controller.abort("second abort is ignored")
    assert controller.signal.aborted
    assert controller.signal.reason == "user pressed stop"
    assert calls == ["user pressed stop"]


def test_listener_added_after_abort_runs_immediately_and_removal_works() -> None:
    controller = AbortController()
    removed: list[int] = []
    remove = controller.signal.add_listener(lambda: removed.append(1))
    remove()
    controller.abort()
    assert removed == []
    late: list[int] = []
    controller.signal.add_listener(lambda: late.append(1))
    assert late == [1]


async def test_wait_returns_when_aborted_from_another_thread() -> None:
    controller = AbortController()
    waiter = asyncio.create_task(controller.signal.wait())
    await asyncio.sleep(0)
    assert not waiter.done()
    threading.Timer(0.01, controller.abort).start()
    await asyncio.wait_for(waiter, 5)
    assert controller.signal.aborted


def test_any_follows_the_first_signal_to_abort() -> None:
    a, b = AbortController(), AbortController()
    combined = AbortSignal.any([a.signal, None, b.signal])
    assert not combined.aborted
    b.abort("b")
    assert combined.aborted and combined.reason == "b"
    already = AbortController()
    already.abort("early")
    assert AbortSignal.any([already.signal]).reason == "early"


def test_any_leaves_a_long_lived_source_bounded() -> None:
    """An app-wide signal combined with each request's own, a signal per request: those
    done with must not stay among the app signal's listeners, one per request, forever."""
    app = AbortController()
    for _ in range(10_000):
        request = AbortController()
        combined = AbortSignal.any([app.signal, request.signal])
        remove = combined.add_listener(lambda: None)  # a request listening meanwhile
        remove()
    assert len(app.signal._listeners or ()) < 100
    assert not app.signal.aborted


def test_any_keeps_a_signal_alive_while_someone_listens_to_it() -> None:
    """As the DOM does: a signal made by any() that has listeners lives as long as its
    sources may abort, even when nothing else refers to it; without listeners it goes."""
    import gc
    import weakref

    app = AbortController()
    fired: list[object] = []
    listened = AbortSignal.any([app.signal])
    remove = listened.add_listener(lambda: fired.append("listened"))
    AbortSignal.any([app.signal]).add_listener(lambda: fired.append("dropped by its maker"))
    unlistened = weakref.ref(AbortSignal.any([app.signal]))
    watched = weakref.ref(listened)
    del listened
    gc.collect()
    assert unlistened() is None and watched() is not None
    remove()
    del remove  # it refers to the signal, to remove the listener from it
    gc.collect()
    assert watched() is None  # nobody listens any more: it went
    app.abort("stop")
    assert fired == ["dropped by its maker"]


async def test_scope_cancels_only_the_pending_await() -> None:
    controller = AbortController()
    scope = AbortScope(controller.signal)
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_later(0.01, controller.abort)
    with pytest.raises(Aborted):
        await asyncio.wait_for(scope.run(never), 5)
    assert never.cancelled()
    task = asyncio.current_task()
    assert task is not None and task.cancelling() == 0  # our cancel was taken back
    # Later awaits of the same scope fail fast, without awaiting anything.
    with pytest.raises(Aborted):
        await scope.run(asyncio.sleep(10))
    # Code outside scope.run is never cancelled by the abort.
    await asyncio.sleep(0.01)


async def test_scope_lets_outside_cancellation_through() -> None:
    controller = AbortController()
    scope = AbortScope(controller.signal)

    async def body() -> None:
        await scope.run(asyncio.sleep(10))

    task = asyncio.create_task(body())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not controller.signal.aborted


async def test_scope_without_signal_is_a_plain_await() -> None:
    scope = AbortScope(None)
    assert await scope.run(asyncio.sleep(0, result=42)) == 42
    assert not scope.aborted


async def test_abort_between_awaits_does_not_cancel_consumer_code() -> None:
    controller = AbortController()
    scope = AbortScope(controller.signal)
    assert await scope.run(asyncio.sleep(0, result=1)) == 1
    controller.abort()
    await asyncio.sleep(0.01)  # the listener's callback runs now; must not cancel us
    with pytest.raises(Aborted):
        await scope.run(asyncio.sleep(0))
