import type { ClassicLevel } from 'classic-level'
import type { DeviceKeyRecord, OneTimePreKey, PreKeyBundle } from '../contracts.js'
import { KeyedLock } from '../keyed-lock.js'
import type { Committer } from './committer.js'
import { keys, lastPartOfKey } from './keys.js'
import { decodeRecord, encodeRecord } from './record-codec.js'

type Op = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

/**
 * The key directory in the embedded store: a device's keys, its one-time prekeys one key each (so
 * taking one is one delete), and who fetched a user's keys. Changes to one user's keys run one at a
 * time under a per-user lock, which is what makes taking a one-time prekey atomic in this process
 * (the embedded store serves one broker process). Device keys are cached: an encrypted send reads
 * them for both of its users.
 */
export class EmbeddedKeyDirectory {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #committer: Committer
  readonly #locks = new KeyedLock()
  readonly #deviceKeys = new Map<string, DeviceKeyRecord[]>()

  constructor (db: ClassicLevel<string, Uint8Array>, committer: Committer) {
    this.#db = db
    this.#committer = committer
  }

  publishDeviceKeys (userId: string, record: DeviceKeyRecord, preKeys: OneTimePreKey[]): Promise<{ identityChanged: boolean, preKeys: number }> {
    return this.#locks.run(userId, async () => {
      const stored = (await this.deviceKeys(userId)).find((k) => k.device === record.device)
      const identityChanged = stored !== undefined && !sameBytes(stored.identityKey, record.identityKey)
      const ops: Op[] = [{ type: 'put', key: keys.deviceKeys(userId, record.device), value: encodeRecord(withoutDevice(record)) }]
      const held = new Set<string>()
      for await (const key of this.#db.keys(keys.preKeyRange(userId, record.device))) {
        if (identityChanged) ops.push({ type: 'del', key })
        else held.add(key)
      }
      for (const preKey of preKeys) {
        const key = keys.preKey(userId, record.device, preKey.id)
        if (held.has(key)) continue
        held.add(key)
        ops.push({ type: 'put', key, value: preKey.key })
      }
      await this.#committer.write(ops)
      this.#deviceKeys.delete(userId)
      return { identityChanged, preKeys: held.size }
    })
  }

  async deviceKeys (userId: string): Promise<DeviceKeyRecord[]> {
    const cached = this.#deviceKeys.get(userId)
    if (cached !== undefined) return cached
    const records: DeviceKeyRecord[] = []
    for await (const [key, value] of this.#db.iterator(keys.deviceKeysRange(userId))) {
      records.push({ device: lastPartOfKey(key), ...decodeRecord<Omit<DeviceKeyRecord, 'device'>>(value) })
    }
    this.#deviceKeys.set(userId, records)
    return records
  }

  takeBundles (userId: string, except: readonly string[]): Promise<PreKeyBundle[]> {
    return this.#locks.run(userId, async () => {
      const bundles: PreKeyBundle[] = []
      const ops: Op[] = []
      for (const record of await this.deviceKeys(userId)) {
        if (except.includes(record.device)) continue
        const held: Array<[string, Uint8Array]> = []
        for await (const entry of this.#db.iterator({ ...keys.preKeyRange(userId, record.device), limit: 1 })) held.push(entry)
        const remaining = await this.preKeyCount(userId, record.device)
        const first = held[0]
        if (first === undefined) {
          bundles.push({ ...record, remaining })
          continue
        }
        ops.push({ type: 'del', key: first[0] })
        bundles.push({ ...record, preKey: { id: Number(lastPartOfKey(first[0])), key: first[1] }, remaining: remaining - 1 })
      }
      if (ops.length > 0) await this.#committer.write(ops)
      return bundles
    })
  }

  async preKeyCount (userId: string, deviceId: string): Promise<number> {
    let count = 0
    for await (const _key of this.#db.keys(keys.preKeyRange(userId, deviceId))) count++
    return count
  }

  async addKeyWatcher (userId: string, watcher: string): Promise<void> {
    const key = keys.keyWatcher(userId, watcher)
    if (this.#db.getSync(key) === undefined) await this.#committer.write([{ type: 'put', key, value: encodeRecord(1) }])
  }

  async keyWatchers (userId: string): Promise<string[]> {
    const watchers: string[] = []
    for await (const key of this.#db.keys(keys.keyWatcherRange(userId))) watchers.push(lastPartOfKey(key))
    return watchers
  }
}

function withoutDevice (record: DeviceKeyRecord): Omit<DeviceKeyRecord, 'device'> {
  return { identityKey: record.identityKey, signedPreKeyId: record.signedPreKeyId, signedPreKey: record.signedPreKey, signature: record.signature }
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
