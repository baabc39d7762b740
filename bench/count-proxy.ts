import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

export type Direction = 'up' | 'down'

/** Bytes seen on one proxied connection: `up` is client → broker, `down` broker → client. */
export interface ByteCount { up: number, down: number }

/**
 * A TCP proxy that counts bytes: a client connects to it instead of the broker, and every byte
 * each way is counted as it crosses the socket — payload bytes of TCP, not computed packet sizes.
 * `tap` sees the same chunks, for labelling them.
 */
export class CountProxy {
  readonly count: ByteCount = { up: 0, down: 0 }
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  tap: (direction: Direction, chunk: Buffer) => void = () => undefined

  private constructor (server: Server) {
    this.#server = server
  }

  /** Listens on a free loopback port and forwards each connection to `targetPort`. */
  static start (targetPort: number): Promise<CountProxy> {
    return new Promise((resolve, reject) => {
      const server = createServer({ noDelay: true })
      const proxy = new CountProxy(server)
      server.on('connection', (client) => proxy.#pipe(client, targetPort))
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve(proxy))
    })
  }

  get port (): number {
    return (this.#server.address() as AddressInfo).port
  }

  /** The counts so far, as a copy: subtract two snapshots to count one exchange. */
  snapshot (): ByteCount {
    return { ...this.count }
  }

  close (): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }

  #pipe (client: Socket, targetPort: number): void {
    const broker = connect({ port: targetPort, host: '127.0.0.1', noDelay: true })
    this.#sockets.add(client).add(broker)
    const relay = (from: Socket, to: Socket, direction: Direction): void => {
      from.on('data', (chunk: Buffer) => {
        this.count[direction] += chunk.length
        this.tap(direction, chunk)
        to.write(chunk)
      })
      from.on('close', () => to.destroy())
      from.on('error', () => to.destroy())
    }
    relay(client, broker, 'up')
    relay(broker, client, 'down')
  }
}
