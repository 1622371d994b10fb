"""A safe arithmetic evaluator for the demo's calculator tool (no ``eval``).

The expression is parsed with :mod:`ast` and only a whitelist of nodes is
interpreted: numbers, ``+ - * / // % **``, unary ``+``/``-`` and parentheses.
Everything else (names, calls, attributes, strings) is refused. ``^`` is read
as a power, as people type it in chat. Limits keep a hostile input from
costing CPU or memory: the expression length, the nesting depth, and the size
of exponents and of intermediate integers.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable

from .._exceptions import CalculatorError

__all__ = ["evaluate", "format_number"]

MAX_EXPRESSION_CHARS = 200
MAX_DEPTH = 32
MAX_EXPONENT = 1000
MAX_INT_BITS = 4096

Number = int | float

_BINARY: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Number], Number]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}


def _check(value: Number) -> Number:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise CalculatorError("the result is too large")
    if isinstance(value, float) and not math.isfinite(value):
        raise CalculatorError("the result is not a finite number")
    return value


def _eval(node: ast.AST, depth: int) -> Number:
    if depth > MAX_DEPTH:
        raise CalculatorError("the expression is nested too deeply")
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _check(value)
        raise CalculatorError("only numbers are allowed as operands")
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _check(_UNARY[type(node.op)](_eval(node.operand, depth + 1)))
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _eval(node.left, depth + 1)
        right = _eval(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            if abs(right) > MAX_EXPONENT:
                raise CalculatorError(f"exponents are limited to {MAX_EXPONENT}")
            # Refuse a power whose result would be too large before computing it:
            # (2**4000)**1000 is a 4-million-bit integer, seconds of CPU on the loop.
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and right > 0
                and (abs(left).bit_length() - 1) * right > MAX_INT_BITS
            ):
                raise CalculatorError("the result is too large")
        try:
            return _check(_BINARY[type(node.op)](left, right))
        except ZeroDivisionError:
            raise CalculatorError("division by zero") from None
        except OverflowError:
            raise CalculatorError("the result is too large") from None
    raise CalculatorError("only numbers, + - * / // % ** ^ and parentheses are allowed")


def evaluate(expression: str) -> Number:
    """The value of an arithmetic ``expression``; raises :class:`CalculatorError`."""
    text = expression.strip()
    if not text:
        raise CalculatorError("the expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculatorError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    text = text.replace("^", "**").replace("×", "*").replace("÷", "/")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise CalculatorError("the expression is not valid arithmetic") from None
    except (ValueError, MemoryError, RecursionError):
        raise CalculatorError("the expression cannot be parsed") from None
    result = _eval(tree.body, 0)
    if isinstance(result, float) and result.is_integer() and abs(result) < 2**53:
        return int(result)
    return result


def format_number(value: Number) -> str:
    """A number the way JavaScript prints it for the common cases (``14``, ``0.5``)."""
    if isinstance(value, float):
        return repr(value)
    return str(value)
