import { LRUCache } from 'lru-cache'
import type { MessageRef } from '../message-ref.js'
import { toNumber, type CqlClient, type CqlOptions, type CqlRow } from './cql-client.js'
import { bucketOf } from './schema.js'

/** Refs kept: the messages of the last seconds to minutes, awaiting delivery or reads. */
const CACHED_REFS = 50_000
/** Refs read at once when a walk misses (within one bucket): the walk goes on through the ones after it. */
const PREFETCH = 256

/**
 * Who each recent message is for, by conversation slot and by inbox slot (storage/message-ref.ts:
 * the delivered and read walks are the same as PostgreSQL's). A stored message never
 * changes, so a cached ref is never stale; only absence is not cached.
 */
export class CassandraMessageRefs {
  readonly #client: CqlClient
  readonly #options: CqlOptions
  readonly #bySlot = new LRUCache<string, MessageRef>({ max: CACHED_REFS })
  readonly #byInbox = new LRUCache<string, MessageRef>({ max: CACHED_REFS })

  constructor (client: CqlClient, options: CqlOptions) {
    this.#client = client
    this.#options = options
  }

  remember (ref: MessageRef, holders: readonly string[], seqs: readonly number[]): void {
    this.#bySlot.set(slotKey(ref.conversation, ref.cseq), ref)
    holders.forEach((user, i) => this.#byInbox.set(slotKey(user, seqs[i]!), ref))
  }

  /** The message at `seq` of `user`'s inbox (undefined for a receipt or an empty slot). */
  async atInbox (user: string, seq: number): Promise<MessageRef | undefined> {
    const key = slotKey(user, seq)
    const cached = this.#byInbox.get(key)
    if (cached !== undefined) return cached
    const { rows: [slot] } = await this.#client.execute(
      'SELECT message_id FROM inbox WHERE user_id = ? AND bucket = ? AND seq = ?', [user, bucketOf(seq), seq], this.#options)
    if (typeof slot?.['message_id'] !== 'string') return undefined
    const { rows: [row] } = await this.#client.execute(
      'SELECT conversation, cseq, sender, recipient, is_group, kind, holders FROM messages WHERE id = ?', [slot['message_id']], this.#options)
    if (row === undefined) return undefined
    const ref = refOfRow(row)
    this.#byInbox.set(key, ref)
    return ref
  }

  /** The message at `cseq` of a conversation. */
  async at (conversation: string, cseq: number): Promise<MessageRef | undefined> {
    const cached = this.#bySlot.get(slotKey(conversation, cseq))
    if (cached !== undefined) return cached
    const { rows } = await this.#client.execute(
      `SELECT conversation, cseq, sender, recipient, is_group, kind, holders FROM conversation_messages
       WHERE conversation = ? AND bucket = ? AND cseq >= ? ORDER BY cseq ASC LIMIT ?`, [conversation, bucketOf(cseq), cseq, PREFETCH], this.#options)
    for (const row of rows) this.#bySlot.set(slotKey(conversation, toNumber(row['cseq'])), refOfRow(row))
    return this.#bySlot.get(slotKey(conversation, cseq))
  }
}

function refOfRow (row: CqlRow): MessageRef {
  const group = row['is_group'] === true
  const sender = row['sender'] as string
  return {
    conversation: row['conversation'] as string,
    cseq: toNumber(row['cseq']),
    from: sender,
    to: row['recipient'] as string,
    group,
    kind: row['kind'] as number,
    recipients: group ? (row['holders'] as string[]).filter((u) => u !== sender) : []
  }
}

function slotKey (owner: string, n: number): string {
  return `${owner}\u0000${n}`
}
