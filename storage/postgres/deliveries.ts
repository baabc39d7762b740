import type pg from 'pg'
import type { ReceiptEntry, StoredReceipt } from '../contracts.js'
import type { MessageRef } from '../message-ref.js'
import type { DeliveryFlush, DeliveryRecords, LatestInInbox } from '../shared-deliveries.js'
import type { BatchJob, PostgresCommitter } from './committer.js'
import { walkGroup } from './group-walk.js'
import type { MessageRefs } from './message-refs.js'
import { appendReceipts, type NewReceipt } from './receipt-rows.js'

/**
 * Every 1:1 flush of a transaction in one call (migration 8): positions merged, and the receipts
 * owed that neither the stored position (another broker told it already) nor a read receipt (it
 * said more) covers. Sorted by conversation (stable, so one conversation's flushes keep their
 * order), so brokers take the delivery rows' locks in one order.
 */
const directFlushBatch: BatchJob<DeliveryFlush, ReceiptEntry[]> = {
  async run (client, flushes) {
    const order = flushes.map((_, i) => i).sort((a, b) => compare(flushes[a]!.conversation, flushes[b]!.conversation))
    const sorted = order.map((i) => flushes[i]!)
    const owed = sorted.map((f) => [...f.due])
    const { rows } = await client.query<{ flush: number, owner: string, peer: string, cseq: string, seq: string }>(
      `SELECT * FROM lowband_flush_deliveries_batch($1::text[], $2::integer[], $3::text[], $4::bigint[], $5::integer[], $6::text[],
         $7::text[], $8::bigint[], $9::bigint[])`,
      [sorted.map((f) => f.conversation), sorted.map((f) => f.positions.length),
        sorted.flatMap((f) => f.positions.map(({ recipient }) => recipient)), sorted.flatMap((f) => f.positions.map(({ at }) => at)),
        owed.map((due) => due.length), owed.flatMap((due) => due.map(([owner]) => owner)),
        owed.flatMap((due) => due.map(([, { peer }]) => peer)), owed.flatMap((due) => due.map(([, { cseq }]) => cseq)), sorted.map((f) => f.ts)])
    const receipts = flushes.map((): ReceiptEntry[] => [])
    for (const row of rows) {
      const flush = order[row.flush - 1]!
      receipts[flush]!.push({ owner: row.owner, seq: Number(row.seq), receipt: { peer: row.peer, status: 1, cseq: Number(row.cseq), ts: flushes[flush]!.ts } })
    }
    return receipts
  }
}

/** Byte order, as the database's "C" collation sorts ids. */
function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/**
 * Delivered watermarks in PostgreSQL (the tracking is storage/shared-deliveries.ts): a flush merges
 * the positions into `deliveries` (GREATEST) under row locks taken in recipient order, so two
 * brokers flushing one conversation wait rather than deadlock; a group's delivered-to-all point
 * moves under a lock on its conversation row.
 */
export class PostgresDeliveryRecords implements DeliveryRecords {
  readonly #pool: pg.Pool
  readonly #committer: PostgresCommitter
  readonly #refs: MessageRefs

  constructor (pool: pg.Pool, committer: PostgresCommitter, refs: MessageRefs) {
    this.#pool = pool
    this.#committer = committer
    this.#refs = refs
  }

  messageAt (conversation: string, cseq: number): Promise<MessageRef | undefined> {
    return this.#refs.at(conversation, cseq)
  }

  async storedAt (conversation: string, recipient: string): Promise<number> {
    const { rows } = await this.#pool.query<{ at: string }>(
      `SELECT GREATEST(
         (SELECT at FROM deliveries WHERE conversation = $1 AND recipient = $2),
         (SELECT cseq FROM read_marks WHERE conversation = $1 AND reader = $2), 0) AS at`, [conversation, recipient])
    return Number(rows[0]!.at)
  }

  async latestInInbox (recipient: string, lo: number, hi: number): Promise<LatestInInbox[]> {
    const { rows } = await this.#pool.query<{ conversation: string, cseq: string, is_group: boolean, recipient: string }>(
      `SELECT m.conversation, max(m.cseq) AS cseq, bool_or(m.is_group) AS is_group, max(m.recipient) AS recipient
       FROM inbox i JOIN messages m ON m.id = i.message_id
       WHERE i.user_id = $1 AND i.seq > $2 AND i.seq <= $3 AND m.sender <> $1
       GROUP BY m.conversation`, [recipient, lo, hi])
    return rows.map((row) => ({ conversation: row.conversation, cseq: Number(row.cseq), group: row.is_group ? row.recipient : undefined }))
  }

  write (flush: DeliveryFlush): Promise<ReceiptEntry[]> {
    // The receipts' owners are known here for 1:1; a group's senders are found inside (undeclared).
    if (flush.group === undefined) return this.#committer.runBatched(directFlushBatch, { users: [...flush.due.keys()] }, flush)
    const group = flush.group
    return this.#committer.run({ conversations: [flush.conversation] }, (client) => this.#writeGroup(client, flush, group))
  }

  async #writeGroup (client: pg.PoolClient, { conversation, positions, groupMoved, ts }: DeliveryFlush, group: string): Promise<ReceiptEntry[]> {
    // Locked in recipient order, so two brokers flushing one conversation wait rather than deadlock.
    await client.query('SELECT 1 FROM deliveries WHERE conversation = $1 AND recipient = ANY($2::text[]) ORDER BY recipient FOR UPDATE',
      [conversation, positions.map(({ recipient }) => recipient).sort()])
    await client.query(
      `INSERT INTO deliveries AS d (conversation, recipient, at) SELECT $1, r, a FROM unnest($2::text[], $3::bigint[]) AS t (r, a) ORDER BY r
       ON CONFLICT (conversation, recipient) DO UPDATE SET at = GREATEST(d.at, EXCLUDED.at)`,
      [conversation, positions.map(({ recipient }) => recipient), positions.map(({ at }) => at)])
    return groupMoved ? await appendReceipts(client, await this.#deliveredToAll(client, conversation, group, ts)) : []
  }

  /** Moves the group's delivered-to-all point over every message all its members now have. */
  async #deliveredToAll (client: pg.PoolClient, conversation: string, group: string, ts: number): Promise<NewReceipt[]> {
    const { rows: [row] } = await client.query<{ delivered_to_all: string, read_by_all: string }>(
      'SELECT delivered_to_all, read_by_all FROM conversations WHERE conversation = $1 FOR UPDATE', [conversation])
    if (row === undefined) return []
    const { rows: marks } = await client.query<{ member: string, at: string }>(
      `SELECT recipient AS member, at FROM deliveries WHERE conversation = $1
       UNION ALL SELECT reader, cseq FROM read_marks WHERE conversation = $1`, [conversation])
    const has = new Map<string, number>()
    for (const mark of marks) has.set(mark.member, Math.max(has.get(mark.member) ?? 0, Number(mark.at)))
    const { to: toAll, bySender } = await walkGroup(client, conversation, Number(row.delivered_to_all), has)
    if (toAll === Number(row.delivered_to_all)) return []
    await client.query('UPDATE conversations SET delivered_to_all = $2 WHERE conversation = $1', [conversation, toAll])
    const readByAll = Number(row.read_by_all)
    const receipts: NewReceipt[] = []
    for (const [owner, cseq] of bySender) {
      if (cseq > readByAll) receipts.push({ owner, receipt: { peer: group, group: true, status: 1, cseq, ts } satisfies StoredReceipt })
    }
    return receipts
  }
}
