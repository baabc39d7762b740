import type { Server, Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { Aedes, Client } from 'aedes'

export type RefusalReason = 'max_connections' | 'max_pending' | 'pending_per_ip' | 'connect_timeout'

/** The caps a gate holds sockets to: the broker's and its accept process's alike. */
export interface GateLimits {
  /** Open connections, every listener together. */
  maxConnections: number
  /** Connections not yet authenticated, every address and listener together. */
  maxPending: number
  /** Connections from one source address (an IPv6 /64) not yet authenticated. */
  maxPendingPerAddress: number
  /** From accepting a socket to its client being authenticated (TLS handshake and CONNECT included), ms. */
  connectTimeoutMs: number
}

export interface GateOptions extends GateLimits {
  /** Told of every socket closed at admission or for its timeout. */
  closed (reason: RefusalReason): void
  /** The gate's clock, ms (tests pass their own). */
  now?: () => number
}

/** Node's own count of a server's open sockets (node:net), which its `maxConnections` check reads. */
interface NodeSockets { _connections: number }

interface Pending {
  readonly address: string
  /** When the socket was accepted, ms (the gate's clock). */
  readonly since: number
}

/**
 * The default of --max-pending: connections not yet authenticated, all together. Each costs ~4 KiB
 * of RSS in Node while it waits (bench/flood-probe.ts), so a flood that holds them all costs ~16 MiB,
 * not the ~74 MiB of a flood holding every one of --max-connections' 18 976; and it admits a
 * reconnect storm of ~4000 devices in flight at once (each authenticates within a round trip or
 * two; a refused one retries with backoff).
 */
export const DEFAULT_MAX_PENDING = 4096

/** How often sockets past the CONNECT timeout are looked for, ms: the timeout is kept to within this. */
const SWEEP_MS = 100

/**
 * Expired sockets closed in one turn of the event loop at most; the rest wait for the next turn,
 * after the I/O that came in meanwhile. A flood held at the cap expires ~1900 sockets a second:
 * closed all at once, each sweep stalled every other connection's traffic behind ~1000 closes.
 */
export const SWEEP_SLICE = 64

/**
 * Admission of MQTT connections, by the socket each listener accepts (TCP, the TCP under TLS, the
 * HTTP connection under a WebSocket). Each socket holds a file descriptor until it closes, and the
 * store needs descriptors too: 21 600 sockets that never sent CONNECT once took all 20 000 and made
 * stores fail. So a socket over `maxConnections`, over `maxPending` (unauthenticated ones, which a
 * flood can hold without a token: each costs ~4 KiB of RSS), or over `maxPendingPerAddress` from
 * its address, is closed at once, and one that has no authenticated client after
 * `connectTimeoutMs` is closed then. A pending socket costs the gate one small record (a flood of
 * them is the case to be cheap in: one sweep finds the expired ones, not a timer each); after
 * authentication a connection costs it one count and one 'close' listener.
 */
export class ConnectionGate {
  readonly #options: GateOptions
  #open = 0
  readonly #pending = new Map<Socket, Pending>()
  readonly #pendingByAddress = new Map<string, number>()
  readonly #onClose: (this: Socket) => void
  readonly #sweeper: NodeJS.Timeout
  readonly #now: () => number
  /** A sweep is under way (continued in a later turn): the interval does not start another. */
  #sweeping = false
  /** The listeners whose accepts the gate refuses natively while a cap is reached (`guard`). */
  readonly #servers = new Set<Server>()
  /** The cap reached now, while the guarded listeners refuse before making a socket. */
  #shut: 'max_connections' | 'max_pending' | undefined
  #stopped = false
  /** Connections held by another process that count against the caps too (`elsewhere`). */
  #elsewhere = { open: 0, pending: 0 }
  #watcher: (() => void) | undefined

  constructor (options: GateOptions) {
    this.#options = options
    this.#now = options.now ?? (() => performance.now())
    this.#sweeper = setInterval(() => { if (!this.#sweeping) this.#sweep() }, SWEEP_MS)
    this.#sweeper.unref()
    const closed = (socket: Socket): void => {
      this.#open--
      this.#settle(socket)
      this.#guardCaps()
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

  /**
   * Connections another process holds (the broker's, or its accept process's) that count against
   * the caps with this gate's own: the two processes share one `maxConnections` and `maxPending`.
   */
  elsewhere (counts: { open: number, pending: number }): void {
    this.#elsewhere = counts
    this.#applyCaps()
  }

  /** Told (in the same turn) whenever this gate's open or pending count changes. */
  watch (watcher: () => void): void {
    this.#watcher = watcher
  }

  /**
   * Takes a newly accepted socket, or closes it at once (false). `waitedMs`: how long ago it was
   * accepted, when that was elsewhere (the accept process); its CONNECT timeout counts from then.
   */
  admit (socket: Socket, waitedMs = 0): boolean {
    const address = addressKey(socket.remoteAddress)
    if (address === undefined) {
      socket.destroy() // already gone
      return false
    }
    const pending = this.#pendingByAddress.get(address) ?? 0
    const refusal = this.#capReached() ?? (pending >= this.#options.maxPendingPerAddress ? 'pending_per_ip' : undefined)
    if (refusal !== undefined) {
      this.#options.closed(refusal)
      socket.destroy()
      return false
    }
    this.#open++
    this.#pendingByAddress.set(address, pending + 1)
    this.#pending.set(socket, { address, since: this.#now() - waitedMs })
    socket.on('close', this.#onClose)
    this.#guardCaps()
    return true
  }

  /** The socket's client authenticated: it no longer counts against its address or a timeout. */
  authenticated (socket: Socket): void {
    this.#settle(socket)
    this.#guardCaps()
  }

  /**
   * Makes a listener refuse natively while `maxConnections` or `maxPending` is reached: Node closes
   * a connection over a server's `maxConnections` in its accept callback, before any Socket (or TLS,
   * HTTP or Aedes object) is made, and emits 'drop' — a flood's thousands of refusals a second,
   * refused by `admit`, would each cost a Socket made and destroyed. So while a cap holds, each
   * guarded listener's `maxConnections` is its own socket count. Node ignores a `maxConnections`
   * of 0, so a listener with no sockets lets one through to `admit`, which refuses it there.
   */
  guard (server: Server): void {
    this.#servers.add(server)
    server.on('drop', () => this.#options.closed(this.#shut ?? 'max_pending'))
    this.#guardCaps()
  }

  /**
   * How listeners hand a stream to Aedes: with the socket under it, which is released from the
   * pending counts when Aedes reports the client authenticated (its `client` event). The Aedes
   * client (its parser, timers and state, several KiB) is made when the first bytes arrive, so a
   * socket that never sends costs only itself until its timeout.
   */
  handOver (broker: Aedes): (stream: Duplex, socket: Socket) => void {
    const sockets = new WeakMap<Client, Socket>()
    broker.on('client', (client: Client) => {
      const socket = sockets.get(client)
      if (socket === undefined) return
      sockets.delete(client)
      this.authenticated(socket)
    })
    // The socket under a TLS or WebSocket stream; a TCP stream is its own.
    const under = new WeakMap<Duplex, Socket>()
    const firstData = function (this: Duplex, chunk: Buffer): void {
      this.removeListener('data', firstData)
      // Put back for Aedes, which reads it from its own 'readable' listener.
      this.pause()
      this.unshift(chunk)
      // broker.handle is read per connection: the broker's own wrappers of it stay in place.
      sockets.set(broker.handle(this), under.get(this) ?? this as Socket)
    }
    return (stream, socket) => {
      if (stream !== socket) under.set(stream, socket)
      stream.on('data', firstData)
    }
  }

  /** Stops looking for expired sockets (the broker is stopping). */
  close (): void {
    clearInterval(this.#sweeper)
    this.#stopped = true
  }

  /**
   * Closes the sockets past the CONNECT timeout [MQTT-3.1.0-1], the oldest first, as the map keeps
   * them: a slice per turn, the next slice after the I/O that waited.
   */
  #sweep (): void {
    if (this.#stopped) return
    const expired = this.#now() - this.#options.connectTimeoutMs
    let closed = 0
    for (const [socket, pending] of this.#pending) {
      if (pending.since > expired) break
      if (closed === SWEEP_SLICE) {
        this.#sweeping = true
        setImmediate(() => this.#sweep())
        return
      }
      this.#settle(socket)
      this.#options.closed('connect_timeout')
      reset(socket)
      closed++
    }
    this.#sweeping = false
  }

  /** The cap a new connection would go over now, if one is reached. */
  #capReached (): 'max_connections' | 'max_pending' | undefined {
    if (this.#open + this.#elsewhere.open >= this.#options.maxConnections) return 'max_connections'
    return this.#pending.size + this.#elsewhere.pending >= this.#options.maxPending ? 'max_pending' : undefined
  }

  /** After a change of this gate's own counts: tells the watcher, and applies the caps. */
  #guardCaps (): void {
    this.#watcher?.()
    this.#applyCaps()
  }

  /**
   * Sets the guarded listeners' `maxConnections` for the counts now: each at its own socket count
   * while a cap is reached (again after each close, which lowers that count), unset once below.
   */
  #applyCaps (): void {
    const reached = this.#capReached()
    if (reached === undefined && this.#shut === undefined) return
    this.#shut = reached
    for (const server of this.#servers as Set<Server & NodeSockets>) {
      server.maxConnections = reached === undefined ? Number.POSITIVE_INFINITY : Math.max(1, server._connections)
    }
  }

  #settle (socket: Socket): void {
    const pending = this.#pending.get(socket)
    if (pending === undefined) return
    this.#pending.delete(socket)
    const left = (this.#pendingByAddress.get(pending.address) ?? 1) - 1
    if (left === 0) this.#pendingByAddress.delete(pending.address)
    else this.#pendingByAddress.set(pending.address, left)
  }
}

/**
 * Closes a socket past its CONNECT timeout with a reset: nothing was said on it that needs an
 * orderly end, and a reset leaves no half-closed socket behind in the kernel (FIN-WAIT, TIME-WAIT)
 * for each of the ~1900 a second a flood held at the cap has closed.
 */
function reset (socket: Socket): void {
  if (socket.destroyed) return
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy() // not a TCP handle (a test's stream): closed plainly
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
