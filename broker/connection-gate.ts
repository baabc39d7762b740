import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Aedes, Client } from 'aedes'

export type RefusalReason = 'max_connections' | 'pending_per_ip' | 'connect_timeout'

export interface GateOptions {
  /** Open connections, every listener together. */
  maxConnections: number
  /** Connections from one source address (an IPv6 /64) not yet authenticated. */
  maxPendingPerAddress: number
  /** From accepting a socket to its client being authenticated (TLS handshake and CONNECT included), ms. */
  connectTimeoutMs: number
  /** Told of every socket closed at admission or for its timeout. */
  closed (reason: RefusalReason): void
}

interface Pending {
  readonly address: string
  readonly timer: NodeJS.Timeout
}

/**
 * Admission of MQTT connections, by the socket each listener accepts (TCP, the TCP under TLS, the
 * HTTP connection under a WebSocket). Each socket holds a file descriptor until it closes, and the
 * store needs descriptors too: 21 600 sockets that never sent CONNECT once took all 20 000 and made
 * stores fail. So a socket over `maxConnections`, or over `maxPendingPerAddress` from its address,
 * is closed at once, and one that has no authenticated client after `connectTimeoutMs` is closed
 * then. After authentication a connection costs the gate one count and one 'close' listener.
 */
export class ConnectionGate {
  readonly #options: GateOptions
  #open = 0
  readonly #pending = new Map<Socket, Pending>()
  readonly #pendingByAddress = new Map<string, number>()
  readonly #onClose: (this: Socket) => void

  constructor (options: GateOptions) {
    this.#options = options
    const closed = (socket: Socket): void => {
      this.#open--
      this.#settle(socket)
    }
    // One listener function for every socket, which Node calls with the socket as `this`.
    this.#onClose = function (this: Socket) { closed(this) }
  }

  /** Open connections now. */
  get open (): number {
    return this.#open
  }

  /** Connections not yet authenticated now. */
  get pending (): number {
    return this.#pending.size
  }

  /** Takes a newly accepted socket, or closes it at once (false). */
  admit (socket: Socket): boolean {
    const address = addressKey(socket.remoteAddress)
    if (address === undefined) {
      socket.destroy() // already gone
      return false
    }
    const pending = this.#pendingByAddress.get(address) ?? 0
    const refusal = this.#open >= this.#options.maxConnections ? 'max_connections' : pending >= this.#options.maxPendingPerAddress ? 'pending_per_ip' : undefined
    if (refusal !== undefined) {
      this.#options.closed(refusal)
      socket.destroy()
      return false
    }
    this.#open++
    this.#pendingByAddress.set(address, pending + 1)
    const timer = setTimeout(() => {
      this.#options.closed('connect_timeout')
      socket.destroy()
    }, this.#options.connectTimeoutMs)
    this.#pending.set(socket, { address, timer })
    socket.on('close', this.#onClose)
    return true
  }

  /** The socket's client authenticated: it no longer counts against its address or a timeout. */
  authenticated (socket: Socket): void {
    this.#settle(socket)
  }

  /**
   * How listeners hand a stream to Aedes: with the socket under it, which is released from the
   * pending counts when Aedes reports the client authenticated (its `client` event).
   */
  handOver (broker: Aedes): (stream: Duplex, socket: Socket) => void {
    const sockets = new WeakMap<Client, Socket>()
    broker.on('client', (client: Client) => {
      const socket = sockets.get(client)
      if (socket === undefined) return
      sockets.delete(client)
      this.authenticated(socket)
    })
    // broker.handle is read per connection: the broker's own wrappers of it stay in place.
    return (stream, socket) => { sockets.set(broker.handle(stream), socket) }
  }

  /** Stops every pending timer (the broker is stopping). */
  close (): void {
    for (const { timer } of this.#pending.values()) clearTimeout(timer)
  }

  #settle (socket: Socket): void {
    const pending = this.#pending.get(socket)
    if (pending === undefined) return
    this.#pending.delete(socket)
    clearTimeout(pending.timer)
    const left = (this.#pendingByAddress.get(pending.address) ?? 1) - 1
    if (left === 0) this.#pendingByAddress.delete(pending.address)
    else this.#pendingByAddress.set(pending.address, left)
  }
}

/**
 * The source a per-address cap counts by: an IPv4 address (also when IPv4-mapped), or the /64 of an
 * IPv6 address, the block one subscriber is given (one host can use all of it).
 */
export function addressKey (address: string | undefined): string | undefined {
  if (address === undefined || address === '') return undefined
  const bare = address.split('%', 1)[0]!
  if (!bare.includes(':')) return bare
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(bare)) return bare.slice(7)
  const [head = '', tail] = bare.split('::', 2)
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return `${groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`
}
