import type { Aedes, Client } from 'aedes'
import { watchedContact } from './authorize-subscribe.js'
import type { HookContext } from './context.js'
import { resumeOnConnect } from './flows/resume.js'

/** Connection lifecycle: presence, the replay after CONNACK, the connected-devices gauge, and a log line each way. */
export function watchConnections (ctx: HookContext, broker: Aedes): void {
  broker.on('client', (client: Client) => {
    ctx.metrics.connected(1)
    ctx.log.debug({ clientId: client.id }, 'client connected')
    const identity = ctx.identities.get(client)
    if (identity !== undefined) void ctx.presence.connected(client, identity.userId)
  })
  broker.on('connackSent', (packet, client: Client) => {
    // A persistent session is a reading device: its backlog follows the CONNACK unasked.
    const identity = ctx.identities.get(client)
    if (packet.returnCode === 0 && !client.clean && identity !== undefined) resumeOnConnect(ctx, client, identity)
  })
  broker.on('clientDisconnect', (client: Client) => {
    ctx.metrics.connected(-1)
    ctx.log.debug({ clientId: client.id }, 'client disconnected')
    const identity = ctx.identities.get(client)
    if (identity !== undefined) void ctx.presence.disconnected(client, identity.userId)
  })
  broker.on('unsubscribe', (topics: string[], client: Client) => {
    for (const topic of topics) {
      const watched = watchedContact(ctx, client, topic)
      if (watched !== undefined) ctx.presence.unwatch(client, watched.contact)
    }
  })
  broker.on('clientError', (client: Client, error: Error) => {
    ctx.log.info({ clientId: client.id, reason: error.message }, 'client connection error')
  })
}
