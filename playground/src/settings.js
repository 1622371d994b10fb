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
    useProxy: false,
  }
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
  const protocol = el('select', { name: 'protocol' }, el('option', { value: 'tanstack', textContent: 'TanStack AI' }), el('option', { value: 'ag-ui', textContent: 'AG-UI' }))
  const proxy = el('input', { name: 'proxy', type: 'checkbox', disabled: !config.proxy })
  const problem = el('p', { className: 'problem', role: 'alert' })
  const save = el('button', { type: 'submit', textContent: 'Apply' })
  const reset = el('button', { type: 'button', textContent: 'Served agent' })
  form.replaceChildren(
    field('Endpoint URL', url),
    field('Headers (one "Name: value" a line; kept in this tab only)', headers),
    el('div', { className: 'row' }, field('Framing', framing), field('Protocol', protocol)),
    el('label', { className: 'check' }, proxy, el('span', { textContent: config.proxy ? 'Through the server\'s CORS proxy' : 'CORS proxy (start serve with --proxy)' })),
    problem,
    el('div', { className: 'actions' }, save, reset),
  )
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    try {
      const next = {
        url: url.value.trim() || config.endpoint,
        headers: parseHeaders(headers.value),
        framing: framing.value,
        protocol: protocol.value,
        useProxy: proxy.checked,
      }
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
    proxy.checked = false
    form.requestSubmit()
  })
}
