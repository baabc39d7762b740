import type { ClassicLevel } from 'classic-level'
import type { ReceiptEntry, StoredMessage, StoredReceipt, UserIdSeqs } from './types.js'
import type { Committer } from './committer.js'
import { keys } from './keys.js'
import { decodeRecord, encodeRecord } from './record-codec.js'
import { ReadCache } from './read-cache.js'
import { RecordCache } from './record-cache.js'
import { Sequences } from './sequences.js'

/** How a message is kept: the message, its place in each inbox, and (groups) its members then. */
export interface StoredRecord {
  message: StoredMessage
  /** Inbox seq per user that holds the message. */
  seqs: UserIdSeqs
  /** Group messages: the members (sender excluded) whose delivery and reading count for receipts. */
  recipients?: string[]
}

/** An inbox slot holds a message id or a receipt. */
export interface InboxSlot { m?: string, r?: StoredReceipt }
export type Op = { type: 'put', key: string, value: Uint8Array }

/** Entries of the read cache: recent inbox slots, delivered and read watermarks. */
const CACHE_ENTRIES = 100_000
/** Decoded records kept: the messages of the last seconds to minutes, awaiting delivery or reads. */
const RECORD_ENTRIES = 20_000
/** ...and at most this many bytes of them (RecordCache: large bodies must not hold the heap). */
const RECORD_BYTES = 16 * 2 ** 20
/**
 * Keys whose bytes are worth caching: read on every delivery (inbox slots, delivered and read
 * watermarks), not dedup keys, which are only read to find a resend. Message records are cached
 * decoded, apart.
 */
const CACHED_PREFIXES = /^(?:i|dv|da|w|ra)!/
const cacheable = (key: string): boolean => CACHED_PREFIXES.test(key)

export const inboxCounter = (userId: string): string => `i:${userId}`
export const conversationCounter = (conversation: string): string => `c:${conversation}`

/** What the embedded message store's parts share: the database, the group committer and the counters. */
export class StoreCore {
  readonly db: ClassicLevel<string, Uint8Array>
  readonly sequences: Sequences
  readonly #committer: Committer
  /** Every write goes through write(), which keeps this cache exact; a miss reads LevelDB. */
  readonly #cache = new ReadCache(CACHE_ENTRIES)
  /**
   * Recent message records, decoded: every delivery reads the record its message was stored with a
   * moment before. Records are written once and never changed, and nothing changes what it reads.
   */
  readonly #records = new RecordCache(RECORD_ENTRIES, RECORD_BYTES)

  /** `repaired`: LevelDB's repair rebuilt the store, so its sequences may have holes (repaired.ts). */
  constructor (db: ClassicLevel<string, Uint8Array>, committer: Committer, repaired: boolean) {
    this.db = db
    this.#committer = committer
    this.sequences = new Sequences(db, !repaired)
  }

  /**
   * A value by key, from the read cache when it is a cacheable key. Reads are synchronous: a point
   * read of a recent key is served from LevelDB's memtable or block cache in about 2 µs, while the
   * asynchronous get costs ~35 µs of main-thread time under load (docs/BENCH.md, profile).
   */
  get (key: string): Uint8Array | undefined {
    if (!cacheable(key)) return this.db.getSync(key)
    const hit = this.#cache.get(key)
    if (hit !== undefined) return hit ?? undefined
    const value = this.db.getSync(key)
    this.#cache.set(key, value ?? null)
    return value
  }

  /** A message record by id; synchronous like get(). */
  record (id: string): StoredRecord | undefined {
    const cached = this.#records.get(id)
    if (cached !== undefined) return cached
    const bytes = this.db.getSync(keys.message(id))
    if (bytes === undefined) return undefined
    const record = decodeRecord<StoredRecord>(bytes)
    this.#records.set(id, record)
    return record
  }

  /** The message at `cseq` of a conversation, once its write is durable. */
  messageAt (conversation: string, cseq: number): StoredRecord | undefined {
    const id = this.db.getSync(keys.conversation(conversation, cseq))
    return id === undefined ? undefined : this.record(Buffer.from(id).toString())
  }

  /** A record just stored by this process, for the reads its delivery will make. */
  rememberRecord (id: string, record: StoredRecord): void {
    this.#records.set(id, record)
  }

  /** A number stored with put(); 0 when absent. */
  number (key: string): number {
    const value = this.get(key)
    return value === undefined ? 0 : decodeRecord<number>(value)
  }

  /** How far `reader` has read the conversation (cseq). */
  watermark (conversation: string, reader: string): number {
    return this.number(keys.watermark(conversation, reader))
  }

  async conversationHead (conversation: string): Promise<number> {
    await this.sequences.ensure(conversationCounter(conversation), keys.conversationRange(conversation))
    return this.sequences.head(conversationCounter(conversation))
  }

  /** Appends receipts to their owners' inboxes, with `extra` writes, in one durable batch. */
  async appendReceipts (receipts: Array<{ owner: string, receipt: StoredReceipt }>, extra: Op[]): Promise<ReceiptEntry[]> {
    const counters = receipts.map((r) => inboxCounter(r.owner))
    const loading = this.sequences.ensureAll(counters, (i) => keys.inboxRange(receipts[i]!.owner))
    if (loading !== undefined) await loading
    const entries = receipts.map((r, i) => ({ ...r, seq: this.sequences.take(counters[i]!) }))
    const ops: Op[] = [...extra, ...entries.map((e) => ({ type: 'put' as const, key: keys.inbox(e.owner, e.seq), value: encodeRecord({ r: e.receipt } satisfies InboxSlot) }))]
    await this.write(ops, counters)
    return entries
  }

  /** One durable batch; if it fails, the numbers handed out for it are reloaded from disk. */
  async write (ops: Op[], counters: string[]): Promise<void> {
    try {
      await this.#committer.write(ops)
    } catch (error) {
      for (const name of counters) this.sequences.forget(name)
      throw error
    }
    for (const op of ops) if (cacheable(op.key)) this.#cache.set(op.key, op.value)
  }

  /**
   * After the store was reopened: what the caches hold may differ from disk (a write that failed may
   * still have reached the log), so everything is read from disk again.
   */
  forgetCached (): void {
    this.#cache.clear()
    this.#records.clear()
    this.sequences.forgetAll()
  }
}

export function put (key: string, value: unknown): Op {
  return { type: 'put', key, value: encodeRecord(value) }
}
