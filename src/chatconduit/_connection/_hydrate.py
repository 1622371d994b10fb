"""``hydrate()``: a thread as the server stores it, read from one JSON document.

The 0.33 reference client asks ``GET <url>?threadId=<id>`` (``&limit=``, ``&before=``
when paging) with ``Accept: application/json`` and reads
``{messages, activeRun: {runId} | null, interrupts: {runId, pending} | null, page?}``.
It reads leniently, and so do we where it does: ``messages`` that is not a list
is no messages, an ``activeRun`` or ``interrupts`` without a string ``runId`` (or
with no pending interrupt) is none, a ``page`` that is not ``{truncated: true,
cursor}`` means the list is whole. A stored message that is not a UI message is a
:class:`~chatconduit.MessageValidationError` naming it, and keys we do not know are
kept (on the messages, and on :attr:`HydratedThread.extra`).

The request goes through the same plumbing as the streams (``_request``,
``_send``: options, headers, cookies, redirects, scrubbing) and is retried the same
way; the body is read in bounded steps, each within ``idle_timeout``, the whole
call within ``deadline``, and at most :func:`max_document_bytes` of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._exceptions import (
    FrameTooLargeError,
    HTTPStatusError,
    HydrateUnsupportedError,
    ProtocolError,
    StreamReadError,
    StreamTimeoutError,
    UnexpectedResponseError,
)
from .._json import loads
from .._messages import UIMessage, message_from_dict, message_to_dict
from .._redact import Scrubber
from ._content import BODY_START_BYTES, ResponseHead, diagnose
from ._deadline import Deadline
from ._encoding import decoded_body
from ._options import FetchOptions, OptionsInput, UrlInput, resolve_options, resolve_url
from ._request import Prepared, hydrate_target, prepare
from ._retry import coerce_retry_policy
from ._send import OpenFailed, open_stream, read

__all__ = [
    "HydratedInterrupts",
    "HydratedThread",
    "fetch_hydration",
    "max_document_bytes",
]

# A server without a hydrate route: 405 from a POST-only chat route (chatconduit's own
# chat_endpoint, most frameworks), 501 from one that says so.
_UNSUPPORTED_STATUSES = frozenset({405, 501})

_KNOWN_KEYS = frozenset({"messages", "activeRun", "interrupts", "page"})


def max_document_bytes(options: FetchOptions) -> int:
    """The largest hydrate answer read: a whole transcript, so many events' worth
    (16 x ``max_frame_bytes``, 64 MiB by default), yet bounded."""
    return 16 * options.max_frame_bytes


@dataclass(frozen=True, slots=True)
class HydratedInterrupts:
    """The interrupts a thread's last run ended with, still waiting for an answer.

    ``pending`` holds the AG-UI interrupt objects as the server sent them
    (``{id, reason, message?, toolCallId?, responseSchema?, metadata?}``), every key kept.
    """

    run_id: str
    pending: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class HydratedThread:
    """What :meth:`~chatconduit.HTTPStreamAdapter.hydrate` read.

    - ``messages``: the stored transcript, oldest first;
    - ``active_run``: the id of a run still producing (join it with ``join_run``), or
      ``None``;
    - ``interrupts``: the pending interrupts of the run that ended with them, or ``None``
      (the reference lets them win over ``active_run``);
    - ``truncated`` / ``cursor``: more (older) messages exist; pass ``cursor`` as
      ``before=`` to get them;
    - ``extra``: top-level keys of the answer this version does not know, as sent.
    """

    messages: list[UIMessage]
    active_run: str | None = None
    interrupts: HydratedInterrupts | None = None
    truncated: bool = False
    cursor: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HydratedThread:
        """Read a hydrate answer (already parsed JSON) as the reference reads it.

        Raises :class:`~chatconduit.MessageValidationError` for a message that is not
        a UI message, :class:`ValueError` for a pending interrupt that is not an object.
        """
        raw_messages = data.get("messages")
        messages = (
            [
                message_from_dict(_object(m, f"messages[{i}]"), where=f"messages[{i}]")
                for i, m in enumerate(raw_messages)
            ]
            if isinstance(raw_messages, list)
            else []
        )
        active = data.get("activeRun")
        active_run = (
            active["runId"]
            if isinstance(active, Mapping) and isinstance(active.get("runId"), str)
            else None
        )
        interrupts = None
        found = data.get("interrupts")
        if isinstance(found, Mapping) and isinstance(found.get("runId"), str):
            pending = found.get("pending")
            if isinstance(pending, list) and pending:
                interrupts = HydratedInterrupts(
                    run_id=found["runId"],
                    pending=[
                        dict(_object(item, f"interrupts.pending[{i}]"))
                        for i, item in enumerate(pending)
                    ],
                )
        page = data.get("page")
        cursor = page.get("cursor") if isinstance(page, Mapping) else None
        truncated = (
            isinstance(page, Mapping)
            and page.get("truncated") is True
            and isinstance(cursor, str)
            and cursor != ""
        )
        return cls(
            messages=messages,
            active_run=active_run,
            interrupts=interrupts,
            truncated=truncated,
            cursor=cursor if truncated else None,
            extra={k: v for k, v in data.items() if k not in _KNOWN_KEYS},
        )

    def to_dict(self) -> dict[str, Any]:
        """The answer's JSON shape again (camelCase), e.g. to store or forward it."""
        out: dict[str, Any] = {
            "messages": [message_to_dict(m) for m in self.messages],
            "activeRun": {"runId": self.active_run} if self.active_run is not None else None,
            "interrupts": (
                {"runId": self.interrupts.run_id, "pending": self.interrupts.pending}
                if self.interrupts is not None
                else None
            ),
        }
        if self.truncated:
            out["page"] = {"truncated": True, "cursor": self.cursor}
        out.update(self.extra)
        return out


class _ShapeError(ValueError):
    """A part of the answer that must be a JSON object is not one."""


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _ShapeError(f"{where} is not a JSON object but {type(value).__name__}")
    return value


async def fetch_hydration(
    *,
    url: UrlInput,
    options: OptionsInput,
    thread_id: str,
    limit: int | None,
    before: str | None,
    client_for: Callable[[FetchOptions], httpx.AsyncClient],
) -> HydratedThread:
    """One ``hydrate()``: request (with retries), read, parse."""
    target = hydrate_target(thread_id, limit, before)
    resolved = await resolve_options(options)
    deadline = Deadline(resolved.deadline)
    retry = coerce_retry_policy(resolved.retry)
    retries = 0
    while True:
        prepared = prepare(target, await resolve_url(url), resolved, client_for(resolved))
        error = deadline.passed(prepared.safe_url)
        if error is not None:
            raise error
        try:
            response = await open_stream(
                prepared.client,
                prepared.request,
                cookies=resolved.cookies,
                idle=deadline.bounded(resolved.idle_timeout),
                safe_url=prepared.safe_url,
                scrubber=prepared.scrubber,
            )
        except OpenFailed as failed:
            found = failed.error
            if (
                isinstance(found, HTTPStatusError)
                and type(found) is HTTPStatusError  # not a RedirectError
                and found.status_code in _UNSUPPORTED_STATUSES
            ):
                raise HydrateUnsupportedError(
                    found.status_code,
                    found.reason,
                    url=found.url,
                    headers=found.headers,
                    body=found.body,
                    body_truncated=found.body_truncated,
                ) from None
            wait = None
            if failed.retryable:
                retries += 1
                wait = retry.delay_for(retries, failed.retry_after)
            if wait is None:
                raise found from found.__cause__
            remaining = deadline.remaining()
            if remaining is not None and wait >= remaining:
                raise deadline.exceeded(prepared.safe_url, found) from None
            await asyncio.sleep(wait)
            # Re-read for the retry, as a stream's retries do: a token may be fresh.
            resolved = await resolve_options(options)
            continue
        try:
            return await _read_answer(response, prepared, resolved, deadline)
        finally:
            await response.aclose()


async def _read_answer(
    response: httpx.Response, prepared: Prepared, options: FetchOptions, deadline: Deadline
) -> HydratedThread:
    head = ResponseHead.of(response)
    scrubber = prepared.scrubber
    what = diagnose(head)  # no content, an HTML page, another protocol's stream
    if what is None and head.content_type in ("text/event-stream", "application/x-ndjson"):
        what = "an event stream"  # a chat route that streams whatever it is asked
    if what is not None:
        # Only the start, for the error: the body may be a stream that never ends.
        start = b"" if head.status in (204, 205) else await _excerpt(response, options, deadline)
        raise _not_a_thread(head, what, prepared.safe_url, start, scrubber)
    body = await _body(response, prepared, options, deadline)
    try:
        data = loads(body)
    except ValueError:
        what = "an empty body" if not body.strip() else "a body that is not JSON"
        raise _not_a_thread(head, what, prepared.safe_url, body, scrubber) from None
    if not isinstance(data, dict):
        what = f"JSON that is not an object ({type(data).__name__})"
        raise _not_a_thread(head, what, prepared.safe_url, body, scrubber)
    try:
        return HydratedThread.from_dict(data)
    except _ShapeError as exc:  # a MessageValidationError passes: it names the message
        raise _not_a_thread(head, str(exc), prepared.safe_url, body, scrubber) from None


async def _excerpt(response: httpx.Response, options: FetchOptions, deadline: Deadline) -> bytes:
    """The first bytes of a body that is no hydrate answer; best effort, one wait."""
    collected = bytearray()
    chunks = decoded_body(response)
    try:
        # One wait for the whole excerpt: a trickled page must not hold us up.
        async with asyncio.timeout(deadline.bounded(options.idle_timeout)):
            while len(collected) < BODY_START_BYTES:
                piece = await anext(chunks, None)
                if piece is None:
                    break
                collected += piece
    except (TimeoutError, httpx.RequestError, ProtocolError):
        pass  # the status and the content type say enough
    finally:
        await chunks.aclose()
    return bytes(collected[: BODY_START_BYTES + 1])  # one more: the excerpt shows it was cut


async def _body(
    response: httpx.Response, prepared: Prepared, options: FetchOptions, deadline: Deadline
) -> bytes:
    """The decoded body, read in bounded steps within the idle timeout and the deadline."""
    limit = max_document_bytes(options)
    collected = bytearray()
    chunks = decoded_body(response)
    safe_url = prepared.safe_url
    try:
        while True:
            wait = deadline.bounded(options.idle_timeout)
            try:
                piece = await read(chunks, wait)
            except TimeoutError:
                error = deadline.passed(safe_url)
                if error is not None:
                    raise error from None
                raise StreamTimeoutError(
                    f"no data from {safe_url} for {options.idle_timeout}s (idle_timeout) "
                    "while reading the hydrate answer"
                ) from None
            except httpx.RequestError as exc:
                detail = prepared.scrubber.text(str(exc) or type(exc).__name__)
                raise StreamReadError(
                    f"the connection to {safe_url} broke while reading the hydrate answer: {detail}"
                ) from exc
            except ProtocolError as exc:  # a Content-Encoding we refuse, or corrupt data
                raise prepared.scrubber.protocol_error(exc) from None
            if piece is None:
                return bytes(collected)
            collected += piece
            if len(collected) > limit:
                raise FrameTooLargeError(
                    f"the hydrate answer from {safe_url} is larger than {limit} bytes "
                    "(16 x max_frame_bytes)"
                )
    finally:
        await chunks.aclose()


def _not_a_thread(
    head: ResponseHead, what: str, url: str, body: bytes, scrubber: Scrubber
) -> UnexpectedResponseError:
    kind = head.raw_content_type if head.raw_content_type is not None else "no Content-Type"
    excerpt: str | None = None
    if body:
        cut = len(body) > BODY_START_BYTES
        text = body[:BODY_START_BYTES].decode("utf-8", "replace") + ("…" if cut else "")
        excerpt = scrubber.text(text, truncated=cut)
    return UnexpectedResponseError(
        f"{url} answered {head.status} {head.reason} ({scrubber.text(kind)}) with "
        f"{scrubber.text(what)}; expected a hydrate answer, a JSON object "
        "{messages, activeRun, interrupts}",
        status_code=head.status,
        content_type=head.raw_content_type,
        excerpt=excerpt,
    )
