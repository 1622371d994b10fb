"""The request body: AG-UI ``RunAgentInput`` as TanStack AI 0.10 sends it, and back.

One module per concept, each read top to bottom:

- ``_request_body``: the client side (SPEC 1.2-1.5), the exact dict and bytes the
  reference ``fetch`` adapters POST: :func:`build_run_agent_input`,
  :func:`encode_run_agent_input`, :func:`ui_messages_to_wire` (with
  :func:`reasoning_hash`), :class:`ToolSpec`, :func:`generate_run_id`;
- ``_request_parsing``: the server side (SPEC 6.2), a body validated into a typed
  :class:`RunAgentInput` by :func:`parse_run_agent_input`, every problem reported
  with its JSON path; also :class:`ContextItem`;
- ``_model_messages``: messages flattened for an LLM (SPEC 6.3):
  :func:`convert_messages_to_model_messages`, :func:`ui_message_to_model_messages`;
- ``_agent_tools``: :func:`merge_agent_tools`, server tools then the client's as
  :class:`ClientTool`.

Imports point one way: ``_agent_tools → _request_parsing → _model_messages →
_request_body``.
"""

from ._agent_tools import ClientTool, merge_agent_tools
from ._model_messages import convert_messages_to_model_messages, ui_message_to_model_messages
from ._request_body import (
    ToolSpec,
    WireInputMessage,
    build_run_agent_input,
    encode_run_agent_input,
    generate_run_id,
    reasoning_hash,
    ui_messages_to_wire,
)
from ._request_parsing import ContextItem, RunAgentInput, parse_run_agent_input

__all__ = [
    "ClientTool",
    "ContextItem",
    "RunAgentInput",
    "ToolSpec",
    "WireInputMessage",
    "build_run_agent_input",
    "convert_messages_to_model_messages",
    "encode_run_agent_input",
    "generate_run_id",
    "merge_agent_tools",
    "parse_run_agent_input",
    "reasoning_hash",
    "ui_message_to_model_messages",
    "ui_messages_to_wire",
]
