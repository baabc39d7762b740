import type { ClassicLevel } from 'classic-level'
import type { PushPlatform } from '../../protocol/requests.js'
import type { DeviceKeyRecord, Directory, Group, OneTimePreKey, PreKeyBundle, PresencePrivacy, PushToken } from '../contracts.js'
import type { Committer } from './committer.js'
import { EmbeddedKeyDirectory } from './key-directory.js'
import { keys, lastPartOfKey } from './keys.js'
import { EmbeddedPushTokens } from './push-tokens.js'
import { decodeRecord, encodeRecord } from './record-codec.js'

interface UserRecord { created: number, privacy?: PresencePrivacy, lastSeen?: number }

/** Users, devices, groups, presence privacy, contacts, last-seen time and push tokens in the embedded store. */
export class EmbeddedDirectory implements Directory {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #committer: Committer
  readonly #pushTokens: EmbeddedPushTokens
  /** Users read or written since start: a reconnect costs no read, presence no disk access. */
  readonly #users = new Map<string, UserRecord>()
  readonly #devices = new Set<string>()
  readonly #keys: EmbeddedKeyDirectory

  constructor (db: ClassicLevel<string, Uint8Array>, committer: Committer) {
    this.#db = db
    this.#committer = committer
    this.#pushTokens = new EmbeddedPushTokens(db, committer)
    this.#keys = new EmbeddedKeyDirectory(db, committer)
  }

  /** After the store was reopened: read users and devices from disk again. */
  forgetCached (): void {
    this.#users.clear()
    this.#devices.clear()
    this.#pushTokens.forgetCached()
  }

  publishDeviceKeys (userId: string, keys: DeviceKeyRecord, preKeys: OneTimePreKey[]): Promise<{ identityChanged: boolean, preKeys: number }> {
    return this.#keys.publishDeviceKeys(userId, keys, preKeys)
  }

  deviceKeys (userId: string): Promise<DeviceKeyRecord[]> { return this.#keys.deviceKeys(userId) }
  takeBundles (userId: string, except: readonly string[]): Promise<PreKeyBundle[]> { return this.#keys.takeBundles(userId, except) }
  preKeyCount (userId: string, deviceId: string): Promise<number> { return this.#keys.preKeyCount(userId, deviceId) }
  addKeyWatcher (userId: string, watcher: string): Promise<void> { return this.#keys.addKeyWatcher(userId, watcher) }
  keyWatchers (userId: string): Promise<string[]> { return this.#keys.keyWatchers(userId) }

  async registerUser (userId: string): Promise<void> {
    if (await this.#user(userId) !== undefined) return
    await this.#put(userId, { created: Date.now() })
  }

  async hasUser (userId: string): Promise<boolean> {
    return await this.#user(userId) !== undefined
  }

  async registerDevice (userId: string, deviceId: string): Promise<void> {
    const key = keys.device(userId, deviceId)
    if (this.#devices.has(key)) return
    if (await this.#db.get(key) === undefined) await this.#committer.write([{ type: 'put', key, value: encodeRecord(1) }])
    this.#devices.add(key)
  }

  async devicesOf (userId: string): Promise<string[]> {
    const devices: string[] = []
    for await (const key of this.#db.keys(keys.deviceRange(userId))) devices.push(lastPartOfKey(key))
    return devices
  }

  async createGroup (group: Group): Promise<boolean> {
    if (await this.#db.get(keys.group(group.id)) !== undefined) return false
    await this.#writeGroup(group, [])
    return true
  }

  async group (groupId: string): Promise<Group | undefined> {
    const bytes = await this.#db.get(keys.group(groupId))
    return bytes === undefined ? undefined : decodeRecord<Group>(bytes)
  }

  async saveGroup (group: Group): Promise<void> {
    await this.#writeGroup(group, (await this.group(group.id))?.members ?? [])
  }

  async groupsOf (userId: string): Promise<string[]> {
    const groups: string[] = []
    for await (const key of this.#db.keys(keys.membershipRange(userId))) groups.push(lastPartOfKey(key))
    return groups
  }

  /** The group record and its member index, in one write. */
  async #writeGroup (group: Group, previousMembers: string[]): Promise<void> {
    const now = new Set(group.members)
    const before = new Set(previousMembers)
    await this.#committer.write([
      { type: 'put', key: keys.group(group.id), value: encodeRecord(group) },
      ...group.members.filter((m) => !before.has(m)).map((m) => ({ type: 'put' as const, key: keys.membership(m, group.id), value: encodeRecord(1) })),
      ...previousMembers.filter((m) => !now.has(m)).map((m) => ({ type: 'del' as const, key: keys.membership(m, group.id) }))
    ])
  }

  async setPresencePrivacy (userId: string, privacy: PresencePrivacy): Promise<void> {
    await this.#update(userId, (user) => ({ ...user, privacy }))
  }

  async presencePrivacy (userId: string): Promise<PresencePrivacy> {
    return (await this.#user(userId))?.privacy ?? 0
  }

  async addContact (userId: string, contact: string): Promise<void> {
    await this.#committer.write([{ type: 'put', key: keys.contact(userId, contact), value: encodeRecord(1) }])
  }

  async removeContact (userId: string, contact: string): Promise<void> {
    await this.#committer.write([{ type: 'del', key: keys.contact(userId, contact) }])
  }

  async hasContact (userId: string, contact: string): Promise<boolean> {
    return await this.#db.get(keys.contact(userId, contact)) !== undefined
  }

  async setLastSeen (userId: string, ts: number): Promise<void> {
    await this.#update(userId, (user) => ({ ...user, lastSeen: ts }))
  }

  async lastSeen (userId: string): Promise<number | undefined> {
    return (await this.#user(userId))?.lastSeen
  }

  registerPushToken (userId: string, deviceId: string, token: string, platform: PushPlatform): Promise<void> {
    return this.#pushTokens.register(userId, deviceId, token, platform)
  }

  unregisterPushToken (userId: string, deviceId: string): Promise<void> {
    return this.#pushTokens.unregister(userId, deviceId)
  }

  pushTokensOf (userId: string): Promise<PushToken[]> {
    return this.#pushTokens.of(userId)
  }

  removePushToken (token: string): Promise<string | undefined> {
    return this.#pushTokens.remove(token)
  }

  async #update (userId: string, change: (user: UserRecord) => UserRecord): Promise<void> {
    const user = await this.#user(userId) ?? { created: Date.now() }
    await this.#put(userId, change(user))
  }

  async #put (userId: string, record: UserRecord): Promise<void> {
    this.#users.set(userId, record)
    await this.#committer.write([{ type: 'put', key: keys.user(userId), value: encodeRecord(record) }])
  }

  async #user (userId: string): Promise<UserRecord | undefined> {
    const cached = this.#users.get(userId)
    if (cached !== undefined) return cached
    const bytes = await this.#db.get(keys.user(userId))
    if (bytes === undefined) return undefined
    const record = decodeRecord<UserRecord>(bytes)
    this.#users.set(userId, record)
    return record
  }
}
