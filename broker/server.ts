import type { AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import type { Logger } from 'pino'
import { createHooks, createTokenVerifier, InFlight, Presence, watchConnections, watchDeliveries, type HookContext } from '../hooks/index.js'
import type { Storage } from '../storage/contracts.js'
import { KeyedLock } from '../storage/keyed-lock.js'
import type { Config } from './config.js'
import { createHttpServer } from './http.js'
import { leanConnections } from './lean-connections.js'
import { limitPacketLength } from './packet-limit.js'
import { loadVerificationKey } from './keys.js'
import { listen, startMqttListeners, type Listener } from './listeners.js'
import { createMetrics } from './metrics.js'
import { createSessionPersistence } from './session-persistence.js'
import { openStorage } from './storage.js'

export interface RunningBroker {
  readonly ports: { tcp: number, ws: number, tls?: number, http: number }
  readonly storage: Storage
  /** Graceful stop: no new connections, in-flight stores finish, clients are closed, storage closed. */
  stop (): Promise<void>
}

/** Opens storage, builds the hooked Aedes broker and starts every listener. */
export async function startBroker (config: Config, log: Logger): Promise<RunningBroker> {
  const key = await loadVerificationKey(config)
  if (key.createdDevSecret !== undefined) {
    log.warn({ file: key.createdDevSecret }, 'no --jwt-secret or --jwt-public-key given: created a development secret; mint tokens with `lowband token <user> --data-dir`')
  }
  const storage = await openStorage(config, log)
  const metrics = createMetrics()
  const ctx: HookContext = {
    config: { topicPolicy: config.topicPolicy, allowAnonymous: config.allowAnonymous, maxPayload: config.maxPayload, rateLimit: { perSecond: config.rateLimit, burst: config.rateBurst }, maxGroupSize: config.maxGroupSize, requireE2e: config.requireE2e },
    storage,
    verifier: createTokenVerifier(key.key, key.algorithms),
    log,
    metrics: metrics.chat,
    identities: new WeakMap(),
    inFlight: new InFlight(),
    presence: new Presence(storage.directory, log, Date.now, () => broker),
    groupLocks: new KeyedLock(),
    // The hooks need the broker they configure; it exists before any hook runs.
    broker: () => broker,
    now: Date.now,
    deviceCopies: new WeakMap()
  }
  const broker = await Aedes.createBroker({ ...createHooks(ctx), persistence: createSessionPersistence() })
  leanConnections(broker)
  limitPacketLength(broker, config.maxPayload)
  watchConnections(ctx, broker)
  watchDeliveries(ctx, broker)

  let ready = false
  const listeners: Listener[] = []
  const http = createHttpServer(metrics.registry, () => ready)
  try {
    listeners.push(...await startMqttListeners(broker, config))
    await listen(http, config.host, config.httpPort, '--http-port (LOWBAND_HTTP_PORT)')
  } catch (error) {
    for (const l of listeners) l.server.close()
    http.close()
    await closeBroker(broker)
    await storage.close()
    throw error
  }
  ready = true
  const port = (name: Listener['name']): number | undefined => listeners.find((l) => l.name === name)?.port()
  const ports = { tcp: port('tcp')!, ws: port('ws')!, http: (http.address() as AddressInfo).port, ...(port('tls') === undefined ? {} : { tls: port('tls')! }) }
  log.info({ ...ports, dataDir: config.dataDir, topicPolicy: config.topicPolicy }, 'lowband ready')

  return {
    ports,
    storage,
    async stop () {
      ready = false
      for (const l of listeners) l.server.close()
      const timeoutMs = config.shutdownTimeout * 1000
      // Let stores under way finish and their PUBACKs go out, then close the clients.
      await ctx.inFlight.drain(timeoutMs)
      await closeBroker(broker)
      await ctx.inFlight.drain(timeoutMs)
      http.close()
      await storage.close()
      log.info('lowband stopped')
    }
  }
}

function closeBroker (broker: Aedes): Promise<void> {
  return new Promise((resolve) => broker.close(() => resolve()))
}
