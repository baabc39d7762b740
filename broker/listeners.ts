import type { Server as HttpServer } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { readFile } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTlsServer } from 'node:tls'
import type { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { ConfigError } from './config-error.js'
import { allowFastOpen } from './fast-open.js'
import type { Config } from './config.js'
import type { AcceptProcess } from './accept-process.js'
import type { ConnectionGate, RefusalReason } from './connection-gate.js'

/**
 * TCP keepalive on every MQTT socket: probes after this long idle, ms (then every 1 s, 10 times:
 * libuv's fixed interval and count). A phone that vanished without a FIN while idle is found
 * within ~70 s even when its MQTT keepalive is longer; a peer that stops acknowledging data is the
 * host's `net.ipv4.tcp_retries2` (README, "TCP settings for mobile links").
 */
const TCP_KEEPALIVE_IDLE_MS = 60_000
const SOCKET_OPTIONS = { noDelay: true, keepAlive: true, keepAliveInitialDelay: TCP_KEEPALIVE_IDLE_MS }

export interface Listener {
  readonly name: 'tcp' | 'tls' | 'ws' | 'http'
  readonly server: Server | HttpServer
  /** The option that sets its port, for an error that names it. */
  readonly option: string
  port (): number
}

/** Starts listening; a busy or forbidden port is a ConfigError naming the option that changes it. */
export function listen (server: Server | HttpServer, host: string, port: number, option: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.removeListener('listening', onListening)
      const why = error.code === 'EADDRINUSE' ? 'is in use' : error.code === 'EACCES' ? 'needs privileges' : `cannot be used (${error.code ?? error.message})`
      reject(new ConfigError(`port ${port} on ${host} ${why}: choose another with ${option}`))
    }
    const onListening = (): void => {
      server.removeListener('error', onError)
      resolve()
    }
    server.once('error', onError)
    server.once('listening', onListening)
    server.listen(port, host)
  })
}

/** What the MQTT listeners tell the broker of the accept process (broker/accept-process.ts). */
export interface AcceptEvents {
  /** Sockets the accept process refused or timed out. */
  closed (reason: RefusalReason, count: number): void
  /** The accept process is gone; the broker listens on the same ports itself once `reopened`. */
  lost (code: number | null, signal: NodeJS.Signals | null, reopened: Promise<void>): void
}

export interface MqttListeners {
  readonly listeners: readonly Listener[]
  /** Sockets held by the accept process now (accepted, no bytes yet), 0 without one. */
  pending (): number
  /** Brings `pending` and the accept process's refusals (`AcceptEvents.closed`) up to date. */
  report (): Promise<void>
  /** Stops accepting (connections already open stay open). */
  close (): Promise<void>
}

/**
 * The MQTT listeners: TCP always, WebSocket on /mqtt, TLS when a certificate and key are given.
 * Every accepted socket passes the gate first (the TCP under TLS and WebSocket too), so a flood
 * is turned away before it costs a TLS handshake, an HTTP parser or an Aedes client; while a cap is
 * reached, before it costs a Socket (the gate's `guard`). With an accept process (unless
 * `--no-accept-process`), the sockets are accepted there, and it gives the broker each one with its
 * first bytes; should that process end, the broker accepts on the same ports itself.
 */
export async function startMqttListeners (broker: Aedes, config: Config, gate: ConnectionGate, accept: AcceptProcess | undefined, events: AcceptEvents): Promise<MqttListeners> {
  const listeners: Listener[] = []
  const handOver = gate.handOver(broker)
  /** How long before its hand-over each socket from the accept process was accepted, ms. */
  const waited = new WeakMap<Socket, number>()
  const admit = (socket: Socket): boolean => gate.admit(socket, waited.get(socket))
  const servers = new Map<string, Server | HttpServer>()
  /** Binds an MQTT listener's port, taking a reconnecting phone's CONNECT in its SYN (broker/fast-open.ts). */
  const bind = async (server: Server | HttpServer, port: number, option: string): Promise<void> => {
    await listen(server, config.host, port, option)
    allowFastOpen(server)
  }
  /** Accepting in this process, behind the gate. */
  const listenHere = async (server: Server | HttpServer, port: number, option: string): Promise<void> => {
    gate.guard(server)
    await bind(server, port, option)
  }
  /** A socket accepted by another server than its listener's own (the accept process, or a door). */
  const arrive = (server: Server | HttpServer, socket: Socket, waitedMs: number): void => {
    // What a listener's own accept sets from its options.
    socket.setNoDelay(true)
    socket.setKeepAlive(true, TCP_KEEPALIVE_IDLE_MS)
    waited.set(socket, waitedMs)
    server.emit('connection', socket)
  }
  accept?.bind({
    arrived (listener, socket, waitedMs) {
      const server = servers.get(listener)
      if (server === undefined) socket.destroy()
      else arrive(server, socket, waitedMs)
    },
    closed: events.closed,
    held: (pending) => gate.elsewhere({ open: pending, pending }),
    lost (code, signal) {
      gate.elsewhere({ open: 0, pending: 0 })
      events.lost(code, signal, Promise.all(listeners.map((l) => listenHere(l.server, l.port(), l.option))).then(() => undefined))
    }
  })
  // The two processes share the caps: each tells the other what it holds.
  if (accept !== undefined) gate.watch(() => accept.tell({ open: gate.open, pending: gate.pending }))
  const add = async (name: Listener['name'], server: Server | HttpServer, port: number, option: string): Promise<void> => {
    servers.set(name, server)
    if (accept === undefined) {
      await listenHere(server, port, option)
      listeners.push({ name, server, option, port: () => (server.address() as AddressInfo).port })
      return
    }
    // Bound here, so a busy port is this process's ConfigError; then accepted on in the other.
    // A connection accepted here before the hand-over is this listener's like any other.
    const door = createNetServer((socket) => arrive(server, socket, 0))
    await bind(door, port, option)
    const bound = (door.address() as AddressInfo).port
    await accept.take(name, door)
    listeners.push({ name, server, option, port: () => bound })
  }
  try {
    // No Nagle: small replies (a receipt, a delivery) must not wait for the peer's delayed ACK
    // (~40 ms) behind an earlier unacknowledged segment — a latency no chat user should pay.
    await add('tcp', createNetServer(SOCKET_OPTIONS, (socket) => { if (admit(socket)) handOver(socket, socket) }), config.port, '--port (LOWBAND_PORT)')
    if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
      const [cert, key] = await Promise.all([readPem(config.tlsCert, '--tls-cert'), readPem(config.tlsKey, '--tls-key')])
      // The gate's timeout covers the handshake; TLS's own (120 s) would outlast it.
      const tls = createTlsServer({ ...SOCKET_OPTIONS, cert, key, handshakeTimeout: config.connectTimeout * 1000 })
      // The TLS socket is announced apart from the TCP socket under it: they share their remote end.
      const handshaking = new Map<string, Socket>()
      const endpoint = (socket: Socket): string => `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`
      tls.on('connection', (socket: Socket) => {
        if (!admit(socket)) return
        const key = endpoint(socket)
        handshaking.set(key, socket)
        socket.on('close', () => { if (handshaking.get(key) === socket) handshaking.delete(key) })
      })
      tls.on('secureConnection', (secure) => {
        secure.setNoDelay(true)
        const key = endpoint(secure)
        const socket = handshaking.get(key)
        handshaking.delete(key)
        if (socket === undefined) secure.destroy()
        else handOver(secure, socket)
      })
      await add('tls', tls, config.tlsPort, '--tls-port (LOWBAND_TLS_PORT)')
    }
    const http = createHttpServer(SOCKET_OPTIONS, (_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket at /mqtt\n'))
    http.on('connection', (socket: Socket) => { if (admit(socket)) socket.setNoDelay(true) })
    await add('ws', http, config.wsPort, '--ws-port (LOWBAND_WS_PORT)')
    // Attached once listening: ws re-emits a listen error on its own emitter, where nobody waits for it.
    const wss = new WebSocketServer({ server: http, path: '/mqtt', handleProtocols: mqttSubprotocol })
    wss.on('connection', (socket, request) => {
      // Registered before the stream's own listener, so a text frame's bytes never reach the parser.
      socket.on('message', (_data, isBinary) => { if (!isBinary) stream.destroy() }) // [MQTT-6.0.0-1]
      const stream = createWebSocketStream(socket)
      stream.on('error', () => stream.destroy())
      // Without the upgrade request: Aedes would keep it as `client.req` for the connection's life
      // (≈ 1.2 KiB per WebSocket device), and no hook reads it.
      handOver(stream, request.socket as Socket)
    })
  } catch (error) {
    for (const l of listeners) l.server.close()
    await accept?.close()
    throw error
  }
  return {
    listeners,
    pending: () => accept?.pending ?? 0,
    report: async () => await accept?.report(),
    async close () {
      await accept?.close()
      for (const l of listeners) l.server.close()
    }
  }
}

/**
 * The subprotocol chosen is "mqtt" whenever the client offers it [MQTT-6.0.0-4], whatever it offers
 * first; "mqttv3.1" for MQTT 3.1 clients that offer only that (as Mosquitto does). A client that
 * offers neither gets no subprotocol, which fails its handshake.
 */
function mqttSubprotocol (offered: Set<string>): string | false {
  if (offered.has('mqtt')) return 'mqtt'
  return offered.has('mqttv3.1') ? 'mqttv3.1' : false
}

async function readPem (file: string, option: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${file}: ${(error as Error).message}`)
  }
}
