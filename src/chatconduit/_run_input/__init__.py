"""The request body, AG-UI ``RunAgentInput``: built and encoded byte for byte on the client,
validated into typed values on the server, and flattened into model messages for an LLM.
"""

from ._agent_tools import ClientTool, merge_agent_tools
from ._model_messages import convert_messages_to_model_messages, ui_message_to_model_messages
from ._request_body import (
    ToolSpec,
    WireInputMessage,
    build_run_agent_input,
    encode_run_agent_input,
    generate_run_id,
    merge_forwarded_props,
    reasoning_hash,
    ui_messages_to_wire,
)
from ._request_parsing import parse_run_agent_input
from ._run_agent_input import ContextItem, ReasoningMessage, ResumeEntry, RunAgentInput

__all__ = [
    "ClientTool",
    "ContextItem",
    "ReasoningMessage",
    "ResumeEntry",
    "RunAgentInput",
    "ToolSpec",
    "WireInputMessage",
    "build_run_agent_input",
    "convert_messages_to_model_messages",
    "encode_run_agent_input",
    "generate_run_id",
    "merge_agent_tools",
    "merge_forwarded_props",
    "parse_run_agent_input",
    "reasoning_hash",
    "ui_message_to_model_messages",
    "ui_messages_to_wire",
]
