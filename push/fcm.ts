import { randomBytes } from 'node:crypto'
import { Agent } from 'node:https'
import { cert, deleteApp, initializeApp, type Credential } from 'firebase-admin/app'
import { getMessaging } from 'firebase-admin/messaging'
import type { PushMessage, PushOutcome, PushProvider } from './contracts.js'
import { fcmMessage } from './fcm-message.js'
import { ResponseWatch, type ResponseSeen } from './response-watch.js'

export interface FcmOptions {
  projectId: string
  /** cert() of a service account; tests pass one whose getAccessToken returns a fixed token. */
  credential: Credential
  /**
   * The agent every FCM request goes through. By default a keep-alive agent of `maxSockets`
   * connections; tests pass one that reaches a local server shaped like FCM HTTP v1.
   */
  httpAgent?: Agent
  /** Connections to FCM at once (the dispatcher keeps this many sends in flight). */
  maxSockets?: number
  now?: () => number
}

/** Error codes of a token FCM no longer knows, or never did: the token is pruned. */
const DEAD_TOKEN = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token'])
/** Worth retrying whatever the status: quota, FCM unavailable or failing, the network. */
const RETRYABLE = new Set([
  'messaging/message-rate-exceeded', 'messaging/device-message-rate-exceeded', 'messaging/server-unavailable',
  'messaging/internal-error', 'app/network-timeout', 'app/network-error'
])

/**
 * Pushes through Firebase Cloud Messaging with firebase-admin 13 (its last major that runs on
 * Node 20), one `send()` per push over HTTP/1.1 keep-alive connections.
 *
 * firebase-admin's errors do not carry the response's headers, so the status and Retry-After of
 * each send are read from Node's HTTP client diagnostics channel for this provider's agent
 * (response-watch.ts). firebase-admin itself retries a 503 and a timed-out (15 s) or reset
 * connection up to 4 times — after 0, 1, 2 and 4 s, or after a Retry-After of at most 60 s — before
 * its send fails; this provider's outcome is what is left after that.
 */
export function createFcmProvider (options: FcmOptions): PushProvider {
  const agent = options.httpAgent ?? new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32 })
  const app = initializeApp({ projectId: options.projectId, credential: options.credential, httpAgent: agent }, `lowband-push-${randomBytes(6).toString('hex')}`)
  const messaging = getMessaging(app)
  const watch = new ResponseWatch(agent)
  const now = options.now ?? Date.now
  return {
    name: `fcm project ${options.projectId}`,
    async send (push: PushMessage): Promise<PushOutcome> {
      const { seen, result } = watch.run(() => messaging.send(fcmMessage(push, now())))
      try {
        await result
        return { kind: 'sent' }
      } catch (error) {
        return outcomeOf(error, seen)
      }
    },
    async close () {
      watch.close()
      await deleteApp(app)
      if (options.httpAgent === undefined) agent.destroy()
    }
  }
}

/** A worker's factory (worker-provider.ts): FCM with the credential of a service-account file's JSON. */
export function fcmFromServiceAccount (options: { json: unknown, maxSockets: number }): PushProvider {
  return createFcmProvider({ ...serviceAccountCredential(options.json), maxSockets: options.maxSockets })
}

/**
 * The service-account file's credential and project, through firebase-admin's own `cert()`
 * (which checks the fields and the private key). Throws with a one-line reason.
 */
export function serviceAccountCredential (json: unknown): { projectId: string, credential: Credential } {
  const projectId = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).project_id : undefined
  try {
    const credential = cert(json as Parameters<typeof cert>[0])
    return { projectId: String(projectId), credential }
  } catch (error) {
    throw new Error((error instanceof Error ? error.message : String(error)).split('\n')[0])
  }
}

function outcomeOf (error: unknown, seen: ResponseSeen): PushOutcome {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'unknown'
  const message = error instanceof Error ? error.message : String(error)
  const reason = `${code}${seen.status === undefined ? '' : ` (HTTP ${seen.status})`}: ${message}`
  // FCM answers a malformed token with INVALID_ARGUMENT naming the token; any other invalid argument is ours.
  if (DEAD_TOKEN.has(code) || (code === 'messaging/invalid-argument' && /registration token|message\.token/i.test(message))) {
    return { kind: 'unregistered', reason }
  }
  if (RETRYABLE.has(code) || seen.status === 429 || (seen.status !== undefined && seen.status >= 500)) {
    return { kind: 'retry', reason, ...(seen.retryAfterMs === undefined ? {} : { retryAfterMs: seen.retryAfterMs }) }
  }
  return { kind: 'failed', reason }
}
