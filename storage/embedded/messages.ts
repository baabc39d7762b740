import type { ClassicLevel } from 'classic-level'
import {
  conversationOf, type AppendResult, type HistoryPage, type InboxEntry, type MessageStatus, type MessageStore,
  type NewDirectMessage, type ReceiptEntry, type StoredMessage, type StoredReceipt
} from '../contracts.js'
import { dedupKey } from '../message-id.js'
import type { Committer } from './committer.js'
import { KeyedLock } from './keyed-lock.js'
import { keys, seqOfKey } from './keys.js'
import { decodeRecord, encodeRecord } from './record-codec.js'
import { Sequences } from './sequences.js'

interface StoredRecord { message: StoredMessage, senderSeq: number, recipientSeq: number }
/** An inbox slot holds a message id or a receipt. */
interface InboxSlot { m?: string, r?: StoredReceipt }
type Op = { type: 'put', key: string, value: Uint8Array }

const inboxCounter = (userId: string): string => `i:${userId}`
const conversationCounter = (conversation: string): string => `c:${conversation}`

/** Messages, inboxes and receipts in the embedded LevelDB store. */
export class EmbeddedMessageStore implements MessageStore {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #committer: Committer
  readonly #newId: () => string
  readonly #sequences: Sequences
  readonly #locks = new KeyedLock()
  /** Appends under way per dedup key, so a resend racing its original is stored once. */
  readonly #inFlight = new Map<string, Promise<AppendResult>>()

  constructor (db: ClassicLevel<string, Uint8Array>, committer: Committer, newId: () => string) {
    this.#db = db
    this.#committer = committer
    this.#newId = newId
    this.#sequences = new Sequences(db)
  }

  appendDirect (message: NewDirectMessage): Promise<AppendResult> {
    const key = dedupKey(message.from, message.fromDevice, message.clientMsgId)
    const running = this.#inFlight.get(key)
    if (running !== undefined) return running.then((result) => ({ ...result, duplicate: true }))
    const append = this.#append(key, message).finally(() => this.#inFlight.delete(key))
    this.#inFlight.set(key, append)
    return append
  }

  async #append (key: string, draft: NewDirectMessage): Promise<AppendResult> {
    const existingId = await this.#db.get(keys.dedup(key), { valueEncoding: 'utf8' }) as string | undefined
    if (existingId !== undefined) {
      const record = await this.#record(existingId)
      if (record !== undefined) return { ...record, duplicate: true }
    }
    const conversation = conversationOf(draft.from, draft.to)
    const counters = [inboxCounter(draft.from), inboxCounter(draft.to), conversationCounter(conversation)]
    await Promise.all([
      this.#sequences.ensure(counters[0]!, keys.inboxRange(draft.from)),
      this.#sequences.ensure(counters[1]!, keys.inboxRange(draft.to)),
      this.#sequences.ensure(counters[2]!, keys.conversationRange(conversation))
    ])
    // From here to the write nothing awaits, so concurrent appends never share a number.
    const cseq = this.#sequences.take(counters[2]!)
    const senderSeq = this.#sequences.take(counters[0]!)
    const recipientSeq = draft.to === draft.from ? senderSeq : this.#sequences.take(counters[1]!)
    const message: StoredMessage = { ...draft, id: this.#newId(), conversation, cseq }
    const record: StoredRecord = { message, senderSeq, recipientSeq }
    const slot = encodeRecord({ m: message.id } satisfies InboxSlot)
    const ops: Op[] = [
      { type: 'put', key: keys.message(message.id), value: encodeRecord(record) },
      { type: 'put', key: keys.dedup(key), value: Buffer.from(message.id) },
      { type: 'put', key: keys.conversation(conversation, cseq), value: Buffer.from(message.id) },
      { type: 'put', key: keys.inbox(message.from, senderSeq), value: slot }
    ]
    if (message.to !== message.from) ops.push({ type: 'put', key: keys.inbox(message.to, recipientSeq), value: slot })
    await this.#write(ops, counters)
    return { ...record, duplicate: false }
  }

  async readInbox (userId: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    const entries: InboxEntry[] = []
    for await (const [key, value] of this.#db.iterator({ gt: keys.inbox(userId, afterSeq), lt: keys.inboxRange(userId).lt, limit })) {
      const slot = decodeRecord<InboxSlot>(value)
      const seq = seqOfKey(key)
      if (slot.r !== undefined) {
        entries.push({ seq, receipt: slot.r })
      } else if (slot.m !== undefined) {
        const record = await this.#record(slot.m)
        if (record !== undefined) entries.push({ seq, message: record.message })
      }
    }
    return entries
  }

  async inboxHead (userId: string): Promise<number> {
    await this.#sequences.ensure(inboxCounter(userId), keys.inboxRange(userId))
    return this.#sequences.head(inboxCounter(userId))
  }

  markDelivered (recipient: string, messageId: string, ts: number): Promise<ReceiptEntry | undefined> {
    return this.#locks.run(`v:${messageId}`, async () => {
      const record = await this.#record(messageId)
      if (record === undefined) return undefined
      const { message } = record
      if (message.to !== recipient || message.from === recipient) return undefined
      if (await this.#db.get(keys.delivered(messageId)) !== undefined) return undefined
      if (await this.#watermark(message.conversation, recipient) >= message.cseq) return undefined
      const receipt: StoredReceipt = { peer: recipient, status: 1, cseq: message.cseq, ts }
      const [entry] = await this.#appendReceipts([{ owner: message.from, receipt }], [{ type: 'put', key: keys.delivered(messageId), value: encodeRecord(ts) }])
      return entry
    })
  }

  markRead (reader: string, peer: string, cseq: number, ts: number): Promise<{ toPeer: ReceiptEntry, toReader: ReceiptEntry } | undefined> {
    if (reader === peer) return Promise.resolve(undefined)
    const conversation = conversationOf(reader, peer)
    return this.#locks.run(`w:${conversation}:${reader}`, async () => {
      await this.#sequences.ensure(conversationCounter(conversation), keys.conversationRange(conversation))
      const upTo = Math.min(cseq, this.#sequences.head(conversationCounter(conversation)))
      if (upTo <= await this.#watermark(conversation, reader)) return undefined
      const [toPeer, toReader] = await this.#appendReceipts([
        { owner: peer, receipt: { peer: reader, status: 2, cseq: upTo, ts } },
        { owner: reader, receipt: { peer, status: 3, cseq: upTo, ts } }
      ], [{ type: 'put', key: keys.watermark(conversation, reader), value: encodeRecord(upTo) }])
      return { toPeer: toPeer!, toReader: toReader! }
    })
  }

  async history (userId: string, peer: string, before: number, limit: number): Promise<HistoryPage> {
    const conversation = conversationOf(userId, peer)
    const range = keys.conversationRange(conversation)
    const ids: string[] = []
    const upper = before > 0 ? keys.conversation(conversation, before) : range.lt
    for await (const id of this.#db.values({ gt: range.gt, lt: upper, reverse: true, limit: limit + 1 })) ids.push(Buffer.from(id).toString())
    const more = ids.length > limit
    const page = ids.slice(0, limit).reverse()
    const [peerRead, myRead] = await Promise.all([this.#watermark(conversation, peer), this.#watermark(conversation, userId)])
    const items: HistoryPage['items'] = []
    for (const id of page) {
      const record = await this.#record(id)
      if (record === undefined) continue
      const { message } = record
      let status: MessageStatus
      if (message.from === userId && message.to !== userId) {
        status = message.cseq <= peerRead ? 2 : await this.#db.get(keys.delivered(id)) !== undefined ? 1 : 0
      } else {
        status = message.cseq <= myRead ? 2 : 1
      }
      items.push({ message, status })
    }
    return { items, more }
  }

  async #appendReceipts (receipts: Array<{ owner: string, receipt: StoredReceipt }>, extra: Op[]): Promise<ReceiptEntry[]> {
    const counters = receipts.map((r) => inboxCounter(r.owner))
    await Promise.all(receipts.map((r, i) => this.#sequences.ensure(counters[i]!, keys.inboxRange(r.owner))))
    const entries = receipts.map((r, i) => ({ ...r, seq: this.#sequences.take(counters[i]!) }))
    const ops: Op[] = [...extra, ...entries.map((e) => ({ type: 'put' as const, key: keys.inbox(e.owner, e.seq), value: encodeRecord({ r: e.receipt } satisfies InboxSlot) }))]
    await this.#write(ops, counters)
    return entries
  }

  async #write (ops: Op[], counters: string[]): Promise<void> {
    try {
      await this.#committer.write(ops)
    } catch (error) {
      // The numbers handed out may not be on disk: reload them from disk next time.
      for (const name of counters) this.#sequences.forget(name)
      throw error
    }
  }

  async #watermark (conversation: string, reader: string): Promise<number> {
    const value = await this.#db.get(keys.watermark(conversation, reader))
    return value === undefined ? 0 : decodeRecord<number>(value)
  }

  async #record (id: string): Promise<StoredRecord | undefined> {
    const bytes = await this.#db.get(keys.message(id))
    return bytes === undefined ? undefined : decodeRecord<StoredRecord>(bytes)
  }
}
