import type { DeviceId, UserId } from '../../protocol/ids.js'

/** Told before and after the devices of a user on other nodes change (Presence.remoteChanged). */
export type RemoteChange = (userId: UserId, change: () => void, reaped: boolean) => void

/**
 * This node's view of the devices connected to the other nodes: user → device → node, and per node
 * its devices, so a node that dies or reloads is replaced at once. Kept from the nodes' events and
 * reloaded from Redis after an outage; about 150 bytes per remote device.
 */
export class RemoteDevices {
  readonly #byUser = new Map<UserId, Map<DeviceId, string>>()
  readonly #byNode = new Map<string, Set<string>>()
  readonly #changed: RemoteChange

  constructor (changed: RemoteChange) {
    this.#changed = changed
  }

  of (userId: UserId): ReadonlyMap<DeviceId, string> | undefined {
    return this.#byUser.get(userId)
  }

  nodes (): string[] {
    return [...this.#byNode.keys()]
  }

  set (node: string, clientId: string, on: boolean, reaped = false): void {
    const [userId, deviceId] = splitClientId(clientId)
    if (userId === undefined) return
    const devices = this.#byUser.get(userId)
    if (on ? devices?.get(deviceId) === node : devices?.get(deviceId) !== node) return
    this.#changed(userId, () => {
      if (on) {
        let byUser = this.#byUser.get(userId)
        if (byUser === undefined) this.#byUser.set(userId, byUser = new Map())
        // The device moved here from another node (a takeover): it is no longer there.
        const previous = byUser.get(deviceId)
        if (previous !== undefined) this.#byNode.get(previous)?.delete(clientId)
        byUser.set(deviceId, node)
        let byNode = this.#byNode.get(node)
        if (byNode === undefined) this.#byNode.set(node, byNode = new Set())
        byNode.add(clientId)
      } else {
        devices!.delete(deviceId)
        if (devices!.size === 0) this.#byUser.delete(userId)
        this.#byNode.get(node)?.delete(clientId)
      }
    }, reaped)
  }

  /** The node's devices are now exactly `clientIds` (after a reload), or none (a dead node). */
  replace (node: string, clientIds: Iterable<string>, reaped = false): void {
    const next = new Set(clientIds)
    for (const clientId of [...this.#byNode.get(node) ?? []]) if (!next.has(clientId)) this.set(node, clientId, false, reaped)
    for (const clientId of next) this.set(node, clientId, true)
    if (this.#byNode.get(node)?.size === 0) this.#byNode.delete(node)
  }
}

function splitClientId (clientId: string): [UserId, DeviceId] | [undefined, undefined] {
  const slash = clientId.indexOf('/')
  return slash <= 0 ? [undefined, undefined] : [clientId.slice(0, slash), clientId.slice(slash + 1)]
}
