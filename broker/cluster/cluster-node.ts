import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ClusterLink, RemoteDelivery } from '../../hooks/cluster.js'
import { clientIdOf, type DeviceId, type UserId } from '../../protocol/ids.js'
import type { RedisConnections } from './redis-connections.js'
import { RemoteDevices, type RemoteChange } from './remote-devices.js'
import { decodeDeliveries, decodeEvent, encodeDeliveries, encodeEvent, type ClusterKeys, type NodeEvent } from './wire.js'

/**
 * One atomic step of the node heartbeat, on Redis' clock (nodes' clocks may differ): notes that
 * this node is alive, takes the nodes silent for longer than the limit off the list — so exactly
 * one node reaps each — and answers [reaped, live nodes, whether this node had been reaped itself].
 */
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local wasListed = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now, ARGV[1])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if #dead > 0 then redis.call('ZREM', KEYS[1], unpack(dead)) end
return { dead, redis.call('ZRANGE', KEYS[1], 0, -1), wasListed and 0 or 1 }
`

export interface ClusterNodeOptions {
  nodeId: string
  keys: ClusterKeys
  /** How often the node says it is alive, ms; a node silent for 1.5 × this is dead. */
  heartbeatMs: number
  redis: RedisConnections
  log: Logger
  /** Presence.remoteChanging, once the hooks exist. */
  changing: RemoteChange
  /** Deliveries from other nodes to devices here. */
  delivered: (deliveries: RemoteDelivery[]) => void
  /** Wake-ups may have been lost: every device here should check its cursor. */
  wakeupsLost: () => void
}

/**
 * This node's membership of the cluster through Redis: its heartbeat, the registry of which node
 * holds which device (a Redis set per node, changes announced on one channel, mirrored by every
 * node in RemoteDevices), and addressed deliveries (one channel per node). Redis pub/sub is at most
 * once, so every delivery is a wake-up: after any outage a node reloads the others' devices and
 * asks every device to check its cursor.
 */
export class ClusterNode implements ClusterLink {
  readonly #o: ClusterNodeOptions
  readonly #commands: Redis
  readonly #subscriber: Redis
  readonly #remote: RemoteDevices
  /** Client ids of the chat devices connected here. */
  readonly #local = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #beating: Promise<void> = Promise.resolve()

  constructor (options: ClusterNodeOptions) {
    this.#o = options
    // Fail fast: a lost announcement or wake-up is repaired after the outage; queued ones would not be.
    this.#commands = options.redis.open('cluster', { failFast: true })
    this.#subscriber = options.redis.open('cluster-events')
    this.#remote = new RemoteDevices(options.changing)
    this.#subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#received(channel.toString(), message))
    options.redis.onReconnect(() => { void this.#rejoin() })
  }

  /** Subscribes, takes this node's devices of a previous life off the registry, and loads the others'. */
  async start (): Promise<void> {
    await this.#subscriber.subscribe(this.#o.keys.events, this.#o.keys.deliveries(this.#o.nodeId))
    await this.#rejoin()
    // Four beats per heartbeat: a dead node is found within 1.5 + 0.25 heartbeats, under the 2 promised.
    this.#timer = setInterval(() => { this.#beating = this.#beat().then(() => {}) }, Math.max(25, this.#o.heartbeatMs / 4))
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#beating
    // A clean stop: the other nodes drop this node's devices now rather than after its silence.
    await this.#commands.multi().del(this.#o.keys.devices(this.#o.nodeId)).zrem(this.#o.keys.nodes, this.#o.nodeId)
      .publish(this.#o.keys.events, encodeEvent({ node: this.#o.nodeId, gone: this.#o.nodeId })).exec()
      .catch(() => {})
  }

  remoteDevices (userId: UserId): ReadonlyMap<DeviceId, string> | undefined {
    return this.#remote.of(userId)
  }

  announce (userId: UserId, deviceId: DeviceId, online: boolean): void {
    const clientId = clientIdOf(userId, deviceId)
    if (online) this.#local.add(clientId)
    else this.#local.delete(clientId)
    const key = this.#o.keys.devices(this.#o.nodeId)
    const multi = this.#commands.multi()
    void (online ? multi.sadd(key, clientId) : multi.srem(key, clientId))
      .publish(this.#o.keys.events, encodeEvent({ node: this.#o.nodeId, clientId, on: online }))
      .exec().catch(() => { /* Redis is down: the rejoin after the outage announces the whole set. */ })
  }

  deliver (node: string, deliveries: RemoteDelivery[]): void {
    this.#commands.publish(this.#o.keys.deliveries(node), encodeDeliveries(deliveries))
      .catch(() => { /* Redis is down: every node announces inbox heads after the outage. */ })
  }

  #received (channel: string, message: Buffer): void {
    try {
      if (channel !== this.#o.keys.events) {
        this.#o.delivered(decodeDeliveries(message))
        return
      }
      const event = decodeEvent(message)
      if (event.node === this.#o.nodeId) return
      this.#apply(event)
    } catch (error) {
      this.#o.log.warn({ err: error, channel }, 'unreadable cluster message dropped')
    }
  }

  #apply (event: NodeEvent): void {
    if ('clientId' in event) {
      this.#remote.set(event.node, event.clientId, event.on)
    } else if ('sync' in event) {
      void this.#reload(event.node)
      this.#o.wakeupsLost()
    } else if (event.gone !== this.#o.nodeId) {
      this.#remote.replace(event.gone, [])
    }
  }

  /**
   * (Re)joins: this node's registry entry becomes exactly its devices now, the others are told to
   * reload it, and this node reloads every live node — what was announced while Redis was out of
   * reach is lost. Then each device here checks its cursor.
   */
  async #rejoin (): Promise<void> {
    try {
      const key = this.#o.keys.devices(this.#o.nodeId)
      const multi = this.#commands.multi().del(key)
      if (this.#local.size > 0) multi.sadd(key, ...this.#local)
      await multi.publish(this.#o.keys.events, encodeEvent({ node: this.#o.nodeId, sync: true })).exec()
      const live = await this.#beat()
      await Promise.all(live.filter((node) => node !== this.#o.nodeId).map((node) => this.#reload(node)))
      this.#o.wakeupsLost()
    } catch (error) {
      this.#o.log.warn({ err: error }, 'could not rejoin the cluster; retrying when Redis is back')
    }
  }

  async #reload (node: string): Promise<void> {
    const members = await this.#commands.smembers(this.#o.keys.devices(node)).catch(() => undefined)
    if (members !== undefined) this.#remote.replace(node, members)
  }

  /** One heartbeat: reaps the dead nodes this node found first; forgets nodes no longer listed. */
  async #beat (): Promise<string[]> {
    let answer: [string[], string[], number]
    try {
      answer = await this.#commands.eval(BEAT, 1, this.#o.keys.nodes, this.#o.nodeId, String(Math.round(this.#o.heartbeatMs * 1.5))) as [string[], string[], number]
    } catch {
      return [] // Redis is down: the outage is logged once by RedisConnections.
    }
    const [dead, live, reapedSelf] = answer
    for (const node of dead) await this.#reap(node)
    const listed = new Set(live)
    for (const node of this.#remote.nodes()) if (!listed.has(node)) this.#remote.replace(node, [])
    // Another node took this one for dead (a long pause): announce the devices here again.
    if (reapedSelf === 1 && this.#timer !== undefined) void this.#rejoin()
    return live
  }

  async #reap (node: string): Promise<void> {
    if (node === this.#o.nodeId) return
    this.#o.log.warn({ node }, 'cluster node stopped beating: its devices are offline')
    this.#remote.replace(node, [], true)
    await this.#commands.multi().del(this.#o.keys.devices(node)).publish(this.#o.keys.events, encodeEvent({ node: this.#o.nodeId, gone: node })).exec().catch(() => {})
  }
}
