// The conversation: messages rendered from the client's UIMessages (Markdown text,
// collapsible reasoning, tool calls with their arguments and results) and the
// pending interrupts (approvals as buttons, the "ask the user" client tool as a
// question with an answer box). Each message and part keeps its DOM node, and a
// part is re-rendered only when its content changed.

import DOMPurify from 'dompurify'
import { marked } from 'marked'

// Past this many characters a text still streaming is shown as plain text, re-rendered
// at most every 250 ms, and becomes Markdown once the answer is complete: parsing and
// laying out a long Markdown document on every frame would starve the page.
const BIG_TEXT = 20000
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props)
  for (const child of children) node.append(child)
  return node
}

function markdown(text) {
  return DOMPurify.sanitize(marked.parse(text, { async: false, gfm: true, breaks: false }))
}

function json(value) {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2)
    } catch {
      return value
    }
  }
  return JSON.stringify(value, null, 2)
}

export class ChatView {
  constructor(root, { onApprove, onAnswer }) {
    this.root = root
    this.nodes = new Map() // message id -> {node, parts: [{node, key}]}
    this.onApprove = onApprove
    this.onAnswer = onAnswer
    this.questions = new Map() // tool call id -> {resolve, input}
    this.interrupts = []
    this.pending = null
    this.messages = []
    this.streaming = false
  }

  setStreaming(streaming) {
    this.streaming = streaming
    this.schedule()
  }

  update(messages) {
    this.messages = messages
    this.schedule()
  }

  setInterrupts(interrupts) {
    this.interrupts = interrupts
    this.schedule()
  }

  ask(toolCallId, input) {
    return new Promise((resolve) => {
      this.questions.set(toolCallId, { resolve, input })
      this.schedule()
    })
  }

  /** Drops unanswered questions (after stop): their promises answer that nobody did. */
  dropQuestions() {
    for (const { resolve } of this.questions.values()) resolve({ answer: null, cancelled: true })
    this.questions.clear()
    this.schedule()
  }

  schedule() {
    if (this.pending) return
    this.pending = requestAnimationFrame(() => {
      this.pending = null
      this.render()
    })
  }

  render() {
    // Follow the conversation only while the reader is at its end.
    const scroller = this.root
    const atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40
    const seen = new Set()
    let previous = null
    for (const message of this.messages) {
      seen.add(message.id)
      let entry = this.nodes.get(message.id)
      if (!entry) {
        const node = el('article', { className: `msg ${message.role}` })
        node.dataset.role = message.role
        node.dataset.id = message.id
        entry = { node, parts: [] }
        this.nodes.set(message.id, entry)
      }
      this.renderParts(entry, message)
      const want = previous ? previous.nextSibling : this.root.firstChild
      if (entry.node !== want) this.root.insertBefore(entry.node, want)
      previous = entry.node
    }
    for (const [id, entry] of this.nodes) {
      if (!seen.has(id)) {
        entry.node.remove()
        this.nodes.delete(id)
      }
    }
    this.renderPending()
    if (atEnd) scroller.scrollTop = scroller.scrollHeight
  }

  renderParts(entry, message) {
    const parts = message.parts ?? []
    // A tool call whose card shows its output already: its result part is not repeated.
    const answered = new Set(parts.filter((p) => p.type === 'tool-call' && p.output !== undefined).map((p) => p.id))
    parts.forEach((part, i) => {
      const big = part.type === 'text' && part.content.length > BIG_TEXT
      const plain = big && this.streaming
      const key = `${this.keyOf(part)}|${part.type === 'tool-result' && answered.has(part.toolCallId)}|${plain}`
      let slot = entry.parts[i]
      if (slot && slot.type !== part.type) {
        slot.node.remove()
        slot = undefined
      }
      if (!slot) {
        slot = { type: part.type, key: null, node: this.partNode(part), renderedAt: 0 }
        entry.parts[i] = slot
        entry.node.append(slot.node)
      }
      if (slot.key === key) return
      const now = performance.now()
      if (plain && now - slot.renderedAt < Math.max(250, 4 * (slot.cost ?? 0))) {
        this.schedule()
        return
      }
      slot.key = key
      slot.renderedAt = now
      if (plain) slot.node.textContent = part.content
      else this.fillPart(slot.node, part)
      slot.node.classList.toggle('plain', plain)
      slot.cost = performance.now() - now
      if (part.type === 'tool-result') slot.node.hidden = answered.has(part.toolCallId)
    })
    for (const slot of entry.parts.splice(parts.length)) slot.node.remove()
  }

  keyOf(part) {
    switch (part.type) {
      case 'text':
      case 'thinking':
        return part.content.length
      case 'tool-call':
        return `${part.state}|${part.arguments.length}|${part.output === undefined ? '' : json(part.output)}|${part.approval?.approved}`
      case 'tool-result':
        return `${part.state}|${typeof part.content === 'string' ? part.content.length : JSON.stringify(part.content).length}`
      default:
        return JSON.stringify(part)
    }
  }

  partNode(part) {
    switch (part.type) {
      case 'text':
        return el('div', { className: 'part text md' })
      case 'thinking': {
        const node = el('details', { className: 'part thinking' }, el('summary', { textContent: 'Reasoning' }), el('div', { className: 'body' }))
        return node
      }
      case 'tool-call':
        return el('details', { className: 'part tool', open: true }, el('summary'), el('div', { className: 'body' }))
      case 'tool-result':
        return el('div', { className: 'part tool-result' })
      default:
        return el('pre', { className: 'part other' })
    }
  }

  fillPart(node, part) {
    switch (part.type) {
      case 'text':
        node.innerHTML = markdown(part.content)
        break
      case 'thinking':
        node.querySelector('.body').textContent = part.content
        break
      case 'tool-call': {
        node.dataset.tool = part.name
        node.dataset.state = part.state
        node.querySelector('summary').replaceChildren(
          el('span', { className: 'tool-name', textContent: part.name }),
          el('span', { className: 'badge', textContent: part.state }),
        )
        const body = node.querySelector('.body')
        body.replaceChildren(el('div', { className: 'label', textContent: 'arguments' }), el('pre', { className: 'args', textContent: json(part.arguments || '{}') }))
        if (part.output !== undefined) {
          body.append(el('div', { className: 'label', textContent: 'result' }), el('pre', { className: 'result', textContent: json(part.output) }))
        }
        if (part.approval?.approved !== undefined) {
          body.append(el('div', { className: 'label', textContent: part.approval.approved ? 'approved' : 'denied' }))
        }
        break
      }
      case 'tool-result':
        node.replaceChildren(el('div', { className: 'label', textContent: `result of ${part.name ?? part.toolCallId}` }), el('pre', { className: 'result', textContent: typeof part.content === 'string' ? json(part.content) : json(part.content) }))
        break
      default:
        node.textContent = JSON.stringify(part, null, 2)
    }
  }

  /** Approvals and questions waiting for the user, as a card under the messages. */
  renderPending() {
    let box = this.root.querySelector('.pending')
    const approvals = this.interrupts.filter(
      (i) => i.status === 'pending' && (i.kind === 'tool-approval' || (i.kind === 'generic' && i.reason === 'tool_call')),
    )
    const key = JSON.stringify([approvals.map((i) => i.id), [...this.questions.keys()]])
    if (box && box.dataset.key === key) {
      this.root.append(box)
      return
    }
    box?.remove()
    if (!approvals.length && !this.questions.size) return
    box = el('section', { className: 'pending' })
    box.dataset.key = key
    for (const interrupt of approvals) {
      const name = interrupt.toolName ?? interrupt.descriptor?.toolName ?? interrupt.payload?.toolName ?? 'tool'
      const args = interrupt.originalArgs ?? interrupt.payload?.input ?? interrupt.descriptor?.metadata
      const message = interrupt.message ?? interrupt.descriptor?.message ?? `Run ${name}?`
      const approve = el('button', { type: 'button', className: 'approve', textContent: 'Approve' })
      const deny = el('button', { type: 'button', className: 'deny', textContent: 'Deny' })
      approve.addEventListener('click', () => this.onApprove(interrupt, true))
      deny.addEventListener('click', () => this.onApprove(interrupt, false))
      box.append(
        el('div', { className: 'approval' }, el('p', { textContent: message }), el('pre', { textContent: json(args ?? {}) }), el('div', { className: 'actions' }, approve, deny)),
      )
    }
    for (const [id, { resolve, input }] of this.questions) {
      const field = el('input', { type: 'text', className: 'answer', placeholder: 'Your answer' })
      field.setAttribute('aria-label', 'Answer to the question')
      const send = el('button', { type: 'button', className: 'send-answer', textContent: 'Answer' })
      const submit = () => {
        this.questions.delete(id)
        resolve({ answer: field.value })
        this.schedule()
      }
      send.addEventListener('click', submit)
      field.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') {
          event.preventDefault()
          event.stopPropagation()
          submit()
        }
      })
      box.append(el('div', { className: 'question' }, el('p', { textContent: `The agent asks: ${input?.question ?? JSON.stringify(input)}` }), field, send))
    }
    this.root.append(box)
    box.querySelector('button, input')?.focus()
  }
}
