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
  /** The peer's delivered and read watermarks: my messages up to each are delivered / read, tracked or not. */
  readonly upTo: { delivered: number, read: number }
}

/**
 * The status of this user's own messages, derived from receipts: both "delivered" and "read" are
 * watermarks over the conversation ("up to cseq N"), so one receipt moves every message up to N.
 * Statuses only move forward, as on the broker: a delivered receipt that comes after the read
 * changes nothing. The newest `capacity` messages are remembered; watermarks are kept per
 * conversation, so a message tracked after its receipt starts where the receipt put it.
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
    const { byCseq, upTo } = this.#statuses(conversation)
    const reached: MessageStatus = cseq <= upTo.read ? 'read' : cseq <= upTo.delivered ? 'delivered' : 'sent'
    const tracked: Tracked = { id, conversation, cseq, status: RANK[reached] > RANK[status] ? reached : status }
    this.#byId.set(id, tracked)
    byCseq.set(cseq, tracked)
    if (this.#byId.size > this.#capacity) this.#forget(this.#byId.values().next().value!)
    if (announce) this.#emit(tracked)
    return tracked.status
  }

  /** The peer has my messages up to `upTo`, or has read them: each reached message moves, oldest first. */
  reached (conversation: Conversation, status: 'delivered' | 'read', upTo: number): void {
    const statuses = this.#statuses(conversation)
    if (upTo <= statuses.upTo[status]) return
    statuses.upTo[status] = upTo
    const reached = [...statuses.byCseq.values()].filter((t) => t.cseq <= upTo).sort((a, b) => a.cseq - b.cseq)
    for (const tracked of reached) this.#advance(tracked, status)
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
      statuses = { byCseq: new Map(), upTo: { delivered: 0, read: 0 } }
      this.#conversations.set(key, statuses)
    }
    return statuses
  }

  #forget (tracked: Tracked): void {
    this.#byId.delete(tracked.id)
    this.#conversations.get(conversationKey(tracked.conversation))?.byCseq.delete(tracked.cseq)
  }
}
