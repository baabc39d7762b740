import { Receipt } from '../protocol/envelopes.js'
import { receiptTopic } from '../protocol/topics.js'
import type { ReceiptEntry } from '../storage/contracts.js'
import { publish, type HookContext } from './context.js'

export function encodeReceipt (seq: number, receipt: ReceiptEntry['receipt']): Buffer {
  return Buffer.from(Receipt.encode({ seq, peer: receipt.peer, status: receipt.status, cseq: receipt.cseq, ts: receipt.ts, ...(receipt.group === true ? { group: true } : {}) }))
}

/**
 * A stored receipt to every connected device of its owner, QoS 0: it is an inbox entry, so a device
 * that misses it — only a lost connection can drop it — sees the gap in its seqs and gets it from the
 * resume every reconnect makes. QoS 1 would add a PUBACK and a pending-packet record per receipt for
 * nothing. Offline devices get it on resume; a replay sends it at QoS 1 like every inbox entry.
 */
export function publishReceipt (ctx: HookContext, entry: ReceiptEntry): Promise<void> {
  return publish(ctx, { topic: receiptTopic(entry.owner), payload: encodeReceipt(entry.seq, entry.receipt), qos: 0, retain: false })
}
