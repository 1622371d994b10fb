"""Client tools: tools the *browser side* (here: your Python process) runs for the agent.

The server's agent asks for a client tool with a CUSTOM ``tool-input-available``
event; the client runs it and sends the output back in a follow-up request
(SPEC 5.6). A :class:`Tool` with ``execute`` runs automatically; one without waits
for the application to call ``ChatClient.add_tool_result``.

Beyond the reference:

- ``parameters`` may be a pydantic model class: it is advertised as its JSON Schema
  (as the reference converts a Standard Schema), and the server's input is validated
  into an instance of it before ``execute`` sees it; invalid input becomes the tool's
  error result, naming the bad fields, instead of a crash inside the tool.
- A synchronous ``execute`` runs in a worker thread (``run_in_thread=True``, the
  default), so a blocking tool does not stall the stream; an ``async`` one runs on
  the client's event loop.
- The output must be JSON (a pydantic model is dumped); anything else becomes an
  error result saying so, rather than a request that cannot be encoded.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

from pydantic import BaseModel, ValidationError

from .. import _json
from .._exceptions import UnknownApprovalError, UnknownToolCallError
from .._run_input import ToolSpec

__all__ = [
    "Tool",
    "ToolInput",
    "ToolOutcome",
    "UnknownApprovalError",
    "UnknownToolCallError",
    "coerce_tools",
    "run_tool",
    "tool",
]

logger = logging.getLogger("chatconduit.client")

Schema: TypeAlias = Mapping[str, Any] | type[BaseModel]
Execute: TypeAlias = Callable[[Any], Any]
ToolInput: TypeAlias = "Tool | Mapping[str, Any]"


@dataclass(frozen=True, slots=True)
class Tool:
    """A client tool: advertised to the server in every request, run here when asked.

    ``parameters`` is a JSON Schema mapping or a pydantic model class (``None``
    advertises ``{"type": "object"}``). ``execute(input)`` may be sync or async and
    returns the output (JSON data or a pydantic model); leave it ``None`` for a tool
    the application answers itself with ``add_tool_result``.
    """

    name: str
    description: str
    parameters: Schema | None = None
    execute: Execute | None = None
    run_in_thread: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Tool.name must be a non-empty str, got {self.name!r}")
        if not isinstance(self.description, str):
            raise TypeError(
                f"tool {self.name!r}: description must be a str (the server's request "
                f"validation requires one), got {type(self.description).__name__}"
            )
        if self.execute is not None and not callable(self.execute):
            raise TypeError(
                f"tool {self.name!r}: execute must be callable, got {type(self.execute).__name__}"
            )
        params = self.parameters
        if params is not None and not (
            isinstance(params, Mapping)
            or (isinstance(params, type) and issubclass(params, BaseModel))
        ):
            raise TypeError(
                f"tool {self.name!r}: parameters must be a JSON Schema mapping or a pydantic "
                f"model class, got {type(params).__name__}"
            )

    def spec(self) -> ToolSpec:
        """How the tool is advertised in the request's ``tools`` list."""
        return ToolSpec.from_schema(self.name, self.description, self.parameters)

    def __repr__(self) -> str:
        runs = "execute" if self.execute is not None else "no execute"
        return f"Tool({self.name!r}, {runs})"


def tool(
    name: str | None = None,
    *,
    description: str | None = None,
    parameters: Schema | None = None,
    run_in_thread: bool = True,
) -> Callable[[Execute], Tool]:
    """Decorator: make a :class:`Tool` of a function (name and description default to
    the function's name and docstring)::

        @tool(parameters=Location)
        async def get_weather(loc: Location) -> dict[str, Any]:
            \"\"\"The weather at a location.\"\"\"
    """

    def wrap(fn: Execute) -> Tool:
        doc = inspect.getdoc(fn) or ""
        return Tool(
            name=name or str(getattr(fn, "__name__", "")),
            description=description if description is not None else doc,
            parameters=parameters,
            execute=fn,
            run_in_thread=run_in_thread,
        )

    return wrap


def _from_mapping(value: Mapping[str, Any], index: int) -> Tool:
    known = {"name", "description", "parameters", "inputSchema", "execute", "run_in_thread"}
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise TypeError(
            f"tools[{index}]: unknown key(s) {unknown}; expected some of {sorted(known)}"
        )
    parameters = value.get("parameters", value.get("inputSchema"))
    return Tool(
        name=cast(str, value.get("name")),  # checked by Tool.__post_init__
        description=cast(str, value.get("description")),
        parameters=parameters,
        execute=value.get("execute"),
        run_in_thread=bool(value.get("run_in_thread", True)),
    )


def coerce_tools(tools: Iterable[ToolInput] | None) -> dict[str, Tool]:
    """Tools by name, in order of first appearance; a later tool with the same name
    replaces the earlier one in place (as the reference's name-keyed map does)."""
    out: dict[str, Tool] = {}
    if tools is None:
        return out
    if isinstance(tools, str | bytes | Mapping):
        raise TypeError(f"tools must be a list of Tool objects, got {type(tools).__name__}")
    for index, item in enumerate(tools):
        if isinstance(item, Tool):
            t = item
        elif isinstance(item, Mapping):
            t = _from_mapping(item, index)
        else:
            raise TypeError(
                f"tools[{index}]: expected a Tool or a mapping, got {type(item).__name__}"
            )
        out[t.name] = t
    return out


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """What a run of a tool produced: ``output`` (JSON data) or ``error`` (its message)."""

    output: Any = None
    error: str | None = None


def _is_async_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - async callable objects
    )


def _validation_text(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(input)"
        problems.append(f"{loc}: {err['msg']}")
    return "; ".join(problems)


async def run_tool(t: Tool, raw_input: Any) -> ToolOutcome:
    """Run ``t.execute`` on the server's input. Never raises (except cancellation):
    every failure is an error outcome, logged with the tool's name."""
    assert t.execute is not None
    args: Any = raw_input
    params = t.parameters
    if isinstance(params, type) and issubclass(params, BaseModel):
        try:
            args = params.model_validate(raw_input if raw_input is not None else {})
        except ValidationError as exc:
            text = f"invalid input for tool {t.name!r}: {_validation_text(exc)}"
            logger.warning("%s", text)
            return ToolOutcome(error=text)
    try:
        if _is_async_callable(t.execute):
            result = await t.execute(args)
        elif t.run_in_thread:
            result = await asyncio.to_thread(t.execute, args)
        else:
            result = t.execute(args)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        text = str(exc) or type(exc).__name__
        logger.warning("client tool %r raised %s: %s", t.name, type(exc).__name__, text)
        return ToolOutcome(error=text)
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json", by_alias=True)
    try:
        _json.dumps(result)
    except (TypeError, ValueError) as exc:
        text = f"tool {t.name!r} returned a value that is not JSON: {exc}"
        logger.warning("%s", text)
        return ToolOutcome(error=text)
    return ToolOutcome(output=result)
