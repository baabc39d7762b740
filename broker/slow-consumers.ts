import type { Aedes, Client } from 'aedes'
import type { Duplex } from 'node:stream'

/**
 * One slow socket never delays anyone else (invariant 10), at the two places Aedes 1.2 lets it:
 *
 * - **The emitter waits for the slowest socket.** Every publish goes through mqemitter, which calls
 *   each matching subscriber and counts the publish as under way until all of them call back
 *   (fastparallel). A subscriber calls back only once its socket took the packet, and when the
 *   socket's buffer is full, only on 'drain' — up to Aedes' 60 s drain timeout for a device that
 *   stopped reading. With 100 publishes under way (Aedes' `concurrency`), every other publish of
 *   the broker queues behind them: one phone that stops reading held up every user's live
 *   messages for a minute. Here the emitter hands the packet to each subscriber and is done; each
 *   subscriber writes it into its own socket's buffer, which is where waiting belongs.
 * - **That buffer is unbounded.** So a connection whose outgoing backlog passes `maxQueuedBytes` is
 *   closed at once. Its chat messages are in the store: it resumes from its cursor when it is back.
 *   So the copies a persistent session kept of them in flight (those in the socket's buffers, the
 *   kernel's ~4 MiB included) are dropped too, or each such device would go on holding them.
 *
 * A device's own flows still wait for its own socket (Aedes' `waitForDrain`): its resume replay and
 * its session queue are paced by what it reads, so they never count against the limit.
 *
 * Both changes check that the internals they replace are there; if an Aedes or mqemitter upgrade
 * moves them, that change is skipped and test/broker/slow-consumers.test.ts fails.
 */
export function isolateSlowConsumers (broker: Aedes, options: SlowConsumerOptions): { dispatching: boolean } {
  const dispatching = dispatchWithoutWaiting(broker)
  const forget = async (client: Client): Promise<void> => {
    const queue = (broker as unknown as { persistence: OutgoingQueue }).persistence
    for await (const packet of queue.outgoingStream(client)) {
      if (options.resumable(packet.topic)) await queue.outgoingClearMessageId(client, packet)
    }
  }
  const waitForDrain = boundedWaitForDrain(options.maxQueuedBytes, (client, queuedBytes) => {
    options.closed(client, queuedBytes)
    // Once Aedes has finished the client, so no delivery under way adds to the session after.
    if (!client.clean) client.conn.once('close', () => setImmediate(() => { forget(client).catch(() => undefined) }))
  })
  const handle = broker.handle
  broker.handle = (conn, req) => {
    const client = handle(conn, req)
    const internals = client as unknown as Partial<ClientInternals>
    if (typeof internals.waitForDrain === 'function') internals.waitForDrain = waitForDrain
    return client
  }
  return { dispatching }
}

export interface SlowConsumerOptions {
  /** Bytes a connection may have waiting in its socket's buffer before it is closed. */
  maxQueuedBytes: number
  /** Told once per connection closed for its backlog. */
  closed (client: Client, queuedBytes: number): void
  /** Topics whose messages a closed device gets again from the store: its session forgets them in flight. */
  resumable (topic: string): boolean
}

/** The parts of aedes-persistence's session store used here (its documented interface). */
interface OutgoingQueue {
  outgoingStream (client: Client): AsyncIterable<{ topic: string, messageId?: number }>
  outgoingClearMessageId (client: Client, packet: { messageId?: number }): Promise<unknown>
}

/** The parts of mqemitter 7's MQEmitter (mqemitter.js) changed here. */
interface EmitterInternals {
  _parallel: (that: unknown, handlers: readonly Handler[], message: unknown, done: () => void) => void
  /** Ends one emit: lowers the count under way and starts a queued one. */
  _released: () => void
}
type Handler = (this: unknown, message: unknown, done: () => void) => void

/** The parts of Aedes 1.2's Client (lib/client.js) changed here. */
interface ClientInternals {
  conn: Duplex
  /** Called by lib/write.js when a write left the socket's buffer full; `callback` goes on with the flow. */
  waitForDrain (callback: (error: Error | null, client: unknown) => void): void
}

function dispatchWithoutWaiting (broker: Aedes): boolean {
  const emitter = (broker as unknown as { mq?: Partial<EmitterInternals> }).mq
  if (emitter === undefined || typeof emitter._parallel !== 'function' || typeof emitter._released !== 'function') return false
  const released = emitter._released
  emitter._parallel = (that, handlers, message, done) => {
    for (const handler of handlers) handler.call(that, message, ignore)
    done.call(that)
    released()
  }
  return true
}

/** Aedes' own wait for 'drain', unless the backlog is over the limit: then the connection is closed. */
function boundedWaitForDrain (maxQueuedBytes: number, closing: (client: Client, queuedBytes: number) => void): ClientInternals['waitForDrain'] {
  return function waitForDrain (this: ClientInternals & Client, callback) {
    const queued = this.conn.writableLength
    if (queued <= maxQueuedBytes) {
      (Object.getPrototypeOf(this) as ClientInternals).waitForDrain.call(this, callback)
      return
    }
    if (!this.conn.destroyed) {
      closing(this, queued)
      this.conn.destroy()
    }
    // An error makes Aedes finish the client as for any failed write (clientError, then close).
    setImmediate(callback, new Error(`outgoing backlog of ${queued} bytes is over the limit of ${maxQueuedBytes}`), this)
  }
}

function ignore (): void {}
