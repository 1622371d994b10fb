"""The client's durable-run operations, behind ``ChatClient.join_run`` and
``ChatClient.hydrate``: joining a run the server is producing (a turn whose first
request reads the run's events from the adapter's ``join_run``), and loading a thread
as the server stores it (the adapter's ``hydrate``), then acting on what it left: its
pending interrupts, or a run still producing. The client checks that it is open and
holds the public docstrings; these functions hold the steps, in the order they must run.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from .._connection._abort import AbortSignal
from .._connection._hydrate import HydratedThread
from .._connection._normalize import CapableConnectionAdapter, require_capability
from .._events import Event
from .._messages import UIMessage
from ._conversation import Conversation
from ._observable import ObservableState
from ._options import Settings
from ._state import ChatStatus, Trigger
from ._turns import Join, TurnRunner

__all__ = ["hydrate_thread", "join_run"]

logger = logging.getLogger("chatconduit.client")  # the client's logger: one name for its logs


async def join_run(
    turns: TurnRunner,
    observable: ObservableState,
    adapter: CapableConnectionAdapter,
    run_id: str,
    raise_on_error: bool | None,
) -> UIMessage | None:
    """Join ``run_id`` as a turn; ``None`` (logged) while a turn is running."""
    if not isinstance(run_id, str) or not run_id:
        raise ValueError(f"run_id must be a non-empty str, got {run_id!r}")
    require_capability(adapter, "join_run")
    if observable.is_loading:
        logger.warning("join_run ignored: a reply is still in progress (stop() it first)")
        return None

    def events(signal: AbortSignal) -> AsyncIterator[Event]:
        return adapter.join_run(run_id, abort_signal=signal)

    return await turns.run(Trigger.SEND, raise_on_error, Join(run_id, events))


async def hydrate_thread(
    thread_id: str | None,
    *,
    settings: Settings,
    conversation: Conversation,
    observable: ObservableState,
    adapter: CapableConnectionAdapter,
    check_open: Callable[[], None],
    stop: Callable[[], None],
    join: Callable[[str], Awaitable[UIMessage | None]],
) -> HydratedThread:
    """Read ``thread_id`` (default: the client's thread), replace the conversation with
    it, and act on its pending interrupts or join its active run (``join``)."""
    thread = settings.thread_id if thread_id is None else thread_id
    if not isinstance(thread, str) or not thread:
        raise ValueError(f"thread_id must be a non-empty str or None, got {thread_id!r}")
    require_capability(adapter, "hydrate")
    result = await adapter.hydrate(thread)
    check_open()
    stop()  # a turn that started meanwhile would write into the replaced messages
    settings.thread_id = thread
    conversation.forget_interrupts()
    conversation.processor.set_messages(result.messages)
    observable.set_error(None)
    if observable.status is ChatStatus.ERROR:
        observable.transition(Trigger.RESET)
    if result.interrupts is not None:
        conversation.restore_interrupts(result.interrupts.run_id, result.interrupts.pending)
        await observable.calls.flush()
    elif result.active_run is not None:
        await join(result.active_run)
    return result
