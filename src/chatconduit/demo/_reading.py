"""How the demo agent reads a request: the patterns that pick a behaviour from the last
user message, the arguments it extracts for a tool call, the client tool a message
names, and the answer a request carries to a pending ``delete_file`` approval. Every
pattern runs in linear time and every search looks at a bounded text (``_limits``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .._messages import ModelMessage, ModelToolCall, TextPart
from .._run_input import RunAgentInput, ToolSpec
from ._limits import (
    MAX_INPUT_CHARS,
    MAX_JSON_STARTS,
    MAX_PATH_CHARS,
    MAX_PLACEHOLDERS,
    MAX_TOOL_NAME_CHARS,
    MAX_TOOLS,
)
from ._tools import APPROVAL_TOOL

__all__ = [
    "ARITHMETIC",
    "DELETE",
    "THINK",
    "TIME",
    "ZONE",
    "delete_input",
    "named_tool",
    "pending_approval",
    "quote",
    "text_of",
    "tool_input",
]

# The first run of arithmetic characters holding a digit-operator-digit pattern.
# Linear time: a match may only start where a run of signs/parentheses or of
# digits starts (the look-behinds), and the possessive quantifiers never give
# back what they took, so no run of the text is scanned more than a few times.
# (The naive pattern backtracked quadratically: 24 KB of digits took 16 s.)
ARITHMETIC = re.compile(
    r"(?:(?<![-+(])[-+(]++)?+(?<![\d.])[\d.]++"
    r"(?:\s*+(?:\*\*|//|[-+*/%^×÷])\s*+[-+(]*+[\d.]++\)*+)++\)*+"
)
TIME = re.compile(r"\b(what(?:'s| is)? (?:the )?(?:current )?time|time is it|current time)\b")
ZONE = re.compile(r"\b([A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_+\-0-9]+)+|UTC)\b")
THINK = re.compile(
    r"^\s*(?:please\s+)?think(?:\s+(?:about|of|on|through))?\b[\s:,]*(.*)$", re.I | re.S
)
# "delete_file ...", "delete file ...", or a message starting with "delete <something>".
DELETE = re.compile(
    r"(?<![\w-])delete(?:_| )file(?![\w-])|^\s*(?:please\s+)?delete\s+(?=\S)", re.IGNORECASE
)
_PATH = re.compile(r"[\w./~-]*[\w~][\w./~-]*")


def text_of(message: ModelMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    if isinstance(message.content, list):
        return "".join(p.content for p in message.content if isinstance(p, TextPart))
    return ""


def quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.strip().splitlines() or [""])


def _first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object written in ``text``, trying only the first few ``{``
    (each try may scan to the end of the text)."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    for _ in range(MAX_JSON_STARTS):
        if start == -1:
            break
        try:
            value, _end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):  # not JSON here, or nested too deeply
            start = text.find("{", start + 1)
            continue
        return value if isinstance(value, dict) else None
    return None


_DEFAULTS: Mapping[str, Any] = {
    "string": "",
    "number": 0,
    "integer": 0,
    "boolean": False,
    "array": [],
    "object": {},
}


def tool_input(tool: ToolSpec, text: str) -> dict[str, Any]:
    """Arguments for a client tool: a JSON object written in the message, else a
    placeholder per required property, by JSON type."""
    written = _first_json_object(text)
    if written is not None:
        return written
    schema = tool.parameters if isinstance(tool.parameters, Mapping) else {}
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required")
    out: dict[str, Any] = {}
    for name in required[:MAX_PLACEHOLDERS] if isinstance(required, list) else []:
        if not isinstance(name, str) or len(name) > MAX_TOOL_NAME_CHARS:
            continue  # not a property name a model would fill in
        prop = properties.get(name)
        kind = prop.get("type") if isinstance(prop, Mapping) else None
        out[str(name)] = _DEFAULTS.get(kind, None) if isinstance(kind, str) else None
    return out


def named_tool(tools: Sequence[ToolSpec], text: str) -> ToolSpec | None:
    """The first advertised tool named in ``text`` as a whole word (``get_time`` or
    ``get time``), so that a tool called ``add`` does not fire on "address".

    Only the first :data:`MAX_TOOLS` tools with names of at most
    :data:`MAX_TOOL_NAME_CHARS` are considered: one search each over a bounded text.
    """
    for tool in tools[:MAX_TOOLS]:
        if not tool.name or len(tool.name) > MAX_TOOL_NAME_CHARS:
            continue
        spellings = {tool.name, tool.name.replace("_", " ")}
        pattern = "|".join(re.escape(name) for name in spellings)
        if re.search(rf"(?<![\w-])(?:{pattern})(?![\w-])", text, re.IGNORECASE):
            return tool
    return None


def delete_input(text: str, match: re.Match[str]) -> dict[str, Any]:
    """``{"path": ...}``: from a JSON object in the message, else the word after the
    command, else ``demo.txt``."""
    written = _first_json_object(text)
    if written is not None and isinstance(written.get("path"), str):
        return {"path": written["path"][:MAX_PATH_CHARS]}
    path = _PATH.search(text, match.end())
    return {"path": path.group()[:MAX_PATH_CHARS] if path else "demo.txt"}


def _decision(params: RunAgentInput, call_id: str, later: Sequence[ModelMessage]) -> str | None:
    """How the user answered the approval of ``call_id``: ``approved``, ``denied``,
    ``cancelled``, or ``None`` (not answered by this request, or already carried out).

    Current clients answer with a ``resume`` entry (TanStack 0.33 adds a tool message
    too, AG-UI clients do not); the 0.10 client records the decision on the tool call,
    which arrives as a tool message ``{"approved": ..., "pendingExecution"?: true}``.
    """
    entry = params.resumed(f"approval_{call_id}")
    if entry is not None:
        if entry.status == "cancelled":
            return "cancelled"
        if entry.approved is not None:
            return "approved" if entry.approved else "denied"
    for message in later:
        if message.role != "tool" or message.tool_call_id != call_id:
            continue
        try:
            answer = json.loads(text_of(message)[:MAX_INPUT_CHARS])
        except (ValueError, RecursionError):
            return None
        if not isinstance(answer, dict) or not isinstance(answer.get("approved"), bool):
            return None  # the tool's own result: this call was carried out already
        if answer["approved"]:
            return "approved" if answer.get("pendingExecution") is True else None
        return "denied"
    return None


def pending_approval(params: RunAgentInput) -> tuple[ModelToolCall, str] | None:
    """The ``delete_file`` call of the last assistant turn this request answers."""
    messages = params.model_messages
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.role == "user":
            return None  # a new question: no answer pending
        if message.role != "assistant" or not message.tool_calls:
            continue
        for call in message.tool_calls:
            if call.function.name == APPROVAL_TOOL.name:
                decision = _decision(params, call.id, messages[index + 1 :])
                if decision is not None:
                    return call, decision
        return None
    return None
