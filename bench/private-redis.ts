import { freePort, spawnLimited, waitForPort, type Spawned } from './proc.js'

/** A redis-server of the bench's own on a free loopback port (nothing persisted), so its CPU is the cluster's alone. */
export class PrivateRedis {
  readonly url: string
  readonly #spawned: Spawned

  private constructor (port: number, spawned: Spawned) {
    this.url = `redis://127.0.0.1:${port}`
    this.#spawned = spawned
  }

  get pid (): number {
    return this.#spawned.pid
  }

  static async start (): Promise<PrivateRedis> {
    const port = await freePort()
    const spawned = spawnLimited('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'])
    try {
      await waitForPort(port)
    } catch (error) {
      await spawned.stop()
      throw new Error(`redis-server did not start (apt-get install redis-server): ${(error as Error).message}: ${spawned.output()}`)
    }
    return new PrivateRedis(port, spawned)
  }

  async stop (): Promise<void> {
    await this.#spawned.stop()
  }
}
