// The TanStack JS peer of bench_sockets.py: @tanstack/ai-client@0.33.2's
// fetchServerSentEvents / fetchHttpStream `connect()` over real loopback sockets.
//
//   node bench_sockets_js.mjs <url> <sse|ndjson> <streams>
//
// Opens <streams> connections at once (each its own connect(), as N chat windows
// would), counts TEXT_MESSAGE_CONTENT chunks, and prints one JSON line:
// {"events": total chunks, "content": content chunks, "wall": seconds, "cpu": user+system
// seconds, "rss_mb": peak RSS}.
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const entry = path.join(
  here, "..", "tests", "interop_current", "node_modules", "@tanstack", "ai-client", "dist", "esm", "index.js",
);
const { fetchServerSentEvents, fetchHttpStream } = await import(pathToFileURL(entry).href);

const [url, framing, streamsText] = process.argv.slice(2);
const streams = Number(streamsText);
const make = framing === "ndjson" ? fetchHttpStream : fetchServerSentEvents;
const messages = [{ id: "u1", role: "user", parts: [{ type: "text", content: "benchmark" }] }];

async function one() {
  const adapter = make(url); // every conversation of an app posts to the same url
  let events = 0;
  let content = 0;
  for await (const chunk of adapter.connect(messages)) {
    events += 1;
    if (chunk.type === "TEXT_MESSAGE_CONTENT") content += 1;
  }
  return [events, content];
}

const start = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
const results = await Promise.all(Array.from({ length: streams }, () => one()));
const wall = Number(process.hrtime.bigint() - start) / 1e9;
const cpuUsed = process.cpuUsage(cpuStart);
const cpu = (cpuUsed.user + cpuUsed.system) / 1e6; // all of node's threads, GC included
let events = 0;
let content = 0;
for (const [e, c] of results) {
  events += e;
  content += c;
}
const rssMb = process.resourceUsage().maxRSS / 1024;
console.log(JSON.stringify({ events, content, wall, cpu, rss_mb: rssMb }));
