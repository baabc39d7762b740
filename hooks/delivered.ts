import type { Aedes, Client, PublishPacket, PubrelPacket } from 'aedes'
import { decodeCbor } from '../protocol/cbor.js'
import { InboxMessage } from '../protocol/envelopes.js'
import { inboxTopic } from '../protocol/topics.js'
import type { HookContext } from './context.js'
import { publishReceipt } from './receipts.js'

/**
 * "Delivered" costs the recipient no extra packet (invariant 7): it is derived from the recipient
 * device's PUBACK of the inbox PUBLISH, which Aedes reports as `ack` with the original packet
 * (for persistent sessions; the SDK uses one). The first device to acknowledge counts. The store
 * records it in memory; the conversation's receipt window (ctx.deliveredReceipts) writes it and
 * tells the sender "delivered up to cseq N", once per window instead of once per message.
 */
export function watchDeliveries (ctx: HookContext, broker: Aedes): void {
  // Aedes passes no packet for a clean session's PUBACK, and a PUBREL for QoS 2.
  broker.on('ack', (packet: PublishPacket | PubrelPacket | undefined, client: Client) => {
    if (packet?.cmd !== 'publish') return
    const identity = ctx.identities.get(client)
    if (identity === undefined || packet.topic !== inboxTopic(identity.userId)) return
    const seq = inboxSeqOf(packet.payload as Buffer)
    if (seq === undefined) return
    ctx.push.acknowledged(identity.userId, identity.deviceId, seq)
    // Where the next connection's replay starts (written in batches: a lag only replays a little).
    ctx.storage.messages.advanceDeviceCursor(identity.userId, identity.deviceId, seq)
    // The store ignores a seq that holds no message of someone else to this user (a replayed own
    // message, a receipt): nothing moves for those.
    ctx.storage.messages.markDelivered(identity.userId, seq)
      .then((conversation) => { if (conversation !== undefined) ctx.deliveredReceipts.moved(conversation) })
      .catch((error: unknown) => ctx.log.error({ err: error, user: identity.userId, seq }, 'could not record a delivery'))
  })
}

/**
 * A receipt window's flush: writes the conversation's delivered watermarks, then publishes the
 * receipts that write appended to the senders' inboxes. Never rejects: a failure is logged, and
 * what was not written waits for the conversation's next flush.
 */
export async function flushDeliveredReceipts (ctx: HookContext, conversation: string): Promise<void> {
  try {
    const entries = await ctx.storage.messages.flushDelivered(conversation, Math.floor(ctx.now() / 1000))
    await Promise.all(entries.map((entry) => publishReceipt(ctx, entry)))
  } catch (error) {
    ctx.log.error({ err: error, conversation }, 'could not write delivered receipts')
  }
}

/**
 * The inbox seq of an InboxMessage the broker encoded itself (the acknowledged packet comes from
 * its own session store): read from the CBOR array, without validating the whole envelope again.
 */
function inboxSeqOf (payload: Buffer): number | undefined {
  let fields: unknown
  try {
    fields = decodeCbor(payload)
  } catch {
    return undefined
  }
  const seq = InboxMessage.rawField(fields, 'seq')
  return typeof seq === 'number' ? seq : undefined
}
