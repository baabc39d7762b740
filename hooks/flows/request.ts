import type { Client } from 'aedes'
import { LowbandError } from '../../protocol/errors.js'
import { ContactArgs, HistoryArgs, HistoryItem, HistoryPage, OP, PrivacyArgs, Request, Response } from '../../protocol/requests.js'
import { responseTopic } from '../../protocol/topics.js'
import { publishTo, type HookContext, type Identity } from '../context.js'
import { groupOfMember } from '../groups.js'
import { deviceBodies } from '../inbox-message.js'
import { groupHandlers } from './group-ops.js'
import { keyHandlers } from './key-ops.js'

const DEFAULT_PAGE = 50

type Handler = (ctx: HookContext, identity: Identity, args: unknown) => Promise<unknown>

const handlers = new Map<number, Handler>([
  [OP.history, async (ctx, identity, args) => {
    const { peer, before, limit, group = false } = HistoryArgs.fromCbor(args)
    if (group) await groupOfMember(ctx, peer, identity.userId)
    const page = await ctx.storage.messages.history(identity.userId, peer, before ?? 0, limit ?? DEFAULT_PAGE, group)
    return HistoryPage.toCbor({
      more: page.more,
      items: page.items.map(({ message, status }) => HistoryItem.toCbor({
        from: message.from, body: deviceBodies(message)?.(identity.userId, identity.deviceId) ?? message.body, cseq: message.cseq, ts: message.ts, status,
        ...(message.kind === 0 ? {} : { kind: message.kind })
      }))
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
  ...keyHandlers
])

/**
 * Request/response over MQTT on the device's own subtree: the answer (or a coded error) goes to the
 * requesting device only, with the request's `rid`.
 */
export async function runRequest (ctx: HookContext, client: Client, identity: Identity, payload: Buffer): Promise<void> {
  const request = Request.decode(payload)
  let response: Response
  try {
    const handler = handlers.get(request.op)
    if (handler === undefined) throw new LowbandError('UNKNOWN_COMMAND', `op ${request.op}`)
    const result = await handler(ctx, identity, request.args)
    response = { rid: request.rid, ...(result === undefined ? {} : { result }) }
  } catch (error) {
    if (!(error instanceof LowbandError)) throw error
    response = { rid: request.rid, code: error.code, detail: error.message }
  }
  await publishTo(ctx, client, { topic: responseTopic(identity.userId), payload: Buffer.from(Response.encode(response)), qos: 0, retain: false })
}
