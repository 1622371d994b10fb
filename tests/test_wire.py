"""The POST body: UIMessages → AG-UI RunAgentInput bytes, checked against the reference.

The fixture tests rebuild each body the real JS client sent from its inputs and
demand the exact bytes. The ``interop`` tests feed a few hundred generated
conversations to the real ``uiMessagesToWire`` / ``convertMessagesToModelMessages``
of ``@tanstack/ai@0.18.0`` under Node and compare outputs byte for byte.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from chatconduit import (
    DataSource,
    ImagePart,
    ModelMessage,
    TextPart,
    ThinkingPart,
    ToolCallApproval,
    ToolCallPart,
    ToolResultPart,
    ToolSpec,
    UIMessage,
    build_run_agent_input,
    encode_run_agent_input,
    message_from_dict,
)
from chatconduit._json import dumps, dumps_bytes
from chatconduit._run_input import (
    convert_messages_to_model_messages,
    generate_run_id,
    reasoning_hash,
    ui_messages_to_wire,
)
from interop.node import interop_dir, require_node_modules
from node_processes import node_executable

WIRE_ONLY_KEYS = ("content", "toolCalls")


def _load_body(path: Path) -> tuple[bytes, dict[str, Any]]:
    raw = path.read_bytes()
    return raw, json.loads(raw)


def _ui_messages_from_wire(wire: list[dict[str, Any]]) -> list[UIMessage]:
    """The UIMessages behind a wire list: anchors minus the mirror keys; fan-outs dropped."""
    return [
        message_from_dict({k: v for k, v in m.items() if k not in WIRE_ONLY_KEYS})
        for m in wire
        if "parts" in m
    ]


REQUEST_FIXTURES = sorted(
    (Path(__file__).parent / "fixtures" / "tanstack-0.10" / "requests").glob("*.body.json")
)


@pytest.mark.parametrize("path", REQUEST_FIXTURES, ids=lambda p: p.name.removesuffix(".body.json"))
def test_fixture_bodies_are_reproduced_byte_for_byte(path: Path) -> None:
    raw, body = _load_body(path)
    messages = _ui_messages_from_wire(body["messages"])
    tools = [ToolSpec(t["name"], t["description"], t["parameters"]) for t in body["tools"]]
    assert body["forwardedProps"] == body["data"]
    encoded = encode_run_agent_input(
        messages,
        thread_id=body["threadId"],
        run_id=body["runId"],
        tools=tools,
        forwarded_props=body["forwardedProps"],
    )
    assert encoded == raw


def test_merge_fixture_from_three_sources(fixtures_dir: Path) -> None:
    """One split of the merge fixture's props over adapter body, run context and data.

    Values come from the highest-precedence source, key order from first insertion.
    """
    raw, body = _load_body(fixtures_dir / "requests" / "sse-tools-and-body-merge.body.json")
    encoded = encode_run_agent_input(
        _ui_messages_from_wire(body["messages"]),
        thread_id="thread-fixed",
        run_id=body["runId"],
        tools=[
            ToolSpec.from_schema("get_time", "Get the current time", body["tools"][0]["parameters"])
        ],
        adapter_body={"a": 1, "shared": "adapter-body"},
        forwarded_props={"shared": "client-forwardedProps", "b": 2, "c": 3},
        data={"shared": "sendMessage-body", "d": 4},
    )
    assert encoded == raw


def test_fixture_reasoning_id_is_the_content_hash(fixtures_dir: Path) -> None:
    _, body = _load_body(fixtures_dir / "requests" / "sse-second-turn-after-thinking.body.json")
    reasoning = [m for m in body["messages"] if m["role"] == "reasoning"]
    assert len(reasoning) == 1
    anchor = next(m for m in body["messages"] if m["role"] == "assistant")
    thinking = anchor["parts"][0]
    assert thinking["type"] == "thinking" and "stepId" in thinking  # stepId is not the suffix
    prefix = f"{anchor['id']}-reasoning-"
    assert reasoning[0]["id"].startswith(prefix)
    assert reasoning[0]["id"].removeprefix(prefix) == reasoning_hash(thinking["content"])
    assert reasoning[0]["content"] == thinking["content"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "0"),
        ("pondering", "na6ou8"),
        ("hmm", "27t4"),  # reference §1.5's example id a1-reasoning-27t4
        ("polygenelubricants", "zik0zk"),  # hash is INT_MIN: abs() leaves 2**31
        ("a", "2p"),
    ],
)
def test_reasoning_hash_examples(text: str, expected: str) -> None:
    assert reasoning_hash(text) == expected


def test_reasoning_hash_counts_utf16_units() -> None:
    # An astral character is two UTF-16 units (a surrogate pair), not one code point.
    expected = 0xD83E * 31 + 0xDD14
    assert int(reasoning_hash("🤔"), 36) == expected
    assert int(reasoning_hash("🤔"), 36) != 0x1F914
    assert reasoning_hash("🤔") == reasoning_hash("\ud83e\udd14")


# --------------------------------------------------------------------------- wire rules


def _user(parts: list[Any], **extra: Any) -> UIMessage:
    return UIMessage(id="u1", role="user", parts=parts, **extra)


def test_user_message_gets_joined_text_and_keeps_parts() -> None:
    wire = ui_messages_to_wire(
        [_user([TextPart(content="Hello "), TextPart(content="world", metadata={"m": 1})])]
    )
    assert wire == [
        {
            "id": "u1",
            "role": "user",
            "parts": [
                {"type": "text", "content": "Hello "},
                {"type": "text", "content": "world", "metadata": {"m": 1}},
            ],
            "content": "Hello world",
        }
    ]


def test_user_message_with_media_gets_content_array() -> None:
    image = ImagePart(source=DataSource(value="aGk=", mime_type="image/png"), metadata={"d": 1})
    msg = _user([TextPart(content="look"), image, ThinkingPart(content="skipped")])
    [entry] = ui_messages_to_wire([msg])
    assert entry["content"] == [
        {"type": "text", "text": "look"},
        {
            "type": "image",
            "source": {"type": "data", "value": "aGk=", "mimeType": "image/png"},
            "metadata": {"d": 1},
        },
    ]
    assert len(entry["parts"]) == 3


def test_empty_parts_fall_back_to_own_content_or_empty_string() -> None:
    wire = ui_messages_to_wire(
        [
            UIMessage(id="u", role="user"),
            UIMessage(id="s", role="system"),
            {"id": "s2", "role": "system", "content": "be brief"},
            {"id": "u2", "role": "user", "content": None, "parts": []},
        ]
    )
    assert [w["content"] for w in wire] == ["", "", "be brief", ""]
    assert list(wire[3]) == ["id", "role", "content", "parts"]  # existing key keeps its place


def test_system_message_gets_string_content() -> None:
    msg = UIMessage(id="s", role="system", parts=[TextPart(content="a"), TextPart(content="b")])
    assert ui_messages_to_wire([msg])[0]["content"] == "ab"


def test_assistant_fan_out_order_and_anchor_mirror() -> None:
    created = datetime(2026, 11, 24, 0, 30, 3, 856000, tzinfo=UTC)
    msg = UIMessage(
        id="a1",
        role="assistant",
        created_at=created,
        parts=[
            ThinkingPart(content="hmm", step_id="step-1"),
            TextPart(content="Let me check."),
            ToolCallPart(
                id="tc1",
                name="getLoc",
                arguments='{"q":"x"}',
                state="input-complete",
                output={"city": "Paris"},
            ),
            ToolCallPart(id="tc2", name="other", arguments="{", state="input-streaming"),
            ToolResultPart(tool_call_id="tc1", content='{"city":"Paris"}'),
            ToolResultPart(tool_call_id="tc2", content="no", state="error", error="denied"),
        ],
    )
    wire = ui_messages_to_wire([msg])
    assert [w["role"] for w in wire] == ["reasoning", "assistant", "tool", "tool"]
    assert wire[0] == {"role": "reasoning", "id": "a1-reasoning-27t4", "content": "hmm"}
    anchor = wire[1]
    assert list(anchor) == ["id", "role", "parts", "createdAt", "content", "toolCalls"]
    assert anchor["createdAt"] == "2026-11-24T00:30:03.856Z"
    assert anchor["content"] == "Let me check."
    assert anchor["toolCalls"] == [
        {"id": "tc1", "type": "function", "function": {"name": "getLoc", "arguments": '{"q":"x"}'}},
        {"id": "tc2", "type": "function", "function": {"name": "other", "arguments": "{"}},
    ]
    assert anchor["parts"][2]["output"] == {"city": "Paris"}
    assert wire[2] == {
        "role": "tool",
        "id": "tool-tc1",
        "toolCallId": "tc1",
        "content": '{"city":"Paris"}',
    }
    assert wire[3] == {
        "role": "tool",
        "id": "tool-tc2",
        "toolCallId": "tc2",
        "content": "no",
        "error": "denied",
    }


def test_assistant_anchor_omits_empty_content_and_tool_calls() -> None:
    bare = ui_messages_to_wire([UIMessage(id="a", role="assistant", parts=[TextPart(content="")])])
    assert bare == [{"id": "a", "role": "assistant", "parts": [{"type": "text", "content": ""}]}]
    only_call = ui_messages_to_wire(
        [UIMessage(id="a", role="assistant", parts=[ToolCallPart(id="t", name="n")])]
    )
    assert "content" not in only_call[0]
    assert len(only_call[0]["toolCalls"]) == 1


def test_thinking_part_id_wins_over_hash_and_approval_survives() -> None:
    thinking = ThinkingPart.model_validate({"type": "thinking", "content": "x", "id": "r7"})
    call = ToolCallPart(
        id="t",
        name="n",
        state="approval-responded",
        approval=ToolCallApproval(id="ap", approved=True),
        metadata={"p": 1},
    )
    wire = ui_messages_to_wire([UIMessage(id="a", role="assistant", parts=[thinking, call])])
    assert wire[0]["id"] == "a-reasoning-r7"
    assert wire[1]["parts"][1] == {
        "type": "tool-call",
        "id": "t",
        "name": "n",
        "arguments": "",
        "state": "approval-responded",
        "approval": {"id": "ap", "needsApproval": True, "approved": True},
        "metadata": {"p": 1},
    }


def test_model_message_shaped_input_passes_through() -> None:
    wire = ui_messages_to_wire(
        [
            ModelMessage(role="tool", content="r", tool_call_id="t"),
            {"role": "assistant", "content": "kept"},
        ]
    )
    assert wire == [
        {"role": "tool", "content": "r", "toolCallId": "t"},
        {"role": "assistant", "content": "kept"},
    ]


def test_a_non_message_is_a_type_error_naming_its_index() -> None:
    with pytest.raises(TypeError, match=r"messages\[1\] must be a UIMessage"):
        ui_messages_to_wire([UIMessage(id="a", role="user"), 42])  # type: ignore[list-item]


# --------------------------------------------------------------------------- body


def test_body_key_order_and_constants() -> None:
    body = build_run_agent_input([_user([TextPart(content="hi")])], thread_id="t", run_id="r")
    assert list(body) == [
        "threadId",
        "runId",
        "state",
        "messages",
        "tools",
        "context",
        "forwardedProps",
        "data",
    ]
    assert body["state"] == {} and body["context"] == [] and body["tools"] == []
    assert body["forwardedProps"] == {} and body["data"] == {}


def test_parent_run_id_only_when_given_right_after_run_id() -> None:
    body = build_run_agent_input([], thread_id="t", run_id="r", parent_run_id="p")
    assert list(body)[:4] == ["threadId", "runId", "parentRunId", "state"]
    assert body["parentRunId"] == "p"
    assert "parentRunId" not in build_run_agent_input([], thread_id="t", run_id="r")


def test_missing_ids_are_generated_like_the_reference() -> None:
    first = build_run_agent_input([])
    second = build_run_agent_input([])
    assert re.fullmatch(r"thread-\d{13}-[0-9a-z]{6}", first["threadId"])
    assert re.fullmatch(r"run-\d{13}-[0-9a-z]{6}", first["runId"])
    assert first["runId"] != second["runId"]
    assert re.fullmatch(r"msg-\d{13}-[0-9a-z]{6}", generate_run_id("msg"))


def test_forwarded_props_precedence_matches_the_reference_experiment() -> None:
    # ChatClient merges body < forwardedProps < per-message body and hands the
    # result to the adapter both as run-context forwardedProps and as data.
    client_merged = {
        **{"shared": "body", "b": "body"},
        **{"shared": "fp", "f": "fp"},
        **{"shared": "per-msg", "p": 1},
    }
    body = build_run_agent_input(
        [],
        thread_id="t",
        run_id="r",
        adapter_body={"a": "adapter", "shared": "adapter"},
        forwarded_props=client_merged,
        data=client_merged,
    )
    expected = '{"a":"adapter","shared":"per-msg","b":"body","f":"fp","p":1}'
    assert dumps(body["forwardedProps"]) == expected
    assert dumps(body["data"]) == expected


def test_data_is_a_separate_copy_of_forwarded_props() -> None:
    source = {"x": 1}
    body = build_run_agent_input([], thread_id="t", run_id="r", data=source)
    assert body["data"] == body["forwardedProps"] == {"x": 1}
    body["data"]["y"] = 2
    assert body["forwardedProps"] == {"x": 1}
    assert source == {"x": 1}


def test_forwarded_props_values_are_serialised_like_json_stringify() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    raw = encode_run_agent_input([], thread_id="t", run_id="r", data={"when": when, "n": None})
    assert raw.endswith(
        b'"forwardedProps":{"when":"2026-01-01T00:00:00.000Z","n":null},'
        b'"data":{"when":"2026-01-01T00:00:00.000Z","n":null}}'
    )


class _Args(BaseModel):
    city: str
    days: int = 1


def test_tool_advertisements() -> None:
    tools: list[Any] = [
        ToolSpec("bare", "No schema"),
        ToolSpec.from_schema("typed", "From a model", _Args),
        ToolSpec.from_schema("plain", "JSON schema", {"type": "object", "properties": {}}),
        ToolSpec("nodesc"),
        {"name": "raw", "description": "a mapping", "parameters": {"type": "string"}},
    ]
    body = build_run_agent_input([], thread_id="t", run_id="r", tools=tools)
    bare, typed, plain, nodesc, raw = body["tools"]
    assert bare == {"name": "bare", "description": "No schema", "parameters": {"type": "object"}}
    assert list(typed) == ["name", "description", "parameters"]
    assert typed["parameters"]["type"] == "object"
    assert typed["parameters"]["required"] == ["city"]
    assert set(typed["parameters"]["properties"]) == {"city", "days"}
    assert "$schema" not in typed["parameters"]
    assert plain["parameters"] == {"type": "object", "properties": {}}  # passed through as is
    assert nodesc == {"name": "nodesc", "parameters": {"type": "object"}}
    assert raw == tools[4]


def test_tool_schema_of_wrong_type_is_rejected() -> None:
    with pytest.raises(TypeError, match="tool 'x': schema must be"):
        ToolSpec.from_schema("x", "d", 42)  # type: ignore[arg-type]


def test_encode_equals_dumps_of_build() -> None:
    msgs = [_user([TextPart(content="Zürich 👋 \u2028")])]
    body = build_run_agent_input(msgs, thread_id="t", run_id="r")
    assert encode_run_agent_input(msgs, thread_id="t", run_id="r") == dumps_bytes(body)
    assert "Zürich 👋 \u2028".encode() in dumps_bytes(body)


# --------------------------------------------------------------------------- vs the reference


def _random_text(rng: random.Random) -> str:
    alphabet = ["a", "b", " ", "Z", "ü", "…", "🤔", "👩\u200d👧", '"', "\\", "\n", "\u2028", "日"]
    if rng.random() < 0.05:
        alphabet.append("\ud800")  # a lone surrogate: JS strings can hold one
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def _random_part(rng: random.Random, role: str) -> dict[str, Any]:
    kinds = ["text", "text", "image", "audio", "video", "document"]
    if role == "assistant":
        kinds += ["thinking", "thinking", "tool-call", "tool-call", "tool-result"]
    kind = rng.choice(kinds)
    if kind == "text":
        part: dict[str, Any] = {"type": "text", "content": _random_text(rng)}
        if rng.random() < 0.3:
            part["metadata"] = {"k": rng.randint(0, 9)}
        return part
    if kind == "thinking":
        part = {"type": "thinking", "content": _random_text(rng)}
        if rng.random() < 0.5:
            part["stepId"] = f"step-{rng.randint(0, 9)}"
        if rng.random() < 0.2:
            part["signature"] = "sig"
        if rng.random() < 0.2:
            part["id"] = f"r{rng.randint(0, 99)}"
        return part
    if kind == "tool-call":
        part = {
            "type": "tool-call",
            "id": f"tc{rng.randint(0, 5)}",
            "name": rng.choice(["get_weather", "getLoc"]),
            "arguments": rng.choice(["", "{", '{"q":"x"}', '{"city": "Zürich"}']),
            "state": rng.choice(
                [
                    "awaiting-input",
                    "input-streaming",
                    "input-complete",
                    "approval-requested",
                    "approval-responded",
                ]
            ),
        }
        # keys in the order the reference's updateToolCallPart writes them
        if rng.random() < 0.4:
            approval: dict[str, Any] = {"id": "ap", "needsApproval": True}
            if rng.random() < 0.7:
                approval["approved"] = rng.random() < 0.5
            part["approval"] = approval
        roll = rng.random()
        if roll < 0.3:
            part["output"] = {"temperature": 21, "condition": "sunny ☀️"}
        elif roll < 0.4:
            part["output"] = None
        elif roll < 0.5:
            part["output"] = "plain"
        if rng.random() < 0.3:
            part["metadata"] = {"provider": "p"}
        return part
    if kind == "tool-result":
        part = {
            "type": "tool-result",
            "toolCallId": f"tc{rng.randint(0, 5)}",
            "content": _random_text(rng),
            "state": rng.choice(["complete", "error", "streaming"]),
        }
        if rng.random() < 0.3:
            part["error"] = "failed"
        return part
    source: dict[str, Any]
    if rng.random() < 0.5:
        source = {"type": "data", "value": "aGk=", "mimeType": f"{kind}/x"}
    else:
        source = {"type": "url", "value": "https://example.test/f"}
        if rng.random() < 0.5:
            source["mimeType"] = f"{kind}/y"
    part = {"type": kind, "source": source}
    if rng.random() < 0.3:
        part["metadata"] = {"detail": "low"}
    return part


def random_conversation(rng: random.Random, n: int) -> list[dict[str, Any]]:
    """UIMessage dicts as the JS client holds them (JSON form), varied on purpose."""
    messages = []
    for i in range(n):
        role = rng.choice(["user", "assistant", "assistant", "system"])
        msg: dict[str, Any] = {
            "id": f"m{i}",
            "role": role,
            "parts": [_random_part(rng, role) for _ in range(rng.choice([0, 1, 2, 3, 5]))],
        }
        if rng.random() < 0.7:
            msg["createdAt"] = f"2026-11-24T00:34:{rng.randint(10, 59)}.{rng.randint(0, 999):03d}Z"
        messages.append(msg)
    return messages


_REFERENCE_SCRIPT = """
import { pathToFileURL } from 'node:url';
const ai = await import(pathToFileURL(process.argv[2]).href);
let input = '';
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const revive = (m) => (m.createdAt ? { ...m, createdAt: new Date(m.createdAt) } : m);
const out = cases.map((messages) => ({
  wire: JSON.stringify(ai.uiMessagesToWire(messages.map(revive))),
  model: JSON.stringify(ai.convertMessagesToModelMessages(messages.map(revive))),
}));
process.stdout.write(JSON.stringify(out));
"""


def run_reference(cases: list[list[dict[str, Any]]], tmp_path: Path) -> list[dict[str, str]]:
    require_node_modules()
    script = tmp_path / "wire_reference.mjs"
    script.write_text(_REFERENCE_SCRIPT, encoding="utf-8")
    entry = interop_dir() / "node_modules" / "@tanstack" / "ai" / "dist" / "esm" / "index.js"
    done = subprocess.run(
        [str(node_executable()), str(script), str(entry)],
        input=json.dumps(cases).encode("ascii"),  # \\u escapes keep lone surrogates intact
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    result: list[dict[str, str]] = json.loads(done.stdout)
    return result


@pytest.mark.interop
def test_wire_and_model_messages_match_the_reference(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    cases = [random_conversation(rng, rng.randint(1, 6)) for _ in range(400)]
    expected = run_reference(cases, tmp_path)
    assert len(expected) == len(cases)
    for index, (messages, reference) in enumerate(zip(cases, expected, strict=True)):
        # From plain dicts, and from our models: both must give the reference's bytes.
        models = [message_from_dict(m) for m in messages]
        assert dumps(ui_messages_to_wire(messages)) == reference["wire"], index
        assert dumps(ui_messages_to_wire(models)) == reference["wire"], index
        ours = [m.to_dict() for m in convert_messages_to_model_messages(models)]
        assert dumps(ours) == reference["model"], index
