import type { Client } from 'aedes'
import { TypingNotice, TypingSignal } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import { typingTopic } from '../../protocol/topics.js'
import { publish, type HookContext, type Identity } from '../context.js'
import { groupOfMember } from '../groups.js'
import type { DevicePayload } from './payload.js'

/**
 * Typing is QoS 0, never stored, never pushed, and dropped when nobody of the recipient is
 * connected. Typing into a group one is not in (or that does not exist), or to no such user, is
 * refused with its code, as a send there would be.
 */
export async function runTyping (ctx: HookContext, _client: Client, sender: Identity, payload: DevicePayload): Promise<void> {
  const { to, state, group = false } = TypingSignal.fromCbor(payload.item())
  const recipients = group ? (await groupOfMember(ctx, to, sender.userId)).members : [to]
  // An online user exists; only an offline one costs a directory lookup.
  if (!group && !ctx.presence.isOnline(to) && !await ctx.storage.directory.hasUser(to)) throw new LowbandError('UNKNOWN_RECIPIENT', to)
  const notice = Buffer.from(TypingNotice.encode({ from: sender.userId, state, ...(group ? { group: to } : {}) }))
  await Promise.all(recipients.filter((user) => user !== sender.userId && ctx.presence.isOnline(user))
    .map((user) => publish(ctx, { topic: typingTopic(user), payload: notice, qos: 0, retain: false })))
}
