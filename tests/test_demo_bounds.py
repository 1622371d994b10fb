"""What one request may cost the demo server: bounded CPU on the event loop, bounded output.

The demo is often the first thing put on a network. Before these bounds a 24 KB
message froze the whole server for 16 s (a backtracking regex on the event loop)
and a 39 KiB message produced a 388 MiB response (the accumulated ``content``
repeated with every word). Every wait below is a generous bound on a hang, not a
speed measurement.
"""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from chatconduit._codec._sse import SSEDecoder
from chatconduit._run_input import parse_run_agent_input
from chatconduit.demo import CalculatorError, DemoAgent, _agent, _calculator, create_app, evaluate
from servers import RunningServer, serve

BODY = json.loads(
    (Path(__file__).parent / "fixtures/tanstack-0.10/requests/sse-first-turn.body.json").read_text()
)
MIB = 1024 * 1024
HANG = 10.0
PROMPT = 5.0  # a hang bound, not a speed claim: a normal chat takes ~10 ms, the old freeze 16 s+
BOUND = 512 * 1024  # what any demo answer may weigh, whatever the request


def body_with(
    text: str, *, run_id: str = "run-b", tools: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    parts = [{"type": "text", "content": text}]
    message = {"id": "u1", "role": "user", "parts": parts, "content": text}
    return {**BODY, "runId": run_id, "messages": [message], "tools": tools or []}


def sse_events(data: bytes) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [json.loads(m.data) for m in decoder.feed(data) + decoder.finish()]


@pytest.fixture(scope="module")
def demo() -> Iterator[RunningServer]:
    with serve(create_app(delay=0, heartbeat=0)) as srv:
        yield srv


async def bounded_post(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> bytes:
    """POST and read the answer, refusing to read more than BOUND bytes of it."""
    received = b""
    async with client.stream("POST", url, json=body) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            received += chunk
            assert len(received) <= BOUND, "the answer outgrew any sane bound"
    return received


HOSTILE = {
    # The arithmetic pattern used to backtrack quadratically over a run of digits.
    "digits": body_with("1" * MIB),
    # The echoed question, repeated cumulatively with every word: ~1 GiB of answer.
    "words": body_with("hello " * (MIB // 6)),
    # A regular expression per tool over the whole message, a thousand times.
    "tools": body_with(
        "x" * MIB,
        tools=[
            {"name": f"tool_{i}_" + "n" * 200, "description": "d", "parameters": {}}
            for i in range(1000)
        ],
    ),
}


# Inputs that make a backtracking pattern take minutes, matched by every pattern the
# agent uses. In a subprocess: the regex engine holds the GIL, so a regression would
# freeze this whole test process (server thread and test alike), not just fail.
LINEAR_CHECK = """
from chatconduit.demo import _agent
hostile = ["1" * 50_000, "(" * 50_000, "1 " * 25_000, "1" + " " * 50_000 + "x",
           "1 +" + "(" * 50_000, "1.+(-" * 10_000, "A" * 50_000, "Ab/A" + "-" * 50_000,
           "what " * 10_000, "think " + "a " * 25_000]
for text in hostile:
    _agent._ARITHMETIC.search(text)
    _agent._ZONE.search(text)
    _agent._TIME.search(text.lower())
    _agent._THINK.match(text)
    _agent.split_words(text)
"""


def assert_patterns_are_linear() -> None:
    try:
        subprocess.run([sys.executable, "-c", LINEAR_CHECK], check=True, timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail("a pattern of the demo agent backtracks (50,000 characters took > 10 s)")


def test_every_pattern_of_the_agent_runs_in_linear_time() -> None:
    assert_patterns_are_linear()  # linear: milliseconds; the old arithmetic one: minutes


async def test_huge_requests_get_bounded_answers_while_a_normal_chat_is_answered(
    demo: RunningServer,
) -> None:
    assert_patterns_are_linear()  # else the server thread would hang this process
    url = f"{demo.url}/api/chat/sse"
    async with httpx.AsyncClient(timeout=HANG) as client:
        hostile = {
            name: asyncio.create_task(bounded_post(client, url, body))
            for name, body in HOSTILE.items()
        }
        await asyncio.sleep(0.05)  # the uploads are under way
        started = time.monotonic()
        async with asyncio.timeout(PROMPT):
            normal = await bounded_post(client, url, body_with("what is 2+3*4", run_id="run-n"))
        normal_took = time.monotonic() - started
        async with asyncio.timeout(HANG):
            answers = {name: await task for name, task in hostile.items()}
    assert normal_took < PROMPT
    assert any(e.get("result") == '{"expression":"2+3*4","result":14}' for e in sse_events(normal))
    for name, answer in answers.items():
        events = sse_events(answer)
        assert events[-1]["type"] == "RUN_FINISHED", name
        assert len(answer) < BOUND, name


def params(text: str, tools: list[dict[str, Any]] | None = None) -> Any:
    return parse_run_agent_input(body_with(text, tools=tools))


async def events_of(agent: DemoAgent, text: str, **kw: Any) -> list[dict[str, Any]]:
    return [event async for event in agent(params(text, **kw), None)]


async def test_accumulated_args_stay_within_their_budget() -> None:
    arguments = {"text": "word " * 760}  # about 3,800 characters of JSON in the message
    tool = {"name": "save_note", "description": "d", "parameters": {"type": "object"}}
    events = await events_of(DemoAgent(delay=0), f"save_note {json.dumps(arguments)}", tools=[tool])
    args_events = [e for e in events if e["type"] == "TOOL_CALL_ARGS"]
    assert "".join(e["delta"] for e in args_events) == json.dumps(arguments)
    sent = sum(len(e.get("args", "")) for e in args_events)
    assert sent <= _agent.MAX_ACCUMULATED_CHARS  # was ~600,000 characters
    so_far = ""
    for event in args_events:  # where it is sent, it is the true accumulation
        so_far += event["delta"]
        assert event.get("args", so_far) == so_far
    assert args_events[0]["args"] == args_events[0]["delta"]  # short calls keep the field


async def test_a_huge_or_deeply_nested_tool_result_is_answered_briefly() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "get_data", "arguments": "{}"}}
    for output in ["[" * 100_000 + "]" * 100_000, json.dumps({"rows": ["x" * 100] * 10_000})]:
        body = body_with("get_data")
        body["messages"] += [
            {"id": "a1", "role": "assistant", "content": "", "toolCalls": [call]},
            {"id": "t1", "role": "tool", "toolCallId": "c1", "content": output},
        ]
        events = [e async for e in DemoAgent(delay=0)(parse_run_agent_input(body), None)]
        assert events[-1]["type"] == "RUN_FINISHED"
        text = "".join(e["delta"] for e in events if e["type"] == "TEXT_MESSAGE_CONTENT")
        assert len(text) < 2 * _agent.MAX_ECHO_CHARS and "more characters" in text
        assert len(json.dumps(events)) < BOUND


def test_a_power_too_large_is_refused_before_it_is_computed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    computed: list[tuple[Any, Any]] = []
    power: Callable[[Any, Any], Any] = _calculator._BINARY[ast.Pow]

    def recording(left: Any, right: Any) -> Any:
        computed.append((left, right))
        return power(left, right)

    monkeypatch.setitem(_calculator._BINARY, ast.Pow, recording)
    with pytest.raises(CalculatorError, match="too large"):
        evaluate("(3**1000)**1000")  # a 1.6-million-bit integer: ~0.1 s of event loop
    assert computed == [(3, 1000)]  # the inner power only
    assert evaluate("2**10") == 1024
