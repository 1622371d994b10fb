"""RFC 6902 JSON Patch over RFC 6901 JSON Pointers, for AG-UI ``STATE_DELTA`` events.

The agent's shared state arrives as a ``STATE_SNAPSHOT`` and is then updated by
``STATE_DELTA`` events carrying a patch: a list of ``add`` / ``remove`` / ``replace`` /
``move`` / ``copy`` / ``test`` operations.

Two properties the processor relies on:

* **Atomic.** A patch applies completely or not at all. A failing operation (a missing
  path, a failed ``test``, a malformed operation) raises :class:`JSONPatchError` naming
  the operation's index, its ``op`` and the pointer, and every operation already applied
  is undone, so the state is never left half-patched.
* **Proportional to the patch, not the state.** Operations are applied in place and an
  undo log is kept instead of copying the whole document first, so a long stream of
  small deltas on a large state stays cheap. (``in_place=False``, the default for
  callers outside the processor, copies once up front instead.) Values taken from the
  patch are copied before they are stored, so later operations never mutate the event
  that carried them.

Pointer syntax: ``""`` is the whole document, ``/a/0/b`` walks members and array
indices, ``~1`` stands for ``/`` and ``~0`` for ``~``. Array indices are decimal without
leading zeros; ``-`` means "after the last element" and is valid only where a value is
added. JSON equality for ``test`` treats ``1`` and ``1.0`` as equal but ``true`` and ``1``
as different, as JSON does (Python alone would not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._exceptions import JSONPatchError

__all__ = ["apply_patch", "copy_json", "json_equal", "parse_pointer"]

_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


class _Failure(Exception):
    """Internal: one operation failed; turned into JSONPatchError with its context."""


def parse_pointer(pointer: str) -> list[str]:
    """Split a JSON Pointer into unescaped reference tokens (``""`` → ``[]``).

    Raises :class:`JSONPatchError` for a pointer that does not start with ``/`` or holds
    a ``~`` not followed by ``0`` or ``1``.
    """
    try:
        return _parse_pointer(pointer)
    except _Failure as exc:
        raise JSONPatchError(str(exc), pointer=pointer) from None


def _parse_pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str):
        raise _Failure(f"a JSON Pointer must be a string, got {type(pointer).__name__}")
    if pointer == "":
        return []
    if pointer[0] != "/":
        raise _Failure(f"JSON Pointer {pointer!r} must be empty or start with '/'")
    tokens = pointer[1:].split("/")
    if "~" in pointer:
        for i, token in enumerate(tokens):
            if "~" in token:
                # "~" must be followed by 0 or 1; check before unescaping so "~01" stays "~1".
                rest = token.replace("~0", "").replace("~1", "")
                if "~" in rest:
                    raise _Failure(f"JSON Pointer {pointer!r} has an invalid '~' escape")
                tokens[i] = token.replace("~1", "/").replace("~0", "~")
    return tokens


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: numbers by value, but booleans are not numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, Mapping | list | tuple) or isinstance(b, Mapping | list | tuple):
        return False
    # Strings and null; a string never equals a number.
    return type(a) is type(b) and a == b


def copy_json(value: Any) -> Any:
    """A deep copy of JSON data (dicts and lists; everything else is immutable here).

    Iterative, not recursive: the depth is the peer's choice, and a state snapshot a few
    hundred levels deep must not end the turn with a ``RecursionError``.
    """
    if not isinstance(value, dict | list):
        return value
    root: Any = {} if isinstance(value, dict) else []
    # Each entry: a source container and the empty copy its items go into.
    pending: list[tuple[Any, Any]] = [(value, root)]
    while pending:
        source, target = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, dict | list):
                child: Any = {} if isinstance(item, dict) else []
                pending.append((item, child))
                item = child
            if isinstance(target, dict):
                target[key] = item
            else:
                target.append(item)
    return root


def apply_patch(document: Any, patch: Any, *, in_place: bool = False) -> Any:
    """Apply a JSON Patch and return the resulting document.

    ``document`` is left untouched unless ``in_place`` is true, in which case it is
    modified and may also be *replaced* (an operation on the root pointer ``""``), so
    always use the return value. On failure :class:`JSONPatchError` is raised and, with
    ``in_place``, the document is restored to what it was.
    """
    if isinstance(patch, str | bytes) or not isinstance(patch, Sequence):
        raise JSONPatchError(f"a JSON Patch must be a list of operations, got {_kind(patch)}")
    if not in_place:
        document = copy_json(document)
    doc = _Document(document)
    for index, operation in enumerate(patch):
        try:
            doc.apply(operation)
        except _Failure as exc:
            doc.rollback()
            raise JSONPatchError(
                f"{_describe(index, operation)}: {exc}",
                operation_index=index,
                operation=operation if isinstance(operation, Mapping) else None,
                pointer=operation.get("path") if isinstance(operation, Mapping) else None,
            ) from None
    return doc.root


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _describe(index: int, operation: Any) -> str:
    if isinstance(operation, Mapping):
        return f"operation {index} ({operation.get('op')!s} {operation.get('path')!r})"
    return f"operation {index}"


class _Document:
    """The document being patched plus the undo log of the operations applied so far."""

    __slots__ = ("root", "undo")

    def __init__(self, root: Any) -> None:
        self.root = root
        self.undo: list[Callable[[], None]] = []

    def rollback(self) -> None:
        while self.undo:
            self.undo.pop()()

    # --- one operation ------------------------------------------------------------------

    def apply(self, operation: Any) -> None:
        if not isinstance(operation, Mapping):
            raise _Failure(f"an operation must be an object, got {_kind(operation)}")
        op = operation.get("op")
        if op not in _OPS:
            raise _Failure(f"unknown op {op!r}; expected one of {sorted(_OPS)}")
        if "path" not in operation:
            raise _Failure("missing 'path'")
        path = _parse_pointer(operation["path"])
        if op in ("add", "replace", "test") and "value" not in operation:
            raise _Failure("missing 'value'")
        if op == "add":
            self._add(path, copy_json(operation["value"]))
        elif op == "remove":
            self._remove(path)
        elif op == "replace":
            self._replace(path, copy_json(operation["value"]))
        elif op == "test":
            actual = self._get(path)
            if not json_equal(actual, operation["value"]):
                raise _Failure(f"test failed: the value is {actual!r}")
        else:  # move, copy
            if "from" not in operation:
                raise _Failure("missing 'from'")
            source = _parse_pointer(operation["from"])
            if op == "copy":
                self._add(path, copy_json(self._get(source)))
            elif source != path:
                if len(path) > len(source) and path[: len(source)] == source:
                    raise _Failure("cannot move a value into one of its own children")
                self._add(path, self._remove(source))

    # --- primitives with undo -----------------------------------------------------------

    def _parent(self, tokens: list[str]) -> Any:
        """The container holding the target of ``tokens`` (which is not empty)."""
        node = self.root
        for depth, token in enumerate(tokens[:-1]):
            node = _child(node, token, tokens[: depth + 1])
        return node

    def _get(self, tokens: list[str]) -> Any:
        if not tokens:
            return self.root
        return _child(self._parent(tokens), tokens[-1], tokens)

    def _set_root(self, value: Any) -> Any:
        old = self.root
        self.root = value

        def undo() -> None:
            self.root = old

        self.undo.append(undo)
        return old

    def _add(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            self._set_root(value)
            return
        parent = self._parent(tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            if last in parent:
                self._replace(tokens, value)
                return
            parent[last] = value
            self.undo.append(lambda: parent.pop(last))
        elif isinstance(parent, list):
            index = len(parent) if last == "-" else _index(last, tokens, len(parent) + 1)
            parent.insert(index, value)
            self.undo.append(lambda: parent.pop(index))
        else:
            raise _Failure(f"{_pointer(tokens[:-1])} is a {_kind(parent)}, not a container")

    def _remove(self, tokens: list[str]) -> Any:
        if not tokens:
            raise _Failure("cannot remove the whole document")
        parent = self._parent(tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            if last not in parent:
                raise _Failure(f"{_pointer(tokens)} does not exist")
            # Remember the position: undo must restore the member order as well.
            position = list(parent).index(last)
            value = parent.pop(last)

            def undo_dict() -> None:
                items = list(parent.items())
                items.insert(position, (last, value))
                parent.clear()
                parent.update(items)

            self.undo.append(undo_dict)
            return value
        if isinstance(parent, list):
            index = _index(last, tokens, len(parent))
            value = parent.pop(index)
            self.undo.append(lambda: parent.insert(index, value))
            return value
        raise _Failure(f"{_pointer(tokens[:-1])} is a {_kind(parent)}, not a container")

    def _replace(self, tokens: list[str], value: Any) -> None:
        if not tokens:
            self._set_root(value)
            return
        parent = self._parent(tokens)
        last = tokens[-1]
        if isinstance(parent, dict):
            if last not in parent:
                raise _Failure(f"{_pointer(tokens)} does not exist")
            key: Any = last
        elif isinstance(parent, list):
            key = _index(last, tokens, len(parent))
        else:
            raise _Failure(f"{_pointer(tokens[:-1])} is a {_kind(parent)}, not a container")
        old = parent[key]
        parent[key] = value

        def undo() -> None:
            parent[key] = old

        self.undo.append(undo)


def _pointer(tokens: list[str]) -> str:
    """Re-escape tokens into a pointer, for error messages."""
    if not tokens:
        return "the document root"
    return "".join("/" + t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _index(token: str, tokens: list[str], limit: int) -> int:
    """An array index token as an int in ``range(limit)``."""
    if token == "-":
        raise _Failure(f"{_pointer(tokens)}: '-' (past the end) is only valid for adding")
    if not token.isdigit() or not token.isascii() or (len(token) > 1 and token[0] == "0"):
        raise _Failure(f"{_pointer(tokens)}: {token!r} is not an array index")
    index = int(token)
    if index >= limit:
        raise _Failure(f"{_pointer(tokens)}: index {index} is out of range")
    return index


def _child(node: Any, token: str, tokens: list[str]) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise _Failure(f"{_pointer(tokens)} does not exist")
        return node[token]
    if isinstance(node, list):
        return node[_index(token, tokens, len(node))]
    raise _Failure(f"{_pointer(tokens[:-1])} is a {_kind(node)}, not a container")
