"""MESSAGES_SNAPSHOT: the conversation replaced by the server's (difference 7).

The reference stores the snapshot's entries as they are; AG-UI-shaped entries
(``content`` / ``toolCalls``, ``role: "tool"``) then have no ``parts`` and later code
breaks. Here they are converted to UIMessages (:func:`ui_messages_from_snapshot`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from .. import _json
from .._events import MessagesSnapshotEvent, tanstack_of
from .._exceptions import MalformedEventError
from .._messages import (
    AudioPart,
    DataSource,
    DocumentPart,
    ImagePart,
    MessagePart,
    ThinkingPart,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    UrlSource,
    VideoPart,
    message_from_dict,
)
from ._context import Context
from ._tool_calls import parse_output, upsert_tool_result

__all__ = ["on_messages_snapshot", "ui_messages_from_snapshot"]

logger = logging.getLogger("chatconduit.processor")


def on_messages_snapshot(ctx: Context, ev: MessagesSnapshotEvent) -> None:
    """MESSAGES_SNAPSHOT (reference §4.4): reset the stream-scoped state, replace the messages."""
    messages = ui_messages_from_snapshot(ev.messages or [])
    ctx.reset_stream()
    ctx.messages[:] = messages
    ctx.emit_messages()


_MEDIA_BY_MIME = (("image/", ImagePart), ("audio/", AudioPart), ("video/", VideoPart))
_MEDIA_TYPES = {
    "image": ImagePart,
    "audio": AudioPart,
    "video": VideoPart,
    "document": DocumentPart,
}


def ui_messages_from_snapshot(entries: Sequence[Any]) -> list[UIMessage]:
    """Convert a MESSAGES_SNAPSHOT's ``messages`` to UIMessages.

    Entries that already have ``parts`` (TanStack UIMessages) are parsed as such (a part of
    a type this library does not know is kept as an ``UnknownPart``). AG-UI messages are
    converted: ``user`` / ``system`` / ``developer`` content becomes text (and media)
    parts; an ``assistant``'s ``content`` becomes a text part and its ``toolCalls``
    tool-call parts (``input-complete``). ``activity`` messages have no UIMessage form and
    are skipped with a logged warning. Anything else raises
    :class:`~chatconduit.MalformedEventError` naming the entry.

    A client's history comes back fanned out, as TanStack 0.33 and
    :func:`~chatconduit._run_input.ui_messages_to_wire` send it: each thinking part as a
    ``reasoning`` message *before* its assistant message, each tool result as a ``tool``
    message after it. Both are folded back rather than becoming messages of their own:

    * ``reasoning`` messages become thinking parts (``encryptedValue`` as the signature)
      at the start of the next assistant message, as 0.33 folds them; one already there
      (an echoed message that kept its ``parts``) is not added twice. With no assistant
      message to fold into (another role comes first, or the snapshot ends), they stay
      assistant messages of their own.
    * a ``tool`` message becomes a tool-result part (and the call's output) on the
      assistant message holding that call, unless that message already has a result for
      the call; a result whose call no message holds stays in a message of its own.
    """
    out: list[UIMessage] = []
    calls: dict[str, tuple[UIMessage, ToolCallPart]] = {}
    pending: list[UIMessage] = []  # reasoning messages waiting for their assistant message
    for i, entry in enumerate(entries):
        where = f"MESSAGES_SNAPSHOT messages[{i}]"
        try:
            message = _snapshot_entry(entry, where, calls)
        except ValueError as exc:
            raise MalformedEventError(str(exc)) from None
        if message is None:
            continue
        if entry.get("role") == "reasoning" and "parts" not in entry:
            pending.append(message)
            continue
        if pending:
            if message.role == "assistant" and not _tool_results_only(message):
                _fold_thinking(pending, message)
            else:
                out.extend(pending)
            pending = []
        out.append(message)
        for part in message.parts:
            if isinstance(part, ToolCallPart):
                calls[part.id] = (message, part)
    out.extend(pending)
    return out


def _tool_results_only(message: UIMessage) -> bool:
    """A message made of a tool's result alone (a ``tool`` message with no owner): not the
    assistant message reasoning before it belongs to (0.33 does not fold into it either)."""
    return bool(message.parts) and all(isinstance(p, ToolResultPart) for p in message.parts)


def _fold_thinking(pending: list[UIMessage], target: UIMessage) -> None:
    """Put the thinking of the reasoning messages in ``pending`` at the start of ``target``,
    in order, skipping thinking ``target`` already holds (same text); a signature only the
    reasoning message carried is kept on the part already there."""
    existing = {p.content: p for p in target.parts if isinstance(p, ThinkingPart)}
    added: list[MessagePart] = []
    for message in pending:
        for part in message.parts:
            if not isinstance(part, ThinkingPart):
                continue
            same = existing.get(part.content)
            if same is None:
                added.append(part)
            elif same.signature is None and part.signature is not None:
                same.signature = part.signature
    if added:
        target.parts[:0] = added


def _created_at(entry: Mapping[str, Any]) -> Any:
    """``createdAt``, else TanStack 0.58's ``metadata.tanstack.createdAt`` (where its anchors
    carry it)."""
    created_at = entry.get("createdAt")
    if created_at is None:
        created_at = tanstack_of(entry.get("metadata")).get("createdAt")
    return created_at


def _snapshot_entry(
    entry: Any, where: str, calls: dict[str, tuple[UIMessage, ToolCallPart]]
) -> UIMessage | None:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(entry).__name__}")
    if "parts" in entry:
        return message_from_dict(entry, where=where)
    role = entry.get("role")
    message_id = entry.get("id")
    if not isinstance(message_id, str):
        raise ValueError(f"{where}: has no string 'id'")
    created_at = _created_at(entry)
    base: dict[str, Any] = {"id": message_id}
    if created_at is not None:
        base["createdAt"] = created_at
    content = entry.get("content")
    if role in ("user", "system", "developer"):
        parts = _input_content_parts(content, where)
        return message_from_dict(
            {**base, "role": "user" if role == "user" else "system", "parts": parts}, where=where
        )
    if role == "assistant":
        parts = []
        if isinstance(content, str) and content:
            parts.append({"type": "text", "content": content})
        elif content is not None and not isinstance(content, str):
            raise ValueError(f"{where}.content: expected a string, got {type(content).__name__}")
        for j, call in enumerate(entry.get("toolCalls") or []):
            function = call.get("function") if isinstance(call, Mapping) else None
            if not isinstance(function, Mapping):
                raise ValueError(f"{where}.toolCalls[{j}]: expected {{id, function}}")
            tool_part: dict[str, Any] = {
                "type": "tool-call",
                "id": call.get("id"),
                "name": function.get("name"),
                "arguments": function.get("arguments", ""),
                "state": "input-complete",
            }
            if call.get("metadata") is not None:
                tool_part["metadata"] = call["metadata"]
            parts.append(tool_part)
        return message_from_dict({**base, "role": "assistant", "parts": parts}, where=where)
    if role == "tool":
        tool_call_id = entry.get("toolCallId")
        if not isinstance(tool_call_id, str):
            raise ValueError(f"{where}: a tool message needs a string 'toolCallId'")
        text = content if isinstance(content, str) else _json.dumps(content)
        error = entry.get("error")
        result = ToolResultPart(
            tool_call_id=tool_call_id,
            content=text,
            state="error" if error else "complete",
            **({"error": str(error)} if error else {}),
        )
        owner = calls.get(tool_call_id)
        if owner is None:
            # No assistant message holds the call: keep the result in one of its own.
            return UIMessage(id=message_id, role="assistant", parts=[result])
        owner_message, part = owner
        if any(
            isinstance(p, ToolResultPart) and p.tool_call_id == tool_call_id
            for p in owner_message.parts
        ):
            return None  # our own history echoed: its message kept the result in its parts
        part.set_output({"error": str(error)} if error else parse_output(text))
        upsert_tool_result(owner_message, result)
        return None
    if role == "reasoning":
        thinking: dict[str, Any] = {"type": "thinking", "content": content}
        if not isinstance(content, str):
            thinking["content"] = ""
        signature = entry.get("encryptedValue")
        if isinstance(signature, str) and signature:
            thinking["signature"] = signature
        return message_from_dict(
            {**base, "role": "assistant", "parts": [thinking]},
            where=where,
        )
    if role == "activity":
        logger.warning("%s: activity message skipped (no UIMessage form)", where)
        return None
    raise ValueError(f"{where}: unknown role {role!r}")


def _input_content_parts(content: Any, where: str) -> list[Any]:
    """AG-UI user content (a string, or InputContent parts) as UIMessage part dicts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    if not isinstance(content, list):
        raise ValueError(f"{where}.content: expected a string or a list")
    parts: list[Any] = []
    for j, item in enumerate(content):
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}.content[{j}]: expected an object")
        kind = item.get("type")
        if kind == "text":
            parts.append({"type": "text", "content": item.get("text", item.get("content", ""))})
        elif kind == "binary":
            mime = item.get("mimeType")
            cls: type[BaseModel] = DocumentPart
            for prefix, media in _MEDIA_BY_MIME:
                if isinstance(mime, str) and mime.startswith(prefix):
                    cls = media
            if item.get("data") is not None:
                source: BaseModel = DataSource(value=item["data"], mime_type=mime)
            elif item.get("url") is not None:
                source = UrlSource(value=item["url"], mime_type=mime)
            else:
                raise ValueError(f"{where}.content[{j}]: binary content needs 'data' or 'url'")
            parts.append(cls(source=source))
        elif kind in _MEDIA_TYPES:
            parts.append(dict(item))  # already the UIMessage media shape
        else:
            raise ValueError(f"{where}.content[{j}]: unknown content type {kind!r}")
    return parts
