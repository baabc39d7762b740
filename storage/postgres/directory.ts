import { LRUCache } from 'lru-cache'
import type pg from 'pg'
import type { DeviceId, UserId } from '../../protocol/ids.js'
import type { PushPlatform } from '../../protocol/requests.js'
import type { DeviceKeyRecord, Directory, Group, OneTimePreKey, PreKeyBundle, PresencePrivacy, PushToken } from '../contracts.js'
import { PostgresKeyDirectory } from './key-directory.js'
import { PostgresPushTokens } from './push-tokens.js'
import { inTransaction } from './transaction.js'

interface GroupRow {
  id: string
  name: string
  created_by: string
  /** bigint: pg returns it as a string so no precision is lost on the way. */
  created: string
  admins: string[]
  members: string[]
}

/** Users known to exist, remembered: a 1:1 send checks its recipient (one query of a message's four). */
const KNOWN_USERS = 100_000

/**
 * The directory in PostgreSQL (schema in migrations.ts). Nothing that can change is cached: several
 * brokers may share the database, and a cached privacy setting or group would go stale behind
 * another one. Only that a user exists is remembered — users are never removed.
 */
export class PostgresDirectory implements Directory {
  readonly #pool: pg.Pool
  readonly #pushTokens: PostgresPushTokens
  readonly #keys: PostgresKeyDirectory
  readonly #known = new LRUCache<UserId, true>({ max: KNOWN_USERS })

  constructor (pool: pg.Pool) {
    this.#pool = pool
    this.#pushTokens = new PostgresPushTokens(pool)
    this.#keys = new PostgresKeyDirectory(pool)
  }

  publishDeviceKeys (userId: UserId, keys: DeviceKeyRecord, preKeys: OneTimePreKey[]): Promise<{ identityChanged: boolean, preKeys: number }> {
    return this.#keys.publishDeviceKeys(userId, keys, preKeys)
  }

  deviceKeys (userId: UserId): Promise<DeviceKeyRecord[]> { return this.#keys.deviceKeys(userId) }
  takeBundles (userId: UserId, except: readonly DeviceId[]): Promise<PreKeyBundle[]> { return this.#keys.takeBundles(userId, except) }
  preKeyCount (userId: UserId, deviceId: DeviceId): Promise<number> { return this.#keys.preKeyCount(userId, deviceId) }
  addKeyWatcher (userId: UserId, watcher: UserId): Promise<void> { return this.#keys.addKeyWatcher(userId, watcher) }
  keyWatchers (userId: UserId): Promise<UserId[]> { return this.#keys.keyWatchers(userId) }

  async registerUser (userId: UserId): Promise<void> {
    await this.#pool.query('INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', [userId])
  }

  async hasUser (userId: UserId): Promise<boolean> {
    if (this.#known.has(userId)) return true
    const { rowCount } = await this.#pool.query('SELECT 1 FROM users WHERE id = $1', [userId])
    const known = rowCount !== null && rowCount > 0
    if (known) this.#known.set(userId, true)
    return known
  }

  async registerDevice (userId: UserId, deviceId: DeviceId): Promise<void> {
    await this.#pool.query('INSERT INTO devices (user_id, device_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, deviceId])
  }

  async devicesOf (userId: UserId): Promise<DeviceId[]> {
    const { rows } = await this.#pool.query<{ device_id: string }>('SELECT device_id FROM devices WHERE user_id = $1 ORDER BY device_id', [userId])
    return rows.map((row) => row.device_id)
  }

  async setPresencePrivacy (userId: UserId, privacy: PresencePrivacy): Promise<void> {
    // An upsert: presence may be set for a user this database has not seen register yet.
    await this.#pool.query(
      'INSERT INTO users (id, presence_privacy) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET presence_privacy = EXCLUDED.presence_privacy',
      [userId, privacy])
  }

  async presencePrivacy (userId: UserId): Promise<PresencePrivacy> {
    const { rows } = await this.#pool.query<{ presence_privacy: number }>('SELECT presence_privacy FROM users WHERE id = $1', [userId])
    return asPresencePrivacy(rows[0]?.presence_privacy ?? 0)
  }

  async addContact (userId: UserId, contact: UserId): Promise<void> {
    await this.#pool.query('INSERT INTO contacts (user_id, contact) VALUES ($1, $2) ON CONFLICT DO NOTHING', [userId, contact])
  }

  async removeContact (userId: UserId, contact: UserId): Promise<void> {
    await this.#pool.query('DELETE FROM contacts WHERE user_id = $1 AND contact = $2', [userId, contact])
  }

  async hasContact (userId: UserId, contact: UserId): Promise<boolean> {
    const { rowCount } = await this.#pool.query('SELECT 1 FROM contacts WHERE user_id = $1 AND contact = $2', [userId, contact])
    return rowCount !== null && rowCount > 0
  }

  async setLastSeen (userId: UserId, ts: number): Promise<void> {
    await this.#pool.query(
      'INSERT INTO users (id, last_seen) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen',
      [userId, ts])
  }

  async lastSeen (userId: UserId): Promise<number | undefined> {
    const { rows } = await this.#pool.query<{ last_seen: string | null }>('SELECT last_seen FROM users WHERE id = $1', [userId])
    const lastSeen = rows[0]?.last_seen
    return lastSeen === undefined || lastSeen === null ? undefined : Number(lastSeen)
  }

  async createGroup (group: Group): Promise<boolean> {
    return await inTransaction(this.#pool, async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO groups (id, name, created_by, created, admins, members) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO NOTHING`,
        [group.id, group.name, group.createdBy, group.created, group.admins, group.members])
      if (rowCount !== 1) return false
      await indexMembers(client, group)
      return true
    })
  }

  async group (groupId: string): Promise<Group | undefined> {
    const { rows } = await this.#pool.query<GroupRow>('SELECT id, name, created_by, created, admins, members FROM groups WHERE id = $1', [groupId])
    const row = rows[0]
    if (row === undefined) return undefined
    return { id: row.id, name: row.name, createdBy: row.created_by, created: Number(row.created), admins: row.admins, members: row.members }
  }

  async saveGroup (group: Group): Promise<void> {
    await inTransaction(this.#pool, async (client) => {
      // Creates the group when it is missing, as the embedded adapter does, rather than losing the save.
      await client.query(
        `INSERT INTO groups (id, name, created_by, created, admins, members) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, admins = EXCLUDED.admins, members = EXCLUDED.members`,
        [group.id, group.name, group.createdBy, group.created, group.admins, group.members])
      await client.query('DELETE FROM group_members WHERE group_id = $1 AND user_id <> ALL($2::text[])', [group.id, group.members])
      await indexMembers(client, group)
    })
  }

  async groupsOf (userId: UserId): Promise<string[]> {
    const { rows } = await this.#pool.query<{ group_id: string }>('SELECT group_id FROM group_members WHERE user_id = $1 ORDER BY group_id', [userId])
    return rows.map((row) => row.group_id)
  }

  registerPushToken (userId: UserId, deviceId: DeviceId, token: string, platform: PushPlatform): Promise<void> {
    return this.#pushTokens.register(userId, deviceId, token, platform)
  }

  unregisterPushToken (userId: UserId, deviceId: DeviceId): Promise<void> {
    return this.#pushTokens.unregister(userId, deviceId)
  }

  pushTokensOf (userId: UserId): Promise<PushToken[]> {
    return this.#pushTokens.of(userId)
  }

  removePushToken (token: string): Promise<UserId | undefined> {
    return this.#pushTokens.remove(token)
  }
}

/** Adds the group's members to the member index (one statement, however large the group). */
async function indexMembers (client: pg.PoolClient, group: Group): Promise<void> {
  await client.query(
    'INSERT INTO group_members (group_id, user_id) SELECT $1, member FROM unnest($2::text[]) AS member ON CONFLICT DO NOTHING',
    [group.id, group.members])
}

/** The schema's CHECK keeps the column to 0..2; this tells the type system so. */
function asPresencePrivacy (value: number): PresencePrivacy {
  if (value === 0 || value === 1 || value === 2) return value
  throw new Error(`users.presence_privacy holds ${value}, outside 0..2`)
}
