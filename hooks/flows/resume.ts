import type { Client } from 'aedes'
import { ResumeRequest, Synced } from '../../protocol/envelopes.js'
import { inboxTopic, receiptTopic, syncedTopic } from '../../protocol/topics.js'
import type { InboxEntry } from '../../storage/contracts.js'
import { publishTo, type HookContext, type Identity } from '../context.js'
import { encodeForDevice } from '../inbox-message.js'
import { checkPreKeys } from './key-ops.js'
import { encodeReceipt } from '../receipts.js'
import type { DevicePayload } from './payload.js'

const PAGE = 100

/**
 * Replays the user's inbox after the device's cursor, oldest first, to that device only; then
 * `synced` with the head. Live messages may interleave with the replay: the SDK orders by seq.
 * A page is read only after the previous one was written, so a long absence does not load the
 * whole inbox into memory.
 */
export async function runResume (ctx: HookContext, client: Client, identity: Identity, payload: DevicePayload): Promise<void> {
  let cursor = ResumeRequest.fromCbor(payload.item()).cursor
  recoverDeliveries(ctx, identity, cursor)
  for (;;) {
    const page = await ctx.storage.messages.readInbox(identity.userId, cursor, PAGE)
    for (const entry of page) {
      await publishTo(ctx, client, packetOf(identity, entry))
      cursor = entry.seq
    }
    if (page.length < PAGE || client.closed) break
  }
  const head = await ctx.storage.messages.inboxHead(identity.userId)
  await publishTo(ctx, client, { topic: syncedTopic(identity.userId), payload: Buffer.from(Synced.encode({ seq: Math.max(head, cursor) })), qos: 0, retain: false })
  await checkPreKeys(ctx, client, identity)
}

function packetOf (identity: Identity, entry: InboxEntry): { topic: string, payload: Buffer, qos: 1, retain: false } {
  if (entry.receipt !== undefined) {
    return { topic: receiptTopic(identity.userId), payload: encodeReceipt(entry.seq, entry.receipt), qos: 1, retain: false }
  }
  const payload = encodeForDevice(entry.message, entry.seq, entry.message.from === identity.userId, identity.userId, identity.deviceId)
  return { topic: inboxTopic(identity.userId), payload, qos: 1, retain: false }
}

/**
 * The cursor is the device's word that it holds every entry up to there: after a crash that lost
 * the last window's acknowledgements, the store recovers them from it (late, never wrong).
 */
function recoverDeliveries (ctx: HookContext, identity: Identity, cursor: number): void {
  ctx.inFlight.track(ctx.storage.messages.markDeliveredUpTo(identity.userId, cursor))
    .then((conversations) => { for (const conversation of conversations) ctx.deliveredReceipts.moved(conversation) })
    .catch((error: unknown) => ctx.log.error({ err: error, user: identity.userId }, 'could not recover deliveries'))
}
