import type { ClassicLevel } from 'classic-level'
import type { AppendResult, InboxEntry, MessageStore, NewDirectMessage, StoredMessage } from '../contracts.js'
import { dedupKey } from '../message-id.js'
import type { Committer } from './committer.js'
import { keys, seqOfInboxKey } from './keys.js'
import { decodeRecord, encodeRecord } from './record-codec.js'

interface StoredRecord { message: StoredMessage, senderSeq: number, recipientSeq: number }

/** Messages and inboxes in the embedded LevelDB store. */
export class EmbeddedMessageStore implements MessageStore {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #committer: Committer
  readonly #newId: () => string
  /** Last assigned inbox seq per user, loaded from disk on first use. */
  readonly #heads = new Map<string, number>()
  readonly #loading = new Map<string, Promise<void>>()
  /** Appends under way per dedup key, so a resend racing its original is stored once. */
  readonly #inFlight = new Map<string, Promise<AppendResult>>()

  constructor (db: ClassicLevel<string, Uint8Array>, committer: Committer, newId: () => string) {
    this.#db = db
    this.#committer = committer
    this.#newId = newId
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
    const message: StoredMessage = { ...draft, id: this.#newId() }
    // Sequences are taken synchronously once both heads are known, so concurrent appends to one
    // inbox never share a seq.
    await Promise.all([this.#ensureHead(message.from), this.#ensureHead(message.to)])
    const senderSeq = this.#take(message.from)
    const recipientSeq = message.to === message.from ? senderSeq : this.#take(message.to)
    const record: StoredRecord = { message, senderSeq, recipientSeq }
    const value = encodeRecord(record)
    const ops = [
      { type: 'put' as const, key: keys.message(message.id), value },
      { type: 'put' as const, key: keys.dedup(key), value: Buffer.from(message.id) },
      { type: 'put' as const, key: keys.inbox(message.from, senderSeq), value: Buffer.from(message.id) }
    ]
    if (message.to !== message.from) {
      ops.push({ type: 'put' as const, key: keys.inbox(message.to, recipientSeq), value: Buffer.from(message.id) })
    }
    try {
      await this.#committer.write(ops)
    } catch (error) {
      // The seqs handed out may not be on disk: reload the heads from disk next time.
      this.#heads.delete(message.from)
      this.#heads.delete(message.to)
      throw error
    }
    return { ...record, duplicate: false }
  }

  async readInbox (userId: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    const range = keys.inboxRange(userId)
    const entries: InboxEntry[] = []
    for await (const [key, id] of this.#db.iterator({ gt: keys.inbox(userId, afterSeq), lt: range.lt, limit })) {
      const record = await this.#record(Buffer.from(id).toString())
      if (record !== undefined) entries.push({ seq: seqOfInboxKey(key), message: record.message })
    }
    return entries
  }

  async inboxHead (userId: string): Promise<number> {
    await this.#ensureHead(userId)
    return this.#heads.get(userId) ?? 0
  }

  async #record (id: string): Promise<StoredRecord | undefined> {
    const bytes = await this.#db.get(keys.message(id))
    return bytes === undefined ? undefined : decodeRecord<StoredRecord>(bytes)
  }

  #ensureHead (userId: string): Promise<void> {
    if (this.#heads.has(userId)) return Promise.resolve()
    let loading = this.#loading.get(userId)
    if (loading === undefined) {
      loading = this.#loadHead(userId)
        .then((head) => { if (!this.#heads.has(userId)) this.#heads.set(userId, head) })
        .finally(() => this.#loading.delete(userId))
      this.#loading.set(userId, loading)
    }
    return loading
  }

  #take (userId: string): number {
    const next = (this.#heads.get(userId) ?? 0) + 1
    this.#heads.set(userId, next)
    return next
  }

  async #loadHead (userId: string): Promise<number> {
    for await (const key of this.#db.keys({ ...keys.inboxRange(userId), reverse: true, limit: 1 })) return seqOfInboxKey(key)
    return 0
  }
}
