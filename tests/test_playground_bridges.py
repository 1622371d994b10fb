"""The playground in a real browser against backends of other protocols, bridged by the
server's proxy: the demo app's own Vercel AI SDK route (``/api/chat/vercel``), the real
AI SDK server (``streamText`` of ``ai@7.0.185``, ``interop_current/vercel_server.mjs``)
and LiteLLM's OpenAI-compatible proxy (the fixture of ``test_bridge_openai_litellm``).
Each: a text turn in the chat, the inspector listing the AG-UI events the page received
and, on demand, the backend's own bytes, and an error in the banner with its status and
body, a key typed in the page never on it (the demo's Vercel route answers 401; LiteLLM
offline answers a wrong key with 400; the AI SDK's failures are a RUN_ERROR and a 502).
Without the proxy, choosing such a protocol says that the proxy is needed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chatconduit.demo import create_app
from servers import serve
from test_bridge_openai_litellm import MASTER_KEY, litellm  # noqa: F401 (the fixture)
from test_bridge_vercel_client import node_server
from test_playground_support import (
    apply_settings,
    chromium,
    event_types,
    open_page,
    send,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.timeout(600)
SECRET = "pg-bridge-secret-0815"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def _banner_after_401(page: Any) -> str:
    banner = page.locator("#error-banner")
    banner.wait_for(state="visible")
    page.wait_for_function("() => document.querySelector('#error-banner .body').textContent !== ''")
    wait_idle(page, 1)
    return str(banner.inner_text())


def _assert_text_turn(page: Any, run: int, protocol: str, foreign_marker: str) -> None:
    types = event_types(page, run)
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED", types
    assert "TEXT_MESSAGE_CONTENT" in types
    # The inspector drew every event and says which protocol was bridged.
    assert page.locator("#events li[data-type=TEXT_MESSAGE_CONTENT]").count() >= 1
    assert f"bridged: {protocol}" in page.locator("#conn-extra").inner_text()
    box = page.locator("#bridged")
    box.locator("summary").click()
    page.wait_for_function(
        "(marker) => document.querySelector('#bridged-bytes').textContent.includes(marker)",
        arg=foreign_marker,
    )
    assert foreign_marker in page.evaluate("(n) => playground.foreign(n)", run)


def test_a_vercel_backend_through_the_proxy(browser: Any) -> None:
    with serve(create_app(delay=0, api_key=SECRET, playground_proxy=True)) as srv:
        page = open_page(browser, f"{srv.url}/")
        apply_settings(page, url=f"{srv.url}/api/chat/vercel", protocol="vercel")
        assert page.evaluate("() => playground.settings().useProxy") is True
        send(page, "hello")
        text = _banner_after_401(page)
        assert "HTTP 401" in text and "Missing or invalid bearer token" in text
        assert page.locator("#conn-status").inner_text() == "http-error"
        shot(page, "20-vercel-http-401")

        apply_settings(page, headers=f"Authorization: Bearer {SECRET}")
        page.get_by_role("button", name="Retry").click()
        wait_idle(page, 2)
        assert page.locator("#error-banner").is_hidden(), page.locator("#error-banner").inner_text()
        reply = page.locator("article.msg.assistant").last.inner_text()
        # The demo echoes what reached it: the page's message went through both bridges.
        assert "You said" in reply and "hello" in reply and "(1 messages reached" in reply
        _assert_text_turn(page, 2, "vercel", '"type":"text-delta"')
        shot(page, "21-vercel-text-turn")

        # A second turn with a server tool: the whole conversation goes back.
        send(page, "what is 2+3*4")
        wait_idle(page, 3)
        types = event_types(page, 3)
        assert "TOOL_CALL_START" in types and "TOOL_CALL_RESULT" in types, types
        assert "14" in page.locator("article.msg.assistant").last.inner_text()
        assert SECRET not in page.locator("body").inner_text()
        assert SECRET not in page.evaluate("(n) => playground.foreign(n)", 2)
        assert SECRET not in page.evaluate("(n) => playground.foreign(n)", 3)
        assert page.errors == []


@pytest.mark.interop
def test_the_real_ai_sdk_server_through_the_proxy(browser: Any) -> None:
    with (
        node_server("vercel_server.mjs") as ai_sdk,
        serve(create_app(delay=0, playground_proxy=True)) as srv,
    ):
        page = open_page(browser, f"{srv.url}/")
        apply_settings(page, url=f"{ai_sdk}/chat", protocol="vercel")
        send(page, "hello there")
        wait_idle(page, 1)
        reply = page.locator("article.msg.assistant").last
        assert "Hello from the AI SDK! You said: hello there" in reply.inner_text()
        thinking = reply.locator("details.part.thinking")
        thinking.locator("summary").click()
        assert "The user said hello." in thinking.locator(".body").inner_text()
        types = event_types(page, 1)
        assert any(t.startswith("REASONING") for t in types), types
        _assert_text_turn(page, 1, "vercel", '"type":"reasoning-delta"')
        shot(page, "24-ai-sdk-text-turn")

        # The model fails mid-answer: the AI SDK's error chunk, as a RUN_ERROR, in the banner.
        send(page, "please fail")
        wait_idle(page, 2)
        banner = page.locator("#error-banner")
        banner.wait_for(state="visible")
        assert "the mock model failed on purpose" in banner.inner_text()
        assert "RUN_ERROR" in event_types(page, 2)

        # A plain text stream is not a UI message stream: a 502 that says what came back.
        apply_settings(page, url=f"{ai_sdk}/text")
        send(page, "hello")
        banner.wait_for(state="visible")
        page.wait_for_function(
            "() => document.querySelector('#error-banner .body').textContent !== ''"
        )
        wait_idle(page, 3)
        assert "HTTP 502" in banner.inner_text()
        assert "text/plain" in banner.locator(".body").inner_text()
        shot(page, "25-ai-sdk-text-stream-refused")
        assert page.errors == []


@pytest.mark.interop
def test_an_openai_compatible_backend_through_the_proxy(
    browser: Any,
    litellm: str,  # noqa: F811
) -> None:
    wrong = "sk-wrong-playground-key-which-must-not-leak"
    with serve(create_app(delay=0, playground_proxy=True)) as srv:
        page = open_page(browser, f"{srv.url}/")
        # A key LiteLLM does not know: offline, without a database, it answers 400 "No
        # connected db." (a real OpenAI answers 401); either is shown with its body, and
        # the key the page typed never comes back on the page.
        apply_settings(
            page,
            url=litellm,
            protocol="openai",
            model="mock-gpt",
            headers=f"Authorization: Bearer {wrong}",
        )
        send(page, "hello")
        text = _banner_after_401(page)
        assert "HTTP 400" in text or "HTTP 401" in text, text
        assert '"error"' in page.locator("#error-banner .body").inner_text()
        assert wrong not in page.locator("body").inner_text()
        shot(page, "22-openai-http-error")

        apply_settings(page, headers=f"Authorization: Bearer {MASTER_KEY}")
        page.get_by_role("button", name="Retry").click()
        wait_idle(page, 2)
        assert page.locator("#error-banner").is_hidden(), page.locator("#error-banner").inner_text()
        reply = page.locator("article.msg.assistant").last.inner_text()
        assert "Hello from LiteLLM's mock!" in reply
        _assert_text_turn(page, 2, "openai", "chat.completion.chunk")
        shot(page, "23-openai-text-turn")
        assert MASTER_KEY not in page.locator("body").inner_text()
        assert page.errors == []


def test_without_the_proxy_a_bridged_protocol_says_the_proxy_is_needed(browser: Any) -> None:
    with serve(create_app(delay=0)) as srv:
        page = open_page(browser, f"{srv.url}/")
        page.locator("details.settings-box summary").click()
        form = page.locator("#settings")
        model = form.locator("input[name=model]")
        assert model.is_hidden()
        for protocol in ("vercel", "openai"):
            form.locator("select[name=protocol]").select_option(protocol)
            assert "--proxy" in form.locator(".problem").inner_text()
            # The model field belongs to the OpenAI-compatible protocol only.
            assert model.is_visible() == (protocol == "openai")
        form.get_by_role("button", name="Apply").click()
        assert "--proxy" in form.locator(".problem").inner_text()
        assert page.evaluate("() => playground.settings().protocol") == "tanstack"
        assert page.errors == []
