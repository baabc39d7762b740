import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import type { DeviceId, UserId } from '../protocol/ids.js'
import type { PushToken } from '../storage/contracts.js'
import type { PushClock } from './clock.js'
import type { PushFallback, PushMessage, PushMetrics, PushPriority, StoredFor, TokenStore } from './contracts.js'
import { RUN_NOW, type LoopCalm } from './loop-calm.js'
import { collapseKeyOf, pushData } from './payload.js'
import { TokenReads } from './token-reads.js'
import { UnreadCounts } from './unread.js'

export interface PolicyOptions {
  /** A connected device that has not acknowledged a message this long gets a push anyway, ms. */
  graceMs: number
  /** At most one push per device and conversation this often, ms. */
  windowMs: number
  /** How long the push service keeps a push for a device that is off, s. */
  ttlSeconds: number
  priority: { direct: PushPriority, group: PushPriority }
}

/** Where the policy hands a push: the dispatcher (one queue key per device and conversation). */
export interface PushSink {
  enqueue (key: string, message: PushMessage): void
}

/** A user's tokens as last read, and how far each device acknowledged since (to beat the read). */
interface UserTokens {
  tokens: PushToken[] | undefined
  readonly ready: Promise<PushToken[]>
  readonly acked: Map<DeviceId, number>
  /** Read watermarks (conversation key → cseq) that arrived while the tokens were being read: they beat the read too. */
  readonly readEarly: Map<string, number>
  /** Messages stored while the tokens were being read: scheduled together once they are. */
  readonly early: Array<[StoredFor, (device: DeviceId) => boolean]>
}

/** One device and one conversation: what is stored for it and not acknowledged, and its window. */
interface Pending {
  readonly user: UserId
  readonly device: DeviceId
  readonly conversation: string
  readonly group: boolean
  /** The conversation's key among the device's (conversationKey). */
  readonly conversationKey: string
  /** The dispatcher's key: device and conversation. */
  readonly key: string
  newestCseq: number
  newestSeq: number
  /** When what is waiting must be pushed; undefined when nothing waits. */
  dueAt: number | undefined
  /** When the last push went out; its window keeps the next one back. */
  pushedAt: number | undefined
  timerAt: number | undefined
  cancelTimer: (() => void) | undefined
}

/** Tokens are read again after this long, so a token registered on another node is found, ms. */
const TOKEN_TTL_MS = 5 * 60_000
const TOKEN_USERS = 100_000

/**
 * When to push. A stored message schedules a push for each device of its holder that has a push
 * token: at once for a device that is not connected, after the grace period for one that is (it
 * should acknowledge first). The device's acknowledgement, or the user's read watermark, cancels it.
 * A push goes at most once per device and conversation per window; what arrives within the window
 * waits for its end and goes as one push with the newest cseq (then only if still unacknowledged).
 *
 * All of it in memory, per broker process, with one timer per device and conversation that has
 * something waiting. Only users with a push token are tracked at all.
 */
export class PushPolicy implements PushFallback {
  readonly #o: PolicyOptions
  readonly #tokenStore: TokenStore
  readonly #sink: PushSink
  readonly #clock: PushClock
  readonly #log: Logger
  readonly #metrics: PushMetrics
  readonly #tokens = new LRUCache<UserId, UserTokens>({ max: TOKEN_USERS, ttl: TOKEN_TTL_MS })
  /** user → device → conversation key → what waits */
  readonly #pending = new Map<UserId, Map<DeviceId, Map<string, Pending>>>()
  readonly #unread = new UnreadCounts()
  readonly #reads: TokenReads

  /** `calm` holds token reads back while the event loop is busy (loop-calm.ts); by default they go at once. */
  constructor (options: PolicyOptions, tokenStore: TokenStore, sink: PushSink, clock: PushClock, log: Logger, metrics: PushMetrics, calm: Pick<LoopCalm, 'run'> = RUN_NOW) {
    this.#o = options
    this.#tokenStore = tokenStore
    this.#reads = new TokenReads((user) => tokenStore.tokensOf(user), calm)
    this.#sink = sink
    this.#clock = clock
    this.#log = log
    this.#metrics = metrics
  }

  stored (message: StoredFor, connected: (device: DeviceId) => boolean): void {
    const entry = this.#tokensOf(message.user)
    // Most holders' tokens are cached: no promise, no turn of the event loop on the way.
    if (entry.tokens !== undefined) this.#schedule(message, connected, entry, entry.tokens)
    else entry.early.push([message, connected])
  }

  acknowledged (user: UserId, device: DeviceId, seq: number): void {
    const entry = this.#tokens.get(user)
    if (entry !== undefined) entry.acked.set(device, Math.max(seq, entry.acked.get(device) ?? 0))
    for (const pending of this.#pending.get(user)?.get(device)?.values() ?? []) {
      if (pending.newestSeq <= seq) this.#settle(pending)
    }
  }

  read (user: UserId, conversation: string, group: boolean, cseq: number): void {
    const key = conversationKey(conversation, group)
    this.#unread.read(user, key, cseq)
    const entry = this.#tokens.get(user)
    if (entry !== undefined && entry.tokens === undefined) entry.readEarly.set(key, Math.max(cseq, entry.readEarly.get(key) ?? 0))
    for (const conversations of this.#pending.get(user)?.values() ?? []) {
      const pending = conversations.get(key)
      if (pending !== undefined && pending.newestCseq <= cseq) this.#settle(pending)
    }
  }

  tokensChanged (user: UserId): void {
    this.#tokens.delete(user)
  }

  /** A token the service called dead: removed from the directory, and so from every push after. */
  async prune (message: PushMessage): Promise<void> {
    try {
      const user = await this.#tokenStore.remove(message.token)
      if (user === undefined) return
      this.#tokens.delete(user)
      this.#metrics.pruned()
      this.#log.info({ user, platform: message.platform }, 'push token pruned: the push service no longer knows it')
    } catch (error) {
      this.#log.warn({ err: error }, 'could not prune a dead push token')
    }
  }

  async close (): Promise<void> {
    this.#reads.close()
    for (const devices of this.#pending.values()) {
      for (const conversations of devices.values()) for (const pending of conversations.values()) pending.cancelTimer?.()
    }
    this.#pending.clear()
  }

  #tokensOf (user: UserId): UserTokens {
    const entry = this.#tokens.get(user)
    if (entry !== undefined) return entry
    // Read after this turn, a few at a time (token-reads.ts): never inside the publish that asked.
    const ready = this.#reads.read(user)
    const loading: UserTokens = { tokens: undefined, ready, acked: new Map(), readEarly: new Map(), early: [] }
    this.#tokens.set(user, loading)
    ready.then((tokens) => {
      loading.tokens = tokens
      // All of them before any push goes, so a push carries the newest cseq and unread count.
      const touched = new Set<Pending>()
      for (const [message, connected] of loading.early.splice(0)) this.#schedule(message, connected, loading, tokens, touched)
      for (const pending of touched) this.#arm(pending)
      loading.readEarly.clear()
    }, (error: unknown) => {
      loading.early.length = 0
      if (this.#tokens.get(user) === loading) this.#tokens.delete(user)
      this.#log.warn({ err: error, user }, 'could not read push tokens: no push for this message')
    })
    return loading
  }

  /** Notes a stored message on its devices' entries and arms their timers, or leaves the arming to the caller that collects `touched`. */
  #schedule (message: StoredFor, connected: (device: DeviceId) => boolean, entry: UserTokens, tokens: PushToken[], touched?: Set<Pending>): void {
    if (tokens.length === 0) return
    const key = conversationKey(message.conversation, message.group)
    // Read already (a watermark can overtake a token read): neither unread nor worth a push.
    if ((entry.readEarly.get(key) ?? 0) >= message.cseq) return
    this.#unread.add(message.user, key, message.cseq)
    const now = this.#clock.now()
    for (const { deviceId } of tokens) {
      // Acknowledged already (it can overtake a token read): nothing to push.
      if ((entry.acked.get(deviceId) ?? 0) >= message.seq) continue
      const pending = this.#pendingFor(message, deviceId, key)
      pending.newestCseq = Math.max(pending.newestCseq, message.cseq)
      pending.newestSeq = Math.max(pending.newestSeq, message.seq)
      if (pending.dueAt !== undefined || this.#inWindow(pending, now)) this.#metrics.coalesced()
      const due = connected(deviceId) ? now + this.#o.graceMs : now
      pending.dueAt = Math.min(pending.dueAt ?? due, due)
      if (touched === undefined) this.#arm(pending)
      else touched.add(pending)
    }
  }

  #pendingFor (message: StoredFor, device: DeviceId, key: string): Pending {
    let devices = this.#pending.get(message.user)
    if (devices === undefined) this.#pending.set(message.user, devices = new Map())
    let conversations = devices.get(device)
    if (conversations === undefined) devices.set(device, conversations = new Map())
    let pending = conversations.get(key)
    if (pending === undefined) {
      pending = {
        user: message.user, device, conversation: message.conversation, group: message.group, conversationKey: key, key: `${message.user}/${device}/${key}`,
        newestCseq: 0, newestSeq: 0, dueAt: undefined, pushedAt: undefined, timerAt: undefined, cancelTimer: undefined
      }
      conversations.set(key, pending)
    }
    return pending
  }

  #inWindow (pending: Pending, now: number): boolean {
    return pending.pushedAt !== undefined && now < pending.pushedAt + this.#o.windowMs
  }

  /** One timer per entry, at the next moment something must happen to it. */
  #arm (pending: Pending): void {
    const windowEnd = pending.pushedAt === undefined ? 0 : pending.pushedAt + this.#o.windowMs
    const at = pending.dueAt === undefined ? windowEnd : Math.max(pending.dueAt, windowEnd)
    if (pending.timerAt === at) return
    pending.cancelTimer?.()
    pending.cancelTimer = undefined
    pending.timerAt = undefined
    const now = this.#clock.now()
    if (at <= now) return this.#due(pending)
    pending.timerAt = at
    pending.cancelTimer = this.#clock.setTimer(at - now, () => this.#due(pending))
  }

  #due (pending: Pending): void {
    pending.timerAt = undefined
    pending.cancelTimer = undefined
    const now = this.#clock.now()
    if (this.#inWindow(pending, now) || (pending.dueAt !== undefined && pending.dueAt > now)) return this.#arm(pending)
    if (pending.dueAt === undefined) return this.#forget(pending)
    pending.dueAt = undefined
    pending.pushedAt = now
    this.#arm(pending)
    this.#push(pending)
  }

  #push (pending: Pending): void {
    const entry = this.#tokensOf(pending.user)
    const send = (tokens: PushToken[]): void => {
      // The device may have lost its token, or acknowledged, while the push waited.
      const token = tokens.find((t) => t.deviceId === pending.device)
      if (token === undefined || (entry.acked.get(pending.device) ?? 0) >= pending.newestSeq) return
      let data: Record<string, string>
      try {
        data = pushData({ conversation: pending.conversation, group: pending.group, cseq: pending.newestCseq, unread: this.#unread.total(pending.user) })
      } catch (error) {
        // Ids are at most 64 characters, so this cannot happen; if it did, a timer must not throw.
        this.#log.error({ err: error, user: pending.user }, 'push not sent')
        return
      }
      this.#sink.enqueue(pending.key, {
        token: token.token,
        platform: token.platform,
        data,
        collapseKey: collapseKeyOf(pending.conversation, pending.group),
        priority: pending.group ? this.#o.priority.group : this.#o.priority.direct,
        ttlSeconds: this.#o.ttlSeconds
      })
    }
    if (entry.tokens !== undefined) send(entry.tokens)
    else entry.ready.then(send, () => undefined)
  }

  /** Acknowledged or read: nothing waits any more; the entry stays only while its window runs. */
  #settle (pending: Pending): void {
    pending.dueAt = undefined
    if (this.#inWindow(pending, this.#clock.now())) return
    pending.cancelTimer?.()
    this.#forget(pending)
  }

  #forget (pending: Pending): void {
    const devices = this.#pending.get(pending.user)
    const conversations = devices?.get(pending.device)
    if (conversations?.get(pending.conversationKey) !== pending) return
    conversations.delete(pending.conversationKey)
    if (conversations.size === 0) devices!.delete(pending.device)
    if (devices!.size === 0) this.#pending.delete(pending.user)
  }
}

/** A conversation as a user names it, unique across 1:1 and groups. */
function conversationKey (conversation: string, group: boolean): string {
  return `${group ? 'g' : 'u'}:${conversation}`
}
