import type pg from 'pg'
import type { ReceiptEntry, StoredReceipt } from '../contracts.js'

export interface NewReceipt {
  owner: string
  receipt: StoredReceipt
}

/** Appends receipts to their owners' inboxes, in order, inside the caller's transaction. */
export async function appendReceipts (client: pg.PoolClient, receipts: readonly NewReceipt[]): Promise<ReceiptEntry[]> {
  const entries: ReceiptEntry[] = []
  for (const { owner, receipt } of receipts) {
    const { rows } = await client.query<{ seq: string }>('SELECT lowband_append_receipt($1, $2, $3, $4, $5, $6) AS seq',
      [owner, receipt.peer, receipt.group === true, receipt.status, receipt.cseq, receipt.ts])
    entries.push({ owner, seq: Number(rows[0]!.seq), receipt })
  }
  return entries
}
