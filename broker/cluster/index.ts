import mqemitter from 'mqemitter'
import { createRequire } from 'node:module'
import type { Redis } from 'ioredis'
import type { MQEmitter } from 'mqemitter'
import MQEmitterRedis from 'mqemitter-redis'
import type { Logger } from 'pino'
import type { RemoteDelivery } from '../../hooks/cluster.js'
import type { RemoteChange } from './remote-devices.js'
import { ConfigError } from '../config-error.js'
import type { Config } from '../config.js'
import { ClusterNode } from './cluster-node.js'
import { GroupLock } from './group-lock.js'
import { RedisConnections } from './redis-connections.js'
import { SplitEmitter } from './split-emitter.js'
import { SplitPersistence, type AedesPersistence } from './split-persistence.js'
import { ClusterKeys } from './wire.js'

export interface Cluster {
  readonly nodeId: string
  /** Aedes' message bus: chat on the node, everything else through Redis. */
  readonly mq: SplitEmitter
  readonly node: ClusterNode
  readonly groupLock: GroupLock
  /** Aedes' persistence: chat sessions in the node's memory (`chat`), open-mode ones in Redis. */
  readonly persistence: (chat: AedesPersistence) => AedesPersistence
  /** Whether every Redis connection is up (readiness). */
  readonly ready: () => boolean
  close (): Promise<void>
}

/** What the cluster calls into once the hooks exist. */
export interface ClusterHandlers {
  changing: RemoteChange
  delivered: (deliveries: RemoteDelivery[]) => void
  wakeupsLost: () => void
}

/** aedes-persistence-redis (CommonJS, untyped): a factory of Aedes persistences over one ioredis connection. */
const createRedisPersistence = createRequire(import.meta.url)('aedes-persistence-redis') as (options: { conn: Redis }) => AedesPersistence

type RedisEmitterOptions = Parameters<typeof MQEmitterRedis>[0]
/** mqemitter-redis' prefixed emitter (one cluster's topics apart from another's), which its typings omit. */
const RedisEmitterWithPrefix = (MQEmitterRedis as unknown as { MQEmitterRedisPrefix: new (prefix: string, options: RedisEmitterOptions) => MQEmitter }).MQEmitterRedisPrefix

/**
 * The node's side of `--redis`: the connections (one log line per outage, reconnect with backoff),
 * Aedes' bus, the registry of devices per node, and the group lock. Redis unreachable at start is a
 * one-line error naming the flag.
 */
export async function openCluster (config: Config & { redis: string, nodeId: string }, log: Logger, handlers: () => ClusterHandlers): Promise<Cluster> {
  const redis = new RedisConnections(config.redis, config.nodeId, log.child({ redis: true }))
  const keys = new ClusterKeys(config.clusterName)
  const node = new ClusterNode({
    nodeId: config.nodeId,
    keys,
    heartbeatMs: config.nodeHeartbeat * 1000,
    redis,
    log,
    changing: (...args) => handlers().changing(...args),
    delivered: (deliveries) => handlers().delivered(deliveries),
    wakeupsLost: () => handlers().wakeupsLost()
  })
  const groupLock = new GroupLock(redis.open('group-lock', { failFast: true }), (groupId) => keys.groupLock(groupId))
  const shared = new RedisEmitterWithPrefix(keys.mqtt, { subConn: redis.open('mq-sub'), pubConn: redis.open('mq-pub'), matchEmptyLevels: true }) // [MQTT-4.7.1-3]
  // An outage is reported once by RedisConnections; the emitter's own 'error' events would be unhandled.
  ;(shared as unknown as { state: NodeJS.EventEmitter }).state.on('error', () => {})
  // ioredis prefixes the keys of aedes-persistence-redis, whose own key names are fixed.
  const sessions = redis.open('sessions', { keyPrefix: keys.aedes })
  const mq = new SplitEmitter(mqemitter({ matchEmptyLevels: true }), shared)
  try {
    await redis.connect()
  } catch (error) {
    await redis.close()
    throw new ConfigError(`--redis (LOWBAND_REDIS_URL): cannot reach Redis: ${(error as Error).message}`, { cause: error })
  }
  return {
    nodeId: config.nodeId,
    mq,
    node,
    groupLock,
    persistence: (chat) => new SplitPersistence(chat, createRedisPersistence({ conn: sessions })),
    ready: () => redis.ready,
    async close () {
      await node.stop()
      await redis.close()
    }
  }
}
