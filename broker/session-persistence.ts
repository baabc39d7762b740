import type { Aedes, Client } from 'aedes'
import * as aedesPersistence from 'aedes-persistence'
import type { AedesMemoryPersistence } from 'aedes-persistence'
import { isChatTopic } from '../protocol/topics.js'

interface Subscriber { clientId: string }
type Enqueue = (subs: Subscriber[], packet: { topic: string }) => Promise<void>
type Persistence = AedesMemoryPersistence
// aedes-persistence is CommonJS typed as an ES default export: at run time the factory is the
// namespace's `default` (module.exports), which its typings cannot say.
const createMemoryPersistence = aedesPersistence.default as unknown as () => Persistence

/**
 * MQTT session state in memory (aedes-persistence), with one change: chat traffic is never queued
 * for an *offline* persistent session. The message store is the source of truth and a device
 * resumes from its cursor, so a session queue would only send the same bytes twice over a 2G link.
 * Connected sessions still track their in-flight chat PUBLISHes, which is what lets Aedes report a
 * PUBACK with its packet (the `ack` event that "delivered" comes from).
 */
export function createSessionPersistence (): { persistence: Persistence, attach: (broker: Aedes) => void } {
  const connected = new Set<string>()
  const persistence = createMemoryPersistence()
  const patched = persistence as unknown as { outgoingEnqueueCombi: Enqueue }
  const enqueue = patched.outgoingEnqueueCombi.bind(persistence)
  patched.outgoingEnqueueCombi = (subs, packet) =>
    enqueue(isChatTopic(packet.topic) ? subs.filter((sub) => connected.has(sub.clientId)) : subs, packet)
  return {
    persistence,
    attach (broker) {
      broker.on('client', (client: Client) => connected.add(client.id))
      broker.on('clientDisconnect', (client: Client) => connected.delete(client.id))
    }
  }
}
