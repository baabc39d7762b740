import type { ClassicLevel } from 'classic-level'
import { LRUCache } from 'lru-cache'
import type { PushPlatform } from '../../protocol/requests.js'
import type { PushToken } from '../contracts.js'
import { KeyedLock } from '../keyed-lock.js'
import type { Committer } from './committer.js'
import { keys, lastPartOfKey } from './keys.js'
import { decodeRecord, encodeRecord } from './record-codec.js'

interface TokenRecord { token: string, platform: PushPlatform }
interface OwnerRecord { userId: string, deviceId: string }

/** Users whose tokens are kept in memory: a few hundred bytes each. */
const CACHED_USERS = 20_000

/**
 * Push tokens in the embedded store: each device's token, and the index from a token to its device,
 * written together so a token is never held by two devices. Every change goes through here, so the
 * users' token lists kept in memory are exact: a phone that registered its token since start costs
 * its first push no read (the push load run's thousand cold token reads were a thousand trips
 * through the store's thread pool beside the writes PUBACKs wait for; docs/BENCH.md).
 */
export class EmbeddedPushTokens {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #committer: Committer
  /** Every change reads, then writes two keys: changes run one at a time so two cannot interleave. */
  readonly #lock = new KeyedLock()
  /** user → its tokens by device id, in key order; absent when not known. */
  readonly #cached = new LRUCache<string, PushToken[]>({ max: CACHED_USERS })
  /** Counts changes: a read that saw one happen while it ran keeps its answer out of the cache. */
  #changes = 0

  constructor (db: ClassicLevel<string, Uint8Array>, committer: Committer) {
    this.#db = db
    this.#committer = committer
  }

  register (userId: string, deviceId: string, token: string, platform: PushPlatform): Promise<void> {
    return this.#lock.run('tokens', async () => {
      const own = await this.#tokensOf(userId)
      const previous = own.find((t) => t.deviceId === deviceId)
      const holder = await this.#read<OwnerRecord>(keys.pushTokenOwner(token))
      const moved = holder !== undefined && (holder.userId !== userId || holder.deviceId !== deviceId) ? holder : undefined
      await this.#change([
        ...(previous !== undefined && previous.token !== token ? [{ type: 'del' as const, key: keys.pushTokenOwner(previous.token) }] : []),
        ...(moved !== undefined ? [{ type: 'del' as const, key: keys.pushToken(moved.userId, moved.deviceId) }] : []),
        { type: 'put', key: keys.pushToken(userId, deviceId), value: encodeRecord({ token, platform } satisfies TokenRecord) },
        { type: 'put', key: keys.pushTokenOwner(token), value: encodeRecord({ userId, deviceId } satisfies OwnerRecord) }
      ], () => {
        if (moved !== undefined && moved.userId !== userId) this.#without(moved.userId, moved.deviceId)
        const others = own.filter((t) => t.deviceId !== deviceId && !(moved?.userId === userId && t.deviceId === moved.deviceId))
        this.#cached.set(userId, [...others, { deviceId, token, platform }].sort(byDevice))
      })
    })
  }

  unregister (userId: string, deviceId: string): Promise<void> {
    return this.#lock.run('tokens', async () => {
      const previous = await this.#read<TokenRecord>(keys.pushToken(userId, deviceId))
      if (previous === undefined) return
      await this.#change([{ type: 'del', key: keys.pushToken(userId, deviceId) }, { type: 'del', key: keys.pushTokenOwner(previous.token) }], () => this.#without(userId, deviceId))
    })
  }

  of (userId: string): Promise<PushToken[]> {
    const cached = this.#cached.get(userId)
    return cached !== undefined ? Promise.resolve([...cached]) : this.#tokensOf(userId).then((tokens) => [...tokens])
  }

  remove (token: string): Promise<string | undefined> {
    return this.#lock.run('tokens', async () => {
      const holder = await this.#read<OwnerRecord>(keys.pushTokenOwner(token))
      if (holder === undefined) return undefined
      await this.#change([{ type: 'del', key: keys.pushToken(holder.userId, holder.deviceId) }, { type: 'del', key: keys.pushTokenOwner(token) }], () => this.#without(holder.userId, holder.deviceId))
      return holder.userId
    })
  }

  /** After the store was reopened: a write that failed may still have reached the log. */
  forgetCached (): void {
    this.#changes++
    this.#cached.clear()
  }

  /** A user's tokens, from memory or read and kept (the cached array is never changed, only replaced). */
  async #tokensOf (userId: string): Promise<PushToken[]> {
    const cached = this.#cached.get(userId)
    if (cached !== undefined) return cached
    const changes = this.#changes
    const tokens: PushToken[] = []
    // all(): one trip through the store's thread pool for the range (a for-await loop makes two: the
    // first entry, then the rest) — it reads a user's few devices, behind the writes PUBACKs wait for.
    for (const [key, value] of await this.#db.iterator(keys.pushTokenRange(userId)).all()) {
      const { token, platform } = decodeRecord<TokenRecord>(value)
      tokens.push({ deviceId: lastPartOfKey(key), token, platform })
    }
    if (changes === this.#changes) this.#cached.set(userId, tokens)
    return tokens
  }

  /** Writes `ops`; then `cached` brings the lists in memory up to date. A failed write forgets them all. */
  async #change (ops: Parameters<Committer['write']>[0], cached: () => void): Promise<void> {
    this.#changes++
    try {
      await this.#committer.write(ops)
    } catch (error) {
      this.forgetCached()
      throw error
    }
    this.#changes++
    cached()
  }

  #without (userId: string, deviceId: string): void {
    const cached = this.#cached.get(userId)
    if (cached !== undefined) this.#cached.set(userId, cached.filter((t) => t.deviceId !== deviceId))
  }

  async #read<T> (key: string): Promise<T | undefined> {
    const bytes = await this.#db.get(key)
    return bytes === undefined ? undefined : decodeRecord<T>(bytes)
  }
}

const byDevice = (a: PushToken, b: PushToken): number => a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0
