"""The server side of the request body: validate a ``RunAgentInput`` into typed values.

reference §6.2-6.3: :func:`parse_run_agent_input` validates a body and returns a typed
:class:`~._run_agent_input.RunAgentInput`, its messages also flattened for an LLM by
:func:`~chatconduit._run_input._model_messages.convert_messages_to_model_messages`.

Where we differ from the reference on purpose:

- the legacy ``{messages, data}`` body of older clients is accepted (the
  reference rejects it): ``data`` and any other top-level keys become
  ``forwarded_props`` and ids are generated;
- every validation problem is reported with its JSON path
  (``messages[2].role``), all at once, as a
  :class:`~chatconduit._exceptions.RequestValidationError`;
- ``null`` is accepted wherever a field is optional (zod rejects it);
- legacy ``binary`` user content is turned into a media part, and refused when it
  carries neither ``data`` nor ``url`` (no model can use a bare file id);
- ``parts`` are only re-attached to ``system``/``user``/``assistant`` messages, the
  roles a UIMessage can have.

Read top to bottom: the body decoding, one check per top-level part of the body
(``tools``, ``context``, ``resume``: the answers to a paused run's interrupts), then
:func:`parse_run_agent_input` that ties them together with the message checks of
:mod:`._message_checks`. The problem collector is :mod:`._checker`, the result types
:mod:`._run_agent_input`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import _json
from .._exceptions import RequestValidationError
from .._messages import MessageValidationError, UIMessage
from ._checker import _Checker, _kind, _one_of, _raise_problems, _short
from ._message_checks import _check_message
from ._model_messages import convert_messages_to_model_messages
from ._request_body import ToolSpec, generate_run_id
from ._run_agent_input import ContextItem, ResumeEntry, RunAgentInput

__all__ = ["parse_run_agent_input"]


def _load_body(body: bytes | bytearray | memoryview | str | Mapping[str, Any]) -> Any:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 BOM, which ``Response.json()`` also ignores
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            problem = f"is not valid UTF-8 (byte offset {exc.start})"
            raise RequestValidationError(f"Request body {problem}", [("(body)", problem)]) from None
    elif isinstance(body, str):
        text = body.removeprefix("\ufeff")
    else:
        raise TypeError(f"body must be bytes, str or a mapping, got {type(body).__name__}")
    if not text.strip():
        problem = "is empty; expected a JSON RunAgentInput object"
        raise RequestValidationError(f"Request body {problem}", [("(body)", problem)])
    try:
        return _json.loads(text)
    except RecursionError:
        problem = "is not valid JSON: nested too deeply"
    except ValueError as exc:
        problem = f"is not valid JSON: {exc}"
    raise RequestValidationError(f"Request body {problem}", [("(body)", problem)]) from None


def _check_tools(c: _Checker, body: Mapping[str, Any]) -> list[ToolSpec]:
    tools: list[ToolSpec] = []
    for i, raw in enumerate(c.array(body, "tools", "", required=True)):
        where = f"tools[{i}]"
        tool = c.obj(raw, where)
        if tool is None:
            continue
        name = c.string(tool, "name", where, required=True)
        description = c.string(tool, "description", where, required=True)
        if name is not None and description is not None:
            tools.append(ToolSpec(name, description, tool.get("parameters"), tool.get("metadata")))
    return tools


def _check_context(c: _Checker, body: Mapping[str, Any]) -> list[ContextItem]:
    items: list[ContextItem] = []
    for i, raw in enumerate(c.array(body, "context", "", required=True)):
        where = f"context[{i}]"
        entry = c.obj(raw, where)
        if entry is None:
            continue
        description = c.string(entry, "description", where, required=True)
        value = c.string(entry, "value", where, required=True)
        if description is not None and value is not None:
            items.append(ContextItem(description, value))
    return items


_RESUME_STATUSES = ("resolved", "cancelled")


def _check_resume(c: _Checker, body: Mapping[str, Any]) -> tuple[ResumeEntry, ...]:
    """``resume[]``: the answers to the interrupts of the run named by ``parentRunId``."""
    entries: list[ResumeEntry] = []
    for i, raw in enumerate(c.array(body, "resume", "", required=False)):
        where = f"resume[{i}]"
        entry = c.obj(raw, where)
        if entry is None:
            continue
        interrupt_id = c.string(entry, "interruptId", where, required=True)
        status = entry.get("status")
        if status not in _RESUME_STATUSES:
            problem = "is required" if "status" not in entry else _one_of(_RESUME_STATUSES)
            c.add(
                f"{where}.status", problem if status is None else f"{problem}, got {_short(status)}"
            )
            continue
        metadata = entry.get("metadata")
        if metadata is not None and c.obj(metadata, f"{where}.metadata") is None:
            continue
        if interrupt_id is not None:
            entries.append(
                ResumeEntry(
                    interrupt_id,
                    "resolved" if status == "resolved" else "cancelled",
                    entry.get("payload"),
                    metadata,
                )
            )
    return tuple(entries)


def _is_legacy(body: Mapping[str, Any]) -> bool:
    return "messages" in body and "threadId" not in body and "runId" not in body


def parse_run_agent_input(
    body: bytes | bytearray | memoryview | str | Mapping[str, Any],
) -> RunAgentInput:
    """Validate a request body (raw bytes, text or an already-parsed mapping).

    Accepts the AG-UI ``RunAgentInput`` the TanStack 0.10 client sends, and the
    legacy ``{messages, data}`` shape of older clients. Raises
    :class:`~chatconduit._exceptions.RequestValidationError` listing every problem
    with its JSON path; input values are never echoed (bodies may carry secrets),
    except short enum-like strings such as an unknown ``role``.
    """
    data = _load_body(body)
    c = _Checker()
    if not isinstance(data, Mapping):
        _raise_problems([("(body)", f"must be a JSON object, got {_kind(data)}")])
    legacy = _is_legacy(data)

    if legacy:
        thread_id: str | None = generate_run_id("thread")
        run_id: str | None = generate_run_id("run")
        parent_run_id = None
        protocol_version = None
        resume: tuple[ResumeEntry, ...] = ()
        state = None
        tools: list[ToolSpec] = []
        context: list[ContextItem] = []
        extra_data = data.get("data")
        if extra_data is not None and not isinstance(extra_data, Mapping):
            c.add("data", f"must be an object, got {_kind(extra_data)}")
            extra_data = None
        # Older adapters spread their static ``body`` option onto the top level;
        # it ranks below ``data``, as the adapter body ranks below it today.
        forwarded: Any = {k: v for k, v in data.items() if k not in ("messages", "data")}
        forwarded.update(extra_data or {})
    else:
        thread_id = c.string(data, "threadId", "", required=True)
        run_id = c.string(data, "runId", "", required=True)
        parent_run_id = c.string(data, "parentRunId", "", required=False)
        protocol_version = c.string(data, "protocolVersion", "", required=False)
        resume = _check_resume(c, data)
        state = data.get("state")
        tools = _check_tools(c, data)
        context = _check_context(c, data)
        forwarded = data.get("forwardedProps")
        if forwarded is None:
            forwarded = {}

    messages: list[UIMessage | dict[str, Any]] = []
    for i, raw in enumerate(c.array(data, "messages", "", required=True)):
        checked = _check_message(c, raw, i, legacy=legacy)
        if checked is not None:
            messages.append(checked)

    if c.problems:
        _raise_problems(c.problems)
    assert thread_id is not None and run_id is not None
    try:
        model_messages = convert_messages_to_model_messages(messages)
    except MessageValidationError as exc:  # pragma: no cover - validated above
        _raise_problems(exc.errors)
    return RunAgentInput(
        thread_id=thread_id,
        run_id=run_id,
        parent_run_id=parent_run_id,
        state=state,
        messages=messages,
        tools=tools,
        context=context,
        forwarded_props=forwarded,
        model_messages=model_messages,
        legacy=legacy,
        resume=resume,
        protocol_version=protocol_version,
    )
