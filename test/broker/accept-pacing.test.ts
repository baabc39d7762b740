import { connect as netConnect, createServer, type Server, type Socket } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { paceAccepts } from '../../broker/accept-pacing.js'

/** A stand-in for a listening server whose handle's `onconnection` makes a socket (Node's lib/net.js). */
function fakeListener (): { server: Server, made: number[], closed: number[], accept: (id: number) => void } {
  const made: number[] = []
  const closed: number[] = []
  const handle = { onconnection (_error: number, client: { id: number }) { made.push(client.id) } }
  const accept = (id: number): void => (handle.onconnection as (error: number, client: object) => void).call(handle, 0, { id, close: () => closed.push(id) })
  return { server: { _handle: handle } as unknown as Server, made, closed, accept }
}

describe('accept pacing', () => {
  it('makes sockets for a burst a slice per turn, in order, and closes what is past its queue at once', async () => {
    const { server, made, closed, accept } = fakeListener()
    let dropped = 0
    expect(paceAccepts(server, { perTurn: 8, queue: 20, dropped: () => dropped++ })).toBe(true)
    // libuv hands over every waiting connection in one go.
    for (let id = 0; id < 40; id++) accept(id)
    expect(made).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(closed).toEqual(Array.from({ length: 12 }, (_, i) => 28 + i))
    expect(dropped).toBe(12)
    await nextTurn()
    expect(made).toHaveLength(16)
    await nextTurn()
    await nextTurn()
    expect(made).toEqual(Array.from({ length: 28 }, (_, i) => i))
    // Quiet again: the next connection is made at once.
    await nextTurn()
    accept(99)
    expect(made.at(-1)).toBe(99)
  })

  it('still lets a real listener take every connection of a burst', async () => {
    const sockets: Socket[] = []
    const server = createServer((socket) => { sockets.push(socket) })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      // Node's internals as paceAccepts expects them: an upgrade that moves them fails here.
      expect(paceAccepts(server, { perTurn: 4 })).toBe(true)
      const port = (server.address() as { port: number }).port
      const clients = Array.from({ length: 30 }, () => netConnect(port, '127.0.0.1').on('error', () => undefined))
      while (sockets.length < 30) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(sockets.every((socket) => socket.remoteAddress === '127.0.0.1')).toBe(true)
      for (const client of clients) client.destroy()
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
