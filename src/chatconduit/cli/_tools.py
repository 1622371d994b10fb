"""The client tools the CLI offers the agent: small and harmless by design.

* ``get_time`` runs by itself: the date and time on the user's computer (in an
  IANA time zone when the agent names one). Its name and schema are those of
  TanStack's examples (``get_time`` with an optional ``timezone``), so agents
  written for them find it; the demo agent calls it when a message names it.
* ``ask_user`` (interactive sessions only) asks the user a question; the answer
  typed at the prompt is the tool's result. It has no ``execute``: the session
  asks once the reply has paused (:mod:`._approvals`), never while it streams.

Nothing here reads files, runs commands or touches the network.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .._client import Tool

__all__ = ["ASK_USER", "AUTOMATIC_TOOLS", "GET_TIME", "builtin_tools"]

_MAX_ZONE_CHARS = 64


async def _get_time(arguments: Any) -> dict[str, Any]:
    requested = arguments.get("timezone") if isinstance(arguments, dict) else None
    zone: tzinfo | None = None
    if isinstance(requested, str) and 0 < len(requested) <= _MAX_ZONE_CHARS:
        try:
            zone = ZoneInfo(requested)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            zone = None
    now = datetime.now(zone) if zone is not None else datetime.now().astimezone()
    name = requested if zone is not None else (now.tzname() or "local")
    return {"time": now.isoformat(timespec="seconds"), "timezone": name}


GET_TIME = Tool(
    "get_time",
    "The current date and time on the user's computer, in its local time zone or in "
    "the IANA time zone given (e.g. Europe/Paris).",
    {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": []},
    _get_time,
    run_in_thread=False,
)

ASK_USER = Tool(
    "ask_user",
    "Ask the user a question and get the answer they type.",
    {
        "type": "object",
        "properties": {"question": {"type": "string", "description": "What to ask the user."}},
        "required": ["question"],
    },
)

AUTOMATIC_TOOLS = frozenset({GET_TIME.name})
"""Tools that answer by themselves (the client runs ``execute``): nothing to ask."""


def builtin_tools(*, interactive: bool) -> list[Tool]:
    """The tools a session declares: ``ask_user`` only when someone can answer."""
    return [GET_TIME, ASK_USER] if interactive else [GET_TIME]
