"""The OpenAI-compatible ``/chat/completions`` request: messages, tools, the body.

Shared by the client adapter (``openai_chat_completions``, from our UI messages) and
the server-side :class:`~chatconduit.agents.OpenAICompatibleAgent` (from a
``RunAgentInput``'s model messages). Tool results go back as ``tool`` messages with
their ``tool_call_id``, after the assistant message holding the ``tool_calls``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .. import _json
from .._messages import DataSource, ImagePart, ModelMessage, TextPart
from .._run_input import convert_messages_to_model_messages

__all__ = ["chat_completions_body", "encode_openai_body", "openai_tools", "to_openai_messages"]


def _content(message: ModelMessage) -> str | list[dict[str, Any]] | None:
    if message.content is None or isinstance(message.content, str):
        return message.content
    out: list[dict[str, Any]] = []
    for part in message.content:
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": part.content})
        elif isinstance(part, ImagePart):
            source = part.source
            url = (
                f"data:{source.mime_type};base64,{source.value}"
                if isinstance(source, DataSource)
                else source.value
            )
            out.append({"type": "image_url", "image_url": {"url": url}})
        else:  # audio/video/documents: not part of the common chat-completions API
            out.append({"type": "text", "text": f"[{part.type} omitted]"})
    return out


def to_openai_messages(
    messages: list[ModelMessage], system_prompt: str | None = None
) -> list[dict[str, Any]]:
    """Model messages in the chat-completions request shape."""
    out: list[dict[str, Any]] = []
    if system_prompt:
        out.append({"role": "system", "content": system_prompt})
    for message in messages:
        entry: dict[str, Any] = {"role": message.role, "content": _content(message)}
        if message.role == "tool":
            entry["tool_call_id"] = message.tool_call_id or ""
            if entry["content"] is None:
                entry["content"] = ""
        if message.tool_calls:
            entry["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
                for call in message.tool_calls
            ]
        out.append(entry)
    return out


def openai_tools(tools: Iterable[Any]) -> list[dict[str, Any]]:
    """Tool specs (objects with ``name``/``description``/``parameters``, or such mappings)
    as chat-completions ``tools``."""
    out = []
    for tool in tools:
        get = tool.get if isinstance(tool, Mapping) else lambda key, t=tool: getattr(t, key, None)
        out.append(
            {
                "type": "function",
                "function": {
                    "name": get("name"),
                    "description": get("description") or "",
                    "parameters": get("parameters") or {"type": "object"},
                },
            }
        )
    return out


def chat_completions_body(
    model: str,
    messages: list[dict[str, Any]],
    tools: Iterable[Any] = (),
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``{model, messages, stream: true, stream_options: {include_usage}, tools?}`` with
    ``params`` (temperature, max_tokens, ...) merged in; streaming cannot be turned off."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    body.update(params or {})
    body.update(stream=True, stream_options={"include_usage": True})
    spec = openai_tools(tools)
    if spec:
        body["tools"] = spec
    return body


def encode_openai_body(
    messages: Sequence[Any],
    *,
    model: str,
    tools: Iterable[Any] = (),
    params: Mapping[str, Any] | None = None,
    system_prompt: str | None = None,
) -> bytes:
    """The client adapter's POST body: our UI messages flattened for the model."""
    model_messages = convert_messages_to_model_messages(messages)
    wire = to_openai_messages(model_messages, system_prompt)
    return _json.dumps(chat_completions_body(model, wire, tools, params)).encode("utf-8")
