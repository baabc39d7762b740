import type { Server } from 'node:net'

/**
 * Connections a listener turns into sockets in one turn of the event loop at most. libuv accepts
 * every connection waiting in the kernel's queue in one go, and Node makes a socket for each
 * (≈ 0.1 ms apiece: its streams, the peer's address, the gate): a burst of 1000 from a flood held
 * every other connection's traffic for ~100 ms. The rest wait, already accepted, for later turns.
 */
export const ACCEPT_SLICE = 64

/**
 * Accepted connections that may wait for their turn at most, per listener; past it a connection is
 * closed at once, before any socket is made for it (as Node's own `maxConnections` does). Each holds
 * a descriptor, so the wait is bounded like the kernel's own accept queue.
 */
export const ACCEPT_QUEUE = 4096

/** The listening handle of Node 20's net.Server (lib/net.js): `onconnection` makes the socket. */
interface ListenHandle {
  onconnection: (this: ListenHandle, error: number, clientHandle: ClientHandle | undefined) => void
}
interface ClientHandle { close (): void }

/**
 * Spreads a burst of new connections over turns of the event loop, `perTurn` at a time, so the
 * I/O of established connections runs between them. Call once the server listens. Returns false
 * (and changes nothing) if Node's internals are not as expected: the listener works as before,
 * only unpaced, and test/broker/accept-pacing.test.ts fails.
 */
export function paceAccepts (server: Server, options: { perTurn?: number, queue?: number, dropped?: () => void } = {}): boolean {
  const handle = (server as unknown as { _handle?: Partial<ListenHandle> | null })._handle
  if (handle === undefined || handle === null || typeof handle.onconnection !== 'function') return false
  const makeSocket = handle.onconnection
  const perTurn = options.perTurn ?? ACCEPT_SLICE
  const limit = options.queue ?? ACCEPT_QUEUE
  const waiting: ClientHandle[] = []
  let made = 0
  let scheduled = false
  const nextTurn = (): void => {
    made = 0
    const batch = waiting.splice(0, perTurn)
    for (const client of batch) makeSocket.call(handle as ListenHandle, 0, client)
    if (waiting.length > 0) setImmediate(nextTurn)
    else scheduled = false
  }
  handle.onconnection = function (error, clientHandle) {
    if (error !== 0 || clientHandle === undefined) { makeSocket.call(this, error, clientHandle); return }
    if (!scheduled) {
      scheduled = true
      made = 0
      setImmediate(nextTurn)
    }
    if (made < perTurn && waiting.length === 0) {
      made++
      makeSocket.call(this, error, clientHandle)
    } else if (waiting.length < limit) {
      waiting.push(clientHandle)
    } else {
      clientHandle.close()
      options.dropped?.()
    }
  }
  return true
}
