import { z } from 'zod'
import { defineEnvelope } from './envelope.js'
import { isValidId } from './ids.js'
import { COMMAND, sendTopic } from './topics.js'

const id = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/)
const bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes')
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

/**
 * Random bytes in the SDK's client message ids. Dedup keys are kept for as long as the message, so
 * two sends of one device with the same id collide: with n sends over a device's life the chance
 * of one is about n² / 2^(8·bytes+1) — at 7 bytes 7·10⁻⁸ over 10⁵ sends, 7·10⁻⁶ over 10⁶. A
 * collision is not a silent loss: the broker compares a resend with the message its id names and
 * refuses one that differs (CLIENT_MSG_ID_REUSED), and the SDK sends it again under a new id
 * (docs/PROTOCOL.md, "Client message ids"). 7 bytes, not 8, brings the four core
 * packets of a message under 1.4× the MQTT floor (issue 18).
 */
export const CLIENT_MSG_ID_BYTES = 7

/**
 * The client's own message id, kept only for deduplication of resends: 1–16 bytes (the SDK uses
 * CLIENT_MSG_ID_BYTES random bytes), a string of up to 64 characters, or an unsigned integer.
 * Unique per device.
 */
export const clientMsgIdSchema = z.union([bytes.refine((b) => b.length >= 1 && b.length <= 16, 'must be 1-16 bytes'), z.string().min(1).max(64), uint])
export type ClientMsgId = z.infer<typeof clientMsgIdSchema>

/** clientMsgIdSchema's rules without zod, for the send path. */
function isClientMsgId (value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length >= 1 && value.length <= 16
  if (typeof value === 'string') return value.length >= 1 && value.length <= 64
  return Number.isSafeInteger(value) && (value as number) >= 0
}

/** The body is opaque to the broker (end-to-end encrypted by the client); text or bytes. */
export const bodySchema = z.union([z.string(), bytes])
export type Body = z.infer<typeof bodySchema>

/**
 * Message kinds; 0 (text) is the default and is omitted on the wire. 3 and up are end-to-end
 * encryption (protocol/e2e.ts): their bodies are opaque to the broker, which only splits them into
 * per-device copies.
 */
export const KIND = { text: 0, media: 1, system: 2, encrypted: 3, encryptedGroup: 4, retryRequest: 5, resend: 6 } as const

/**
 * Kinds only the broker sends: system messages it stamps itself (group events), 2, and 240-255
 * kept for more of them. A device that sends one is refused (FORBIDDEN_KIND), so a message of a
 * system kind is always the broker's word.
 */
export function isSystemKind (kind: number): boolean {
  return kind === KIND.system || kind >= 240
}

/** The fields every send carries, checked without zod (clientMsgIdSchema's, bodySchema's and kind's rules). */
function isSendCommon (r: Record<string, unknown>): boolean {
  return isClientMsgId(r.clientMsgId) && (typeof r.body === 'string' || r.body instanceof Uint8Array) &&
    (r.kind === undefined || (Number.isInteger(r.kind) && (r.kind as number) >= 0 && (r.kind as number) <= 255))
}

/**
 * c/s — device → broker: send a message to a group (`group`) or, as older clients do, to a user
 * (`to`); exactly one of them. A 1:1 message is a DirectSend on `s/<to>`.
 */
export const SendRequest = defineEnvelope({ clientMsgId: 1, to: 2, body: 3, kind: 4, group: 5 }, z.object({
  clientMsgId: clientMsgIdSchema,
  to: id.optional(),
  body: bodySchema,
  kind: uint.max(255).optional(),
  group: id.optional()
}).refine((r) => (r.to === undefined) !== (r.group === undefined), 'exactly one of to and group'), {
  positional: ['clientMsgId', 'to', 'body', 'kind', 'group'],
  accepts: (r) => isSendCommon(r) && typeof r.to === 'string' && isValidId(r.to) && r.group === undefined
})
export type SendRequest = ReturnType<typeof SendRequest.decode>

/**
 * s/<to> — device → broker: a 1:1 message to the user the topic names. The recipient is not in the
 * payload (4+ bytes saved on every send); map keys are SendRequest's, and a `to` key is ignored.
 */
export const DirectSend = defineEnvelope({ clientMsgId: 1, body: 3, kind: 4 }, z.object({
  clientMsgId: clientMsgIdSchema,
  body: bodySchema,
  kind: uint.max(255).optional()
}), {
  positional: ['clientMsgId', 'body', 'kind'],
  // Every 1:1 send is checked here, without zod's allocations; the same rules as the schema.
  accepts: isSendCommon
})
export type DirectSend = ReturnType<typeof DirectSend.decode>

/** The topic and payload of a send: 1:1 on `s/<to>` (a DirectSend), a group's on `c/s`. */
export function encodeSend (request: SendRequest): { topic: string, payload: Uint8Array } {
  if (request.to === undefined) return { topic: COMMAND.send, payload: SendRequest.encode(request) }
  const { clientMsgId, body, kind } = request
  return { topic: sendTopic(request.to), payload: DirectSend.encode({ clientMsgId, body, kind }) }
}

/**
 * u/<user> and u/<user>/o/<device> — broker → device: one message of the user's inbox.
 * `to` and `clientMsgId` only on the sender's own copies; `seq` is the inbox sequence of the
 * receiving user, the cursor a device resumes from. `ts` is server time in Unix seconds. A message
 * is identified by its conversation and `cseq`, so no server id is spent on the wire (key 1 is unused).
 */
export const InboxMessage = defineEnvelope({ from: 2, to: 3, body: 4, kind: 5, seq: 6, ts: 7, clientMsgId: 8, cseq: 9, group: 10, device: 11 }, z.object({
  from: id,
  to: id.optional(),
  body: bodySchema,
  kind: uint.max(255).optional(),
  seq: uint,
  ts: uint,
  clientMsgId: clientMsgIdSchema.optional(),
  /** Sequence within the conversation, shared by both sides: what read watermarks and history count in. */
  cseq: uint,
  /** The group of a group message (then `to` is absent). */
  group: id.optional(),
  /** The sending device, stamped by the broker on encrypted kinds: the receiver's session is per device. */
  device: id.optional()
}), { positional: ['from', 'body', 'seq', 'ts', 'cseq', 'kind', 'group', 'device', 'to', 'clientMsgId'] })
export type InboxMessage = ReturnType<typeof InboxMessage.decode>

/**
 * u/<user>/a — broker → sending device: stored (✓), with the message's seq in the sender's inbox
 * and its cseq (which, with the conversation, identifies it). No server time: the sending device
 * has its own clock; the sender's other devices and history get the server's `ts`.
 */
export const StoredAck = defineEnvelope({ clientMsgId: 1, seq: 3, cseq: 5 }, z.object({
  clientMsgId: clientMsgIdSchema,
  seq: uint,
  cseq: uint
}), { positional: ['clientMsgId', 'seq', 'cseq'] })
export type StoredAck = ReturnType<typeof StoredAck.decode>

/** u/<user>/e — broker → device: a coded error (see errors.ts). */
export const ErrorNotice = defineEnvelope({ code: 1, clientMsgId: 2, detail: 3, topic: 4 }, z.object({
  code: uint,
  clientMsgId: clientMsgIdSchema.optional(),
  detail: z.string().optional(),
  topic: z.string().optional()
}))
export type ErrorNotice = ReturnType<typeof ErrorNotice.decode>

/** c/r — device → broker: replay my inbox after `cursor` (0 = from the beginning). */
export const ResumeRequest = defineEnvelope({ cursor: 1 }, z.object({ cursor: uint }))
export type ResumeRequest = ReturnType<typeof ResumeRequest.decode>

/** u/<user>/y — broker → device: the replay is complete up to `seq` (the inbox head). */
export const Synced = defineEnvelope({ seq: 1 }, z.object({ seq: uint }))
export type Synced = ReturnType<typeof Synced.decode>

/**
 * Receipt statuses, each a watermark over one conversation ("up to cseq N"). Statuses only move
 * forward: sent → delivered → read.
 */
export const RECEIPT = {
  /**
   * `peer` has every one of my messages up to `cseq` (a device of theirs acknowledged each; for a
   * group, every member each was stored for). Coalesced: at most one per conversation per window.
   */
  delivered: 1,
  /** `peer` has read my messages up to `cseq`. */
  read: 2,
  /** I (on another device) have read `peer`'s messages up to `cseq`: keeps unread counts in step. */
  readByMe: 3
} as const

/** u/<user>/r — broker → devices: a receipt, stored in the inbox (so an offline sender gets its newest on resume). */
export const Receipt = defineEnvelope({ seq: 1, peer: 2, status: 3, cseq: 4, ts: 5, group: 6 }, z.object({
  seq: uint,
  peer: id,
  status: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  cseq: uint,
  ts: uint,
  /** True when `peer` is a group: delivered / read by every member. */
  group: z.boolean().optional()
}), { positional: ['seq', 'peer', 'cseq', 'ts', 'status', 'group'], defaults: { status: RECEIPT.delivered } })
export type Receipt = ReturnType<typeof Receipt.decode>

/** c/d — device → broker: I have read the conversation with `peer` up to `cseq`. */
export const ReadWatermark = defineEnvelope({ peer: 1, cseq: 2, group: 3 }, z.object({ peer: id, cseq: uint.min(1), group: z.boolean().optional() }), { positional: ['peer', 'cseq', 'group'] })
export type ReadWatermark = ReturnType<typeof ReadWatermark.decode>

/** c/t — device → broker: typing (1) or stopped (0) in the conversation with `to`. */
export const TypingSignal = defineEnvelope({ to: 1, state: 2, group: 3 }, z.object({ to: id, state: z.union([z.literal(0), z.literal(1)]), group: z.boolean().optional() }), { positional: ['to', 'state', 'group'] })
export type TypingSignal = ReturnType<typeof TypingSignal.decode>

/** u/<user>/t — broker → devices: `from` is typing (1) or stopped (0). Expires by itself after 5 s. */
export const TypingNotice = defineEnvelope({ from: 1, state: 2, group: 3 }, z.object({ from: id, state: z.union([z.literal(0), z.literal(1)]), group: id.optional() }), { positional: ['from', 'state', 'group'] })
export type TypingNotice = ReturnType<typeof TypingNotice.decode>

/** u/<watcher>/p/<contact> — broker → watcher: online now, or offline with the last-seen time if allowed. */
export const PresenceUpdate = defineEnvelope({ online: 1, lastSeen: 2 }, z.object({ online: z.boolean(), lastSeen: uint.optional() }))
export type PresenceUpdate = ReturnType<typeof PresenceUpdate.decode>

/** The body of a system message (kind 2) in a group: what happened, who did it, to whom. */
export const GROUP_EVENT = { created: 1, added: 2, removed: 3, left: 4, promoted: 5, demoted: 6, renamed: 7 } as const
/**
 * System events of a 1:1 conversation: 8, the actor's device (in `targets`) registered a new identity
 * key, so the security code (safety number) with the actor changed.
 */
export const KEY_EVENT = { keyChanged: 8 } as const
export const SystemEvent = defineEnvelope({ event: 1, actor: 2, targets: 3, name: 4 }, z.object({
  event: uint.min(1).max(8),
  actor: id,
  targets: z.array(id).optional(),
  name: z.string().optional()
}))
export type SystemEvent = ReturnType<typeof SystemEvent.decode>
