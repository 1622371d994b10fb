"""The browser playground: a chat page on the real ``@tanstack/ai-client`` with an
inspector of everything that went over the wire, shipped as a prebuilt bundle in
``static/`` (built from ``playground/`` at the repository root, never at install
time). :func:`playground_app` serves it, optionally with a CORS proxy so the page can
talk to third-party backends; ``chatconduit serve`` mounts it and answers ``GET /``
with it. Needs Starlette (the ``server`` extra).
"""

from __future__ import annotations

from ._app import STATIC_DIR, index_response, playground_app, render_index
from ._proxy import TARGET_HEADER, PlaygroundProxy

__all__ = [
    "STATIC_DIR",
    "TARGET_HEADER",
    "PlaygroundProxy",
    "index_response",
    "playground_app",
    "render_index",
]
