import type { Client, Subscription } from 'aedes'
import { isValidId } from '../protocol/ids.js'
import { isInternalTopic } from '../protocol/topics.js'
import type { HookContext } from './context.js'
import { aclOf } from './topic-acl.js'

/**
 * A device may subscribe within its own subtree `u/<self>/…` (or to its inbox `u/<self>`) only;
 * never to commands (`c/…`) or sends (`s/…`),
 * other users' subtrees or broker internals. Filters outside the chat namespace follow the topic
 * policy. Under `open`, a wildcard filter such as `#` is allowed and authorize-forward keeps chat
 * traffic out of it; with `--acl`, the filter must be readable by the client's rules. A refused
 * filter gets SUBACK return code 0x80 [MQTT-3.9.3-2].
 */
export function createAuthorizeSubscribe (ctx: HookContext) {
  return (client: Client, subscription: Subscription, done: (error: Error | null, subscription?: Subscription | null) => void): void => {
    const filter = subscription.topic
    const watched = watchedContact(ctx, client, filter)
    // A watch more than MAX_WATCHES is refused like a filter outside the subtree.
    const allowed = isAllowed(ctx, client, filter) && (watched === undefined || ctx.presence.mayWatch(client, watched.contact))
    if (!allowed) ctx.log.info({ clientId: client.id, filter }, 'subscription refused')
    done(null, allowed ? subscription : null)
    if (allowed && watched !== undefined) void ctx.presence.watch(client, watched.watcher, watched.contact)
  }
}

/** `u/<self>/p/<contact>`: the device opened the chat with `contact` and watches its presence. */
export function watchedContact (ctx: HookContext, client: Client, filter: string): { watcher: string, contact: string } | undefined {
  const identity = ctx.identities.get(client)
  if (identity === undefined) return undefined
  const prefix = `u/${identity.userId}/p/`
  if (!filter.startsWith(prefix)) return undefined
  const contact = filter.slice(prefix.length)
  return isValidId(contact) ? { watcher: identity.userId, contact } : undefined
}

function isAllowed (ctx: HookContext, client: Client, filter: string): boolean {
  if (isInternalTopic(filter)) return false
  const first = filter.split('/', 1)[0]
  if (first === 'u') {
    const identity = ctx.identities.get(client)
    return identity !== undefined && (filter.startsWith(`u/${identity.userId}/`) || filter === `u/${identity.userId}`)
  }
  if (first === 'c' || first === 's') return false
  return ctx.config.topicPolicy === 'open' && (aclOf(ctx, client)?.maySubscribe(filter) ?? true)
}
