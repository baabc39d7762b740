import type { Aedes, Client } from 'aedes'
import type { HookContext } from './context.js'

/** Connection lifecycle events: the connected-devices gauge and one log line each way. */
export function watchConnections (ctx: HookContext, broker: Aedes): void {
  broker.on('client', (client: Client) => {
    ctx.metrics.connected(1)
    ctx.log.debug({ clientId: client.id }, 'client connected')
  })
  broker.on('clientDisconnect', (client: Client) => {
    ctx.metrics.connected(-1)
    ctx.log.debug({ clientId: client.id }, 'client disconnected')
  })
  broker.on('clientError', (client: Client, error: Error) => {
    ctx.log.info({ clientId: client.id, reason: error.message }, 'client connection error')
  })
}
