// Deltas that are already waiting are handed to the client as one chunk.
//
// @tanstack/ai-client yields to the browser with setTimeout(0) after every chunk while
// the tab is visible; browsers clamp nested timers to 4 ms, so a flood of 50,000
// deltas would take over 200 s to show however fast it arrived. The client reads
// chunks from its adapter's `subscribe` stream; a pump reads that stream ahead, and
// consecutive deltas of the same message, reasoning or tool call that queued up
// meanwhile are merged into the first (in place: the client tags chunk objects with
// their run). The text the client builds is the same, in fewer, larger pieces.
// Nothing waits for a merge: a lone delta goes out as it is. The inspector is fed
// from the raw bytes, so it still lists every event the server sent.

// Declared in the package's types but not re-exported from its index: build.mjs
// resolves this path to the very module the client uses.
import { normalizeConnectionAdapter } from '@tanstack/ai-client/connection-adapters'

const MERGEABLE = {
  TEXT_MESSAGE_CONTENT: 'messageId',
  REASONING_MESSAGE_CONTENT: 'messageId',
  TOOL_CALL_ARGS: 'toolCallId',
}

function mergeable(a, b) {
  const key = MERGEABLE[a.type]
  return key !== undefined && b.type === a.type && b[key] === a[key] && typeof b.delta === 'string'
}

async function* coalesced(source, stats) {
  const queue = []
  let done = false
  let failure = null
  let wake = null
  const iterator = source[Symbol.asyncIterator]()
  const pump = (async () => {
    try {
      for (;;) {
        const { value, done: end } = await iterator.next()
        if (end) break
        queue.push(value)
        wake?.()
      }
    } catch (error) {
      failure = error
    } finally {
      done = true
      wake?.()
    }
  })()
  try {
    for (;;) {
      if (queue.length === 0) {
        if (failure) throw failure
        if (done) return
        await new Promise((resolve) => {
          wake = resolve
        })
        wake = null
        continue
      }
      let chunk = queue.shift()
      if (MERGEABLE[chunk.type] && queue.length && mergeable(chunk, queue[0])) {
        const parts = [chunk.delta]
        while (queue.length && mergeable(chunk, queue[0])) parts.push(queue.shift().delta)
        stats.merged += parts.length - 1
        chunk.delta = parts.join('')
      }
      stats.chunks += 1
      yield chunk
    }
  } finally {
    if (!done) iterator.return?.().catch(() => {})
    void pump
  }
}

/**
 * `connection` in the subscribe/send shape (the client's own normalisation), its
 * subscription coalesced; `stats` counts the chunks handed on and the deltas merged.
 */
export function coalescing(connection, stats) {
  const normalized = normalizeConnectionAdapter(connection)
  return {
    ...normalized,
    subscribe: (abortSignal) => coalesced(normalized.subscribe(abortSignal), stats),
  }
}
