"""``-H 'Name: value'`` options, with values taken from the environment.

A token typed on the command line ends up in the shell history and in ``ps``
output. So header values are expanded *by us*, from the environment, after the
shell is done with them: ``-H 'Authorization: Bearer $TOKEN'`` (single quotes,
so the shell leaves ``$TOKEN`` alone) sends the value of ``TOKEN``. ``${NAME}``
works too, and ``$$`` is a literal dollar sign. A variable that is not set is a
usage error rather than an empty string: an empty bearer token would only turn
into a confusing 401 later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["HeaderSyntaxError", "expand_env", "parse_header"]

# ``$$``, ``${NAME}`` or ``$NAME``; a ``$`` followed by anything else is kept as is.
_REFERENCE = re.compile(r"\$(?:(\$)|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class HeaderSyntaxError(ValueError):
    """A ``-H`` option is malformed or names an unset environment variable."""


def expand_env(value: str, environ: Mapping[str, str]) -> str:
    """``value`` with ``$NAME`` / ``${NAME}`` replaced from ``environ`` and ``$$`` → ``$``."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return "$"
        name = match.group(2) if match.group(2) is not None else match.group(3)
        if not _VALID_NAME.fullmatch(name):
            raise HeaderSyntaxError(f"invalid variable reference ${{{name}}}")
        if name not in environ:
            raise HeaderSyntaxError(
                f"environment variable {name} is not set (write $$ for a literal dollar sign)"
            )
        return environ[name]

    return _REFERENCE.sub(replace, value)


def parse_header(spec: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """``'Name: value'`` → ``(name, expanded value)``.

    Error messages quote the name but never the value: the value may already be
    a secret (typed in double quotes, or expanded).
    """
    name, sep, value = spec.partition(":")
    name = name.strip()
    if not sep or not name:
        # The text itself is not echoed: it may be a bare token.
        raise HeaderSyntaxError("expected 'Name: value' (a header name, a colon, then the value)")
    if not _HEADER_NAME.fullmatch(name):
        raise HeaderSyntaxError(f"invalid header name {name!r}")
    expanded = expand_env(value.strip(), environ)
    if "\r" in expanded or "\n" in expanded:
        raise HeaderSyntaxError(f"the value of header {name} contains a line break")
    return name, expanded
