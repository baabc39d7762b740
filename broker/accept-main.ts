import { closeSync, readdirSync, readlinkSync } from 'node:fs'
import type { Server, Socket } from 'node:net'
import type { AcceptCommand, AcceptReport } from './accept-process.js'
import { ConnectionGate, type GateLimits, type RefusalReason } from './connection-gate.js'
import { onFirstBytes } from './first-bytes.js'

/**
 * The accept process (broker/accept-process.ts): accepts on the listening sockets the broker sends,
 * holds each new socket under the same caps and CONNECT timeout as the broker's gate, and passes it
 * to the broker with its first bytes.
 */

/** How often the refusal counts and the held sockets are reported to the broker's /metrics, ms. */
const REPORT_MS = 500

closeInherited()

const limits = JSON.parse(process.argv[2] ?? '{}') as GateLimits
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
/**
 * Closes the files and sockets this process inherited from the broker's process (descriptors not
 * marked close-on-exec: a host process's, when the broker is embedded, or another broker's in the
 * same process), so that none stays open for as long as this process lives: a data directory
 * could not be unmounted, a port would stay bound. Kept: stdio, the IPC channel, and what Node
 * opened for itself (event loop descriptors, pipes, /dev/null).
 */
function closeInherited (): void {
  const channel = (process.channel as unknown as { fd?: number } | undefined)?.fd
  let names: string[]
  try {
    names = readdirSync('/proc/self/fd')
  } catch {
    return // no /proc (not Linux): what was inherited stays open
  }
  for (const name of names) {
    const fd = Number(name)
    if (fd <= 2 || fd === channel) continue
    let target: string
    try {
      target = readlinkSync(`/proc/self/fd/${name}`)
    } catch {
      continue // the directory's own descriptor, gone by now
    }
    if ((target.startsWith('/') && target !== '/dev/null') || target.startsWith('socket:')) {
      try { closeSync(fd) } catch { /* closed meanwhile */ }
    }
  }
}

// A report the channel could not carry: the broker is stopping, and 'disconnect' follows.
process.on('error', () => undefined)
// The broker stopped or died: the listening sockets close with this process.
process.on('disconnect', () => process.exit(0))
send({ type: 'ready' })
