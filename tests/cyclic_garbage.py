"""``no_cyclic_garbage()``: what runs inside it must leave nothing of chatconduit's in a
reference cycle, i.e. for the cyclic garbage collector (each such object costs every full
collection until it is found, and an app making a client per request pays it per client)."""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator


def _ours(thing: object, exclude: tuple[str, ...], also: str | None) -> bool:
    """Made by chatconduit, outside the ``exclude`` packages (garbage a server in another
    thread of the test process leaves meanwhile is not the client's business), or by the
    test module ``also``."""
    also_file = sys.modules[also].__file__ if also is not None else None
    code = getattr(thing, "ag_code", None) or getattr(thing, "cr_code", None)
    if code is not None:
        if also_file is not None and code.co_filename == also_file:
            return True
        name = code.co_filename.replace("\\", "/")
        return "/chatconduit/" in name and not any(f"/{part}/" in name for part in exclude)
    module = getattr(thing, "__module__", None) if callable(thing) else None
    module = module or type(thing).__module__
    if module == also:
        return True
    if not module.startswith("chatconduit"):
        return False
    return not any(module.startswith(f"chatconduit.{part}") for part in exclude)


@contextlib.contextmanager
def no_cyclic_garbage(exclude: tuple[str, ...] = (), also: str | None = None) -> Iterator[None]:
    """Assert that the block leaves no chatconduit object in a reference cycle (nor one of
    the test module named ``also``). Run what it checks once before (first-use caches are
    not garbage of the block's)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds stays in gc.garbage
    try:
        yield
        gc.collect()
        left = [thing for thing in gc.garbage if _ours(thing, exclude, also)]
        assert left == [], sorted({type(thing).__qualname__ for thing in left})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
