import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { StorageHealth } from '../storage/contracts.js'
import type { WebPage } from './web.js'

/**
 * /healthz: the process answers. /readyz: listeners up and the store acknowledging writes; when not,
 * 503 and the reason on one line (a suspect store reopening, damage and how to repair it).
 * /metrics: Prometheus. `/` and its files: the web chat page, when given (off with --no-web).
 */
export function createHttpServer (registry: Registry, readiness: () => StorageHealth, web?: WebPage): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end()
      return
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n')
    } else if (path === '/readyz') {
      const health = readiness()
      res.writeHead(health.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(health.ready ? 'ready\n' : `not ready: ${health.reason}\n`)
    } else if (path === '/metrics') {
      registry.metrics().then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType }).end(text)
      }, () => res.writeHead(500).end())
    } else if (web?.(path ?? '/', req, res) !== true) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    }
  })
}
