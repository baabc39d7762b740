import type { Server, Socket } from 'node:net'
import { getPriority, setPriority } from 'node:os'
import type { AcceptCommand, AcceptLimits, AcceptReport } from './accept-process.js'
import { ConnectionGate, type RefusalReason } from './connection-gate.js'
import { onFirstBytes } from './first-bytes.js'

/**
 * The accept process (broker/accept-process.ts): accepts on the listening sockets the broker sends,
 * holds each new socket under the same caps and CONNECT timeout as the broker's gate, and passes it
 * to the broker with its first bytes.
 */

/** How often the refusal counts and the held sockets are reported to the broker's /metrics, ms. */
const REPORT_MS = 500
/**
 * Below the broker's event loop: accepting a reconnect storm may wait a little while the broker is
 * busy with the devices already connected, never the other way round.
 */
const NICENESS = 10

try {
  setPriority(Math.min(19, getPriority() + NICENESS))
} catch {
  // Not permitted here: accepting works the same, only without the lower priority.
}

const limits = JSON.parse(process.argv[2] ?? '{}') as AcceptLimits
let closed: Partial<Record<RefusalReason, number>> = {}
let reported = -1
const gate = new ConnectionGate({
  ...limits,
  closed: (reason) => { closed[reason] = (closed[reason] ?? 0) + 1 }
})
const send = (report: AcceptReport, socket?: Socket, sent?: () => void): void => {
  if (process.connected) process.send!(report, socket, sent) // else the broker is stopping, and this process with it
  else socket?.destroy()
}

const report = (): void => {
  send({ type: 'counts', closed, pending: gate.pending })
  closed = {}
  reported = gate.pending
}
setInterval(() => { if (Object.keys(closed).length > 0 || gate.pending !== reported) report() }, REPORT_MS)

process.on('message', (command: AcceptCommand, server?: Server) => {
  if (command.type === 'report') return report()
  if (command.type === 'counts') return gate.elsewhere(command)
  if (server === undefined) return
  gate.guard(server)
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => socket.destroy())
    if (!gate.admit(socket)) return
    const accepted = performance.now()
    onFirstBytes(socket, (head) => {
      gate.authenticated(socket) // no longer held here: it is the broker's, whose gate counts it from now
      // Not the server's any more: Node would otherwise track it across both processes.
      ;(socket as { server?: unknown }).server = null
      send({ type: 'socket', listener: command.listener, head: head.toString('base64'), waitedMs: performance.now() - accepted }, socket, () => socket.destroy())
    })
  })
})
// A report the channel could not carry: the broker is stopping, and 'disconnect' follows.
process.on('error', () => undefined)
// The broker stopped or died: the listening sockets close with this process.
process.on('disconnect', () => process.exit(0))
send({ type: 'ready' })
