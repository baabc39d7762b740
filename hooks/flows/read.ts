import type { Client } from 'aedes'
import { ReadWatermark } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import { conversationOf, groupConversationOf } from '../../storage/contracts.js'
import type { HookContext, Identity } from '../context.js'
import { memberLocked } from '../groups.js'
import { publishReceipt } from '../receipts.js'
import type { DevicePayload } from './payload.js'

/**
 * One watermark per conversation ("read up to cseq N") instead of one receipt per message. Stored
 * forward-only; the peer gets one read receipt, the reader's other devices the same watermark.
 * Reading proves having, so the reader's delivered position moves too (written by the
 * conversation's receipt window; in a group it can complete a message's delivery to all).
 */
export async function runRead (ctx: HookContext, _client: Client, reader: Identity, payload: DevicePayload): Promise<void> {
  const { peer, cseq, group = false } = ReadWatermark.fromCbor(payload.item())
  if (group) {
    // Under the group's lock, so the read-by-all point and membership move in one order.
    const entries = await memberLocked(ctx, peer, reader.userId, () => ctx.storage.messages.markRead(reader.userId, peer, cseq, Math.floor(ctx.now() / 1000), true))
    ctx.push.read(reader.userId, peer, true, cseq)
    await Promise.all(entries.map((entry) => publishReceipt(ctx, entry)))
    ctx.deliveredReceipts.moved(groupConversationOf(peer))
    return
  }
  if (!await ctx.storage.directory.hasUser(peer)) throw new LowbandError('UNKNOWN_RECIPIENT', peer)
  const entries = await ctx.storage.messages.markRead(reader.userId, peer, cseq, Math.floor(ctx.now() / 1000))
  ctx.push.read(reader.userId, peer, false, cseq)
  await Promise.all(entries.map((entry) => publishReceipt(ctx, entry)))
  ctx.deliveredReceipts.moved(conversationOf(reader.userId, peer))
}
