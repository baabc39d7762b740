import type pg from 'pg'
import { KIND } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import {
  conversationOf, groupConversationOf, type AppendResult, type GroupAppendResult, type HistoryPage, type InboxEntry,
  type MessageStatus, type MessageStore, type NewDirectMessage, type NewGroupMessage, type ReceiptEntry, type StoredMessage
} from '../contracts.js'
import { encodeRecord } from '../embedded/record-codec.js'
import type { BatchJob, PostgresCommitter } from './committer.js'
import { DeviceCursors } from '../device-cursors.js'
import { SharedAppends, type HeldMessage } from '../shared-appends.js'
import { SharedDeliveries } from '../shared-deliveries.js'
import { PostgresDeliveryRecords } from './deliveries.js'
import { refOf } from '../message-ref.js'
import { MESSAGE_COLUMNS, toInboxEntry, toMessage, type InboxRow, type MessageRow } from './message-rows.js'
import { MessageRefs } from './message-refs.js'
import { PostgresReads } from './reads.js'

interface AppendRow { status: 'stored' | 'duplicate' | 'not_member', message_id: string | null, cseq: string | null, holders: string[] | null, seqs: string[] | null }

/** One append as lowband_append_batch takes it. */
interface AppendItem { id: string, conversation: string, key: string, draft: NewDirectMessage, group: boolean, holders: readonly string[] }

/**
 * Every append of a transaction in one statement (migration 8; from 12 appends on, set-wise
 * statements inside it, migration 9), each item's row back in its place.
 */
const appendBatch: BatchJob<AppendItem, AppendRow> = {
  async run (client, items) {
    const { rows } = await client.query<AppendRow>(
      `SELECT * FROM lowband_append_batch($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[],
         $8::boolean[], $9::integer[], $10::bigint[], $11::bytea[], $12::bytea[], $13::integer[], $14::text[])`,
      [items.map((a) => a.id), items.map((a) => a.conversation), items.map((a) => a.key), items.map((a) => a.draft.from),
        items.map((a) => a.draft.fromDevice), items.map((a) => a.draft.to), items.map((a) => a.group),
        items.map((a) => a.draft.kind === KIND.system), items.map((a) => a.draft.kind), items.map((a) => a.draft.ts),
        items.map((a) => encodeRecord(a.draft.body)), items.map((a) => encodeRecord(a.draft.clientMsgId)),
        items.map((a) => a.holders.length), items.flatMap((a) => a.holders)])
    return rows
  }
}

/**
 * The message store in PostgreSQL (schema: message-schema.ts). Appends go through the group
 * committer, all of a transaction's in one lowband_append_batch call, so concurrent sends share a
 * commit and a statement; every number is allocated in the transaction that stores the message.
 * Reads go straight to the pool.
 */
export class PostgresMessageStore implements MessageStore {
  readonly #pool: pg.Pool
  readonly #committer: PostgresCommitter
  readonly #newId: () => string
  readonly #refs: MessageRefs
  readonly #deliveries: SharedDeliveries
  readonly #reads: PostgresReads
  readonly #cursors: DeviceCursors
  readonly #appends = new SharedAppends((draft, holders, group, key) => this.#store(draft, holders, group, key))

  constructor (pool: pg.Pool, committer: PostgresCommitter, newId: () => string) {
    this.#pool = pool
    this.#committer = committer
    this.#newId = newId
    this.#refs = new MessageRefs(pool)
    this.#deliveries = new SharedDeliveries(new PostgresDeliveryRecords(pool, committer, this.#refs))
    this.#reads = new PostgresReads(committer, this.#deliveries)
    this.#cursors = new DeviceCursors({
      async read (userId, deviceId) {
        const { rows } = await pool.query<{ seq: string }>('SELECT seq FROM device_cursors WHERE user_id = $1 AND device_id = $2', [userId, deviceId])
        return rows[0] === undefined ? undefined : Number(rows[0].seq)
      },
      // One statement for every cursor of the interval; several brokers may write one device's: the greater wins.
      async write (cursors) {
        await pool.query(
          `INSERT INTO device_cursors (user_id, device_id, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
           ON CONFLICT (user_id, device_id) DO UPDATE SET seq = GREATEST(device_cursors.seq, EXCLUDED.seq)`,
          [cursors.map((c) => c.userId), cursors.map((c) => c.deviceId), cursors.map((c) => c.seq)])
      }
    })
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

  appendDirect (draft: NewDirectMessage): Promise<AppendResult> {
    return this.#appends.direct(draft)
  }

  appendGroup (draft: NewGroupMessage, members: string[]): Promise<GroupAppendResult> {
    return this.#appends.group(draft, members)
  }

  async #store (draft: NewDirectMessage, holders: string[], group: boolean, key: string): Promise<HeldMessage> {
    const conversation = group ? groupConversationOf(draft.to) : conversationOf(draft.from, draft.to)
    const id = this.#newId()
    const row = await this.#committer.runBatched(appendBatch, { conversations: [conversation], users: holders }, { id, conversation, key, draft, group, holders })
    if (row.status === 'not_member') throw new LowbandError('NOT_MEMBER', draft.to)
    const users = row.holders!
    const seqs = row.seqs!.map(Number)
    const message = row.status === 'duplicate'
      ? await this.#message(row.message_id!)
      : { ...draft, id, conversation, cseq: Number(row.cseq), ...(group ? { group: true } : {}) }
    this.#refs.remember(refOf(message, users), users, seqs)
    return { message, seqs: Object.fromEntries(users.map((u, i) => [u, seqs[i]!])), duplicate: row.status === 'duplicate' }
  }

  async #message (id: string): Promise<StoredMessage> {
    const { rows } = await this.#pool.query<MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = $1`, [id])
    return toMessage(rows[0]!)
  }

  async readInbox (userId: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    const { rows } = await this.#pool.query<InboxRow>(
      `SELECT i.seq, i.receipt_peer, i.receipt_group, i.receipt_status, i.receipt_cseq, i.receipt_ts, ${MESSAGE_COLUMNS}
       FROM inbox i LEFT JOIN messages m ON m.id = i.message_id
       WHERE i.user_id = $1 AND i.seq > $2 ORDER BY i.seq LIMIT $3`, [userId, afterSeq, limit])
    return rows.map(toInboxEntry)
  }

  async inboxHead (userId: string): Promise<number> {
    const { rows } = await this.#pool.query<{ head: string }>('SELECT head FROM inbox_heads WHERE user_id = $1', [userId])
    return Number(rows[0]?.head ?? 0)
  }

  async markDelivered (recipient: string, seq: number): Promise<string | undefined> {
    const ref = await this.#refs.atInbox(recipient, seq)
    return ref === undefined ? undefined : await this.#deliveries.acknowledged(recipient, ref)
  }

  markDeliveredUpTo (recipient: string, cursor: number): Promise<string[]> {
    return this.#deliveries.recoverUpTo(recipient, cursor)
  }

  flushDelivered (conversation: string, ts: number): Promise<ReceiptEntry[]> {
    return this.#deliveries.flush(conversation, ts)
  }

  /** Writes every delivery not yet flushed (at close). */
  flushAllDelivered (ts: number): Promise<void> {
    return this.#deliveries.flushAll(ts)
  }

  markRead (reader: string, peer: string, cseq: number, ts: number, group = false): Promise<ReceiptEntry[]> {
    return this.#reads.markRead(reader, peer, cseq, ts, group)
  }

  async history (userId: string, peer: string, before: number, limit: number, group = false): Promise<HistoryPage> {
    const conversation = group ? groupConversationOf(peer) : conversationOf(userId, peer)
    const { rows } = await this.#pool.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.conversation = $1 AND m.cseq < $2 ORDER BY m.cseq DESC LIMIT $3`,
      [conversation, before > 0 ? before : Number.MAX_SAFE_INTEGER, limit + 1])
    const more = rows.length > limit
    const messages = rows.slice(0, limit).reverse().map(toMessage)
    const status = await this.#statuses(conversation, userId, peer, group, messages.some((m) => m.from === userId && m.to !== userId))
    return { items: messages.map((message) => ({ message, status: status(message) })), more }
  }

  /** How `userId` sees the messages of a conversation: its own by the peer's progress, the others' by its own reading. */
  async #statuses (conversation: string, userId: string, peer: string, group: boolean, hasOwn: boolean): Promise<(message: StoredMessage) => MessageStatus> {
    const { rows: [row] } = await this.#pool.query<{ my_read: string | null, peer_read: string | null, delivered_to_all: string | null, read_by_all: string | null }>(
      `SELECT (SELECT cseq FROM read_marks WHERE conversation = $1 AND reader = $2) AS my_read,
              (SELECT cseq FROM read_marks WHERE conversation = $1 AND reader = $3) AS peer_read,
              c.delivered_to_all, c.read_by_all
       FROM (SELECT 1) AS one LEFT JOIN conversations c ON c.conversation = $1`, [conversation, userId, peer])
    const myRead = Number(row?.my_read ?? 0)
    const read = Number((group ? row?.read_by_all : row?.peer_read) ?? 0)
    const delivered = !hasOwn ? 0 : group ? Number(row?.delivered_to_all ?? 0) : await this.#deliveries.deliveredTo(conversation, peer)
    return (message) => {
      if (message.from !== userId || message.to === userId) return message.cseq <= myRead ? 2 : 1
      return message.cseq <= read ? 2 : message.cseq <= delivered ? 1 : 0
    }
  }
}
