import type { Client } from 'aedes'
import { DirectSend, isSystemKind, KIND, SendRequest, StoredAck, type Body } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import { ackTopic } from '../../protocol/topics.js'
import type { NewDirectMessage, StoredMessage } from '../../storage/contracts.js'
import { writeTo, type HookContext, type Identity } from '../context.js'
import { fanOut, holdersByPresence, pushFallback } from '../fan-out.js'
import { memberLocked } from '../groups.js'
import { checkEncryption } from './e2e-send.js'
import { checkMediaMessage } from './media-ops.js'
import type { DevicePayload } from './payload.js'

interface SendState {
  readonly ctx: HookContext
  readonly client: Client
  readonly sender: Identity
  readonly request: SendRequest
  readonly order: SendOrder | undefined
  draft?: NewDirectMessage
  stored?: { message: StoredMessage, seqs: Record<string, number>, duplicate: boolean }
}

type Step = (state: SendState) => Promise<void> | void

/**
 * Where a send stands among its device's pipelined commands (hooks/authorize-publish.ts): `placed`
 * tells the next command it may start (this send has its numbers in the store), and `previous`
 * settles when the command before it has, so acknowledgements and deliveries keep the device's order.
 */
export interface SendOrder {
  readonly placed: () => void
  readonly previous?: Promise<void>
}

/** Invariant 11: only the broker speaks for the system ("alice added bob" is stamped by the broker). */
function checkKind ({ request }: SendState): void {
  if (request.kind !== undefined && isSystemKind(request.kind)) throw new LowbandError('FORBIDDEN_KIND', `kind ${request.kind}`)
}

async function checkRecipient ({ ctx, request }: SendState): Promise<void> {
  if (!await ctx.storage.directory.hasUser(request.to!)) throw new LowbandError('UNKNOWN_RECIPIENT', request.to)
}

/** A media message references an object its sender uploaded, whole (HEAD before anything is stored). */
async function checkMedia ({ ctx, request, sender }: SendState): Promise<void> {
  if (request.kind === KIND.media) await checkMediaMessage(ctx, sender.userId, request.body)
}

/** End-to-end: a plaintext body refused under --require-e2e; an encrypted one addressed to the right devices. */
function checkBody ({ ctx, sender, request }: SendState): Promise<void> | undefined {
  return checkEncryption(ctx, sender, request)
}

/** Invariant 2: sender and time come from the connection and the server clock, never the payload. */
function stamp (state: SendState): void {
  const { request, sender, ctx } = state
  state.draft = {
    from: sender.userId,
    fromDevice: sender.deviceId,
    to: request.to ?? request.group!,
    body: request.body,
    kind: request.kind ?? 0,
    ts: Math.floor(ctx.now() / 1000),
    clientMsgId: request.clientMsgId
  }
}

/** Invariant 1: the PUBACK waits for this step (see authorize-publish.ts). */
async function persist (state: SendState): Promise<void> {
  const started = performance.now()
  const { message, senderSeq, recipientSeq, duplicate } = await state.ctx.storage.messages.appendDirect(state.draft!, state.order?.placed)
  state.stored = { message, seqs: { [message.from]: senderSeq, [message.to]: recipientSeq }, duplicate }
  measure(state, started)
}

/**
 * Groups: membership is checked and the message stored under the group's lock, so a membership
 * change takes effect for the very next message — a removed member gets nothing sent after the
 * removal, a new member nothing sent before the join.
 */
async function persistToGroup (state: SendState): Promise<void> {
  const { ctx, sender, draft } = state
  const started = performance.now()
  state.stored = await memberLocked(ctx, draft!.to, sender.userId, (group) => ctx.storage.messages.appendGroup(draft!, group.members))
  measure(state, started)
}

/** Stored: acknowledged and delivered only after the device's command before it (see SendOrder). */
function inTurn ({ order }: SendState): Promise<void> | undefined {
  return order?.previous
}

/**
 * A resend carries the very message its client message id named: the same recipient, kind and
 * body. Anything else is a new message whose random id collided with an older one of this device
 * (dedup keys live as long as their messages; see CLIENT_MSG_ID_BYTES): refused with a coded error
 * instead of being acknowledged as the old one, so a collision is a visible failure, never a silent
 * loss. Nothing was stored for it.
 */
function checkResend ({ draft, stored }: SendState): void {
  const { message, duplicate } = stored!
  if (duplicate && (message.to !== draft!.to || message.kind !== draft!.kind || !sameBody(message.body, draft!.body))) {
    throw new LowbandError('CLIENT_MSG_ID_REUSED', `stored as cseq ${message.cseq}`)
  }
}

function sameBody (a: Body, b: Body): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)
}

function measure ({ ctx, stored }: SendState, started: number): void {
  if (stored!.duplicate) ctx.metrics.duplicate()
  else ctx.metrics.stored((performance.now() - started) / 1000)
}

/**
 * ✓ for the sending device: its own inbox seq and the cseq. QoS 0 and written before the
 * PUBACK — in the same segment — so a client holding the PUBACK already holds the ack; if both
 * are lost, the resend is deduplicated and acked again.
 */
function acknowledge ({ client, sender, stored }: SendState): void {
  const { message, seqs } = stored!
  const ack = StoredAck.encode({ clientMsgId: message.clientMsgId, seq: seqs[sender.userId]!, cseq: message.cseq })
  writeTo(client, ackTopic(sender.userId), Buffer.from(ack))
}

/**
 * Every connected device of the recipients, and the sender's other devices; recipients with none
 * go to the push fallback. Not awaited: the PUBACK promises storage, not delivery, and must not wait
 * for the slowest recipient's 2G socket. A resend fans out nothing (whoever missed it resumes from
 * the store).
 */
function deliver ({ ctx, stored }: SendState): void {
  if (stored!.duplicate) return
  const { message, seqs } = stored!
  const { online, offline } = holdersByPresence(ctx, message, seqs)
  ctx.inFlight.track(fanOut(ctx, message, seqs, online))
    .catch((error: unknown) => ctx.log.error({ err: error, messageId: message.id }, 'fan-out failed'))
  pushFallback(ctx, message, seqs, offline)
}

/** The send flows, in order. */
export const directSendSteps: readonly Step[] = [checkKind, checkRecipient, checkBody, checkMedia, stamp, persist, inTurn, checkResend, acknowledge, deliver]
export const groupSendSteps: readonly Step[] = [checkKind, checkBody, checkMedia, stamp, persistToGroup, inTurn, checkResend, acknowledge, deliver]

/** A send on `c/s` (SendRequest), or on `s/<to>` (DirectSend; `to` is the topic's, never the payload's). */
export async function runSend (ctx: HookContext, client: Client, sender: Identity, payload: DevicePayload, to?: string, order?: SendOrder): Promise<void> {
  const request: SendRequest = to === undefined ? SendRequest.fromCbor(payload.item()) : Object.assign(DirectSend.fromCbor(payload.item()), { to })
  const state: SendState = { ctx, client, sender, request, order }
  for (const step of request.group === undefined ? directSendSteps : groupSendSteps) {
    // Only the steps that wait are awaited: an await of a synchronous step's undefined still costs
    // a microtask turn and its promise, per step and message.
    const waiting = step(state)
    if (waiting !== undefined) await waiting
  }
}
