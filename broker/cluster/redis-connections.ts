import { Redis, type RedisOptions } from 'ioredis'
import type { Logger } from 'pino'

/** How long every connection must stay up before an outage counts as over, milliseconds. */
const STABLE_MS = 1000
/** Longest pause between two reconnection attempts, milliseconds. */
const MAX_RETRY_DELAY_MS = 2000

/**
 * Reconnection with capped exponential backoff and full jitter, so nodes that lost Redis together
 * do not come back in one wave: 50 ms, 100 ms, … up to 2 s.
 */
export function retryDelay (attempt: number, random: () => number = Math.random): number {
  return Math.round(random() * Math.min(MAX_RETRY_DELAY_MS, 50 * 2 ** Math.min(attempt, 10)))
}

/**
 * The node's Redis connections and whether all of them are up. An outage is one line in the log
 * when it starts and one when it ends, not one per failed command or retry.
 */
export class RedisConnections {
  readonly #url: string
  readonly #nodeId: string
  readonly #log: Logger
  readonly #all: Redis[] = []
  #down = false
  /** Outages count from the first time every connection was up. */
  #watching = false
  #closing = false
  #recovery: NodeJS.Timeout | undefined
  readonly #onReconnect: Array<() => void> = []

  constructor (url: string, nodeId: string, log: Logger) {
    this.#url = url
    this.#nodeId = nodeId
    this.#log = log
  }

  /**
   * A new connection. `failFast`: commands fail at once while Redis is unreachable instead of
   * waiting in ioredis' offline queue (for work an acknowledgement waits on).
   */
  open (name: string, options: { failFast?: boolean, keyPrefix?: string } = {}): Redis {
    const redisOptions: RedisOptions = {
      connectionName: `lowband-${this.#nodeId}-${name}`,
      retryStrategy: (attempt) => retryDelay(attempt),
      lazyConnect: true,
      ...(options.failFast === true ? { enableOfflineQueue: false, maxRetriesPerRequest: 0 } : {}),
      ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix })
    }
    const redis = new Redis(this.#url, redisOptions)
    // Every failed attempt emits 'error'; the outage is reported by #changed instead.
    redis.on('error', () => {})
    redis.on('close', () => this.#changed())
    redis.on('ready', () => this.#changed())
    this.#all.push(redis)
    return redis
  }

  /** Connects every connection opened so far; rejects when Redis cannot be reached at start. */
  async connect (): Promise<void> {
    await Promise.all(this.#all.map((redis) => redis.status === 'wait' ? redis.connect() : undefined))
  }

  get ready (): boolean {
    return this.#all.every((redis) => redis.status === 'ready')
  }

  /** Runs `listener` each time every connection is back after an outage. */
  onReconnect (listener: () => void): void {
    this.#onReconnect.push(listener)
  }

  async close (): Promise<void> {
    this.#closing = true
    clearTimeout(this.#recovery)
    await Promise.all(this.#all.map((redis) => redis.quit().catch(() => redis.disconnect())))
  }

  /**
   * Connections come back one by one and may drop again while Redis restarts: the outage is over
   * once all have been up for STABLE_MS, so one outage is one line each way.
   */
  #changed (): void {
    if (this.#closing) return
    // Connections come up one by one at start: outages count once all of them have been up.
    if (!this.#watching) {
      this.#watching = this.ready
      return
    }
    if (!this.ready) {
      clearTimeout(this.#recovery)
      this.#recovery = undefined
      if (this.#down) return
      this.#down = true
      this.#log.error('Redis unreachable: cross-node delivery paused, group sends refused until it is back; reconnecting')
    } else if (this.#down && this.#recovery === undefined) {
      this.#recovery = setTimeout(() => {
        this.#recovery = undefined
        if (!this.ready) return
        this.#down = false
        this.#log.info('Redis reachable again')
        for (const listener of this.#onReconnect) listener()
      }, STABLE_MS)
    }
  }
}
