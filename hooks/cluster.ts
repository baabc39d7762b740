import { clientIdOf, type DeviceId, type UserId } from '../protocol/ids.js'
import type { HookContext } from './context.js'

/** One chat PUBLISH for one device connected to another node. */
export interface RemoteDelivery {
  clientId: string
  topic: string
  qos: 0 | 1
  payload: Buffer
}

/**
 * What the hooks see of the other nodes of a cluster (broker/cluster/cluster-node.ts): which devices
 * are connected where, and a way to hand a PUBLISH to a device on another node. Delivery across
 * nodes is at most once — a wake-up; the store stays the truth and a device repairs a gap from its
 * cursor.
 */
export interface ClusterLink {
  /** The user's devices connected to other nodes: device → node; undefined when none. */
  remoteDevices (userId: UserId): ReadonlyMap<DeviceId, string> | undefined
  /** Tells the other nodes that a device of this node connected or left. */
  announce (userId: UserId, deviceId: DeviceId, online: boolean): void
  /** Sends deliveries to the devices of one other node. */
  deliver (node: string, deliveries: RemoteDelivery[]): void
}

/** `u/<user>` and `u/<user>/...` → user; the user subtree is where everything to a device goes (invariant 3). */
function addresseeOf (topic: string): UserId | undefined {
  if (!topic.startsWith('u/')) return undefined
  const end = topic.indexOf('/', 2)
  const user = end < 0 ? topic.slice(2) : topic.slice(2, end)
  return user === '' ? undefined : user
}

/** The sender's echo (`u/<user>/o/<device>`) skips the device that sent the message. */
function originOf (topic: string, user: UserId): DeviceId | undefined {
  const prefix = `u/${user}/o/`
  return topic.startsWith(prefix) ? topic.slice(prefix.length) : undefined
}

/**
 * The remote part of a publish to a user subtree: one delivery per device of the addressee
 * connected elsewhere, batched per node. An encrypted message gets each device's own ciphertext
 * (deviceCopies), as authorize-forward does for local devices.
 */
export function forwardToNodes (ctx: Pick<HookContext, 'cluster' | 'deviceCopies'>, packet: { topic: string, payload: Buffer | string, qos: 0 | 1 | 2 }): void {
  const cluster = ctx.cluster
  if (cluster === undefined) return
  const user = addresseeOf(packet.topic)
  if (user === undefined) return
  const devices = cluster.remoteDevices(user)
  if (devices === undefined) return
  const origin = originOf(packet.topic, user)
  const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
  const copyFor = ctx.deviceCopies.get(payload)
  const byNode = new Map<string, RemoteDelivery[]>()
  for (const [device, node] of devices) {
    if (device === origin) continue
    let batch = byNode.get(node)
    if (batch === undefined) byNode.set(node, batch = [])
    batch.push({ clientId: clientIdOf(user, device), topic: packet.topic, qos: packet.qos === 0 ? 0 : 1, payload: copyFor?.(device) ?? payload })
  }
  for (const [node, batch] of byNode) cluster.deliver(node, batch)
}
