import { LRUCache } from 'lru-cache'
import type pg from 'pg'
import type { MessageRef } from '../message-ref.js'
import { refOfRow, type MessageRow } from './message-rows.js'

/** Refs kept: the messages of the last seconds to minutes, awaiting delivery or reads. */
const CACHED_REFS = 50_000
/** Refs read at once when a walk misses: the walk goes on through the ones after it. */
const PREFETCH = 256

type RefRow = Pick<MessageRow, 'conversation' | 'cseq' | 'sender' | 'recipient' | 'is_group' | 'kind' | 'holders'>
const REF_COLUMNS = 'm.conversation, m.cseq, m.sender, m.recipient, m.is_group, m.kind, m.holders'

/**
 * Who each recent message is for, by conversation slot and by inbox slot. A message never changes
 * once stored, so a cached ref is never stale, whichever broker stored it; only absence is not
 * cached (a slot may be filled by another broker a moment later).
 */
export class MessageRefs {
  readonly #pool: pg.Pool
  readonly #bySlot = new LRUCache<string, MessageRef>({ max: CACHED_REFS })
  readonly #byInbox = new LRUCache<string, MessageRef>({ max: CACHED_REFS })

  constructor (pool: pg.Pool) {
    this.#pool = pool
  }

  /** A message just stored, for the acknowledgements its deliveries bring next. */
  remember (ref: MessageRef, holders: readonly string[], seqs: readonly number[]): void {
    this.#bySlot.set(slotKey(ref.conversation, ref.cseq), ref)
    holders.forEach((user, i) => this.#byInbox.set(slotKey(user, seqs[i]!), ref))
  }

  /** The message at `seq` of `user`'s inbox (undefined for a receipt or an empty slot). */
  async atInbox (user: string, seq: number): Promise<MessageRef | undefined> {
    const key = slotKey(user, seq)
    const cached = this.#byInbox.get(key)
    if (cached !== undefined) return cached
    const { rows } = await this.#pool.query<RefRow>(
      `SELECT ${REF_COLUMNS} FROM inbox i JOIN messages m ON m.id = i.message_id WHERE i.user_id = $1 AND i.seq = $2`, [user, seq])
    if (rows[0] === undefined) return undefined
    const ref = refOfRow(rows[0])
    this.#byInbox.set(key, ref)
    return ref
  }

  /** The message at `cseq` of a conversation. */
  async at (conversation: string, cseq: number): Promise<MessageRef | undefined> {
    const cached = this.#bySlot.get(slotKey(conversation, cseq))
    if (cached !== undefined) return cached
    const { rows } = await this.#pool.query<RefRow>(
      `SELECT ${REF_COLUMNS} FROM messages m WHERE m.conversation = $1 AND m.cseq >= $2 ORDER BY m.cseq LIMIT ${PREFETCH}`, [conversation, cseq])
    for (const row of rows) this.#bySlot.set(slotKey(conversation, Number(row.cseq)), refOfRow(row))
    return this.#bySlot.get(slotKey(conversation, cseq))
  }
}

function slotKey (owner: string, n: number): string {
  return `${owner}\u0000${n}`
}
