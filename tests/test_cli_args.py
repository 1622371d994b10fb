"""Argument parsing: headers from the environment, --body, usage errors."""

from __future__ import annotations

import pytest

from chatconduit.cli._args import ChatCommand, DemoCommand, ServeCommand, parse_command
from chatconduit.cli._errors import UsageError
from chatconduit.cli._headers import HeaderSyntaxError, expand_env, parse_header

ENV = {"TOKEN": "s3cret-token", "ORG": "acme"}


def chat(*argv: str) -> ChatCommand:
    command = parse_command(["chat", "http://h/api", *argv], ENV)
    assert isinstance(command, ChatCommand)
    return command


def test_headers_are_expanded_from_the_environment() -> None:
    command = chat(
        "-H", "Authorization: Bearer $TOKEN", "-H", "X-Org:${ORG}-eu", "-H", "X-Price: $$5"
    )
    assert command.headers == (
        ("Authorization", "Bearer s3cret-token"),
        ("X-Org", "acme-eu"),
        ("X-Price", "$5"),
    )


def test_a_dollar_not_followed_by_a_name_is_kept() -> None:
    assert expand_env("cost: 5$ or $-1", ENV) == "cost: 5$ or $-1"


def test_an_unset_variable_is_a_usage_error_naming_it() -> None:
    with pytest.raises(UsageError, match="environment variable MISSING is not set"):
        chat("-H", "Authorization: Bearer $MISSING")


@pytest.mark.parametrize(
    "spec", ["tok-9f8e7d6c", ": tok-9f8e7d6c", "Bad Name: tok-9f8e7d6c", "X: $TOKEN\n"]
)
def test_malformed_headers_are_rejected_without_echoing_the_value(spec: str) -> None:
    with pytest.raises(HeaderSyntaxError) as info:
        parse_header(spec, {"TOKEN": "tok-9f8e7d6c\nX"})
    assert "tok-9f8e7d6c" not in str(info.value)


def test_header_error_does_not_echo_a_bare_token() -> None:
    with pytest.raises(UsageError) as info:
        chat("-H", "sk-live-abcdef123456")
    assert "sk-live" not in str(info.value)


def test_body_must_be_a_json_object() -> None:
    assert chat("--body", '{"model": "x", "n": 2}').body == {"model": "x", "n": 2}
    with pytest.raises(UsageError, match="JSON object"):
        chat("--body", "[1]")
    with pytest.raises(UsageError, match="not valid JSON"):
        chat("--body", "{model}")


def test_session_options() -> None:
    command = chat(
        "-m", "hi", "--transport", "ndjson", "--raw", "--show-request", "--thread-id", "t1"
    )
    assert command.thread_id == "t1"
    session = command.session
    assert (session.message, session.transport, session.raw, session.show_request) == (
        "hi",
        "ndjson",
        True,
        True,
    )


def test_message_from_stdin() -> None:
    command = parse_command(["demo", "-m", "-"], ENV, stdin_text=lambda: "what is 2+2?\n")
    assert isinstance(command, DemoCommand)
    assert command.session.message == "what is 2+2?\n"


def test_empty_message_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="empty"):
        chat("-m", "   ")


def test_url_must_be_http() -> None:
    with pytest.raises(UsageError, match="http://"):
        parse_command(["chat", "ftp://h/x?token=abc"], ENV)


def test_serve_defaults() -> None:
    assert parse_command(["serve"], ENV) == ServeCommand(host="127.0.0.1", port=8000)
    assert parse_command(["serve", "--port", "0", "--delay", "0.5"], ENV) == ServeCommand(
        port=0, delay=0.5
    )


def test_argparse_errors_exit_with_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        parse_command(["chat"], ENV)
    assert info.value.code == 2
    assert "URL" in capsys.readouterr().err
