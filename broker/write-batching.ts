import type { Aedes } from 'aedes'
import { Writable, type Duplex } from 'node:stream'

/** Writable's own uncork, which TCP, TLS and WebSocket streams all inherit; a stream that overrides it is left alone. */
const { uncork } = Writable.prototype

/**
 * One socket write per connection per turn of the event loop, instead of one per tick.
 *
 * mqtt-packet corks the socket for every packet it writes and uncorks it on the next tick, so the
 * packets of one tick leave in one `writev`. A chat message writes to a socket from several ticks
 * of the same turn — the sender's StoredAck and PUBACK, the recipient's delivery, the receipts of
 * other conversations, each from its own promise or I/O callback — and under load one socket gets
 * several of them per turn; each `writev` is a syscall that on a local link also runs the
 * receiver's TCP path (the largest single cost in the profile, docs/BENCH.md). Here a socket's
 * uncork is held until the end of the turn (`setImmediate`, after the I/O callbacks that produced
 * the packets), when every held socket is uncorked once: the packets of a turn leave together. A
 * packet waits at most for the rest of the turn it was written in.
 *
 * Backpressure is unchanged: a corked socket counts its buffered bytes as before (`write()` still
 * returns false past the high-water mark, which the slow-consumer limit reads).
 */
export function batchSocketWrites (broker: Aedes): void {
  const held = new Map<Duplex, number>()
  let scheduled = false
  const release = (conn: Duplex): void => {
    const count = held.get(conn) ?? 0
    held.delete(conn)
    for (let i = 0; i < count; i++) uncork.call(conn)
  }
  const flush = (): void => {
    scheduled = false
    for (const conn of held.keys()) release(conn)
  }
  const handle = broker.handle
  broker.handle = (conn, req) => {
    const client = handle(conn, req)
    const stream = conn as Duplex
    if (stream.uncork !== uncork) return client
    stream.uncork = function holdUntilTurnEnds (this: Duplex): void {
      held.set(this, (held.get(this) ?? 0) + 1)
      if (!scheduled) {
        scheduled = true
        setImmediate(flush)
      }
    }
    // Ending or closing, the stream writes what is held first and from then on uncorks at once
    // (end() itself uncorks): a refused CONNACK and the close that follows it in the same turn
    // leave in that order, as without batching.
    const unbatched = (): void => {
      stream.uncork = uncork
      release(stream)
    }
    const end = stream.end.bind(stream) as (...args: unknown[]) => Duplex
    stream.end = ((...args: unknown[]) => { unbatched(); return end(...args) }) as Duplex['end']
    const destroy = stream.destroy.bind(stream)
    stream.destroy = (error?: Error) => { unbatched(); return destroy(error) }
    return client
  }
}
