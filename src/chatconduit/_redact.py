"""Keeping secrets out of logs, reprs and error messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
