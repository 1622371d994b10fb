"""The Vercel AI SDK chat request body, both ways.

Client side, :func:`encode_vercel_body`: our UI messages as ``useChat``'s
``DefaultChatTransport`` posts them: ``{trigger, id, messages, ...body}``, each
message ``{id, role, parts}`` with ``{type: "text", text}`` parts (``text``, not our
``content``), reasoning parts, and one ``tool-<name>`` part per tool call whose
``state`` says how far it got (``input-available``, ``output-available`` with the
client tool's ``output``, ``output-error``, ``approval-requested``,
``approval-responded`` with the user's decision). A tool result we keep as a separate
part is folded into its call's part, where the AI SDK keeps it.

Server side, :func:`vercel_body_to_run_input`: such a body read as the AG-UI
``RunAgentInput`` dict our agents take (the chat ``id`` is the thread, tool parts become
assistant tool calls followed by ``tool`` messages), validated by the usual parser.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .. import _json
from .._exceptions import RequestValidationError
from .._ids import generate_id
from .._messages import to_json_value

__all__ = ["encode_vercel_body", "is_vercel_body", "vercel_body_to_run_input", "vercel_messages"]


def _dict(message: object, index: int) -> dict[str, Any]:
    value = to_json_value(message)
    if not isinstance(value, dict):
        raise TypeError(f"messages[{index}] must be a UIMessage or mapping, got {value!r:.60}")
    return value


def _parse_arguments(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments if arguments is not None else {}
    if not arguments.strip():
        return {}
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def _parse_output(content: Any) -> Any:
    if not isinstance(content, str):
        return content
    try:
        return json.loads(content)
    except ValueError:
        return content


def _tool_part(call: Mapping[str, Any], result: Mapping[str, Any] | None) -> dict[str, Any]:
    part: dict[str, Any] = {
        "type": f"tool-{call.get('name') or 'unknown'}",
        "toolCallId": str(call.get("id")),
        "input": _parse_arguments(call.get("arguments")),
    }
    approval = call.get("approval")
    error = result.get("error") if result is not None else None
    if result is not None and (error or result.get("state") == "error"):
        part.update(state="output-error", errorText=str(error or result.get("content") or ""))
    elif result is not None or "output" in call:
        output = call["output"] if "output" in call else _parse_output(result and result["content"])
        part.update(state="output-available", output=output)
    elif isinstance(approval, Mapping) and isinstance(approval.get("approved"), bool):
        part.update(
            state="approval-responded",
            approval={"id": str(approval.get("id")), "approved": approval["approved"]},
        )
    elif isinstance(approval, Mapping):
        part.update(state="approval-requested", approval={"id": str(approval.get("id"))})
    else:
        part["state"] = "input-available"
    return part


def vercel_messages(messages: Sequence[Any]) -> list[dict[str, Any]]:
    """Our UI messages (objects or their dicts) as AI SDK UI messages."""
    out: list[dict[str, Any]] = []
    for index, message in enumerate(messages):
        msg = _dict(message, index)
        role = msg.get("role")
        if role not in ("system", "user", "assistant"):
            continue  # the AI SDK has no tool messages: results live in the call's part
        raw = msg.get("parts")
        parts: list[Any] = raw if isinstance(raw, list) else []
        if not parts and isinstance(msg.get("content"), str):
            parts = [{"type": "text", "content": msg["content"]}]
        results = {
            str(p.get("toolCallId")): p
            for p in parts
            if isinstance(p, Mapping) and p.get("type") == "tool-result"
        }
        converted: list[dict[str, Any]] = []
        for part in parts:
            if not isinstance(part, Mapping):
                continue
            kind = part.get("type")
            if kind == "text":
                converted.append({"type": "text", "text": str(part.get("content") or "")})
            elif kind == "thinking":
                converted.append({"type": "reasoning", "text": str(part.get("content") or "")})
            elif kind == "tool-call":
                converted.append(_tool_part(part, results.get(str(part.get("id")))))
        entry: dict[str, Any] = {"id": str(msg.get("id") or generate_id("msg")), "role": role}
        entry["parts"] = converted
        out.append(entry)
    return out


def encode_vercel_body(
    messages: Sequence[Any],
    *,
    chat_id: str,
    extra: Mapping[str, Any] | None = None,
    trigger: str = "submit-message",
) -> bytes:
    """The POST body ``DefaultChatTransport`` sends; ``extra`` is spread over it as the
    transport's ``body`` option is (it cannot replace ``trigger``, ``id`` or ``messages``)."""
    body: dict[str, Any] = dict(extra or {})
    body.update(trigger=trigger, id=chat_id, messages=vercel_messages(messages))
    return _json.dumps(body).encode("utf-8")


def is_vercel_body(body: Mapping[str, Any]) -> bool:
    """Whether a parsed request body is the AI SDK's (``trigger`` is its own key)."""
    return body.get("trigger") in ("submit-message", "regenerate-message") and isinstance(
        body.get("messages"), list
    )


def vercel_body_to_run_input(body: Mapping[str, Any]) -> dict[str, Any]:
    """An AI SDK chat request as an AG-UI ``RunAgentInput`` dict (see the module docstring)."""
    chat_id = body.get("id")
    if not isinstance(chat_id, str) or not chat_id:
        raise RequestValidationError(
            "invalid Vercel AI SDK chat request: id must be a non-empty string (the chat id)",
            [("$.id", "must be a non-empty string (the chat id)")],
        )
    messages: list[dict[str, Any]] = []
    for index, message in enumerate(body.get("messages") or []):
        if not isinstance(message, Mapping) or not isinstance(message.get("parts"), list):
            where = f"$.messages[{index}]"
            raise RequestValidationError(
                f"invalid Vercel AI SDK chat request: {where} must be an object with parts",
                [(where, "must be an object with a parts array")],
            )
        messages += _wire_messages(message, index)
    extra = {key: value for key, value in body.items() if key not in ("trigger", "id", "messages")}
    resume = [
        {"interruptId": answer[0], "status": "resolved", "payload": {"approved": answer[1]}}
        for answer in _approval_answers(body.get("messages") or [])
    ]
    return {
        **({"resume": resume} if resume else {}),
        "threadId": chat_id,
        "runId": generate_id("run"),
        "messages": messages,
        "tools": [],
        "context": [],
        "state": None,
        "forwardedProps": extra,
    }


def _approval_answers(messages: list[Any]) -> list[tuple[str, bool]]:
    """The user's decisions the AI SDK sends back in ``approval-responded`` tool parts:
    an agent reads them as the AG-UI ``resume`` answers to its approval interrupts
    (the approval id is the interrupt id the stream sent, see ``_vercel_chunks``)."""
    out = []
    for message in messages:
        parts = message.get("parts") if isinstance(message, Mapping) else None
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, Mapping) or part.get("state") != "approval-responded":
                continue
            approval = part.get("approval")
            if isinstance(approval, Mapping) and isinstance(approval.get("approved"), bool):
                out.append((str(approval.get("id")), approval["approved"]))
    return out


def _wire_messages(message: Mapping[str, Any], index: int) -> list[dict[str, Any]]:
    role = message.get("role")
    message_id = str(message.get("id") or f"msg-{index}")
    text = "".join(
        str(part.get("text") or "")
        for part in message["parts"]
        if isinstance(part, Mapping) and part.get("type") == "text"
    )
    if role != "assistant":
        return [{"id": message_id, "role": role, "content": text}]
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for part in message["parts"]:
        kind = part.get("type") if isinstance(part, Mapping) else None
        if not isinstance(kind, str) or not (kind.startswith("tool-") or kind == "dynamic-tool"):
            continue
        name = part.get("toolName") if kind == "dynamic-tool" else kind[len("tool-") :]
        call_id = str(part.get("toolCallId"))
        arguments = _json.dumps(part.get("input") if part.get("input") is not None else {})
        calls.append(
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        )
        state = part.get("state")
        if state in ("output-available", "output-error", "output-denied"):
            if state == "output-available":
                output = part.get("output")
                content = output if isinstance(output, str) else _json.dumps(output)
            else:
                content = _json.dumps({"error": part.get("errorText") or "denied"})
            results.append(
                {
                    "id": f"{call_id}-result",
                    "role": "tool",
                    "toolCallId": call_id,
                    "content": content,
                }
            )
    entry: dict[str, Any] = {"id": message_id, "role": "assistant", "content": text}
    if calls:
        entry["toolCalls"] = calls
    return [entry, *results]
