// Builds the playground into the Python package (committed, so installing
// chatconduit needs neither Node nor network): src/chatconduit/playground/static/.
//
//   cd playground && npm ci && npm run build     (or: python3 dev.py build-playground)

import { copyFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const here = dirname(fileURLToPath(import.meta.url))
const out = join(here, '..', 'src', 'chatconduit', 'playground', 'static')
mkdirSync(out, { recursive: true })

// normalizeConnectionAdapter is declared in @tanstack/ai-client's types but not in its
// exports map: resolve it to the module file the package's index imports, so the
// bundle holds one copy of it.
const connectionAdapters = {
  name: 'connection-adapters',
  setup(b) {
    b.onResolve({ filter: /^@tanstack\/ai-client\/connection-adapters$/ }, () => ({
      path: join(here, 'node_modules', '@tanstack', 'ai-client', 'dist', 'esm', 'connection-adapters.js'),
    }))
  },
}

await build({
  entryPoints: [join(here, 'src', 'main.js')],
  plugins: [connectionAdapters],
  outfile: join(out, 'playground.js'),
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2022'],
  platform: 'browser',
  legalComments: 'eof',
  logLevel: 'warning',
  // Reproducible bytes: the same sources always give the same bundle.
  sourcemap: false,
  define: { 'process.env.NODE_ENV': '"production"' },
})
await build({
  entryPoints: [join(here, 'src', 'styles.css')],
  outfile: join(out, 'playground.css'),
  bundle: true,
  minify: true,
  logLevel: 'warning',
})
copyFileSync(join(here, 'src', 'index.html'), join(out, 'index.html'))
console.log(`playground built into ${out}`)
