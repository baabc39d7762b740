import type { AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import type { Logger } from 'pino'
import { announceHeads, deliverLocally } from '../hooks/cluster-delivery.js'
import { createHooks, createTokenVerifier, flushDeliveredReceipts, InFlight, Presence, ReceiptWindows, watchConnections, watchDeliveries, type HookContext } from '../hooks/index.js'
import type { Storage } from '../storage/contracts.js'
import { KeyedLock } from '../storage/keyed-lock.js'
import { createTopicAcl } from './acl.js'
import { loadAclFile } from './acl-file.js'
import { isChatTopic } from '../protocol/topics.js'
import type { AedesMemoryPersistence } from 'aedes-persistence'
import type { Cluster } from './cluster/index.js'
import type { AedesPersistence } from './cluster/split-persistence.js'
import type { Config } from './config.js'
import { AcceptProcess } from './accept-process.js'
import { ConnectionGate, type GateLimits } from './connection-gate.js'
import { createHttpServer } from './http.js'
import { webPage, webRoot } from './web.js'
import { leanConnections } from './lean-connections.js'
import { batchSocketWrites } from './write-batching.js'
import { limitPacketLength } from './packet-limit.js'
import { loadVerificationKey } from './keys.js'
import { fastOpenStatus } from './fast-open.js'
import { listen, startMqttListeners, type Listener, type MqttListeners } from './listeners.js'
import { openMedia } from './media.js'
import { createMetrics } from './metrics.js'
import { createSessionPersistence } from './session-persistence.js'
import { parseStrictly } from './strict-parsing.js'
import { choosePushProvider, openPush, type PushChoice } from './push.js'
import { isolateSlowConsumers } from './slow-consumers.js'
import { openStorage } from './storage.js'

export interface RunningBroker {
  readonly ports: { tcp: number, ws: number, tls?: number, http: number }
  readonly storage: Storage
  /** Graceful stop: no new connections, in-flight stores finish, clients are closed, storage closed. */
  stop (): Promise<void>
}

/** What the embedding code may pass in instead of what the configuration would build. */
export interface BrokerDeps {
  /** The push service (tests and the bench point FCM at a local endpoint), or 'off'. */
  push?: PushChoice
  /**
   * A store opened by the caller, used instead of the configured one and left open at stop (tests
   * run several nodes of one cluster in one process on one shared store).
   */
  storage?: Storage
}

/** Opens storage, builds the hooked Aedes broker and starts every listener. */
export async function startBroker (config: Config, log: Logger, deps: BrokerDeps = {}): Promise<RunningBroker> {
  // First, before anything is opened that the child would inherit (broker/accept-process.ts).
  const accept = config.acceptProcess
    ? await AcceptProcess.start(gateLimits(config))
    : undefined
  try {
    return await startServing(config, log, deps, accept)
  } catch (error) {
    await accept?.close()
    throw error
  }
}

async function startServing (config: Config, log: Logger, deps: BrokerDeps, accept: AcceptProcess | undefined): Promise<RunningBroker> {
  const key = await loadVerificationKey(config)
  if (key.createdDevSecret !== undefined) {
    log.warn({ file: key.createdDevSecret }, 'no --jwt-secret or --jwt-public-key given: created a development secret; mint tokens with `lowband token <user> --data-dir`')
  }
  const acl = config.acl === undefined ? undefined : createTopicAcl(await loadAclFile(config.acl))
  const pushProvider = await choosePushProvider(config, log, deps.push)
  let storage: Storage
  let cluster: Cluster | undefined
  try {
    storage = deps.storage === undefined ? await openStorage(config, log) : { ...deps.storage, close: async () => {} }
    try {
      // Loaded only for a cluster: a single node does not pay for ioredis and its kin at start.
      cluster = config.redis === undefined ? undefined : await (await import('./cluster/index.js')).openCluster({ ...config, redis: config.redis, nodeId: config.nodeId! }, log, () => ({
        changing: (...args) => ctx.presence.remoteChanging(...args),
        delivered: (deliveries) => { void deliverLocally(ctx, deliveries) },
        wakeupsLost: () => { void ctx.inFlight.track(announceHeads(ctx)) }
      }))
    } catch (error) {
      await storage.close()
      throw error
    }
  } catch (error) {
    if (pushProvider !== 'off') await pushProvider.close()
    throw error
  }
  const metrics = createMetrics()
  const media = await openMedia(config, log)
  const push = openPush(config, pushProvider, storage.directory, log, metrics.push)
  const ctx: HookContext = {
    config: { topicPolicy: config.topicPolicy, allowAnonymous: config.allowAnonymous, maxPayload: config.maxPayload, rateLimit: { perSecond: config.rateLimit, burst: config.rateBurst, bytesPerSecond: config.rateBytes, bytesBurst: config.rateBytesBurst }, maxGroupSize: config.maxGroupSize, requireE2e: config.requireE2e },
    ...(acl === undefined ? {} : { acl }),
    storage,
    verifier: createTokenVerifier(key.key, key.algorithms),
    log,
    metrics: metrics.chat,
    identities: new WeakMap(),
    inFlight: new InFlight(),
    presence: new Presence(storage.directory, log, Date.now, () => broker, cluster?.node),
    ...(media === undefined ? {} : { media }),
    push,
    groupLocks: cluster?.groupLock ?? new KeyedLock(),
    ...(cluster === undefined ? {} : { cluster: cluster.node }),
    deliveredReceipts: new ReceiptWindows(config.receiptWindow, (conversation) => flushDeliveredReceipts(ctx, conversation)),
    // The hooks need the broker they configure; it exists before any hook runs.
    broker: () => broker,
    now: Date.now,
    deviceCopies: new WeakMap(),
    replays: new WeakMap()
  }
  const broker = await Aedes.createBroker({ ...createHooks(ctx), persistence: sessionPersistence(cluster), connectTimeout: config.connectTimeout * 1000, ...clusterOptions(cluster) })
  leanConnections(broker)
  batchSocketWrites(broker)
  limitPacketLength(broker, config.maxPayload)
  parseStrictly(broker)
  isolateSlowConsumers(broker, {
    maxQueuedBytes: config.maxQueuedBytes,
    resumable: isChatTopic,
    closed: (client, queuedBytes) => {
      metrics.closed('backlog')
      log.warn({ clientId: client.id, queuedBytes }, 'closing a connection whose outgoing backlog is over --max-queued-bytes')
    }
  })
  const gate = new ConnectionGate({ ...gateLimits(config), closed: metrics.closed })
  let mqtt: MqttListeners | undefined
  // Sockets the accept process holds are open and pending too, in that process.
  metrics.watchSockets(() => ({ open: gate.open + (mqtt?.pending() ?? 0), pending: gate.pending + (mqtt?.pending() ?? 0) }), async () => await mqtt?.report())
  watchConnections(ctx, broker)
  watchDeliveries(ctx, broker)
  await cluster?.node.start()

  let phase: 'starting' | 'serving' | 'stopping' = 'starting'
  const listeners: Listener[] = []
  const port = (name: Listener['name']): number | undefined => listeners.find((l) => l.name === name)?.port()
  const web = config.web ? webPage(webRoot(), () => port('ws') ?? config.wsPort) : undefined
  const http = createHttpServer(metrics.registry, () => {
    if (phase !== 'serving') return { ready: false, reason: phase }
    if (cluster !== undefined && !cluster.ready()) return { ready: false, reason: 'Redis unreachable (--redis); reconnecting' }
    return storage.health()
  }, web)
  try {
    mqtt = await startMqttListeners(broker, config, gate, accept, {
      closed: metrics.closed,
      lost (code, signal, reopened) {
        log.error({ code, signal }, 'the accept process ended; accepting in the broker process from now on')
        reopened.catch((error: Error) => log.error({ err: error }, 'cannot listen again after the accept process ended: no new connections until restarted'))
      }
    })
    listeners.push(...mqtt.listeners)
    await listen(http, config.host, config.httpPort, '--http-port (LOWBAND_HTTP_PORT)')
  } catch (error) {
    await mqtt?.close()
    http.close()
    await closeBroker(broker)
    await cluster?.close()
    await push.close()
    await storage.close()
    throw error
  }
  phase = 'serving'
  const ports = { tcp: port('tcp')!, ws: port('ws')!, http: (http.address() as AddressInfo).port, ...(port('tls') === undefined ? {} : { tls: port('tls')! }) }
  log.info({ ...ports, ...(cluster === undefined ? {} : { node: cluster.nodeId }), dataDir: config.dataDir, topicPolicy: config.topicPolicy, media: config.s3Bucket ?? false, tcpFastOpen: fastOpenStatus() }, 'lowband ready')

  return {
    ports,
    storage,
    async stop () {
      phase = 'stopping'
      await mqtt?.close()
      const timeoutMs = config.shutdownTimeout * 1000
      // Let stores under way finish and their PUBACKs go out, then close the clients.
      await ctx.inFlight.drain(timeoutMs)
      // Delivered receipts still held in a window go to the senders while they are connected.
      await ctx.deliveredReceipts.close()
      await closeBroker(broker)
      gate.close()
      await ctx.inFlight.drain(timeoutMs)
      http.close()
      await cluster?.close()
      await push.close()
      await storage.close()
      log.info('lowband stopped')
    }
  }
}

/** The connection caps, as the broker's gate and its accept process's hold them. */
function gateLimits (config: Config): GateLimits {
  return { maxConnections: config.maxConnections, maxPending: config.maxPending, maxPendingPerAddress: config.maxPendingPerIp, connectTimeoutMs: config.connectTimeout * 1000 }
}

/** Chat sessions in memory (session-persistence.ts); in a cluster, open-mode ones in Redis. */
function sessionPersistence (cluster: Cluster | undefined): AedesMemoryPersistence {
  const chat = createSessionPersistence()
  return cluster === undefined ? chat : cluster.persistence(chat as unknown as AedesPersistence) as unknown as AedesMemoryPersistence
}

/**
 * In a cluster, Aedes' id is the node id — fixed across restarts, so the sessions and wills it
 * recorded are found again — and its bus carries `$SYS/` (session takeover) across nodes.
 */
function clusterOptions (cluster: Cluster | undefined): { id?: string, mq?: Cluster['mq'] } {
  return cluster === undefined ? {} : { id: cluster.nodeId, mq: cluster.mq }
}

function closeBroker (broker: Aedes): Promise<void> {
  return new Promise((resolve) => broker.close(() => resolve()))
}
