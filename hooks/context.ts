import type { Aedes, Client, PublishPacket } from 'aedes'
import mqttPacket from 'mqtt-packet'
import type { Logger } from 'pino'
import type { DeviceId, UserId } from '../protocol/ids.js'
import type { PushFallback } from '../push/contracts.js'
import type { Storage } from '../storage/contracts.js'
import type { KeyedLock } from '../storage/keyed-lock.js'
import { forwardToNodes, type ClusterLink } from './cluster.js'
import type { MediaStore } from '../storage/media/contract.js'
import type { InFlight } from './in-flight.js'
import type { RateLimits } from './rate-limit.js'
import type { Presence } from './presence.js'
import type { ReceiptWindows } from './receipt-windows.js'
import type { TokenVerifier } from './token-verifier.js'

/**
 * What the replays of one connection cover, so the broker's replay after CONNACK and the device's
 * own resume request are reconciled (hooks/flows/resume.ts).
 */
export interface ReplayState {
  /** The recorded cursor the broker's replay started after; undefined when it had none (no replay). */
  readonly start: Promise<number | undefined>
  /** The running replay skips entries at or below this: the device said it holds them. */
  skipTo: number
  /** The device's first resume request has been reconciled with the broker's replay. */
  reconciled: boolean
  /** Gap-repair replays started on the connection: a running one stops once a later one starts. */
  repairs?: number
}

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
  /**
   * Per connection: sustained publishes per second and the burst above it; sustained payload bytes
   * per second and the burst above that.
   */
  rateLimit: RateLimits
  /** Most members a group may have. */
  maxGroupSize: number
  /** Refuse plaintext chat bodies (text, media): only end-to-end encrypted kinds are stored. */
  requireE2e?: boolean
}

/** Counters the hooks report; the broker exposes them on /metrics. */
export interface ChatMetrics {
  stored (seconds: number): void
  duplicate (): void
  rejected (code: number): void
  connected (delta: 1 | -1): void
  authFailed (reason: string): void
  /** Recipients with no connected device, whom a push would wake. */
  pushCandidates (count: number): void
}

/**
 * Access to topics outside the chat namespace under `--topic-policy open`, from `--acl FILE`
 * (broker/acl.ts). Chat topics never reach it: lowband's own rules govern them.
 */
export interface TopicAcl {
  /** The rules of one connection, resolved on first use; `username` is undefined for anonymous clients. */
  of (client: Client, username: string | undefined): ClientAcl
}

export interface ClientAcl {
  maySubscribe (filter: string): boolean
  mayPublish (topic: string): boolean
  /** Whether a message on `topic` may be forwarded to the client. */
  mayRead (topic: string): boolean
}

/** Photos, voice notes and files through object storage (presigned: blobs never pass the broker). */
export interface MediaContext {
  readonly store: MediaStore
  /** Largest blob a device may upload, bytes. */
  readonly maxBytes: number
  /** Types a device may upload, lower case: `type/subtype`, or wildcards such as `image/*` (any type: a star on both sides). */
  readonly types: readonly string[]
}

export interface HookContext {
  readonly config: HookConfig
  /** Absent without `--acl`: every non-chat topic is open under `--topic-policy open`. */
  readonly acl?: TopicAcl
  readonly storage: Storage
  readonly verifier: TokenVerifier
  readonly log: Logger
  readonly metrics: ChatMetrics
  readonly identities: WeakMap<Client, Identity>
  readonly inFlight: InFlight
  readonly presence: Presence
  /** Undefined when no bucket is configured: media requests get MEDIA_NOT_CONFIGURED. */
  readonly media?: MediaContext
  /** Push fallback: told what is stored, acknowledged and read; decides what is pushed. */
  readonly push: PushFallback
  /** Serialises sends and membership changes per group (across nodes in a cluster). */
  readonly groupLocks: Pick<KeyedLock, 'run'>
  /** The other nodes of a cluster (`--redis`); undefined for a single node. */
  readonly cluster?: ClusterLink
  /** Coalesces delivered receipts per conversation (hooks/delivered.ts). */
  readonly deliveredReceipts: ReceiptWindows
  /** The broker the hooks belong to; available once it is created. */
  readonly broker: () => Aedes
  /** Milliseconds; injectable so timers are testable. */
  readonly now: () => number
  /**
   * Encrypted messages in flight to subscribers: the published payload → that payload for one
   * device (its own ciphertext only). authorize-forward swaps it per receiving device.
   */
  readonly deviceCopies: WeakMap<Buffer, (deviceId: DeviceId) => Buffer>
  /** Persistent sessions' replays after CONNACK, and every connection's gap repairs. */
  readonly replays: WeakMap<Client, ReplayState>
}

/**
 * Aedes drops a packet for a client when one with a higher `brokerCounter` from the same `brokerId`
 * already went to that client (`dedupe` in lib/client.js, meant for overlapping subscriptions). But
 * packets on different paths overtake each other — a QoS 0 publish is emitted at once, a QoS 1 one
 * after an asynchronous persistence step — so a QoS 0 packet could silently drop the QoS 1 message
 * published just before it (moscajs/aedes#994, #955). Each of lowband's delivery paths therefore
 * gets its own brokerId namespace, inside which order holds.
 */
function brokerIdFor (broker: Aedes, path: 'fan0' | 'fan1' | 'to0' | 'to1'): string {
  return `${broker.id}~${path}`
}

type Outgoing = Omit<PublishPacket, 'cmd' | 'dup'>

/**
 * Publishes through the broker to every matching subscriber, resolving when handed over; in a
 * cluster, a user's devices on other nodes get it as a wake-up too.
 */
export function publish (ctx: Pick<HookContext, 'broker' | 'cluster' | 'deviceCopies'>, packet: Outgoing): Promise<void> {
  const broker = ctx.broker()
  forwardToNodes(ctx, packet)
  return new Promise((resolve, reject) => {
    broker.publish({ cmd: 'publish', dup: false, ...packet, brokerId: brokerIdFor(broker, packet.qos === 0 ? 'fan0' : 'fan1') } as PublishPacket,
      (error) => error ? reject(error) : resolve())
  })
}

/** Publishes to one connected client only (its replies, errors and replays). */
export function publishTo (ctx: Pick<HookContext, 'broker'>, client: Client, packet: Outgoing): Promise<void> {
  const brokerId = brokerIdFor(ctx.broker(), packet.qos === 0 ? 'to0' : 'to1')
  return new Promise((resolve, reject) => {
    client.publish({ cmd: 'publish', dup: false, ...packet, brokerId } as PublishPacket, (error) => error ? reject(error) : resolve())
  })
}

/**
 * Writes a QoS 0 PUBLISH to one client's socket now. Aedes defers its own QoS 0 writes by a turn of
 * the event loop (`setImmediate` in deliver0), so a reply published through it leaves in a separate
 * segment — and a separate writev, the broker's largest single cost — from the PUBACK written
 * right after the hook returns. Written here, it is in the same corked batch as that PUBACK, and
 * still before it. For replies to the client's own publish only: nothing is routed or filtered.
 */
export function writeTo (client: Client, topic: string, payload: Buffer): void {
  if (client.closed || !client.conn.writable) return
  mqttPacket.writeToStream({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }, client.conn)
}
