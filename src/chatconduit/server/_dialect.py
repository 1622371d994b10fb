"""Which wire dialect a client speaks, and which converter writes a stream in it.

Two generations of clients read our streams and disagree on the shape of the same run:
``"tanstack-0.18"`` is what ``@tanstack/ai@0.18.0`` writes and
``@tanstack/ai-client@0.10.0`` reads (``_tanstack_018_dialect``), ``"current"`` is what
``@tanstack/ai@0.58`` writes and ``@tanstack/ai-client@0.33`` and ``@ag-ui/client@1.0``
read (``_current_dialect``, ``/work/shared/PROTOCOL-2026.md``). An agent may yield
either style (or a mix); each dialect's converter is pure and synchronous: one event in,
a list of events out, plus what is still owed when the agent ends (:meth:`finish`) or
fails (:meth:`error`). This module holds the choice between them: the ``dialect=``
option (:data:`Dialect`, :func:`check_dialect`), :func:`choose_dialect`, the rule that
picks a dialect from the request so that no front end has to be configured (see its
docstring and ``docs/server.md``), the :class:`DialectConverter` interface, and
:func:`make_converter`, which builds the converter for one stream.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, TypeAlias

from .._events._plain import PlainDeltas
from .._run_input import RunAgentInput
from ._current_dialect import CurrentDialect
from ._tanstack_018_dialect import Tanstack018Dialect

__all__ = [
    "DIALECTS",
    "Dialect",
    "DialectConverter",
    "WireDialect",
    "check_dialect",
    "choose_dialect",
    "make_converter",
]

Dialect: TypeAlias = Literal["auto", "tanstack-0.18", "current"]
"""The ``dialect=`` option: ``"auto"`` guesses from the request (:func:`choose_dialect`)."""
WireDialect: TypeAlias = Literal["tanstack-0.18", "current"]
"""A dialect a stream is actually written in."""
DIALECTS: tuple[Dialect, ...] = ("auto", "tanstack-0.18", "current")


def check_dialect(dialect: object) -> None:
    """Refuse an unknown ``dialect=`` when the route or stream is set up, not mid-stream."""
    if dialect not in DIALECTS:
        raise ValueError(
            f"dialect must be one of {', '.join(map(repr, DIALECTS))}, not {dialect!r}"
        )


def choose_dialect(params: RunAgentInput | None, dialect: Dialect = "auto") -> WireDialect:
    """The dialect to answer ``params`` in; an explicit ``dialect`` wins.

    The rule, first match wins, reads only what each client is known to send:

    1. ``protocolVersion`` in the body, or ``resume`` / ``parentRunId`` (an answer to a
       paused run, which only the current protocol has) -> ``"current"``.
       ``@ag-ui/client`` 1.0 always declares ``protocolVersion: "1.0"``.
    2. The legacy ``{messages, data}`` body, or any message carrying ``parts`` ->
       ``"tanstack-0.18"``. ``@tanstack/ai-client@0.10`` sends every message as a
       UIMessage with ``parts`` (and so does chatconduit's own client); the current
       clients send spec-only messages and never ``parts``.
    3. Anything else (a spec-only body: ``@tanstack/ai-client@0.33``, whose messages are
       ``{id, role, content, metadata}``, other AG-UI clients, curl) -> ``"current"``,
       the dialect the AG-UI spec describes.

    ``X-Run-Id`` is deliberately not a signal: chatconduit's own client sends it together
    with the 0.10 body, and the 0.33 client is recognised by its body anyway. Without a
    request (``params is None``) the answer is ``"tanstack-0.18"``, which is what the
    stream helpers always wrote.
    """
    if dialect != "auto":
        return dialect
    if params is None:
        return "tanstack-0.18"
    if params.protocol_version is not None or params.resume or params.parent_run_id is not None:
        return "current"
    if params.legacy or params.ui_messages:
        return "tanstack-0.18"
    return "current"


class DialectConverter(Protocol):
    """Rewrites one stream of normalised event dicts into a dialect (one per stream)."""

    as_is: PlainDeltas
    """The plain deltas ``convert`` would return unchanged (as the one event, the same
    dict), given the converter's state now: the frames step writes those without calling
    it (``_frames``). Kept up to date by the converter; empty when none would."""

    def convert(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The events to send for ``event`` (none, itself, or several)."""
        ...

    def finish(self) -> list[dict[str, Any]]:
        """What is still owed once the agent ended normally."""
        ...

    def error(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The events to send for the RUN_ERROR the server writes when the agent failed."""
        ...


def make_converter(
    dialect: WireDialect, *, run_id: str | None = None, thread_id: str | None = None
) -> DialectConverter:
    """A fresh converter for one stream; ``run_id``/``thread_id`` are the request's."""
    if dialect == "current":
        return CurrentDialect(run_id=run_id, thread_id=thread_id)
    return Tanstack018Dialect()
