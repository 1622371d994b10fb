// The TanStack peer of bench_server.py: the real @tanstack/ai@0.58.0 server helpers
// (`chatParamsFromRequest` to read the AG-UI request, `toServerSentEventsResponse` to
// stream) serving the same scripted events as bench_server_load.py's chat_endpoint agent,
// on node's http server (one process, one thread: the peer of one uvicorn worker).
//
//   node bench_server_js.mjs <port> <events> <interval_ms>
//
// POST /chat  RUN_STARTED, TEXT_MESSAGE_START, <events> TEXT_MESSAGE_CONTENT deltas
//             <interval_ms> apart (0: back to back), TEXT_MESSAGE_END, RUN_FINISHED;
//             RUN_STARTED and every delta carry `emittedNs` (wall clock, ns) as extras
// GET /health "ok"
// The server exits when its stdin reaches EOF, so it never outlives its parent.
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = path.join(
  here, "..", "tests", "interop_current", "node_modules", "@tanstack", "ai", "dist", "esm", "index.js",
);
const { chatParamsFromRequest, toServerSentEventsResponse } = await import(pathToFileURL(entry).href);

const [portText, eventsText, intervalText, stampText = "1"] = process.argv.slice(2);
const EVENTS = Number(eventsText);
const INTERVAL = Number(intervalText);
// emittedNs on every STAMP_EVERY-th delta only (bench_server_load.py's --stamp-every).
const STAMP_EVERY = Number(stampText);
const WORDS = ["Once ", "upon ", "a ", "time, ", "a ", "café ", "served ", "naïve ", "tokens. "];

// Wall-clock nanoseconds, comparable with Python's time.time_ns() in the load generator.
const nowNs = () => Math.round((performance.timeOrigin + performance.now()) * 1e6);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function* agent(params) {
  const ids = { threadId: params.threadId, runId: params.runId };
  yield { type: "RUN_STARTED", ...ids, emittedNs: nowNs() };
  yield { type: "TEXT_MESSAGE_START", messageId: "m1", role: "assistant" };
  for (let i = 0; i < EVENTS; i++) {
    if (INTERVAL > 0) await sleep(INTERVAL);
    const delta = { type: "TEXT_MESSAGE_CONTENT", messageId: "m1", delta: WORDS[i % WORDS.length] };
    if (i % STAMP_EVERY === 0) delta.emittedNs = nowNs();
    yield delta;
  }
  yield { type: "TEXT_MESSAGE_END", messageId: "m1" };
  yield { type: "RUN_FINISHED", ...ids, finishReason: "stop" };
}

async function readBody(req) {
  const parts = [];
  for await (const part of req) parts.push(part);
  return Buffer.concat(parts).toString("utf8");
}

// Copy the helper's WHATWG Response onto node's response, chunk by chunk.
async function send(res, response) {
  const headers = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  res.writeHead(response.status, headers);
  if (!response.body) return res.end();
  const reader = response.body.getReader();
  res.on("close", () => {
    if (!res.writableFinished) reader.cancel().catch(() => {});
  });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) {
        await new Promise((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      }
    }
  } catch {
    // the client went away
  }
  res.end();
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://127.0.0.1");
  const body = await readBody(req);
  if (req.method === "GET" && url.pathname === "/health") {
    res.writeHead(200, { "content-type": "text/plain" });
    return res.end("ok");
  }
  if (req.method !== "POST" || url.pathname !== "/chat") {
    res.writeHead(404);
    return res.end();
  }
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
  const request = new Request(`http://127.0.0.1${req.url}`, { method: "POST", headers, body });
  let params;
  try {
    params = await chatParamsFromRequest(request);
  } catch (thrown) {
    if (thrown instanceof Response) return send(res, thrown);
    throw thrown;
  }
  const abortController = new AbortController();
  return send(res, toServerSentEventsResponse(agent(params), { abortController }));
});
server.maxConnections = 100000;
server.listen(Number(portText), "127.0.0.1", 4096);
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
