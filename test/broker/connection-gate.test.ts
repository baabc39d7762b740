import { connect as netConnect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { ConnectionGate, SWEEP_SLICE } from '../../broker/connection-gate.js'

/** A socket as the gate sees it: its address, its close listener, and how it was closed. */
interface FakeSocket { remoteAddress: string, destroyed: boolean, resets: number, on (event: string, listener: () => void): void, resetAndDestroy (): void, destroy (): void }

function fakeSocket (remoteAddress: string, onReset: () => void): FakeSocket {
  const listeners: Array<() => void> = []
  const socket: FakeSocket = {
    remoteAddress,
    destroyed: false,
    resets: 0,
    on: (_event, listener) => { listeners.push(listener) },
    resetAndDestroy () {
      socket.resets++
      socket.destroyed = true
      onReset()
      for (const listener of listeners) listener.call(socket)
    },
    destroy () { // a plain close: no reset counted
      socket.destroyed = true
      onReset()
      for (const listener of listeners) listener.call(socket)
    }
  }
  return socket
}

describe('the gate sweeping expired sockets', () => {
  let gate: ConnectionGate | undefined
  afterEach(() => gate?.close())

  it('closes a flood past the CONNECT timeout with resets, a slice per turn, and counts each', async () => {
    let now = 0
    const reasons: string[] = []
    gate = new ConnectionGate({ maxConnections: 10_000, maxPending: 10_000, maxPendingPerAddress: 1000, connectTimeoutMs: 10_000, closed: (reason) => reasons.push(reason), now: () => now })
    let reset = 0
    let inFirstTurn: number | undefined
    const onReset = (): void => {
      reset++
      // Runs before the gate's own next slice, which it schedules once this one is done.
      if (reset === 1) setImmediate(() => { inFirstTurn = reset })
    }
    const flood = Array.from({ length: 3 * SWEEP_SLICE + 5 }, (_, i) => fakeSocket(`127.1.0.${1 + (i % 3)}`, onReset))
    for (const socket of flood) expect(gate.admit(socket as unknown as Socket)).toBe(true)
    const late = fakeSocket('127.1.0.9', onReset)
    now = 5000
    gate.admit(late as unknown as Socket)
    expect(gate.pending).toBe(flood.length + 1)
    now = 10_001
    while (reset < flood.length) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(inFirstTurn).toBe(SWEEP_SLICE)
    expect(flood.every((socket) => socket.resets === 1)).toBe(true)
    expect(reasons).toEqual(flood.map(() => 'connect_timeout'))
    // The one accepted later is not yet due, and what was closed no longer counts.
    expect(late.resets).toBe(0)
    expect(gate.pending).toBe(1)
    expect(gate.open).toBe(1)
  })
})

describe('the gate sharing its caps with the accept process', () => {
  let gate: ConnectionGate | undefined
  afterEach(() => gate?.close())

  it('times a socket accepted elsewhere from its accept there', async () => {
    let now = 1000
    gate = new ConnectionGate({ maxConnections: 100, maxPending: 100, maxPendingPerAddress: 100, connectTimeoutMs: 10_000, closed: () => undefined, now: () => now })
    const closed: string[] = []
    const socket = (name: string): Socket => fakeSocket('127.0.0.1', () => closed.push(name)) as unknown as Socket
    // Accepted 9.5 s ago in the accept process: due in 0.5 s.
    gate.admit(socket('handed over'), 9500)
    now = 1499
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(closed).toEqual([])
    now = 1501
    for (let i = 0; i < 25 && closed.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(closed).toEqual(['handed over'])
  })

  it('counts what the other process holds against --max-connections and --max-pending, and tells its watcher of its own changes', () => {
    const reasons: string[] = []
    gate = new ConnectionGate({ maxConnections: 10, maxPending: 4, maxPendingPerAddress: 100, connectTimeoutMs: 60_000, closed: (reason) => reasons.push(reason) })
    let told = 0
    gate.watch(() => { told++ })
    const socket = (): Socket => fakeSocket('127.0.0.1', () => undefined) as unknown as Socket
    gate.elsewhere({ open: 3, pending: 3 })
    expect(told).toBe(0)
    expect(gate.admit(socket())).toBe(true)
    expect(told).toBe(1)
    expect(gate.admit(socket())).toBe(false) // 3 + 1 pending of 4
    const authenticated = socket()
    gate.elsewhere({ open: 3, pending: 0 })
    expect(gate.admit(authenticated)).toBe(true)
    gate.authenticated(authenticated)
    gate.elsewhere({ open: 8, pending: 0 })
    expect(gate.admit(socket())).toBe(false) // 8 + 2 open of 10
    expect(reasons).toEqual(['max_pending', 'max_connections'])
    expect(told).toBe(3)
  })
})

describe('the gate refusing before a socket is made', () => {
  let gate: ConnectionGate | undefined
  const servers: Server[] = []
  const clients: Socket[] = []
  afterEach(async () => {
    gate?.close()
    for (const client of clients.splice(0)) client.destroy()
    await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
  })

  /** Calls back when the gate takes a socket (set by `attempt`). */
  let taken: (() => void) | undefined
  /** A guarded listener as broker/listeners.ts makes one; `made` holds every socket Node made for it. */
  const listener = async (): Promise<{ port: number, made: Socket[] }> => {
    const made: Socket[] = []
    const server = createServer((socket) => { made.push(socket); if (gate!.admit(socket)) taken?.() })
    servers.push(server)
    gate!.guard(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return { port: (server.address() as AddressInfo).port, made }
  }
  /** Connects and resolves when the gate took the connection, or the listener closed it. */
  const attempt = async (port: number): Promise<'closed' | 'held'> => {
    const client = netConnect({ port, host: '127.0.0.1' })
    clients.push(client)
    client.on('error', () => undefined)
    return await new Promise((resolve) => {
      taken = () => resolve('held')
      client.once('close', () => resolve('closed'))
    })
  }

  it('closes connections over --max-pending in Node\'s accept, counts them, and opens again below it', async () => {
    const reasons: string[] = []
    gate = new ConnectionGate({ maxConnections: 100, maxPending: 3, maxPendingPerAddress: 100, connectTimeoutMs: 60_000, closed: (reason) => reasons.push(reason) })
    const { port, made } = await listener()
    for (let i = 0; i < 3; i++) expect(await attempt(port)).toBe('held')
    expect(await attempt(port)).toBe('closed')
    expect(await attempt(port)).toBe('closed')
    // Refused without a Socket made for them, and counted.
    expect(made).toHaveLength(3)
    expect(reasons).toEqual(['max_pending', 'max_pending'])
    // One authenticates: it no longer counts, and the next is taken.
    gate.authenticated(made[0]!)
    expect(await attempt(port)).toBe('held')
    expect(made).toHaveLength(4)
    expect(await attempt(port)).toBe('closed')
    // A pending one goes: room again.
    made[1]!.destroy()
    await once(made[1]!, 'close')
    expect(await attempt(port)).toBe('held')
    expect(gate.pending).toBe(3)
  })

  it('closes connections over --max-connections the same way, and a listener with no sockets refuses in the gate', async () => {
    const reasons: string[] = []
    gate = new ConnectionGate({ maxConnections: 2, maxPending: 100, maxPendingPerAddress: 100, connectTimeoutMs: 60_000, closed: (reason) => reasons.push(reason) })
    const first = await listener()
    const second = await listener()
    expect(await attempt(first.port)).toBe('held')
    expect(await attempt(first.port)).toBe('held')
    gate.authenticated(first.made[0]!)
    expect(await attempt(first.port)).toBe('closed')
    expect(first.made).toHaveLength(2)
    // Node ignores a maxConnections of 0: the idle listener makes the socket, the gate closes it.
    expect(await attempt(second.port)).toBe('closed')
    expect(second.made).toHaveLength(1)
    expect(reasons).toEqual(['max_connections', 'max_connections'])
  })
})
