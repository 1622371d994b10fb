"""Keeping secrets out of logs, reprs and error messages.

One set of rules for the whole package: header names (:func:`redact_headers`),
URLs (:func:`redact_url`, used by the transports' errors and status events and by
the CLI's ``--show-request``), free text (:func:`redact_text`, used for the
server's logs) and the known secrets of one request (:class:`Scrubber`, for
whatever a server sends back). Each caller used to carry its own copy, and copies
drift: a query parameter masked in one place leaked in another.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, quote_plus, unquote, unquote_plus

import httpx

from ._exceptions import ProtocolError

__all__ = [
    "MASK",
    "MIN_SECRET_CHARS",
    "NO_SECRETS",
    "SENSITIVE_HEADERS",
    "Scrubber",
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


# --- the secrets of one request -------------------------------------------------------------

MIN_SECRET_CHARS = 4
"""Shorter values are not masked: masking every ``"abc"`` in a message would make it
unreadable, and a three-character secret protects nothing."""

_ELLIPSIS = "…"  # how our excerpts mark a cut (the codec's and HTTPStatusError's)


class Scrubber:
    """Masks the credentials of one request in text that came back from the server.

    A server that echoes a request ("invalid token sk-…", a ``WWW-Authenticate``
    quoting it, a ``RUN_ERROR`` repeating the URL) would otherwise put our secrets
    into exception messages, status events, logs and the CLI's output. Pattern
    guessing (:func:`redact_text`) cannot know them; this knows them exactly: the
    values of credential headers (and the token after ``Bearer``; for ``Basic``
    the base64 and what it decodes to), cookie values, credential-like query
    values and URL user info (and the ``Basic`` header httpx makes of it), each
    also in the spellings an echo may use (percent-encoded, JSON-escaped).

    Build it with :meth:`for_request` whenever a request is sent (a retry may
    carry a refreshed token) and pass every piece of response-derived text through
    :meth:`text` (or :meth:`headers`, :meth:`protocol_error`) before it goes into
    an error, a log record or a status event. The repr never shows the secrets.
    """

    __slots__ = ("_pattern", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_CHARS}
        # Longest first: a secret that contains another is masked whole, not in part.
        self._secrets: tuple[str, ...] = tuple(sorted(found, key=lambda s: (-len(s), s)))
        self._pattern = (
            re.compile("|".join(map(re.escape, self._secrets))) if self._secrets else None
        )

    @classmethod
    def for_request(
        cls,
        url: str | httpx.URL,
        headers: httpx.Headers | Mapping[str, str] | Iterable[tuple[str, str]] = (),
        cookies: Iterable[tuple[str, str]] = (),
    ) -> Scrubber:
        """The secrets of a request to ``url`` with these headers and cookies."""
        found: list[str] = []
        if isinstance(headers, httpx.Headers):
            items: Iterable[tuple[str, str]] = headers.multi_items()
        elif isinstance(headers, Mapping):
            items = headers.items()
        else:
            items = headers
        for name, value in items:
            if value and is_sensitive_header(name):
                found += _header_secrets(name, value)
        found += [value for _, value in cookies if value]
        found += _url_secrets(url)
        variants: list[str] = []
        for secret in found:
            variants += _spellings(secret)
        return cls(variants)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def __repr__(self) -> str:
        return f"Scrubber(<{len(self._secrets)} secret spellings>)"

    def text(self, text: str, *, truncated: bool = False) -> str:
        """``text`` with every known secret replaced by ``[redacted]``.

        ``truncated``: the text was cut short (an excerpt), so it may end with the
        start of a secret; that start is masked too. Text ending with ``…`` is
        taken as cut short anyway.
        """
        if self._pattern is None or not text:
            return text
        text = self._pattern.sub(MASK, text)
        if truncated or text.endswith(_ELLIPSIS):
            text = self._mask_cut_tail(text)
        return text

    def _mask_cut_tail(self, text: str) -> str:
        body = text[: -len(_ELLIPSIS)] if text.endswith(_ELLIPSIS) else text
        suffix = text[len(body) :]
        for secret in self._secrets:
            # The longest start of ``secret`` that ``body`` ends with (a whole one is
            # already masked).
            for size in range(len(secret) - 1, MIN_SECRET_CHARS - 1, -1):
                if body.endswith(secret[:size]):
                    return body[:-size] + MASK + suffix
        return text

    def headers(
        self, headers: httpx.Headers | Mapping[str, str] | Iterable[tuple[str, str]]
    ) -> dict[str, str]:
        """:func:`redact_headers`, and our secrets masked in every other value too (a
        ``WWW-Authenticate`` that quotes the token we sent)."""
        items = headers.multi_items() if isinstance(headers, httpx.Headers) else headers
        return {name: self.text(value) for name, value in redact_headers(items).items()}

    def protocol_error(self, error: ProtocolError) -> ProtocolError:
        """Mask our secrets in a protocol error's message and excerpt, in place.

        Its excerpt quotes bytes of the stream, which a server may have filled with
        what we sent. Scrubbed in place so that a decoder that raises the same error
        again raises the clean one; returns ``error``.
        """
        if self._pattern is None:
            return error
        old = error.excerpt
        message = str(error.args[0]) if error.args else ""
        if old is not None:
            new = self.text(old)
            tail, new_tail = f": {old!r}", f": {new!r}"
            if message.endswith(tail):
                message = self.text(message[: -len(tail)]) + new_tail
            else:
                message = self.text(message)
            error.excerpt = new
        else:
            message = self.text(message)
        error.args = (message, *error.args[1:])
        return error


NO_SECRETS = Scrubber()
"""A scrubber that masks nothing: immutable, so one serves as every placeholder."""


def _header_secrets(name: str, value: str) -> list[str]:
    found = [value]
    if name.lower() == "cookie":
        for pair in value.split(";"):
            found.append(pair.partition("=")[2].strip())
        return found
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if token and scheme.isalpha():
        found.append(token)  # "Bearer <token>": the token alone too
        if scheme.lower() == "basic":
            found += _basic_secrets(token)
    return found


def _basic_secrets(token: str) -> list[str]:
    """What a ``Basic`` credential decodes to: ``user:password``, and the password."""
    try:
        pair = base64.b64decode(token, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return []
    user, _, password = pair.partition(":")
    return [pair, password] if password else [pair, user]


def _url_secrets(url: str | httpx.URL) -> list[str]:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return []
    found: list[str] = []
    if parsed.userinfo:
        raw = parsed.userinfo.decode("ascii", "replace")
        user, password = parsed.username, parsed.password
        found += [raw, f"{user}:{password}"]
        # httpx sends the user info as "Authorization: Basic base64(user:password)".
        basic = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        found.append(basic)
        # A password is a secret; a user name alone is often the token itself
        # ("https://<token>@host"), so it is masked when there is no password.
        found.append(password if password else user)
    for piece in parsed.query.split(b"&") if parsed.query else ():
        name, equals, value = piece.partition(b"=")
        if equals and value and is_sensitive_query_param(unquote_plus(name.decode("latin-1"))):
            text = value.decode("latin-1")
            found += [text, unquote_plus(text), unquote(text)]
    return found


def _spellings(secret: str) -> list[str]:
    """``secret`` as an echo may spell it: as is, percent-encoded, JSON-escaped."""
    out = [secret, quote(secret, safe=""), quote_plus(secret, safe="")]
    escaped = json.dumps(secret)[1:-1]
    out.append(escaped)
    out.append(escaped.replace("/", "\\/"))  # JSON writers that escape "/" too
    return out
