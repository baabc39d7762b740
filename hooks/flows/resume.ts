import type { Client } from 'aedes'
import { ResumeRequest, Synced } from '../../protocol/envelopes.js'
import { inboxTopic, receiptTopic, syncedTopic } from '../../protocol/topics.js'
import type { InboxEntry } from '../../storage/contracts.js'
import { publishTo, type HookContext, type Identity, type ReplayState } from '../context.js'
import { encodeForDevice } from '../inbox-message.js'
import { checkPreKeys } from './key-ops.js'
import { encodeReceipt } from '../receipts.js'
import type { DevicePayload } from './payload.js'

const PAGE = 100
/** Payload bytes of replayed entries handed to the socket at once: a TCP socket's default high-water mark. */
const BATCH_BYTES = 16 * 1024

/** What one replay sends: the entries after `after` (up to `upTo`, when set), skipping those `state` says the device holds. */
interface ReplayRange {
  after: number
  upTo?: number
  state?: ReplayState
  /** True once a later replay covers this one's rest: it stops (and sends no Synced). */
  superseded?: () => boolean
}

/**
 * Right after the CONNACK of a persistent session the broker replays the device's inbox from the
 * cursor it recorded from the device's PUBACKs (storage: deviceCursor), unasked: the first queued
 * message then reaches the device one round trip after CONNECT, not two. A device the store has no
 * cursor for is left to ask with its own resume request, as before. The replay starts once Aedes
 * has handled what the device sent before the CONNACK (its `connected` event), so a pipelined
 * resume request is already known to it.
 */
export function resumeOnConnect (ctx: HookContext, client: Client, identity: Identity): void {
  const start = ctx.storage.messages.deviceCursor(identity.userId, identity.deviceId).catch((error: unknown) => {
    ctx.log.error({ err: error, user: identity.userId }, 'could not read a device cursor')
    return undefined
  })
  const state: ReplayState = { start, skipTo: 0, reconciled: false }
  ctx.replays.set(client, state)
  client.once('connected', () => {
    start.then(async (cursor) => {
      if (cursor === undefined || client.closed) return
      recoverDeliveries(ctx, identity, cursor)
      await replay(ctx, client, identity, { after: cursor, state })
    }).catch((error: unknown) => ctx.log.info({ err: error, clientId: client.id }, 'replay after connect ended'))
  })
}

/**
 * The device's resume request. Its first on a connection (the SDK pipelines it right behind
 * CONNECT) is reconciled with the broker's own replay, so no entry goes out twice: the broker's
 * replay skips what the device says it holds, and a device behind the recorded cursor (it kept
 * less than it acknowledged: an app that did not save its cursor) gets just the range that replay
 * started after. Every later request is gap repair: a full replay from the device's cursor.
 */
export async function runResume (ctx: HookContext, client: Client, identity: Identity, payload: DevicePayload): Promise<void> {
  const requested = ResumeRequest.fromCbor(payload.item()).cursor
  const auto = ctx.replays.get(client)
  const first = auto !== undefined && !auto.reconciled
  if (first) {
    // Set before anything awaits: the broker's replay checks it before each entry it hands to the socket.
    auto.reconciled = true
    auto.skipTo = Math.max(auto.skipTo, requested)
  }
  // A cursor past the inbox head claims entries that do not exist yet: taken as the device's own,
  // it would hide what arrives next from its replays (and mark it delivered unseen). The head is
  // as far as a device can have read.
  const cursor = Math.min(requested, await ctx.storage.messages.inboxHead(identity.userId))
  recoverDeliveries(ctx, identity, cursor)
  ctx.storage.messages.advanceDeviceCursor(identity.userId, identity.deviceId, cursor)
  if (!first) return repair(ctx, client, identity, cursor)
  // What the device holds ends at the head too; entries stored since still go out.
  if (cursor < requested) auto.skipTo = cursor
  const start = await auto.start
  if (start === undefined) return repair(ctx, client, identity, cursor)
  if (cursor < start) await replay(ctx, client, identity, { after: cursor, upTo: start })
}

/**
 * Gap repair: a full replay after the device's cursor. A device's latest resume request says all
 * it holds, so a repair still running when another starts stops there: the newer one covers what
 * the device lacks. Without this a burst of requests — a few bytes each — ran as many whole-inbox
 * replays at once.
 */
function repair (ctx: HookContext, client: Client, identity: Identity, cursor: number): Promise<void> {
  let state = ctx.replays.get(client)
  if (state === undefined) {
    state = { start: Promise.resolve(undefined), skipTo: 0, reconciled: true }
    ctx.replays.set(client, state)
  }
  const repairs = state.repairs = (state.repairs ?? 0) + 1
  const current = state
  return replay(ctx, client, identity, { after: cursor, superseded: () => current.repairs !== repairs })
}

/**
 * Replays the inbox range to this device only; after a replay to the head, `synced` with the head.
 * Live messages may interleave with it: the SDK orders by seq. A page is read only after the
 * previous one was written, so a long absence does not load the whole inbox into memory.
 *
 * Entries are handed to Aedes a batch at a time, not each after the previous one's write: Aedes
 * writes a QoS 1 delivery a turn of the event loop later and calls back a turn after that, so
 * awaiting each put every entry in a socket write — and a TCP segment — of its own, and a
 * reconnecting device's first flight (TCP's initial window, about 10 segments) carried 10
 * messages: the rest of a backlog waited a round trip. A batch is written in one turn and leaves
 * in one write (broker/write-batching.ts), in order (Aedes delivers first in, first out). It is
 * bounded by payload bytes, about the socket's high-water mark, so the batches still wait for a
 * slow device to read and never run up the outgoing backlog the slow-consumer limit closes at.
 */
async function replay (ctx: HookContext, client: Client, identity: Identity, range: ReplayRange): Promise<void> {
  let cursor = range.after
  let batch: Array<Promise<void>> = []
  let batchBytes = 0
  const flush = async (): Promise<void> => {
    await Promise.all(batch)
    batch = []
    batchBytes = 0
  }
  for (;;) {
    const page = await ctx.storage.messages.readInbox(identity.userId, cursor, PAGE)
    for (const entry of page) {
      if ((range.upTo !== undefined && entry.seq > range.upTo) || range.superseded?.() === true) return flush()
      cursor = entry.seq
      if (range.state !== undefined && entry.seq <= range.state.skipTo) continue
      const packet = packetOf(identity, entry)
      if (batch.length > 0 && batchBytes + packet.payload.length > BATCH_BYTES) await flush()
      batch.push(publishTo(ctx, client, packet))
      batchBytes += packet.payload.length
    }
    await flush()
    if (page.length < PAGE || client.closed) break
  }
  if (range.superseded?.() === true) return
  if (range.upTo !== undefined) return
  const head = await ctx.storage.messages.inboxHead(identity.userId)
  const synced = Math.max(head, cursor, range.state?.skipTo ?? 0)
  await publishTo(ctx, client, { topic: syncedTopic(identity.userId), payload: Buffer.from(Synced.encode({ seq: synced })), qos: 0, retain: false })
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
