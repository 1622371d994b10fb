// The real @tanstack/ai-client@0.33.2 ChatClient with its `webSocket()` adapter, headless.
//
//   echo '{"url": "ws://127.0.0.1:PORT/ws", "messages": ["Hello"], "tools": ["get_time"]}' \
//     | node ts033_ws_client.mjs
//
// Sends each message after the previous turn settled (not loading, no tool running, quiet
// for `settleMs`). `stopAfterText`: index of a message to stop (client.stop()) as soon as
// its reply has text. Prints one JSON document: {messages, chunks, status, error,
// toolExecutions, warnings, timedOut, harnessError}.

import { ChatClient, webSocket } from '@tanstack/ai-client'

const warnings = []
const show = (value) =>
  typeof value === 'string' ? value : String(value?.stack ?? JSON.stringify(value))
for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
  console[level] = (...args) => {
    warnings.push(`${level}: ${args.map(show).join(' ')}`)
  }
}

const parts = []
for await (const part of process.stdin) parts.push(part)
const opts = {
  messages: [],
  tools: [],
  timeoutMs: 20000,
  settleMs: 150,
  stopAfterText: -1,
  ...JSON.parse(Buffer.concat(parts).toString('utf8')),
}

const toolExecutions = []
const running = new Set()
const CLIENT_TOOLS = {
  get_time: {
    description: 'Get the current time (client tool).',
    inputSchema: { type: 'object', properties: { timezone: { type: 'string' } }, required: [] },
    execute: async ({ timezone = 'UTC' } = {}) => ({ time: '2026-11-24T12:00:00.000Z', timezone }),
  },
}
function clientTool(name) {
  const spec = CLIENT_TOOLS[name]
  return {
    __toolSide: 'client',
    name,
    description: spec.description,
    inputSchema: spec.inputSchema,
    execute: async (input) => {
      const record = { name, input }
      toolExecutions.push(record)
      const run = spec.execute(input)
      running.add(run)
      try {
        record.output = await run
        return record.output
      } finally {
        running.delete(run)
      }
    },
  }
}

const chunks = []
let lastActivity = Date.now()
const touch = () => {
  lastActivity = Date.now()
}
const client = new ChatClient({
  connection: webSocket(opts.url),
  tools: opts.tools.map(clientTool),
  onChunk: (chunk) => {
    chunks.push(chunk)
    touch()
  },
  onStatusChange: touch,
  onLoadingChange: touch,
})

const plain = (value) => JSON.parse(JSON.stringify(value ?? null))
const idle = () => !client.getIsLoading() && running.size === 0

async function settled() {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    if (!idle()) touch()
    else if (Date.now() - lastActivity >= opts.settleMs) return
  }
}

async function stopOnText(index) {
  const before = client.getMessages().length
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 5))
    const last = client.getMessages().slice(before).find((m) => m.role === 'assistant')
    if (last?.parts?.some((p) => p.type === 'text' && p.content)) {
      client.stop()
      return
    }
  }
}

async function conversation() {
  for (const [index, text] of opts.messages.entries()) {
    const sending = client.sendMessage(text)
    if (index === opts.stopAfterText) await stopOnText(index)
    await sending
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
const error = client.getError()
const doc = {
  messages: plain(client.getMessages()),
  chunks,
  status: client.getStatus(),
  error: error ? { name: error.name, message: error.message } : null,
  toolExecutions,
  warnings,
  timedOut,
  harnessError,
}
process.stdout.write(`${JSON.stringify(doc)}\n`, () => process.exit(0))
