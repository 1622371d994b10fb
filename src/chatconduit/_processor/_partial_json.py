"""Best-effort parsing of incomplete JSON, for tool-call arguments that are still streaming.

While a model streams ``TOOL_CALL_ARGS`` deltas the accumulated text is a *prefix* of a
JSON document (``{"city": "Zür``). A UI wants to show what is known so far, so the
reference (``partial-json`` with every partial type allowed, reference §4.6) completes it:
unterminated strings, numbers, arrays and objects are closed, and prefixes of ``null``,
``true``, ``false``, ``NaN``, ``Infinity`` and ``-Infinity`` stand for those values.

The rule implemented here, stated once so that every case follows from it:

    The result is the value of the input read from the left, where every value that
    was complete before the first character that cannot continue valid JSON is kept,
    containers that are still open are closed, and a token cut off by the *end of the
    input* (string, number, literal) is completed. A member whose key or value is
    missing is left out.

Consequences, matching the reference where it matters for tool arguments:

- ``""`` / whitespace only                  → ``None`` (the reference's ``undefined``)
- ``{"a": 1, "b":``                         → ``{"a": 1}``
- ``{"a": "hel``                            → ``{"a": "hel"}`` (an escape or a surrogate pair
  cut in half is dropped)
- ``[1, 2.`` / ``[1e``                      → ``[1, 2]`` / ``[1]``
- ``{"a": tr``                              → ``{"a": True}``
- ``{"a": 1}xyz``                           → ``{"a": 1}`` (trailing garbage is ignored)
- ``{"a": 1, oops}``                        → ``{"a": 1}`` (what came before the damage is kept)
- ``xyz`` / ``-``                           → ``None`` (nothing usable)

A literal JSON ``null`` also gives ``None``; for tool arguments (always objects) the two
cases need no telling apart. Deviation from ``partial-json``, on purpose: it returns ``{}``
for ``{"a": 1.`` and ``{}`` for ``{a:1}`` because its number and string fallbacks throw; here
the number is kept (``{"a": 1}``) and the unquoted key ends the object (``{}``, the same).

The parser is iterative (an explicit stack), so deeply nested input cannot hit Python's
recursion limit, and it reads each character once: O(len(text)). Strings are decoded by
the C ``json`` scanner, lenient about raw control characters (models emit raw newlines).
"""

from __future__ import annotations

import contextlib
import json.decoder
import math
import re
from collections.abc import Callable
from typing import Any, Final

__all__ = ["parse_partial_json"]

_WS: Final = re.compile(r"[ \t\n\r]*")
# The body of a string up to (not including) its closing quote; an escape always
# consumes the next character, so an escaped quote does not end the match. A lone
# trailing backslash is left unmatched (there is no character after it yet).
_STR_BODY: Final = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)
# A complete JSON number.
_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
# The longest prefix of a JSON number at a position (possibly empty or just "-").
_NUMBER_PREFIX: Final = re.compile(r"-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]*)?)?")
# The tail of a \uXXXX escape cut short (the backslash before it is checked separately).
_CUT_UNICODE: Final = re.compile(r"u[0-9a-fA-F]{0,3}\Z")

_LITERALS: Final[tuple[tuple[str, Any], ...]] = (
    ("null", None),
    ("true", True),
    ("false", False),
    ("NaN", math.nan),
    ("Infinity", math.inf),
    ("-Infinity", -math.inf),
)

# The C string scanner behind json.loads (absent from the typeshed stubs):
# scanstring(text, index after the opening quote, strict) -> (value, index after the quote).
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]

# Parser states of the container on top of the stack.
_OBJ_KEY_OR_END: Final = 0  # just after "{"
_OBJ_KEY: Final = 1  # just after ","
_OBJ_COLON: Final = 2  # after a key
_OBJ_VALUE: Final = 3  # after ":"
_ARR_VALUE_OR_END: Final = 4  # just after "["
_ARR_VALUE: Final = 5  # just after ","
_AFTER_VALUE: Final = 6  # after a member or element: expect "," or the closing bracket


class _Stop(Exception):
    """Internal: parsing cannot continue (malformed input or a token cut by the end)."""


class _Frame:
    __slots__ = ("container", "key", "state")

    def __init__(self, container: dict[str, Any] | list[Any], state: int) -> None:
        self.container = container
        self.state = state
        self.key: str | None = None


def parse_partial_json(text: str) -> Any:
    """Parse a possibly incomplete JSON text; ``None`` when nothing can be recovered.

    Never raises for any ``str`` input (a non-``str`` raises ``TypeError``).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_partial_json expects str, got {type(text).__name__}")
    return _Parser(text).run()


class _Parser:
    __slots__ = ("n", "pos", "root", "stack", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.pos = 0
        self.stack: list[_Frame] = []
        self.root: Any = None

    def run(self) -> Any:
        with contextlib.suppress(_Stop):
            self._loop()
        return self.root

    def _skip_ws(self) -> None:
        self.pos = _WS.match(self.text, self.pos).end()  # type: ignore[union-attr]

    def _loop(self) -> None:
        text = self.text
        stack = self.stack
        # The top-level value.
        self._skip_ws()
        if self.pos >= self.n:
            return
        if not self._value():
            return
        while stack:
            self._skip_ws()
            if self.pos >= self.n:
                return
            frame = stack[-1]
            state = frame.state
            ch = text[self.pos]
            if state == _AFTER_VALUE:
                if ch == ",":
                    self.pos += 1
                    frame.state = _OBJ_KEY if isinstance(frame.container, dict) else _ARR_VALUE
                elif (ch == "}" and isinstance(frame.container, dict)) or (
                    ch == "]" and isinstance(frame.container, list)
                ):
                    self.pos += 1
                    self._close()
                else:
                    return  # malformed: keep what we have
            elif state in (_OBJ_KEY_OR_END, _OBJ_KEY):
                if ch == "}" and state == _OBJ_KEY_OR_END:
                    self.pos += 1
                    self._close()
                elif ch == '"':
                    key = self._string()
                    if key is None:
                        return  # key cut off by the end of input: member left out
                    frame.key = key
                    frame.state = _OBJ_COLON
                else:
                    return
            elif state == _OBJ_COLON:
                if ch != ":":
                    return
                self.pos += 1
                frame.state = _OBJ_VALUE
            elif state == _ARR_VALUE_OR_END and ch == "]":
                self.pos += 1
                self._close()
            else:  # _OBJ_VALUE, _ARR_VALUE, _ARR_VALUE_OR_END with a value
                if not self._value():
                    return

    def _close(self) -> None:
        self.stack.pop()
        if self.stack:
            self.stack[-1].state = _AFTER_VALUE

    def _attach(self, value: Any) -> None:
        """Store a value in the container on top of the stack (or as the root)."""
        if not self.stack:
            self.root = value
            return
        frame = self.stack[-1]
        container = frame.container
        if isinstance(container, dict):
            assert frame.key is not None
            container[frame.key] = value
        else:
            container.append(value)
        frame.state = _AFTER_VALUE

    def _value(self) -> bool:
        """Read one value at ``pos``. False when nothing (more) can be read."""
        text = self.text
        ch = text[self.pos]
        if ch == '"':
            s = self._string()
            if s is None:
                return False
            self._attach(s)
            return True
        if ch == "{" or ch == "[":
            container: dict[str, Any] | list[Any] = {} if ch == "{" else []
            self.pos += 1
            # Attach before filling: an open container is part of the result.
            self._attach(container)
            self.stack.append(
                _Frame(container, _OBJ_KEY_OR_END if ch == "{" else _ARR_VALUE_OR_END)
            )
            return True
        for literal, value in _LITERALS:
            if text.startswith(literal, self.pos):
                self.pos += len(literal)
                self._attach(value)
                return True
            rest = text[self.pos : self.pos + len(literal)]
            # A prefix counts only when the input ends inside it ("-" alone is not -Infinity).
            if self.pos + len(rest) == self.n and literal.startswith(rest) and rest != "-":
                self.pos = self.n
                self._attach(value)
                return True
        return self._number()

    def _number(self) -> bool:
        text = self.text
        prefix = _NUMBER_PREFIX.match(text, self.pos)
        assert prefix is not None  # the pattern matches the empty string
        end = prefix.end()
        if end == self.n:
            # The number runs to the end of the input: drop an unfinished fraction or
            # exponent ("2." -> 2, "1e-" -> 1) and keep the rest.
            token = prefix.group().rstrip("eE+-").rstrip(".")
            if not _NUMBER.fullmatch(token):
                return False  # "", "-": nothing usable
            self.pos = end
            self._attach(_to_number(token))
            return True
        number = _NUMBER.match(text, self.pos)
        if number is None or number.end() != end:
            return False  # not a number ("xyz"), or a damaged one ("1.}")
        self.pos = end
        self._attach(_to_number(number.group()))
        return True

    def _string(self) -> str | None:
        """Read a string at ``pos`` (which holds the quote). None when it cannot be used."""
        text = self.text
        start = self.pos + 1
        end = _STR_BODY.match(text, start).end()  # type: ignore[union-attr]
        if end < self.n and text[end] == '"':
            try:
                value, self.pos = _scanstring(text, start, False)
            except ValueError:
                raise _Stop from None  # an invalid escape: malformed
            return value
        # Cut off by the end of the input (the body pattern stops only at a quote, or
        # before a lone trailing backslash): drop a half-written escape, then close it.
        raw = _strip_cut_escape(text[start:])
        try:
            value, _ = _scanstring(raw + '"', 0, False)
        except ValueError:
            raise _Stop from None
        if value and "\ud800" <= value[-1] <= "\udbff":
            # The first half of an escaped surrogate pair ("\ud83d" of an emoji): its
            # second half has not arrived, so the character is not known yet.
            value = value[:-1]
        self.pos = self.n
        return value


def _odd_backslashes_before(raw: str, index: int) -> bool:
    """Whether the run of backslashes ending just before ``index`` has odd length."""
    j = index
    while j > 0 and raw[j - 1] == "\\":
        j -= 1
    return (index - j) % 2 == 1


def _strip_cut_escape(raw: str) -> str:
    """Remove an escape sequence that the end of the input cut in half."""
    if _odd_backslashes_before(raw, len(raw)):
        return raw[:-1]  # a lone "\"
    cut = _CUT_UNICODE.search(raw)
    if cut is not None and _odd_backslashes_before(raw, cut.start()):
        return raw[: cut.start() - 1]  # "\u", "\u1", "\u12", "\u123"
    return raw


def _to_number(token: str) -> int | float:
    if "." in token or "e" in token or "E" in token:
        return float(token)
    return int(token)
