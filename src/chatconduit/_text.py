"""Text helpers shared by the client and the processor.

* :data:`JS_WHITESPACE`: what JavaScript's ``String.prototype.trim()`` removes, so that
  "blank" and "trimmed" mean what they mean in the reference.
* :func:`append_in_place`: how streamed text grows in amortised O(delta) (see the
  cost model in ``_processor/__init__.py``).
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel

__all__ = ["JS_WHITESPACE", "append_in_place", "is_js_blank"]

# ECMAScript WhiteSpace + LineTerminator code points.
JS_WHITESPACE: Final = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def is_js_blank(text: str) -> bool:
    """True when JavaScript's ``text.trim()`` would be empty."""
    return not text.strip(JS_WHITESPACE)


def append_in_place(model: BaseModel, name: str, text: str) -> None:
    """Append ``text`` to the string field ``name`` of ``model`` in amortised O(len(text)).

    The field is detached while the local ``s`` holds the only reference, so CPython
    resizes the string in place instead of copying it. Writing ``__dict__`` directly also
    skips pydantic's ``__setattr__`` (the field is required, so it is already "set").
    Never keep a second reference to the string anywhere: every append would then copy
    it (quadratic).
    """
    d = model.__dict__
    s = d[name]
    d[name] = ""
    s += text
    d[name] = s
