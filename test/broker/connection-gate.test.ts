import type { Socket } from 'node:net'
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
    gate = new ConnectionGate({ maxConnections: 10_000, maxPendingPerAddress: 1000, connectTimeoutMs: 10_000, closed: (reason) => reasons.push(reason), now: () => now })
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
