"""An agent's tool list: its own tools, then the client's as :class:`ClientTool` (ref. §6.2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ._checker import _kind
from ._request_body import ToolSpec


@dataclass(frozen=True, slots=True)
class ClientTool:
    """A tool the client declared and the server does not implement.

    It has no ``execute``: an agent runtime that meets one streams the call and pauses
    the run on ``params.client_tool_interrupt(...)`` (see
    :meth:`~chatconduit.RunAgentInput.interrupt_run`), and the client runs it; the server
    turns the interrupt into the ``tool-input-available`` event 0.10 clients expect.
    """

    name: str
    description: str | None
    input_schema: Any = None
    metadata: Any = None
    execute: None = None


_T = TypeVar("_T")


def _tool_name(tool: object) -> object:
    if isinstance(tool, Mapping):
        return tool.get("name")
    return getattr(tool, "name", None)


def merge_agent_tools(
    server_tools: Sequence[_T],
    client_tools: Iterable[ToolSpec | Mapping[str, Any]],
) -> list[_T | ClientTool]:
    """Server tools first (unchanged), then client-only tools as :class:`ClientTool`.

    The server wins on a name collision, and of two client tools with the same
    name the first is kept (reference §6.2). Server tools may be any objects with a
    ``name`` attribute, or mappings with a ``"name"`` key.
    """
    seen = {_tool_name(t) for t in server_tools}
    merged: list[_T | ClientTool] = list(server_tools)
    for tool in client_tools:
        spec = tool if isinstance(tool, ToolSpec) else _spec_from_mapping(tool)
        if spec.name in seen:
            continue
        seen.add(spec.name)
        merged.append(ClientTool(spec.name, spec.description, spec.parameters, spec.metadata))
    return merged


def _spec_from_mapping(tool: Mapping[str, Any]) -> ToolSpec:
    name = tool.get("name")
    if not isinstance(name, str):
        raise TypeError(f"a client tool needs a string 'name', got {_kind(name)}")
    description = tool.get("description")
    return ToolSpec(
        name,
        description if isinstance(description, str) else None,
        tool.get("parameters"),
        tool.get("metadata"),
    )
