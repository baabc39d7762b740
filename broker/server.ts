import type { AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import type { Logger } from 'pino'
import { createHooks, createTokenVerifier, flushDeliveredReceipts, InFlight, Presence, ReceiptWindows, watchConnections, watchDeliveries, type HookContext } from '../hooks/index.js'
import type { Storage } from '../storage/contracts.js'
import { KeyedLock } from '../storage/keyed-lock.js'
import { createTopicAcl } from './acl.js'
import { loadAclFile } from './acl-file.js'
import { isChatTopic } from '../protocol/topics.js'
import type { Config } from './config.js'
import { ConnectionGate } from './connection-gate.js'
import { createHttpServer } from './http.js'
import { webPage, webRoot } from './web.js'
import { leanConnections } from './lean-connections.js'
import { limitPacketLength } from './packet-limit.js'
import { loadVerificationKey } from './keys.js'
import { listen, startMqttListeners, type Listener } from './listeners.js'
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
}

/** Opens storage, builds the hooked Aedes broker and starts every listener. */
export async function startBroker (config: Config, log: Logger, deps: BrokerDeps = {}): Promise<RunningBroker> {
  const key = await loadVerificationKey(config)
  if (key.createdDevSecret !== undefined) {
    log.warn({ file: key.createdDevSecret }, 'no --jwt-secret or --jwt-public-key given: created a development secret; mint tokens with `lowband token <user> --data-dir`')
  }
  const acl = config.acl === undefined ? undefined : createTopicAcl(await loadAclFile(config.acl))
  const pushProvider = await choosePushProvider(config, log, deps.push)
  let storage: Storage
  try {
    storage = await openStorage(config, log)
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
    presence: new Presence(storage.directory, log, Date.now, () => broker),
    ...(media === undefined ? {} : { media }),
    push,
    groupLocks: new KeyedLock(),
    deliveredReceipts: new ReceiptWindows(config.receiptWindow, (conversation) => flushDeliveredReceipts(ctx, conversation)),
    // The hooks need the broker they configure; it exists before any hook runs.
    broker: () => broker,
    now: Date.now,
    deviceCopies: new WeakMap(),
    replays: new WeakMap()
  }
  const broker = await Aedes.createBroker({ ...createHooks(ctx), persistence: createSessionPersistence(), connectTimeout: config.connectTimeout * 1000 })
  leanConnections(broker)
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
  const gate = new ConnectionGate({ maxConnections: config.maxConnections, maxPendingPerAddress: config.maxPendingPerIp, connectTimeoutMs: config.connectTimeout * 1000, closed: metrics.closed })
  metrics.watchSockets(() => ({ open: gate.open, pending: gate.pending }))
  watchConnections(ctx, broker)
  watchDeliveries(ctx, broker)

  let phase: 'starting' | 'serving' | 'stopping' = 'starting'
  const listeners: Listener[] = []
  const port = (name: Listener['name']): number | undefined => listeners.find((l) => l.name === name)?.port()
  const web = config.web ? webPage(webRoot(), () => port('ws') ?? config.wsPort) : undefined
  const http = createHttpServer(metrics.registry, () => phase === 'serving' ? storage.health() : { ready: false, reason: phase }, web)
  try {
    listeners.push(...await startMqttListeners(broker, config, gate))
    await listen(http, config.host, config.httpPort, '--http-port (LOWBAND_HTTP_PORT)')
  } catch (error) {
    for (const l of listeners) l.server.close()
    http.close()
    await closeBroker(broker)
    await push.close()
    await storage.close()
    throw error
  }
  phase = 'serving'
  const ports = { tcp: port('tcp')!, ws: port('ws')!, http: (http.address() as AddressInfo).port, ...(port('tls') === undefined ? {} : { tls: port('tls')! }) }
  log.info({ ...ports, dataDir: config.dataDir, topicPolicy: config.topicPolicy, media: config.s3Bucket ?? false }, 'lowband ready')

  return {
    ports,
    storage,
    async stop () {
      phase = 'stopping'
      for (const l of listeners) l.server.close()
      const timeoutMs = config.shutdownTimeout * 1000
      // Let stores under way finish and their PUBACKs go out, then close the clients.
      await ctx.inFlight.drain(timeoutMs)
      // Delivered receipts still held in a window go to the senders while they are connected.
      await ctx.deliveredReceipts.close()
      await closeBroker(broker)
      gate.close()
      await ctx.inFlight.drain(timeoutMs)
      http.close()
      await push.close()
      await storage.close()
      log.info('lowband stopped')
    }
  }
}

function closeBroker (broker: Aedes): Promise<void> {
  return new Promise((resolve) => broker.close(() => resolve()))
}
