import type { Client } from 'aedes'
import { TypingNotice, TypingSignal } from '../../protocol/envelopes.js'
import { typingTopic } from '../../protocol/topics.js'
import { publish, type HookContext, type Identity } from '../context.js'

/** Typing is QoS 0, never stored, never pushed, and dropped when nobody of the recipient is connected. */
export async function runTyping (ctx: HookContext, _client: Client, sender: Identity, payload: Buffer): Promise<void> {
  const { to, state } = TypingSignal.decode(payload)
  if (to === sender.userId || !ctx.presence.isOnline(to)) return
  await publish(ctx, { topic: typingTopic(to), payload: Buffer.from(TypingNotice.encode({ from: sender.userId, state })), qos: 0, retain: false })
}
