import { InboxMessage } from '../protocol/envelopes.js'
import { echoTopic, inboxTopic } from '../protocol/topics.js'
import type { StoredMessage } from '../storage/contracts.js'
import { publish, type HookContext } from './context.js'

/** Members published to per turn of the event loop: a 1024-member group must not stall other traffic. */
const BATCH = 64

/**
 * Hands a stored message to every connected device of every holder: to each holder on its inbox
 * topic with its own inbox seq, and to the sender's other devices on the echo topic (the sending
 * device got its StoredAck instead).
 */
export async function fanOut (ctx: HookContext, message: StoredMessage, seqs: Record<string, number>): Promise<void> {
  const base = {
    id: message.id,
    from: message.from,
    body: message.body,
    ts: message.ts,
    cseq: message.cseq,
    ...(message.kind === 0 ? {} : { kind: message.kind }),
    ...(message.group === true ? { group: message.to } : {})
  }
  const holders = Object.keys(seqs).filter((user) => user !== message.from)
  for (let i = 0; i < holders.length; i += BATCH) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve))
    await Promise.all(holders.slice(i, i + BATCH).map((user) =>
      publish(ctx, { topic: inboxTopic(user), payload: Buffer.from(InboxMessage.encode({ ...base, seq: seqs[user]! })), qos: 1, retain: false })))
  }
  const own = InboxMessage.encode({ ...base, seq: seqs[message.from]!, clientMsgId: message.clientMsgId, ...(message.group === true ? {} : { to: message.to }) })
  await publish(ctx, { topic: echoTopic(message.from, message.fromDevice), payload: Buffer.from(own), qos: 1, retain: false })
}

/**
 * The push-fallback place in the flows: holders with no connected device are the ones a
 * content-free push would wake. Counted now; the push issue sends the pushes from here.
 */
export function pushFallback (ctx: HookContext, message: StoredMessage, seqs: Record<string, number>): void {
  const offline = Object.keys(seqs).filter((user) => user !== message.from && !ctx.presence.isOnline(user))
  if (offline.length > 0) ctx.metrics.pushCandidates(offline.length)
}
