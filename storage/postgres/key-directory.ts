import type pg from 'pg'
import type { DeviceId, UserId } from '../../protocol/ids.js'
import type { DeviceKeyRecord, OneTimePreKey, PreKeyBundle } from '../contracts.js'
import { inTransaction } from './transaction.js'

interface DeviceKeyRow {
  device_id: string
  identity_key: Buffer
  /** bigint: pg returns it as a string. */
  signed_prekey_id: string
  signed_prekey: Buffer
  signature: Buffer
}

/**
 * The key directory in PostgreSQL (schema: migration 2). A one-time prekey is taken with
 * `DELETE … FOR UPDATE SKIP LOCKED … RETURNING`, so concurrent fetchers — on this broker or
 * another sharing the database — never get the same one.
 */
export class PostgresKeyDirectory {
  readonly #pool: pg.Pool

  constructor (pool: pg.Pool) {
    this.#pool = pool
  }

  async publishDeviceKeys (userId: UserId, record: DeviceKeyRecord, preKeys: OneTimePreKey[]): Promise<{ identityChanged: boolean, preKeys: number }> {
    return await inTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ identity_key: Buffer }>(
        'SELECT identity_key FROM device_keys WHERE user_id = $1 AND device_id = $2 FOR UPDATE', [userId, record.device])
      const stored = rows[0]?.identity_key
      const identityChanged = stored !== undefined && !stored.equals(Buffer.from(record.identityKey))
      if (identityChanged) await client.query('DELETE FROM one_time_prekeys WHERE user_id = $1 AND device_id = $2', [userId, record.device])
      await client.query(
        `INSERT INTO device_keys (user_id, device_id, identity_key, signed_prekey_id, signed_prekey, signature) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, device_id) DO UPDATE SET identity_key = EXCLUDED.identity_key, signed_prekey_id = EXCLUDED.signed_prekey_id,
           signed_prekey = EXCLUDED.signed_prekey, signature = EXCLUDED.signature`,
        [userId, record.device, Buffer.from(record.identityKey), record.signedPreKeyId, Buffer.from(record.signedPreKey), Buffer.from(record.signature)])
      if (preKeys.length > 0) {
        await client.query(
          `INSERT INTO one_time_prekeys (user_id, device_id, key_id, key)
           SELECT $1, $2, id, key FROM unnest($3::bigint[], $4::bytea[]) AS k (id, key) ON CONFLICT DO NOTHING`,
          [userId, record.device, preKeys.map((k) => k.id), preKeys.map((k) => Buffer.from(k.key))])
      }
      return { identityChanged, preKeys: await count(client, userId, record.device) }
    })
  }

  async deviceKeys (userId: UserId): Promise<DeviceKeyRecord[]> {
    const { rows } = await this.#pool.query<DeviceKeyRow>(
      'SELECT device_id, identity_key, signed_prekey_id, signed_prekey, signature FROM device_keys WHERE user_id = $1 ORDER BY device_id', [userId])
    return rows.map(toRecord)
  }

  async takeBundles (userId: UserId, except: readonly DeviceId[]): Promise<PreKeyBundle[]> {
    const bundles: PreKeyBundle[] = []
    for (const record of await this.deviceKeys(userId)) {
      if (except.includes(record.device)) continue
      const { rows } = await this.#pool.query<{ key_id: string, key: Buffer }>(
        `DELETE FROM one_time_prekeys WHERE (user_id, device_id, key_id) = (
           SELECT user_id, device_id, key_id FROM one_time_prekeys WHERE user_id = $1 AND device_id = $2
           ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING key_id, key`, [userId, record.device])
      const taken = rows[0]
      const remaining = await count(this.#pool, userId, record.device)
      bundles.push(taken === undefined ? { ...record, remaining } : { ...record, preKey: { id: Number(taken.key_id), key: new Uint8Array(taken.key) }, remaining })
    }
    return bundles
  }

  async preKeyCount (userId: UserId, deviceId: DeviceId): Promise<number> {
    return await count(this.#pool, userId, deviceId)
  }

  async addKeyWatcher (userId: UserId, watcher: UserId): Promise<void> {
    await this.#pool.query('INSERT INTO key_watchers (user_id, watcher) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, watcher])
  }

  async keyWatchers (userId: UserId): Promise<UserId[]> {
    const { rows } = await this.#pool.query<{ watcher: string }>('SELECT watcher FROM key_watchers WHERE user_id = $1 ORDER BY watcher', [userId])
    return rows.map((row) => row.watcher)
  }
}

async function count (client: pg.Pool | pg.PoolClient, userId: UserId, deviceId: DeviceId): Promise<number> {
  const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM one_time_prekeys WHERE user_id = $1 AND device_id = $2', [userId, deviceId])
  return Number(rows[0]!.n)
}

function toRecord (row: DeviceKeyRow): DeviceKeyRecord {
  return {
    device: row.device_id,
    identityKey: new Uint8Array(row.identity_key),
    signedPreKeyId: Number(row.signed_prekey_id),
    signedPreKey: new Uint8Array(row.signed_prekey),
    signature: new Uint8Array(row.signature)
  }
}
