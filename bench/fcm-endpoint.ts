import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { Agent, createServer, type Server } from 'node:https'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls'
import type { PushProvider } from '../push/contracts.js'
import { createFcmProvider } from '../push/fcm.js'

/** The hosts firebase-admin talks to; fixed in the library (no emulator variable for FCM). */
export const FCM_HOST = 'fcm.googleapis.com'

export interface TestCa {
  /** The CA certificate that firebase-admin's connections trust. */
  ca: string
  /** The server's key and certificate, for FCM's host name. */
  key: string
  cert: string
}

/** True when Debian's `openssl` is there to make the test CA. */
export function hasOpenssl (): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** A throwaway CA and a server certificate it signed for FCM's host, made with openssl. */
export function makeTestCa (): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'lowband-fcm-ca-'))
  const file = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => { execFileSync('openssl', args, { stdio: 'ignore' }) }
  try {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=lowband test CA',
      '-keyout', file('ca.key'), '-out', file('ca.pem'))
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${FCM_HOST}`, '-keyout', file('server.key'), '-out', file('server.csr'))
    writeFileSync(file('san.ext'), `subjectAltName=DNS:${FCM_HOST}\n`)
    openssl('x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2',
      '-extfile', file('san.ext'), '-out', file('server.pem'))
    return { ca: readFileSync(file('ca.pem'), 'utf8'), key: readFileSync(file('server.key'), 'utf8'), cert: readFileSync(file('server.pem'), 'utf8') }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** One request firebase-admin sent to the FCM endpoint. */
export interface FcmRequest {
  url: string
  headers: IncomingHttpHeaders
  /** The JSON body: `{ message: { token, data, android | apns | webpush } }`. */
  body: { message: Record<string, unknown> & { token: string, data?: Record<string, string> } }
  /** performance.now() when the request was complete. */
  at: number
}

/**
 * An agent that takes firebase-admin to the local endpoint on `port`: every connection goes to
 * 127.0.0.1, with the host firebase-admin asked for as the TLS server name and `ca` as the only
 * trusted root, so the certificate check runs as it would against FCM.
 */
export function fcmAgent (port: number, ca: string): Agent {
  return new (class extends Agent {
    override createConnection (options: ConnectionOptions): Socket {
      return tlsConnect({ ...options, host: '127.0.0.1', port, ca, servername: options.servername ?? options.host })
    }
  })({ keepAlive: true, maxSockets: 64 })
}

/** How the endpoint answers a send: a status with JSON and headers, or never ('hang'). */
export type FcmAnswer = { status: number, json: unknown, headers?: Record<string, string> } | 'hang'

/** FCM HTTP v1's answers, as the real service words them. */
export const FCM_ANSWERS = {
  ok: (projectId: string): FcmAnswer => ({ status: 200, json: { name: `projects/${projectId}/messages/0:${Date.now()}` } }),
  unregistered: (): FcmAnswer => fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED'),
  invalidToken: (): FcmAnswer => fcmError(400, 'INVALID_ARGUMENT', 'The registration token is not a valid FCM registration token', 'INVALID_ARGUMENT'),
  quota: (retryAfterSeconds: number): FcmAnswer => ({ ...fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.', 'QUOTA_EXCEEDED'), headers: { 'retry-after': String(retryAfterSeconds) } }),
  unavailable: (retryAfterSeconds?: number): FcmAnswer => ({ ...fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE'), ...(retryAfterSeconds === undefined ? {} : { headers: { 'retry-after': String(retryAfterSeconds) } }) })
}

function fcmError (status: number, canonical: string, message: string, fcmCode: string): { status: number, json: unknown } {
  return { status, json: { error: { code: status, message, status: canonical, details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: fcmCode }] } } }
}

/**
 * A local HTTPS server shaped like FCM HTTP v1 (`POST /v1/projects/<id>/messages:send`) that
 * records every send. `agent` (fcmAgent) routes firebase-admin to it, so the library's real send
 * path runs, certificate check included.
 */
export class FcmEndpoint {
  readonly requests: FcmRequest[] = []
  /** How to answer the next send; by default 200. */
  answer: (request: FcmRequest) => FcmAnswer
  readonly agent: Agent
  readonly #server: Server
  readonly #hanging = new Set<ServerResponse>()
  readonly #sockets = new Set<Socket>()
  readonly #waiters: Array<{ count: number, resolve: () => void }> = []

  private constructor (server: Server, ca: string, projectId: string) {
    this.#server = server
    this.answer = () => FCM_ANSWERS.ok(projectId)
    this.agent = fcmAgent((server.address() as AddressInfo).port, ca)
    server.on('request', (req: IncomingMessage, res: ServerResponse) => { void this.#handle(req, res) })
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.once('close', () => this.#sockets.delete(socket))
    })
  }

  static async start (ca: TestCa, projectId = 'lowband-test'): Promise<FcmEndpoint> {
    const server = createServer({ key: ca.key, cert: ca.cert })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return new FcmEndpoint(server, ca.ca, projectId)
  }

  /** Where the endpoint listens on 127.0.0.1 (for a broker in another process: fcmAgent). */
  get port (): number {
    return (this.#server.address() as AddressInfo).port
  }

  /** Sends answered 'hang' and still open. */
  get pending (): number {
    return this.#hanging.size
  }

  /** Resolves once `count` sends have arrived in all. */
  received (count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ count, resolve }))
  }

  async close (): Promise<void> {
    for (const res of this.#hanging) res.destroy()
    this.agent.destroy()
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  async #handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const text = Buffer.concat(chunks).toString()
    const request: FcmRequest = { url: req.url ?? '', headers: req.headers, body: JSON.parse(text) as FcmRequest['body'], at: performance.now() }
    this.requests.push(request)
    for (const waiter of this.#waiters.filter((w) => this.requests.length >= w.count)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
    const answer = this.answer(request)
    if (answer === 'hang') {
      this.#hanging.add(res)
      res.once('close', () => this.#hanging.delete(res))
      return
    }
    res.writeHead(answer.status, { 'content-type': 'application/json; charset=UTF-8', ...answer.headers }).end(JSON.stringify(answer.json))
  }
}

/** A credential whose access token is fixed: the FCM endpoint is local, Google's token service is not needed. */
export const fixedCredential = { getAccessToken: () => Promise.resolve({ access_token: 'test-access-token', expires_in: 3600 }) }

/**
 * A worker's factory (push/worker-provider.ts): firebase-admin's FCM provider taken to a local
 * endpoint in another thread or process, with the fixed credential.
 */
export function localFcmProvider (options: { port: number, ca: string, projectId: string }): PushProvider {
  return createFcmProvider({ projectId: options.projectId, credential: fixedCredential, httpAgent: fcmAgent(options.port, options.ca) })
}
