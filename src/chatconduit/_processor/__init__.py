"""The stream processor: turns a stream of AG-UI events into ``UIMessage``s (SPEC 4).

The processor owns the conversation (``messages``) and, while a response streams, the
per-message bookkeeping that decides where each event's content lands: which message
is active, which text *segment* is growing, which tool call a delta belongs to, which
thinking step is current. ``ChatClient`` feeds it every event and calls
``prepare_assistant_message()`` before a request and ``finalize_stream()`` when the
response has ended. Where it deliberately differs from the reference is listed, by
number, in ``docs/differences.md``; the code names those numbers.

Where things are
----------------
=======================  ==================================================================
``_stream_processor``    ``StreamProcessor``: the public API; ``process()`` dispatches
``_handlers``            event type → handler: start here for "what happens on X"
``_context``             ``Context``: the state and callbacks the handlers share; which
                         message an event lands in (SPEC 4.3)
``_message_state``       ``MessageState``: the bookkeeping for one message
``_text_messages``       TEXT_MESSAGE_*: text segments, announcing text
``_tool_calls``          TOOL_CALL_*: the tool-call state machine, ``StreamToolCall``
``_thinking``            STEP_STARTED / STEP_FINISHED / REASONING_MESSAGE_CONTENT
``_runs``                RUN_*: the finish rules, and finalizing a stream (SPEC 4.5)
``_chunks``              ``*_CHUNK`` expansion
``_custom``              CUSTOM: client tools, approval requests
``_shared_state``        STATE_SNAPSHOT / STATE_DELTA
``_snapshot``            MESSAGES_SNAPSHOT, ``ui_messages_from_snapshot``
``_conversation``        add a user message, a tool result, an approval (SPEC 4.6)
``_records``             ``ToolCallRequest``, ``ApprovalRequest``, ``RunInfo``,
                         ``MessagesView``
=======================  ==================================================================

Cost model (why the code looks the way it does)
-----------------------------------------------
Work is proportional to the bytes received, never to the size of the conversation or of
the text so far:

* Text, thinking and tool-argument deltas are appended to the string stored *in the
  part itself* (``chatconduit._text.append_in_place``). That string is referenced from
  nowhere else, so CPython extends it in place and the append costs O(delta)
  amortised. Reading a part always gives the current text. (Keeping a second copy of
  the text anywhere, e.g. in the processor's state, would make every append copy the
  whole string: quadratic.)
* Parts and messages are updated in place; the message list is never copied per event.
  ``on_messages_change`` receives a live read-only view of the list (O(1)); copy it if
  you need a snapshot.
* Partial JSON for tool arguments is parsed lazily, when
  ``StreamProcessor.tool_call_arguments`` is called, and cached by length, rather than
  on every ``TOOL_CALL_ARGS`` delta (which would be quadratic).
* ``STATE_DELTA`` patches are applied in place with an undo log (``_json_patch``).
* Dispatch is one dict lookup per event (``_handlers.HANDLERS``), and each state or
  callback a handler needs is one attribute of the ``Context``.
"""

from ._records import ApprovalRequest, MessagesView, RunInfo, ToolCallRequest
from ._snapshot import ui_messages_from_snapshot
from ._stream_processor import StreamProcessor
from ._tool_calls import StreamToolCall

__all__ = [
    "ApprovalRequest",
    "MessagesView",
    "RunInfo",
    "StreamProcessor",
    "StreamToolCall",
    "ToolCallRequest",
    "ui_messages_from_snapshot",
]
