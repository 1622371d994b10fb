"""``--show-request``: the request exactly as it goes on the wire, secrets masked.

It is printed from an httpx request hook, i.e. from the ``httpx.Request`` the
transport really sends (retries and resumes included), not from a
reconstruction that could drift from what the adapter does.
"""

from __future__ import annotations

import json

import httpx

from .._redact import MASK, Scrubber, is_sensitive_header, redact_url

__all__ = ["format_request", "format_response_head"]


def format_request(request: httpx.Request) -> str:
    """curl ``-v`` style: ``> POST url``, one ``> name: value`` per header, then the
    body pretty-printed (it is compact JSON on the wire; the shape is what matters
    when debugging)."""
    lines = [f"> {request.method} {redact_url(request.url)}"]
    lines += [f"> {name}: {value}" for name, value in _masked(request.headers)]
    lines.append(">")
    body = request.content
    if body:
        try:
            lines.append(json.dumps(json.loads(body), indent=2, ensure_ascii=False))
        except ValueError:
            lines.append(body.decode("utf-8", "replace"))
    return "\n".join(lines) + "\n"


def format_response_head(response: httpx.Response) -> str:
    """``< HTTP/1.1 200 OK`` and the response headers, masked.

    Masked by name (``Set-Cookie``), and by value: a server may echo what we sent
    (``WWW-Authenticate: Bearer error="invalid_token", token="<ours>"``), so the
    credentials of the request this answers are masked wherever they appear.
    """
    request = response.request
    scrubber = Scrubber.for_request(request.url, request.headers)
    status = f"< {response.http_version} {response.status_code} {response.reason_phrase}"
    lines = [scrubber.text(status.rstrip())]
    lines += [f"< {name}: {scrubber.text(value)}" for name, value in _masked(response.headers)]
    return "\n".join(lines) + "\n"


def _masked(headers: httpx.Headers) -> list[tuple[str, str]]:
    # Item by item rather than redact_headers(): that returns a dict, and a response
    # may repeat a header (set-cookie) that must be shown, masked, each time.
    return [
        (name, MASK if is_sensitive_header(name) else value)
        for name, value in headers.multi_items()
    ]
