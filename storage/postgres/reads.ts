import type pg from 'pg'
import { conversationOf, groupConversationOf, type ReceiptEntry } from '../contracts.js'
import type { PostgresCommitter } from './committer.js'
import type { SharedDeliveries } from '../shared-deliveries.js'
import { walkGroup } from './group-walk.js'
import { appendReceipts, type NewReceipt } from './receipt-rows.js'

/**
 * Read watermarks in PostgreSQL, forward-only. Each read is one transaction: the watermark moves
 * only if it goes forward (a conditional upsert), and for a group the read-by-all point moves
 * under a lock on the group's conversation row, so reads on several brokers move it in one order
 * and each read-by-all transition sends one receipt to its sender.
 */
export class PostgresReads {
  readonly #committer: PostgresCommitter
  readonly #deliveries: SharedDeliveries

  constructor (committer: PostgresCommitter, deliveries: SharedDeliveries) {
    this.#committer = committer
    this.#deliveries = deliveries
  }

  async markRead (reader: string, peer: string, cseq: number, ts: number, group: boolean): Promise<ReceiptEntry[]> {
    if (!group && reader === peer) return []
    const conversation = group ? groupConversationOf(peer) : conversationOf(reader, peer)
    const locks = group ? { conversations: [conversation], users: [reader] } : { users: [reader, peer] }
    const result = await this.#committer.run(locks, async (client) => {
      const { rows: [head] } = await client.query<{ head: string, read_by_all: string }>(
        `SELECT head, read_by_all FROM conversations WHERE conversation = $1${group ? ' FOR UPDATE' : ''}`, [conversation])
      const upTo = Math.min(cseq, Number(head?.head ?? 0))
      if (upTo <= 0) return undefined
      const { rowCount } = await client.query(
        `INSERT INTO read_marks AS r (conversation, reader, cseq) VALUES ($1, $2, $3)
         ON CONFLICT (conversation, reader) DO UPDATE SET cseq = EXCLUDED.cseq WHERE r.cseq < EXCLUDED.cseq`, [conversation, reader, upTo])
      if (rowCount !== 1) return undefined
      const byMe: NewReceipt = { owner: reader, receipt: { peer, status: 3, cseq: upTo, ts, ...(group ? { group: true } : {}) } }
      if (!group) return { upTo, entries: await appendReceipts(client, [{ owner: peer, receipt: { peer: reader, status: 2, cseq: upTo, ts } }, byMe]) }
      const bySender = await readByAll(client, conversation, Number(head!.read_by_all))
      const toSenders = [...bySender].map(([owner, last]): NewReceipt => ({ owner, receipt: { peer, group: true, status: 2, cseq: last, ts } }))
      return { upTo, entries: await appendReceipts(client, [...toSenders, byMe]) }
    })
    if (result === undefined) return []
    // Reading proves having: the reader's delivered position moves too, written with the next flush.
    await this.#deliveries.has(reader, conversation, group ? peer : undefined, result.upTo)
    return result.entries
  }
}

/** Moves the group's read-by-all point; the last cseq per sender it passed. */
async function readByAll (client: pg.PoolClient, conversation: string, from: number): Promise<Map<string, number>> {
  const { rows: marks } = await client.query<{ reader: string, cseq: string }>('SELECT reader, cseq FROM read_marks WHERE conversation = $1', [conversation])
  const { to, bySender } = await walkGroup(client, conversation, from, new Map(marks.map((mark) => [mark.reader, Number(mark.cseq)])))
  if (to > from) await client.query('UPDATE conversations SET read_by_all = $2 WHERE conversation = $1', [conversation, to])
  return bySender
}
