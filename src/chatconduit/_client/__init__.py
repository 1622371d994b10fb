"""``ChatClient``: the Python ``useChat`` (the reference's ``ChatClient``, SPEC §5).

It owns a conversation (a :class:`~chatconduit._processor.StreamProcessor`), sends it
through a connection adapter, feeds the reply's events back into the processor, runs
client tools and sends their follow-up requests, and reports what happens through
callbacks, properties and an async iterator of snapshots (:meth:`ChatClient.updates`).

How it is built, and where it deliberately differs from the reference
--------------------------------------------------------------------

* **One state machine.** ``status`` is a single value changed only through the
  transition table of ``_client_state`` (``is_loading`` is derived from it). The
  reference's interacting flags produce impossible combinations (``submitted`` with
  nothing loading, ``streaming`` after a removed reply); here every turn ends in
  ``ready`` or ``error``.
* **A turn is one await.** ``send_message`` (and ``append``, ``reload``, a tool answer
  while idle) returns when the reply has been *processed*, including client tools and
  their automatic follow-up requests, and returns the final assistant message. Pull
  adapters (``connect``) are consumed directly by the request, so there is no queue
  between reading and processing and no race where the call returns before the last
  events are applied (SPEC 5.3, "Race"). Push adapters (``subscribe`` + ``send``) use
  a subscription loop, as in the reference.
* **Loading spans the whole turn.** A client-tool follow-up continues the same turn
  (``streaming → submitted → streaming``): ``on_loading_change`` fires ``True`` once
  and ``False`` once per turn, instead of flickering between the requests.
* **Errors.** Reported once per request through ``on_error``, kept in ``error``,
  status ``error``; ``send_message`` raises it only with ``raise_on_error=True``.
  No empty assistant message is ever left behind (not after an HTTP error, a
  RUN_ERROR, a stop, or an empty reply), and the partial reply is kept.
* **stop()** cancels the request (the HTTP response is closed, so the server sees the
  disconnect), cancels running client tools (their results are discarded), keeps the
  partial reply, and leaves status ``ready`` with no run marked as generating. With a
  push adapter, events still arriving for the stopped run are dropped.
* **One finish per request.** ``on_finish`` fires once for each request that completed
  with an assistant reply (the processor finalizes once per response).
* **Callbacks** may be sync or async. A callback that raises is logged (logger
  ``chatconduit.client``) and the client carries on: a bug in UI code must not
  corrupt the conversation. Async callbacks run in order on a helper task; the
  stream waits for them, so a slow async ``on_chunk`` slows the stream (use
  :meth:`updates` for rendering instead). Setters notify only on an actual change.
* **Connection status** for pull adapters describes each request (``connecting`` →
  ``connected`` → ``disconnected`` / ``error``) rather than a subscription that
  stays ``connected`` forever.

Not thread-safe: use one client from one event loop (``SyncChatClient`` wraps one
for blocking code and other threads).

Where things are
----------------

* ``_chat_client.py``: ``ChatClient``, the public class (constructor, properties,
  snapshots, ``send_message``/``append``/``reload``/``stop``/tool answers,
  ``subscribe``/``unsubscribe``, ``update_options``, ``aclose``).
* ``_core.py``: ``ClientCore``, its base: the state, the observable setters, the
  processor's callbacks, client-tool execution, ``_on_event`` (the hot path) and
  cancelling a request.
* ``_turns.py``: ``TurnRunner``: a turn's requests and their follow-ups, the pull path.
* ``_push.py``: ``PushSubscription``: a push adapter's subscription loop.
* ``_callbacks.py``: the ``on_*`` callbacks and ``CallbackRunner`` (sync or async, errors
  logged). ``_request.py``: one request of a turn. ``_inputs.py``: user input coerced
  to messages and parts.
"""

from .._exceptions import ClientClosedError
from ._chat_client import ChatClient
from ._inputs import MessageInput as MessageInput  # used by _sync_client
from ._inputs import PartInput as PartInput

__all__ = ["ChatClient", "ClientClosedError"]
