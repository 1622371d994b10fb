// A deterministic, scripted text adapter for the real `chat()` of @tanstack/ai@0.58.0.
//
// `chat()` needs an object with `kind: 'text'`, `name`, `model` and
// `chatStream(options)` yielding AG-UI events (the `TextAdapter` interface in
// node_modules/@tanstack/ai/src/activities/chat/adapter.ts); the engine wraps
// them in its own RUN_STARTED / RUN_FINISHED bookkeeping, moves non-spec keys
// into `metadata.tanstack` and runs tools, approvals and interrupts itself. No
// network, no randomness: the reply depends only on the conversation.
//
// Rules, applied to the last message `chat()` hands the adapter:
//   role 'tool'                        -> text: "The <tool> tool returned <content>."
//   user text contains "boom"          -> some text, then the adapter throws
//                                         (Error 'Model failure: boom', code 'model_error')
//   user text names a tool `chat()`    -> a short text, then a call of that tool with the
//   was given (whole word)                first {...} JSON object in the text as arguments
//                                         (or {}), finishReason 'tool_calls'
//   user text contains "think"         -> REASONING_* events first, then the echo
//   anything else                      -> text: 'You said: "<text>"'
//
// Server tools (always offered by ts058_server.mjs):
//   get_weather     executes on the server
//   delete_file     executes on the server after the user approves (needsApproval)
// Client tools come from the request's `tools` (declared by the client, no execute).

import { setTimeout as delay } from 'node:timers/promises'

export const MODEL = 'fake-058'
const USAGE = { promptTokens: 12, completionTokens: 34, totalTokens: 46 }

const sleep = (ms, signal) => (ms ? delay(ms, undefined, { signal }).catch(() => {}) : undefined)

function textOf(content) {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return content == null ? '' : JSON.stringify(content)
  return content
    .filter((p) => p && p.type === 'text')
    .map((p) => p.content ?? p.text ?? '')
    .join('')
}

// Word-sized pieces, so a reply arrives as several TEXT_MESSAGE_CONTENT deltas.
const pieces = (text) => text.match(/\S+\s*|\s+/g) ?? []

function firstJsonObject(text) {
  const start = text.indexOf('{')
  const end = text.lastIndexOf('}')
  if (start < 0 || end < start) return {}
  try {
    const value = JSON.parse(text.slice(start, end + 1))
    return value && typeof value === 'object' ? value : {}
  } catch {
    return {}
  }
}

function mentions(text, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(^|[^\\w])${escaped}($|[^\\w])`).test(text)
}

function toolNameFor(messages, toolCallId) {
  for (const m of messages) {
    for (const tc of m.toolCalls ?? []) {
      if (tc.id === toolCallId) return tc.function?.name ?? tc.name ?? 'unknown'
    }
  }
  return 'unknown'
}

/** @param {{delayMs?: number}} opts delayMs: pause before every event after the first. */
export function fakeAdapter({ delayMs = 0 } = {}) {
  let iteration = 0

  async function* chatStream(options) {
    const runId = options.runId ?? 'run-unknown'
    const threadId = options.threadId
    const signal = options.abortController?.signal
    const n = ++iteration
    const messageId = `msg-${runId}-${n}`
    let first = true
    const ev = async (event) => {
      if (!first) await sleep(delayMs, signal)
      first = false
      return { ...event, model: MODEL, timestamp: Date.now() }
    }

    async function* text(reply) {
      yield await ev({ type: 'TEXT_MESSAGE_START', messageId, role: 'assistant' })
      for (const delta of pieces(reply)) {
        yield await ev({ type: 'TEXT_MESSAGE_CONTENT', messageId, delta })
      }
      yield await ev({ type: 'TEXT_MESSAGE_END', messageId })
    }
    const finished = (finishReason) =>
      ev({ type: 'RUN_FINISHED', runId, threadId, finishReason, usage: USAGE })

    yield await ev({ type: 'RUN_STARTED', runId, threadId })

    const last = options.messages.at(-1) ?? { role: 'user', content: '' }
    if (last.role === 'tool') {
      const name = toolNameFor(options.messages, last.toolCallId)
      yield* text(`The ${name} tool returned ${textOf(last.content) || 'nothing'}.`)
      yield await finished('stop')
      return
    }

    const said = textOf(last.content)
    const lower = said.toLowerCase()

    if (lower.includes('boom')) {
      yield* text('About to fail ')
      const error = new Error('Model failure: boom')
      error.code = 'model_error'
      throw error
    }

    const tool = (options.tools ?? []).find((t) => mentions(said, t.name))
    if (tool) {
      const toolCallId = `call-${runId}-${n}`
      const args = JSON.stringify(firstJsonObject(said))
      const half = Math.ceil(args.length / 2)
      yield* text(`Let me use ${tool.name}.`)
      yield await ev({ type: 'TOOL_CALL_START', toolCallId, toolCallName: tool.name, index: 0 })
      for (const delta of [args.slice(0, half), args.slice(half)]) {
        if (delta) yield await ev({ type: 'TOOL_CALL_ARGS', toolCallId, delta })
      }
      yield await ev({
        type: 'TOOL_CALL_END',
        toolCallId,
        toolCallName: tool.name,
        input: JSON.parse(args),
      })
      yield await finished('tool_calls')
      return
    }

    if (lower.includes('think')) {
      const reasoningId = `reasoning-${runId}-${n}`
      yield await ev({ type: 'REASONING_START', messageId: reasoningId })
      yield await ev({ type: 'REASONING_MESSAGE_START', messageId: reasoningId, role: 'reasoning' })
      for (const delta of ['Thinking ', 'it over… ', '✔']) {
        yield await ev({ type: 'REASONING_MESSAGE_CONTENT', messageId: reasoningId, delta })
      }
      yield await ev({ type: 'REASONING_MESSAGE_END', messageId: reasoningId })
      yield await ev({ type: 'REASONING_END', messageId: reasoningId })
    }

    yield* text(`You said: "${said}"`)
    yield await finished('stop')
  }

  return {
    kind: 'text',
    name: 'fake',
    model: MODEL,
    chatStream,
    structuredOutput: async () => {
      throw new Error('structured output is not supported by the fake adapter')
    },
  }
}

export const SERVER_TOOLS = [
  {
    name: 'get_weather',
    description: 'Get the current weather for a city (server tool).',
    inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: [] },
    execute: async ({ city = 'Zürich' } = {}) => ({ city, temperature: 21, condition: 'sunny ☀️' }),
  },
  {
    name: 'delete_file',
    description: 'Delete a file (server tool that needs the user to approve it).',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: [] },
    needsApproval: true,
    execute: async ({ path = '/tmp/x' } = {}) => ({ deleted: path }),
  },
]
