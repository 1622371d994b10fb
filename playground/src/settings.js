// The settings panel: which backend the page talks to. Kept in memory only: headers
// may hold API keys, so nothing here is written to storage or the URL.

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props)
  for (const child of children) node.append(child)
  return node
}

export function readSettings(config) {
  return {
    url: config.endpoint,
    headers: {},
    framing: config.framing ?? 'sse',
    protocol: 'tanstack',
    model: '',
    useProxy: false,
  }
}

// Protocols the page's client does not speak: the server's proxy reads them with
// chatconduit's bridge adapters and answers the page in AG-UI.
export const BRIDGED = { vercel: 'Vercel AI SDK', openai: 'OpenAI-compatible' }

function checkProblem(config, protocol) {
  return `${BRIDGED[protocol]} backends are read through the server's proxy, which translates them for this page: start the server with \`chatconduit serve --proxy\` (or playground_app(proxy=True)).`
}

/** The settings the form holds, checked: a bridged protocol needs the proxy (and
 * OpenAI a model); the answer then always comes back as SSE. */
export function checkSettings(config, next) {
  if (!(next.protocol in BRIDGED)) return next
  if (!config.proxy) throw new Error(checkProblem(config, next.protocol))
  if (next.protocol === 'openai' && !next.model) throw new Error('OpenAI-compatible backends need a model name')
  return { ...next, useProxy: true, framing: 'sse' }
}

/** "Name: value" lines -> headers; a line without a colon is an error naming it. */
export function parseHeaders(text) {
  const headers = {}
  text.split('\n').forEach((line, index) => {
    if (!line.trim()) return
    const at = line.indexOf(':')
    if (at < 1) throw new Error(`header line ${index + 1} must be "Name: value"`)
    headers[line.slice(0, at).trim()] = line.slice(at + 1).trim()
  })
  return headers
}

export function renderSettings(form, config, settings, apply) {
  const field = (label, control) => el('label', {}, el('span', { textContent: label }), control)
  const url = el('input', { name: 'url', type: 'text', value: settings.url, spellcheck: false })
  const headers = el('textarea', { name: 'headers', rows: 3, placeholder: 'Authorization: Bearer …', spellcheck: false })
  const framing = el('select', { name: 'framing' }, el('option', { value: 'sse', textContent: 'SSE' }), el('option', { value: 'ndjson', textContent: 'NDJSON' }))
  framing.value = settings.framing
  const protocol = el(
    'select',
    { name: 'protocol' },
    el('option', { value: 'tanstack', textContent: 'TanStack AI' }),
    el('option', { value: 'ag-ui', textContent: 'AG-UI' }),
    el('option', { value: 'vercel', textContent: 'Vercel AI SDK (proxy)' }),
    el('option', { value: 'openai', textContent: 'OpenAI-compatible (proxy)' }),
  )
  const problem = el('p', { className: 'problem', role: 'alert' })
  const model = el('input', { name: 'model', type: 'text', value: settings.model, placeholder: 'e.g. gpt-4o-mini', spellcheck: false })
  const modelField = field('Model (OpenAI-compatible)', model)
  const showModel = () => {
    modelField.hidden = protocol.value !== 'openai'
    // Say at once, not only on Apply, that a bridged protocol needs the proxy.
    const needsProxy = protocol.value in BRIDGED && !config.proxy
    problem.textContent = needsProxy ? checkProblem(config, protocol.value) : ''
    if (protocol.value in BRIDGED && config.proxy) proxy.checked = true
  }
  protocol.addEventListener('change', showModel)
  const proxy = el('input', { name: 'proxy', type: 'checkbox', disabled: !config.proxy })
  const save = el('button', { type: 'submit', textContent: 'Apply' })
  const reset = el('button', { type: 'button', textContent: 'Served agent' })
  showModel()
  form.replaceChildren(
    field('Endpoint URL', url),
    field('Headers (one "Name: value" a line; kept in this tab only)', headers),
    el('div', { className: 'row' }, field('Framing', framing), field('Protocol', protocol)),
    modelField,
    el('label', { className: 'check' }, proxy, el('span', { textContent: config.proxy ? 'Through the server\'s CORS proxy' : 'CORS proxy (start serve with --proxy)' })),
    problem,
    el('div', { className: 'actions' }, save, reset),
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    try {
      const next = checkSettings(config, {
        url: url.value.trim() || config.endpoint,
        headers: parseHeaders(headers.value),
        framing: framing.value,
        protocol: protocol.value,
        model: model.value.trim(),
        useProxy: proxy.checked,
      })
      problem.textContent = ''
      apply(next)
      form.closest('details')?.removeAttribute('open')
    } catch (error) {
      problem.textContent = error.message
    }
  })
  reset.addEventListener('click', () => {
    url.value = config.endpoint
    headers.value = ''
    framing.value = config.framing ?? 'sse'
    protocol.value = 'tanstack'
    model.value = ''
    showModel()
    proxy.checked = false
    form.requestSubmit()
  })
}
