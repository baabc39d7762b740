import type { ClassicLevel } from 'classic-level'
import type { PushPlatform } from '../../protocol/requests.js'
import type { PushToken } from '../contracts.js'
import { KeyedLock } from '../keyed-lock.js'
import type { Committer } from './committer.js'
import { keys, lastPartOfKey } from './keys.js'
import { decodeRecord, encodeRecord } from './record-codec.js'

interface TokenRecord { token: string, platform: PushPlatform }
interface OwnerRecord { userId: string, deviceId: string }

/**
 * Push tokens in the embedded store: each device's token, and the index from a token to its device,
 * written together so a token is never held by two devices.
 */
export class EmbeddedPushTokens {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #committer: Committer
  /** Every change reads, then writes two keys: changes run one at a time so two cannot interleave. */
  readonly #lock = new KeyedLock()

  constructor (db: ClassicLevel<string, Uint8Array>, committer: Committer) {
    this.#db = db
    this.#committer = committer
  }

  register (userId: string, deviceId: string, token: string, platform: PushPlatform): Promise<void> {
    return this.#lock.run('tokens', async () => {
      const previous = await this.#read<TokenRecord>(keys.pushToken(userId, deviceId))
      const holder = await this.#read<OwnerRecord>(keys.pushTokenOwner(token))
      await this.#committer.write([
        ...(previous !== undefined && previous.token !== token ? [{ type: 'del' as const, key: keys.pushTokenOwner(previous.token) }] : []),
        ...(holder !== undefined && (holder.userId !== userId || holder.deviceId !== deviceId) ? [{ type: 'del' as const, key: keys.pushToken(holder.userId, holder.deviceId) }] : []),
        { type: 'put', key: keys.pushToken(userId, deviceId), value: encodeRecord({ token, platform } satisfies TokenRecord) },
        { type: 'put', key: keys.pushTokenOwner(token), value: encodeRecord({ userId, deviceId } satisfies OwnerRecord) }
      ])
    })
  }

  unregister (userId: string, deviceId: string): Promise<void> {
    return this.#lock.run('tokens', async () => {
      const previous = await this.#read<TokenRecord>(keys.pushToken(userId, deviceId))
      if (previous === undefined) return
      await this.#committer.write([{ type: 'del', key: keys.pushToken(userId, deviceId) }, { type: 'del', key: keys.pushTokenOwner(previous.token) }])
    })
  }

  async of (userId: string): Promise<PushToken[]> {
    const tokens: PushToken[] = []
    // all(): one trip through the store's thread pool for the range (a for-await loop makes two: the
    // first entry, then the rest) — it reads a user's few devices, behind the writes PUBACKs wait for.
    for (const [key, value] of await this.#db.iterator(keys.pushTokenRange(userId)).all()) {
      const { token, platform } = decodeRecord<TokenRecord>(value)
      tokens.push({ deviceId: lastPartOfKey(key), token, platform })
    }
    return tokens
  }

  remove (token: string): Promise<string | undefined> {
    return this.#lock.run('tokens', async () => {
      const holder = await this.#read<OwnerRecord>(keys.pushTokenOwner(token))
      if (holder === undefined) return undefined
      await this.#committer.write([{ type: 'del', key: keys.pushToken(holder.userId, holder.deviceId) }, { type: 'del', key: keys.pushTokenOwner(token) }])
      return holder.userId
    })
  }

  async #read<T> (key: string): Promise<T | undefined> {
    const bytes = await this.#db.get(key)
    return bytes === undefined ? undefined : decodeRecord<T>(bytes)
  }
}
