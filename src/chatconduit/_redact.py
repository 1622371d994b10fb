"""Keeping secrets out of logs, reprs and error messages.

One set of rules for the whole package: header names (:func:`redact_headers`),
URLs (:func:`redact_url`, used by the transports' errors and status events and by
the CLI's ``--show-request``) and free text (:func:`redact_text`, used for the
server's logs). Each caller used to carry its own copy, and copies drift: a query
parameter masked in one place leaked in another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote_plus

import httpx

__all__ = [
    "MASK",
    "SENSITIVE_HEADERS",
    "is_sensitive_header",
    "is_sensitive_query_param",
    "redact_headers",
    "redact_text",
    "redact_url",
]

# Header names whose values are credentials. Compared lower-cased.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-auth-token",
        "x-goog-api-key",
        "anthropic-api-key",
        "openai-api-key",
    }
)

MASK = "[redacted]"


def is_sensitive_header(name: str) -> bool:
    lowered = name.lower()
    return (
        lowered in SENSITIVE_HEADERS
        or lowered.endswith("-token")
        or lowered.endswith("-secret")
        or "api-key" in lowered
        or "apikey" in lowered
    )


def redact_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> dict[str, str]:
    """A copy of ``headers`` with every credential value replaced by ``[redacted]``."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {name: (MASK if is_sensitive_header(name) else value) for name, value in items}


# --- URLs ----------------------------------------------------------------------------------

# Query parameter names holding credentials contain one of these (lower-cased):
# api_key, key, token, access_token, client_secret, password, passwd, auth,
# sig / signature (pre-signed URLs), credential (X-Amz-Credential). Substrings on
# purpose: vendors invent new spellings, and masking a harmless value costs less
# than printing a key.
_QUERY_HINTS = ("key", "token", "secret", "password", "passwd", "auth", "sig", "credential")
_QUOTED_MASK = quote(MASK).encode("ascii")  # as it appears in a URL: %5Bredacted%5D


def is_sensitive_query_param(name: str) -> bool:
    """Whether a query parameter of this (decoded) name looks like it carries a credential."""
    lowered = name.lower()
    return any(hint in lowered for hint in _QUERY_HINTS)


def redact_url(url: str | httpx.URL) -> str:
    """``url`` fit for logs and errors: no user info, credential-like query values masked.

    Parameters that are not masked keep their exact bytes (``%20`` stays ``%20``),
    so the URL shown is the URL sent, minus its secrets. A string that is not a
    URL gives ``<invalid url>``: it may be anything, a secret included.
    """
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid url>"
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    query = parsed.query
    if query:
        pieces = query.split(b"&")
        masked = [_mask_query_piece(piece) for piece in pieces]
        if masked != pieces:
            parsed = parsed.copy_with(query=b"&".join(masked))
    return str(parsed)


def _mask_query_piece(piece: bytes) -> bytes:
    name, equals, value = piece.partition(b"=")
    if equals and value and is_sensitive_query_param(unquote_plus(name.decode("latin-1"))):
        return name + b"=" + _QUOTED_MASK
    return piece


# --- free text -----------------------------------------------------------------------------

# Things that look like credentials inside free text (exception messages, tracebacks):
# bearer tokens, provider keys (sk-..., xoxb-..., ghp_...), and key=value /
# "key": "value" pairs with a secret-ish key.
_BEARER = re.compile(r"(?i)\b(bearer|basic|token)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_PROVIDER_KEY = re.compile(
    r"\b(sk|pk|rk|xox[abprs]|ghp|gho|ghs|github_pat|AKIA)[-_][A-Za-z0-9_-]{6,}"
)
_KEY_VALUE = re.compile(
    r"(?i)((?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd|"
    r"authorization|x-api-key)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
)


def redact_text(text: str) -> str:
    """``text`` with credential-looking substrings replaced by ``[redacted]``.

    For text whose secrets are not known in advance (an exception raised by any
    library). When the secrets are known, replacing exactly them is more precise.
    """
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _PROVIDER_KEY.sub(MASK, text)
    return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{MASK}", text)
