import type pg from 'pg'
import type { DeviceId, UserId } from '../../protocol/ids.js'
import { PUSH_PLATFORMS, type PushPlatform } from '../../protocol/requests.js'
import type { PushToken } from '../contracts.js'
import { inTransaction } from './transaction.js'

/** Push tokens in PostgreSQL (table push_tokens, migration 2): one per device, one device per token. */
export class PostgresPushTokens {
  readonly #pool: pg.Pool

  constructor (pool: pg.Pool) {
    this.#pool = pool
  }

  async register (userId: UserId, deviceId: DeviceId, token: string, platform: PushPlatform): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      // The token leaves whichever other device held it, then the device's row takes it.
      await client.query('DELETE FROM push_tokens WHERE token = $1 AND (user_id, device_id) <> ($2, $3)', [token, userId, deviceId])
      await client.query(
        `INSERT INTO push_tokens (user_id, device_id, token, platform) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, device_id) DO UPDATE SET token = EXCLUDED.token, platform = EXCLUDED.platform, updated = now()`,
        [userId, deviceId, token, platform])
    })
  }

  async unregister (userId: UserId, deviceId: DeviceId): Promise<void> {
    await this.#pool.query('DELETE FROM push_tokens WHERE user_id = $1 AND device_id = $2', [userId, deviceId])
  }

  async of (userId: UserId): Promise<PushToken[]> {
    const { rows } = await this.#pool.query<{ device_id: string, token: string, platform: string }>(
      'SELECT device_id, token, platform FROM push_tokens WHERE user_id = $1 ORDER BY device_id', [userId])
    return rows.map((row) => ({ deviceId: row.device_id, token: row.token, platform: asPlatform(row.platform) }))
  }

  async remove (token: string): Promise<UserId | undefined> {
    const { rows } = await this.#pool.query<{ user_id: string }>('DELETE FROM push_tokens WHERE token = $1 RETURNING user_id', [token])
    return rows[0]?.user_id
  }
}

/** The schema's CHECK keeps the column to the three platforms; this tells the type system so. */
function asPlatform (value: string): PushPlatform {
  const platform = PUSH_PLATFORMS.find((p) => p === value)
  if (platform === undefined) throw new Error(`push_tokens.platform holds ${value}`)
  return platform
}
