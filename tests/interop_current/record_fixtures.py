"""Record the bytes the current reference implementations put on the wire.

    .venv/bin/python tests/interop_current/record_fixtures.py [--out DIR]

Writes ``tests/fixtures/current/`` (or DIR): the exact response bodies and headers of
``ts058_server.mjs`` (real ``@tanstack/ai@0.58.0``) for every scenario x framing x
durability, the request bodies the real ``@tanstack/ai-client@0.33.2`` sent on follow-ups
(client-tool answer, approval answer with ``parentRunId``/``resume``) with the answers it got,
durable extras (joinRun, Last-Event-ID replay, detach), WebSocket frames, what
``@ag-ui/client@1.0.0`` made of each stream, and the same for pydantic-ai 2.78's
``AGUIAdapter`` (``pydantic_ai_app.py``). ``index.json`` says what each file is.

Ids that the recorder chooses are fixed (``thread-fixture``, ``run-<scenario>-...``); ids the
clients or servers mint (0.33 client run ids, pydantic-ai message ids) and all timestamps
differ between recordings. Needs the npm packages (``python3 dev.py setup``) and the dev extra.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from interop_current.harness import (
    events_of,
    fixtures_dir,
    node_install_problem,
    pydantic_ai_app,
    python_install_problem,
    run_agui_client,
    run_input,
    run_ts033_client,
    ts058_server,
)

FRAMINGS = ("sse", "ndjson")
GET_TIME = {
    "name": "get_time",
    "description": "Get the current time (client tool).",
    "parameters": {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": [],
    },
}
# scenario -> (user text, client-declared tools)
TANSTACK_SCENARIOS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "text": ("Hello 👋", []),
    "thinking": ("Please think about it", []),
    "server_tool": ('get_weather please {"city": "Paris"}', []),
    "client_tool": ('What is get_time {"timezone": "Europe/Paris"}', [GET_TIME]),
    "approval": ('delete_file {"path": "/tmp/demo.txt"}', []),
    "error": ("boom", []),
}
# flow -> (user text, ts033 client tools, approval policy)
TANSTACK_FLOWS: dict[str, tuple[str, list[str], str]] = {
    "client_tool": ('What is get_time {"timezone": "Europe/Paris"}', ["get_time"], "none"),
    "approval_approve": ('delete_file {"path": "/tmp/demo.txt"}', [], "approve"),
    "approval_deny": ('delete_file {"path": "/tmp/demo.txt"}', [], "deny"),
    "approval_cancel": ('delete_file {"path": "/tmp/demo.txt"}', [], "cancel"),
    "approval_typed_approve": ('delete_file {"path": "/tmp/demo.txt"}', ["delete_file"], "approve"),
}
PAI_SCENARIOS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "text": ("Hello 👋", []),
    "thinking": ("Please think about it", []),
    "server_tool": ('get_weather please {"city": "Paris"}', []),
    "frontend_tool": ('What is get_time {"timezone": "Europe/Paris"}', [GET_TIME]),
    "approval": ('delete_file {"path": "/tmp/demo.txt"}', []),
}


class Recorder:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.index: list[dict[str, Any]] = []

    def write(self, rel: str, data: bytes | str | Any, what: str, **info: Any) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        elif isinstance(data, str):
            path.write_bytes(data.encode("utf-8"))
        else:
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
            path.write_bytes(text.encode("utf-8"))
        self.index.append({"file": rel, "what": what, **info})

    def response(self, rel: str, response: httpx.Response, what: str, **info: Any) -> None:
        """The body bytes at ``rel`` and ``{status, headers}`` beside it."""
        self.write(rel, response.content, what, **info)
        meta = {"status": response.status_code, "headers": dict(response.headers)}
        self.write(f"{rel}.headers.json", meta, f"status and headers of {rel}")


def ext(framing: str) -> str:
    return "sse" if framing == "sse" else "ndjson"


def durable_tag(durable: bool) -> str:
    return ".durable" if durable else ""


def record_tanstack(rec: Recorder) -> None:
    base = "tanstack-0.58"
    with ts058_server() as srv, httpx.Client(timeout=30) as http:
        # 1. every scenario x framing x durability, posted by hand with fixed ids
        for scenario, (text, tools) in TANSTACK_SCENARIOS.items():
            for framing in FRAMINGS:
                for durable in (False, True):
                    route = "durable" if durable else "chat"
                    run_id = f"run-{scenario}-{framing}{'-durable' if durable else ''}"
                    body = run_input(text, run_id=run_id, tools=tools)
                    headers = {"Content-Type": "application/json"}
                    if durable:
                        headers["X-Run-Id"] = run_id  # as the 0.33 client sends it
                    response = http.post(f"{srv.url}/{framing}/{route}", json=body, headers=headers)
                    rel = f"{base}/responses/{scenario}{durable_tag(durable)}.{ext(framing)}"
                    rec.response(
                        rel,
                        response,
                        f"ts058_server POST /{framing}/{route}: {scenario}",
                        request=f"{base}/requests/{scenario}.body.json",
                        requestHeaders=headers,
                    )
            rec.write(
                f"{base}/requests/{scenario}.body.json",
                run_input(text, run_id=f"run-{scenario}-<framing>[-durable]", tools=tools),
                f"the RunAgentInput posted for {scenario} (runId varies as shown)",
            )

        # 2. the real 0.33 client through follow-ups, as the server saw them
        for flow, (text, tools, approval) in TANSTACK_FLOWS.items():
            for framing in FRAMINGS:
                for durable in (False, True):
                    route = "durable" if durable else "chat"
                    srv.clear_requests()
                    report = run_ts033_client(
                        f"{srv.url}/{framing}/{route}",
                        framing,
                        [text],
                        tools=tools,
                        approval=approval,
                        thread_id=f"thread-{flow}-{framing}{'-durable' if durable else ''}",
                    )
                    exchanges = [
                        {
                            "method": r["method"],
                            "path": r["path"],
                            "query": r["query"],
                            "headers": r["headers"],
                            "body": r["body"],
                            "status": r["status"],
                            "responseHeaders": r["responseHeaders"],
                            "responseBody": r["responseBody"],
                        }
                        for r in srv.requests()
                    ]
                    rec.write(
                        f"{base}/flows/{flow}{durable_tag(durable)}.{framing}.json",
                        {
                            "client": "@tanstack/ai-client@0.33.2 ChatClient",
                            "messagesSent": [text],
                            "clientTools": tools,
                            "approval": approval,
                            "exchanges": exchanges,
                            "finalMessages": report["messages"],
                            "status": report["status"],
                            "error": report["error"],
                            "toolExecutions": report["toolExecutions"],
                            "interruptHistory": report["interruptHistory"],
                            "warnings": report["warnings"],
                        },
                        f"0.33 client <-> 0.58 server, {flow}: every request the client sent "
                        "(headers, body) and the bytes it got back",
                        framing=framing,
                        durable=durable,
                    )

        # 3. durability extras
        for framing in FRAMINGS:
            run_id = f"run-durable-extras-{framing}"
            body = run_input("Hello 👋", run_id=run_id)
            headers = {"X-Run-Id": run_id}
            first = http.post(f"{srv.url}/{framing}/durable", json=body, headers=headers)
            ids = [e.get("id") for e in _frames(first.content, framing)]
            join = http.get(
                f"{srv.url}/{framing}/durable", params={"offset": "-1", "runId": run_id}
            )
            rec.response(
                f"{base}/durable/joinrun.{ext(framing)}",
                join,
                f"GET /{framing}/durable?offset=-1&runId={run_id} after the run finished "
                f"(resume{'ServerSentEvents' if framing == 'sse' else 'Http'}Response)",
            )
            replay = http.post(
                f"{srv.url}/{framing}/durable",
                json=body,
                headers={**headers, "Last-Event-ID": ids[2]},
            )
            rec.response(
                f"{base}/durable/replay-last-event-id.{ext(framing)}",
                replay,
                f"POST /{framing}/durable again, Last-Event-ID: {ids[2]} (replay, no model run)",
            )
            mid = http.get(
                f"{srv.url}/{framing}/durable", params={"offset": ids[3], "runId": run_id}
            )
            rec.response(
                f"{base}/durable/join-from-offset.{ext(framing)}",
                mid,
                f"GET /{framing}/durable?offset={ids[3]}&runId={run_id}",
            )
            no_offset = http.get(f"{srv.url}/{framing}/durable", params={"runId": run_id})
            rec.response(
                f"{base}/durable/join-without-offset.{framing}.txt",
                no_offset,
                "GET without offset or Last-Event-ID: the helper's 400",
            )
            unknown = http.get(
                f"{srv.url}/{framing}/durable",
                params={"offset": "-1", "runId": "run-never-started"},
            )
            rec.response(
                f"{base}/durable/join-unknown-run.{ext(framing)}",
                unknown,
                "GET ?offset=-1 for a run that never existed (memoryStream waits 100 ms, fails)",
            )
            # detach: leave a slow durable run after two lines, then join it from the start
            detach_id = f"run-detach-{framing}"
            slow = run_input(
                "Hello there, a slower reply", run_id=detach_id, forwardedProps={"delayMs": 40}
            )
            with http.stream(
                "POST", f"{srv.url}/{framing}/durable", json=slow, headers={"X-Run-Id": detach_id}
            ) as partial:
                seen = b""
                for chunk in partial.iter_raw():
                    seen += chunk
                    if seen.count(b"\n\n" if framing == "sse" else b"\n") >= 3:
                        break
            rec.write(
                f"{base}/durable/detach-partial.{ext(framing)}",
                seen,
                "the first bytes of a slow durable run the client then left",
            )
            time.sleep(1.0)
            rejoin = http.get(
                f"{srv.url}/{framing}/durable", params={"offset": "-1", "runId": detach_id}
            )
            rec.response(
                f"{base}/durable/detach-rejoin.{ext(framing)}",
                rejoin,
                "GET ?offset=-1 after the client left: the producer kept writing the log",
            )

        # 4. hydrate: the 0.33 client's GET (persistence: true), answered by the harness
        srv.clear_requests()
        thread = "thread-hydrate"
        run_ts033_client(
            f"{srv.url}/sse/chat",
            "sse",
            ['delete_file {"path": "/tmp/demo.txt"}'],
            thread_id=thread,
        )
        hydrated = run_ts033_client(
            f"{srv.url}/sse/chat", "sse", [], thread_id=thread, persistence="server"
        )
        hydrate_req = next(r for r in hydrated["requests"] if r["method"] == "GET")
        rec.write(
            f"{base}/durable/hydrate.json",
            {
                "note": "The GET is the real 0.33 client's (persistence: true, on attach()); the "
                "answer is ts058_server's HARNESS-MADE hydrate (0.58 ships no hydrate handler), "
                "shaped as the client reads it.",
                "request": {"url": hydrate_req["url"], "headers": hydrate_req["headers"]},
                "status": hydrate_req["status"],
                "responseHeaders": hydrate_req["responseHeaders"],
                "responseBody": json.loads(hydrate_req["responseBody"]),
                "clientAfterHydrate": {
                    "messages": hydrated["messages"],
                    "interrupts": hydrated["interrupts"],
                    "resumeState": hydrated["resumeState"],
                },
            },
            "hydrate: the 0.33 client's GET ?threadId= and what it made of the answer",
        )

        # 5. WebSocket (toWebSocketStream / resumeWebSocketStream over ws)
        for durable in (False, True):
            route = "durable" if durable else "chat"
            for scenario in ("text", "client_tool", "approval", "server_tool", "error"):
                text, tools = TANSTACK_SCENARIOS[scenario]
                run_id = f"run-ws-{scenario}{'-durable' if durable else ''}"
                url = f"{srv.ws_url}/ws/{route}?runId={run_id}"
                frames_in = _ws_turn(url, [run_input(text, run_id=run_id, tools=tools)])
                rec.write(
                    f"{base}/websocket/{scenario}{durable_tag(durable)}.json",
                    {
                        "url": url,
                        "sent": [run_input(text, run_id=run_id, tools=tools)],
                        "received": frames_in,
                    },
                    f"WebSocket /ws/{route}: one RunAgentInput frame and every frame of the turn",
                )
            # approval answered on the same socket: turn 1, then the resume frame
            run_id = f"run-ws-approval-resume{'-durable' if durable else ''}"
            url = f"{srv.ws_url}/ws/{route}?runId={run_id}"
            turn1 = run_input('delete_file {"path": "/tmp/demo.txt"}', run_id=run_id)
            with connect(url, open_timeout=10) as ws:
                got1 = _ws_collect(ws, turn1)
                finished = _payload(got1[-1]["frame"])
                interrupt = finished["outcome"]["interrupts"][0]
                snapshot = next(
                    _payload(f["frame"])
                    for f in got1
                    if _payload(f["frame"]).get("type") == "MESSAGES_SNAPSHOT"
                )
                turn2 = run_input(
                    "",
                    run_id=f"{run_id}-2",
                    messages=snapshot["messages"],
                    parentRunId=run_id,
                    resume=[
                        {
                            "interruptId": interrupt["id"],
                            "status": "resolved",
                            "payload": {"approved": True},
                        }
                    ],
                )
                got2 = _ws_collect(ws, turn2)
            rec.write(
                f"{base}/websocket/approval_resume{durable_tag(durable)}.json",
                {"url": url, "sent": [turn1, turn2], "received": [got1, got2]},
                "WebSocket: approval interrupt, then a resume frame on the same socket",
            )
        # resume a durable socket run from an offset, and an abort frame
        run_id = "run-ws-resume-durable"
        got = _ws_turn(
            f"{srv.ws_url}/ws/durable?runId={run_id}", [run_input("Hello 👋", run_id=run_id)]
        )
        offset = json.loads(got[2]["frame"])["id"]
        url = f"{srv.ws_url}/ws/durable?runId={run_id}&offset={offset}"
        with connect(url, open_timeout=10) as ws:
            replayed = []
            try:
                while True:
                    replayed.append({"frame": ws.recv(timeout=5)})
            except Exception as exc:  # the server closes the socket at the end of the log
                close = {
                    "code": getattr(ws, "close_code", None),
                    "reason": getattr(ws, "close_reason", None),
                    "ended": type(exc).__name__,
                }
        rec.write(
            f"{base}/websocket/resume-from-offset.durable.json",
            {"url": url, "original": got, "received": replayed, "close": close},
            "WebSocket reopened with ?runId=&offset=<3rd id>: replay, then the server closes",
        )
        run_id = "run-ws-abort"
        url = f"{srv.ws_url}/ws/chat?runId={run_id}"
        slow = run_input(
            "Hello there, a slower reply", run_id=run_id, forwardedProps={"delayMs": 60}
        )
        with connect(url, open_timeout=10) as ws:
            ws.send(json.dumps(slow))
            received = [{"frame": ws.recv(timeout=5)} for _ in range(3)]
            abort = {"type": "abort", "runId": run_id}
            ws.send(json.dumps(abort))
            try:
                while True:
                    received.append({"frame": ws.recv(timeout=1.0), "afterAbort": True})
            except TimeoutError:
                pass
        rec.write(
            f"{base}/websocket/abort.json",
            {"url": url, "sent": [slow, abort], "received": received},
            "WebSocket: a slow run, an abort frame after 3 frames, and what followed",
        )

        # 6. @ag-ui/client 1.0.0 reading the 0.58 server's SSE
        for scenario, (text, tools) in TANSTACK_SCENARIOS.items():
            report = run_agui_client(
                f"{srv.url}/sse/chat", run_input(text, run_id=f"run-agui-{scenario}", tools=tools)
            )
            rec.write(
                f"{base}/agui-client/{scenario}.json",
                _agui_summary(report),
                f"@ag-ui/client HttpAgent against ts058_server /sse/chat: {scenario}",
            )
        # ... and answering the 0.58 interrupts the AG-UI way (resume + parentRunId)
        answers = {
            "approval": {"approved": True},
            "client_tool": {"time": "2026-11-24T12:00:00.000Z", "timezone": "Europe/Paris"},
        }
        for scenario, payload in answers.items():
            first = events_of((rec.out / f"{base}/responses/{scenario}.sse").read_bytes(), "sse")
            snapshot = next(e for e in first if e["type"] == "MESSAGES_SNAPSHOT")
            interrupt = first[-1]["outcome"]["interrupts"][0]
            messages = list(snapshot["messages"])
            if scenario == "client_tool":
                messages.append(
                    {
                        "id": f"tool-{interrupt['toolCallId']}",
                        "role": "tool",
                        "toolCallId": interrupt["toolCallId"],
                        "content": json.dumps(payload),
                    }
                )
            resume_input = run_input(
                "",
                run_id=f"run-agui-{scenario}-resume",
                tools=TANSTACK_SCENARIOS[scenario][1],
                messages=messages,
                parentRunId=first[-1]["runId"],
                resume=[{"interruptId": interrupt["id"], "status": "resolved", "payload": payload}],
            )
            report = run_agui_client(f"{srv.url}/sse/chat", resume_input)
            rec.write(
                f"{base}/agui-client/{scenario}.resume.json",
                _agui_summary(report),
                f"@ag-ui/client HttpAgent answering the 0.58 {scenario} interrupt "
                "(messages from MESSAGES_SNAPSHOT, resume, parentRunId)",
            )


def _frames(raw: bytes, framing: str) -> list[dict[str, Any]]:
    from interop_current.harness import ndjson_lines, sse_frames

    return sse_frames(raw) if framing == "sse" else ndjson_lines(raw)


def _payload(frame: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(frame)
    return value.get("chunk", value) if "type" not in value else value


def _turn_over(event: dict[str, Any]) -> bool:
    if event.get("type") == "RUN_ERROR":
        return True
    if event.get("type") != "RUN_FINISHED":
        return False
    if (event.get("outcome") or {}).get("type") == "interrupt":
        return True
    reason = (event.get("metadata") or {}).get("tanstack", {}).get("finishReason")
    return reason != "tool_calls"


def _ws_collect(ws: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    ws.send(json.dumps(body))
    got = []
    while True:
        frame = ws.recv(timeout=10)
        got.append({"frame": frame})
        if _turn_over(_payload(frame)):
            return got


def _ws_turn(url: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with connect(url, open_timeout=10) as ws:
        got: list[dict[str, Any]] = []
        for body in bodies:
            got += _ws_collect(ws, body)
        return got


def _agui_summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "request": report["requests"][0] if report["requests"] else None,
        "response": report["responses"][0] if report["responses"] else None,
        "events": report["events"],
        # First lines only: the stack traces name this machine's paths.
        "warnings": [w.split("\n")[0] for w in report["warnings"]],
        "error": report["error"],
        "pendingInterrupts": report["pendingInterrupts"],
        "newMessages": report["newMessages"],
    }


def record_pydantic_ai(rec: Recorder) -> None:
    base = "pydantic-ai-2.78"
    with pydantic_ai_app() as app, httpx.Client(timeout=30) as http:
        sse = {"Accept": "text/event-stream"}
        for scenario, (text, tools) in PAI_SCENARIOS.items():
            body = run_input(text, run_id=f"run-{scenario}", tools=tools)
            rec.write(
                f"{base}/requests/{scenario}.body.json",
                body,
                f"the RunAgentInput posted for {scenario}",
            )
            response = http.post(f"{app.url}/", json=body, headers=sse)
            rec.response(
                f"{base}/responses/{scenario}.sse",
                response,
                f"pydantic_ai_app POST /: {scenario}",
                request=f"{base}/requests/{scenario}.body.json",
            )
            declared = run_input(
                text, run_id=f"run-{scenario}-v1", tools=tools, protocolVersion="1.0"
            )
            response = http.post(f"{app.url}/", json=declared, headers=sse)
            rec.response(
                f"{base}/responses/{scenario}.protocol-1.0.sse",
                response,
                f"the same with protocolVersion '1.0' (as @ag-ui/client sends it): {scenario}",
            )
            report = run_agui_client(
                f"{app.url}/", run_input(text, run_id=f"run-agui-{scenario}", tools=tools)
            )
            rec.write(
                f"{base}/agui-client/{scenario}.json",
                _agui_summary(report),
                f"@ag-ui/client HttpAgent against pydantic_ai_app: {scenario}",
            )

        usage = http.post(
            f"{app.url}/agui/usage", json=run_input("Hello 👋", run_id="run-usage"), headers=sse
        )
        rec.response(
            f"{base}/responses/text.include-usage.sse",
            usage,
            "POST /agui/usage (include_usage=True): text",
        )

        # frontend tool: turn 2 carries the tool result the client produced
        first = events_of((rec.out / f"{base}/responses/frontend_tool.sse").read_bytes(), "sse")
        call = next(e for e in first if e["type"] == "TOOL_CALL_START")
        args = "".join(e["delta"] for e in first if e["type"] == "TOOL_CALL_ARGS")
        parent = call.get("parentMessageId", "assistant-1")
        history = [
            {
                "id": "user-run-frontend_tool",
                "role": "user",
                "content": PAI_SCENARIOS["frontend_tool"][0],
            },
            {
                "id": parent,
                "role": "assistant",
                "toolCalls": [
                    {
                        "id": call["toolCallId"],
                        "type": "function",
                        "function": {"name": "get_time", "arguments": args},
                    }
                ],
            },
        ]
        result = {
            "id": f"tool-{call['toolCallId']}",
            "role": "tool",
            "toolCallId": call["toolCallId"],
            "content": json.dumps({"time": "2026-11-24T12:00:00.000Z", "timezone": "Europe/Paris"}),
        }
        turn2 = run_input(
            "", run_id="run-frontend_tool-2", tools=[GET_TIME], messages=[*history, result]
        )
        rec.write(
            f"{base}/requests/frontend_tool.turn2.body.json",
            turn2,
            "frontend tool: the follow-up with the tool result",
        )
        rec.response(
            f"{base}/responses/frontend_tool.turn2.sse",
            http.post(f"{app.url}/", json=turn2, headers=sse),
            "frontend tool: the answer to the follow-up",
        )
        # an error-only tool message (no content): how pydantic-ai reads it
        errored = {**result, "content": "", "error": "the user closed the dialog"}
        turn2e = run_input(
            "", run_id="run-frontend_tool-2e", tools=[GET_TIME], messages=[*history, errored]
        )
        rec.write(
            f"{base}/requests/frontend_tool.turn2-error.body.json",
            turn2e,
            "frontend tool: a follow-up whose tool message has empty content and an error field",
        )
        rec.response(
            f"{base}/responses/frontend_tool.turn2-error.sse",
            http.post(f"{app.url}/", json=turn2e, headers=sse),
            "frontend tool: follow-up whose tool message has empty content and an error field",
        )

        # approval: resume approve / deny / cancel, with and without protocolVersion 1.0
        first = events_of((rec.out / f"{base}/responses/approval.sse").read_bytes(), "sse")
        finished = first[-1]
        interrupt = finished["outcome"]["interrupts"][0]
        call = next(e for e in first if e["type"] == "TOOL_CALL_START")
        args = "".join(e["delta"] for e in first if e["type"] == "TOOL_CALL_ARGS")
        history = [
            {"id": "user-run-approval", "role": "user", "content": PAI_SCENARIOS["approval"][0]},
            {
                "id": call.get("parentMessageId", "assistant-1"),
                "role": "assistant",
                "toolCalls": [
                    {
                        "id": call["toolCallId"],
                        "type": "function",
                        "function": {"name": "delete_file", "arguments": args},
                    }
                ],
            },
        ]
        answers = {
            "approve": {
                "interruptId": interrupt["id"],
                "status": "resolved",
                "payload": {"approved": True},
            },
            "deny": {
                "interruptId": interrupt["id"],
                "status": "resolved",
                "payload": {"approved": False, "reason": "not now"},
            },
            "cancel": {"interruptId": interrupt["id"], "status": "cancelled"},
        }
        for name, answer in answers.items():
            for declared in (False, True):
                extra: dict[str, Any] = {"parentRunId": "run-approval", "resume": [answer]}
                if declared:
                    extra["protocolVersion"] = "1.0"
                body = run_input("", run_id=f"run-approval-{name}", messages=history, **extra)
                tag = ".protocol-1.0" if declared else ""
                rec.write(
                    f"{base}/requests/approval.resume-{name}{tag}.body.json",
                    body,
                    f"approval resume ({name})",
                )
                rec.response(
                    f"{base}/responses/approval.resume-{name}{tag}.sse",
                    http.post(f"{app.url}/", json=body, headers=sse),
                    f"approval: the answer to the resume ({name}{tag.replace('.', ', ')})",
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=fixtures_dir())
    args = parser.parse_args()
    for problem in (node_install_problem(), python_install_problem()):
        if problem is not None:
            sys.exit(f"record_fixtures: {problem[0]}; run `python3 dev.py setup` first")
    out: Path = args.out
    for sub in ("tanstack-0.58", "pydantic-ai-2.78"):
        shutil.rmtree(out / sub, ignore_errors=True)
    rec = Recorder(out)
    record_tanstack(rec)
    record_pydantic_ai(rec)
    rec.index.sort(key=lambda item: item["file"])
    index = {
        "recordedWith": {
            "@tanstack/ai": "0.58.0",
            "@tanstack/ai-client": "0.33.2",
            "@ag-ui/client": "1.0.0",
            "pydantic-ai-slim": "2.78.0",
            "ag-ui-protocol": "1.0.0",
        },
        "recordedAt": time.strftime("%Y-%m-%d"),
        "command": ".venv/bin/python tests/interop_current/record_fixtures.py",
        "files": rec.index,
    }
    (out / "index.json").write_text(
        json.dumps(index, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    print(f"record_fixtures: wrote {len(rec.index)} files under {out}")


if __name__ == "__main__":
    main()
