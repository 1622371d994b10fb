"""Client tools: tools the *browser side* (here: your Python process) runs for the agent.
The server's agent asks for a client tool with a CUSTOM ``tool-input-available``
event (TanStack 0.10), an interrupt of its run (TanStack 0.58), or a call to a declared
tool that its run leaves unanswered (plain AG-UI, pydantic-ai); the client runs it and
sends the output back in a follow-up request (reference §5.6). A :class:`Tool` with
``execute`` runs automatically (:func:`run_tool`); one without waits for the
application to call ``ChatClient.add_tool_result``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias, cast

from pydantic import BaseModel, ValidationError

from .. import _json
from .._exceptions import UnknownApprovalError, UnknownToolCallError
from .._messages import to_json_value
from .._run_input import ToolSpec

__all__ = [
    "FollowUp",
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


class FollowUp(Protocol):
    """What continues a conversation once a tool of a server-pushed run answered while
    the client was idle (the client's ``TurnRunner``)."""

    async def continue_if_ready(self) -> object: ...


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

    Beyond the reference:

    - ``parameters`` may be a pydantic model class: it is advertised as its JSON Schema
      (as the reference converts a Standard Schema), and the server's input is
      validated into an instance of it before ``execute`` sees it; invalid input
      becomes the tool's error result, naming the bad fields, instead of a crash inside
      the tool.
    - A synchronous ``execute`` runs in a daemon thread of its own (``run_in_thread=True``,
      the default), so a blocking tool does not stall the stream, and a stopped one does
      not delay the process's exit (it cannot be killed: it runs on, its result is
      dropped); an ``async`` one runs on the client's event loop.
    - Every failure becomes an error result sent to the server, so a call is always
      answered: an exception (its message), a ``CancelledError`` the tool raised itself,
      an output that cannot be encoded (``"Error: RecursionError: ..."``). A
      ``KeyboardInterrupt`` / ``SystemExit`` also stops the turn and is raised from
      ``send_message``.
    - The output must be JSON (a pydantic model is dumped); anything else becomes an
      error result saying so, rather than a request that cannot be encoded.
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
    """What a run of a tool produced: ``output`` (JSON data) or ``error`` (its message).

    ``interrupt`` is a ``KeyboardInterrupt`` / ``SystemExit`` the tool raised: ``error``
    describes it (the call still gets an answer), and the turn re-raises it.
    """

    output: Any = None
    error: str | None = None
    interrupt: BaseException | None = None


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


def _failure(name: str, exc: BaseException, what: str) -> ToolOutcome:
    """The error outcome of a failure that is not an ordinary exception of the tool's code."""
    text = f"Error: {type(exc).__name__}: tool {name!r} {what}"
    detail = str(exc)
    if detail:
        text += f" ({detail})"
    logger.warning("client tool %r: %s", name, text)
    if isinstance(exc, KeyboardInterrupt | SystemExit):
        return ToolOutcome(error=text, interrupt=exc)
    return ToolOutcome(error=text)


def _settle(future: asyncio.Future[tuple[bool, Any]], outcome: tuple[bool, Any]) -> None:
    if not future.done():  # cancelled meanwhile: stop() does not wait for the thread
        future.set_result(outcome)


async def _in_daemon_thread(fn: Execute, args: Any, name: str) -> Any:
    """``fn(args)`` in a new daemon thread, as ``asyncio.to_thread`` would run it, except that
    nothing waits for the thread: ``asyncio.to_thread`` uses the loop's default executor,
    which ``asyncio.run`` joins at shutdown (and ``concurrent.futures`` at interpreter
    exit), so a stopped tool that blocks for minutes would hold the process until it
    returns. A thread cannot be killed: a stopped tool runs on, its result is dropped.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[tuple[bool, Any]] = loop.create_future()
    context = contextvars.copy_context()

    def target() -> None:
        outcome: tuple[bool, Any]
        try:
            outcome = (True, context.run(fn, args))
        except BaseException as exc:  # all of them: this thread must hand every end back
            outcome = (False, exc)
        with contextlib.suppress(RuntimeError):  # the loop was closed: nobody is waiting
            loop.call_soon_threadsafe(_settle, future, outcome)

    threading.Thread(target=target, name=f"chatconduit-tool-{name}", daemon=True).start()
    ok, value = await future
    if not ok:
        raise value
    return value


async def run_tool(t: Tool, raw_input: Any) -> ToolOutcome:
    """Run ``t.execute`` on the server's input. Never raises, except when the task running
    it is cancelled (``stop()``): every failure is an error outcome, logged with the tool's
    name, so that the call is always answered and the turn never stalls on it."""
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
        except Exception as exc:  # e.g. RecursionError on absurdly nested input
            return _failure(t.name, exc, "could not validate its input")
    try:
        if _is_async_callable(t.execute):
            result = await t.execute(args)
        elif t.run_in_thread:
            result = await _in_daemon_thread(t.execute, args, t.name)
        else:
            result = t.execute(args)
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, BaseModel):
            result = result.model_dump(mode="json", by_alias=True)
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # we are being cancelled (stop(), a failed request): not the tool's doing
        return _failure(t.name, exc, "raised CancelledError itself (it was not cancelled)")
    except (KeyboardInterrupt, SystemExit) as exc:
        # Re-raised by the turn (from send_message) once the call is answered: raising it
        # here would end this task with it, which stops the event loop running the client.
        return _failure(t.name, exc, "was interrupted")
    except Exception as exc:
        text = str(exc) or type(exc).__name__
        logger.warning("client tool %r raised %s: %s", t.name, type(exc).__name__, text)
        return ToolOutcome(error=text)
    try:
        # What recording the result and sending it will do; a failure there (RecursionError
        # for a result too deeply nested) would otherwise escape from inside the client.
        _json.dumps(result)
        to_json_value(result)
    except (TypeError, ValueError) as exc:
        text = f"tool {t.name!r} returned a value that is not JSON: {exc}"
        logger.warning("%s", text)
        return ToolOutcome(error=text)
    except Exception as exc:
        return _failure(t.name, exc, "returned a value that cannot be encoded as JSON")
    return ToolOutcome(output=result)
