import type { DeviceId, UserId } from '../protocol/ids.js'
import type { PushPlatform } from '../protocol/requests.js'
import type { PushToken } from '../storage/contracts.js'

/** What one push carries to one device: data only, never a title, a body or a message's content. */
export interface PushMessage {
  token: string
  platform: PushPlatform
  /** FCM data: string values only, under 4096 bytes (see payload.ts for the keys). */
  data: Record<string, string>
  /** One per conversation: a phone that was off holds one push per conversation. */
  collapseKey: string
  priority: PushPriority
  /** How long the push service keeps it for a device that is off. */
  ttlSeconds: number
}

export type PushPriority = 'high' | 'normal'

/**
 * What the push service made of one push. `unregistered`: the token is dead (uninstalled app,
 * expired or malformed token) and is pruned. `retry`: worth sending again later (429, 5xx, network),
 * after `retryAfterMs` when the service said so. `failed`: a permanent refusal (bad credentials, a
 * payload the service rejects): retrying would not help.
 */
export type PushOutcome =
  | { kind: 'sent' }
  | { kind: 'unregistered', reason: string }
  | { kind: 'retry', reason: string, retryAfterMs?: number }
  | { kind: 'failed', reason: string }

/** A push service: FCM (fcm.ts), or the log provider for development (log-provider.ts). */
export interface PushProvider {
  /** A short name for logs: "fcm project p1", "log". */
  readonly name: string
  send (message: PushMessage): Promise<PushOutcome>
  close (): Promise<void>
}

/** Counters the push module reports; the broker exposes them on /metrics. */
export interface PushMetrics {
  sent (): void
  /** A stored message folded into a push already pending or sent within the window. */
  coalesced (): void
  failed (reason: 'rejected' | 'gave-up' | 'queue-full'): void
  retried (): void
  pruned (): void
}

/** A stored message as the push fallback sees it: who holds it, and where in which conversation. */
export interface StoredFor {
  user: UserId
  /** The conversation as the holder names it: the peer's user id, or the group id. */
  conversation: string
  group: boolean
  cseq: number
  /** The message's seq in the holder's inbox: a PUBACK of this seq or later acknowledges it. */
  seq: number
}

/**
 * The hooks' side of push (push/ knows no MQTT flow: the hooks report what happened, the policy
 * decides what is pushed). Every call returns at once; none of them waits on the push service.
 */
export interface PushFallback {
  /** A message was stored for `user` (never its sender); `connected` says which of its devices are connected now. */
  stored (message: StoredFor, connected: (device: DeviceId) => boolean): void
  /** A device acknowledged its inbox up to `seq` (the PUBACK of a delivery): what it has needs no push. */
  acknowledged (user: UserId, device: DeviceId, seq: number): void
  /** The user read the conversation up to `cseq` (a read watermark): no device of it needs a push for that. */
  read (user: UserId, conversation: string, group: boolean, cseq: number): void
  /** The user's tokens changed (register, unregister): forget what was read of them. */
  tokensChanged (user: UserId): void
  close (): Promise<void>
}

/** Where the policy reads and prunes tokens: the directory, through the broker's wiring. */
export interface TokenStore {
  tokensOf (user: UserId): Promise<PushToken[]>
  /** The token is dead: remove it wherever it is registered; the user that held it. */
  remove (token: string): Promise<UserId | undefined>
}
