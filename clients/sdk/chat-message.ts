import { RECEIPT, type Body, type ClientMsgId, type InboxMessage, type Receipt } from '../../protocol/envelopes.js'

/** A message of the user's inbox, as the application sees it. */
export interface ChatMessage {
  /** The broker's id. */
  readonly id: string
  readonly from: string
  /** The recipient user; for a group message, the group. */
  readonly to: string
  /** The group of a group message. */
  readonly group?: string
  /** Seq in this user's inbox: messages arrive in this order, without gaps or duplicates. */
  readonly seq: number
  /** Seq within the conversation, the same for both sides (read watermarks count in it). */
  readonly cseq: number
  readonly body: Body
  /** The body, when it is text. */
  readonly text?: string
  /** Server time, Unix seconds. */
  readonly ts: number
  readonly kind: number
  /** Sent by this user (from another device, or replayed). */
  readonly own: boolean
  /** The sending device's id for it; only on own messages. */
  readonly clientMsgId?: ClientMsgId
}

export type ReceiptStatus = 'delivered' | 'read' | 'readByMe'

/**
 * A receipt of the user's inbox: `peer` got (`delivered`) or read (`read`) my messages up to
 * `cseq`, or I read `peer`'s up to `cseq` on another device (`readByMe`).
 */
export interface ChatReceipt {
  readonly seq: number
  readonly peer: string
  readonly status: ReceiptStatus
  readonly cseq: number
  readonly ts: number
  /** `peer` is a group: delivered to / read by every member. */
  readonly group: boolean
}

export function toChatMessage (message: InboxMessage, self: string): ChatMessage {
  return {
    id: message.id,
    from: message.from,
    // Messages to me omit `to` on the wire (invariant 7: no field sent twice).
    to: message.to ?? message.group ?? self,
    ...(message.group === undefined ? {} : { group: message.group }),
    seq: message.seq,
    cseq: message.cseq,
    body: message.body,
    ...(typeof message.body === 'string' ? { text: message.body } : {}),
    ts: message.ts,
    kind: message.kind ?? 0,
    own: message.from === self,
    ...(message.clientMsgId === undefined ? {} : { clientMsgId: message.clientMsgId })
  }
}

const STATUS_NAMES: Record<number, ReceiptStatus> = {
  [RECEIPT.delivered]: 'delivered',
  [RECEIPT.read]: 'read',
  [RECEIPT.readByMe]: 'readByMe'
}

export function toChatReceipt (receipt: Receipt): ChatReceipt {
  return { seq: receipt.seq, peer: receipt.peer, status: STATUS_NAMES[receipt.status]!, cseq: receipt.cseq, ts: receipt.ts, group: receipt.group === true }
}
