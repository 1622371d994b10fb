"""What ``chat`` and ``demo`` print before the first prompt (on stderr when stdout is piped)."""

from __future__ import annotations

from rich.text import Text

from ._repl import COMMANDS_HELP

__all__ = ["DEMO_PROMPTS", "chat_banner", "demo_banner"]

DEMO_PROMPTS = (
    "what is 12*7?",
    "what time is it?",
    "think about primes",
    "use get_time",
    "delete notes.txt",
)


def chat_banner(url: str, transport: str) -> list[Text]:
    return [
        Text.assemble(("chatconduit", "bold"), f" · {url} ({transport.upper()})"),
        Text(f"Ctrl-C stops a reply · {COMMANDS_HELP}", style="dim"),
    ]


def demo_banner(url: str, transport: str) -> list[Text]:
    examples = "  ·  ".join(DEMO_PROMPTS)
    return [
        Text.assemble(
            ("chatconduit demo", "bold"),
            " — a deterministic demo agent (no model, no network), served at ",
            (url, "cyan"),
            f" over {transport.upper()}.",
        ),
        Text.assemble(("Try: ", "bold"), examples),
        Text(f"Ctrl-C stops a reply · {COMMANDS_HELP}", style="dim"),
    ]
