import type { LowbandError } from '../../protocol/errors.js'
import { KIND, RECEIPT, type Body, type ClientMsgId, type InboxMessage, type Receipt } from '../../protocol/envelopes.js'
import { decodeMediaBody, type MediaRef } from '../../protocol/media.js'
import { conversationWith, type Conversation } from './conversation.js'
import { decodeSystemNotice, type SystemNotice } from './group-events.js'
import { messageId } from './message-id.js'

/** A message of the user's inbox, as the application sees it. */
export interface ChatMessage {
  /** Its conversation and cseq as one string: the same on every device of every member. */
  readonly id: string
  readonly from: string
  /** The recipient user; for a group message, the group. */
  readonly to: string
  /** The group of a group message. */
  readonly group?: string
  /** Where it belongs: `{ user }` (the other user, whoever sent it) or `{ group }`. */
  readonly conversation: Conversation
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
  /** A group's system message (kind 2), decoded: "alice added bob". */
  readonly system?: SystemNotice
  /** A media message (kind 1), decoded: size, type, sha256, thumbnail…; fetch the blob with downloadMedia(). */
  readonly media?: MediaRef
  /** It travelled end-to-end encrypted (`kind` and `body` are what was encrypted). */
  readonly encrypted?: boolean
  /** This device could not decrypt it (UNDECRYPTABLE); a resend was asked for and arrives as `resent`. */
  readonly undecryptable?: LowbandError
  /** The resend of a message this device could not decrypt before: `id` and `cseq` are the original's. */
  readonly resent?: boolean
  /** A 1:1 system message: `user`'s `device` has a new identity key (the security code changed). */
  readonly keyChange?: { readonly user: string, readonly device: string }
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
  readonly conversation: Conversation
}

/** Where a message of `self`'s inbox belongs: its group, or the other user, whoever sent it. */
function conversationOfMessage (message: InboxMessage, self: string): Conversation {
  if (message.group !== undefined) return { group: message.group }
  // Messages to me omit `to` on the wire (invariant 7: no field sent twice).
  return { user: message.from === self ? message.to ?? self : message.from }
}

export function toChatMessage (message: InboxMessage, self: string): ChatMessage {
  const own = message.from === self
  const to = message.to ?? message.group ?? self
  const system = message.kind === KIND.system && message.group !== undefined ? decodeSystemNotice(message.body, self, message.from) : undefined
  const conversation = conversationOfMessage(message, self)
  const media = message.kind === KIND.media ? mediaOf(message.body) : undefined
  return {
    id: messageId(self, conversation, message.cseq),
    from: message.from,
    to,
    ...(message.group === undefined ? {} : { group: message.group }),
    conversation,
    seq: message.seq,
    cseq: message.cseq,
    body: message.body,
    ...(typeof message.body === 'string' ? { text: message.body } : {}),
    ts: message.ts,
    kind: message.kind ?? 0,
    own,
    ...(message.clientMsgId === undefined ? {} : { clientMsgId: message.clientMsgId }),
    ...(system === undefined ? {} : { system }),
    ...(media === undefined ? {} : { media })
  }
}

/** The MediaRef of a media message's body; undefined when it is not one (an end-to-end encrypted body, say). */
export function mediaOf (body: Body): MediaRef | undefined {
  try {
    return decodeMediaBody(body)
  } catch {
    return undefined
  }
}

const STATUS_NAMES: Record<number, ReceiptStatus> = {
  [RECEIPT.delivered]: 'delivered',
  [RECEIPT.read]: 'read',
  [RECEIPT.readByMe]: 'readByMe'
}

export function toChatReceipt (receipt: Receipt): ChatReceipt {
  const group = receipt.group === true
  return { seq: receipt.seq, peer: receipt.peer, status: STATUS_NAMES[receipt.status]!, cseq: receipt.cseq, ts: receipt.ts, group, conversation: conversationWith(receipt.peer, group) }
}
