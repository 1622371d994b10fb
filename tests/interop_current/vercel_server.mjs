// An HTTP server whose answers come from the REAL server side of the Vercel AI SDK
// (ai@7.0.185): `streamText(...)` with the mock language model of `ai/test`,
// `convertToModelMessages` / `validateUIMessages` reading the request body, and
// `pipeUIMessageStreamToResponse` (what `toUIMessageStreamResponse()` writes) or
// `pipeTextStreamToResponse` (a plain text stream).
//
//   node vercel_server.mjs   -> prints {"port": N} on stdout once listening on 127.0.0.1
//
// Routes:
//   POST /chat         a useChat backend. The scripted model reads the last message:
//                      a tool result -> text quoting it; "location" -> a call of the client
//                      tool get_location (no execute: the client runs it); "calc" -> a call
//                      of the server tool calculator (executed here, then a text step);
//                      "delete" -> delete_file, which needs approval; "fail" -> the model
//                      throws (an `error` chunk); anything else -> reasoning, then text.
//   POST /text         the same model's text as a plain text stream (text/plain)
//   GET  /requests     the request bodies received so far
//
// The server exits when its stdin reaches EOF.

import http from 'node:http'
import {
  convertToModelMessages,
  jsonSchema,
  stepCountIs,
  streamText,
  tool,
  validateUIMessages,
} from 'ai'
import { MockLanguageModelV4, simulateReadableStream } from 'ai/test'

const usage = {
  inputTokens: { total: 3, noCache: 3, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 10, text: 10, reasoning: undefined },
}
const finish = (unified) => ({ type: 'finish', finishReason: { unified, raw: undefined }, usage })

function textChunks(id, text) {
  const pieces = text.match(/.{1,6}/gs) ?? []
  return [
    { type: 'text-start', id },
    ...pieces.map((delta) => ({ type: 'text-delta', id, delta })),
    { type: 'text-end', id },
  ]
}

function callChunks(toolCallId, toolName, input) {
  const json = JSON.stringify(input)
  return [
    { type: 'tool-input-start', id: toolCallId, toolName },
    { type: 'tool-input-delta', id: toolCallId, delta: json.slice(0, 5) },
    { type: 'tool-input-delta', id: toolCallId, delta: json.slice(5) },
    { type: 'tool-input-end', id: toolCallId },
    { type: 'tool-call', toolCallId, toolName, input: json },
  ]
}

function lastText(prompt) {
  const last = prompt[prompt.length - 1]
  if (!last || !Array.isArray(last.content)) return ''
  return last.content.filter((p) => p.type === 'text').map((p) => p.text).join('')
}

function script(prompt) {
  const last = prompt[prompt.length - 1]
  if (last && last.role === 'tool') {
    const result = last.content.find((p) => p.type === 'tool-result')
    const value = result ? JSON.stringify(result.output.value ?? result.output) : 'nothing'
    return [...textChunks('t2', `The tool said ${value}.`), finish('stop')]
  }
  const text = lastText(prompt)
  if (text.includes('fail')) throw new Error('the mock model failed on purpose')
  if (text.includes('location')) {
    return [...callChunks('call-loc-1', 'get_location', { precision: 'city' }), finish('tool-calls')]
  }
  if (text.includes('calc')) {
    return [...callChunks('call-calc-1', 'calculator', { expression: '6*7' }), finish('tool-calls')]
  }
  if (text.includes('delete')) {
    return [...callChunks('call-del-1', 'delete_file', { path: '/tmp/x' }), finish('tool-calls')]
  }
  return [
    { type: 'reasoning-start', id: 'r1' },
    { type: 'reasoning-delta', id: 'r1', delta: 'The user said ' },
    { type: 'reasoning-delta', id: 'r1', delta: 'hello.' },
    { type: 'reasoning-end', id: 'r1' },
    ...textChunks('t1', `Hello from the AI SDK! You said: ${text}`),
    finish('stop'),
  ]
}

const model = new MockLanguageModelV4({
  doStream: async ({ prompt }) => ({ stream: simulateReadableStream({ chunks: script(prompt) }) }),
})

const tools = {
  get_location: tool({
    description: 'Where the user is (runs in the client)',
    inputSchema: jsonSchema({ type: 'object', properties: { precision: { type: 'string' } } }),
  }),
  calculator: tool({
    description: 'Evaluates a product',
    inputSchema: jsonSchema({ type: 'object', properties: { expression: { type: 'string' } } }),
    execute: async ({ expression }) => {
      const [a, b] = expression.split('*').map(Number)
      return { value: a * b }
    },
  }),
  delete_file: tool({
    description: 'Deletes a file (needs approval)',
    inputSchema: jsonSchema({ type: 'object', properties: { path: { type: 'string' } } }),
    needsApproval: true,
    execute: async ({ path }) => ({ deleted: path }),
  }),
}

const received = []

async function readBody(req) {
  const chunks = []
  for await (const chunk of req) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/requests') {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(received))
      return
    }
    const raw = await readBody(req)
    const body = JSON.parse(raw)
    received.push({ path: req.url, body })
    const messages = await validateUIMessages({ messages: body.messages, tools })
    const result = streamText({
      model,
      messages: await convertToModelMessages(messages, { tools }),
      tools,
      stopWhen: stepCountIs(3),
    })
    if (req.url === '/text') {
      result.pipeTextStreamToResponse(res)
    } else {
      result.pipeUIMessageStreamToResponse(res, {
        sendReasoning: true,
        originalMessages: messages,
        onError: (error) => String(error?.message ?? error),
      })
    }
  } catch (error) {
    res.writeHead(400, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: String(error?.message ?? error) }))
  }
})

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n')
})
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
