"""Never a silent success: a response of another protocol is a typed error that names it
and the adapter or flag that reads it, in the library and in the CLI (exit status not 0).

A real uvicorn serves each kind of foreign response; the CLI runs as a real process.
Without ``--protocol`` the CLI switches to the Vercel bridge where the response says so.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from chatconduit import ChatClient, UnexpectedResponseError, fetch_server_sent_events
from interop_current.harness import require_pydantic_ai
from servers import RunningServer, serve

VERCEL_BODY = (
    'data: {"type":"start"}\n\ndata: {"type":"start-step"}\n\n'
    'data: {"type":"text-start","id":"t"}\n\n'
    'data: {"type":"text-delta","id":"t","delta":"Hi from Vercel"}\n\n'
    'data: {"type":"text-end","id":"t"}\n\ndata: {"type":"finish-step"}\n\n'
    'data: {"type":"finish"}\n\ndata: [DONE]\n\n'
)
OPENAI_BODY = (
    'data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,'
    '"delta":{"content":"Hi"}}]}\n\ndata: [DONE]\n\n'
)


async def vercel(request: Request) -> Response:
    headers = {"x-vercel-ai-ui-message-stream": "v1"}
    return Response(VERCEL_BODY, media_type="text/event-stream", headers=headers)


async def vercel_no_header(request: Request) -> Response:
    return Response(VERCEL_BODY, media_type="text/event-stream")


async def text_stream(request: Request) -> Response:
    return PlainTextResponse("Hello from a text stream")


async def json_error(request: Request) -> Response:
    return JSONResponse({"error": {"message": "model overloaded", "type": "server_error"}})


async def unknown_events(request: Request) -> Response:
    body = 'data: {"type":"progress","n":1}\n\ndata: {"type":"progress","n":2}\n\n'
    return Response(body, media_type="text/event-stream")


async def openai_stream(request: Request) -> Response:
    return Response(OPENAI_BODY, media_type="text/event-stream")


async def agui_stream(request: Request) -> Response:
    body = (
        'data: {"type":"RUN_STARTED","threadId":"t","runId":"r"}\n\n'
        'data: {"type":"RUN_FINISHED","threadId":"t","runId":"r"}\n\n'
    )
    return Response(body, media_type="text/event-stream")


ROUTES = {
    "/agui": agui_stream,
    "/vercel": vercel,
    "/vercel-no-header": vercel_no_header,
    "/text": text_stream,
    "/json-error": json_error,
    "/unknown": unknown_events,
    "/openai": openai_stream,
}


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    app = Starlette(routes=[Route(p, f, methods=["POST"]) for p, f in ROUTES.items()])
    with serve(app) as running:
        yield running


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatconduit", "chat", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


CASES = [
    ("/vercel", "Vercel AI SDK UI message stream", "vercel_ui_stream()"),
    ("/vercel-no-header", "Vercel AI SDK UI message stream", "--protocol vercel"),
    ("/text", "plain text", "toUIMessageStreamResponse()"),
    ("/json-error", "JSON error document ('model overloaded')", "expected an AG-UI"),
    ("/unknown", "only events of types unknown to it (progress)", "expected an AG-UI"),
    ("/openai", "OpenAI chat completions stream", "--protocol openai"),
]


@pytest.mark.parametrize(("path", "what", "hint"), CASES)
async def test_library_error_names_the_protocol(
    server: RunningServer, path: str, what: str, hint: str
) -> None:
    client = ChatClient(fetch_server_sent_events(f"{server.url}{path}"), raise_on_error=False)
    await client.send_message("hi")
    assert isinstance(client.error, UnexpectedResponseError), client.error
    assert what in str(client.error)
    assert hint in str(client.error)
    await client.aclose()


@pytest.mark.parametrize(("path", "what", "hint"), CASES)
def test_cli_exits_non_zero_naming_the_protocol(
    server: RunningServer, path: str, what: str, hint: str
) -> None:
    done = cli(f"{server.url}{path}", "--protocol", "agui", "-m", "hi")
    assert done.returncode == 6, (done.stdout, done.stderr)
    assert what in done.stderr and hint in done.stderr


@pytest.mark.parametrize("path", ["/vercel", "/vercel-no-header"])
def test_cli_without_protocol_switches_to_vercel(server: RunningServer, path: str) -> None:
    done = cli(f"{server.url}{path}", "-m", "hi")
    assert done.returncode == 0, done.stderr
    assert "Hi from Vercel" in done.stdout
    assert "switched to --protocol vercel" in done.stdout + done.stderr


def test_cli_reads_vercel_with_the_flag(server: RunningServer) -> None:
    done = cli(f"{server.url}/vercel", "--protocol", "vercel", "-m", "hi")
    assert done.returncode == 0, done.stderr
    assert "Hi from Vercel" in done.stdout


def test_cli_422_is_one_line_without_our_body_and_names_the_protocol() -> None:
    require_pydantic_ai()
    from interop_current.vercel_pydantic_ai_app import app

    secret = "my-private-question-0xC0FFEE"
    with serve(app) as pydantic_ai:
        done = cli(f"{pydantic_ai.url}/", "--protocol", "agui", "-m", secret)
        assert done.returncode == 3, done.stderr
        line = done.stderr.strip()
        assert "\n" not in line
        assert "HTTP 422" in line and "Unable to extract tag using discriminator" in line
        assert "--protocol vercel" in line
        assert secret not in done.stderr and secret not in done.stdout
        # Without --protocol, the refusal is read as "this is a Vercel endpoint".
        switched = cli(f"{pydantic_ai.url}/", "-m", "hello")
        assert switched.returncode == 0, switched.stderr
        assert 'You said: "hello"' in switched.stdout


def test_json_body_at_the_vercel_reader_is_named(server: RunningServer) -> None:
    done = cli(f"{server.url}/json-error", "--protocol", "vercel", "-m", "hi")
    assert done.returncode == 6
    assert "expected a Vercel AI SDK UI message stream" in done.stderr
    assert json.dumps("model overloaded") not in done.stdout


async def test_bridge_pointed_at_an_agui_endpoint_names_agui() -> None:
    from chatconduit import vercel_ui_stream
    from chatconduit.demo import DemoAgent
    from chatconduit.server import chat_endpoint

    app = Starlette(routes=[Route("/chat", chat_endpoint(DemoAgent(delay=0)), methods=["POST"])])
    with serve(app) as agui:
        # The AG-UI endpoint refuses the AI SDK body, saying which body it wants.
        client = ChatClient(vercel_ui_stream(f"{agui.url}/chat"), raise_on_error=False)
        await client.send_message("hi")
        assert client.error is not None and "AG-UI RunAgentInput" in str(client.error)
        await client.aclose()


def test_agui_stream_read_as_vercel_is_named(server: RunningServer) -> None:
    done = cli(f"{server.url}/agui", "--protocol", "vercel", "-m", "hi")
    assert done.returncode == 6, done.stderr
    assert "an AG-UI event stream; read it with fetch_server_sent_events()" in done.stderr
    assert "expected a Vercel AI SDK UI message stream" in done.stderr


async def test_bridge_adapters_have_no_durable_runs_to_join_or_hydrate() -> None:
    from chatconduit import AdapterContractError, openai_chat_completions, vercel_ui_stream

    for adapter in (
        vercel_ui_stream("http://127.0.0.1:9/api/chat"),
        openai_chat_completions("http://127.0.0.1:9/v1", {"model": "m", "api_key": "k"}),
    ):
        async with ChatClient(adapter) as client:
            with pytest.raises(AdapterContractError, match="has no join_run"):
                await client.join_run("run-1")
            with pytest.raises(AdapterContractError, match="has no hydrate"):
                await client.hydrate("thread-1")


def test_cli_without_protocol_switches_at_our_own_vercel_route() -> None:
    """``chat_endpoint(protocol="vercel")`` refuses an AG-UI body with a 400 naming
    ``$.trigger``; the CLI reads that as a Vercel endpoint and asks again in its shape."""
    from chatconduit.demo import create_app

    with serve(create_app(delay=0)) as demo:
        done = cli(f"{demo.url}/api/chat/vercel", "-m", "what is 2+3*4")
    assert done.returncode == 0, done.stderr
    assert "= **14**" in done.stdout
    assert "switched to --protocol vercel" in done.stdout + done.stderr
