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
import weakref
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote_plus, unquote_plus

import httpx

from .._codec import Framing
from .._redact import Scrubber, is_sensitive_header, redact_url
from .._run_input import encode_run_agent_input, generate_run_id
from ._encoding import ACCEPT_ENCODING
from ._options import FetchOptions, HeadersInput, cookie_items, header_items, merge_headers
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
    cookies = cookie_items(options.cookies)
    # Our own client without cookies: what build_request() would make (no base url, params
    # or jar), without its merging passes; from the url's shape when it has one.
    direct = not cookies and is_default_client(client)
    if direct:
        shape = _shape_for(client, target, url, options)
        if shape is not None:
            return _from_shape(shape, target, options, client, last_event_id)
    headers = _merged(target, options.headers)
    for name, value in target.headers:
        headers[name] = value  # replaces a user header of that name, case-insensitively
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    parsed = parse_url(url)  # once, for the request, its shown url and its secrets
    if direct:
        # The client's headers under ours, the timeout as an extension.
        request = httpx.Request(
            target.method,
            parsed,
            content=target.content,
            headers=_under(client.headers, headers),
            extensions={"timeout": _timeouts(options.connect_timeout)},
        )
    else:
        request = client.build_request(
            target.method,
            parsed,
            content=target.content,
            headers=headers,
            cookies=dict(cookies) or None,
            # Overrides the client's own: reads are the idle watchdog's business.
            timeout=httpx.Timeout(
                connect=options.connect_timeout,
                read=None,
                write=None,
                pool=options.connect_timeout,
            ),
        )
    return Prepared(
        client=client,
        request=request,
        safe_url=redact_url(parsed),
        scrubber=Scrubber.for_request(parsed, headers, cookies),
    )


def _merged(target: Target, users: HeadersInput | None) -> httpx.Headers:
    """Our default headers for ``target`` with the user's over them."""
    defaults = {
        "Accept": target.accept,
        # What _encoding decodes in bounded steps; httpx would also offer br and zstd
        # when their packages happen to be installed.
        "Accept-Encoding": ACCEPT_ENCODING,
    }
    if target.content is not None:
        defaults = {"Content-Type": "application/json", **defaults}
    return merge_headers(defaults, users)


def _under(base: httpx.Headers, ours: httpx.Headers) -> list[tuple[bytes, bytes]]:
    """``base`` with ``ours`` on top, as httpx merges a client's headers into a request's:
    base's names that ours does not have (in base's order), then all of ours, each name
    as it was written."""
    mine = ours.raw
    names = {name.lower() for name, _ in mine}
    return [(name, value) for name, value in base.raw if name.lower() not in names] + mine


# -- requests of one shape -----------------------------------------------------------------
#
# Every conversation of an app posts to the same url with the same headers; only the
# body, the run id (and on a resume the event id) differ. Merging the headers, adding
# Host, finding the secrets and redacting the url were done per request, and the
# httpx.Request kept its own copy of every header: ~0.1 ms of a conversation's CPU when
# 1,000 run at once, most of it in allocations and the collector's passes over them
# (benchmarks/README.md, round 10). For the default client those parts are now made
# once per shape and shared: a request copies the shape's header list (its entries are
# immutable tuples) and appends its own. What goes on the wire is byte for byte what
# the general path sends (tests/test_connection_default_client.py).

# Names a shape never takes from the user: httpx treats them specially (it adds Host
# and Content-Length itself unless they are given), so those requests take the general
# path and keep exactly httpx's behaviour.
_OWN_NAMES = frozenset({b"host", b"content-length", b"transfer-encoding"})

_SHAPES_PER_CLIENT = 64  # distinct urls x header sets; past it the oldest is forgotten


@dataclass(frozen=True, slots=True)
class _Shape:
    """What every request of one target kind to one url with one header set shares."""

    url: httpx.URL
    headers: httpx.Headers  # Host, the client's, ours and the user's, in httpx's order
    safe_url: str
    scrubber: Scrubber


# None for a key whose requests take the general path (found once, not again per request).
_shapes: weakref.WeakKeyDictionary[httpx.AsyncClient, dict[Hashable, _Shape | None]] = (
    weakref.WeakKeyDictionary()
)
_UNSEEN: Any = object()


def _shape_for(
    client: httpx.AsyncClient, target: Target, url: str, options: FetchOptions
) -> _Shape | None:
    """The shape of this request for a default client, or ``None`` when it has none (a
    body that is empty, per-request headers that are secrets, names httpx fills in)."""
    if not target.content and target.method == "POST":
        return None  # httpx puts an empty body's Content-Length first: the general path
    for name, _ in target.headers:
        if is_sensitive_header(name):
            return None
    # The user's headers as merge_headers reads them (names and values as str, in order),
    # read once: the key, and the shape when it is new, are made from these.
    users = None if options.headers is None else tuple(header_items(options.headers))
    key = (url, target.method, target.accept, target.content is not None, users)
    shapes = _shapes.get(client)
    if shapes is None:
        shapes = _shapes[client] = {}
    shape = shapes.get(key, _UNSEEN)
    if shape is _UNSEEN:
        shape = _new_shape(client, target, url, users)
        if len(shapes) >= _SHAPES_PER_CLIENT:
            del shapes[next(iter(shapes))]
        shapes[key] = shape
    return shape  # type: ignore[no-any-return]


def _new_shape(
    client: httpx.AsyncClient, target: Target, url: str, users: HeadersInput | None
) -> _Shape | None:
    headers = _merged(target, users)
    if any(name.lower() in _OWN_NAMES for name, _ in headers.raw):
        return None
    parsed = parse_url(url)
    raw = _under(client.headers, headers)
    if parsed.host:
        raw = [(b"Host", parsed.netloc), *raw]
    return _Shape(
        url=parsed,
        headers=httpx.Headers(raw),
        safe_url=redact_url(parsed),
        scrubber=Scrubber.for_request(parsed, headers),
    )


def _from_shape(
    shape: _Shape,
    target: Target,
    options: FetchOptions,
    client: httpx.AsyncClient,
    last_event_id: str | None,
) -> Prepared:
    content = target.content if target.content is not None else b""
    request = httpx.Request(
        target.method,
        shape.url,
        headers=shape.headers,  # copied by the request: the shape's stays as it is
        # stream=: httpx adds no headers of its own; the shape has Host, and
        # Content-Length is set below, where httpx's content= path would put it.
        stream=httpx.ByteStream(content),
        extensions=_shared_extensions(options.connect_timeout),
    )
    request.read()  # the body as request.content, as content= would have it
    own = request.headers
    for name, value in target.headers:
        own[name] = value
    if last_event_id is not None:
        own["Last-Event-ID"] = last_event_id
    if target.content is not None:
        own["Content-Length"] = str(len(content))
    return Prepared(client, request, shape.safe_url, shape.scrubber)


def _timeouts(connect: float | None) -> dict[str, float | None]:
    """``httpx.Timeout(connect=connect, read=None, write=None, pool=connect).as_dict()``."""
    return {"connect": connect, "read": None, "write": None, "pool": connect}


@functools.lru_cache(maxsize=32)
def _shared_extensions(connect: float | None) -> dict[str, Any]:
    """A shaped request's extensions, one dict per connect timeout shared by its requests:
    our transport only reads them (a redirect copies them), and a dict holding a dict is
    an object the garbage collector tracks, one per live stream otherwise."""
    return {"timeout": _timeouts(connect)}


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
