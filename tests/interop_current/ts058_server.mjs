// An HTTP + WebSocket server whose answers come from the REAL server side of
// @tanstack/ai@0.58.0: `chatParamsFromRequest`, `mergeAgentTools`, `chat()` (with
// the scripted adapter of fake_model.mjs), `toServerSentEventsResponse`,
// `toHttpResponse`, `memoryStream`, `resumeServerSentEventsResponse`,
// `resumeHttpResponse`, `toWebSocketStream` and `resumeWebSocketStream` (on a
// `ws` WebSocketServer).
//
//   node ts058_server.mjs        -> prints {"port": N} on stdout once listening on 127.0.0.1
//
// Routes (FRAMING is sse or ndjson; see README.md):
//   POST /FRAMING/chat                chat() through the helper, no durability
//   POST /FRAMING/durable             the same with `durability: {adapter: memoryStream(request)}`
//                                     (log keyed by X-Run-Id, else ?runId, else a random UUID;
//                                     a POST carrying Last-Event-ID replays the log instead)
//   GET  /FRAMING/durable?offset=O&runId=R   joinRun: resumeServerSentEventsResponse /
//                                     resumeHttpResponse over memoryStream(request)
//   GET  /FRAMING/{chat,durable}?threadId=T  hydrate. NOT from the package (0.58 ships no
//                                     hydrate handler; that lives in @tanstack/ai-persistence,
//                                     which is not on npm): a harness-made answer of the shape
//                                     the 0.33 client reads, {messages, activeRun, interrupts}
//   WS   /ws/chat?runId=R             toWebSocketStream, no durability
//   WS   /ws/durable?runId=R          toWebSocketStream with durability: memoryStream(ctx.request)
//   WS   /ws/durable?runId=R&offset=O resumeWebSocketStream (read-only replay, then close 1000)
//   GET  /requests, DELETE /requests  what was received (and answered) so far / forget it
//
// With the environment variable TS058_BEARER_TOKEN set, every /FRAMING/{chat,durable} route
// requires `Authorization: Bearer <that token>`; anything else gets a 401 JSON body (which
// never repeats what was sent) and `www-authenticate: Bearer`. Harness-made, like hydrate.
//
// chat() always gets the server tools of fake_model.mjs (get_weather; delete_file, which
// needs approval) merged with the client-declared tools of the request, plus the request's
// threadId, runId, parentRunId, state and resume. `forwardedProps.delayMs` slows every event.
//
// The server exits when its stdin reaches EOF, so it never outlives the process that
// started it (run it by hand from a terminal, not with </dev/null).

import http from 'node:http'
import {
  StreamProcessor,
  chat,
  chatParamsFromRequest,
  convertMessagesToModelMessages,
  memoryStream,
  mergeAgentTools,
  modelMessagesToUIMessages,
  resumeHttpResponse,
  resumeServerSentEventsResponse,
  toHttpResponse,
  toServerSentEventsResponse,
  toWebSocketStream,
  resumeWebSocketStream,
} from '@tanstack/ai'
import { WebSocketServer } from 'ws'
import { SERVER_TOOLS, fakeAdapter } from './fake_model.mjs'

const requests = []
const BEARER_TOKEN = process.env.TS058_BEARER_TOKEN || null
// threadId -> {messages (UIMessage[]), activeRun, interrupts} for the harness-made hydrate.
const threads = new Map()

async function readBody(req) {
  const parts = []
  for await (const part of req) parts.push(part)
  return Buffer.concat(parts).toString('utf8')
}

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(value))
}

function pairs(flat) {
  const out = []
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i], flat[i + 1]])
  return out
}

// A WHATWG Request for the helpers (memoryStream reads its headers and URL).
function toRequest(req, url, bodyRaw) {
  const headers = new Headers()
  for (const [name, value] of pairs(req.rawHeaders)) headers.append(name, value)
  const init = { method: req.method, headers }
  if (req.method !== 'GET' && req.method !== 'HEAD') init.body = bodyRaw
  return new Request(url, init)
}

// Copy a WHATWG Response onto node's response chunk by chunk (the helper's own
// bytes and timing), keeping a copy of the bytes for GET /requests. If the client
// goes away, cancelling the reader cancels the helper's stream: a plain run is
// aborted, a fresh durable run detaches and keeps writing its log.
async function sendResponse(res, response, entry) {
  const headers = {}
  response.headers.forEach((value, name) => {
    headers[name] = value
  })
  entry.status = response.status
  entry.responseHeaders = headers
  res.writeHead(response.status, headers)
  if (!response.body) return res.end()
  const reader = response.body.getReader()
  const decoder = new TextDecoder()
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
      entry.responseBody += decoder.decode(value, { stream: true })
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

// --- the harness-made hydrate record --------------------------------------------------

function threadRecord(threadId) {
  let record = threads.get(threadId)
  if (!record) {
    record = { messages: [], activeRun: null, interrupts: null }
    threads.set(threadId, record)
  }
  return record
}

// Follow one run's chunks with the package's own StreamProcessor, so the stored
// transcript is what a client would have built from the same stream.
function trackRun(stream, params) {
  const record = threadRecord(params.threadId)
  const processor = new StreamProcessor()
  try {
    processor.setMessages(
      modelMessagesToUIMessages(convertMessagesToModelMessages(params.messages)),
    )
  } catch {
    processor.setMessages(record.messages)
  }
  record.activeRun = { runId: params.runId }
  record.interrupts = null
  return (async function* () {
    try {
      for await (const chunk of stream) {
        try {
          processor.processChunk(chunk)
        } catch {
          // The transcript is best effort; the stream is what matters.
        }
        if (chunk.type === 'RUN_FINISHED' && chunk.outcome?.type === 'interrupt') {
          record.interrupts = { runId: params.runId, pending: chunk.outcome.interrupts }
        }
        yield chunk
      }
    } finally {
      try {
        processor.finalizeStream()
      } catch {
        // best effort
      }
      record.messages = processor.getMessages()
      if (record.activeRun?.runId === params.runId) record.activeRun = null
    }
  })()
}

function runChat(params, abortController) {
  const stream = chat({
    adapter: fakeAdapter({ delayMs: Number(params.forwardedProps?.delayMs) || 0 }),
    messages: params.messages,
    tools: mergeAgentTools(SERVER_TOOLS, params.tools),
    threadId: params.threadId,
    runId: params.runId,
    parentRunId: params.parentRunId,
    state: params.state,
    resume: params.resume,
    abortController,
  })
  return trackRun(stream, params)
}

// --- HTTP routes -----------------------------------------------------------------------

async function postRoute(framing, durable, request, entry) {
  const helper = framing === 'sse' ? toServerSentEventsResponse : toHttpResponse
  let params
  try {
    params = await chatParamsFromRequest(request.clone())
  } catch (thrown) {
    if (!(thrown instanceof Response)) throw thrown
    entry.aguiValid = { ok: false, error: String(thrown.cause?.message ?? thrown.cause) }
    // A durable reconnect (Last-Event-ID) replays even without a valid body.
    if (!(durable && request.headers.get('Last-Event-ID'))) return thrown
  }
  if (params) entry.aguiValid = { ok: true }
  const abortController = new AbortController()
  if (!durable) return helper(runChat(params, abortController), { abortController })
  const adapter = memoryStream(request)
  entry.durableResume = adapter.resumeFrom()
  // On a replay (resumeFrom() non-null) the helper never iterates the stream,
  // so the model does not run again.
  const stream = params ? runChat(params, abortController) : (async function* () {})()
  return helper(stream, { abortController, durability: { adapter } })
}

function getRoute(framing, durable, request, url) {
  if (url.searchParams.has('threadId') && !url.searchParams.has('offset')) {
    const record = threads.get(url.searchParams.get('threadId'))
    return Response.json(
      record
        ? { messages: record.messages, activeRun: record.activeRun, interrupts: record.interrupts }
        : { messages: [], activeRun: null, interrupts: null },
    )
  }
  if (!durable) return new Response('joinRun needs a durable route', { status: 404 })
  const resume = framing === 'sse' ? resumeServerSentEventsResponse : resumeHttpResponse
  try {
    return resume({ adapter: memoryStream(request) })
  } catch (error) {
    return new Response(String(error?.message ?? error), { status: 400 })
  }
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://127.0.0.1')
  const bodyRaw = await readBody(req)
  const route = `${req.method} ${url.pathname}`

  if (route === 'GET /requests') return json(res, 200, requests)
  if (route === 'DELETE /requests') {
    requests.length = 0
    return json(res, 200, { ok: true })
  }
  const match = /^\/(sse|ndjson)\/(chat|durable)$/.exec(url.pathname)
  if (!match || !['GET', 'POST'].includes(req.method)) {
    return json(res, 404, { error: `no route ${route}` })
  }

  const entry = {
    seq: requests.length + 1,
    kind: 'http',
    time: new Date().toISOString(),
    method: req.method,
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: req.headers,
    rawHeaders: pairs(req.rawHeaders),
    bodyRaw,
    body: null,
    aguiValid: null,
    status: null,
    responseHeaders: null,
    responseBody: '',
    disconnected: false,
  }
  requests.push(entry)
  try {
    entry.body = bodyRaw ? JSON.parse(bodyRaw) : null
  } catch {
    entry.body = null
  }
  if (BEARER_TOKEN && req.headers.authorization !== `Bearer ${BEARER_TOKEN}`) {
    const body = JSON.stringify({ error: 'Unauthorized: a valid bearer token is required' })
    entry.status = 401
    entry.responseHeaders = { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }
    entry.responseBody = body
    res.writeHead(401, entry.responseHeaders)
    return res.end(body)
  }
  const [, framing, kind] = match
  const request = toRequest(req, url, bodyRaw)
  const response =
    req.method === 'POST'
      ? await postRoute(framing, kind === 'durable', request, entry)
      : getRoute(framing, kind === 'durable', request, url)
  await sendResponse(res, response, entry)
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((error) => {
    console.error('ts058_server: handler failed:', error)
    if (!res.headersSent) json(res, 500, { error: String(error?.message ?? error) })
    else res.destroy()
  })
})

// --- WebSocket -------------------------------------------------------------------------

const wss = new WebSocketServer({ noServer: true })

server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://127.0.0.1')
  const match = /^\/ws\/(chat|durable)$/.exec(url.pathname)
  if (!match) {
    socket.destroy()
    return
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const durable = match[1] === 'durable'
    const entry = {
      seq: requests.length + 1,
      kind: 'websocket',
      time: new Date().toISOString(),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      inbound: [],
      outbound: [],
      closed: null,
    }
    requests.push(entry)
    // RunAgentInput frames by runId: the helper's ctx lacks tools/resume/parentRunId/state.
    const frames = new Map()
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${data.length} bytes>` : data.toString('utf8')
      entry.inbound.push(text)
      try {
        const frame = JSON.parse(text)
        if (frame?.type !== 'abort' && typeof frame?.runId === 'string') frames.set(frame.runId, frame)
      } catch {
        // the helper reports bad frames itself (a RUN_ERROR frame)
      }
    })
    ws.on('close', (code, reason) => {
      entry.closed = { code, reason: reason.toString('utf8') }
    })
    // Record what the helper sends, untouched.
    const send = ws.send.bind(ws)
    ws.send = (data, ...rest) => {
      entry.outbound.push(String(data))
      return send(data, ...rest)
    }
    // `ws` hands Buffers to 'message' listeners; the helper ignores non-strings,
    // so give it the WHATWG shape ({data: string}) it documents.
    const socketLike = {
      send: (data) => ws.send(data),
      close: (code, reason) => ws.close(code, reason),
      addEventListener: (type, handler) => {
        if (type === 'message') {
          ws.on('message', (data, isBinary) => handler({ data: isBinary ? data : data.toString('utf8') }))
        } else {
          ws.on(type, () => handler())
        }
      },
    }
    const request = toRequest(req, url, '')
    if (durable && url.searchParams.has('offset')) {
      resumeWebSocketStream(socketLike, { adapter: memoryStream(request) })
      return
    }
    toWebSocketStream(socketLike, request, {
      onRun: (ctx) => {
        const abortController = new AbortController()
        ctx.signal.addEventListener('abort', () => abortController.abort(), { once: true })
        const frame = frames.get(ctx.runId) ?? {}
        return runChat(
          {
            messages: ctx.messages,
            threadId: ctx.threadId,
            runId: ctx.runId,
            forwardedProps: ctx.forwardedProps,
            tools: Array.isArray(frame.tools) ? frame.tools : [],
            parentRunId: frame.parentRunId,
            state: frame.state,
            resume: frame.resume,
          },
          abortController,
        )
      },
      durability: durable ? (ctx) => memoryStream(ctx.request) : undefined,
    })
  })
})

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`)
})

process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
