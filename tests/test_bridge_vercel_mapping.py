"""The Vercel chunk mapping, both ways, on the chunk types the real servers in the other
bridge tests do not send (AI SDK 6/7 additions, errors, data parts): pure logic, so
the chunks are fed as bytes to the bridge's decoder and the events to the processor.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chatconduit._bridges._decoding import ChunkDecoder
from chatconduit._bridges._vercel_chunks import VercelChunkEncoder
from chatconduit._bridges._vercel_events import VercelChunkMapper
from chatconduit._messages import TextPart, ThinkingPart, ToolCallPart
from chatconduit._processor import StreamProcessor
from chatconduit.events import Event, event_to_dict


def sse(chunks: list[dict[str, Any]], done: bool = True) -> bytes:
    body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return (body + ("data: [DONE]\n\n" if done else "")).encode()


def decode(data: bytes, step: int = 0) -> list[Event]:
    decoder = ChunkDecoder(
        VercelChunkMapper(thread_id="t", run_id="r"), what="chunk", max_frame_bytes=1 << 20
    )
    out: list[Event] = []
    step = step or len(data)
    for start in range(0, len(data), step):
        out += [event for event, _ in decoder.iter_feed(data[start : start + step])]
        decoder.check()
    out += [event for event, _ in decoder.finish()]
    return out


def types(events: list[Event]) -> list[str]:
    return [str(e.type) for e in events]


def test_tool_errors_denials_and_v7_chunks() -> None:
    events = decode(
        sse(
            [
                {"type": "start", "messageId": "m1", "messageMetadata": {"model": "x"}},
                {
                    "type": "tool-input-error",
                    "toolCallId": "a",
                    "toolName": "f",
                    "input": {"x": 1},
                    "errorText": "bad input",
                },
                {"type": "tool-input-available", "toolCallId": "b", "toolName": "g", "input": {}},
                {"type": "tool-output-error", "toolCallId": "b", "errorText": "boom"},
                {"type": "tool-input-available", "toolCallId": "c", "toolName": "h", "input": {}},
                {"type": "tool-approval-request", "approvalId": "ap1", "toolCallId": "c"},
                {"type": "tool-approval-response", "approvalId": "ap1", "approved": False},
                {"type": "tool-output-denied", "toolCallId": "c"},
                {"type": "data-weather", "id": "d1", "data": {"temp": 21}},
                {"type": "source-url", "sourceId": "s", "url": "https://example.com"},
                {
                    "type": "reasoning-file",
                    "url": "https://example.com/f",
                    "mediaType": "image/png",
                },
                {"type": "custom", "kind": "acme.trace"},
                {"type": "reset-step"},
                {"type": "finish", "finishReason": "tool-calls"},
            ]
        ),
        step=5,
    )
    dicts = [event_to_dict(e) for e in events]
    results = {
        d["toolCallId"]: json.loads(d["content"]) for d in dicts if d["type"] == "TOOL_CALL_RESULT"
    }
    assert results == {
        "a": {"error": "bad input"},
        "b": {"error": "boom"},
        "c": {"error": "denied"},
    }
    customs = [(d["name"], d["value"]) for d in dicts if d["type"] == "CUSTOM"]
    assert customs[0] == ("message-metadata", {"model": "x"})
    assert ("data-weather", {"temp": 21}) in customs
    approval = next(v for n, v in customs if n == "approval-requested")
    assert approval["toolCallId"] == "c" and approval["approval"]["id"] == "ap1"
    assert approval["toolName"] == "h"
    names = [n for n, _ in customs]
    for kind in ("tool-approval-response", "source-url", "reasoning-file", "custom", "reset-step"):
        assert kind in names
    assert dicts[-1]["type"] == "RUN_FINISHED" and dicts[-1]["finishReason"] == "tool_calls"
    assert dicts[0]["type"] == "RUN_STARTED" and dicts[0]["threadId"] == "t"


@pytest.mark.parametrize(
    ("chunk", "message", "code"),
    [
        ({"type": "error", "errorText": "rate limited"}, "rate limited", None),
        (
            {"type": "abort", "reason": "user stop"},
            "the server aborted the stream: user stop",
            "abort",
        ),
    ],
)
def test_error_and_abort_are_run_errors(chunk: dict[str, Any], message: str, code: Any) -> None:
    events = decode(
        sse(
            [
                {"type": "start"},
                {"type": "text-start", "id": "1"},
                {"type": "text-delta", "id": "1", "delta": "Hi"},
                chunk,
            ]
        )
    )
    last = event_to_dict(events[-1])
    assert last["type"] == "RUN_ERROR" and last["message"] == message
    assert last.get("code") == code
    assert "TEXT_MESSAGE_END" in types(events)  # the open text is closed first


def test_ai_sdk_5_finish_without_reason() -> None:
    events = decode(
        sse(
            [
                {"type": "start"},
                {"type": "tool-input-available", "toolCallId": "x", "toolName": "f", "input": {}},
                {"type": "finish"},
            ]
        )
    )
    assert event_to_dict(events[-1])["finishReason"] == "tool_calls"
    events = decode(sse([{"type": "start"}, {"type": "finish"}]))
    assert event_to_dict(events[-1])["finishReason"] == "stop"


def test_not_json_is_a_malformed_chunk() -> None:
    from chatconduit import MalformedEventError

    with pytest.raises(MalformedEventError, match="chunk is not valid JSON"):
        decode(b'data: {"type":"start"}\n\ndata: {oops\n\n')


def test_events_to_chunks_to_events_round_trip() -> None:
    """Our encoder's chunks, read back by our mapper, give the same message."""
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "STEP_STARTED", "stepName": "s", "stepId": "s", "stepType": "thinking"},
        {"type": "STEP_FINISHED", "stepName": "s", "stepId": "s", "delta": "hmm", "content": "hmm"},
        {"type": "TEXT_MESSAGE_START", "messageId": "m", "role": "assistant"},
        {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": "Hello"},
        {"type": "TEXT_MESSAGE_END", "messageId": "m"},
        {"type": "TOOL_CALL_START", "toolCallId": "c1", "toolCallName": "calc"},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": '{"x":'},
        {"type": "TOOL_CALL_ARGS", "toolCallId": "c1", "delta": " 2}"},
        {"type": "TOOL_CALL_END", "toolCallId": "c1"},
        {"type": "TOOL_CALL_RESULT", "toolCallId": "c1", "messageId": "r1", "content": '{"y": 4}'},
        {"type": "CUSTOM", "name": "progress", "value": {"done": 1}},
        {"type": "RUN_FINISHED", "threadId": "t", "runId": "r", "finishReason": "stop"},
    ]
    encoder = VercelChunkEncoder()
    chunks = [c for e in events for c in encoder.encode(e)] + encoder.end()
    kinds = [c["type"] for c in chunks]
    assert kinds[:3] == ["start", "start-step", "reasoning-start"]
    assert kinds[-2:] == ["finish-step", "finish"] and chunks[-1]["finishReason"] == "stop"
    assert {"type": "data-progress", "data": {"done": 1}} in chunks
    available = next(c for c in chunks if c["type"] == "tool-input-available")
    assert available["input"] == {"x": 2}

    processor = StreamProcessor()
    for event in decode(sse(chunks), step=3):
        processor.process(event)
    processor.finalize_stream()
    reply = processor.messages[-1]
    assert [p.content for p in reply.parts if isinstance(p, ThinkingPart)] == ["hmm"]
    assert [p.content for p in reply.parts if isinstance(p, TextPart)] == ["Hello"]
    call = next(p for p in reply.parts if isinstance(p, ToolCallPart))
    assert (call.name, json.loads(call.arguments), call.output) == ("calc", {"x": 2}, {"y": 4})


def test_an_interrupt_outcome_becomes_an_approval_request() -> None:
    encoder = VercelChunkEncoder()
    events: list[dict[str, Any]] = [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "TOOL_CALL_START", "toolCallId": "c", "toolCallName": "delete_file"},
        {"type": "TOOL_CALL_END", "toolCallId": "c", "input": {"path": "x"}},
        {
            "type": "RUN_FINISHED",
            "threadId": "t",
            "runId": "r",
            "outcome": {
                "type": "interrupt",
                "interrupts": [{"id": "approval_c", "reason": "tool_call", "toolCallId": "c"}],
            },
        },
    ]
    chunks = [c for e in events for c in encoder.encode(e)] + encoder.end()
    assert {
        "type": "tool-approval-request",
        "approvalId": "approval_c",
        "toolCallId": "c",
    } in chunks
