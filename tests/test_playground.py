"""The playground in a real browser against a real ``chatconduit serve``: a text turn,
a server tool, reasoning, a client tool, an approval, and the inspector listing the
events the server sent, in order (checked against the same request sent directly).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from test_playground_support import (
    apply_settings,
    chatconduit_serve,
    chromium,
    event_types,
    open_page,
    replay_types,
    request_body,
    send,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with chatconduit_serve("--delay", "0.005") as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    page = open_page(browser, f"{server}/")
    yield page
    assert page.errors == [], page.errors
    page.close()


def assistant_text(page: Any) -> str:
    return str(page.locator("article.msg.assistant").last.inner_text())


def test_a_text_turn_streams_markdown_and_the_inspector_lists_every_event(
    page: Any, server: str
) -> None:
    send(page, "hello")
    wait_idle(page, 1)
    message = page.locator("article.msg.assistant").last
    assert "You said" in message.inner_text()
    # Markdown became elements (bold, a list), not literal asterisks.
    assert message.locator("strong").count() >= 1 and message.locator("li").count() >= 3
    assert "**" not in message.inner_text()

    seen = event_types(page)
    sent = replay_types(f"{server}/api/chat/sse", request_body(page, 1))
    assert seen == sent, "the inspector must list what the server sent, in order"
    assert seen[0] == "RUN_STARTED" and seen[-1] == "RUN_FINISHED"
    rows = page.locator("#events li").evaluate_all("(rows) => rows.map((r) => r.dataset.type)")
    assert rows == seen
    assert page.locator("#conn-status").inner_text() == "finished"
    assert page.locator(".t-first-token").inner_text().endswith("ms")
    assert page.locator(".t-tokens").inner_text() == str(seen.count("TEXT_MESSAGE_CONTENT"))

    # Payload and raw bytes on demand.
    page.locator("#events li").nth(0).locator("button.row").click()
    assert '"RUN_STARTED"' in page.locator("#events li .payload").first.inner_text()
    page.locator("#events li .raw-toggle").first.click()
    assert page.locator("#events li .raw").first.inner_text().startswith("data: {")
    # The request body that was sent.
    page.locator("details.req summary").click()
    assert '"hello"' in page.locator("#request-body").inner_text()
    shot(page, "01-text-turn")


def test_a_server_tool_shows_its_arguments_and_result(page: Any) -> None:
    send(page, "what is 2+3*4")
    wait_idle(page, 1)
    card = page.locator('details.part.tool[data-tool="calculator"]')
    card.wait_for()
    assert "2+3*4" in card.locator("pre.args").inner_text()
    page.wait_for_function("() => document.body.innerText.includes('14')")
    assert "TOOL_CALL_START" in event_types(page) and "TOOL_CALL_RESULT" in event_types(page)
    shot(page, "02-server-tool")


def test_reasoning_is_collapsible(page: Any) -> None:
    send(page, "think about rivers")
    wait_idle(page, 1)
    thinking = page.locator("details.part.thinking").first
    assert thinking.get_attribute("open") is None  # collapsed by default
    thinking.locator("summary").click()
    assert thinking.get_attribute("open") is not None
    assert thinking.locator(".body").inner_text().strip()
    types = event_types(page)
    assert any(t.startswith("REASONING") for t in types), types
    shot(page, "03-reasoning")


def test_a_client_tool_asks_the_user_and_sends_the_answer(page: Any) -> None:
    send(page, 'ask_user {"question": "What is your favourite colour?"}')
    question = page.locator(".pending .question")
    question.wait_for()
    assert "favourite colour" in question.inner_text()
    shot(page, "04-client-tool-question")
    # The answer box has the focus: answer with the keyboard alone.
    page.keyboard.type("cerulean blue")
    page.keyboard.press("Enter")
    wait_idle(page, 2)
    page.wait_for_function(
        "() => document.querySelector('#messages').innerText.includes('cerulean')"
    )
    second = request_body(page, 2)
    tool_messages = [m for m in second["messages"] if m["role"] == "tool"]
    assert tool_messages and "cerulean blue" in str(tool_messages[-1]["content"])
    assert page.locator(".pending").count() == 0
    shot(page, "05-client-tool-answered")


@pytest.mark.parametrize("choice", ["Approve", "Deny"])
def test_an_approval_is_answered_with_buttons(page: Any, choice: str) -> None:
    send(page, "delete_file notes.txt")
    button = page.get_by_role("button", name=choice)
    button.wait_for()
    assert "notes.txt" in page.locator(".pending .approval").inner_text()
    if choice == "Approve":
        shot(page, "06-approval")
    button.click()
    wait_idle(page, 2)
    resume = request_body(page, 2)
    assert resume.get("resume"), resume
    payload = resume["resume"][0]["payload"]
    assert payload["approved"] is (choice == "Approve")
    assert page.locator(".pending").count() == 0
    assert event_types(page, 2)[-1] == "RUN_FINISHED"
    shot(page, f"07-approval-{choice.lower()}")


def test_ndjson_framing_and_the_ag_ui_body_from_the_settings(page: Any, server: str) -> None:
    apply_settings(page, url="/api/chat/ndjson", framing="ndjson", protocol="ag-ui")
    send(page, "what is 6*7")
    wait_idle(page, 1)
    page.wait_for_function("() => document.querySelector('#messages').innerText.includes('42')")
    body = request_body(page, 1)
    assert body["protocolVersion"] == "1.0" and "data" not in body
    run = page.evaluate("() => playground.runs()[0].requests[0].url")
    assert run.endswith("/api/chat/ndjson")
    raw = page.evaluate("() => playground.runs()[0].items.find((i) => i.kind === 'event').raw")
    assert raw.startswith('{"type":"RUN_STARTED"')  # a JSON line, not an SSE frame
    types = event_types(page)
    assert types[0] == "RUN_STARTED" and types[-1] == "RUN_FINISHED"
    assert "TOOL_CALL_RESULT" in types
    # The same body to the SSE route gives the same events: framing changes only bytes.
    assert types == replay_types(f"{server}/api/chat/sse", body)
    shot(page, "13-ndjson-ag-ui")
