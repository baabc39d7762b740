import { KIND } from '../protocol/envelopes.js'
import { echoTopic, inboxTopic } from '../protocol/topics.js'
import type { UserId } from '../protocol/ids.js'
import type { StoredMessage } from '../storage/contracts.js'
import { publish, type HookContext } from './context.js'
import { deviceBodies, encodeInboxMessage } from './inbox-message.js'

/** Members published to per turn of the event loop: a 1024-member group must not stall other traffic. */
const BATCH = 64

/**
 * Hands a stored message to every connected device of every holder: to each holder on its inbox
 * topic with its own inbox seq, and to the sender's other devices on the echo topic (the sending
 * device got its StoredAck instead). A system message ("alice added bob") has no StoredAck, so it
 * goes to every device of its actor too, like to any member.
 *
 * Holders with no connected device, and the echo when the sender has no other device connected, are
 * not published at all: nothing would receive them (chat traffic is never queued for an offline
 * session; those devices resume from the store), and each publish costs a trip through Aedes.
 * A device counts as connected from Aedes' `client` event, before it can subscribe. `online` is
 * holdersByPresence's list, for a caller that has asked presence already.
 */
export async function fanOut (ctx: HookContext, message: StoredMessage, seqs: Record<string, number>, online = holdersByPresence(ctx, message, seqs).online): Promise<void> {
  const system = message.kind === KIND.system
  const payloadFor = perDevicePayloads(ctx, message)
  for (let i = 0; i < online.length; i += BATCH) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve))
    await Promise.all(online.slice(i, i + BATCH).map((user) =>
      publish(ctx, { topic: inboxTopic(user), payload: payloadFor(user, seqs[user]!, false), qos: 1, retain: false })))
  }
  if (system || !ctx.presence.hasOtherDevice(message.from, message.fromDevice)) return
  const own = payloadFor(message.from, seqs[message.from]!, true)
  await publish(ctx, { topic: echoTopic(message.from, message.fromDevice), payload: own, qos: 1, retain: false })
}

const EMPTY = new Uint8Array(0)

/**
 * The payload to publish to a user's devices. An encrypted message is published once per user like
 * any other (every device of a user shares its subscription), with an empty body; the payload is
 * registered in `deviceCopies` so authorize-forward hands each receiving device its own ciphertext
 * instead (invariant 10 holds: each device gets its own small packet, encoded when it is forwarded).
 */
function perDevicePayloads (ctx: Pick<HookContext, 'deviceCopies'>, message: StoredMessage): (user: UserId, seq: number, forSender: boolean) => Buffer {
  const bodies = deviceBodies(message)
  if (bodies === undefined) return (_user, seq, forSender) => encodeInboxMessage(message, seq, forSender)
  return (user, seq, forSender) => {
    const placeholder = encodeInboxMessage(message, seq, forSender, EMPTY)
    ctx.deviceCopies.set(placeholder, (device) => encodeInboxMessage(message, seq, forSender, bodies(user, device)))
    return placeholder
  }
}

/**
 * The holders of a stored message, asked of presence once: `online`, whom fanOut publishes to (the
 * sender only for a system message), and `offline`, whom a push would wake (never the sender).
 */
export function holdersByPresence (ctx: Pick<HookContext, 'presence'>, message: StoredMessage, seqs: Record<string, number>): { online: UserId[], offline: UserId[] } {
  const system = message.kind === KIND.system
  const online: UserId[] = []
  const offline: UserId[] = []
  for (const user of Object.keys(seqs)) {
    if (ctx.presence.isOnline(user)) {
      if (system || user !== message.from) online.push(user)
    } else if (user !== message.from) {
      offline.push(user)
    }
  }
  return { online, offline }
}

/**
 * The push-fallback step of the flows: every holder of a stored message but its sender is reported
 * to the push policy, with which of its devices are connected (push/policy.ts decides: a device
 * not connected gets a push at once, a connected one only if it does not acknowledge within the
 * grace period). Group system messages ("alice added bob") never push. `offline` (holders with no
 * connected device) is only counted.
 */
export function pushFallback (ctx: Pick<HookContext, 'metrics' | 'presence' | 'push'>, message: StoredMessage, seqs: Record<string, number>, offline: readonly UserId[]): void {
  if (offline.length > 0) ctx.metrics.pushCandidates(offline.length)
  if (message.kind === KIND.system) return
  const group = message.group === true
  const conversation = group ? message.to : message.from
  for (const user of Object.keys(seqs)) {
    if (user === message.from) continue
    ctx.push.stored({ user, conversation, group, cseq: message.cseq, seq: seqs[user]! }, (device) => ctx.presence.isDeviceConnected(user, device))
  }
}
