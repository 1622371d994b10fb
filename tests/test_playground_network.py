"""The playground in a real browser when the network misbehaves or is heavy: stop
with Esc (heartbeats shown), a backend that drops mid-answer reached through the
page's CORS proxy (the client resumes with ``Last-Event-ID``), an HTTP 401 in the
banner, the phone and desktop layouts with the keyboard alone, and 50,000 deltas.
The 50,000-delta run prints its frame times and total time; nothing asserts a
duration (the machine is shared).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from chatconduit.demo import create_app
from interop_current.cutting_proxy import Cut, cutting_proxy
from servers import serve
from test_playground_support import (
    apply_settings,
    chromium,
    event_types,
    open_page,
    replay_types,
    request_body,
    send,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.timeout(600)
DELTAS = 50_000
SECRET = "pg-secret-key-4711"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as browser:
        yield browser


def test_escape_stops_the_stream_and_heartbeats_are_shown(browser: Any) -> None:
    with serve(create_app(delay=0.15, heartbeat=0.05)) as srv:
        page = open_page(browser, f"{srv.url}/")
        send(page, "hello")
        page.wait_for_function(
            "() => playground.events().filter((e) => e.type === 'TEXT_MESSAGE_CONTENT').length >= 3"
        )
        assert page.locator("#stop").is_enabled()
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.body.classList.contains('loading')")
        wait_idle(page, 1)
        count = len(event_types(page))
        time.sleep(0.6)  # the server would have sent several more deltas by now
        assert len(event_types(page)) == count
        assert "RUN_FINISHED" not in event_types(page)
        assert page.locator("#conn-status").inner_text() == "aborted"
        assert page.locator("#events li.marker").last.inner_text().endswith("stopped")
        assert "heartbeat" in page.locator("#conn-extra").inner_text()
        assert page.locator("#stop").is_disabled()
        assert page.evaluate("playground.status()") == "ready"
        shot(page, "08-stopped")
        assert page.errors == []


def test_a_dropped_answer_resumes_through_the_cors_proxy(browser: Any) -> None:
    app = create_app(delay=0.01, durable=True, playground_proxy=True)
    with serve(app) as srv, cutting_proxy(srv.port) as cutter:
        page = open_page(browser, f"{srv.url}/")
        apply_settings(page, url=f"{cutter.url}/api/chat/sse", proxy=True)
        # The first connection through the cutter ends right after the fourth delta of the
        # demo's answer (by then the earlier events, with their ids, reached the page in
        # reads of their own: the demo pauses between deltas).
        cutter.cut_next(Cut(after=b'"delta":"deterministic, "', then=b"\n\n"))
        send(page, "hello")
        wait_idle(page, 1)
        run = page.evaluate(
            """() => { const r = playground.runs()[0];
                return {status: r.status, resumes: r.resumes,
                        resumedFrom: r.requests.map((q) => q.resumedFrom ?? null),
                        ids: r.events.map((e) => e.id)} }"""
        )
        assert len(cutter.cuts()) == 1
        assert run["resumes"] >= 1, run and run["resumedFrom"][0] is None
        assert run["resumedFrom"][1] is not None, run
        assert run["status"] == "finished"
        # Each event once, in order, though the stream was read over two responses.
        ids = [int(i) for i in run["ids"]]
        assert ids == sorted(set(ids)), ids
        body = request_body(page, 1)
        types = event_types(page)
        assert types == replay_types(f"{srv.url}/api/chat/sse", {**body, "runId": "run-replay"})
        assert "You said" in page.locator("article.msg.assistant").last.inner_text()
        assert "resumed" in page.locator("#conn-extra").inner_text()
        markers = page.locator("#events li.marker").all_inner_texts()
        assert any("connection dropped" in m for m in markers), markers
        assert any(f"Last-Event-ID: {run['resumedFrom'][1]}" in m for m in markers), markers
        page.locator("#events li.marker").first.scroll_into_view_if_needed()
        shot(page, "09-resumed-after-drop")
        assert page.errors == []


def test_http_401_is_shown_in_the_banner_and_a_header_fixes_it(browser: Any) -> None:
    with serve(create_app(delay=0, api_key=SECRET)) as srv:
        page = open_page(browser, f"{srv.url}/")
        send(page, "hello")
        banner = page.locator("#error-banner")
        banner.wait_for(state="visible")
        page.wait_for_function(
            "() => document.querySelector('#error-banner .body').textContent !== ''"
        )
        wait_idle(page, 1)
        assert "HTTP 401" in banner.inner_text()
        assert banner.locator(".body").inner_text().strip(), "the response body is shown"
        assert page.locator("#conn-status").inner_text() == "http-error"
        shot(page, "10-http-401")

        apply_settings(page, headers=f"Authorization: Bearer {SECRET}")
        page.get_by_role("button", name="Retry").click()
        wait_idle(page, 2)
        assert banner.is_hidden()
        assert "You said" in page.locator("article.msg.assistant").last.inner_text()
        # The key is sent, and shown masked, never in clear, in the inspector.
        page.locator("details.req summary").click()
        head = page.locator("#request-head").inner_text()
        assert "authorization: •••" in head and SECRET not in head
        assert SECRET not in page.locator("body").inner_text()
        assert page.errors == []


@pytest.mark.parametrize(("width", "height"), [(375, 812), (1440, 900)])
def test_phone_and_desktop_layouts_work_with_the_keyboard_alone(
    browser: Any, width: int, height: int
) -> None:
    with serve(create_app(delay=0)) as srv:
        page = open_page(browser, f"{srv.url}/", width=width, height=height)
        # The message box has the focus on load; Enter sends.
        assert page.evaluate("document.activeElement.id") == "prompt"
        page.keyboard.type("what is 6*7")
        page.keyboard.press("Enter")
        wait_idle(page, 1)
        page.wait_for_function("() => document.querySelector('#messages').innerText.includes('42')")
        # Tab reaches the send button, then the other controls, without a mouse.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "send"
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow}px of horizontal scrolling at {width}px"
        chat = page.locator("section.chat").bounding_box()
        inspector = page.locator("#inspector").bounding_box()
        if width < 800:
            assert inspector["y"] >= chat["y"] + chat["height"] - 1  # stacked
        else:
            assert inspector["x"] >= chat["x"] + chat["width"] - 1  # side by side
        shot(page, f"11-layout-{width}")
        assert page.errors == []


async def _many_deltas(params: Any, request: Any = None) -> AsyncIterator[dict[str, Any]]:
    yield {"type": "RUN_STARTED", "runId": params.run_id, "threadId": params.thread_id}
    yield {"type": "TEXT_MESSAGE_START", "messageId": "m-many", "role": "assistant"}
    for i in range(DELTAS):
        yield {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m-many", "delta": f"w{i} "}
        if i % 200 == 0:
            await asyncio.sleep(0)
    yield {"type": "TEXT_MESSAGE_END", "messageId": "m-many"}
    yield {"type": "RUN_FINISHED", "runId": params.run_id, "threadId": params.thread_id}


def test_fifty_thousand_deltas_keep_the_page_responsive(browser: Any) -> None:
    with serve(create_app(agent=_many_deltas)) as srv:
        page = open_page(browser, f"{srv.url}/")
        page.set_default_timeout(300_000)
        started = time.monotonic()
        send(page, "go")
        wait_idle(page, 1)
        wall = time.monotonic() - started
        frames = page.evaluate("playground.frames()")
        run = page.evaluate(
            "(() => { const r = playground.runs()[0]; return {events: r.events.length, "
            "tokens: r.tokens, total: r.endedAt - r.startedAt} })()"
        )
        # Still answering input at once after the flood: a round trip through the page.
        probe = time.monotonic()
        page.evaluate("new Promise((done) => requestAnimationFrame(() => done(1)))")
        probe_ms = (time.monotonic() - probe) * 1000
        print(
            f"\nplayground, {DELTAS} deltas: total {run['total']:.0f} ms in the page "
            f"({wall:.1f} s wall), {frames['frames']} frames, frame time median "
            f"{frames['median']:.1f} ms, p95 {frames['p95']:.1f} ms, max {frames['max']:.1f} ms; "
            f"next frame after the run {probe_ms:.0f} ms"
        )
        assert run["tokens"] == DELTAS and run["events"] == DELTAS + 4
        # Long text is re-rendered at most every 250 ms: the last render may follow the end.
        page.wait_for_function(
            "(last) => document.querySelector('article.msg.assistant:last-of-type')"
            ".innerText.trimEnd().endsWith(last)",
            arg=f"w{DELTAS - 1}",
        )
        text = page.locator("article.msg.assistant").last.inner_text()
        assert text.startswith("w0 w1 ") and text.count(" w") == DELTAS - 1
        # The inspector keeps only the newest rows in the DOM.
        assert page.locator("#events li").count() <= 400
        assert f"{DELTAS + 4} events" in page.locator("#event-count").inner_text()
        shot(page, "12-fifty-thousand-deltas")
        assert page.errors == []
