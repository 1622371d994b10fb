// The inspector beside the chat: connection status, the timeline, the request body
// and every event of the selected run as it arrived. Rendering is batched (at most
// ten passes a second, each in an animation frame) and only the newest rows are kept
// in the DOM, so a stream of tens of thousands of deltas costs the page little.

import { RunLog } from './runs.js'
import { maskHeaders } from './wire.js'

const MAX_ROWS = 400
const RENDER_EVERY = 100 // ms: an inspector needs no more than ten updates a second
const PROTOCOL_NAMES = { vercel: 'a Vercel AI SDK UI message stream', openai: 'OpenAI-compatible chat completions' }

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props)
  for (const child of children) node.append(child)
  return node
}

const ms = (value) => (value == null ? '–' : `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`)

function summary(payload) {
  if (!payload || typeof payload !== 'object') return ''
  if (typeof payload.delta === 'string') return JSON.stringify(payload.delta)
  for (const key of ['toolCallName', 'message', 'outcome', 'messageId', 'toolCallId', 'runId']) {
    if (typeof payload[key] === 'string') return `${key}: ${payload[key]}`
  }
  return ''
}

function pretty(text) {
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

export class Inspector {
  constructor(root) {
    this.root = root
    this.log = new RunLog(() => this.schedule())
    this.selected = null // null: follow the newest run
    this.renderedRun = null
    this.renderedCount = 0
    this.pending = false
    this.build()
  }

  build() {
    const r = this.root
    this.runPicker = r.querySelector('#run-picker')
    this.status = r.querySelector('#conn-status')
    this.timeline = r.querySelector('#timeline')
    this.requestBody = r.querySelector('#request-body')
    this.requestHead = r.querySelector('#request-head')
    this.eventCount = r.querySelector('#event-count')
    this.list = r.querySelector('#events')
    // Whether to follow new events, kept from scroll events: reading the scroll
    // position while rendering would force a layout on every pass.
    this.atEnd = true
    this.list.addEventListener('scroll', () => {
      const list = this.list
      this.atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 40
    }, { passive: true })
    this.root.querySelector('#bridged').addEventListener('toggle', () => this.schedule())
    this.runPicker.addEventListener('change', () => {
      const value = this.runPicker.value
      this.selected = value === 'latest' ? null : Number(value)
      this.renderedRun = null
      this.schedule()
    })
    this.list.addEventListener('click', (event) => {
      const button = event.target.closest('button')
      if (!button) return
      const row = button.closest('li')
      const entry = this.entryOf(row)
      if (!entry) return
      if (button.classList.contains('raw-toggle')) this.toggleRaw(row, entry, button)
      else this.toggleDetails(row, entry, button)
    })
  }

  run() {
    const runs = this.log.runs
    return this.selected == null ? runs[runs.length - 1] : runs[this.selected - 1]
  }

  entryOf(row) {
    const run = this.run()
    const seq = Number(row?.dataset.seq)
    return run?.rows.find((e) => e.seq === seq && e.kind === 'event')
  }

  toggleDetails(row, entry, button) {
    const open = button.getAttribute('aria-expanded') === 'true'
    button.setAttribute('aria-expanded', String(!open))
    row.querySelector('.detail')?.remove()
    if (open) return
    const raw = el('button', { className: 'raw-toggle', type: 'button', textContent: 'raw bytes' })
    raw.setAttribute('aria-expanded', 'false')
    row.append(
      el('div', { className: 'detail' }, el('pre', { className: 'payload', textContent: JSON.stringify(entry.payload, null, 2) }), raw),
    )
  }

  toggleRaw(row, entry, button) {
    const shown = row.querySelector('.raw')
    if (shown) {
      shown.remove()
      button.setAttribute('aria-expanded', 'false')
      return
    }
    button.setAttribute('aria-expanded', 'true')
    button.after(el('pre', { className: 'raw', textContent: entry.raw }))
  }

  schedule() {
    if (this.pending) return
    this.pending = true
    const frame = () =>
      requestAnimationFrame(() => {
        this.pending = false
        this.renderedAt = performance.now()
        this.render()
      })
    const wait = (this.renderedAt ?? -Infinity) + RENDER_EVERY - performance.now()
    if (wait > 0) setTimeout(frame, wait)
    else frame()
  }

  render() {
    const runs = this.log.runs
    if (this.runPicker.options.length !== runs.length + 1) {
      const chosen = this.runPicker.value
      this.runPicker.replaceChildren(
        el('option', { value: 'latest', textContent: 'latest run' }),
        ...runs.map((run) => el('option', { value: String(run.number), textContent: `run ${run.number} · ${run.wallClock.toLocaleTimeString()}` })),
      )
      this.runPicker.value = chosen || 'latest'
    }
    const run = this.run()
    if (!run) return
    const t = RunLog.timeline(run)
    this.status.textContent = run.status
    this.status.dataset.status = run.status
    const beats = t.heartbeats ? ` · ${t.heartbeats} heartbeat${t.heartbeats === 1 ? '' : 's'}` : ''
    const resumes = t.resumes ? ` · resumed ×${t.resumes}` : ''
    const bridged = run.bridged ? ` · bridged: ${run.bridged}` : ''
    this.status.title = `HTTP ${run.httpStatus ?? '–'}${beats}${resumes}`
    this.root.querySelector('#conn-extra').textContent = `HTTP ${run.httpStatus ?? '–'}${beats}${resumes}${bridged}`
    const rows = [
      ['response headers', ms(t.headers)],
      ['first token', ms(t.ttft)],
      ['tokens', String(t.tokens)],
      ['tokens/s', t.tokensPerSecond == null ? '–' : t.tokensPerSecond.toFixed(1)],
      ['events', String(t.events)],
      ['total', ms(t.total)],
    ]
    if (this.timeline.childElementCount !== rows.length) {
      this.timeline.replaceChildren(...rows.map(([k]) => el('div', {}, el('dt', { textContent: k }), el('dd', { className: `t-${k.replace(/[^a-z]+/g, '-')}` }))))
    }
    rows.forEach(([, v], i) => {
      const dd = this.timeline.children[i].lastChild
      if (dd.textContent !== v) dd.textContent = v
    })
    const head = run.requests
      .map((q) => `${q.method} ${q.url}${q.resumedFrom !== undefined ? `  (Last-Event-ID: ${q.resumedFrom})` : ''}\n${Object.entries(maskHeaders(q.headers)).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`)
      .join('\n')
    if (this.requestHead.textContent !== head) this.requestHead.textContent = head
    // The body is pretty-printed once per run, not once per frame.
    if (this.bodyShownFor !== run) {
      this.bodyShownFor = run
      const body = run.requests[0]?.body
      this.requestBody.textContent = body ? pretty(body) : '(no body)'
    }
    this.renderBridged(run)
    this.renderEvents(run)
  }

  /** Which protocol the proxy bridged, and on demand that backend's own bytes. */
  renderBridged(run) {
    const box = this.root.querySelector('#bridged')
    box.hidden = !run.bridged
    if (!run.bridged) return
    const name = PROTOCOL_NAMES[run.bridged] ?? run.bridged
    const summary = `Bridged from ${name} · ${run.foreignChars} characters of its own answer`
    const head = box.querySelector('summary')
    if (head.textContent !== summary) head.textContent = summary
    if (!box.open) return
    const pre = box.querySelector('pre')
    const text = run.foreign.join('') + (run.foreignChars > run.foreign.reduce((n, t) => n + t.length, 0) ? '\n… (cut)' : '')
    if (pre.textContent.length !== text.length) pre.textContent = text || '(nothing yet: an error answer is in the banner)'
  }

  renderEvents(run) {
    if (this.renderedRun !== run) {
      this.list.replaceChildren()
      this.renderedRun = run
      this.renderedCount = 0
    }
    const rows = run.rows
    const list = this.list
    const start = Math.max(this.renderedCount, rows.length - MAX_ROWS)
    // More new rows than the list keeps: replace it whole rather than append and trim.
    if (rows.length - start >= MAX_ROWS) list.replaceChildren()
    const fragment = document.createDocumentFragment()
    for (let i = start; i < rows.length; i++) {
      const e = rows[i]
      if (e.kind === 'marker') {
        fragment.append(el('li', { className: 'marker', textContent: `+${Math.round(e.at)}ms  ${e.text}` }))
        continue
      }
      const button = el(
        'button',
        { type: 'button', className: 'row' },
        el('span', { className: 'at', textContent: `+${Math.round(e.at)}ms` }),
        el('span', { className: 'type', textContent: e.type }),
        el('span', { className: 'sum', textContent: summary(e.payload).slice(0, 80) }),
      )
      button.setAttribute('aria-expanded', 'false')
      const row = el('li', {}, button)
      row.dataset.seq = String(e.seq)
      row.dataset.type = e.type
      fragment.append(row)
    }
    this.list.append(fragment)
    this.renderedCount = rows.length
    while (this.list.childElementCount > MAX_ROWS) this.list.firstElementChild.remove()
    const count = run.events.length
    const hidden = rows.length - this.list.childElementCount
    this.eventCount.textContent = hidden > 0 ? `${count} events (showing the newest ${MAX_ROWS} rows)` : `${count} events`
    // Follow new events only while the reader is at the end of the list.
    if (this.atEnd) list.scrollTop = list.scrollHeight
  }
}
