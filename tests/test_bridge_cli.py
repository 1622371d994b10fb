"""The CLI's bridge flags: what they need, refused as usage errors (exit 2) before any
request; the key is only ever named by its environment variable."""

from __future__ import annotations

import pytest

from chatconduit.cli._args import ChatCommand, ServeCommand, parse_command
from chatconduit.cli._errors import UsageError


def test_protocol_flags_are_parsed() -> None:
    command = parse_command(
        ["chat", "http://h/v1", "--protocol", "openai", "--model", "m", "--api-key-env", "K"], {}
    )
    assert isinstance(command, ChatCommand)
    assert (command.protocol, command.model, command.api_key_env) == ("openai", "m", "K")
    auto = parse_command(["chat", "http://h/api"], {})
    assert isinstance(auto, ChatCommand) and auto.protocol is None


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["chat", "http://h/v1", "--protocol", "openai"], "--protocol openai needs --model"),
        (["serve", "--openai-base-url", "http://h/v1"], "--openai-base-url needs --model"),
        (["serve", "--model", "m"], "--model needs --openai-base-url"),
        (["serve", "--openai-base-url", "ftp://h", "--model", "m"], "URL must start with"),
    ],
)
def test_missing_pieces_are_usage_errors(argv: list[str], problem: str) -> None:
    with pytest.raises(UsageError, match=problem):
        parse_command(argv, {})


def test_serve_openai_takes_no_key_value() -> None:
    command = parse_command(["serve", "--openai-base-url", "http://h/v1", "--model", "m"], {})
    assert isinstance(command, ServeCommand)
    assert command.api_key_env == "OPENAI_API_KEY"
    with pytest.raises(SystemExit):  # there is no flag that takes the key itself
        parse_command(
            [
                "serve",
                "--openai-base-url",
                "http://h/v1",
                "--model",
                "m",
                "--openai-api-key",
                "sk-x",
            ],
            {},
        )
