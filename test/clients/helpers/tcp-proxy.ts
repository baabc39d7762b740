import { connect, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/** A TCP proxy on an ephemeral port in front of the broker; cut() drops every connection at once. */
export class TcpProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()

  private constructor (server: Server) {
    this.#server = server
  }

  static async start (targetPort: number): Promise<TcpProxy> {
    const server = createServer()
    const proxy = new TcpProxy(server)
    server.on('connection', (downstream) => {
      const upstream = connect(targetPort, '127.0.0.1')
      for (const socket of [downstream, upstream]) {
        proxy.#sockets.add(socket)
        socket.on('close', () => proxy.#sockets.delete(socket))
        socket.on('error', () => { downstream.destroy(); upstream.destroy() })
      }
      downstream.pipe(upstream)
      upstream.pipe(downstream)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get url (): string {
    return `mqtt://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  /** Like a phone losing its cell: connections die without a goodbye; new ones are accepted. */
  cut (): void {
    for (const socket of this.#sockets) socket.destroy()
  }

  async stop (): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
