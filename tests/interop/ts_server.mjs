// A Node HTTP server whose responses are made by the REAL server helpers of
// @tanstack/ai@0.18.0 (`toServerSentEventsResponse`, `toHttpResponse`,
// `chatParamsFromRequest`, `mergeAgentTools`, `chat`).
//
//   node ts_server.mjs            -> prints {"port": N} on stdout once listening
//
// Routes (see README.md):
//   PUT    /script            set the events of the scripted routes (JSON, below)
//   POST   /sse/scripted      stream the script through toServerSentEventsResponse
//   POST   /ndjson/scripted   stream the script through toHttpResponse
//   POST   /sse/chat          real chat() agent loop with the fake model, SSE framing
//   POST   /ndjson/chat       the same, NDJSON framing
//   GET    /requests          every request received so far (JSON array)
//   DELETE /requests          forget them
//
// A script is {events: [...], delayMs?, throwAfter?, throwMessage?, throwCode?,
// status?, errorBody?, headers?}: `throwAfter: n` makes the source throw after n
// events (the helper then appends its own RUN_ERROR); `status` (non-2xx) answers
// a plain-text error instead of a stream; "{{runId}}"/"{{threadId}}" in event
// strings become the request body's ids. PUT an array of scripts to answer
// successive requests with successive scripts (the last one repeats).
//
// The server exits when its stdin reaches EOF, so it never outlives the test
// process that started it (run it by hand from a terminal, not with </dev/null).

import http from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import {
  chat,
  chatParamsFromRequest,
  chatParamsFromRequestBody,
  mergeAgentTools,
  toHttpResponse,
  toServerSentEventsResponse,
} from '@tanstack/ai'
import { SERVER_TOOLS, fakeAdapter } from './fake_adapter.mjs'

const requests = []
let scripts = []

// Resolves after ms, or at once when the signal aborts (the client went away).
const sleep = (ms, signal) => delay(ms, undefined, { signal }).catch(() => {})

async function readBody(req) {
  const parts = []
  for await (const part of req) parts.push(part)
  return Buffer.concat(parts).toString('utf8')
}

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(value))
}

// Copy a WHATWG Response (what the helpers return) onto node's response,
// streaming the body chunk by chunk so the bytes and their timing are the
// helper's own. If the client goes away, cancelling the reader cancels the
// helper's ReadableStream, which aborts the abortController handed to it.
async function sendResponse(res, response, entry) {
  const headers = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  res.writeHead(response.status, response.statusText || undefined, headers)
  if (!response.body) return res.end()
  const reader = response.body.getReader()
  res.on('close', () => {
    if (!res.writableFinished) {
      entry.disconnected = true
      reader.cancel().catch(() => {})
    }
  })
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (!res.write(value)) {
        await new Promise((resolve) => {
          res.once('drain', resolve)
          res.once('close', resolve)
        })
      }
    }
  } catch {
    // The stream errored after a disconnect: nothing left to send.
  }
  res.end()
}

// "{{runId}}" and "{{threadId}}" inside the script's strings become the ids of
// the request being answered, as a real server's events would carry them.
function fillIds(events, body) {
  let text = JSON.stringify(events)
  for (const key of ['runId', 'threadId']) {
    const value = typeof body?.[key] === 'string' ? body[key] : ''
    text = text.replaceAll(`{{${key}}}`, JSON.stringify(value).slice(1, -1))
  }
  return JSON.parse(text)
}

async function* scriptedEvents(script, signal) {
  const fail = () => {
    const error = new Error(script.throwMessage ?? 'Scripted failure')
    if (script.throwCode !== undefined) error.code = script.throwCode
    return error
  }
  const events = script.events ?? []
  for (let i = 0; i < events.length; i++) {
    if (script.throwAfter === i) throw fail()
    if (i > 0 && script.delayMs) await sleep(script.delayMs, signal)
    if (signal.aborted) return
    yield events[i]
  }
  if (script.throwAfter != null) throw fail()
}

function frame(framing, stream, init) {
  return framing === 'sse'
    ? toServerSentEventsResponse(stream, init)
    : toHttpResponse(stream, init)
}

async function scriptedRoute(framing, entry) {
  const script = scripts.length > 1 ? scripts.shift() : scripts[0]
  if (!script) {
    return new Response('No script set: PUT /script first', { status: 409 })
  }
  // Record whether the real parser accepts this body; the scripted routes
  // answer regardless, so clients can be tested on any body.
  try {
    await chatParamsFromRequestBody(entry.body)
    entry.aguiValid = { ok: true }
  } catch (error) {
    entry.aguiValid = { ok: false, error: error.message }
  }
  if (script.status && (script.status < 200 || script.status > 299)) {
    return new Response(script.errorBody ?? 'Scripted HTTP failure', {
      status: script.status,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    })
  }
  const abortController = new AbortController()
  const events = scriptedEvents(
    { ...script, events: fillIds(script.events ?? [], entry.body) },
    abortController.signal,
  )
  return frame(framing, events, { abortController, headers: script.headers })
}

async function chatRoute(framing, entry) {
  let params
  try {
    // chatParamsFromRequest throws a ready-made 400 Response on a bad body,
    // with the underlying error on `.cause`: send it as is.
    params = await chatParamsFromRequest(
      new Request('http://harness/chat', { method: 'POST', body: entry.bodyRaw }),
    )
  } catch (thrown) {
    if (!(thrown instanceof Response)) throw thrown
    entry.aguiValid = { ok: false, error: String(thrown.cause?.message ?? thrown.cause) }
    return thrown
  }
  entry.aguiValid = { ok: true }
  const abortController = new AbortController()
  const stream = chat({
    adapter: fakeAdapter({ delayMs: Number(params.forwardedProps.delayMs) || 0 }),
    messages: params.messages,
    tools: mergeAgentTools(SERVER_TOOLS, params.tools),
    threadId: params.threadId,
    runId: params.runId,
    abortController,
  })
  return frame(framing, stream, { abortController })
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://harness')
  const bodyRaw = await readBody(req)
  const route = `${req.method} ${url.pathname}`

  if (route === 'GET /requests') return json(res, 200, requests)
  if (route === 'DELETE /requests') {
    requests.length = 0
    return json(res, 200, { ok: true })
  }
  if (route === 'PUT /script') {
    const value = JSON.parse(bodyRaw)
    scripts = Array.isArray(value) ? value : [value]
    return json(res, 200, { ok: true, scripts: scripts.length })
  }

  const match = /^POST \/(sse|ndjson)\/(scripted|chat)$/.exec(route)
  if (!match) return json(res, 404, { error: `no route ${route}` })

  const entry = {
    seq: requests.length + 1,
    time: new Date().toISOString(),
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    httpVersion: req.httpVersion,
    headers: req.headers,
    rawHeaders: pairs(req.rawHeaders),
    bodyRaw,
    body: null,
    bodyError: null,
    aguiValid: null,
    status: null,
    disconnected: false,
  }
  requests.push(entry)
  try {
    entry.body = JSON.parse(bodyRaw)
  } catch (error) {
    entry.bodyError = error.message
  }
  const [, framing, kind] = match
  const response = await (kind === 'chat' ? chatRoute : scriptedRoute)(framing, entry)
  entry.status = response.status
  await sendResponse(res, response, entry)
}

function pairs(flat) {
  const out = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]])
  return out
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error('ts_server: handler failed:', error)
    if (!res.headersSent) json(res, 500, { error: String(error?.message ?? error) })
    else res.destroy()
  })
})

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
})

// Exit with the parent: stdin closes when the process that spawned us dies.
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
