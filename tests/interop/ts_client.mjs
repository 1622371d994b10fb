// Drive the REAL ChatClient of @tanstack/ai-client@0.10.0 against a URL and
// print one JSON document describing everything it saw.
//
//   node ts_client.mjs --url http://127.0.0.1:8000/api/chat [options] "first message" "second"...
//
// Options:
//   --transport sse|ndjson     fetchServerSentEvents (default) or fetchHttpStream
//   --header "Name: value"     extra request header (repeatable), e.g. Authorization
//   --body JSON                ChatClient `body` option (lands in forwardedProps)
//   --forwarded-props JSON     ChatClient `forwardedProps` option
//   --tool NAME                register a client tool from CLIENT_TOOLS below (repeatable)
//   --thread-id ID             fixed threadId (default: the client's random one)
//   --timeout-ms N             give up after N ms in total (default 30000)
//   --settle-ms N              a turn is over once the client has been idle this long (default 100)
//
// Each message is sent with `sendMessage` once the previous turn has settled
// (client idle, every chunk the adapter yielded processed, no client tool running),
// so automatic continuations after client tools are part of the turn.
// stdout carries only the final JSON document; console output of the packages is
// captured into `warnings`.

import { parseArgs } from 'node:util'
import { ChatClient, fetchHttpStream, fetchServerSentEvents } from '@tanstack/ai-client'

// The packages report dropped lines etc. on the console; keep stdout for the report.
const warnings = []
const show = (value) =>
  typeof value === 'string' ? value : String(value?.stack ?? JSON.stringify(value))
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => {
    warnings.push(`${level}: ${args.map(show).join(' ')}`)
  }
}

const { values: opts, positionals: userMessages } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' },
    transport: { type: 'string', default: 'sse' },
    header: { type: 'string', multiple: true, default: [] },
    body: { type: 'string' },
    'forwarded-props': { type: 'string' },
    tool: { type: 'string', multiple: true, default: [] },
    'thread-id': { type: 'string' },
    'timeout-ms': { type: 'string', default: '30000' },
    'settle-ms': { type: 'string', default: '100' },
  },
})
if (!opts.url) throw new Error('--url is required')
if (!['sse', 'ndjson'].includes(opts.transport)) {
  throw new Error('--transport must be sse or ndjson')
}

const toolExecutions = []
const running = new Set()

// Client tools with deterministic results. The wrapper records each call and
// lets the settle check see tool executions that are still running.
const CLIENT_TOOLS = {
  get_time: {
    description: 'Get the current time (client tool).',
    inputSchema: { type: 'object', properties: { timezone: { type: 'string' } }, required: [] },
    execute: async ({ timezone = 'UTC' } = {}) => ({ time: '2026-11-24T12:00:00.000Z', timezone }),
  },
  add: {
    description: 'Add two numbers (client tool).',
    inputSchema: {
      type: 'object',
      properties: { a: { type: 'number' }, b: { type: 'number' } },
      required: ['a', 'b'],
    },
    execute: async ({ a, b }) => ({ sum: a + b }),
  },
  fail_tool: {
    description: 'A client tool that always throws.',
    inputSchema: { type: 'object', properties: {}, required: [] },
    execute: async () => {
      throw new Error('fail_tool failed on purpose')
    },
  },
  // Advertised but without `execute`: the client does nothing when it is called.
  ask_user: {
    description: 'A client tool the app would answer itself (no execute).',
    inputSchema: { type: 'object', properties: { question: { type: 'string' } }, required: [] },
  },
}

function clientTool(name) {
  const spec = CLIENT_TOOLS[name]
  if (!spec) {
    throw new Error(`unknown --tool ${name}; known: ${Object.keys(CLIENT_TOOLS).join(', ')}`)
  }
  const tool = { name, description: spec.description, inputSchema: spec.inputSchema }
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

const headers = {}
for (const line of opts.header) {
  const at = line.indexOf(':')
  if (at < 1) throw new Error(`--header must be "Name: value", got ${line}`)
  headers[line.slice(0, at).trim()] = line.slice(at + 1).trim()
}

// Record every request the adapter makes (through its documented fetchClient hook).
const requests = []
const fetchClient = (url, init) => {
  requests.push({ url: String(url), headers: init.headers, body: JSON.parse(init.body) })
  return fetch(url, init)
}
const makeAdapter = opts.transport === 'sse' ? fetchServerSentEvents : fetchHttpStream
const inner = makeAdapter(opts.url, { headers, fetchClient })

// Count what the adapter yields, so "settled" can mean "everything yielded was processed".
let chunksFromAdapter = 0
const connection = {
  async *connect(...args) {
    for await (const chunk of inner.connect(...args)) {
      chunksFromAdapter++
      yield chunk
    }
  },
}

const chunks = []
const statusHistory = []
const onErrorCalls = []
const customEvents = []
let onFinishCalls = 0
let lastActivity = Date.now()

const client = new ChatClient({
  connection,
  threadId: opts['thread-id'],
  body: opts.body ? JSON.parse(opts.body) : undefined,
  forwardedProps: opts['forwarded-props'] ? JSON.parse(opts['forwarded-props']) : undefined,
  tools: opts.tool.map(clientTool),
  onChunk: (chunk) => {
    chunks.push(chunk)
    lastActivity = Date.now()
  },
  onStatusChange: (status) => {
    statusHistory.push(status)
    lastActivity = Date.now()
  },
  onLoadingChange: () => {
    lastActivity = Date.now()
  },
  onFinish: () => {
    onFinishCalls++
  },
  onError: (error) => {
    onErrorCalls.push(error.message)
  },
  onCustomEvent: (name, value, context) => {
    customEvents.push({ name, value, context })
  },
})

const settleMs = Number(opts['settle-ms'])
function isIdle() {
  return !client.getIsLoading() && chunks.length >= chunksFromAdapter && running.size === 0
}
async function settled() {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    if (!isIdle()) lastActivity = Date.now()
    else if (Date.now() - lastActivity >= settleMs) return
  }
}

async function conversation() {
  for (const text of userMessages) {
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
  }, Number(opts['timeout-ms']))
})
try {
  await Promise.race([conversation(), timeout])
} catch (error) {
  harnessError = String(error?.stack ?? error)
}
clearTimeout(timer)
if (timedOut) client.stop()

const error = client.getError()
const doc = {
  transport: opts.transport,
  messages: client.getMessages(),
  chunks,
  status: client.getStatus(),
  error: error ? { name: error.name, message: error.message } : null,
  statusHistory,
  onFinishCalls,
  onErrorCalls,
  customEvents,
  toolExecutions,
  requestCount: requests.length,
  requests,
  chunksFromAdapter,
  isLoading: client.getIsLoading(),
  connectionStatus: client.getConnectionStatus(),
  warnings,
  timedOut,
  harnessError,
}
// Exit explicitly: the devtools event client keeps a retry timer alive for a while.
process.stdout.write(`${JSON.stringify(doc)}\n`, () => process.exit(0))
