// Run the REAL `HttpAgent` of @ag-ui/client@1.0.0 once against a URL and print one
// JSON document (one line): every event its pipeline delivered (after its transform,
// enforcement and verification stages), every console line it printed, and the
// error that ended the run, if any (a verifier violation, an HTTP error, ...).
//
//   node agui_client.mjs --config '{"url": "http://127.0.0.1:8000/", "input": {...}}'
//   echo '{"url": ..., "input": {...}}' | node agui_client.mjs --config -
//
// Config keys:
//   url        the endpoint (POST, Accept: text/event-stream)
//   input      a RunAgentInput: threadId, runId, messages, state, tools, context,
//              forwardedProps, and optionally resume and parentRunId. The agent is built
//              with threadId/messages/state and run with runAgent({runId, tools, context,
//              forwardedProps, resume}); parentRunId (which runAgent has no parameter for)
//              is added by a middleware.
//   headers    extra request headers
//   timeoutMs  abort the run after this long (default 30000)
//
// Output: {events, warnings, error, requests: [{url, headers, body}], responses:
// [{status, headers, body}], newMessages, messages, pendingInterrupts, result, timedOut}.

import { parseArgs } from 'node:util'
import { HttpAgent } from '@ag-ui/client'

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

const { values: cli } = parseArgs({ options: { config: { type: 'string' } } })
if (!cli.config) throw new Error('--config JSON (or - for stdin) is required')
const config = JSON.parse(cli.config === '-' ? await readStdin() : cli.config)
const input = config.input ?? {}
if (!config.url) throw new Error('config.url is required')

const requests = []
const responses = []
const bodies = []
const recordingFetch = async (url, init) => {
  requests.push({
    url: String(url),
    headers: Object.fromEntries(new Headers(init?.headers ?? {})),
    body: typeof init?.body === 'string' ? JSON.parse(init.body) : null,
  })
  const response = await fetch(url, init)
  const record = {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: null,
  }
  responses.push(record)
  bodies.push(
    response
      .clone()
      .text()
      .then((text) => {
        record.body = text
      })
      .catch(() => {}),
  )
  return response
}

const agent = new HttpAgent({
  url: config.url,
  headers: config.headers ?? {},
  fetch: recordingFetch,
  threadId: input.threadId,
  initialMessages: input.messages ?? [],
  initialState: input.state ?? {},
})
if (input.parentRunId !== undefined) {
  agent.use((runInput, next) => next.run({ ...runInput, parentRunId: input.parentRunId }))
}

const events = []
let error = null
let result = null
let timedOut = false
const abortController = new AbortController()
const timer = setTimeout(() => {
  timedOut = true
  abortController.abort()
}, Number(config.timeoutMs ?? 30000))

try {
  const run = await agent.runAgent(
    {
      runId: input.runId,
      tools: input.tools ?? [],
      context: input.context ?? [],
      forwardedProps: input.forwardedProps ?? {},
      ...(input.resume !== undefined ? { resume: input.resume } : {}),
      abortController,
    },
    {
      onEvent: ({ event }) => {
        events.push(JSON.parse(JSON.stringify(event)))
      },
    },
  )
  result = { result: run.result ?? null, newMessages: run.newMessages }
} catch (thrown) {
  error = { name: thrown?.name ?? null, message: String(thrown?.message ?? thrown) }
}
clearTimeout(timer)
await Promise.race([Promise.all(bodies), new Promise((r) => setTimeout(r, 1000))])

const doc = {
  events,
  warnings,
  error,
  requests,
  responses,
  newMessages: result?.newMessages ?? [],
  messages: agent.messages,
  pendingInterrupts: agent.pendingInterrupts,
  result: result?.result ?? null,
  timedOut,
}
process.stdout.write(`${JSON.stringify(doc)}\n`, () => process.exit(0))
