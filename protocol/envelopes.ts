import { z } from 'zod'
import { defineEnvelope } from './envelope.js'

const id = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/)
const bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes')
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

/**
 * The client's own message id, kept only for deduplication of resends: 1–16 bytes (the SDK uses
 * 8 random bytes), a string of up to 64 characters, or an unsigned integer. Unique per device.
 */
export const clientMsgIdSchema = z.union([bytes.refine((b) => b.length >= 1 && b.length <= 16, 'must be 1-16 bytes'), z.string().min(1).max(64), uint])
export type ClientMsgId = z.infer<typeof clientMsgIdSchema>

/** The body is opaque to the broker (end-to-end encrypted by the client); text or bytes. */
export const bodySchema = z.union([z.string(), bytes])
export type Body = z.infer<typeof bodySchema>

/** Message kinds; 0 (text) is the default and is omitted on the wire. */
export const KIND = { text: 0, media: 1, system: 2 } as const

/** c/s — device → broker: send a message. */
export const SendRequest = defineEnvelope({ clientMsgId: 1, to: 2, body: 3, kind: 4 }, z.object({
  clientMsgId: clientMsgIdSchema,
  to: id,
  body: bodySchema,
  kind: uint.max(255).optional()
}))
export type SendRequest = ReturnType<typeof SendRequest.decode>

/**
 * u/<user>/m and u/<user>/o/<device> — broker → device: one message of the user's inbox.
 * `to` and `clientMsgId` only on the sender's own copies; `seq` is the inbox sequence of the
 * receiving user, the cursor a device resumes from. `ts` is server time in Unix seconds.
 */
export const InboxMessage = defineEnvelope({ id: 1, from: 2, to: 3, body: 4, kind: 5, seq: 6, ts: 7, clientMsgId: 8 }, z.object({
  id: z.string().min(1).max(32),
  from: id,
  to: id.optional(),
  body: bodySchema,
  kind: uint.max(255).optional(),
  seq: uint,
  ts: uint,
  clientMsgId: clientMsgIdSchema.optional()
}))
export type InboxMessage = ReturnType<typeof InboxMessage.decode>

/** u/<user>/a — broker → sending device: stored (✓), with the server's id and sender-inbox seq. */
export const StoredAck = defineEnvelope({ clientMsgId: 1, id: 2, seq: 3, ts: 4 }, z.object({
  clientMsgId: clientMsgIdSchema,
  id: z.string().min(1).max(32),
  seq: uint,
  ts: uint
}))
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
