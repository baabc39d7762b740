import {
  conversationOf, groupConversationOf, type AppendResult, type GroupAppendResult, type HistoryPage, type InboxEntry,
  type MessageStore, type NewDirectMessage, type NewGroupMessage, type ReceiptEntry, type StoredMessage
} from '../contracts.js'
import { dedupKey } from '../message-id.js'
import { conversationCounter, inboxCounter, put, type InboxSlot, type Op, type StoreCore, type StoredRecord } from './core.js'
import { keys, seqOfKey } from './keys.js'
import type { Committer } from './committer.js'
import { Deliveries } from './deliveries.js'
import { DeviceCursors } from '../device-cursors.js'
import { Receipts } from './receipts.js'
import { decodeRecord, encodeRecord } from './record-codec.js'

/** Messages, inboxes and history in the embedded LevelDB store; receipts are in deliveries.ts and receipts.ts. */
export class EmbeddedMessageStore implements MessageStore {
  readonly #core: StoreCore
  readonly #newId: () => string
  readonly #deliveries: Deliveries
  readonly #receipts: Receipts
  readonly #cursors: DeviceCursors
  /** Appends under way per dedup key, so a resend racing its original is stored once. */
  readonly #inFlight = new Map<string, Promise<StoredRecord & { duplicate: boolean }>>()

  /** `afterCrash`: the last process did not close the store, so deliveries it recorded may be lost. */
  constructor (core: StoreCore, committer: Committer, newId: () => string, afterCrash: boolean) {
    this.#core = core
    this.#cursors = new DeviceCursors({
      read: (userId, deviceId) => Promise.resolve(storedCursor(core, keys.deviceCursor(userId, deviceId))),
      write: (cursors) => committer.write(cursors.map((c) => {
        const key = keys.deviceCursor(c.userId, c.deviceId)
        return { type: 'put' as const, key, value: Buffer.from(String(Math.max(c.seq, storedCursor(core, key) ?? 0))) }
      }))
    })
    this.#newId = newId
    this.#deliveries = new Deliveries(core, afterCrash)
    this.#receipts = new Receipts(core, this.#deliveries)
  }

  /**
   * Calls `placed` once the numbers are taken (or the stored original is found): they are taken
   * without an await in between, so a later append gets later numbers, and the committer fails
   * everything queued behind a failed batch (committer.ts), as the contract asks.
   */
  async appendDirect (draft: NewDirectMessage, placed?: () => void): Promise<AppendResult> {
    const stored = await this.#deduplicated(draft, (dedup, place) => this.#append(draft, [draft.from, draft.to], conversationOf(draft.from, draft.to), false, dedup, place), placed)
    return { message: stored.message, senderSeq: stored.seqs[draft.from]!, recipientSeq: stored.seqs[draft.to]!, duplicate: stored.duplicate }
  }

  async appendGroup (draft: NewGroupMessage, members: string[]): Promise<GroupAppendResult> {
    const stored = await this.#deduplicated(draft, (dedup) => this.#append(draft, members, groupConversationOf(draft.to), true, dedup))
    return { message: stored.message, seqs: stored.seqs, duplicate: stored.duplicate }
  }

  /** Runs `append` unless the message is a resend; `append` writes the dedup key in its own batch. */
  #deduplicated (draft: NewDirectMessage, append: (dedupKey: string, placed: () => void) => Promise<StoredRecord>, placed?: () => void): Promise<StoredRecord & { duplicate: boolean }> {
    const key = dedupKey(draft.from, draft.fromDevice, draft.clientMsgId)
    const running = this.#inFlight.get(key)
    if (running !== undefined) {
      placed?.()
      return running.then((stored) => ({ ...stored, duplicate: true }))
    }
    // `placed` only once this append is registered as in flight: a resend started from it must find it.
    let registered = false
    let placedEarly = false
    const place = (): void => { if (registered) placed?.(); else placedEarly = true }
    const work = (async () => {
      // Default options: getSync's fast path (an encoding option costs a lookup and a copy of the options per call).
      const existingId = this.#core.db.getSync(keys.dedup(key))
      const existing = existingId === undefined ? undefined : this.#core.record(Buffer.from(existingId).toString())
      if (existing !== undefined) {
        place()
        return { ...existing, duplicate: true }
      }
      return { ...await append(keys.dedup(key), place), duplicate: false }
    })().finally(() => this.#inFlight.delete(key))
    this.#inFlight.set(key, work)
    registered = true
    if (placedEarly) placed?.()
    return work
  }

  /** One durable write: the message, its conversation slot and a slot in every holder's inbox. */
  async #append (draft: NewDirectMessage, holders: string[], conversation: string, group: boolean, dedup: string, placed?: () => void): Promise<StoredRecord> {
    const users = [...new Set(holders)]
    const counters = [conversationCounter(conversation), ...users.map(inboxCounter)]
    const loading = this.#core.sequences.ensureAll(counters, (i) => i === 0 ? keys.conversationRange(conversation) : keys.inboxRange(users[i - 1]!))
    if (loading !== undefined) await loading
    // From here to the write nothing awaits, so concurrent appends never share a number and every
    // member's inbox holds group messages in cseq order.
    const cseq = this.#core.sequences.take(counters[0]!)
    const seqs: Record<string, number> = {}
    for (let i = 0; i < users.length; i++) seqs[users[i]!] = this.#core.sequences.take(counters[i + 1]!)
    // Field by field: spreading the draft and a conditional part took V8's slow generic copy
    // (about 4 µs a message in the 3000 msg/s profile, docs/BENCH.md).
    const message: StoredMessage = {
      from: draft.from, fromDevice: draft.fromDevice, to: draft.to, body: draft.body, kind: draft.kind, ts: draft.ts, clientMsgId: draft.clientMsgId,
      id: this.#newId(), conversation, cseq
    }
    if (group) message.group = true
    const record: StoredRecord = { message, seqs }
    if (group) record.recipients = users.filter((u) => u !== draft.from)
    const written = this.#core.write(appendOps(record, dedup, users), counters)
    placed?.()
    await written
    // Its recipient's PUBACK asks next for it: no need to ask LevelDB.
    this.#core.rememberRecord(message.id, record)
    return record
  }

  async readInbox (userId: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    const entries: InboxEntry[] = []
    for await (const [key, value] of this.#core.db.iterator({ gt: keys.inbox(userId, afterSeq), lt: keys.inboxRange(userId).lt, limit })) {
      const slot = decodeRecord<InboxSlot>(value)
      const seq = seqOfKey(key)
      if (slot.r !== undefined) {
        entries.push({ seq, receipt: slot.r })
      } else if (slot.m !== undefined) {
        const record = this.#core.record(slot.m)
        if (record !== undefined) entries.push({ seq, message: record.message })
      }
    }
    return entries
  }

  async inboxHead (userId: string): Promise<number> {
    await this.#core.sequences.ensure(inboxCounter(userId), keys.inboxRange(userId))
    return this.#core.sequences.head(inboxCounter(userId))
  }

  markDelivered (recipient: string, seq: number): Promise<string | undefined> {
    const slot = this.#core.get(keys.inbox(recipient, seq))
    const messageId = slot === undefined ? undefined : decodeRecord<InboxSlot>(slot).m
    const record = messageId === undefined ? undefined : this.#core.record(messageId)
    return record === undefined ? Promise.resolve(undefined) : this.#deliveries.acknowledged(recipient, record)
  }

  markDeliveredUpTo (recipient: string, cursor: number): Promise<string[]> {
    return this.#deliveries.recoverUpTo(recipient, cursor, () => this.inboxHead(recipient))
  }

  flushDelivered (conversation: string, ts: number): Promise<ReceiptEntry[]> {
    return this.#deliveries.flush(conversation, ts)
  }

  deviceCursor (userId: string, deviceId: string): Promise<number | undefined> {
    return this.#cursors.get(userId, deviceId)
  }

  advanceDeviceCursor (userId: string, deviceId: string, seq: number): void {
    this.#cursors.advance(userId, deviceId, seq)
  }

  /** Writes the device cursors advanced since their last write (at close). */
  flushDeviceCursors (): Promise<void> {
    return this.#cursors.flush()
  }

  /** After a reopen: cursors held in memory may not be on disk. */
  forgetCached (): void {
    this.#cursors.forget()
  }

  /** Writes every delivery not yet flushed (at close). */
  flushAllDelivered (ts: number): Promise<void> {
    return this.#deliveries.flushAll(ts)
  }

  markRead (reader: string, peer: string, cseq: number, ts: number, group = false): Promise<ReceiptEntry[]> {
    return this.#receipts.markRead(reader, peer, cseq, ts, group)
  }

  async history (userId: string, peer: string, before: number, limit: number, group = false): Promise<HistoryPage> {
    const conversation = group ? groupConversationOf(peer) : conversationOf(userId, peer)
    const range = keys.conversationRange(conversation)
    const ids: string[] = []
    const upper = before > 0 ? keys.conversation(conversation, before) : range.lt
    for await (const id of this.#core.db.values({ gt: range.gt, lt: upper, reverse: true, limit: limit + 1 })) ids.push(Buffer.from(id).toString())
    const more = ids.length > limit
    const myRead = this.#core.watermark(conversation, userId)
    const items: HistoryPage['items'] = []
    for (const id of ids.slice(0, limit).reverse()) {
      const record = this.#core.record(id)
      if (record === undefined) continue
      items.push({ message: record.message, status: record.message.from === userId && record.message.to !== userId ? this.#receipts.statusForSender(record) : record.message.cseq <= myRead ? 2 : 1 })
    }
    return { items, more }
  }
}

function storedCursor (core: StoreCore, key: string): number | undefined {
  const stored = core.get(key)
  return stored === undefined ? undefined : Number(Buffer.from(stored).toString())
}

/**
 * The puts of one append: the record, its dedup key, its conversation slot and a slot in each of
 * `holders`' inboxes (bench/offload-cost.ts prices building them).
 */
export function appendOps (record: StoredRecord, dedup: string, holders: readonly string[]): Op[] {
  const { message, seqs } = record
  const slot = encodeRecord({ m: message.id } satisfies InboxSlot)
  return [
    put(keys.message(message.id), record),
    { type: 'put', key: dedup, value: Buffer.from(message.id) },
    { type: 'put', key: keys.conversation(message.conversation, message.cseq), value: Buffer.from(message.id) },
    ...holders.map((u) => ({ type: 'put' as const, key: keys.inbox(u, seqs[u]!), value: slot }))
  ]
}
