import type { Body, ClientMsgId } from '../../protocol/envelopes.js'
import type { InboxEntry, ReceiptStatus, StoredMessage } from '../contracts.js'
import type { MessageRef } from '../message-ref.js'
import { decodeRecord } from '../embedded/record-codec.js'

/** A row of `messages` (migration 4); bigint columns arrive as strings. */
export interface MessageRow {
  id: string
  conversation: string
  cseq: string
  sender: string
  sender_device: string
  recipient: string
  is_group: boolean
  kind: number
  ts: string
  body: Buffer
  client_msg_id: Buffer
  holders: string[]
}

export const MESSAGE_COLUMNS = 'm.id, m.conversation, m.cseq, m.sender, m.sender_device, m.recipient, m.is_group, m.kind, m.ts, m.body, m.client_msg_id, m.holders'

export function toMessage (row: MessageRow): StoredMessage {
  return {
    id: row.id,
    conversation: row.conversation,
    cseq: Number(row.cseq),
    from: row.sender,
    fromDevice: row.sender_device,
    to: row.recipient,
    ...(row.is_group ? { group: true } : {}),
    body: decodeRecord<Body>(row.body),
    kind: row.kind,
    ts: Number(row.ts),
    clientMsgId: decodeRecord<ClientMsgId>(row.client_msg_id)
  }
}

export function refOfRow (row: Pick<MessageRow, 'conversation' | 'cseq' | 'sender' | 'recipient' | 'is_group' | 'kind' | 'holders'>): MessageRef {
  return {
    conversation: row.conversation,
    cseq: Number(row.cseq),
    from: row.sender,
    to: row.recipient,
    group: row.is_group,
    kind: row.kind,
    recipients: row.is_group ? row.holders.filter((u) => u !== row.sender) : []
  }
}

/** A row of `inbox` joined with its message, if it holds one. */
export type InboxRow = { seq: string, receipt_peer: string | null, receipt_group: boolean | null, receipt_status: number | null, receipt_cseq: string | null, receipt_ts: string | null } & (MessageRow | { [K in keyof MessageRow]: null })

export function toInboxEntry (row: InboxRow): InboxEntry {
  const seq = Number(row.seq)
  if (row.id !== null) return { seq, message: toMessage(row as MessageRow) }
  return {
    seq,
    receipt: {
      peer: row.receipt_peer!,
      ...(row.receipt_group === true ? { group: true } : {}),
      status: row.receipt_status as ReceiptStatus,
      cseq: Number(row.receipt_cseq),
      ts: Number(row.receipt_ts)
    }
  }
}
