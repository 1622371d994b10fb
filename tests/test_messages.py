"""UIMessage / part / ModelMessage models and their camelCase JSON shape."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chatconduit import (
    AudioPart,
    DataSource,
    DocumentPart,
    ImagePart,
    MessageValidationError,
    ModelMessage,
    TextPart,
    ThinkingPart,
    ToolCallApproval,
    ToolCallPart,
    ToolResultPart,
    UIMessage,
    UrlSource,
    VideoPart,
    message_from_dict,
    message_to_dict,
)
from chatconduit._json import dumps
from chatconduit._messages import (
    ModelToolCall,
    ModelToolCallFunction,
    format_js_date,
    model_message_from_dict,
    part_from_dict,
    part_to_dict,
)


def _fixture_ui_messages(fixtures_dir: Path) -> list[dict[str, Any]]:
    """Every parts-bearing message the real client POSTed, minus the wire-only mirror keys."""
    found = []
    for path in sorted((fixtures_dir / "requests").glob("*.body.json")):
        for msg in json.loads(path.read_bytes())["messages"]:
            if "parts" in msg:
                found.append({k: v for k, v in msg.items() if k not in ("content", "toolCalls")})
    return found


def test_fixture_messages_round_trip_with_key_order(fixtures_dir: Path) -> None:
    messages = _fixture_ui_messages(fixtures_dir)
    assert len(messages) == 9
    for raw in messages:
        parsed = message_from_dict(raw)
        assert isinstance(parsed.created_at, datetime)
        # dumps keeps key order, so equal text means equal keys, values and order.
        assert dumps(message_to_dict(parsed)) == dumps(raw)


def test_fixture_part_types_become_their_classes(fixtures_dir: Path) -> None:
    kinds = {
        type(part)
        for raw in _fixture_ui_messages(fixtures_dir)
        for part in message_from_dict(raw).parts
    }
    assert kinds == {TextPart, ThinkingPart, ToolCallPart, ToolResultPart}


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "text", "content": "hi", "metadata": {"k": [1, None]}},
        {"type": "thinking", "content": "hmm", "stepId": "s1", "signature": "sig"},
        {
            "type": "tool-call",
            "id": "tc1",
            "name": "getLoc",
            "arguments": '{"q":',
            "state": "approval-requested",
            "approval": {"id": "ap1", "needsApproval": True, "approved": False},
            "output": {"city": "Paris"},
            "metadata": {"provider": "x"},
        },
        {
            "type": "tool-result",
            "toolCallId": "tc1",
            "content": "boom",
            "state": "error",
            "error": "boom",
        },
        {"type": "image", "source": {"type": "data", "value": "aGk=", "mimeType": "image/png"}},
        {"type": "audio", "source": {"type": "url", "value": "https://x/a.mp3"}},
        {
            "type": "video",
            "source": {"type": "url", "value": "https://x/v", "mimeType": "video/mp4"},
            "metadata": {"detail": "low"},
        },
        {"type": "document", "source": {"type": "data", "value": "JVBE", "mimeType": "a/pdf"}},
    ],
    ids=lambda raw: raw["type"],
)
def test_every_part_type_round_trips(raw: dict[str, Any]) -> None:
    part = part_from_dict(raw)
    assert part.type == raw["type"]
    assert dumps(part_to_dict(part)) == dumps(raw)


def test_part_classes_by_type() -> None:
    cases = {
        "image": ImagePart,
        "audio": AudioPart,
        "video": VideoPart,
        "document": DocumentPart,
    }
    for kind, cls in cases.items():
        part = part_from_dict({"type": kind, "source": {"type": "url", "value": "u"}})
        assert type(part) is cls
        assert isinstance(part, ImagePart | AudioPart | VideoPart | DocumentPart)
        assert isinstance(part.source, UrlSource)


def test_unknown_keys_survive_after_declared_ones() -> None:
    raw = {"type": "text", "extraFromServer": {"a": 1}, "content": "x"}
    part = part_from_dict(raw)
    assert part_to_dict(part) == {"type": "text", "content": "x", "extraFromServer": {"a": 1}}
    msg = message_from_dict({"id": "m", "role": "user", "parts": [], "custom": True})
    assert message_to_dict(msg) == {"id": "m", "role": "user", "parts": [], "custom": True}


def test_absent_optionals_are_omitted_and_none_means_absent() -> None:
    part = ToolCallPart(id="tc", name="n", approval=None, metadata=None)
    assert part_to_dict(part) == {
        "type": "tool-call",
        "id": "tc",
        "name": "n",
        "arguments": "",
        "state": "awaiting-input",
    }
    assert part_to_dict(ThinkingPart(content="c")) == {"type": "thinking", "content": "c"}
    assert part_to_dict(ToolResultPart(tool_call_id="t", content="")) == {
        "type": "tool-result",
        "toolCallId": "t",
        "content": "",
        "state": "complete",
    }
    approval = ToolCallApproval(id="a")
    assert approval.to_dict() == {"id": "a", "needsApproval": True}


def test_tool_call_output_absent_is_not_output_null() -> None:
    part = ToolCallPart(id="tc", name="n")
    assert not part.has_output
    assert "output" not in part_to_dict(part)

    part.set_output(None)
    assert part.has_output
    assert part_to_dict(part)["output"] is None
    assert dumps(part_to_dict(part)).endswith(',"output":null}')

    part.clear_output()
    assert not part.has_output
    assert "output" not in part_to_dict(part)

    part.output = 0  # a plain attribute write counts as setting it
    assert part.has_output
    assert part_to_dict(part)["output"] == 0


def test_parsed_output_null_and_absent_stay_distinct() -> None:
    base = {
        "type": "tool-call",
        "id": "t",
        "name": "n",
        "arguments": "{}",
        "state": "input-complete",
    }
    with_null = part_from_dict({**base, "output": None})
    without = part_from_dict(base)
    assert isinstance(with_null, ToolCallPart) and isinstance(without, ToolCallPart)
    assert with_null.has_output and not without.has_output
    assert part_to_dict(with_null) == {**base, "output": None}
    assert part_to_dict(without) == base


def test_in_place_mutation_is_a_plain_store() -> None:
    part = TextPart(content="")
    text = "x" * 1000
    part.content = text
    assert part.content is text  # no validation copy on assignment
    assert not TextPart.model_config.get("validate_assignment")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 24, 0, 30, 3, 856000, tzinfo=UTC), "2026-11-24T00:30:03.856Z"),
        (datetime(2026, 11, 24, 0, 30, 3, 856999, tzinfo=UTC), "2026-11-24T00:30:03.856Z"),
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05.000Z"),
        (
            datetime(2026, 11, 24, 2, 0, 0, 5000, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-24T00:00:00.005Z",
        ),
        (datetime(2026, 11, 24, 0, 0, 0), "2026-11-24T00:00:00.000Z"),  # naive = UTC
        (datetime(999, 1, 1, tzinfo=UTC), "0999-01-01T00:00:00.000Z"),
    ],
)
def test_created_at_is_written_like_js_date_to_json(value: datetime, expected: str) -> None:
    assert format_js_date(value) == expected
    msg = UIMessage(id="m", role="user", created_at=value)
    assert message_to_dict(msg) == {"id": "m", "role": "user", "parts": [], "createdAt": expected}


def test_created_at_absent_is_omitted_and_parsed_dates_are_utc() -> None:
    assert message_to_dict(UIMessage(id="m", role="assistant")) == {
        "id": "m",
        "role": "assistant",
        "parts": [],
    }
    parsed = message_from_dict({"id": "m", "role": "user", "createdAt": "2026-11-24T00:34:35.046Z"})
    assert parsed.created_at == datetime(2026, 11, 24, 0, 34, 35, 46000, tzinfo=UTC)


def test_snake_case_and_camel_case_both_populate() -> None:
    a = part_from_dict({"type": "tool-result", "toolCallId": "t", "content": "c"})
    b = part_from_dict({"type": "tool-result", "tool_call_id": "t", "content": "c"})
    assert part_to_dict(a) == part_to_dict(b)
    src = DataSource(value="x", mime_type="image/png")
    assert src.to_dict() == {"type": "data", "value": "x", "mimeType": "image/png"}


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ({"id": "m", "role": "bot"}, "message.role", "'system', 'user' or 'assistant'"),
        ({"role": "user"}, "message.id", "required"),
        ({"id": "m", "role": "user", "parts": "x"}, "message.parts", "list"),
        # An unknown part type is kept (UnknownPart, see below); a part without a string
        # ``type`` is still refused.
        ({"id": "m", "role": "user", "parts": [{"type": 5}]}, "message.parts[0]", "'type'"),
        (
            {
                "id": "m",
                "role": "user",
                "parts": [{"type": "text", "content": "a"}, {"type": "text"}],
            },
            "message.parts[1].content",
            "required",
        ),
        (
            {
                "id": "m",
                "role": "assistant",
                "parts": [{"type": "tool-call", "id": 1, "name": "n"}],
            },
            "message.parts[0].id",
            "string",
        ),
        (
            {
                "id": "m",
                "role": "user",
                "parts": [{"type": "image", "source": {"type": "data", "value": "x"}}],
            },
            "message.parts[0].source.mimeType",
            "required",
        ),
        (
            {
                "id": "m",
                "role": "assistant",
                "parts": [
                    {
                        "type": "tool-call",
                        "id": "t",
                        "name": "n",
                        "arguments": "",
                        "state": "done",
                    }
                ],
            },
            "message.parts[0].state",
            "input-complete",
        ),
        ({"id": "m", "role": "user", "createdAt": "yesterday"}, "message.createdAt", "datetime"),
    ],
)
def test_invalid_messages_name_the_path(raw: dict[str, Any], path: str, fragment: str) -> None:
    with pytest.raises(MessageValidationError) as info:
        message_from_dict(raw)
    assert isinstance(info.value, ValueError)
    paths = [loc for loc, _ in info.value.errors]
    assert path in paths, info.value.errors
    problem = dict(info.value.errors)[path]
    assert fragment in problem or fragment in str(info.value)
    assert path in str(info.value)


def test_validation_errors_do_not_echo_values() -> None:
    secret = "sk-live-0123456789abcdef"
    with pytest.raises(MessageValidationError) as info:
        message_from_dict(
            {"id": "m", "role": "user", "parts": [{"type": "text", "content": 7}], "x": secret}
        )
    with pytest.raises(MessageValidationError) as info2:
        part_from_dict({"type": "tool-call", "id": secret, "name": 5})
    assert secret not in str(info.value)
    assert secret not in str(info2.value)


def test_model_message_shape() -> None:
    assert ModelMessage(role="assistant").to_dict() == {"role": "assistant", "content": None}
    msg = ModelMessage(
        role="assistant",
        content="x",
        tool_calls=[
            ModelToolCall(id="t", function=ModelToolCallFunction(name="n", arguments="{}"))
        ],
    )
    assert dumps(msg.to_dict()) == (
        '{"role":"assistant","content":"x","toolCalls":'
        '[{"id":"t","type":"function","function":{"name":"n","arguments":"{}"}}]}'
    )
    tool = model_message_from_dict({"role": "tool", "content": "r", "toolCallId": "t", "id": "x"})
    assert tool.tool_call_id == "t"
    assert tool.to_dict() == {"role": "tool", "content": "r", "toolCallId": "t", "id": "x"}
    multimodal = model_message_from_dict(
        {
            "role": "user",
            "content": [
                {"type": "text", "content": "see"},
                {"type": "image", "source": {"type": "url", "value": "u"}},
            ],
        }
    )
    assert isinstance(multimodal.content, list)
    expected: list[type] = [TextPart, ImagePart]
    assert [type(p) for p in multimodal.content] == expected
    with pytest.raises(MessageValidationError) as info:
        model_message_from_dict({"role": "robot", "content": ""})
    assert info.value.errors[0][0] == "message.role"


def test_union_alternatives_report_one_json_path() -> None:
    # pydantic locates these at ('content', 'str') and ('content', 'list[...]')
    with pytest.raises(MessageValidationError) as info:
        model_message_from_dict({"role": "user", "content": {"a": 1}})
    assert info.value.errors == [
        ("message.content", "Input should be a valid string; or Input should be a valid list")
    ]
    with pytest.raises(MessageValidationError) as info:
        part_from_dict({"type": "tool-call", "id": "t", "name": "n", "approval": {"id": 3}})
    assert [loc for loc, _ in info.value.errors] == ["part.approval.id"]
