import type { Client } from 'aedes'
import { LowbandError } from '../../protocol/errors.js'
import { ContactArgs, HistoryArgs, HistoryItem, HistoryPage, OP, PrivacyArgs, Request, Response } from '../../protocol/requests.js'
import { responseTopic } from '../../protocol/topics.js'
import { publishTo, type HookContext, type Identity } from '../context.js'
import { groupOfMember } from '../groups.js'
import { deviceBodies } from '../inbox-message.js'
import { kindOnWire } from '../system-kind.js'
import { groupHandlers } from './group-ops.js'
import { keyHandlers } from './key-ops.js'
import { mediaHandlers } from './media-ops.js'
import { pushHandlers } from './push-ops.js'
import type { DevicePayload } from './payload.js'

const DEFAULT_PAGE = 50

type Handler = (ctx: HookContext, identity: Identity, args: unknown) => Promise<unknown>

const handlers = new Map<number, Handler>([
  [OP.history, async (ctx, identity, args) => {
    const { peer, before, limit, group = false } = HistoryArgs.fromCbor(args)
    if (group) await groupOfMember(ctx, peer, identity.userId)
    const page = await ctx.storage.messages.history(identity.userId, peer, before ?? 0, limit ?? DEFAULT_PAGE, group)
    return HistoryPage.toCbor({
      more: page.more,
      items: page.items.map(({ message, status }) => {
        const kind = kindOnWire(message)
        const body = deviceBodies(message)?.(identity.userId, identity.deviceId) ?? message.body
        return HistoryItem.toCbor({ from: message.from, body, cseq: message.cseq, ts: message.ts, status, ...(kind === 0 ? {} : { kind }) })
      })
    })
  }],
  [OP.setPrivacy, async (ctx, identity, args) => {
    await ctx.storage.directory.setPresencePrivacy(identity.userId, PrivacyArgs.fromCbor(args).presence)
    return undefined
  }],
  [OP.addContact, async (ctx, identity, args) => {
    const { user } = ContactArgs.fromCbor(args)
    if (!await ctx.storage.directory.hasUser(user)) throw new LowbandError('UNKNOWN_RECIPIENT', user)
    await ctx.storage.directory.addContact(identity.userId, user)
    return undefined
  }],
  [OP.removeContact, async (ctx, identity, args) => {
    await ctx.storage.directory.removeContact(identity.userId, ContactArgs.fromCbor(args).user)
    return undefined
  }],
  ...groupHandlers,
  ...mediaHandlers,
  ...pushHandlers,
  ...keyHandlers
])

/**
 * Request/response over MQTT on the device's own subtree: the answer (or a coded error) goes to the
 * requesting device only, with the request's `rid`.
 */
export async function runRequest (ctx: HookContext, client: Client, identity: Identity, payload: DevicePayload): Promise<void> {
  const request = Request.fromCbor(payload.item())
  let response: Response
  try {
    const handler = handlers.get(request.op)
    if (handler === undefined) throw new LowbandError('UNKNOWN_COMMAND', `op ${request.op}`)
    const result = await handler(ctx, identity, request.args)
    response = { rid: request.rid, ...(result === undefined ? {} : { result }) }
  } catch (error) {
    // The request was acknowledged before it ran; its answer says what became of it. A failure a
    // resend can fix (reject.ts) is STORE_FAILED: the device may send the request again.
    const coded = error instanceof LowbandError ? error : new LowbandError('STORE_FAILED', error instanceof Error ? error.message : undefined, { cause: error })
    if (coded !== error) ctx.log.warn({ err: error, op: request.op }, 'request failed: answered STORE_FAILED')
    response = { rid: request.rid, code: coded.code, detail: coded.message }
  }
  await publishTo(ctx, client, { topic: responseTopic(identity.userId), payload: Buffer.from(Response.encode(response)), qos: 0, retain: false })
}
