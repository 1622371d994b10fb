"""The chat client: :class:`ChatClient` (asyncio) and :class:`SyncChatClient` (blocking),
and the public names that come with them. ``ChatClient`` (``_chat_client.py``)
composes its parts: ``_options.py`` (its options, defined once for both clients),
``_observable.py`` (status, error, connection, callbacks), ``_conversation.py`` (the
processor, the live request, client tools), ``_turns.py`` (turns and follow-ups),
``_driver.py`` with ``_pull.py`` / ``_push.py`` (how a request reaches the agent),
``_durable.py`` (joining a run, hydrating a thread), ``_request.py`` (one request's
life), ``_state.py`` (lifecycle, snapshots, ``updates()``), ``_freezing.py`` (snapshot
copies), ``_callbacks.py``, ``_inputs.py`` and ``_tools.py``; ``_sync_client.py`` wraps
it for blocking code.
"""

from .._exceptions import ClientClosedError, ContinuationLimitError
from ._chat_client import ChatClient
from ._options import ChatClientOptions
from ._reply import Reply
from ._state import ChatConnectionStatus, ChatSnapshot, ChatStatus, Updates
from ._sync_client import SyncChatClient
from ._tools import Tool, tool

__all__ = [
    "ChatClient",
    "ChatClientOptions",
    "ChatConnectionStatus",
    "ChatSnapshot",
    "ChatStatus",
    "ClientClosedError",
    "ContinuationLimitError",
    "Reply",
    "SyncChatClient",
    "Tool",
    "Updates",
    "tool",
]
