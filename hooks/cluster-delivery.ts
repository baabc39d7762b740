import type { Aedes, Client } from 'aedes'
import { Synced } from '../protocol/envelopes.js'
import { syncedTopic } from '../protocol/topics.js'
import type { RemoteDelivery } from './cluster.js'
import { publishTo, type HookContext } from './context.js'

/** Aedes keeps its connected clients by id; its typings do not declare the map. */
function clientsOf (broker: Aedes): Record<string, Client | undefined> {
  return (broker as unknown as { clients: Record<string, Client | undefined> }).clients
}

/** Deliveries from another node, to the devices connected here; one that has left resumes from the store. */
export async function deliverLocally (ctx: HookContext, deliveries: readonly RemoteDelivery[]): Promise<void> {
  const clients = clientsOf(ctx.broker())
  await Promise.all(deliveries.map(async ({ clientId, topic, qos, payload }) => {
    const client = clients[clientId]
    if (client === undefined || client.closed) return
    await publishTo(ctx, client, { topic, payload, qos, retain: false })
      .catch((error: unknown) => ctx.log.debug({ err: error, clientId }, 'cross-node delivery not written'))
  }))
}

/**
 * After cross-node wake-ups may have been lost (Redis was unreachable), every device here is told
 * its inbox head (a Synced, QoS 0, a few bytes): a device behind it asks for a replay from its
 * cursor within its gap timeout, so a lost wake-up costs seconds, never a message.
 */
export async function announceHeads (ctx: HookContext): Promise<void> {
  const clients = Object.values(clientsOf(ctx.broker())).filter((client) => client !== undefined)
  for (const client of clients) {
    const identity = ctx.identities.get(client)
    if (identity === undefined || client.closed) continue
    try {
      const head = await ctx.storage.messages.inboxHead(identity.userId)
      await publishTo(ctx, client, { topic: syncedTopic(identity.userId), payload: Buffer.from(Synced.encode({ seq: head })), qos: 0, retain: false })
    } catch (error) {
      ctx.log.debug({ err: error, clientId: client.id }, 'inbox head not announced')
    }
  }
}
