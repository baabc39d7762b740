import type { Aedes, Client } from 'aedes'
import type { Logger } from 'pino'
import { PresenceUpdate } from '../protocol/envelopes.js'
import { clientIdOf, type DeviceId, type UserId } from '../protocol/ids.js'
import { MAX_WATCHES, presenceTopic } from '../protocol/topics.js'
import type { Directory } from '../storage/contracts.js'
import type { ClusterLink } from './cluster.js'
import { publishTo } from './context.js'

/**
 * Who is online (at least one connected device) and who watches whom. Watching is pull on demand:
 * a device watches a contact only while that chat is open, by subscribing to
 * `u/<self>/p/<contact>`; it gets the current state at once and every change while it watches.
 * Updates are QoS 0, sent to each watching device directly and never retained, and each one passes
 * the contact's privacy setting (everyone / contacts / nobody) at the moment it is sent.
 *
 * In a cluster, devices connected to other nodes count too (`ClusterLink.remoteDevices`): a user is
 * online while any node holds one of its devices, and each node tells its own watchers.
 */
export class Presence {
  readonly #directory: Directory
  readonly #log: Logger
  readonly #now: () => number
  readonly #broker: () => Aedes
  readonly #devices = new Map<UserId, Set<Client>>()
  /** contact → watching device → the watching device's user */
  readonly #watchers = new Map<UserId, Map<Client, UserId>>()
  /** watching device → the contacts it watches: a disconnect visits its own watches, not everyone's. */
  readonly #watching = new WeakMap<Client, Set<UserId>>()
  readonly #cluster: ClusterLink | undefined

  constructor (directory: Directory, log: Logger, now: () => number, broker: () => Aedes, cluster?: ClusterLink) {
    this.#directory = directory
    this.#log = log
    this.#now = now
    this.#broker = broker
    this.#cluster = cluster
  }

  isOnline (userId: UserId): boolean {
    return this.#isOnlineHere(userId) || this.#cluster?.remoteDevices(userId) !== undefined
  }

  /** Whether that device of the user is connected. */
  isDeviceConnected (userId: UserId, deviceId: DeviceId): boolean {
    const id = clientIdOf(userId, deviceId)
    for (const client of this.#devices.get(userId) ?? []) if (client.id === id) return true
    return this.#cluster?.remoteDevices(userId)?.has(deviceId) ?? false
  }

  /** Whether a device of `userId` other than `deviceId` is connected. */
  hasOtherDevice (userId: UserId, deviceId: DeviceId): boolean {
    const self = clientIdOf(userId, deviceId)
    for (const client of this.#devices.get(userId) ?? []) if (client.id !== self) return true
    for (const device of this.#cluster?.remoteDevices(userId)?.keys() ?? []) if (device !== deviceId) return true
    return false
  }

  /**
   * Devices of `userId` on other nodes come or go (`change` applies it). Watchers here hear of a
   * change of online state; `reaped` when this node reaped a dead node, so that last seen is
   * written once, by that node.
   */
  remoteChanging (userId: UserId, change: () => void, reaped: boolean): void {
    const wasOnline = this.isOnline(userId)
    change()
    if (this.isOnline(userId) === wasOnline) return
    void (async () => {
      if (wasOnline && reaped) await this.#recordLastSeen(userId)
      await this.#broadcast(userId)
    })()
  }

  #isOnlineHere (userId: UserId): boolean {
    return (this.#devices.get(userId)?.size ?? 0) > 0
  }

  async connected (client: Client, userId: UserId): Promise<void> {
    let devices = this.#devices.get(userId)
    if (devices === undefined) {
      devices = new Set()
      this.#devices.set(userId, devices)
    }
    const wasOnline = this.isOnline(userId)
    devices.add(client)
    this.#cluster?.announce(userId, deviceIdOf(client.id, userId), true)
    if (!wasOnline) await this.#broadcast(userId)
  }

  /** A device left: clean disconnect, keepalive timeout, a lost socket, or its will. Idempotent. */
  async disconnected (client: Client, userId: UserId): Promise<void> {
    this.unwatchAll(client)
    const devices = this.#devices.get(userId)
    if (devices === undefined || !devices.delete(client)) return
    // A device that reconnected here before its old connection closed is still connected.
    if (![...devices].some((other) => other.id === client.id)) this.#cluster?.announce(userId, deviceIdOf(client.id, userId), false)
    if (devices.size > 0) return
    this.#devices.delete(userId)
    if (this.isOnline(userId)) return
    await this.#recordLastSeen(userId)
    await this.#broadcast(userId)
  }

  async #recordLastSeen (userId: UserId): Promise<void> {
    // Callers do not wait for this (connection events): a store that cannot write now (suspect,
    // closed at shutdown) costs the last-seen time, never the process.
    await this.#directory.setLastSeen(userId, Math.floor(this.#now() / 1000))
      .catch((error: unknown) => this.#log.warn({ err: error, userId }, 'last seen not stored'))
  }

  /** Whether the device may watch `contact`: it does already, or watches fewer than MAX_WATCHES. */
  mayWatch (client: Client, contact: UserId): boolean {
    const watching = this.#watching.get(client)
    return watching === undefined || watching.size < MAX_WATCHES || watching.has(contact)
  }

  async watch (client: Client, watcher: UserId, contact: UserId): Promise<void> {
    let watchers = this.#watchers.get(contact)
    if (watchers === undefined) {
      watchers = new Map()
      this.#watchers.set(contact, watchers)
    }
    watchers.set(client, watcher)
    let watching = this.#watching.get(client)
    if (watching === undefined) {
      watching = new Set()
      this.#watching.set(client, watching)
    }
    watching.add(contact)
    await this.#tell(client, watcher, contact)
  }

  unwatch (client: Client, contact: UserId): void {
    this.#watching.get(client)?.delete(contact)
    const watchers = this.#watchers.get(contact)
    if (watchers === undefined) return
    watchers.delete(client)
    if (watchers.size === 0) this.#watchers.delete(contact)
  }

  unwatchAll (client: Client): void {
    for (const contact of [...this.#watching.get(client) ?? []]) this.unwatch(client, contact)
    this.#watching.delete(client)
  }

  async #broadcast (contact: UserId): Promise<void> {
    const watchers = this.#watchers.get(contact)
    if (watchers === undefined) return
    await Promise.all([...watchers].map(([client, watcher]) => this.#tell(client, watcher, contact)))
  }

  async #tell (client: Client, watcher: UserId, contact: UserId): Promise<void> {
    try {
      if (!await this.#visible(contact, watcher)) return
      const online = this.isOnline(contact)
      const lastSeen = online ? undefined : await this.#directory.lastSeen(contact)
      const payload = Buffer.from(PresenceUpdate.encode({ online, ...(lastSeen === undefined ? {} : { lastSeen }) }))
      await publishTo({ broker: this.#broker }, client, { topic: presenceTopic(watcher, contact), payload, qos: 0, retain: false })
    } catch (error) {
      this.#log.debug({ err: error, contact }, 'presence update not sent')
    }
  }

  async #visible (contact: UserId, watcher: UserId): Promise<boolean> {
    if (contact === watcher) return true
    switch (await this.#directory.presencePrivacy(contact)) {
      case 0: return true
      case 1: return this.#directory.hasContact(contact, watcher)
      default: return false
    }
  }
}

/** A chat client's id is `<user>/<device>` (protocol/ids.ts). */
function deviceIdOf (clientId: string, userId: UserId): DeviceId {
  return clientId.slice(userId.length + 1)
}
