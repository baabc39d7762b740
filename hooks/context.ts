import type { Aedes, Client, PublishPacket } from 'aedes'
import type { Logger } from 'pino'
import type { DeviceId, UserId } from '../protocol/ids.js'
import type { Storage } from '../storage/contracts.js'
import type { InFlight } from './in-flight.js'
import type { TokenVerifier } from './token-verifier.js'

/** Who is on the other end of a connection, set once by the authenticate hook. */
export interface Identity {
  userId: UserId
  deviceId: DeviceId
}

export interface HookConfig {
  /** Topics outside the chat namespace: `deny` them, or be a plain MQTT 3.1.1 broker there (`open`). */
  topicPolicy: 'deny' | 'open'
  allowAnonymous: boolean
  /** Largest accepted PUBLISH payload, bytes. */
  maxPayload: number
  /** Sustained publishes per second per connection, and the burst above it. */
  rateLimit: { perSecond: number, burst: number }
}

/** Counters the hooks report; the broker exposes them on /metrics. */
export interface ChatMetrics {
  stored (seconds: number): void
  duplicate (): void
  rejected (code: number): void
  connected (delta: 1 | -1): void
  authFailed (reason: string): void
}

export interface HookContext {
  readonly config: HookConfig
  readonly storage: Storage
  readonly verifier: TokenVerifier
  readonly log: Logger
  readonly metrics: ChatMetrics
  readonly identities: WeakMap<Client, Identity>
  readonly inFlight: InFlight
  /** The broker the hooks belong to; available once it is created. */
  readonly broker: () => Aedes
  /** Milliseconds; injectable so timers are testable. */
  readonly now: () => number
}

/** Publishes through the broker to every matching subscriber, resolving when handed over. */
export function publish (ctx: HookContext, packet: Omit<PublishPacket, 'cmd' | 'dup'>): Promise<void> {
  return new Promise((resolve, reject) => {
    ctx.broker().publish({ cmd: 'publish', dup: false, ...packet }, (error) => error ? reject(error) : resolve())
  })
}

/** Publishes to one connected client only (its replies, errors and replays). */
export function publishTo (client: Client, packet: Omit<PublishPacket, 'cmd' | 'dup'>): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish({ cmd: 'publish', dup: false, ...packet }, (error) => error ? reject(error) : resolve())
  })
}
