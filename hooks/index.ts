import type { AedesOptions } from 'aedes'
import { createAuthenticate } from './authenticate.js'
import { createAuthorizeForward } from './authorize-forward.js'
import { createAuthorizePublish } from './authorize-publish.js'
import { createAuthorizeSubscribe } from './authorize-subscribe.js'
import type { HookContext } from './context.js'
import { createPreConnect, type UnnamedSessions } from './pre-connect.js'

export type { ChatMetrics, HookConfig, HookContext, Identity } from './context.js'
export { createTokenVerifier, type TokenVerifier } from './token-verifier.js'
export { watchConnections } from './connections.js'
export { InFlight } from './in-flight.js'
export { Presence } from './presence.js'
export { flushDeliveredReceipts, watchDeliveries } from './delivered.js'
export { ReceiptWindows } from './receipt-windows.js'

/** The Aedes options that make a plain broker into lowband: one hook per file, wired here. */
export function createHooks (ctx: HookContext): AedesOptions {
  const unnamed: UnnamedSessions = new WeakSet()
  return {
    preConnect: createPreConnect(unnamed),
    authenticate: createAuthenticate(ctx, unnamed),
    authorizePublish: createAuthorizePublish(ctx),
    authorizeSubscribe: createAuthorizeSubscribe(ctx),
    authorizeForward: createAuthorizeForward(ctx),
    // `<userId>/<deviceId>` is longer than MQTT 3.1's 23-character guarantee; 3.1.1 allows more.
    maxClientsIdLength: 129
  }
}
