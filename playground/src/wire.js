// What went over the wire: a fetch wrapper that hands the real Response to
// @tanstack/ai-client and reads a copy of its bytes for the inspector, split into
// events exactly as they arrived (SSE frames or NDJSON lines, heartbeats included).

// Any header whose name suggests a credential is masked, not only the standard ones.
const SECRET_HEADER = /(authorization|cookie|api[-_]?key|token|secret|password|session)/i

/** Headers as shown in the inspector: credentials masked, never the value. */
export function maskHeaders(headers) {
  const shown = {}
  for (const [name, value] of Object.entries(headers)) {
    shown[name] = SECRET_HEADER.test(name) ? `••• (${value.length} chars)` : value
  }
  return shown
}

function headersOf(init) {
  const out = {}
  new Headers(init.headers ?? {}).forEach((value, name) => {
    out[name] = value
  })
  return out
}

const BRIDGED = ': bridged '

/** Splits SSE bytes into frames (WHATWG rules, enough for display). */
function sseSplitter(emit) {
  let data = []
  let id
  let raw = []
  return (line) => {
    if (line === '') {
      if (data.length) emit({ kind: 'event', text: data.join('\n'), id, raw: raw.join('\n') })
      data = []
      raw = []
      id = undefined
      return
    }
    raw.push(line)
    if (line.startsWith(BRIDGED)) {
      // The proxy's copy of a bridged backend's own bytes (a comment the client skips).
      let text
      try {
        text = String(JSON.parse(line.slice(BRIDGED.length)))
      } catch {
        text = line.slice(BRIDGED.length)
      }
      emit({ kind: 'foreign', text })
      raw = []
      return
    }
    if (line.startsWith(':')) {
      emit({ kind: 'heartbeat', raw: line })
      raw = []
      return
    }
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') data.push(value)
    else if (field === 'id') id = value
  }
}

function ndjsonSplitter(emit) {
  return (line) => {
    if (line.trim() === '') return
    emit({ kind: 'event', text: line, raw: line })
  }
}

/** Reads `stream` line by line into `onItem({kind, payload, type, id, raw})`. */
export async function readEvents(stream, framing, onItem) {
  const decoder = new TextDecoder()
  const split = (framing === 'ndjson' ? ndjsonSplitter : sseSplitter)((item) => {
    if (item.kind === 'heartbeat' || item.kind === 'foreign') return onItem(item)
    if (item.text === '[DONE]') return onItem({ kind: 'done', raw: item.raw })
    let payload
    try {
      payload = JSON.parse(item.text)
    } catch {
      return onItem({ kind: 'invalid', raw: item.raw })
    }
    // NDJSON resumable streams wrap each event as {id, chunk}.
    if (payload && typeof payload === 'object' && 'chunk' in payload && 'id' in payload) {
      item.id = String(payload.id)
      payload = payload.chunk
    }
    if (payload?.type === 'ping') return onItem({ kind: 'heartbeat', raw: item.raw })
    onItem({ kind: 'event', type: String(payload?.type ?? '?'), payload, id: item.id, raw: item.raw })
  })
  const reader = stream.getReader()
  let rest = ''
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      rest += decoder.decode(value, { stream: true })
      let at
      while ((at = rest.search(/\r\n|\r|\n/)) >= 0) {
        const width = rest[at] === '\r' && rest[at + 1] === '\n' ? 2 : 1
        split(rest.slice(0, at))
        rest = rest.slice(at + width)
      }
    }
    rest += decoder.decode()
    if (rest) split(rest)
    if (framing !== 'ndjson') split('')
    return 'ended'
  } catch (error) {
    return error?.name === 'AbortError' ? 'aborted' : 'dropped'
  }
}

/**
 * A `fetchClient` for the TanStack adapters. `hooks` receives the request
 * (`onRequest`), the response head (`onResponse`), every item read (`onItem`)
 * and the end of the body (`onEnd`). `rewriteBody` may change the JSON body
 * before it is sent (the AG-UI protocol setting).
 */
export function recordingFetch({ framing, rewriteBody, hooks, target }) {
  return async (url, init = {}) => {
    let body = init.body
    if (typeof body === 'string' && rewriteBody) body = JSON.stringify(rewriteBody(JSON.parse(body)))
    const headers = headersOf(init)
    const request = {
      url: target ? target.shown(String(url)) : String(url),
      method: init.method ?? 'GET',
      headers,
      body: typeof body === 'string' ? body : null,
      resumedFrom: headers['last-event-id'],
    }
    hooks.onRequest(request)
    let sent = { ...init, body }
    let address = String(url)
    if (target) [address, sent] = target.route(address, sent)
    let response
    try {
      response = await fetch(address, sent)
    } catch (error) {
      hooks.onEnd(request, error?.name === 'AbortError' ? 'aborted' : 'failed', String(error))
      throw error
    }
    hooks.onResponse(request, response)
    if (!response.body) {
      hooks.onEnd(request, 'ended')
      return response
    }
    const [mine, theirs] = response.body.tee()
    if (!response.ok) {
      // The body of an error is text for the banner, not events.
      new Response(mine).text().then(
        (text) => hooks.onEnd(request, 'error', text),
        () => hooks.onEnd(request, 'error', ''),
      )
    } else {
      readEvents(mine, framing, (item) => hooks.onItem(request, item)).then((how) =>
        hooks.onEnd(request, how),
      )
    }
    return new Response(theirs, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    })
  }
}
