// A deterministic fake text adapter for the real `chat()` of @tanstack/ai@0.18.0.
//
// `chat()` only needs an object with `kind: 'text'`, `name`, `model` and a
// `chatStream(options)` that yields AG-UI events (the `TextAdapter` interface in
// node_modules/@tanstack/ai/src/activities/chat/adapter.ts). The event shapes
// below copy what the real provider adapters emit (see the fixture scenarios
// `text`, `tools` and `reasoning`), so the agent loop, tool execution and the
// server helpers all run their real code paths. No network, no randomness:
// the reply depends only on the conversation.
//
// Rules, applied to the last message `chat()` hands us:
//   role 'tool'                      -> text: "The <tool> tool returned <content>."
//   user text contains "boom"        -> some text, then the adapter throws
//                                       (Error 'Model failure: boom', code 'model_error')
//   user text names a tool given to  -> a short text, then a call of that tool with the
//   chat() (server or client tool)      first {...} JSON object in the text as arguments
//                                       (or {}), finishReason 'tool_calls'
//   user text contains "think"       -> reasoning (REASONING_* + mirrored STEP_* events,
//                                       the Anthropic adapter's shape), then the echo
//   anything else                    -> text: 'You said: "<text>"'

import { setTimeout as delay } from 'node:timers/promises'

export const MODEL = 'harness-model'
const USAGE = { promptTokens: 12, completionTokens: 34, totalTokens: 46 }

// Resolves after ms, or at once when the request is aborted.
const sleep = (ms, signal) => (ms ? delay(ms, undefined, { signal }).catch(() => {}) : undefined)

function textOf(content) {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return ''
  return content
    .filter((p) => p && p.type === 'text')
    .map((p) => p.content ?? p.text ?? '')
    .join('')
}

// Word-sized pieces, so a reply arrives as several TEXT_MESSAGE_CONTENT deltas.
function pieces(text) {
  return text.match(/\S+\s*|\s+/g) ?? []
}

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

// Whole-word match, so a tool called `add` is not triggered by "address".
function mentions(text, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return new RegExp(`(^|[^\\w])${escaped}($|[^\\w])`).test(text)
}

function toolNameFor(messages, toolCallId) {
  for (const m of messages) {
    for (const tc of m.toolCalls ?? []) {
      if (tc.id === toolCallId) return tc.function.name
    }
  }
  return 'unknown'
}

/**
 * @param {{delayMs?: number}} opts delayMs: pause before every event after the first
 *   (lets tests stop or disconnect mid-stream).
 */
export function fakeAdapter({ delayMs = 0 } = {}) {
  // chat() calls chatStream once per agent-loop iteration; one counter per
  // request numbers the messages and tool calls like the fixtures do.
  let seq = 0

  async function* chatStream(options) {
    const runId = options.runId ?? `run-${Date.now()}`
    const threadId = options.threadId
    const signal = options.request?.signal
    const n = ++seq
    const messageId = `msg-${runId}-${n}`
    let first = true
    const ev = async (event) => {
      if (!first) await sleep(delayMs, signal)
      first = false
      return { ...event, model: MODEL, timestamp: Date.now() }
    }

    async function* text(reply) {
      yield await ev({ type: 'TEXT_MESSAGE_START', messageId, role: 'assistant' })
      let content = ''
      for (const delta of pieces(reply)) {
        content += delta
        yield await ev({ type: 'TEXT_MESSAGE_CONTENT', messageId, delta, content })
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
      yield await ev({
        type: 'TOOL_CALL_START',
        toolCallId,
        toolCallName: tool.name,
        toolName: tool.name,
        index: 0,
      })
      let sent = ''
      for (const delta of [args.slice(0, half), args.slice(half)]) {
        if (!delta) continue
        sent += delta
        yield await ev({ type: 'TOOL_CALL_ARGS', toolCallId, delta, args: sent })
      }
      yield await ev({
        type: 'TOOL_CALL_END',
        toolCallId,
        toolCallName: tool.name,
        toolName: tool.name,
        input: JSON.parse(args),
      })
      yield await finished('tool_calls')
      return
    }

    if (lower.includes('think')) {
      const reasoningId = `reasoning-${runId}-${n}`
      const stepName = `step-${runId}-${n}`
      yield await ev({ type: 'REASONING_START', messageId: reasoningId })
      yield await ev({ type: 'REASONING_MESSAGE_START', messageId: reasoningId, role: 'reasoning' })
      yield await ev({ type: 'STEP_STARTED', stepName, stepId: stepName, stepType: 'thinking' })
      let content = ''
      for (const delta of ['Thinking ', 'it over… ', '✔']) {
        content += delta
        yield await ev({ type: 'REASONING_MESSAGE_CONTENT', messageId: reasoningId, delta })
        yield await ev({ type: 'STEP_FINISHED', stepName, stepId: stepName, delta, content })
      }
      yield await ev({ type: 'REASONING_MESSAGE_END', messageId: reasoningId })
      yield await ev({ type: 'REASONING_END', messageId: reasoningId })
    }

    yield* text(`You said: "${said}"`)
    yield await finished('stop')
  }

  return {
    kind: 'text',
    name: 'harness',
    model: MODEL,
    chatStream,
    structuredOutput: async () => {
      throw new Error('structured output is not supported by the harness adapter')
    },
  }
}

// Server-side tools the chat routes always offer (client tools from the request
// body are merged in with mergeAgentTools; the server wins on a name clash).
export const SERVER_TOOLS = [
  {
    name: 'get_weather',
    description: 'Get the current weather for a city (server tool).',
    inputSchema: {
      type: 'object',
      properties: { city: { type: 'string' } },
      required: [],
    },
    execute: async ({ city = 'Zürich' } = {}) => ({
      city,
      temperature: 21,
      condition: 'sunny ☀️',
    }),
  },
]
