import type { Conversation } from './conversation.js'
import { UnconfirmedSendError } from './errors.js'
import { messageId } from './message-id.js'

/**
 * What send() resolves with: the message's id (its conversation and cseq), its seqs in the sender's
 * inbox and in the conversation, and its time (Unix s): this device's clock when the broker
 * confirmed it, or the server's time when a replay confirmed it.
 */
export interface SendResult {
  readonly id: string
  readonly seq: number
  readonly cseq: number
  readonly ts: number
  readonly clientMsgId: Uint8Array
}

/** How the broker confirmed a send: a stored-ack (`ts` then comes from this device) or the replayed message. */
export interface Confirmation {
  readonly seq: number
  readonly cseq: number
  readonly ts?: number
}

/**
 * A send not yet confirmed. `attempt` tells a stale PUBACK (of an earlier publish) from the current
 * one. `early`: a QoS 0 copy went behind a CONNECT (see takeEarly); its stored-ack settles it.
 */
export interface OutboxEntry {
  readonly key: string
  readonly clientMsgId: Uint8Array
  readonly payload: Uint8Array
  readonly conversation: Conversation
  state: 'queued' | 'published' | 'early'
  attempt: number
  /** PUBACKs that came without a stored-ack or error. */
  unconfirmed: number
  result?: SendResult
  readonly resolve: (result: SendResult) => void
  readonly reject: (error: Error) => void
}

/** A PUBACK without a stored-ack is retried this many times before the send fails. */
const MAX_UNCONFIRMED = 3

/**
 * Sends until the broker confirms them. Invariant 1 makes a resend safe: the broker deduplicates by
 * (sender, device, clientMsgId), so an entry is simply published again, with the same id, after
 * every reconnect until a stored-ack arrives. At most a window of publishes await their PUBACK at
 * once (send-window.ts sizes it to the link): a backlog queued offline then drains at the link's
 * pace instead of in one burst.
 */
export class Outbox {
  readonly #entries = new Map<string, OutboxEntry>()
  readonly #self: string
  readonly #onStored: (conversation: Conversation, result: SendResult) => void

  /** `self`: the sending user. `onStored`: once per send, as soon as it is known to be stored (its ✓, before the send settles). */
  constructor (self: string, onStored: (conversation: Conversation, result: SendResult) => void = () => {}) {
    this.#self = self
    this.#onStored = onStored
  }

  get size (): number {
    return this.#entries.size
  }

  add (key: string, clientMsgId: Uint8Array, payload: Uint8Array, conversation: Conversation): Promise<SendResult> {
    return new Promise((resolve, reject) => {
      this.#entries.set(key, { key, clientMsgId, payload, conversation, state: 'queued', attempt: 0, unconfirmed: 0, resolve, reject })
    })
  }

  has (key: string): boolean {
    return this.#entries.has(key)
  }

  /** Whether a send is queued (for room in the window, or for a connection). */
  get waiting (): boolean {
    for (const entry of this.#entries.values()) if (entry.state === 'queued') return true
    return false
  }

  /** The queued entries that fit in a window of `window` publishes, oldest first, now marked published. */
  takeReady (window: number): OutboxEntry[] {
    let inFlight = 0
    for (const entry of this.#entries.values()) if (entry.state !== 'queued') inFlight++
    const ready: OutboxEntry[] = []
    for (const entry of this.#entries.values()) {
      if (inFlight + ready.length >= window) break
      if (entry.state !== 'queued') continue
      entry.state = 'published'
      entry.attempt++
      ready.push(entry)
    }
    return ready
  }

  /**
   * Queued sends, oldest first, as many as fit in `bytes` of payload (at least one), now marked
   * early: their QoS 0 copies go right behind the next CONNECT. With TCP Fast Open they ride the
   * SYN, and the broker has them half a round trip after a link's return instead of one and a half
   * (QoS 1 waits for the CONNACK). What a SYN cannot hold waits for the handshake either way.
   */
  takeEarly (bytes: number): OutboxEntry[] {
    const early: OutboxEntry[] = []
    let room = bytes
    for (const entry of this.#entries.values()) {
      if (entry.state !== 'queued') continue
      if (early.length > 0 && entry.payload.length > room) break
      room -= entry.payload.length
      entry.state = 'early'
      entry.attempt++
      early.push(entry)
    }
    return early
  }

  /** Whether early copies await their stored-acks. */
  get hasEarly (): boolean {
    for (const entry of this.#entries.values()) if (entry.state === 'early') return true
    return false
  }

  /** Early copies still without their stored-ack (lost with an attempt, or refused): queued again, for QoS 1. */
  requeueEarly (): void {
    for (const entry of this.#entries.values()) if (entry.state === 'early') entry.state = 'queued'
  }

  /**
   * A stored-ack: the message is durable. The send settles on its PUBACK (or on a lost connection);
   * an early copy has no PUBACK to wait for. Returns whether that made room in the window.
   */
  stored (key: string, ack: Confirmation): boolean {
    const entry = this.#entries.get(key)
    if (entry === undefined) return false
    this.#acknowledged(entry, ack)
    if (entry.state !== 'early') return false
    this.#settle(entry)
    return true
  }

  /** The PUBACK of publish number `attempt`: settles the send, or queues it again when unconfirmed. */
  pubacked (key: string, attempt: number): void {
    const entry = this.#entries.get(key)
    if (entry === undefined || entry.attempt !== attempt || entry.state !== 'published') return
    if (entry.result !== undefined) return this.#settle(entry)
    // The broker answers every send with a stored-ack or an error before the PUBACK; neither
    // came (a lost QoS 0 reply). Publishing again is safe: the broker deduplicates.
    entry.unconfirmed++
    if (entry.unconfirmed >= MAX_UNCONFIRMED) return this.fail(key, new UnconfirmedSendError(entry.unconfirmed))
    entry.state = 'queued'
  }

  /** The message is in the inbox (a replay carried it): as good as a stored-ack and PUBACK. */
  seen (key: string, ack: Confirmation): void {
    const entry = this.#entries.get(key)
    if (entry === undefined) return
    this.#acknowledged(entry, ack)
    this.#settle(entry)
  }

  /** A coded error for this send: it is over. */
  fail (key: string, error: Error): void {
    const entry = this.#entries.get(key)
    if (entry === undefined) return
    this.#entries.delete(key)
    entry.reject(error)
  }

  /** Publish again later (the broker asked to slow down). */
  requeue (key: string): void {
    const entry = this.#entries.get(key)
    if (entry !== undefined) entry.state = 'queued'
  }

  /**
   * The connection is gone. A send whose stored-ack arrived is stored: it succeeds without its
   * PUBACK. Every other one goes back to the queue for the next connection.
   */
  connectionLost (): void {
    for (const entry of [...this.#entries.values()]) {
      if (entry.result !== undefined) this.#settle(entry)
      else entry.state = 'queued'
    }
  }

  failAll (error: Error): void {
    const entries = [...this.#entries.values()]
    this.#entries.clear()
    for (const entry of entries) entry.reject(error)
  }

  #acknowledged (entry: OutboxEntry, ack: Confirmation): void {
    // A resend is acknowledged again (the broker deduplicates): the first ✓ is the one to report.
    if (entry.result !== undefined) return
    const ts = ack.ts ?? Math.floor(Date.now() / 1000)
    entry.result = { id: messageId(this.#self, entry.conversation, ack.cseq), seq: ack.seq, cseq: ack.cseq, ts, clientMsgId: entry.clientMsgId }
    this.#onStored(entry.conversation, entry.result)
  }

  #settle (entry: OutboxEntry): void {
    this.#entries.delete(entry.key)
    entry.resolve(entry.result!)
  }
}
