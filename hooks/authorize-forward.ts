import type { AedesPublishPacket, Client } from 'aedes'
import { COMMAND_ROOT, SEND_ROOT, USER_ROOT } from '../protocol/topics.js'
import type { HookContext } from './context.js'
import { aclOf } from './topic-acl.js'

/**
 * The last gate before a packet goes to a client: chat traffic for user X reaches only X's
 * devices (whatever wildcard filter matched it), and a sender's copy of its own message skips the
 * device that sent it (`u/<user>/o/<device>`). Other topics reach a client its `--acl` rules let read.
 * An encrypted message leaves here with the receiving device's own ciphertext only (fan-out.ts
 * registered how to make it).
 */
export function createAuthorizeForward (ctx: HookContext) {
  return (client: Client, packet: AedesPublishPacket): AedesPublishPacket | null => {
    const topic = packet.topic
    if (topic.startsWith(COMMAND_ROOT) || topic.startsWith(SEND_ROOT)) return null
    if (!topic.startsWith(USER_ROOT)) return aclOf(ctx, client)?.mayRead(topic) === false ? null : packet
    const identity = ctx.identities.get(client)
    if (identity === undefined) return null
    const own = `u/${identity.userId}/`
    // The inbox is the subtree's root `u/<self>`; everything else is under it.
    if (!topic.startsWith(own) && topic !== own.slice(0, -1)) return null
    if (topic.length === own.length + 2 + identity.deviceId.length && topic.endsWith(`/o/${identity.deviceId}`)) return null
    const forDevice = ctx.deviceCopies.get(packet.payload as Buffer)
    return forDevice === undefined ? packet : { ...packet, payload: forDevice(identity.deviceId) }
  }
}
