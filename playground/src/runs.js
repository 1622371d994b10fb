// The inspector's record of runs: one run per request chain (the first request and
// the resumes that continue it after a drop), every item as it arrived, and the
// timeline numbers derived from them.

const MAX_FOREIGN_CHARS = 2_000_000 // a bridged backend's bytes kept per run
const TOKEN_TYPES = new Set(['TEXT_MESSAGE_CONTENT', 'TEXT_MESSAGE_CHUNK'])

export class RunLog {
  constructor(onChange) {
    this.runs = []
    this.onChange = onChange
    this.sequence = 0
  }

  get current() {
    return this.runs[this.runs.length - 1]
  }

  /** A request went out: a new run, or a resume of the current one. */
  request(request) {
    const now = performance.now()
    let run = this.current
    if (request.resumedFrom === undefined || !run) {
      run = {
        number: this.runs.length + 1,
        startedAt: now,
        wallClock: new Date(),
        requests: [],
        items: [],
        events: [], // what the server sent
        rows: [], // the events and the connection's markers (drop, resume, stop), as shown
        heartbeats: 0,
        resumes: 0,
        firstTokenAt: null,
        lastTokenAt: null,
        tokens: 0,
        responseAt: null,
        endedAt: null,
        status: 'connecting',
        httpStatus: null,
        errorBody: null,
        bridged: null, // the protocol the proxy read the backend with (vercel, openai)
        foreign: [], // that backend's own bytes, as the proxy copied them
        foreignChars: 0,
      }
      this.runs.push(run)
    } else {
      run.resumes += 1
      run.status = 'resuming'
      this.mark(run, now, `reconnecting · Last-Event-ID: ${request.resumedFrom}`)
    }
    request.run = run
    request.sentAt = now
    run.requests.push(request)
    this.onChange(run)
  }

  response(request, response) {
    const run = request.run
    run.responseAt ??= performance.now()
    run.httpStatus = response.status
    run.bridged = response.headers.get('x-chatconduit-bridged')
    run.status = response.ok ? (run.resumes ? 'resumed' : 'streaming') : 'http-error'
    this.onChange(run)
  }

  item(request, item) {
    const run = request.run
    if (item.kind === 'foreign') {
      run.foreignChars += item.text.length
      if (run.foreignChars <= MAX_FOREIGN_CHARS) run.foreign.push(item.text)
      return this.onChange(run)
    }
    const at = performance.now()
    const entry = { seq: ++this.sequence, at: at - run.startedAt, ...item }
    run.items.push(entry)
    if (item.kind === 'heartbeat') run.heartbeats += 1
    if (item.kind === 'event') {
      run.events.push(entry)
      run.rows.push(entry)
      if (TOKEN_TYPES.has(item.type)) {
        run.firstTokenAt ??= at
        run.lastTokenAt = at
        run.tokens += 1
      }
    }
    this.onChange(run)
  }

  mark(run, at, text) {
    run.rows.push({ seq: ++this.sequence, at: at - run.startedAt, kind: 'marker', text })
  }

  end(request, how, text) {
    const run = request.run
    run.endedAt = performance.now()
    if (how === 'dropped') this.mark(run, run.endedAt, 'connection dropped before the run ended')
    if (how === 'aborted') this.mark(run, run.endedAt, 'stopped')
    if (how === 'error') run.errorBody = text ?? ''
    if (how === 'error') run.status = 'http-error'
    else if (how === 'ended') run.status = run.status === 'http-error' ? 'http-error' : 'finished'
    else run.status = how
    this.onChange(run)
  }

  /** Time to first token, tokens/s and totals of `run` (milliseconds). */
  static timeline(run) {
    const ttft = run.firstTokenAt == null ? null : run.firstTokenAt - run.startedAt
    const span = run.firstTokenAt == null ? 0 : run.lastTokenAt - run.firstTokenAt
    const rate = run.tokens > 1 && span > 0 ? (run.tokens - 1) / (span / 1000) : null
    const end = run.endedAt ?? performance.now()
    return {
      ttft,
      tokensPerSecond: rate,
      tokens: run.tokens,
      total: end - run.startedAt,
      headers: run.responseAt == null ? null : run.responseAt - run.startedAt,
      events: run.events.length,
      heartbeats: run.heartbeats,
      resumes: run.resumes,
    }
  }
}
