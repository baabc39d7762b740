import { ReadWatermark } from '../../protocol/envelopes.js'
import { COMMAND } from '../../protocol/topics.js'
import { conversationKey, peerOf, type Conversation } from './conversation.js'
import type { Transport } from './transport.js'

/** The unread count of a conversation changed. */
export interface UnreadChange {
  readonly conversation: Conversation
  /** Messages of others after `readUpTo` that this device has seen. */
  readonly count: number
  /** This user's read watermark (cseq), from this device or another one. */
  readonly readUpTo: number
}

interface ConversationRead {
  readonly conversation: Conversation
  /** The highest watermark sent or learnt: nothing at or below it is sent again. */
  readUpTo: number
  /** Cseqs of others' messages after readUpTo, ascending (inbox order is cseq order). */
  unread: number[]
  /** A watermark not yet acknowledged by the broker; sent again on the next connection. */
  pending: number | undefined
}

/**
 * This user's reading, per conversation: the read watermark (`c/d`), sent forward-only, and the
 * unread count that follows from it. Another device's watermark comes back as a read-by-me
 * receipt and moves the count here too, so every device shows the same number.
 *
 * Only the latest watermark of a conversation matters, so one made offline simply waits, and a
 * newer one replaces it, instead of queueing every step.
 */
export class ReadState {
  readonly #transport: () => Transport | undefined
  readonly #changed: (change: UnreadChange) => void
  readonly #conversations = new Map<string, ConversationRead>()

  constructor (transport: () => Transport | undefined, changed: (change: UnreadChange) => void) {
    this.#transport = transport
    this.#changed = changed
  }

  unread (conversation: Conversation): number {
    return this.#conversations.get(conversationKey(conversation))?.unread.length ?? 0
  }

  readUpTo (conversation: Conversation): number {
    return this.#conversations.get(conversationKey(conversation))?.readUpTo ?? 0
  }

  /** A message of someone else arrived (system messages are not counted). */
  incoming (conversation: Conversation, cseq: number): void {
    const read = this.#read(conversation)
    if (cseq <= read.readUpTo || read.unread.includes(cseq)) return
    read.unread.push(cseq)
    this.#emit(read)
  }

  /** Sends a watermark unless it would not move forward; false then. */
  markRead (conversation: Conversation, cseq: number): boolean {
    const read = this.#read(conversation)
    if (cseq <= read.readUpTo) return false
    this.#advance(read, cseq)
    read.pending = cseq
    this.#flush(read, this.#transport())
    return true
  }

  /** My watermark, from a read-by-me receipt (another device's, or this one's echoed back). */
  learnt (conversation: Conversation, cseq: number): void {
    const read = this.#read(conversation)
    if (read.pending !== undefined && read.pending <= cseq) read.pending = undefined
    if (cseq > read.readUpTo) this.#advance(read, cseq)
  }

  /** A new connection: send the watermarks that were not acknowledged. */
  opened (transport: Transport): void {
    for (const read of this.#conversations.values()) this.#flush(read, transport)
  }

  #advance (read: ConversationRead, cseq: number): void {
    read.readUpTo = cseq
    const before = read.unread.length
    read.unread = read.unread.filter((c) => c > cseq)
    if (read.unread.length !== before) this.#emit(read)
  }

  #flush (read: ConversationRead, transport: Transport | undefined): void {
    const cseq = read.pending
    if (cseq === undefined || transport === undefined) return
    const { peer, group } = peerOf(read.conversation)
    transport.publish(COMMAND.read, ReadWatermark.encode({ peer, cseq, ...(group ? { group } : {}) }), 1).then(() => {
      if (read.pending === cseq) read.pending = undefined
    }, () => { /* lost with the connection: opened() sends it again */ })
  }

  #emit (read: ConversationRead): void {
    this.#changed({ conversation: read.conversation, count: read.unread.length, readUpTo: read.readUpTo })
  }

  #read (conversation: Conversation): ConversationRead {
    const key = conversationKey(conversation)
    let read = this.#conversations.get(key)
    if (read === undefined) {
      read = { conversation, readUpTo: 0, unread: [], pending: undefined }
      this.#conversations.set(key, read)
    }
    return read
  }
}
