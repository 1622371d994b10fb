// The playground page: the real @tanstack/ai-client ChatClient, wired to the chat
// view, the inspector, the settings panel and the keyboard. `window.playground`
// exposes read-only state for the browser tests (the runs, the frame times).

import { ChatClient, fetchHttpStream, fetchServerSentEvents } from '@tanstack/ai-client'
import { ChatView } from './chat.js'
import { coalescing } from './coalesce.js'
import { Inspector } from './inspector.js'
import { FrameMeter } from './frames.js'
import { BRIDGED, readSettings, renderSettings } from './settings.js'
import { recordingFetch } from './wire.js'

const config = JSON.parse(document.getElementById('playground-config').textContent)
const $ = (selector) => document.querySelector(selector)

const inspector = new Inspector($('#inspector'))
const frames = new FrameMeter()
const view = new ChatView($('#messages'), {
  onApprove: (interrupt, approved) => {
    client.resolveInterrupts((i) => {
      if (i.id !== interrupt.id) return undefined
      if (i.kind === 'tool-approval') i.resolveInterrupt(approved)
      else i.resolveInterrupt({ approved })
      return undefined
    })
    $('#prompt').focus()
  },
})

// "Ask the user": a client tool the page declares and answers from a text box.
const askUser = {
  __toolSide: 'client',
  name: 'ask_user',
  description: 'Ask the person at the keyboard a question and wait for the answer.',
  inputSchema: {
    type: 'object',
    properties: { question: { type: 'string', description: 'what to ask' } },
    required: ['question'],
  },
  execute: (input, context) => view.ask(context?.toolCallId ?? String(Math.random()), input),
}
// The demo's approval-gated server tool, declared so its approval arrives typed.
const deleteFile = {
  __toolSide: 'client',
  name: 'delete_file',
  description: 'Delete a file (a server tool that needs the user to approve it).',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: [] },
  needsApproval: true,
}

let settings = readSettings(config)
const clientStats = { chunks: 0, merged: 0 }
let client = null

function showError(error) {
  const run = inspector.log.current
  const banner = $('#error-banner')
  const status = run?.httpStatus && run.httpStatus >= 400 ? run.httpStatus : null
  banner.querySelector('.status').textContent = status ? `HTTP ${status}` : 'Error'
  banner.querySelector('.message').textContent = error?.message ?? String(error)
  const body = banner.querySelector('.body')
  body.textContent = ''
  banner.hidden = false
  // The error body is read from the same response; it may arrive a moment later.
  const fill = () => {
    if (run?.errorBody != null) body.textContent = run.errorBody
    else if (status) setTimeout(fill, 50)
  }
  fill()
}

function proxyHeaders() {
  const extra = {}
  if (settings.protocol in BRIDGED) extra['x-chatconduit-protocol'] = settings.protocol
  if (settings.protocol === 'openai') extra['x-chatconduit-model'] = settings.model
  return extra
}

function connection() {
  const target =
    settings.useProxy && config.proxy
      ? {
          shown: (url) => url,
          route: (url, init) => [
            new URL(config.proxy, document.baseURI).href,
            {
              ...init,
              headers: {
                ...Object.fromEntries(new Headers(init.headers ?? {})),
                ...proxyHeaders(),
                'x-chatconduit-target': new URL(url, document.baseURI).href,
              },
            },
          ],
        }
      : null
  const fetchClient = recordingFetch({
    framing: settings.framing,
    target,
    rewriteBody:
      settings.protocol === 'ag-ui'
        ? // What @ag-ui/client sends: the spec's keys and a protocol version, no TanStack `data`.
          ({ data, ...body }) => ({ ...body, protocolVersion: '1.0' })
        : null,
    hooks: {
      onRequest: (request) => {
        inspector.log.request(request)
        frames.start()
      },
      onResponse: (request, response) => inspector.log.response(request, response),
      onItem: (request, item) => inspector.log.item(request, item),
      onEnd: (request, how, text) => inspector.log.end(request, how, text),
    },
  })
  const adapter = settings.framing === 'ndjson' ? fetchHttpStream : fetchServerSentEvents
  return coalescing(
    adapter(settings.url, () => ({ headers: settings.headers, fetchClient })),
    clientStats,
  )
}

function createClient(initialMessages) {
  client?.stop()
  client = new ChatClient({
    connection: connection(),
    tools: [askUser, deleteFile],
    initialMessages,
    onMessagesChange: (messages) => view.update(messages),
    onLoadingChange: (loading) => {
      document.body.classList.toggle('loading', loading)
      view.setStreaming(loading)
      $('#stop').disabled = !loading
      if (!loading) frames.stop()
    },
    onError: (error) => showError(error),
    onInterruptStateChange: (state) => view.setInterrupts(state.interrupts),
  })
  view.update(client.getMessages())
}

function send() {
  const prompt = $('#prompt')
  const text = prompt.value.trim()
  if (!text) return
  prompt.value = ''
  $('#error-banner').hidden = true
  client.sendMessage(text)
}

function stop() {
  client.stop()
  view.dropQuestions()
  frames.stop()
}

$('#composer').addEventListener('submit', (event) => {
  event.preventDefault()
  send()
})
$('#prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    send()
  }
})
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && client.getIsLoading()) {
    event.preventDefault()
    stop()
  }
})
$('#stop').addEventListener('click', stop)
$('#retry').addEventListener('click', () => {
  $('#error-banner').hidden = true
  client.reload()
})
$('#dismiss-error').addEventListener('click', () => {
  $('#error-banner').hidden = true
})
for (const button of document.querySelectorAll('.try')) {
  button.addEventListener('click', () => {
    $('#prompt').value = button.dataset.prompt
    $('#prompt').focus()
  })
}

renderSettings($('#settings'), config, settings, (next) => {
  settings = next
  createClient(client?.getMessages() ?? [])
})
createClient([])

window.playground = {
  runs: () => inspector.log.runs,
  events: (run) => (run ? inspector.log.runs[run - 1] : inspector.log.current)?.events.map((e) => ({ type: e.type, id: e.id, payload: e.payload })) ?? [],
  frames: () => frames.report(),
  client: () => ({ ...clientStats }),
  // What the inspector has drawn so far (it redraws at most ten times a second).
  rendered: () => ({
    run: inspector.renderedRun?.number ?? null,
    rows: inspector.renderedCount,
    status: document.querySelector('#conn-status').textContent,
  }),
  status: () => client.getStatus(),
  settings: () => ({ ...settings, headers: Object.keys(settings.headers) }),
  // The bridged backend's own bytes of a run, as the proxy copied them.
  foreign: (run) => ((run ? inspector.log.runs[run - 1] : inspector.log.current)?.foreign ?? []).join(''),
}
