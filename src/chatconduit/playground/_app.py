"""``playground_app()``: the page, its static bundle and the optional proxy route.

The page learns where it lives and which backend it talks to from a JSON block
written into its HTML (``render_index``), so one bundle works mounted anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ._proxy import PlaygroundProxy

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "STATIC_DIR",
    "index_response",
    "playground_app",
    "render_index",
]

STATIC_DIR = Path(__file__).resolve().parent / "static"

# The page runs only its own bundle; it may connect anywhere (the backend is the user's
# choice). Markdown from agents is sanitised too, this is the second line.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src *; base-uri 'self'; form-action 'none'; frame-ancestors 'none'"
)


def render_index(base: str, *, endpoint: str, framing: str, proxy: str | None) -> str:
    """The page's HTML for a mount at ``base`` (a path ending in ``/``)."""
    if not base.endswith("/"):
        raise ValueError(f"the playground's base path must end with '/', got {base!r}")
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    config = json.dumps({"endpoint": endpoint, "framing": framing, "proxy": proxy})
    # JSON inside <script>: "<" escaped so no value can close the element.
    config = config.replace("<", "\\u003c")
    base_attr = base.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return template.replace("__PLAYGROUND_BASE__", base_attr).replace(
        "__PLAYGROUND_CONFIG__", config
    )


def index_response(html: str) -> HTMLResponse:
    """The page's HTML with the headers that keep it to its own bundle."""
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


def playground_app(
    *,
    endpoint: str = "/api/chat/sse",
    framing: Literal["sse", "ndjson"] = "sse",
    proxy: bool = False,
    proxy_timeout: float = 300.0,
) -> Starlette:
    """The playground as an ASGI app to mount (``Mount("/playground", playground_app())``).

    ``endpoint`` is the chat route the page talks to by default (a path on the same
    origin, or a URL) and ``framing`` how it answers. ``proxy=True`` adds ``POST``/``GET
    proxy``, which forwards a request to the URL in the ``X-Chatconduit-Target`` header,
    so the page reaches backends that send no CORS headers, and bridges Vercel AI SDK and
    OpenAI-compatible backends (``X-Chatconduit-Protocol``) into AG-UI for the page. It
    forwards to any URL the page names, so enable it only on a server bound to a trusted
    interface.
    """
    if framing not in ("sse", "ndjson"):
        raise ValueError(f"framing must be 'sse' or 'ndjson', got {framing!r}")
    if not endpoint:
        raise ValueError("endpoint must be a path or URL, got an empty string")
    if not (STATIC_DIR / "playground.js").is_file():
        raise RuntimeError(
            f"the playground bundle is missing from {STATIC_DIR}: "
            "rebuild it with `python3 dev.py build-playground`"
        )

    async def index(request: Request) -> HTMLResponse:
        base = request.scope.get("root_path", "").rstrip("/") + "/"
        return index_response(
            render_index(base, endpoint=endpoint, framing=framing, proxy="proxy" if proxy else None)
        )

    routes: list[Route | Mount] = [
        Route("/", index, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    if proxy:
        routes.append(
            Route("/proxy", PlaygroundProxy(timeout=proxy_timeout), methods=["GET", "POST"])
        )
    return Starlette(routes=routes)
