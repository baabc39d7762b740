import { AsyncLocalStorage } from 'node:async_hooks'
import diagnostics from 'node:diagnostics_channel'
import type { ClientRequest, IncomingMessage } from 'node:http'
import type { Agent } from 'node:https'

/** What the last HTTP response of one send said beyond its body. */
export interface ResponseSeen {
  status?: number
  retryAfterMs?: number
}

/**
 * Reads the status and Retry-After of the HTTP responses behind one call, for requests made through
 * one agent: Node publishes every client request and response on the `http.client.*` diagnostics
 * channels, and the request is tied to the call that made it through AsyncLocalStorage (the call's
 * context follows it through firebase-admin's promises into `https.request`). Needed because
 * firebase-admin drops the headers when it turns a response into an error.
 */
export class ResponseWatch {
  readonly #agent: Agent
  readonly #calls = new AsyncLocalStorage<ResponseSeen>()
  readonly #requests = new WeakMap<ClientRequest, ResponseSeen>()
  readonly #onStart = (message: unknown): void => {
    const { request } = message as { request: ClientRequest & { agent?: unknown } }
    const seen = this.#calls.getStore()
    if (seen !== undefined && request.agent === this.#agent) this.#requests.set(request, seen)
  }

  readonly #onFinish = (message: unknown): void => {
    const { request, response } = message as { request: ClientRequest, response: IncomingMessage }
    const seen = this.#requests.get(request)
    if (seen === undefined) return
    seen.status = response.statusCode
    const retryAfter = retryAfterMs(response.headers['retry-after'])
    if (retryAfter === undefined) delete seen.retryAfterMs
    else seen.retryAfterMs = retryAfter
  }

  constructor (agent: Agent) {
    this.#agent = agent
    diagnostics.subscribe('http.client.request.start', this.#onStart)
    diagnostics.subscribe('http.client.response.finish', this.#onFinish)
  }

  /** Runs `call`; `seen` fills in as its responses arrive (before `result` settles). */
  run<T> (call: () => Promise<T>): { seen: ResponseSeen, result: Promise<T> } {
    const seen: ResponseSeen = {}
    return { seen, result: this.#calls.run(seen, call) }
  }

  close (): void {
    diagnostics.unsubscribe('http.client.request.start', this.#onStart)
    diagnostics.unsubscribe('http.client.response.finish', this.#onFinish)
  }
}

/** Retry-After is delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs (header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000
  const date = Date.parse(header)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
