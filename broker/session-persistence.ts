import type { Client } from 'aedes'
import * as aedesPersistence from 'aedes-persistence'
import type { AedesMemoryPersistence } from 'aedes-persistence'
import { isChatTopic } from '../protocol/topics.js'

interface Packet { topic: string, messageId?: number }
interface Subscriber { clientId: string }
interface Patchable {
  outgoingEnqueue: (sub: Subscriber, packet: Packet) => Promise<void>
  outgoingEnqueueCombi: (subs: Subscriber[], packet: Packet) => Promise<void>
  outgoingUpdate: (client: Client, packet: Packet) => Promise<void>
  outgoingClearMessageId: (client: Client, packet: Packet) => Promise<Packet | undefined>
}

// aedes-persistence is CommonJS typed as an ES default export: at run time the factory is the
// namespace's `default` (module.exports), which its typings cannot say.
const createMemoryPersistence = aedesPersistence.default as unknown as () => AedesMemoryPersistence

/**
 * MQTT session state in memory (aedes-persistence), changed in three places for chat traffic:
 *
 * - It is never queued for a session ahead of delivery (`outgoingEnqueueCombi`), so nothing is kept
 *   for an offline device: the message store is the source of truth and a device resumes from its
 *   cursor, so a session queue would only send the same bytes twice over a 2G link.
 * - A connected persistent session still tracks each chat PUBLISH in flight, added when it is
 *   written (`outgoingUpdate`). That is what lets Aedes report a PUBACK with its packet — the `ack`
 *   event "delivered" comes from — and it cannot race a device connecting mid-publish.
 * - A forward that was dropped (authorize-forward skipping the sending device) makes Aedes clear a
 *   packet by an undefined messageId, which would remove some *other* pending packet and later
 *   close the connection with "no such packet": such clears are ignored.
 */
export function createSessionPersistence (): AedesMemoryPersistence {
  const persistence = createMemoryPersistence()
  const patched = persistence as unknown as Patchable
  const enqueue = patched.outgoingEnqueue.bind(persistence)
  const enqueueCombi = patched.outgoingEnqueueCombi.bind(persistence)
  const update = patched.outgoingUpdate.bind(persistence)
  const clear = patched.outgoingClearMessageId.bind(persistence)
  patched.outgoingEnqueueCombi = (subs, packet) => isChatTopic(packet.topic) ? Promise.resolve() : enqueueCombi(subs, packet)
  patched.outgoingUpdate = async (client, packet) => {
    try {
      await update(client, packet)
    } catch (error) {
      if (!isChatTopic(packet.topic)) throw error
      await enqueue({ clientId: client.id }, packet)
      await update(client, packet)
    }
  }
  patched.outgoingClearMessageId = (client, packet) => packet.messageId === undefined ? Promise.resolve(undefined) : clear(client, packet)
  return persistence
}
