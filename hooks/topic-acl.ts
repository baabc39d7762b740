import type { Client } from 'aedes'
import type { ClientAcl, HookContext } from './context.js'

/** The `--acl` rules of a connection, or undefined when the broker has none (every non-chat topic open). */
export function aclOf (ctx: HookContext, client: Client): ClientAcl | undefined {
  return ctx.acl?.of(client, ctx.identities.get(client)?.userId)
}
