"""The top-level keys AG-UI 1.0 allows on each event, and :func:`to_spec`, which moves the rest.

The current dialect (``_current_dialect``) may put only these keys at the top level of an
event, because ``@ag-ui/client`` 1.0 warns about and drops any other; TanStack's extras go
under ``metadata.tanstack`` instead. :data:`SPEC_KEYS` is that table, one entry per event
type, and :func:`to_spec` rewrites one event to fit it (TanStack 0.58's
``normalizeStreamChunk``). The tests check the wire against :data:`SPEC_KEYS` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SPEC_KEYS", "to_spec"]

_SHARED = frozenset({"type", "timestamp", "rawEvent", "metadata"})
_ATTRIBUTED = _SHARED | {"subagentRunId"}


def _keys(*fields: str, base: frozenset[str] = _ATTRIBUTED) -> frozenset[str]:
    return base | frozenset(fields)


# The top-level keys of each event in @ag-ui/core 1.0 (what @ag-ui/client keeps without a
# warning); TanStack 0.58's list (``spec-event-keys.js``) plus the 1.0 additions.
SPEC_KEYS: dict[str, frozenset[str]] = {
    "TEXT_MESSAGE_START": _keys("messageId", "role", "name"),
    "TEXT_MESSAGE_CONTENT": _keys("messageId", "delta"),
    "TEXT_MESSAGE_END": _keys("messageId"),
    "TEXT_MESSAGE_CHUNK": _keys("messageId", "role", "delta", "name"),
    "TOOL_CALL_START": _keys("toolCallId", "toolCallName", "parentMessageId"),
    "TOOL_CALL_ARGS": _keys("toolCallId", "delta"),
    "TOOL_CALL_END": _keys("toolCallId"),
    "TOOL_CALL_CHUNK": _keys("toolCallId", "toolCallName", "parentMessageId", "delta"),
    "TOOL_CALL_RESULT": _keys("messageId", "toolCallId", "content", "role"),
    "STATE_SNAPSHOT": _keys("snapshot"),
    "STATE_DELTA": _keys("delta"),
    "MESSAGES_SNAPSHOT": _keys("messages", base=_SHARED),
    "ACTIVITY_SNAPSHOT": _keys("messageId", "activityType", "content", "replace"),
    "ACTIVITY_DELTA": _keys("messageId", "activityType", "patch"),
    "RAW": _keys("event", "source"),
    "CUSTOM": _keys("name", "value"),
    "RUN_STARTED": _keys(
        "threadId", "runId", "parentRunId", "input", "protocolVersion", base=_SHARED
    ),
    "RUN_FINISHED": _keys("threadId", "runId", "result", "outcome", "usage", base=_SHARED),
    "RUN_ERROR": _keys("message", "code", "usage", base=_SHARED),
    "STEP_STARTED": _keys("stepName"),
    "STEP_FINISHED": _keys("stepName"),
    "REASONING_START": _keys("messageId"),
    "REASONING_MESSAGE_START": _keys("messageId", "role"),
    "REASONING_MESSAGE_CONTENT": _keys("messageId", "delta"),
    "REASONING_MESSAGE_END": _keys("messageId"),
    "REASONING_MESSAGE_CHUNK": _keys("messageId", "delta"),
    "REASONING_END": _keys("messageId"),
    "REASONING_ENCRYPTED_VALUE": _keys("subtype", "entityId", "encryptedValue"),
    "SUBAGENT_STARTED": _keys(
        "name", "description", "parentSubagentRunId", "parentToolCallId", "parentMessageId"
    ),
    "SUBAGENT_FINISHED": _keys("result", "outcome"),
    "SUBAGENT_ERROR": _keys("message", "code"),
}

_DELTA_EVENTS = frozenset({"TEXT_MESSAGE_CONTENT", "TOOL_CALL_ARGS"})
# What to_spec drops instead of keeping in metadata.tanstack, by the kind of event.
_SKIP = frozenset({"result", "error"})
_SKIP_TOOL_START = _SKIP | {"toolName"}
_SKIP_DELTA = _SKIP | {"model", "content", "args"}


def _usage_list(usage: Mapping[str, Any], model: Any) -> list[dict[str, Any]]:
    """TanStack's ``{promptTokens, completionTokens, totalTokens}`` as AG-UI's list."""
    entry: dict[str, Any] = {}
    if isinstance(model, str):
        entry["model"] = model
    for ours, theirs in (
        ("promptTokens", "inputTokens"),
        ("completionTokens", "outputTokens"),
        ("totalTokens", "totalTokens"),
    ):
        if ours in usage:
            entry[theirs] = usage[ours]
    return [entry]


def to_spec(event: Mapping[str, Any]) -> dict[str, Any]:
    """One event with only AG-UI keys on top and the rest in ``metadata.tanstack``.

    TanStack 0.58's ``normalizeStreamChunk``: ``toolName`` becomes ``toolCallName`` when
    that is missing; a nested RUN_ERROR ``error`` fills ``message``/``code``; ``model``
    and the accumulated ``content``/``args`` are dropped from deltas (they would repeat
    the whole text on every event); ``result`` (carried by TOOL_CALL_RESULT instead) and
    ``error`` are dropped; usage objects become lists.
    """
    kind = event.get("type")
    spec = SPEC_KEYS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        spec = _SHARED
    skip = _SKIP
    if kind == "TOOL_CALL_START":
        skip = _SKIP_TOOL_START
    elif kind in _DELTA_EVENTS:
        skip = _SKIP_DELTA
    # One pass (this runs for every event of a current-dialect stream): AG-UI keys on
    # top, the rest (but the skipped) for metadata.tanstack, each in the event's order.
    out: dict[str, Any] = {}
    tanstack: dict[str, Any] = {}
    for key, value in event.items():
        if key in spec:
            out[key] = value
        elif key not in skip:
            tanstack[key] = value
    if kind == "TOOL_CALL_START":
        name = event.get("toolName")
        if "toolCallName" not in out and isinstance(name, str):
            out["toolCallName"] = name
    elif kind == "RUN_ERROR":
        nested = event.get("error")
        if isinstance(nested, Mapping):
            if "message" not in out and isinstance(nested.get("message"), str):
                out["message"] = nested["message"]
            if "code" not in out and nested.get("code") is not None:
                out["code"] = str(nested["code"])
        if not isinstance(out.get("message"), str):
            out["message"] = "Unknown error occurred"  # required by the AG-UI schema
    usage = out.get("usage")
    if kind in ("RUN_FINISHED", "RUN_ERROR") and isinstance(usage, Mapping):
        out["usage"] = _usage_list(usage, event.get("model"))
        leftover = {
            k: v
            for k, v in usage.items()
            if k not in ("promptTokens", "completionTokens", "totalTokens")
        }
        if leftover:
            tanstack["usage"] = leftover
    if tanstack:
        metadata = out.get("metadata")
        if metadata is None:  # the usual case, without two ABC isinstance checks (~0.4 us)
            out["metadata"] = {"tanstack": tanstack}
            return out
        merged = dict(metadata) if isinstance(metadata, Mapping) else {}
        previous = merged.get("tanstack")
        merged["tanstack"] = {**(previous if isinstance(previous, Mapping) else {}), **tanstack}
        out["metadata"] = merged
    return out
