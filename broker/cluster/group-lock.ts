import { randomBytes } from 'node:crypto'
import type { Redis } from 'ioredis'
import { KeyedLock } from '../../storage/keyed-lock.js'
import { RetriableError } from '../../storage/retriable.js'

/** How long a lock is held at most if its node dies holding it, ms: longer than any store write. */
const LEASE_MS = 10_000
/** How long a send waits for a group's lock before it fails (the device resends), ms. */
const WAIT_MS = 5_000

/** Deletes the lock only if this holder still has it (its lease may have run out meanwhile). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

/**
 * The per-group order across nodes: sends and membership changes of one group run one at a time
 * whichever node they arrive on, so each message is stored for exactly the members of its moment.
 * Within a node the KeyedLock queues them (no Redis round trip spent on contention here); across
 * nodes a Redis lease (SET NX PX) admits one node at a time. While Redis is unreachable the lease
 * cannot be taken: the send fails and its device gets no PUBACK, and resends.
 * Sequence numbers themselves are allocated by the message store, in the insert's transaction.
 */
export class GroupLock {
  readonly #local = new KeyedLock()
  readonly #redis: Redis
  readonly #keyOf: (groupId: string) => string
  readonly #sleep: (ms: number) => Promise<void>

  constructor (redis: Redis, keyOf: (groupId: string) => string, sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))) {
    this.#redis = redis
    this.#keyOf = keyOf
    this.#sleep = sleep
  }

  run<T> (groupId: string, task: () => Promise<T>): Promise<T> {
    return this.#local.run(groupId, async () => {
      const key = this.#keyOf(groupId)
      const token = randomBytes(8).toString('hex')
      await this.#acquire(key, token)
      try {
        return await task()
      } finally {
        await this.#redis.eval(RELEASE, 1, key, token).catch(() => { /* the lease runs out by itself */ })
      }
    })
  }

  async #acquire (key: string, token: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      const taken = await this.#redis.set(key, token, 'PX', LEASE_MS, 'NX').catch(() => {
        // The outage itself is logged once (RedisConnections); this send is resent after it.
        throw new RetriableError('group order unavailable: Redis unreachable')
      })
      if (taken === 'OK') return
      if (Date.now() > deadline) throw new RetriableError(`group ${key} stayed locked by another node for ${WAIT_MS} ms`)
      await this.#sleep(pause)
    }
  }
}
