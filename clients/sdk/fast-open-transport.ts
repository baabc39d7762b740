import { lookup } from 'node:dns/promises'
import { Socket } from 'node:net'
import { fastOpen, type FastOpen } from '../../native/fast-open.js'
import { mqttTransportFactory, type DialedSocket, type Dialer, type MqttTlsOptions } from './mqtt-transport.js'
import type { TransportFactory } from './transport.js'

/** How often a Fast Open socket's TCP state is read until its handshake is done, ms. */
const HANDSHAKE_POLL_MS = 10

/**
 * The mqtt.js transport, with mqtt:// connections opened over TCP Fast Open (RFC 7413) where the
 * build has native/fast-open (Linux; Node only, hence not in index.ts, which browsers bundle):
 * after a first connection to the broker's address has given the kernel a cookie, every
 * reconnect's CONNECT (and the resume request pipelined behind it) rides in its SYN, and the
 * CONNACK with the backlog behind it arrives one round trip after the reconnect, not two. The
 * broker must accept it (lowband sets TCP_FASTOPEN on its listeners; the host needs
 * net.ipv4.tcp_fastopen=3, README "TCP settings for mobile links"). Elsewhere it is
 * mqttTransportFactory: mqtts://, ws://, wss://, a name with no IPv4 address, a build without the helper.
 */
export function fastOpenTransportFactory (tls: MqttTlsOptions = {}): TransportFactory {
  return mqttTransportFactory(tls, fastOpenDialer())
}

/** Opens mqtt:// connections over TCP Fast Open; undefined where the helper is not built. */
export function fastOpenDialer (): Dialer | undefined {
  const tfo = fastOpen()
  return tfo === undefined ? undefined : (host, port) => dial(tfo, host, port)
}

async function dial (tfo: FastOpen, host: string, port: number): Promise<DialedSocket | undefined> {
  const address = await lookup(host, { family: 4 }).catch(() => undefined)
  if (address === undefined) return undefined
  const fd = tfo.connect(address.address, port)
  const stream = new Socket({ fd, readable: true, writable: true })
  let established = false
  // A refused or unreachable handshake surfaces from the first write or read: named as net.connect
  // names it (connect ECONNREFUSED 10.0.0.1:1883), which is what users and the CLI see.
  stream.prependListener('error', (error: NodeJS.ErrnoException & { address?: string, port?: number }) => {
    if (established || error.code === undefined) return
    Object.assign(error, { message: `connect ${error.code} ${address.address}:${port}`, syscall: 'connect', address: address.address, port })
  })
  return {
    stream,
    onEstablished: (listener) => watchHandshake(tfo, fd, stream, () => {
      established = true
      listener()
    })
  }
}

/**
 * Node counts a socket made from a descriptor as connected at once and never says 'connect'; the
 * SDK's silent-attempt bound (connection.ts) needs to know when the SYN was answered.
 */
function watchHandshake (tfo: FastOpen, fd: number, stream: Socket, listener: () => void): void {
  const poll = (): void => {
    if (stream.destroyed) return
    let established: boolean
    try {
      established = tfo.established(fd)
    } catch {
      return
    }
    if (established) listener()
    else setTimeout(poll, HANDSHAKE_POLL_MS).unref()
  }
  poll()
}
