import type { Client } from 'aedes'
import { InboxMessage, SendRequest, StoredAck } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import { ackTopic, echoTopic, inboxTopic } from '../../protocol/topics.js'
import type { AppendResult, NewDirectMessage } from '../../storage/contracts.js'
import { publish, publishTo, type HookContext, type Identity } from '../context.js'

interface SendState {
  readonly ctx: HookContext
  readonly client: Client
  readonly sender: Identity
  readonly payload: Buffer
  request?: SendRequest
  draft?: NewDirectMessage
  stored?: AppendResult
}

type Step = (state: SendState) => Promise<void> | void

function decode (state: SendState): void {
  state.request = SendRequest.decode(state.payload)
}

async function checkRecipient ({ ctx, request }: SendState): Promise<void> {
  if (!await ctx.storage.directory.hasUser(request!.to)) throw new LowbandError('UNKNOWN_RECIPIENT', request!.to)
}

/** Invariant 2: sender and time come from the connection and the server clock, never the payload. */
function stamp (state: SendState): void {
  const { request, sender, ctx } = state
  state.draft = {
    from: sender.userId,
    fromDevice: sender.deviceId,
    to: request!.to,
    body: request!.body,
    kind: request!.kind ?? 0,
    ts: Math.floor(ctx.now() / 1000),
    clientMsgId: request!.clientMsgId
  }
}

/** Invariant 1: the PUBACK waits for this step (see authorize-publish.ts). */
async function persist (state: SendState): Promise<void> {
  const started = performance.now()
  state.stored = await state.ctx.storage.messages.appendDirect(state.draft!)
  if (state.stored.duplicate) state.ctx.metrics.duplicate()
  else state.ctx.metrics.stored((performance.now() - started) / 1000)
}

/**
 * ✓ for the sending device: the server id and its own inbox seq. QoS 0 and written before the
 * PUBACK, so a client holding the PUBACK already holds the ack; if both are lost, the resend is
 * deduplicated and acked again.
 */
async function acknowledge ({ ctx, client, sender, stored }: SendState): Promise<void> {
  const { message, senderSeq } = stored!
  const ack = StoredAck.encode({ clientMsgId: message.clientMsgId, id: message.id, seq: senderSeq, ts: message.ts, cseq: message.cseq })
  await publishTo(ctx, client, { topic: ackTopic(sender.userId), payload: Buffer.from(ack), qos: 0, retain: false })
}

/** Every connected device of the recipient, and the sender's other devices. A resend fans out nothing. */
async function fanOut ({ ctx, stored }: SendState): Promise<void> {
  if (stored!.duplicate) return
  const { message, senderSeq, recipientSeq } = stored!
  const base = { id: message.id, from: message.from, body: message.body, ts: message.ts, cseq: message.cseq, ...(message.kind === 0 ? {} : { kind: message.kind }) }
  const deliveries: Promise<void>[] = []
  if (message.to !== message.from) {
    const toRecipient = InboxMessage.encode({ ...base, seq: recipientSeq })
    deliveries.push(publish(ctx, { topic: inboxTopic(message.to), payload: Buffer.from(toRecipient), qos: 1, retain: false }))
  }
  const toSender = InboxMessage.encode({ ...base, to: message.to, seq: senderSeq, clientMsgId: message.clientMsgId })
  deliveries.push(publish(ctx, { topic: echoTopic(message.from, message.fromDevice), payload: Buffer.from(toSender), qos: 1, retain: false }))
  await Promise.all(deliveries)
}

/** The 1:1 send flow, in order. */
export const sendSteps: readonly Step[] = [decode, checkRecipient, stamp, persist, acknowledge, fanOut]

export async function runSend (ctx: HookContext, client: Client, sender: Identity, payload: Buffer): Promise<void> {
  const state: SendState = { ctx, client, sender, payload }
  for (const step of sendSteps) await step(state)
}

/** The client message id of a send payload, when it can be read, to reference it in an error. */
export function peekClientMsgId (payload: Buffer): SendRequest['clientMsgId'] | undefined {
  try {
    return SendRequest.decode(payload).clientMsgId
  } catch {
    return undefined
  }
}
