// The REAL Vercel AI SDK client (ai@7.0.185), headless in Node: `AbstractChat` (what
// useChat wraps) with an in-memory `ChatState`, over `DefaultChatTransport`, against a
// chatconduit server's Vercel UI message stream.
//
//   node vercel_client.mjs <url> <text> [<second text>]
//
// Prints one JSON line: {messages, status, error, requests} where `messages` are the
// chat's UIMessages after each turn finished and `requests` the bodies the transport
// POSTed (captured by a fetch wrapper).

import { AbstractChat, DefaultChatTransport } from 'ai'

const [url, ...texts] = process.argv.slice(2)

class MemoryState {
  constructor() {
    this.status = 'ready'
    this.error = undefined
    this.messages = []
  }
  pushMessage(message) { this.messages = [...this.messages, message] }
  popMessage() { this.messages = this.messages.slice(0, -1) }
  replaceMessage(index, message) {
    this.messages = this.messages.map((m, i) => (i === index ? message : m))
  }
  snapshot(thing) { return structuredClone(thing) }
}

class HeadlessChat extends AbstractChat {
  constructor(init) { super({ ...init, state: new MemoryState() }) }
}

const requests = []
const transport = new DefaultChatTransport({
  api: url,
  fetch: async (input, init) => {
    requests.push(JSON.parse(init.body))
    return fetch(input, init)
  },
})

const errors = []
const chat = new HeadlessChat({ transport, onError: (error) => errors.push(String(error)) })
for (const text of texts) {
  await chat.sendMessage({ text })
}
process.stdout.write(
  JSON.stringify({ messages: chat.messages, status: chat.status, errors, requests }) + '\n',
)
