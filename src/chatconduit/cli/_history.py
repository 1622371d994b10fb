"""``/save`` and ``/load`` in the REPL: a conversation as a JSON file.

The file is a JSON array of messages in the wire's camelCase shape
(``message_to_dict``), the same a TanStack client keeps, so a conversation saved here
loads into ``ChatClient(initial_messages=...)`` or ``set_messages()`` as it is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from .._exceptions import MessageValidationError
from .._messages import UIMessage, message_from_dict, message_to_dict

__all__ = ["HistoryError", "load_conversation", "save_conversation"]


class HistoryError(Exception):
    """A conversation file could not be written or read (one line, for the REPL)."""


def save_conversation(messages: Sequence[UIMessage], path: str) -> int:
    """Write ``messages`` to ``path`` (replaced atomically); return how many."""
    target = Path(path).expanduser()
    data = [message_to_dict(m) for m in messages]
    temporary = target.with_name(target.name + ".tmp")
    try:
        temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        temporary.replace(target)
    except OSError as exc:
        raise HistoryError(f"cannot save to {path}: {exc.strerror or exc}") from None
    return len(data)


def load_conversation(path: str) -> list[UIMessage]:
    """The messages saved in ``path``; :class:`HistoryError` naming what is wrong."""
    source = Path(path).expanduser()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise HistoryError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise HistoryError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, list):
        raise HistoryError(f"{path} holds no conversation (a JSON array of messages)")
    try:
        return [message_from_dict(item, where=f"[{i}]") for i, item in enumerate(data)]
    except MessageValidationError as exc:
        raise HistoryError(f"{path}: {exc}") from None
