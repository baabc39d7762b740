import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { fileURLToPath } from 'node:url'

/** The files of the web chat page (built by `npm run build` into dist/web) and their types. */
const FILES: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css'
}
const TYPES: Readonly<Record<string, string>> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8'
}

/** Answers a request for one of the page's files; false for any other path. */
export type WebPage = (path: string, req: IncomingMessage, res: ServerResponse) => boolean

/**
 * Where the built page is: beside the broker in dist/ (dist/broker → dist/web), or, when the
 * broker runs from its TypeScript sources (tests), in the build output of the checkout.
 */
export function webRoot (): string | undefined {
  return [new URL('../web/', import.meta.url), new URL('../dist/web/', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((dir) => existsSync(`${dir}index.html`))
}

/**
 * Serves the web chat page at `/`. The page connects to MQTT over WebSocket on the broker's
 * WebSocket port, a different port from this one: the port is written into the page. Answers
 * false for a path that is not the page's, so the caller answers 404.
 */
export function webPage (root: string | undefined, wsPort: () => number): WebPage {
  return (path, req, res) => {
    const file = FILES[path]
    if (file === undefined) return false
    if (root === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('the web page is not built: run npm run build\n')
      return true
    }
    readFile(`${root}${file}`).then((content) => {
      const body = file === 'index.html'
        ? content.toString('utf8').replace('<meta charset="utf-8">', `<meta charset="utf-8">\n  <meta name="lowband-ws-port" content="${wsPort()}">`)
        : content
      res.writeHead(200, { 'content-type': TYPES[file.split('.').pop()!]!, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' })
      res.end(req.method === 'HEAD' ? undefined : body)
    }, () => res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n'))
    return true
  }
}
