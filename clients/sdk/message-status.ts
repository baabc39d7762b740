import { conversationKey, type Conversation } from './conversation.js'

/** ✓ stored, ✓✓ delivered (a device of the recipient, or of every group member, has it), read. */
export type MessageStatus = 'sent' | 'delivered' | 'read'

/** One of my messages moved forward. */
export interface MessageStatusChange {
  readonly id: string
  readonly conversation: Conversation
  readonly cseq: number
  readonly status: MessageStatus
}

const RANK: Readonly<Record<MessageStatus, number>> = { sent: 0, delivered: 1, read: 2 }

interface Tracked {
  readonly id: string
  readonly conversation: Conversation
  readonly cseq: number
  status: MessageStatus
}

interface ConversationStatuses {
  readonly byCseq: Map<number, Tracked>
  /** The peer's read watermark: my messages up to here are read, tracked or not. */
  readUpTo: number
}

/**
 * The status of this user's own messages, derived from receipts: "delivered" names one message
 * (its cseq), "read" a watermark over the conversation. Statuses only move forward, as on the
 * broker: a delivered receipt that comes after the read changes nothing. The newest `capacity`
 * messages are remembered; read watermarks are kept per conversation.
 */
export class MessageStatuses {
  readonly #capacity: number
  readonly #changed: (change: MessageStatusChange) => void
  /** In the order first seen, so the oldest is the first to forget. */
  readonly #byId = new Map<string, Tracked>()
  readonly #conversations = new Map<string, ConversationStatuses>()

  constructor (capacity: number, changed: (change: MessageStatusChange) => void) {
    this.#capacity = capacity
    this.#changed = changed
  }

  status (id: string): MessageStatus | undefined {
    return this.#byId.get(id)?.status
  }

  /**
   * One of my messages, at `status` as far as the caller knows (stored: `sent`; from history: what
   * the broker said). `announce` reports it as a change; history pages are not news.
   */
  track (id: string, conversation: Conversation, cseq: number, status: MessageStatus, announce: boolean): MessageStatus {
    const known = this.#byId.get(id)
    if (known !== undefined) {
      this.#advance(known, status)
      return known.status
    }
    const statuses = this.#statuses(conversation)
    const tracked: Tracked = { id, conversation, cseq, status: cseq <= statuses.readUpTo ? 'read' : status }
    this.#byId.set(id, tracked)
    statuses.byCseq.set(cseq, tracked)
    if (this.#byId.size > this.#capacity) this.#forget(this.#byId.values().next().value!)
    if (announce) this.#emit(tracked)
    return tracked.status
  }

  delivered (conversation: Conversation, cseq: number): void {
    const tracked = this.#conversations.get(conversationKey(conversation))?.byCseq.get(cseq)
    if (tracked !== undefined) this.#advance(tracked, 'delivered')
  }

  read (conversation: Conversation, upTo: number): void {
    const statuses = this.#statuses(conversation)
    if (upTo <= statuses.readUpTo) return
    statuses.readUpTo = upTo
    const reached = [...statuses.byCseq.values()].filter((t) => t.cseq <= upTo).sort((a, b) => a.cseq - b.cseq)
    for (const tracked of reached) this.#advance(tracked, 'read')
  }

  #advance (tracked: Tracked, status: MessageStatus): void {
    if (RANK[status] <= RANK[tracked.status]) return
    tracked.status = status
    this.#emit(tracked)
  }

  #emit (tracked: Tracked): void {
    this.#changed({ id: tracked.id, conversation: tracked.conversation, cseq: tracked.cseq, status: tracked.status })
  }

  #statuses (conversation: Conversation): ConversationStatuses {
    const key = conversationKey(conversation)
    let statuses = this.#conversations.get(key)
    if (statuses === undefined) {
      statuses = { byCseq: new Map(), readUpTo: 0 }
      this.#conversations.set(key, statuses)
    }
    return statuses
  }

  #forget (tracked: Tracked): void {
    this.#byId.delete(tracked.id)
    this.#conversations.get(conversationKey(tracked.conversation))?.byCseq.delete(tracked.cseq)
  }
}
