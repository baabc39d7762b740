import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'

/**
 * A TCP proxy in front of the S3 server, to break what a phone's link or a datacenter breaks:
 * `down` refuses every connection (storage unreachable), `cutAfter` drops the connection carrying
 * the n-th byte from now (a phone losing its cell in the middle of an upload).
 */
export class StorageProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #down = false
  #cutAt: number | undefined
  #forwarded = 0

  private constructor (server: Server) {
    this.#server = server
  }

  static async start (target: string): Promise<StorageProxy> {
    const { hostname, port } = new URL(target)
    const server = createServer()
    const proxy = new StorageProxy(server)
    server.on('connection', (downstream) => {
      if (proxy.#down) return downstream.destroy()
      const upstream = connect(Number(port), hostname)
      for (const socket of [downstream, upstream]) {
        proxy.#sockets.add(socket)
        socket.on('close', () => proxy.#sockets.delete(socket))
        socket.on('error', () => { downstream.destroy(); upstream.destroy() })
      }
      downstream.on('data', (chunk: Buffer) => {
        proxy.#forwarded += chunk.length
        if (proxy.#cutAt !== undefined && proxy.#forwarded >= proxy.#cutAt) {
          proxy.#cutAt = undefined
          downstream.destroy()
          upstream.destroy()
          return
        }
        if (!upstream.write(chunk)) downstream.pause()
      })
      upstream.on('drain', () => downstream.resume())
      downstream.on('end', () => upstream.end())
      upstream.pipe(downstream)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return proxy
  }

  get url (): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  /** Down: every open connection dies and new ones are refused. */
  set down (down: boolean) {
    this.#down = down
    if (down) for (const socket of this.#sockets) socket.destroy()
  }

  /** Drops the connection that carries the `bytes`-th byte (device → storage) from now on; once. */
  cutAfter (bytes: number): void {
    this.#cutAt = this.#forwarded + bytes
  }

  async stop (): Promise<void> {
    this.down = true
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
