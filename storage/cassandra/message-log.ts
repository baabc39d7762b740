import type { HeldMessage } from '../shared-appends.js'
import { conversationOf, groupConversationOf, type InboxEntry, type NewDirectMessage, type StoredMessage } from '../contracts.js'
import { KeyedLock } from '../keyed-lock.js'
import { dedupKey } from '../message-id.js'
import { RetriableError } from '../retriable.js'
import { applied, toNumber, type CqlClient, type CqlOptions, type CqlRow } from './cql-client.js'
import { MESSAGE_COLUMNS, messageParams, toInboxEntry, toMessage } from './message-rows.js'
import { bucketOf } from './schema.js'
import { Sequences } from './sequences.js'

/** A dedup claim older than this (ms) whose message was never stored was left by a writer that died: a resend takes it over. */
export const CLAIM_TIMEOUT_MS = 30_000

/** A logged message and each holder's inbox seq. */
export type LoggedMessage = HeldMessage

const INSERT_MESSAGE = `INSERT INTO messages (${MESSAGE_COLUMNS}, holders, holder_seqs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
const INSERT_HISTORY = `INSERT INTO conversation_messages (${MESSAGE_COLUMNS}, holders, bucket) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
const INSERT_INBOX = 'INSERT INTO inbox (user_id, bucket, seq, message_id) VALUES (?, ?, ?, ?)'

/**
 * Messages, inboxes and history pages in Cassandra (schema.ts): the append and read half of the
 * MessageStore contract. An append claims its dedup key (INSERT … IF NOT EXISTS), takes its numbers
 * from LWT counters (sequences.ts), then writes every row in one logged batch — all of them keyed
 * by the message id and its numbers, so a retried batch rewrites the same rows. Appends to one
 * conversation run one at a time on this node, so its messages reach every inbox in cseq order.
 */
export class CassandraMessageLog {
  readonly #client: CqlClient
  readonly #options: CqlOptions
  readonly #sequences: Sequences
  readonly #newId: () => string
  readonly #now: () => number
  readonly #conversationLocks = new KeyedLock()

  constructor (client: CqlClient, options: CqlOptions, newId: () => string, now: () => number = Date.now, sequences = new Sequences(client, options)) {
    this.#client = client
    this.#options = options
    this.#sequences = sequences
    this.#newId = newId
    this.#now = now
  }

  /** Stores a message for `holders` (a 1:1 message: sender and recipient; a group message: its members). */
  async append (draft: NewDirectMessage, holders: readonly string[], group: boolean): Promise<LoggedMessage> {
    const key = dedupKey(draft.from, draft.fromDevice, draft.clientMsgId)
    const id = this.#newId()
    const claim = await this.#claim(key, id)
    if (claim !== undefined) return claim
    const conversation = group ? groupConversationOf(draft.to) : conversationOf(draft.from, draft.to)
    const users = [...new Set(holders)].sort()
    return await this.#conversationLocks.run(conversation, async () => {
      const cseq = await this.#sequences.next('c', conversation)
      const seqs = await Promise.all(users.map((user) => this.#sequences.next('u', user)))
      const message: StoredMessage = { ...draft, id, conversation, cseq, ...(group ? { group: true } : {}) }
      const fields = messageParams(message)
      await this.#client.batch([
        { query: INSERT_MESSAGE, params: [...fields, users, seqs] },
        { query: INSERT_HISTORY, params: [...fields, users, bucketOf(cseq)] },
        ...users.map((user, i) => ({ query: INSERT_INBOX, params: [user, bucketOf(seqs[i]!), seqs[i], id] }))
      ], this.#options)
      return { message, seqs: Object.fromEntries(users.map((user, i) => [user, seqs[i]!])), duplicate: false }
    })
  }

  /**
   * Claims the dedup key for `id`; undefined when claimed, or the stored message when the key was
   * claimed before. A claim whose message is not stored yet is another append under way (retry
   * later), or, past CLAIM_TIMEOUT_MS, one whose writer died: taken over with a compare-and-set.
   */
  async #claim (key: string, id: string): Promise<LoggedMessage | undefined> {
    const { rows: [row] } = await this.#client.execute(
      'INSERT INTO message_dedup (dedup_key, message_id, claimed_at) VALUES (?, ?, ?) IF NOT EXISTS', [key, id, this.#now()], this.#options)
    if (applied(row)) return undefined
    const first = row!['message_id'] as string
    const stored = await this.#stored(first)
    if (stored !== undefined) return stored
    if (this.#now() - toNumber(row!['claimed_at']) < CLAIM_TIMEOUT_MS) throw new RetriableError('the first send of this message is still being stored')
    const { rows: [taken] } = await this.#client.execute(
      'UPDATE message_dedup SET message_id = ?, claimed_at = ? WHERE dedup_key = ? IF message_id = ?', [id, this.#now(), key, first], this.#options)
    if (!applied(taken)) throw new RetriableError('another resend took over this message')
    return undefined
  }

  async #stored (id: string): Promise<LoggedMessage | undefined> {
    const { rows: [row] } = await this.#client.execute(
      `SELECT ${MESSAGE_COLUMNS}, holders, holder_seqs FROM messages WHERE id = ?`, [id], this.#options)
    if (row === undefined) return undefined
    const holders = row['holders'] as string[]
    const seqs = (row['holder_seqs'] as unknown[]).map(toNumber)
    return { message: toMessage(row), seqs: Object.fromEntries(holders.map((user, i) => [user, seqs[i]!])), duplicate: true }
  }

  async inboxHead (userId: string): Promise<number> {
    return await this.#sequences.current('u', userId)
  }

  /** Entries with seq > afterSeq, oldest first, at most `limit`: bucket by bucket up to the head's. */
  async readInbox (userId: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    const head = await this.inboxHead(userId)
    if (afterSeq >= head) return []
    const rows: CqlRow[] = []
    for (let bucket = bucketOf(afterSeq + 1); bucket <= bucketOf(head) && rows.length < limit; bucket++) {
      const page = await this.#client.execute(
        `SELECT seq, message_id, receipt_peer, receipt_group, receipt_status, receipt_cseq, receipt_ts FROM inbox
         WHERE user_id = ? AND bucket = ? AND seq > ? ORDER BY seq ASC LIMIT ?`, [userId, bucket, afterSeq, limit - rows.length], this.#options)
      rows.push(...page.rows)
    }
    const messages = await Promise.all(rows.map((row) => typeof row['message_id'] === 'string' ? this.#message(row['message_id']) : undefined))
    // A logged batch is atomic but not isolated: an inbox row may be readable before its message
    // row. The page ends before it; the device reads on from there next time.
    const unreadable = rows.findIndex((row, i) => typeof row['message_id'] === 'string' && messages[i] === undefined)
    return rows.slice(0, unreadable === -1 ? rows.length : unreadable).map((row, i) => toInboxEntry(row, messages[i]))
  }

  async #message (id: string): Promise<StoredMessage | undefined> {
    const { rows: [row] } = await this.#client.execute(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE id = ?`, [id], this.#options)
    return row === undefined ? undefined : toMessage(row)
  }

  /** Messages of `conversation` with cseq < before (all when 0), newest buckets first; oldest first, with whether older ones exist. */
  async historyPage (conversation: string, before: number, limit: number): Promise<{ messages: StoredMessage[], more: boolean }> {
    const below = before > 0 ? before : await this.#sequences.current('c', conversation) + 1
    const rows: CqlRow[] = []
    for (let bucket = bucketOf(below - 1); bucket >= 0 && below > 1 && rows.length <= limit; bucket--) {
      // Clustered by cseq DESC: a partition read from its start is newest first.
      const page = await this.#client.execute(
        `SELECT ${MESSAGE_COLUMNS} FROM conversation_messages WHERE conversation = ? AND bucket = ? AND cseq < ? LIMIT ?`,
        [conversation, bucket, below, limit + 1 - rows.length], this.#options)
      rows.push(...page.rows)
    }
    return { messages: rows.slice(0, limit).reverse().map(toMessage), more: rows.length > limit }
  }
}
