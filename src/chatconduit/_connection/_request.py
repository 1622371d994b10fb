"""One request of an HTTP adapter, from the adapter's url and options to an ``httpx.Request``.

Every request the HTTP adapters send - a run's POST (``connect``), a join's GET
(``join_run``), a hydrate's GET (``hydrate``) - is built here, so that they cannot
drift apart in what they share: the resolved url with this call's query parameters
set on it, the default headers merged under the user's, this call's own headers
(``X-Run-Id``) over those, ``Last-Event-ID`` on a resume, cookies, per-request
timeouts, and the :class:`~chatconduit._redact.Scrubber` that knows this request's
secrets. What differs between the calls is a :class:`Target`, made once per call.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote_plus, unquote_plus

import httpx

from .._codec import Framing
from .._redact import Scrubber, redact_url
from .._run_input import encode_run_agent_input, generate_run_id
from ._encoding import ACCEPT_ENCODING
from ._options import FetchOptions, cookie_items, merge_headers
from ._pool import is_default_client
from ._protocols import RunContext
from ._resume import usable_event_id

__all__ = [
    "ACCEPT",
    "JSON_ACCEPT",
    "RUN_ID_HEADER",
    "Prepared",
    "Target",
    "encode_run_body",
    "hydrate_target",
    "join_target",
    "prepare",
    "run_target",
    "with_search_params",
]

ACCEPT: dict[Framing, str] = {"sse": "text/event-stream", "ndjson": "application/x-ndjson"}
JSON_ACCEPT = "application/json"

RUN_ID_HEADER = "X-Run-Id"
"""The 0.33 client names its run in this header on every POST, so that a durable
TanStack server keys the run's log by the id the client already holds (a later
``join_run`` can then address it without reading a server-made id back first)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What one adapter call sends, apart from what the adapter's url and options give.

    ``params`` are set on the url's query (see :func:`with_search_params`); ``headers``
    replace the user's headers of the same name, as the reference spreads its own
    after the user's.
    """

    method: Literal["GET", "POST"]
    accept: str
    content: bytes | None = None
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready to send, with what errors and logs about it may show."""

    client: httpx.AsyncClient
    request: httpx.Request
    safe_url: str
    scrubber: Scrubber


@functools.lru_cache(maxsize=256)
def parse_url(url: str) -> httpx.URL:
    """``httpx.URL(url)``, remembered: every conversation of an app posts to the same
    few urls, and parsing one costs ~0.1 ms (an ``httpx.URL`` is immutable)."""
    return httpx.URL(url)


def prepare(
    target: Target,
    url: str,
    options: FetchOptions,
    client: httpx.AsyncClient,
    *,
    last_event_id: str | None = None,
) -> Prepared:
    """The request for ``target`` at ``url`` with ``options`` (all resolved already)."""
    if target.params:
        url = with_search_params(url, target.params)
    defaults = {
        "Accept": target.accept,
        # What _encoding decodes in bounded steps; httpx would also offer br and zstd
        # when their packages happen to be installed.
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if target.content is not None:
        defaults = {"Content-Type": "application/json", **defaults}
    headers = merge_headers(defaults, options.headers)
    for name, value in target.headers:
        headers[name] = value  # replaces a user header of that name, case-insensitively
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    cookies = cookie_items(options.cookies)
    parsed = parse_url(url)  # once, for the request, its shown url and its secrets
    # Overrides the client's own: reads are the idle watchdog's business.
    timeout = httpx.Timeout(
        connect=options.connect_timeout, read=None, write=None, pool=options.connect_timeout
    )
    if not cookies and is_default_client(client):
        # What build_request() makes for our own client (no base url, params or jar):
        # its headers under ours, the timeout as an extension; without its merging passes.
        request = httpx.Request(
            target.method,
            parsed,
            content=target.content,
            headers=_under(client.headers, headers),
            extensions={"timeout": timeout.as_dict()},
        )
    else:
        request = client.build_request(
            target.method,
            parsed,
            content=target.content,
            headers=headers,
            cookies=dict(cookies) or None,
            timeout=timeout,
        )
    return Prepared(
        client=client,
        request=request,
        safe_url=redact_url(parsed),
        scrubber=Scrubber.for_request(parsed, headers, cookies),
    )


def _under(base: httpx.Headers, ours: httpx.Headers) -> list[tuple[bytes, bytes]]:
    """``base`` with ``ours`` on top, as httpx merges a client's headers into a request's:
    base's names that ours does not have (in base's order), then all of ours, each name
    as it was written."""
    mine = ours.raw
    names = {name.lower() for name, _ in mine}
    return [(name, value) for name, value in base.raw if name.lower() not in names] + mine


# -- the three calls ---------------------------------------------------------------------


def encode_run_body(
    messages: Sequence[Any],
    data: Mapping[str, Any] | None,
    run_context: RunContext | None,
    adapter_body: Mapping[str, Any] | None,
) -> tuple[str, bytes]:
    """A run's RunAgentInput bytes and its run id, for every transport (HTTP and WebSocket).

    Without a run context the body's run id would be made inside the encoder; it is made
    here instead, so that the transport can name the run the body describes (the
    ``X-Run-Id`` header, the WebSocket's ``?runId=``)."""
    rc = run_context
    run_id = rc.run_id if rc is not None else generate_run_id("run")
    body = encode_run_agent_input(
        messages,
        thread_id=rc.thread_id if rc else None,
        run_id=run_id,
        parent_run_id=rc.parent_run_id if rc else None,
        tools=list(rc.client_tools) if rc and rc.client_tools else None,
        forwarded_props=rc.forwarded_props if rc else None,
        adapter_body=adapter_body,
        data=data,
    )
    return run_id, body


def run_target(
    framing: Framing,
    messages: Sequence[Any],
    data: Mapping[str, Any] | None,
    run_context: RunContext | None,
    options: FetchOptions,
) -> Target:
    """``connect()``'s POST. Made once per call: every request of the run (retries,
    resumes) sends the same body, so the same run id, and the same ``X-Run-Id``."""
    run_id, body = encode_run_body(messages, data, run_context, options.body)
    # An id a header cannot carry (a line break, a lone surrogate) goes in the body
    # only; the server then keys the run as it would without the header.
    headers = ((RUN_ID_HEADER, run_id),) if usable_event_id(run_id) else ()
    return Target("POST", ACCEPT[framing], content=body, headers=headers)


JOIN_FROM_START = "-1"
"""The offset TanStack's durable helpers read as "from the first event"."""


def join_target(framing: Framing, run_id: str, offset: str | None) -> Target:
    """``join_run()``'s GET: ``?offset=<offset or -1>&runId=<id>``, in the reference's order.

    A resume keeps this url and adds ``Last-Event-ID``, which the TanStack helpers
    (and our own server) read before ``?offset``.
    """
    return Target(
        "GET",
        ACCEPT[framing],
        params=(("offset", offset if offset is not None else JOIN_FROM_START), ("runId", run_id)),
    )


def hydrate_target(thread_id: str, limit: int | None, before: str | None) -> Target:
    """``hydrate()``'s GET: ``?threadId=<id>`` (``&limit=``, ``&before=`` when paging),
    asking for JSON as the 0.33 client does."""
    params = [("threadId", thread_id)]
    if limit is not None:
        params.append(("limit", str(limit)))
    if before is not None:
        params.append(("before", before))
    return Target("GET", JSON_ACCEPT, params=tuple(params))


# -- query parameters ----------------------------------------------------------------------


def _form_encode(text: str) -> str:
    """``application/x-www-form-urlencoded`` as ``URLSearchParams`` writes it: only
    ``A-Z a-z 0-9 * - . _`` stay, a space is ``+`` (Python's ``quote_plus`` would keep
    ``~`` too)."""
    return quote_plus(text, safe="*").replace("~", "%7E")


def with_search_params(url: str, values: Sequence[tuple[str, str]]) -> str:
    """``url`` with each ``(name, value)`` set on its query, as the reference's
    ``withSearchParams`` does with ``URLSearchParams.set``: the first parameter of that
    name takes the value in place and later ones go, else it is appended. The url's
    other parameters keep their exact bytes (a signed url stays signed), and so does
    its fragment."""
    base, hash_mark, fragment = url.partition("#")
    path, _, query = base.partition("?")
    pairs = [piece for piece in query.split("&") if piece] if query else []
    for name, value in values:
        encoded = f"{_form_encode(name)}={_form_encode(value)}"
        kept: list[str] = []
        placed = False
        for piece in pairs:
            if unquote_plus(piece.partition("=")[0]) != name:
                kept.append(piece)
            elif not placed:
                kept.append(encoded)
                placed = True
        if not placed:
            kept.append(encoded)
        pairs = kept
    query = "&".join(pairs)
    return f"{path}{'?' if query else ''}{query}{hash_mark}{fragment}"
