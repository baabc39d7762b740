import type { Aedes, Client, PublishPacket, PubrelPacket } from 'aedes'
import { InboxMessage } from '../protocol/envelopes.js'
import { inboxTopic } from '../protocol/topics.js'
import type { HookContext } from './context.js'
import { publishReceipt } from './receipts.js'

/**
 * "Delivered" costs the recipient no extra packet (invariant 7): it is derived from the recipient
 * device's PUBACK of the inbox PUBLISH, which Aedes reports as `ack` with the original packet
 * (for persistent sessions; the SDK uses one). The first device to acknowledge counts.
 */
export function watchDeliveries (ctx: HookContext, broker: Aedes): void {
  // Aedes passes no packet for a clean session's PUBACK, and a PUBREL for QoS 2.
  broker.on('ack', (packet: PublishPacket | PubrelPacket | undefined, client: Client) => {
    if (packet?.cmd !== 'publish') return
    const identity = ctx.identities.get(client)
    if (identity === undefined || packet.topic !== inboxTopic(identity.userId)) return
    let message: InboxMessage
    try {
      message = InboxMessage.decode(packet.payload as Buffer)
    } catch {
      return
    }
    if (message.from === identity.userId) return
    ctx.storage.messages.markDelivered(identity.userId, message.seq, Math.floor(ctx.now() / 1000))
      .then((entries) => Promise.all(entries.map((entry) => publishReceipt(ctx, entry))))
      .catch((error: unknown) => ctx.log.error({ err: error, user: identity.userId, seq: message.seq }, 'could not record a delivery'))
  })
}
