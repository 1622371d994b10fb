"""Golden test: the reference's captured responses, served over a real socket, read by our
ChatClient, end in the same messages the real ``@tanstack/ai-client@0.10.0`` ended with.

For each ``responses/<scenario>.<framing>`` fixture a small Starlette app replays the
exact bytes (in small pieces, so events straddle reads) with the captured status line
and headers; the client sends ``Hello 👋`` with thread id ``thread-golden`` through
``fetch_server_sent_events`` / ``fetch_http_stream`` and its final messages are compared
with ``client/<scenario>.<framing>.json`` after the same normalisation the fixtures
use (generated ids → ``<msg#n>``, run ids → ``<run#n>``, dates → ``<date>``).

Deliberate differences (docs/client.md), and nothing else, are allowed:

- ``http500``: the reference appends an empty assistant message (its connect wrapper
  pushes a synthesized RUN_ERROR) and flickers ``error → streaming → error``; ours
  leaves no empty message, and the error is a typed ``HTTPStatusError`` whose text
  starts with the reference's ``HTTP error! status: 500 Internal Server Error``.
- ``tools``: the reference reports ``streaming`` twice (its setters notify even when
  the value does not change); ours notifies once per change.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from chatconduit import (
    ChatClient,
    ChatStatus,
    HTTPStatusError,
    fetch_http_stream,
    fetch_server_sent_events,
    message_to_dict,
)
from servers import RunningServer, serve

FIXTURES = Path(__file__).parent / "fixtures" / "tanstack-0.10"
SCENARIOS = ["text", "tools", "thinking", "reasoning", "error", "http500", "long", "slow"]
FRAMINGS = ["sse", "ndjson"]
PIECE = 7  # bytes per write: events straddle reads


def _head(path: Path) -> tuple[int, dict[str, str]]:
    """Status and the helper-set headers of a captured ``.headers`` file."""
    lines = path.read_bytes().decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            break
        name, _, value = line.partition(":")
        if name.lower() in ("content-type", "cache-control"):
            headers[name.lower()] = value.strip()
    return status, headers


def golden_app(bodies: list[dict[str, Any]]) -> Starlette:
    async def replay(request: Request) -> Response:
        scenario = request.path_params["scenario"]
        framing = request.path_params["framing"]
        bodies.append(json.loads(await request.body()))
        data = (FIXTURES / "responses" / f"{scenario}.{framing}").read_bytes()
        status, headers = _head(FIXTURES / "responses" / f"{scenario}.{framing}.headers")
        if status != 200:
            return Response(data, status_code=status, headers=headers)

        async def pieces() -> AsyncIterator[bytes]:
            for i in range(0, len(data), PIECE):
                yield data[i : i + PIECE]
                await asyncio.sleep(0)

        return StreamingResponse(pieces(), status_code=status, headers=headers)

    return Starlette(routes=[Route("/{scenario}/{framing}", replay, methods=["POST"])])


@pytest.fixture(scope="module")
def golden_server() -> Iterator[tuple[RunningServer, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []
    with serve(golden_app(bodies)) as server:
        yield server, bodies


_GENERATED = re.compile(r"^(msg|run|thread)-\d{13}-[0-9a-z]+$")


def normalize(value: Any, run_ids: dict[str, str], ids: dict[str, str]) -> Any:
    """The fixtures' normalisation: placeholders for random ids and dates."""
    if isinstance(value, dict):
        return {
            k: "<date>" if k == "createdAt" else normalize(v, run_ids, ids)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalize(v, run_ids, ids) for v in value]
    if isinstance(value, str):
        if _GENERATED.match(value):
            kind = value.split("-")[0]
            if value not in ids:
                ids[value] = (
                    f"<{kind}#{sum(1 for v in ids.values() if v.startswith(f'<{kind}#')) + 1}>"
                )
            return ids[value]
        for run_id, placeholder in run_ids.items():
            value = value.replace(run_id, placeholder)
        return value
    return value


def _adapter(url: str, framing: str) -> Any:
    # No retries: the reference sends one request, and a 500 must surface at once.
    options = {"retry": False}
    if framing == "sse":
        return fetch_server_sent_events(url, options)
    return fetch_http_stream(url, options)


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_golden_final_messages(
    golden_server: tuple[RunningServer, list[dict[str, Any]]], scenario: str, framing: str
) -> None:
    server, bodies = golden_server
    expected = json.loads((FIXTURES / "client" / f"{scenario}.{framing}.json").read_text("utf-8"))
    statuses: list[str] = []
    finishes: list[Any] = []
    errors: list[BaseException] = []
    adapter = _adapter(f"{server.url}/{scenario}/{framing}", framing)
    async with adapter:
        client = ChatClient(
            adapter,
            thread_id="thread-golden",
            on_status_change=lambda s: statuses.append(s.value),
            on_finish=finishes.append,
            on_error=errors.append,
        )
        reply = await asyncio.wait_for(client.send_message("Hello 👋"), 10)

    body = bodies[-1]
    assert body["threadId"] == "thread-golden"
    assert body["messages"][0]["content"] == "Hello 👋"
    ours = normalize([message_to_dict(m) for m in client.messages], {"run-fixture": "<run#1>"}, {})
    theirs = expected["messages"]
    assert client.is_loading is False

    if scenario == "http500":
        # Difference: no empty assistant message after the failed request.
        assert theirs[1] == {
            "id": "<msg#2>",
            "role": "assistant",
            "parts": [],
            "createdAt": "<date>",
        }
        assert ours == theirs[:1]
        assert isinstance(client.error, HTTPStatusError)
        assert client.error.status_code == 500
        assert str(client.error).startswith(expected["error"])
        assert statuses == ["submitted", "error"]  # reference: submitted, error, streaming, error
        assert reply is None
    else:
        assert ours == theirs
        assert client.status.value == expected["status"]
        if expected["error"] is None:
            assert client.error is None
            assert (
                reply is not None
                and normalize(message_to_dict(reply), {"run-fixture": "<run#1>"}, {}) == theirs[-1]
            )
        else:
            assert str(client.error) == expected["error"]
        history = expected["diagnostics"]["statusHistory"]
        if scenario == "tools":
            # Difference: the reference notifies "streaming" a second time (no change).
            assert history == ["submitted", "streaming", "streaming", "ready"]
            history = ["submitted", "streaming", "ready"]
        assert statuses == history
    assert len(finishes) == expected["diagnostics"]["onFinishCalls"]
    assert [str(e) for e in errors] == [str(client.error) if client.error is not None else None][
        : len(expected["diagnostics"]["onErrorCalls"])
    ]
    assert len(errors) == len(expected["diagnostics"]["onErrorCalls"])
    if errors:
        assert client.status is ChatStatus.ERROR
