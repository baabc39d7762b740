// Builds the web chat page into dist/web: the page's TypeScript and the SDK bundled for browsers by
// esbuild (the SDK through its package export, as any app gets it), the HTML and CSS copied. Run by
// `npm run build` after tsc, so `npm start` serves it from a fresh clone.
import { copyFile, mkdir } from 'node:fs/promises'
import { fileURLToPath, URL } from 'node:url'
import { build } from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const source = `${root}clients/web/`
const out = `${root}dist/web/`

await mkdir(out, { recursive: true })
await build({
  entryPoints: [`${source}app.ts`],
  outfile: `${out}app.js`,
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  logLevel: 'warning'
})
await Promise.all(['index.html', 'style.css'].map((file) => copyFile(`${source}${file}`, `${out}${file}`)))
