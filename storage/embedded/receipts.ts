import { conversationOf, groupConversationOf, type MessageStatus, type ReceiptEntry } from '../contracts.js'
import { KIND } from '../../protocol/envelopes.js'
import { KeyedLock } from '../keyed-lock.js'
import { put, type StoreCore, type StoredRecord } from './core.js'
import type { Deliveries } from './deliveries.js'
import { keys } from './keys.js'

/**
 * Read, forward-only, and the statuses history reports. 1:1: the reader's watermark reads. Groups:
 * a message is read when its last member's watermark passes it — one receipt to its sender per
 * transition, never one per member. Delivered is in deliveries.ts.
 */
export class Receipts {
  readonly #core: StoreCore
  readonly #deliveries: Deliveries
  readonly #locks = new KeyedLock()

  constructor (core: StoreCore, deliveries: Deliveries) {
    this.#core = core
    this.#deliveries = deliveries
  }

  markRead (reader: string, peer: string, cseq: number, ts: number, group: boolean): Promise<ReceiptEntry[]> {
    if (!group && reader === peer) return Promise.resolve([])
    const conversation = group ? groupConversationOf(peer) : conversationOf(reader, peer)
    // Per conversation for groups: the read-by-all point moves with every member's watermark.
    return this.#locks.run(group ? `w:${conversation}` : `w:${conversation}:${reader}`, async () => {
      const upTo = Math.min(cseq, await this.#core.conversationHead(conversation))
      if (upTo <= this.#core.watermark(conversation, reader)) return []
      // Before the watermark is written: delivery counts start from what the store says now.
      await this.#deliveries.read(reader, conversation, group ? peer : undefined, upTo)
      const mark = put(keys.watermark(conversation, reader), upTo)
      const byMe = { owner: reader, receipt: { peer, status: 3 as const, cseq: upTo, ts, ...(group ? { group: true } : {}) } }
      if (!group) {
        return this.#core.appendReceipts([{ owner: peer, receipt: { peer: reader, status: 2, cseq: upTo, ts } }, byMe], [mark])
      }
      const { readTo, bySender } = await this.#readByAll(conversation, reader, upTo)
      const toSenders = [...bySender].map(([owner, last]) => ({ owner, receipt: { peer, group: true, status: 2 as const, cseq: last, ts } }))
      return this.#core.appendReceipts([...toSenders, byMe], [mark, put(keys.readByAll(conversation), readTo)])
    })
  }

  /** Walks the group's messages after its read-by-all point while every member of each has read it. */
  async #readByAll (conversation: string, reader: string, readerUpTo: number): Promise<{ readTo: number, bySender: Map<string, number> }> {
    const watermarks = new Map<string, number>([[reader, readerUpTo]])
    const watermark = (user: string): number => {
      let value = watermarks.get(user)
      if (value === undefined) {
        value = this.#core.watermark(conversation, user)
        watermarks.set(user, value)
      }
      return value
    }
    let readTo = this.#core.number(keys.readByAll(conversation))
    const bySender = new Map<string, number>()
    for await (const id of this.#core.db.values({ gt: keys.conversation(conversation, readTo), lt: keys.conversationRange(conversation).lt })) {
      const record = this.#core.record(Buffer.from(id).toString())
      if (record === undefined || (record.recipients ?? []).some((member) => watermark(member) < record.message.cseq)) break
      readTo = record.message.cseq
      if (record.message.kind !== KIND.system) bySender.set(record.message.from, readTo)
    }
    return { readTo, bySender }
  }

  /** A sender's message as its sender sees it. */
  statusForSender (record: StoredRecord): MessageStatus {
    const { message } = record
    if (message.group === true) {
      if (message.cseq <= this.#core.number(keys.readByAll(message.conversation))) return 2
      return message.cseq <= this.#deliveries.deliveredToAll(message.conversation) ? 1 : 0
    }
    if (message.cseq <= this.#core.watermark(message.conversation, message.to)) return 2
    return message.cseq <= this.#deliveries.deliveredTo(message.conversation, message.to) ? 1 : 0
  }
}
