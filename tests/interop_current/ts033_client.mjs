// Drive the REAL ChatClient of @tanstack/ai-client@0.33.2 headless in Node against a
// URL and print one JSON document (one line) describing everything it did and saw.
//
//   node ts033_client.mjs --url http://127.0.0.1:8000/sse/chat [options] -- "first message" "second"...
//   node ts033_client.mjs --config '{"url": ..., "messages": [...], ...}'   (same keys, camelCase)
//   echo '{...}' | node ts033_client.mjs --config -                       (config on stdin)
//
// Options:
//   --transport sse|ndjson|ws  fetchServerSentEvents (default), fetchHttpStream or webSocket
//                              (push shape; each RunAgentInput frame it sends is a request)
//   --header "Name: value"     extra request header (repeatable)
//   --forwarded-props JSON     ChatClient `forwardedProps`
//   --tool NAME                client tool from CLIENT_TOOLS below (repeatable)
//   --thread-id ID             fixed threadId (required by --persistence)
//   --persistence MODE         none (default) | memory (a storage adapter kept in this
//                              process; its record is printed as `persisted`) | server
//                              (`persistence: true`: hydrate from the server on attach)
//   --persisted JSON           initial record for the memory adapter (simulates a reload)
//   --attach                   call client.attach() first (the UI-mount lifecycle: hydrate /
//                              rejoin); implied by --persistence memory|server
//   --rejoin-run ID            re-join the run ID through the connection's joinRun (the
//                              client's `initialResumeSnapshot` {resumeState: {threadId, runId}},
//                              as after a reload mid-run); implies --attach
//   --approval MODE            none (default: leave interrupts pending) | approve | deny |
//                              cancel: answer every pending tool-approval interrupt
//   --timeout-ms N             give up after N ms in total (default 30000)
//   --settle-ms N              a turn is over once the client has been idle this long (default 150)
//   --stop-after-chunks N      call client.stop() once N chunks reached onChunk (once; the
//                              report's `stoppedAfterChunks` says when it did)
//
// Each message is sent with `sendMessage` once the previous turn has settled (client
// idle, every adapter chunk processed, no client tool running, no interrupt submission
// in flight, approvals answered), so automatic continuations belong to their turn.
// stdout carries only the final JSON document; the packages' console output is
// captured into `warnings`.

import { parseArgs } from 'node:util'
import { ChatClient, fetchHttpStream, fetchServerSentEvents, webSocket } from '@tanstack/ai-client'

const warnings = []
const show = (value) =>
  typeof value === 'string' ? value : String(value?.stack ?? JSON.stringify(value))
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => {
    warnings.push(`${level}: ${args.map(show).join(' ')}`)
  }
}

async function readStdin() {
  const parts = []
  for await (const part of process.stdin) parts.push(part)
  return Buffer.concat(parts).toString('utf8')
}

const { values: cli, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    config: { type: 'string' },
    url: { type: 'string' },
    transport: { type: 'string' },
    header: { type: 'string', multiple: true, default: [] },
    'forwarded-props': { type: 'string' },
    tool: { type: 'string', multiple: true, default: [] },
    'thread-id': { type: 'string' },
    persistence: { type: 'string' },
    persisted: { type: 'string' },
    attach: { type: 'boolean' },
    'rejoin-run': { type: 'string' },
    approval: { type: 'string' },
    'timeout-ms': { type: 'string' },
    'settle-ms': { type: 'string' },
    'stop-after-chunks': { type: 'string' },
  },
})

const fromConfig = cli.config
  ? JSON.parse(cli.config === '-' ? await readStdin() : cli.config)
  : {}
const headersFromCli = {}
for (const line of cli.header) {
  const at = line.indexOf(':')
  if (at < 1) throw new Error(`--header must be "Name: value", got ${line}`)
  headersFromCli[line.slice(0, at).trim()] = line.slice(at + 1).trim()
}
const opts = {
  url: cli.url ?? fromConfig.url,
  transport: cli.transport ?? fromConfig.transport ?? 'sse',
  headers: { ...(fromConfig.headers ?? {}), ...headersFromCli },
  forwardedProps: cli['forwarded-props']
    ? JSON.parse(cli['forwarded-props'])
    : fromConfig.forwardedProps,
  tools: cli.tool.length ? cli.tool : (fromConfig.tools ?? []),
  threadId: cli['thread-id'] ?? fromConfig.threadId,
  persistence: cli.persistence ?? fromConfig.persistence ?? 'none',
  persisted: cli.persisted ? JSON.parse(cli.persisted) : fromConfig.persisted,
  attach: cli.attach ?? fromConfig.attach ?? false,
  rejoinRunId: cli['rejoin-run'] ?? fromConfig.rejoinRunId,
  approval: cli.approval ?? fromConfig.approval ?? 'none',
  timeoutMs: Number(cli['timeout-ms'] ?? fromConfig.timeoutMs ?? 30000),
  settleMs: Number(cli['settle-ms'] ?? fromConfig.settleMs ?? 150),
  stopAfterChunks: Number(cli['stop-after-chunks'] ?? fromConfig.stopAfterChunks ?? 0),
  messages: positionals.length ? positionals : (fromConfig.messages ?? []),
}
if (!opts.url) throw new Error('--url is required')
if (!['sse', 'ndjson', 'ws'].includes(opts.transport)) throw new Error('--transport: sse, ndjson or ws')
if (!['none', 'memory', 'server'].includes(opts.persistence)) {
  throw new Error('--persistence: none, memory or server')
}
if (!['none', 'approve', 'deny', 'cancel'].includes(opts.approval)) {
  throw new Error('--approval: none, approve, deny or cancel')
}

// --- client tools ----------------------------------------------------------------------

const toolExecutions = []
const running = new Set()
const CLIENT_TOOLS = {
  get_time: {
    description: 'Get the current time (client tool).',
    inputSchema: { type: 'object', properties: { timezone: { type: 'string' } }, required: [] },
    execute: async ({ timezone = 'UTC' } = {}) => ({ time: '2026-11-24T12:00:00.000Z', timezone }),
  },
  fail_tool: {
    description: 'A client tool that always throws.',
    inputSchema: { type: 'object', properties: {}, required: [] },
    execute: async () => {
      throw new Error('fail_tool failed on purpose')
    },
  },
  // The server's approval tool, declared on the client too (same inputSchema, so the
  // client binds its interrupt as a typed 'tool-approval'; without it: 'generic').
  delete_file: {
    description: 'Delete a file (server tool that needs the user to approve it).',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: [] },
    needsApproval: true,
  },
  // Declared, but without `execute`: the interrupt stays pending.
  ask_user: {
    description: 'A client tool the app answers itself (no execute).',
    inputSchema: { type: 'object', properties: { question: { type: 'string' } }, required: [] },
  },
}

function clientTool(name) {
  const spec = CLIENT_TOOLS[name]
  if (!spec) throw new Error(`unknown tool ${name}; known: ${Object.keys(CLIENT_TOOLS)}`)
  const tool = {
    __toolSide: 'client',
    name,
    description: spec.description,
    inputSchema: spec.inputSchema,
  }
  if (spec.needsApproval) tool.needsApproval = true
  if (spec.execute) {
    tool.execute = async (input) => {
      const record = { name, input }
      toolExecutions.push(record)
      const run = spec.execute(input)
      running.add(run)
      try {
        record.output = await run
        return record.output
      } catch (error) {
        record.error = error.message
        throw error
      } finally {
        running.delete(run)
      }
    }
  }
  return tool
}

// --- capture every request and response through the adapters' fetchClient hook ---------

const requests = []
const pendingBodies = []
const fetchClient = async (url, init = {}) => {
  const headers = {}
  new Headers(init.headers ?? {}).forEach((value, name) => {
    headers[name] = value
  })
  const record = {
    url: String(url),
    method: init.method ?? 'GET',
    headers,
    body: typeof init.body === 'string' ? JSON.parse(init.body) : null,
    status: null,
    responseHeaders: null,
    responseBody: null,
    error: null,
  }
  requests.push(record)
  let response
  try {
    response = await fetch(url, init)
  } catch (error) {
    record.error = String(error?.message ?? error)
    throw error
  }
  record.status = response.status
  record.responseHeaders = {}
  response.headers.forEach((value, name) => {
    record.responseHeaders[name] = value
  })
  pendingBodies.push(
    response
      .clone()
      .text()
      .then((text) => {
        record.responseBody = text
      })
      .catch((error) => {
        record.responseBody = `<unreadable: ${error?.message ?? error}>`
      }),
  )
  return response
}

// WebSocket: every frame each way, in order, per socket (the adapter sets `onmessage`; a
// listener added first sees the same frames).
const sockets = []
class RecordingWebSocket extends WebSocket {
  constructor(target, protocols) {
    super(target, protocols)
    const record = { url: String(target), frames: [], closed: null }
    sockets.push(record)
    this.record = record
    this.addEventListener('message', (event) => record.frames.push(['in', String(event.data)]))
    this.addEventListener('close', (event) => {
      record.closed = { code: event.code, reason: event.reason }
    })
  }
  send(data) {
    this.record.frames.push(['out', String(data)])
    super.send(data)
  }
}

// One "request" per RunAgentInput frame: its socket, body and the frames that came back
// before the next one (the socket carries several turns, so there is no status line).
function socketRequests() {
  const found = []
  for (const [socketIndex, record] of sockets.entries()) {
    let current = null
    for (const [direction, data] of record.frames) {
      if (direction === 'out') {
        const body = JSON.parse(data)
        if (body.type === 'abort') continue
        current = { url: record.url, socket: socketIndex, body, status: null, responseFrames: [] }
        found.push(current)
      } else if (current) current.responseFrames.push(data)
    }
  }
  for (const request of found) request.responseBody = request.responseFrames.join('\n')
  return found
}

// Count what the adapter yields, so "settled" can mean "everything yielded was processed".
let chunksFromAdapter = 0
const counted = (iterable) =>
  (async function* () {
    for await (const chunk of iterable) {
      chunksFromAdapter++
      yield chunk
    }
  })()
let connection
if (opts.transport === 'ws') {
  const inner = webSocket(opts.url, { WebSocketImpl: RecordingWebSocket })
  connection = {
    subscribe: (...args) => counted(inner.subscribe(...args)),
    send: (...args) => inner.send(...args),
    joinRun: (...args) => counted(inner.joinRun(...args)),
  }
} else {
  const makeAdapter = opts.transport === 'sse' ? fetchServerSentEvents : fetchHttpStream
  const inner = makeAdapter(opts.url, { headers: opts.headers, fetchClient })
  connection = {
    connect: (...args) => counted(inner.connect(...args)),
    joinRun: (...args) => counted(inner.joinRun(...args)),
    hydrate: (...args) => inner.hydrate(...args),
  }
}

// --- persistence -------------------------------------------------------------------------

let persisted = opts.persisted ?? null
const persistenceWrites = []
const memoryPersistence = {
  getItem: () => persisted,
  setItem: (_id, value) => {
    persisted = JSON.parse(JSON.stringify(value))
    persistenceWrites.push(persisted)
  },
  removeItem: () => {
    persisted = null
  },
}

// --- the client ----------------------------------------------------------------------------

const chunks = []
const statusHistory = []
const onErrorCalls = []
const customEvents = []
const interruptHistory = []
let onFinishCalls = 0
let stoppedAfterChunks = null
let droppedAtStop = 0
let lastActivity = Date.now()
const touch = () => {
  lastActivity = Date.now()
}

const options = {
  connection,
  threadId: opts.threadId,
  forwardedProps: opts.forwardedProps,
  tools: opts.tools.map(clientTool),
  onChunk: (chunk) => {
    chunks.push(chunk)
    touch()
    if (opts.stopAfterChunks && stoppedAfterChunks === null && chunks.length >= opts.stopAfterChunks) {
      stoppedAfterChunks = chunks.length
      // Outside the client's own chunk handling, as a UI's stop button would be.
      setTimeout(() => {
        client.stop()
        // What the adapter had already yielded and the stopped turn will never process.
        droppedAtStop = Math.max(0, chunksFromAdapter - chunks.length)
      }, 0)
    }
  },
  onStatusChange: (status) => {
    statusHistory.push(status)
    touch()
  },
  onLoadingChange: touch,
  onFinish: () => {
    onFinishCalls++
  },
  onError: (error) => {
    onErrorCalls.push(error.message)
  },
  onCustomEvent: (name, value, context) => {
    customEvents.push({ name, value, context })
  },
  onInterruptStateChange: (state, context) => {
    interruptHistory.push({ source: context.source, interrupts: plain(state.interrupts) })
    touch()
  },
}
if (opts.persistence === 'server') options.persistence = true
if (opts.rejoinRunId) {
  // What a reload mid-run restores: the run to re-join, no pending interrupt.
  options.initialResumeSnapshot = {
    resumeState: { threadId: opts.threadId ?? 'thread-rejoin', runId: opts.rejoinRunId },
    pendingInterrupts: [],
  }
  if (!options.threadId) options.threadId = 'thread-rejoin'
}
if (opts.persistence === 'memory') options.persistence = memoryPersistence
const client = new ChatClient(options)

function plain(value) {
  return JSON.parse(JSON.stringify(value ?? null))
}

function isIdle() {
  return (
    !client.getIsLoading() &&
    chunks.length + droppedAtStop >= chunksFromAdapter &&
    running.size === 0 &&
    !client.getInterruptState().resuming
  )
}

const answered = new Set()
function answerApprovals() {
  if (opts.approval === 'none') return false
  // Typed approvals ('tool-approval': the client declares the tool) and untyped ones
  // ('generic' with reason 'tool_call': a server-only tool) are both answered.
  const isApproval = (i) =>
    i.kind === 'tool-approval' || (i.kind === 'generic' && i.reason === 'tool_call')
  const pending = client
    .getInterrupts()
    .filter((i) => isApproval(i) && i.status === 'pending' && !answered.has(i.id))
  if (pending.length === 0) return false
  for (const i of pending) answered.add(i.id)
  if (opts.approval === 'cancel') {
    client.cancelInterrupts()
    return true
  }
  const approved = opts.approval === 'approve'
  client.resolveInterrupts((i) => {
    if (i.kind === 'tool-approval') i.resolveInterrupt(approved)
    else i.resolveInterrupt({ approved })
    return undefined
  })
  return true
}

async function settled() {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    if (!isIdle()) touch()
    else if (Date.now() - lastActivity >= opts.settleMs) {
      if (answerApprovals()) {
        touch()
        continue
      }
      return
    }
  }
}

async function conversation() {
  if (opts.attach || opts.rejoinRunId || opts.persistence !== 'none') {
    client.attach()
    await settled()
  }
  for (const text of opts.messages) {
    await client.sendMessage(text)
    await settled()
  }
}

let timedOut = false
let harnessError = null
let timer
const timeout = new Promise((resolve) => {
  timer = setTimeout(() => {
    timedOut = true
    resolve()
  }, opts.timeoutMs)
})
try {
  await Promise.race([conversation(), timeout])
} catch (error) {
  harnessError = String(error?.stack ?? error)
}
clearTimeout(timer)
if (timedOut) client.stop()
await Promise.race([Promise.all(pendingBodies), new Promise((r) => setTimeout(r, 1000))])

const error = client.getError()
const doc = {
  transport: opts.transport,
  threadId: opts.threadId ?? null,
  messages: plain(client.getMessages()),
  chunks,
  status: client.getStatus(),
  error: error ? { name: error.name, message: error.message } : null,
  statusHistory,
  onFinishCalls,
  onErrorCalls,
  customEvents,
  toolExecutions,
  interrupts: plain(client.getInterrupts()),
  interruptHistory,
  interruptErrors: plain(client.getInterruptState().interruptErrors),
  resumeState: plain(client.getResumeState()),
  requestCount: opts.transport === 'ws' ? socketRequests().length : requests.length,
  requests: opts.transport === 'ws' ? socketRequests() : requests,
  sockets,
  chunksFromAdapter,
  isLoading: client.getIsLoading(),
  connectionStatus: client.getConnectionStatus(),
  persisted,
  persistenceWrites: persistenceWrites.length,
  warnings,
  stoppedAfterChunks,
  timedOut,
  harnessError,
}
// Exit explicitly: the devtools event client may keep a retry timer alive.
process.stdout.write(`${JSON.stringify(doc)}\n`, () => process.exit(0))
