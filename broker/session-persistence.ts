import type { Client } from 'aedes'
import * as aedesPersistence from 'aedes-persistence'
import type { AedesMemoryPersistence } from 'aedes-persistence'
import { Transform, type Readable } from 'node:stream'
import { isChatTopic } from '../protocol/topics.js'

/** A queued PUBLISH, or the PUBREL that replaces it once the subscriber has sent PUBREC (no topic). */
interface Packet { cmd?: string, topic?: string, messageId?: number, dup?: boolean }
interface Subscriber { clientId: string }
interface Patchable {
  outgoingEnqueue: (sub: Subscriber, packet: Packet) => Promise<void>
  outgoingEnqueueCombi: (subs: Subscriber[], packet: Packet) => Promise<void>
  outgoingUpdate: (client: Client, packet: Packet) => Promise<void>
  outgoingClearMessageId: (client: Client, packet: Packet) => Promise<Packet | undefined>
  outgoingStream: (client: Client) => Readable
}

// aedes-persistence is CommonJS typed as an ES default export: at run time the factory is the
// namespace's `default` (module.exports), which its typings cannot say.
const createMemoryPersistence = aedesPersistence.default as unknown as () => AedesMemoryPersistence

/**
 * MQTT session state in memory (aedes-persistence), changed in five places for chat traffic and connects:
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
 * - Every connect streams the session's queue (Aedes' `emptyQueue`; for chat it is usually empty).
 *   The callback wrapper streams the in-memory store's stream once more (`Readable.from` of
 *   a Readable); the store's own stream is handed over instead. Per connect that is one stream,
 *   async iterator and abort signal less, garbage that a reconnect storm otherwise leaves in V8's
 *   old space (broker RSS after 19 000 connects: about 0.4 KiB per device less).
 * - A PUBLISH resent from the queue on reconnect is marked DUP [MQTT-3.3.1-1]. Aedes 1.2 resends
 *   the stored packet as it was first sent (DUP 0); the store gives a packet its id only when it is
 *   handed to the socket, so a queued packet with an id is one the client may have seen. A packet
 *   queued while the client was away has none and goes out as a first delivery (DUP 0). That
 *   costs a persistent session one small Transform per connect; clean sessions skip it.
 *
 * The store's queue holds PUBRELs too: on PUBREC, Aedes replaces the PUBLISH by its PUBREL
 * (`outgoingUpdate`), which has no topic and is always plain MQTT session state [MQTT-4.3.3-1].
 */
export function createSessionPersistence (): AedesMemoryPersistence {
  const persistence = createMemoryPersistence()
  const patched = persistence as unknown as Patchable
  const enqueue = patched.outgoingEnqueue.bind(persistence)
  const enqueueCombi = patched.outgoingEnqueueCombi.bind(persistence)
  const update = patched.outgoingUpdate.bind(persistence)
  const clear = patched.outgoingClearMessageId.bind(persistence)
  patched.outgoingEnqueueCombi = (subs, packet) => isChatTopic(packet.topic!) ? Promise.resolve() : enqueueCombi(subs, packet)
  patched.outgoingUpdate = async (client, packet) => {
    if (packet.topic === undefined || !isChatTopic(packet.topic)) return update(client, packet)
    try {
      await withoutStackTrace(() => update(client, packet))
    } catch {
      await enqueue({ clientId: client.id }, packet)
      await update(client, packet)
    }
  }
  patched.outgoingClearMessageId = (client, packet) => packet.messageId === undefined ? Promise.resolve(undefined) : clear(client, packet)
  const queues = (persistence as unknown as { asyncPersistence: Pick<Patchable, 'outgoingStream'> }).asyncPersistence
  patched.outgoingStream = (client) => client.clean
    // A clean session's queue is only ever cleared (Aedes' emptyOutgoingQueue): nothing is resent.
    ? queues.outgoingStream(client)
    : queues.outgoingStream(client).pipe(new Transform({ objectMode: true, transform: markResend }))
  return persistence
}

/** Marks a PUBLISH that was sent before as a retransmission; a queued packet gets its id when sent. */
function markResend (packet: Packet, _encoding: BufferEncoding, next: (error: null, packet: Packet) => void): void {
  next(null, packet.cmd === 'publish' && packet.messageId !== undefined ? { ...packet, dup: true } : packet)
}

/**
 * A live chat PUBLISH is never in the queue yet, so the store's update throws "no such packet" for
 * each one before it is added. Its stack trace is never read; capturing it cost more than the
 * lookup. The store throws synchronously inside the call, which is all this window covers.
 */
function withoutStackTrace<T> (call: () => T): T {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return call()
  } finally {
    Error.stackTraceLimit = limit
  }
}
