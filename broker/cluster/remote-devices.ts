import type { DeviceId, UserId } from '../../protocol/ids.js'

/** Told before and after the devices of a user on other nodes change (Presence.remoteChanged). */
export type RemoteChange = (userId: UserId, change: () => void, reaped: boolean) => void

/**
 * This node's view of the devices connected to the other nodes: user → device → node. Kept from the
 * nodes' events and reloaded from Redis after an outage.
 *
 * Every node mirrors every other node's devices, so in a cluster of n nodes each device is held
 * n − 1 times: the mirror is paid per device per node. A Map per user and a Set of client ids per
 * node cost ~340 bytes a remote device (100 000 measured: with six nodes, 1.7 KiB of every device's
 * 8 KiB budget); here a user's remote devices are one flat string of "device\tnode" pairs joined by
 * "\n" (ids never hold either character: protocol/ids.ts), ~100 bytes, unpacked when asked for. The
 * devices of one node are found by a scan — only when a node dies or is reloaded.
 */
export class RemoteDevices {
  readonly #byUser = new Map<UserId, string>()
  /** Devices per node, for nodes(). */
  readonly #perNode = new Map<string, number>()
  readonly #changed: RemoteChange

  constructor (changed: RemoteChange) {
    this.#changed = changed
  }

  /** The user's devices on other nodes, device → node; undefined when there are none. */
  of (userId: UserId): ReadonlyMap<DeviceId, string> | undefined {
    const packed = this.#byUser.get(userId)
    return packed === undefined ? undefined : unpack(packed)
  }

  nodes (): string[] {
    return [...this.#perNode.keys()]
  }

  set (node: string, clientId: string, on: boolean, reaped = false): void {
    const [userId, deviceId] = splitClientId(clientId)
    if (userId === undefined) return
    const at = this.of(userId)?.get(deviceId)
    if (on ? at === node : at !== node) return
    this.#changed(userId, () => {
      const devices = new Map(this.of(userId))
      // On: the device may have moved here from another node (a takeover): it is no longer there.
      const previous = devices.get(deviceId)
      if (previous !== undefined) this.#count(previous, -1)
      if (on) {
        devices.set(deviceId, node)
        this.#count(node, 1)
      } else {
        devices.delete(deviceId)
      }
      if (devices.size === 0) this.#byUser.delete(userId)
      else this.#byUser.set(userId, pack(devices))
    }, reaped)
  }

  /** The node's devices are now exactly `clientIds` (after a reload), or none (a dead node). */
  replace (node: string, clientIds: Iterable<string>, reaped = false): void {
    const next = new Set(clientIds)
    if (this.#perNode.has(node)) {
      const mark = `\t${node}`
      for (const [userId, packed] of [...this.#byUser]) {
        if (!packed.includes(mark)) continue
        for (const [deviceId, at] of unpack(packed)) {
          const clientId = `${userId}/${deviceId}`
          if (at === node && !next.has(clientId)) this.set(node, clientId, false, reaped)
        }
      }
    }
    for (const clientId of next) this.set(node, clientId, true)
  }

  #count (node: string, by: number): void {
    const count = (this.#perNode.get(node) ?? 0) + by
    if (count > 0) this.#perNode.set(node, count)
    else this.#perNode.delete(node)
  }
}

function pack (devices: ReadonlyMap<DeviceId, string>): string {
  // join() builds one flat string (a + b would keep a rope of the pieces).
  return [...devices].map((pair) => pair.join('\t')).join('\n')
}

function unpack (packed: string): Map<DeviceId, string> {
  const devices = new Map<DeviceId, string>()
  for (const pair of packed.split('\n')) {
    const tab = pair.indexOf('\t')
    devices.set(pair.slice(0, tab), pair.slice(tab + 1))
  }
  return devices
}

function splitClientId (clientId: string): [UserId, DeviceId] | [undefined, undefined] {
  const slash = clientId.indexOf('/')
  return slash <= 0 ? [undefined, undefined] : [clientId.slice(0, slash), clientId.slice(slash + 1)]
}
