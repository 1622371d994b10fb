"""``no_cyclic_garbage()``: what runs inside it must leave nothing of chatconduit's in a
reference cycle, i.e. for the cyclic garbage collector (each such object costs every full
collection until it is found, and an app making a client per request pays it per client)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def _chatconduit_made(thing: object, exclude: tuple[str, ...]) -> bool:
    """Made by chatconduit, outside the ``exclude`` packages (garbage a server in another
    thread of the test process leaves meanwhile is not the client's business)."""
    code = getattr(thing, "ag_code", None) or getattr(thing, "cr_code", None)
    if code is not None:
        name = code.co_filename.replace("\\", "/")
        return "/chatconduit/" in name and not any(f"/{part}/" in name for part in exclude)
    module = getattr(thing, "__module__", None) if callable(thing) else None
    module = module or type(thing).__module__
    if not module.startswith("chatconduit"):
        return False
    return not any(module.startswith(f"chatconduit.{part}") for part in exclude)


@contextlib.contextmanager
def no_cyclic_garbage(exclude: tuple[str, ...] = ()) -> Iterator[None]:
    """Assert that the block leaves no chatconduit object in a reference cycle. Run what it
    checks once before (first-use caches are not garbage of the block's)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)  # what a collection finds stays in gc.garbage
    try:
        yield
        gc.collect()
        left = [thing for thing in gc.garbage if _chatconduit_made(thing, exclude)]
        assert left == [], sorted({type(thing).__qualname__ for thing in left})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
