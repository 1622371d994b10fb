// Feed a file of SSE or NDJSON bytes to the REAL ChatClient of
// @tanstack/ai-client@0.10.0 and measure how fast it processes them.
//
//   node ts_bench_client.mjs --file stream.sse --framing sse [--max-seconds 30]
//                            [--chunk-bytes 65536]
//
// prints one JSON line:
//   {framing, events, seconds, eventsPerSecond, peakRssBytes, finalTextLength,
//    complete, capped, status, error}
//
// The bytes reach the client through the real fetchServerSentEvents /
// fetchHttpStream adapter, whose `fetchClient` hook is given a Response that
// streams the file from disk: no socket and no server, so the time measured is
// the adapter's line parsing plus the ChatClient's processing. `events` counts
// the chunks the client handed to onChunk. The 0.10 client yields to a timer
// after every chunk (about 1 ms each), so large inputs are slow: with
// --max-seconds the run stops at the cap and reports the partial throughput
// (events so far / elapsed) with `capped: true`. `finalTextLength` is the number
// of code points (like Python's len()) in the assistant messages' text parts.

import fs from 'node:fs'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { ChatClient, fetchHttpStream, fetchServerSentEvents } from '@tanstack/ai-client'

const { values: opts } = parseArgs({
  options: {
    file: { type: 'string' },
    framing: { type: 'string', default: 'sse' },
    'max-seconds': { type: 'string', default: '60' },
    'chunk-bytes': { type: 'string', default: '65536' },
  },
})
if (!opts.file) throw new Error('--file is required')
if (!['sse', 'ndjson'].includes(opts.framing)) throw new Error('--framing must be sse or ndjson')
const maxMs = Number(opts['max-seconds']) * 1000

// Parse warnings for malformed lines would otherwise go to stderr per line.
let warnings = 0
console.warn = () => {
  warnings++
}

const fetchClient = async () => {
  const file = fs.createReadStream(opts.file, { highWaterMark: Number(opts['chunk-bytes']) })
  return new Response(Readable.toWeb(file), { status: 200 })
}
const makeAdapter = opts.framing === 'sse' ? fetchServerSentEvents : fetchHttpStream
const inner = makeAdapter('http://bench.invalid/chat', { fetchClient })

let fromAdapter = 0
const connection = {
  async *connect(...args) {
    for await (const chunk of inner.connect(...args)) {
      fromAdapter++
      yield chunk
    }
  },
}

let events = 0
let lastChunkAt = 0
const client = new ChatClient({
  connection,
  onChunk: () => {
    events++
    lastChunkAt = performance.now()
  },
})

function codePoints(text) {
  let n = 0
  for (const _ of text) n++
  return n
}

const started = performance.now()
client.sendMessage('benchmark').catch(() => {})

let capped = false
for (;;) {
  await new Promise((resolve) => setTimeout(resolve, 20))
  if (!client.getIsLoading() && events >= fromAdapter) break
  if (performance.now() - started >= maxMs) {
    capped = true
    break
  }
}
// A finished run ends with its last chunk (the 20 ms poll would only add slack);
// a capped one at the cap.
const seconds = ((capped || !events ? performance.now() : lastChunkAt) - started) / 1000
if (capped) client.stop()

let finalTextLength = 0
for (const message of client.getMessages()) {
  if (message.role !== 'assistant') continue
  for (const part of message.parts) {
    if (part.type === 'text') finalTextLength += codePoints(part.content)
  }
}

const error = client.getError()
const result = {
  framing: opts.framing,
  events,
  seconds,
  eventsPerSecond: seconds > 0 ? events / seconds : null,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
  finalTextLength,
  complete: !capped,
  capped,
  status: client.getStatus(),
  error: error ? error.message : null,
  parseWarnings: warnings,
}
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0))
