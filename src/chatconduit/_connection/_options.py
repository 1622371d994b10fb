"""Options of the HTTP transports, and how ``url``/``options`` callables are resolved.

``url`` and ``options`` may each be a value or a callable returning one (sync or
async). They are resolved for every request, retries and resumes included, so
that a callable reading a token store picks up a refreshed token.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any, TypeAlias

import httpx

from .._redact import MASK, redact_headers
from ._abort import AbortSignal
from ._resume import ResumePolicy
from ._retry import RetryPolicy
from ._status import StatusCallback

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_DEADLINE",
    "DEFAULT_EVENT_TIMEOUT",
    "DEFAULT_IDLE_TIMEOUT",
    "FetchOptions",
    "HeadersInput",
    "OptionsInput",
    "UrlInput",
    "merge_headers",
    "resolve_options",
    "resolve_url",
]

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_IDLE_TIMEOUT = 120.0
# None: a slow link may take long over one big event, and a chat may legitimately run
# for an hour. Set them when the server is not yours (see "Security and limits" in
# docs/connection-adapters.md); the CLI's one-shot mode sets a deadline.
DEFAULT_EVENT_TIMEOUT: float | None = None
DEFAULT_DEADLINE: float | None = None

HeadersInput: TypeAlias = Mapping[str, str] | httpx.Headers | Iterable[tuple[str, str]]
CookiesInput: TypeAlias = httpx.Cookies | Mapping[str, str]


@dataclass(frozen=True, slots=True, repr=False)
class FetchOptions:
    """Options of :func:`fetch_server_sent_events` / :func:`fetch_http_stream`.

    - ``headers``: added to every request; merged case-insensitively over the
      defaults (``Content-Type: application/json`` and the ``Accept`` of the
      transport), so a user ``content-type`` replaces ours instead of doubling it.
    - ``body``: merged into ``forwardedProps`` with the lowest precedence
      (adapter ``body`` < run context ``forwarded_props`` < per-call ``data``).
    - ``cookies``: sent with every request.
    - ``client``: an ``httpx.AsyncClient`` of yours (proxies, mTLS, an ASGI app
      in-process, a cookie jar); it is used as it is and never closed by the
      adapter. Without one, every default adapter on an event loop shares that
      loop's one client (made on first use, over aiohttp, no cookie jar, closed
      with the loop; see ``_connection._pool``), so a thousand conversations cost
      one client, not a thousand.
    - ``connect_timeout``: seconds to establish the connection (``None``: no limit).
    - ``idle_timeout``: the watchdog: seconds without a single byte (response
      headers, events, heartbeats) before the connection is given up — resumed
      when the stream is resumable, else :class:`StreamTimeoutError`.
    - ``event_timeout``: seconds from the first byte of an event to its end (a
      server trickling bytes resets the idle watchdog forever); handled like
      ``idle_timeout``. ``None`` (the default): no limit.
    - ``deadline``: seconds for the whole ``connect()``, retries and resumes
      included; then :class:`StreamTimeoutError`, never resumed. ``None`` (the
      default): no limit.
    - ``retry``: :class:`RetryPolicy` of the initial request; ``False`` disables.
    - ``resume``: :class:`ResumePolicy` for streams whose events carry ids; ``False``
      disables (a drop is then an error, as for untagged streams).
    - ``on_status``: called with a :class:`ConnectionStatusEvent` at each change.
    - ``signal``: an abort signal used when ``connect`` is given none.
    - ``max_frame_bytes``: the largest line/event accepted (FrameTooLargeError above);
      twice this many bytes without any event (blank lines, comments) are refused too.
    """

    headers: HeadersInput | None = None
    body: Mapping[str, Any] | None = None
    cookies: CookiesInput | None = None
    client: httpx.AsyncClient | None = None
    connect_timeout: float | None = DEFAULT_CONNECT_TIMEOUT
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT
    event_timeout: float | None = DEFAULT_EVENT_TIMEOUT
    deadline: float | None = DEFAULT_DEADLINE
    retry: RetryPolicy | bool = True
    resume: ResumePolicy | bool = True
    on_status: StatusCallback | None = None
    signal: AbortSignal | None = None
    max_frame_bytes: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.headers is not None and not isinstance(self.headers, Mapping | httpx.Headers):
            # Every request of every run reads them (retries and resumes too): a one-shot
            # iterable would be empty after the first, and those would go without them.
            object.__setattr__(self, "headers", tuple(self.headers))
        for name in ("connect_timeout", "idle_timeout", "event_timeout", "deadline"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int | float) or value <= 0):
                raise ValueError(
                    f"FetchOptions.{name} must be a positive number or None, got {value!r}"
                )
        if not isinstance(self.max_frame_bytes, int) or self.max_frame_bytes < 1:
            raise ValueError(
                f"FetchOptions.max_frame_bytes must be a positive int, got {self.max_frame_bytes!r}"
            )
        if self.body is not None and not isinstance(self.body, Mapping):
            raise TypeError(
                f"FetchOptions.body must be a mapping (it is merged into forwardedProps), "
                f"got {type(self.body).__name__}"
            )
        if self.client is not None and not isinstance(self.client, httpx.AsyncClient):
            raise TypeError(
                "FetchOptions.client must be an httpx.AsyncClient, "
                f"got {type(self.client).__name__}"
            )
        if not isinstance(self.retry, RetryPolicy | bool):
            raise TypeError(
                f"FetchOptions.retry must be a RetryPolicy or a bool, got {self.retry!r}"
            )
        if not isinstance(self.resume, ResumePolicy | bool):
            raise TypeError(
                f"FetchOptions.resume must be a ResumePolicy or a bool, got {self.resume!r}"
            )

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FetchOptions:
        """Build from a plain mapping, naming any key that is not an option."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in values if k not in known)
        if unknown:
            raise TypeError(
                f"unknown fetch option(s) {', '.join(map(repr, unknown))}; "
                f"expected some of: {', '.join(sorted(known))}"
            )
        return cls(**dict(values))

    def __repr__(self) -> str:
        parts: list[str] = []
        if self.headers is not None:
            parts.append(f"headers={redact_headers(header_items(self.headers))!r}")
        if self.body is not None:
            # Keys only: values are user data and may hold credentials.
            parts.append(f"body=<keys {sorted(map(str, self.body))}>")
        if self.cookies is not None:
            parts.append(f"cookies=<{len(_cookie_items(self.cookies))} {MASK}>")
        if self.client is not None:
            parts.append("client=<httpx.AsyncClient>")
        for name in ("connect_timeout", "idle_timeout", "retry", "resume", "max_frame_bytes"):
            parts.append(f"{name}={getattr(self, name)!r}")
        for name in ("event_timeout", "deadline"):
            if getattr(self, name) is not None:
                parts.append(f"{name}={getattr(self, name)!r}")
        if self.on_status is not None:
            parts.append("on_status=<callback>")
        return f"FetchOptions({', '.join(parts)})"


OptionsValue: TypeAlias = FetchOptions | Mapping[str, Any] | None
UrlInput: TypeAlias = str | httpx.URL | Callable[[], str | httpx.URL | Awaitable[str | httpx.URL]]
OptionsInput: TypeAlias = (
    FetchOptions | Mapping[str, Any] | Callable[[], OptionsValue | Awaitable[OptionsValue]] | None
)


async def _call(value: Any) -> Any:
    result = value() if callable(value) else value
    if inspect.isawaitable(result):
        result = await result
    return result


async def resolve_url(url: UrlInput) -> str:
    value = await _call(url)
    if isinstance(value, httpx.URL):
        return str(value)
    if not isinstance(value, str) or not value:
        raise TypeError(
            f"the url (or the url callable's result) must be a non-empty str, got {value!r}"
        )
    return value


NO_OPTIONS = FetchOptions()
"""The defaults, made once (frozen): an adapter without options shares it."""


async def resolve_options(options: OptionsInput) -> FetchOptions:
    value = await _call(options) if not isinstance(options, FetchOptions | Mapping) else options
    if value is None:
        return NO_OPTIONS
    if isinstance(value, FetchOptions):
        return value
    if isinstance(value, Mapping):
        return FetchOptions.from_mapping(value)
    raise TypeError(
        f"options (or the options callable's result) must be FetchOptions or a mapping, "
        f"got {type(value).__name__}"
    )


def header_items(headers: HeadersInput) -> list[tuple[str, str]]:
    if isinstance(headers, httpx.Headers):
        return list(headers.multi_items())
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def _cookie_items(cookies: CookiesInput) -> list[tuple[str, str]]:
    if isinstance(cookies, httpx.Cookies):
        return [(cookie.name, cookie.value or "") for cookie in cookies.jar]
    return [(str(k), str(v)) for k, v in cookies.items()]


def merge_headers(defaults: Mapping[str, str], custom: HeadersInput | None) -> httpx.Headers:
    """Defaults, then custom headers replacing them case-insensitively (repeats kept)."""
    merged = httpx.Headers(dict(defaults))
    if custom is None:
        return merged
    items = header_items(custom)
    for name in {name.lower() for name, _ in items}:
        if name in merged:
            del merged[name]
    out = list(merged.multi_items()) + items
    return httpx.Headers(out)


def cookie_items(cookies: CookiesInput | None) -> list[tuple[str, str]]:
    return [] if cookies is None else _cookie_items(cookies)
