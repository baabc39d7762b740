import type { Client } from 'aedes'
import { TypingNotice, TypingSignal } from '../../protocol/envelopes.js'
import { typingTopic } from '../../protocol/topics.js'
import { publish, type HookContext, type Identity } from '../context.js'
import type { DevicePayload } from './payload.js'

/** Typing is QoS 0, never stored, never pushed, and dropped when nobody of the recipient is connected. */
export async function runTyping (ctx: HookContext, _client: Client, sender: Identity, payload: DevicePayload): Promise<void> {
  const { to, state, group = false } = TypingSignal.fromCbor(payload.item())
  const recipients = group ? (await ctx.storage.directory.group(to))?.members ?? [] : [to]
  if (group && !recipients.includes(sender.userId)) return
  const notice = Buffer.from(TypingNotice.encode({ from: sender.userId, state, ...(group ? { group: to } : {}) }))
  await Promise.all(recipients.filter((user) => user !== sender.userId && ctx.presence.isOnline(user))
    .map((user) => publish(ctx, { topic: typingTopic(user), payload: notice, qos: 0, retain: false })))
}
