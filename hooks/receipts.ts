import { Receipt } from '../protocol/envelopes.js'
import { receiptTopic } from '../protocol/topics.js'
import type { ReceiptEntry } from '../storage/contracts.js'
import { publish, type HookContext } from './context.js'

export function encodeReceipt (seq: number, receipt: ReceiptEntry['receipt']): Buffer {
  return Buffer.from(Receipt.encode({ seq, peer: receipt.peer, status: receipt.status, cseq: receipt.cseq, ts: receipt.ts, ...(receipt.group === true ? { group: true } : {}) }))
}

/** A stored receipt to every connected device of its owner (QoS 1); offline ones get it on resume. */
export function publishReceipt (ctx: HookContext, entry: ReceiptEntry): Promise<void> {
  return publish(ctx, { topic: receiptTopic(entry.owner), payload: encodeReceipt(entry.seq, entry.receipt), qos: 1, retain: false })
}
