import { Decoder, Encoder } from 'cbor-x'
import type { RemoteDelivery } from '../../hooks/cluster.js'

/** Node-to-node messages on Redis pub/sub; only lowband nodes of one version read them. */
const encoder = new Encoder({ useRecords: false, tagUint8Array: false })
const decoder = new Decoder({ useRecords: false })

/** What a node tells every other node (ClusterKeys.events). */
export type NodeEvent =
  /** A device connected (`on`) or left. */
  | { node: string, clientId: string, on: boolean }
  /** Reload this node's devices from Redis; wake-ups to or from it may have been lost. */
  | { node: string, sync: true }
  /** `gone` stopped beating and was reaped: its devices are offline. */
  | { node: string, gone: string }

/** The Redis names of one cluster (`--cluster-name`): several clusters may share one Redis. */
export class ClusterKeys {
  readonly events: string
  readonly nodes: string
  readonly #prefix: string

  constructor (cluster: string) {
    this.#prefix = cluster
    /** What a node tells every other node. */
    this.events = `${cluster}:events`
    /** Sorted set: node → its last heartbeat, Redis time in ms. */
    this.nodes = `${cluster}:nodes`
  }

  /** Set of the client ids connected to a node. */
  devices (node: string): string { return `${this.#prefix}:node:${node}:devices` }
  /** Channel of the deliveries to a node's devices. */
  deliveries (node: string): string { return `${this.#prefix}:node:${node}:deliveries` }
  /** Lease of a group's order (group-lock.ts). */
  groupLock (groupId: string): string { return `${this.#prefix}:group-lock:${groupId}` }
  /** Prefix of the keys of Aedes' own state in Redis (open-mode sessions, subscriptions, retained, wills). */
  get aedes (): string { return `${this.#prefix}:aedes:` }
  /** Prefix of the open-mode MQTT topics and Aedes' $SYS announcements on Redis pub/sub. */
  get mqtt (): string { return `${this.#prefix}:mqtt:` }
}

export function encodeEvent (event: NodeEvent): Buffer {
  return encoder.encode(event)
}

export function decodeEvent (bytes: Buffer): NodeEvent {
  return decoder.decode(bytes) as NodeEvent
}

export function encodeDeliveries (deliveries: readonly RemoteDelivery[]): Buffer {
  return encoder.encode(deliveries.map((d) => [d.clientId, d.topic, d.qos, d.payload]))
}

export function decodeDeliveries (bytes: Buffer): RemoteDelivery[] {
  const rows = decoder.decode(bytes) as Array<[string, string, 0 | 1, Uint8Array]>
  return rows.map(([clientId, topic, qos, payload]) => ({ clientId, topic, qos, payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength) }))
}
