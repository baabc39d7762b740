import { KIND } from '../../protocol/envelopes.js'
import type { ReceiptEntry, StoredReceipt } from '../contracts.js'
import type { CqlClient, CqlOptions } from './cql-client.js'
import type { CassandraMessageRefs } from './message-refs.js'
import { bucketOf } from './schema.js'
import type { Sequences } from './sequences.js'

export interface NewReceipt {
  owner: string
  receipt: StoredReceipt
}

/** Appends receipts to their owners' inboxes, in order: each at the owner's next seq (an LWT), then its row. */
export async function appendReceipts (client: CqlClient, options: CqlOptions, sequences: Sequences, receipts: readonly NewReceipt[]): Promise<ReceiptEntry[]> {
  const entries: ReceiptEntry[] = []
  for (const { owner, receipt } of receipts) {
    const seq = await sequences.next('u', owner)
    await client.execute(
      `INSERT INTO inbox (user_id, bucket, seq, receipt_peer, receipt_group, receipt_status, receipt_cseq, receipt_ts)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, [owner, bucketOf(seq), seq, receipt.peer, receipt.group === true, receipt.status, receipt.cseq, receipt.ts], options)
    entries.push({ owner, seq, receipt })
  }
  return entries
}

/** Group messages one walk passes; the next walk goes on from where it stopped. */
const GROUP_WALK = 1000

/**
 * Walks a group conversation's messages after cseq `from` while every member each was stored for
 * (its sender excluded) is at or past it by `reached`. How far it got and, per sender, the last of
 * its messages passed (system messages carry no ticks). A cseq with no message stops the walk.
 */
export async function walkGroup (refs: CassandraMessageRefs, conversation: string, from: number, reached: ReadonlyMap<string, number>): Promise<{ to: number, bySender: Map<string, number> }> {
  let to = from
  const bySender = new Map<string, number>()
  for (let cseq = from + 1; cseq <= from + GROUP_WALK; cseq++) {
    const ref = await refs.at(conversation, cseq)
    if (ref === undefined || ref.recipients.some((member) => (reached.get(member) ?? 0) < cseq)) break
    to = cseq
    if (ref.kind !== KIND.system) bySender.set(ref.from, cseq)
  }
  return { to, bySender }
}
