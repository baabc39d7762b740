import { conversationOf, groupConversationOf, type MessageStatus, type ReceiptEntry } from '../contracts.js'
import { KIND } from '../../protocol/envelopes.js'
import { KeyedLock } from '../keyed-lock.js'
import { put, type StoreCore, type StoredRecord } from './core.js'
import { keys } from './keys.js'

/**
 * Delivered and read, forward-only. 1:1: the first acknowledgement delivers; the reader's watermark
 * reads. Groups: a message is delivered when its last member acknowledges it and read when its
 * last member's watermark passes it — one receipt to its sender per transition, never one per member.
 */
export class Receipts {
  readonly #core: StoreCore
  readonly #locks = new KeyedLock()

  constructor (core: StoreCore) {
    this.#core = core
  }

  markDelivered (recipient: string, messageId: string, ts: number): Promise<ReceiptEntry[]> {
    return this.#locks.run(`v:${messageId}`, async () => {
      const record = await this.#core.record(messageId)
      // System messages ("alice added bob") carry no ticks.
      if (record === undefined || record.message.kind === KIND.system) return []
      const { message } = record
      const delivered = [{ owner: message.from, receipt: { peer: message.to, status: 1 as const, cseq: message.cseq, ts, ...(message.group === true ? { group: true } : {}) } }]
      if (message.group !== true) {
        if (message.to !== recipient || message.from === recipient) return []
        if (this.#core.get(keys.delivered(messageId)) !== undefined) return []
        if (await this.#core.watermark(message.conversation, recipient) >= message.cseq) return []
        return this.#core.appendReceipts(delivered, [put(keys.delivered(messageId), ts)])
      }
      if (record.recipients?.includes(recipient) !== true) return []
      if (this.#core.get(keys.memberDelivered(messageId, recipient)) !== undefined) return []
      const count = await this.#core.number(keys.deliveredCount(messageId)) + 1
      const marks = [put(keys.memberDelivered(messageId, recipient), ts), put(keys.deliveredCount(messageId), count)]
      if (count < record.recipients.length) {
        await this.#core.write(marks, [])
        return []
      }
      return this.#core.appendReceipts(delivered, [...marks, put(keys.delivered(messageId), ts)])
    })
  }

  markRead (reader: string, peer: string, cseq: number, ts: number, group: boolean): Promise<ReceiptEntry[]> {
    if (!group && reader === peer) return Promise.resolve([])
    const conversation = group ? groupConversationOf(peer) : conversationOf(reader, peer)
    // Per conversation for groups: the read-by-all point moves with every member's watermark.
    return this.#locks.run(group ? `w:${conversation}` : `w:${conversation}:${reader}`, async () => {
      const upTo = Math.min(cseq, await this.#core.conversationHead(conversation))
      if (upTo <= await this.#core.watermark(conversation, reader)) return []
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
    const watermark = async (user: string): Promise<number> => {
      let value = watermarks.get(user)
      if (value === undefined) {
        value = await this.#core.watermark(conversation, user)
        watermarks.set(user, value)
      }
      return value
    }
    let readTo = await this.#core.number(keys.readByAll(conversation))
    const bySender = new Map<string, number>()
    for await (const id of this.#core.db.values({ gt: keys.conversation(conversation, readTo), lt: keys.conversationRange(conversation).lt })) {
      const record = await this.#core.record(Buffer.from(id).toString())
      if (record === undefined) break
      let all = true
      for (const member of record.recipients ?? []) {
        if (await watermark(member) < record.message.cseq) { all = false; break }
      }
      if (!all) break
      readTo = record.message.cseq
      if (record.message.kind !== KIND.system) bySender.set(record.message.from, readTo)
    }
    return { readTo, bySender }
  }

  /** A sender's message as its sender sees it. */
  async statusForSender (record: StoredRecord): Promise<MessageStatus> {
    const { message } = record
    const read = message.group === true
      ? message.cseq <= await this.#core.number(keys.readByAll(message.conversation))
      : message.cseq <= await this.#core.watermark(message.conversation, message.to)
    if (read) return 2
    return this.#core.get(keys.delivered(message.id)) !== undefined ? 1 : 0
  }
}
