import type { Body, ClientMsgId } from '../../protocol/envelopes.js'
import type { InboxEntry, ReceiptStatus, StoredMessage } from '../contracts.js'
import { decodeRecord, encodeRecord } from '../embedded/record-codec.js'
import { toNumber, type CqlRow } from './cql-client.js'

/** The message columns shared by `messages` and `conversation_messages` (schema.ts), in bind order. */
export const MESSAGE_COLUMNS = 'id, conversation, cseq, sender, sender_device, recipient, is_group, kind, ts, body, client_msg_id'

export function messageParams (message: StoredMessage): unknown[] {
  return [message.id, message.conversation, message.cseq, message.from, message.fromDevice, message.to, message.group === true,
    message.kind, message.ts, encodeRecord(message.body), encodeRecord(message.clientMsgId)]
}

export function toMessage (row: CqlRow): StoredMessage {
  return {
    id: row['id'] as string,
    conversation: row['conversation'] as string,
    cseq: toNumber(row['cseq']),
    from: row['sender'] as string,
    fromDevice: row['sender_device'] as string,
    to: row['recipient'] as string,
    ...(row['is_group'] === true ? { group: true } : {}),
    body: decodeRecord<Body>(row['body'] as Uint8Array),
    kind: row['kind'] as number,
    ts: toNumber(row['ts']),
    clientMsgId: decodeRecord<ClientMsgId>(row['client_msg_id'] as Uint8Array)
  }
}

/** An inbox row as an entry, given its message when it holds one. */
export function toInboxEntry (row: CqlRow, message: StoredMessage | undefined): InboxEntry {
  const seq = toNumber(row['seq'])
  if (message !== undefined) return { seq, message }
  return {
    seq,
    receipt: {
      peer: row['receipt_peer'] as string,
      ...(row['receipt_group'] === true ? { group: true } : {}),
      status: row['receipt_status'] as ReceiptStatus,
      cseq: toNumber(row['receipt_cseq']),
      ts: toNumber(row['receipt_ts'])
    }
  }
}
