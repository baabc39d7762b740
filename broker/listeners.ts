import type { Server as HttpServer } from 'node:http'
import { createServer as createNetServer, type AddressInfo, type Server } from 'node:net'
import { readFile } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTlsServer } from 'node:tls'
import type { Aedes } from 'aedes'
import { WebSocketServer, createWebSocketStream } from 'ws'
import { ConfigError } from './config-error.js'
import type { Config } from './config.js'

export interface Listener {
  readonly name: 'tcp' | 'tls' | 'ws' | 'http'
  readonly server: Server | HttpServer
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

/** The MQTT listeners: TCP always, WebSocket on /mqtt, TLS when a certificate and key are given. */
export async function startMqttListeners (broker: Aedes, config: Config): Promise<Listener[]> {
  const listeners: Listener[] = []
  const add = async (name: Listener['name'], server: Server | HttpServer, port: number, option: string): Promise<void> => {
    await listen(server, config.host, port, option)
    listeners.push({ name, server, port: () => (server.address() as AddressInfo).port })
  }
  // No Nagle: small replies (a receipt, a delivery) must not wait for the peer's delayed ACK
  // (~40 ms) behind an earlier unacknowledged segment — a latency no chat user should pay.
  await add('tcp', createNetServer({ noDelay: true }, broker.handle), config.port, '--port (LOWBAND_PORT)')
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
    const [cert, key] = await Promise.all([readPem(config.tlsCert, '--tls-cert'), readPem(config.tlsKey, '--tls-key')])
    const tls = createTlsServer({ cert, key }, broker.handle)
    tls.on('secureConnection', (socket) => socket.setNoDelay(true))
    await add('tls', tls, config.tlsPort, '--tls-port (LOWBAND_TLS_PORT)')
  }
  const http = createHttpServer((_req, res) => res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket at /mqtt\n'))
  http.on('connection', (socket) => socket.setNoDelay(true))
  await add('ws', http, config.wsPort, '--ws-port (LOWBAND_WS_PORT)')
  // Attached once listening: ws re-emits a listen error on its own emitter, where nobody waits for it.
  const wss = new WebSocketServer({ server: http, path: '/mqtt' })
  wss.on('connection', (socket) => {
    const stream = createWebSocketStream(socket)
    stream.on('error', () => stream.destroy())
    // Without the upgrade request: Aedes would keep it as `client.req` for the connection's life
    // (≈ 1.2 KiB per WebSocket device), and no hook reads it.
    broker.handle(stream)
  })
  return listeners
}

async function readPem (file: string, option: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch (error) {
    throw new ConfigError(`${option}: cannot read ${file}: ${(error as Error).message}`)
  }
}
