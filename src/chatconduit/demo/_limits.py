"""What one request may cost the demo agent: the caps on what it reads and echoes.

The demo is often the first thing exposed to a network, so what one request can
cost is bounded: it looks at the first :data:`MAX_INPUT_CHARS` characters of the
message and the first :data:`MAX_TOOLS` tools, echoes at most
:data:`MAX_ECHO_CHARS` of anything it quotes (:func:`clip`), and every pattern it
matches runs in linear time; the accumulated ``content`` / ``args`` fields (which the
reference repeats on every delta, so their total grows with the square of the text)
stop after :data:`MAX_ACCUMULATED_CHARS` per message, leaving the deltas, which
clients read anyway. A request therefore costs microseconds to a few milliseconds of
event loop and a response of bounded size, whatever its size.
"""

from __future__ import annotations

__all__ = [
    "MAX_ACCUMULATED_CHARS",
    "MAX_ECHO_CHARS",
    "MAX_INPUT_CHARS",
    "MAX_JSON_STARTS",
    "MAX_PATH_CHARS",
    "MAX_PLACEHOLDERS",
    "MAX_TOOLS",
    "MAX_TOOL_NAME_CHARS",
    "clip",
]

MAX_INPUT_CHARS = 4000
"""Characters of the last user message (and of a tool result) the demo reads."""
MAX_TOOLS = 64
"""Client tools considered when looking for one named in the message."""
MAX_TOOL_NAME_CHARS = 64
"""Longer tool names are never matched: nobody types them in a chat."""
MAX_ECHO_CHARS = 500
"""Characters of the question, a topic, a tool result or a name the answer quotes."""
MAX_ACCUMULATED_CHARS = 16 * 1024
"""Characters of accumulated ``content`` / ``args`` sent per message or tool call."""
MAX_JSON_STARTS = 16  # "{" positions tried when looking for JSON arguments in a message
MAX_PLACEHOLDERS = 32  # required properties given a placeholder value
MAX_PATH_CHARS = 200  # of the path a delete_file call carries


def clip(text: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"
